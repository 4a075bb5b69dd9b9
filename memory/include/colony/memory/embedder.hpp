#pragma once
/// Text embeddings: the interface, and the default deterministic feature-hashing embedder.
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace colony::memory {

/// Turns text into a fixed-length vector whose inner products measure similarity.
/// Implementations are pure: the same text always gives the same vector, on every machine.
class embedder {
 public:
  virtual ~embedder() = default;
  /// Length of every vector this embedder makes.
  [[nodiscard]] virtual std::size_t dimension() const noexcept = 0;
  /// Writes the embedding of `text` into `out` (size dimension()). L2-normalized, so an inner
  /// product is a cosine similarity; all zeros for text with no features.
  virtual void embed(std::string_view text, std::span<float> out) const = 0;
  /// Convenience: the embedding as a new vector.
  [[nodiscard]] std::vector<float> embed(std::string_view text) const;
};

/// Settings of the hashing embedder.
struct hashing_options {
  std::size_t dimension = 256;  ///< buckets (vector length), > 0
  int word_ngrams = 2;          ///< word n-grams of length 1..word_ngrams
  int char_ngrams = 3;          ///< character n-grams of exactly this length (0: none)
  float char_weight = 0.5f;     ///< weight of a character n-gram relative to a word n-gram
};

/// Feature hashing: lower-cased word n-grams and character n-grams (of each word, padded with
/// spaces) are hashed with 64-bit FNV-1a into `dimension` buckets with a sign from another bit of
/// the hash, so collisions cancel on average instead of piling up; the sum is L2-normalized.
/// Needs no model file; identical texts give identical vectors, and texts that share words and
/// spellings give similar ones.
class hashing_embedder final : public embedder {
 public:
  explicit hashing_embedder(hashing_options o = {});
  [[nodiscard]] std::size_t dimension() const noexcept override { return options_.dimension; }
  void embed(std::string_view text, std::span<float> out) const override;
  using embedder::embed;

 private:
  void add(std::string_view feature, float weight, std::span<float> out) const;
  hashing_options options_;
};

/// Inner product of two vectors of the same length (the cosine similarity of two embeddings).
[[nodiscard]] float dot(std::span<const float> a, std::span<const float> b) noexcept;

}  // namespace colony::memory
