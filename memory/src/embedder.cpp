#include "colony/memory/embedder.hpp"

#include <cctype>
#include <cmath>
#include <string>

#include "colony/base/assert.hpp"

namespace colony::memory {
namespace {

std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 0xcbf29ce484222325ull) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

// Lower-cased words: runs of letters and digits.
std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> words;
  std::string current;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || u >= 0x80) {  // keep UTF-8 bytes inside words
      current.push_back(static_cast<char>(std::tolower(u)));
    } else if (!current.empty()) {
      words.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
}

}  // namespace

std::vector<float> embedder::embed(std::string_view text) const {
  std::vector<float> v(dimension());
  embed(text, v);
  return v;
}

hashing_embedder::hashing_embedder(hashing_options o) : options_(o) {
  COLONY_ASSERT(options_.dimension > 0);
}

void hashing_embedder::add(std::string_view feature, float weight, std::span<float> out) const {
  const std::uint64_t h = fnv1a(feature);
  // The low bits choose the bucket; the top bit the sign.
  const auto bucket = static_cast<std::size_t>(h % options_.dimension);
  out[bucket] += (h >> 63) != 0 ? -weight : weight;
}

void hashing_embedder::embed(std::string_view text, std::span<float> out) const {
  COLONY_ASSERT(out.size() == options_.dimension);
  std::fill(out.begin(), out.end(), 0.0f);
  const auto words = words_of(text);
  std::string feature;
  for (std::size_t i = 0; i < words.size(); ++i) {
    feature.clear();
    for (int n = 0; n < options_.word_ngrams && i + static_cast<std::size_t>(n) < words.size();
         ++n) {
      if (n > 0) feature.push_back(' ');
      feature += words[i + static_cast<std::size_t>(n)];
      add("w:" + feature, 1.0f, out);
    }
    if (options_.char_ngrams > 0) {
      const std::string padded = " " + words[i] + " ";
      const auto k = static_cast<std::size_t>(options_.char_ngrams);
      for (std::size_t j = 0; j + k <= padded.size(); ++j) {
        add("c:" + padded.substr(j, k), options_.char_weight, out);
      }
    }
  }
  double norm = 0;
  for (float x : out) norm += static_cast<double>(x) * x;
  if (norm == 0) return;
  const auto inv = static_cast<float>(1.0 / std::sqrt(norm));
  for (float& x : out) x *= inv;
}

float dot(std::span<const float> a, std::span<const float> b) noexcept {
  double sum = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    sum += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(sum);
}

}  // namespace colony::memory
