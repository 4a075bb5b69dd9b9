#include "colony/memory/embedder.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace colony::memory {
namespace {

float norm(const std::vector<float>& v) {
  return std::sqrt(dot(v, v));
}

TEST(HashingEmbedder, IsDeterministicNormalizedAndOfItsDimension) {
  const hashing_embedder e({.dimension = 64});
  const auto a = e.embed("Compute the mean of 12 values");
  const auto b = hashing_embedder({.dimension = 64}).embed("Compute the mean of 12 values");
  ASSERT_EQ(a.size(), 64u);
  EXPECT_EQ(a, b);
  EXPECT_NEAR(norm(a), 1.0f, 1e-5);
  EXPECT_NEAR(dot(a, a), 1.0f, 1e-5);
}

TEST(HashingEmbedder, IgnoresCaseAndPunctuation) {
  const hashing_embedder e;
  EXPECT_EQ(e.embed("Reset my PASSWORD, please!"), e.embed("reset my password please"));
}

TEST(HashingEmbedder, SimilarTextsAreCloserThanUnrelatedOnes) {
  const hashing_embedder e;
  const auto stats1 = e.embed("compute the standard deviation of the sample values");
  const auto stats2 = e.embed("compute the standard deviation of these sample values");
  const auto poem = e.embed("write a short poem about the autumn sea");
  const auto legal = e.embed("is this rental contract clause enforceable in court");
  EXPECT_GT(dot(stats1, stats2), 0.8f);
  EXPECT_LT(dot(stats1, poem), 0.35f);
  EXPECT_LT(dot(stats1, legal), 0.35f);
  EXPECT_GT(dot(stats1, stats2), dot(stats1, poem) + 0.4f);
}

TEST(HashingEmbedder, CharacterNgramsMakeMisspellingsSimilar) {
  const hashing_embedder words_only({.char_ngrams = 0});
  const hashing_embedder with_chars;
  const auto near = [](const embedder& e) {
    return dot(e.embed("statistical analysis"), e.embed("statistcal analysys"));
  };
  EXPECT_EQ(near(words_only), 0.0f);  // no word in common
  EXPECT_GT(near(with_chars), 0.3f);  // 0.40: the trigrams the spellings share
}

TEST(HashingEmbedder, TextWithoutFeaturesIsTheZeroVector) {
  const hashing_embedder e({.dimension = 16});
  const auto v = e.embed("  ,;!  ");
  EXPECT_EQ(v, std::vector<float>(16, 0.0f));
}

// Pinned values: a change here changes every library and every pattern a run learns.
TEST(HashingEmbedder, OutputIsPinned) {
  const hashing_embedder e({.dimension = 8, .word_ngrams = 1, .char_ngrams = 0});
  const float h = 0.707106769f;  // 1 / sqrt(2): two words, each a signed unit in its bucket
  EXPECT_EQ(e.embed("alpha beta"), (std::vector<float>{-h, 0, 0, 0, 0, 0, h, 0}));
  const auto v = hashing_embedder().embed("compute the mean");
  EXPECT_FLOAT_EQ(v[13], 0.342997164f);
  EXPECT_FLOAT_EQ(v[29], -0.171498582f);
  EXPECT_FLOAT_EQ(v[205], -0.342997164f);
  EXPECT_EQ(v[0], 0.0f);
}

}  // namespace
}  // namespace colony::memory
