// LiveRuntime runs the stress world to completion with the same order-independent counts as
// SimRuntime.
#include <gtest/gtest.h>

#include "colony/engine/live_runtime.hpp"
#include "colony/engine/sim_runtime.hpp"
#include "stress_world.hpp"

namespace colony::engine {
namespace {

std::string run_world(runtime& rt, testing::stress_world& world) {
  testing::build_stress_world(rt, world, 5);
  auto r = rt.run();
  EXPECT_TRUE(r) << r.error().message;
  return world.counts->summary();
}

TEST(LiveRuntime, RunsTheStressWorldWithTheSameCountsAsSimRuntime) {
  testing::stress_world sim_world;
  sim_runtime sim({.seed = 5, .threads = 2});
  const auto expected = run_world(sim, sim_world);

  for (unsigned threads : {1u, 2u}) {
    testing::stress_world live_world;
    // 1 simulated ms = 1 wall us: the world's delays stay real timers but the test is fast.
    live_runtime live({.seed = 5, .threads = threads, .time_scale = 0.001});
    EXPECT_EQ(run_world(live, live_world), expected) << "threads=" << threads;
    EXPECT_EQ(live.stats().timeouts, sim.stats().timeouts);
    EXPECT_EQ(live.stats().spawned, sim.stats().spawned);
  }
  EXPECT_NE(expected.find("finished=" + std::to_string(sim_world.config.tokens) + " "),
            std::string::npos)
      << expected;
}

}  // namespace
}  // namespace colony::engine
