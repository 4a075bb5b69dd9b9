// Memory per idle agent: spawns N idle agents on SimRuntime, starts them, and prints the growth
// of the resident set divided by N.
//
//   colony_agents_memory [N]     (default 1,000,000)
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "colony/engine/sim_runtime.hpp"

namespace {

class idle final : public colony::engine::actor {
 public:
  void handle(colony::broker::envelope&, colony::engine::context&) override {}
};

long rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      long kib = 0;
      status >> kib;
      return kib * 1024;
    }
    status.ignore(256, '\n');
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1'000'000;
  if (n <= 0) {
    std::fprintf(stderr, "usage: colony_agents_memory [N > 0]\n");
    return 2;
  }
  colony::engine::sim_runtime rt({.seed = 1, .threads = 1});
  const long before = rss_bytes();
  for (long i = 0; i < n; ++i) {
    if (!rt.spawn([] { return std::make_unique<idle>(); })) return 1;
  }
  if (!rt.run()) return 1;  // every agent started: the state an idle agent lives in
  const long after = rss_bytes();
  const auto stats = rt.stats();
  std::printf("agents_memory agents=%ld alive=%llu bytes_per_agent=%.0f\n", n,
              static_cast<unsigned long long>(stats.alive),
              static_cast<double>(after - before) / static_cast<double>(n));
  return 0;
}
