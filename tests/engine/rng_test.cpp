#include "colony/engine/rng.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace colony::engine {
namespace {

TEST(Rng, SameSeedAndStreamGiveTheSameNumbers) {
  rng a(42, 7), b(42, 7), c(42, 8), d(43, 7);
  bool differs_by_stream = false, differs_by_seed = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a(), y = b(), z = c(), w = d();
    EXPECT_EQ(x, y);
    differs_by_stream |= x != z;
    differs_by_seed |= x != w;
  }
  EXPECT_TRUE(differs_by_stream);
  EXPECT_TRUE(differs_by_seed);
}

// Pinned outputs: a change here changes every run's results, so it must be deliberate.
TEST(Rng, OutputIsPinned) {
  rng r(1, 0);
  const std::uint64_t first = r();
  rng again(1, 0);
  EXPECT_EQ(first, again());
  std::uint64_t sm = 0;
  EXPECT_EQ(splitmix64(sm), 0xe220a8397b1dcdafull);
}

TEST(Rng, BelowIsUniformAndInRange) {
  rng r(5, 5);
  std::vector<int> counts(10, 0);
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const auto v = r.below(10);
    ASSERT_LT(v, 10u);
    ++counts[v];
  }
  for (int c : counts) EXPECT_NEAR(c, n / 10, 500);  // ~5 standard deviations
}

TEST(Rng, DistributionsHaveTheirMoments) {
  rng r(9, 1);
  const int n = 200000;
  double sum_u = 0, sum_e = 0, sum_n = 0, sum_n2 = 0;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum_u += u;
    sum_e += r.exponential(3.0);
    const double x = r.normal(2.0, 0.5);
    sum_n += x;
    sum_n2 += x * x;
  }
  EXPECT_NEAR(sum_u / n, 0.5, 0.005);
  EXPECT_NEAR(sum_e / n, 3.0, 0.05);
  const double mean = sum_n / n;
  EXPECT_NEAR(mean, 2.0, 0.01);
  EXPECT_NEAR(std::sqrt(sum_n2 / n - mean * mean), 0.5, 0.01);
}

}  // namespace
}  // namespace colony::engine
