// The organizer's per-task work: placing a task among the patterns (embedding and leader
// clustering), choosing its route and recording the result. Reports tasks per second for a
// growing number of task families, each with two templates, so the pattern book grows with it.
//
//   colony_organizer_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "colony/agents/organizer.hpp"

namespace {

using namespace colony;

std::vector<std::string> texts(std::size_t families, std::size_t n) {
  std::vector<std::string> out;
  engine::rng r;
  r.reseed(1, 1);
  for (std::size_t i = 0; i < n; ++i) {
    const auto f = r.below(families);
    const auto x = r.below(1000);
    out.push_back(r.bernoulli(0.5)
                      ? "Compute the figure " + std::to_string(x) + " of family" +
                            std::to_string(f) + " topic" + std::to_string(f * 7) + " with care"
                      : "Explain how family" + std::to_string(f) + " handles case " +
                            std::to_string(x) + " in region" + std::to_string(f * 3));
  }
  return out;
}

void per_task(benchmark::State& state) {
  const auto families = static_cast<std::size_t>(state.range(0));
  agents::organizer_core core(agents::organizer_policy{}, {});
  for (std::uint64_t i = 0; i < 3; ++i) {
    agents::route r;
    r.id = broker::agent_id{10 + i};
    r.name = "route" + std::to_string(i);
    r.general = true;
    core.add_route(std::move(r));
  }
  const auto corpus = texts(families, 4096);
  engine::rng rand;
  rand.reseed(2, 2);
  std::size_t i = 0;
  sim_time now = 0;
  for (auto _ : state) {
    const auto& text = corpus[i++ % corpus.size()];
    now += sec;
    const auto at = core.observe(text, "f", "d", now);
    std::uint32_t changed = 0;
    const auto to = core.choose(at.top, at.sub, rand, changed);
    core.record(to, at.top, at.sub, true, 0.8, 0.001, sec);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["patterns"] = static_cast<double>(core.patterns().all().size());
}
BENCHMARK(per_task)->Arg(4)->Arg(16)->Arg(64);

}  // namespace

BENCHMARK_MAIN();
