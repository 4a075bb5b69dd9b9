// Kernel throughput: relay_ring and fan_out on SimRuntime (1 and 2 threads) and LiveRuntime.
//
//   colony_kernel_bench [--peer FILE] [google benchmark flags]
//
// With --peer FILE (lines "relay_ring caf msgs_per_s=N" from caf_kernel_bench), it prints
// after the table one line per workload and runtime: "relay_ring sim-2 msgs_per_s=N vs_caf=R".
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include "colony/engine/live_runtime.hpp"
#include "colony/engine/sim_runtime.hpp"
#include "kernel_workloads.hpp"

namespace colony::bench {
namespace {

// Best rate seen per "workload runtime", for the summary lines.
std::map<std::string, double>& best_rates() {
  static std::map<std::string, double> rates;
  return rates;
}

void report(benchmark::State& state, const std::string& key, std::uint64_t messages,
            double seconds_total) {
  state.SetItemsProcessed(static_cast<std::int64_t>(messages));
  const double rate = static_cast<double>(messages) / seconds_total;
  state.counters["msgs_per_s"] = rate;
  auto& best = best_rates()[key];
  best = std::max(best, rate);
}

std::unique_ptr<engine::runtime> make_runtime(int kind) {
  if (kind == 0 || kind == 1) {
    return std::make_unique<engine::sim_runtime>(
        engine::sim_config{.seed = 1, .threads = static_cast<unsigned>(kind + 1)});
  }
  return std::make_unique<engine::live_runtime>(
      engine::live_config{.seed = 1, .threads = 2, .time_scale = 0});
}

const char* runtime_name(int kind) {
  return kind == 0 ? "sim-1" : kind == 1 ? "sim-2" : "live";
}

// Times one run of `rt` to the end; checks that `count(stats)` is `expected` messages. Returns
// the seconds taken, or nothing after marking the benchmark failed.
template <class Count>
std::optional<double> timed_run(benchmark::State& state, engine::runtime& rt, Count count,
                                std::uint64_t expected, const char* what) {
  const auto t0 = std::chrono::steady_clock::now();
  auto r = rt.run();
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  state.SetIterationTime(dt);
  if (!r) {
    state.SkipWithError(r.error().message.c_str());
    return std::nullopt;
  }
  if (count(*r) != expected) {
    state.SkipWithError(what);
    return std::nullopt;
  }
  return dt;
}

void relay_ring(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  const relay_config c;
  std::uint64_t messages = 0;
  double seconds = 0;
  for (auto _ : state) {
    auto rt = make_runtime(kind);
    std::vector<agent_id> ring;
    build_ring(*rt, c, ring);
    (void)rt->run();  // starts the agents; not timed
    const auto before = rt->stats().delivered;
    inject_tokens(*rt, ring, c);
    // Every hop is one delivery; the injections are deliveries too but not hops.
    const auto hops = [&](const engine::run_stats& r) { return r.delivered - before - c.tokens; };
    const auto dt = timed_run(state, *rt, hops, c.tokens * c.hops, "relay_ring lost hops");
    if (!dt) return;
    messages += c.tokens * c.hops;
    seconds += *dt;
  }
  report(state, std::string("relay_ring ") + runtime_name(kind), messages, seconds);
}

void fan_out(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  const fan_out_config c;
  std::uint64_t messages = 0;
  double seconds = 0;
  for (auto _ : state) {
    auto rt = make_runtime(kind);
    build_fan_out(*rt, c);
    // The publisher's own timer ticks are deliveries too.
    const auto deliveries = [&](const engine::run_stats& r) { return r.delivered - c.publishes; };
    const auto expected = c.subscribers * c.publishes;
    const auto dt = timed_run(state, *rt, deliveries, expected, "fan_out lost deliveries");
    if (!dt) return;
    messages += expected;
    seconds += *dt;
  }
  report(state, std::string("fan_out ") + runtime_name(kind), messages, seconds);
}

BENCHMARK(relay_ring)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->ArgName("runtime")
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK(fan_out)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->ArgName("runtime")
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

std::map<std::string, double> read_peer(const std::string& path) {
  std::map<std::string, double> peer;
  std::ifstream in(path);
  std::string workload, runtime, field;
  while (in >> workload >> runtime >> field) {
    const auto eq = field.find('=');
    if (eq != std::string::npos) peer[workload] = std::stod(field.substr(eq + 1));
  }
  return peer;
}

}  // namespace
}  // namespace colony::bench

int main(int argc, char** argv) {
  std::string peer_file;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--peer=", 0) == 0) {
      peer_file = a.substr(7);
    } else if (a == "--peer" && i + 1 < argc) {
      peer_file = argv[++i];
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (peer_file.empty()) return 0;
  const auto peer = colony::bench::read_peer(peer_file);
  std::fflush(stdout);
  for (const char* workload : {"relay_ring", "fan_out"}) {
    for (const char* runtime : {"sim-1", "sim-2", "live"}) {
      auto it = colony::bench::best_rates().find(std::string(workload) + " " + runtime);
      if (it == colony::bench::best_rates().end()) continue;
      std::printf("%s %s msgs_per_s=%.0f", workload, runtime, it->second);
      if (auto p = peer.find(workload); p != peer.end() && p->second > 0) {
        std::printf(" vs_caf=%.2f", it->second / p->second);
      }
      std::printf("\n");
    }
    if (auto p = peer.find(workload); p != peer.end()) {
      std::printf("%s caf msgs_per_s=%.0f\n", workload, p->second);
    }
  }
  return 0;
}
