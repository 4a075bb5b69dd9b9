// The determinism contract: same world and seed => byte-identical event log, for any thread
// count; another seed => another log.
#include <gtest/gtest.h>

#include <string>

#include "colony/engine/sim_runtime.hpp"
#include "stress_world.hpp"

namespace colony::engine {
namespace {

struct outcome {
  std::string log;
  run_stats stats;
  std::string counts;
};

outcome run_stress(std::uint64_t seed, unsigned threads) {
  event_log log;
  sim_runtime rt({.seed = seed, .threads = threads, .lookahead = 1 * msec, .events = &log});
  testing::stress_world world;
  testing::build_stress_world(rt, world, seed);
  auto stats = rt.run();
  EXPECT_TRUE(stats) << stats.error().message;
  return {log.contents(), stats ? *stats : run_stats{}, world.counts->summary()};
}

TEST(Determinism, StressWorldIsByteIdenticalForOneTwoAndFourThreads) {
  const auto one = run_stress(7, 1);
  const auto two = run_stress(7, 2);
  const auto four = run_stress(7, 4);

  // The world really ran, and did every kind of thing.
  testing::stress_world reference;
  const auto& c = reference.config;
  EXPECT_NE(one.counts.find("finished=" + std::to_string(c.tokens) + " "), std::string::npos)
      << one.counts;
  EXPECT_EQ(one.stats.windows > 100, true);
  EXPECT_GT(one.stats.timeouts, 0u);
  EXPECT_GT(one.stats.dead_letters, 0u);
  EXPECT_GT(one.stats.forwarded, 0u);
  EXPECT_GT(one.stats.stopped, 0u);
  EXPECT_GT(one.stats.spawned, c.walkers + c.listeners + 1);
  EXPECT_GT(one.log.size(), 1'000'000u);

  EXPECT_EQ(one.counts, two.counts);
  EXPECT_EQ(one.counts, four.counts);
  EXPECT_EQ(one.stats.delivered, two.stats.delivered);
  EXPECT_EQ(one.stats.delivered, four.stats.delivered);
  // Byte-identical logs. Compare sizes first for a readable failure.
  ASSERT_EQ(one.log.size(), two.log.size());
  ASSERT_EQ(one.log.size(), four.log.size());
  EXPECT_TRUE(one.log == two.log);
  EXPECT_TRUE(one.log == four.log);
}

TEST(Determinism, AnotherSeedGivesAnotherLogButTheSameCounts) {
  const auto a = run_stress(7, 2);
  const auto b = run_stress(8, 2);
  EXPECT_NE(a.log, b.log);
  // What tokens do is drawn from the token seeds, which differ too; but every token finishes.
  testing::stress_world reference;
  EXPECT_NE(b.counts.find("finished=" + std::to_string(reference.config.tokens) + " "),
            std::string::npos);
}

TEST(Determinism, RunningInPiecesGivesTheSameLogAsOneRun) {
  const auto whole = run_stress(11, 1);
  event_log log;
  sim_runtime rt({.seed = 11, .threads = 2, .lookahead = 1 * msec, .events = &log});
  testing::stress_world world;
  testing::build_stress_world(rt, world, 11);
  for (sim_time until = 50 * msec; until < 10 * sec; until += 50 * msec) {
    ASSERT_TRUE(rt.run(until));
  }
  ASSERT_TRUE(rt.run());
  EXPECT_TRUE(log.contents() == whole.log);
}

}  // namespace
}  // namespace colony::engine
