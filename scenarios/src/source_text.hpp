#pragma once
// Parsing scenario text while recording where each value and key starts, so that a problem
// found later by JSON pointer can be reported as FILE:LINE:COL.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json/value.hpp>
#include <filesystem>

#include "colony/base/error.hpp"

#include "problem.hpp"

namespace colony::scenarios {

/// Byte offsets of a document's values and keys, by JSON pointer.
struct source_positions {
  std::unordered_map<std::string, std::size_t> values;  ///< first character of each value
  std::unordered_map<std::string, std::size_t> keys;    ///< opening quote of each member's key

  /// Where a problem at `pointer` is shown: its key or value, or else the nearest enclosing
  /// value that exists (the opening brace of the object a required key is missing from).
  [[nodiscard]] std::size_t locate(std::string_view pointer, anchor at) const;
};

/// A JSON syntax error: where the parser stopped, and Boost.JSON's message.
struct syntax_error {
  std::size_t offset = 0;
  std::string message;
};

/// A parsed document with its positions.
struct source_document {
  boost::json::value document;
  source_positions positions;
  std::vector<problem> problems;      ///< duplicate keys (the last one is kept)
  std::optional<syntax_error> error;  ///< set when the text is not JSON; the rest is then empty
};

/// Parses `text` (strict JSON: no comments, no trailing commas).
[[nodiscard]] source_document parse_source(std::string_view text);

/// 1-based line and column (counted in characters, not bytes) of `offset` in `text`.
struct text_position {
  std::size_t line = 1;
  std::size_t column = 1;
};
[[nodiscard]] text_position position_at(std::string_view text, std::size_t offset);

/// The whole file, or why it cannot be read (strerror's words, errc::io_error).
[[nodiscard]] result<std::string> read_text_file(const std::filesystem::path& file);

}  // namespace colony::scenarios
