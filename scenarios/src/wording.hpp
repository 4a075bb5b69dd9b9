#pragma once
// How problems are worded: quoting user text, showing numbers, suggesting names.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

namespace colony::scenarios {

/// `text` as a JSON string literal, so that control characters stay visible.
[[nodiscard]] std::string quote(std::string_view text);

/// `x` in its shortest exact form: "1", "0.5", "4294967295".
[[nodiscard]] std::string format_number(double x);

/// `v` as the user wrote it: 1.5 (not Boost.JSON's 1.5E0), "2s", [1, 2].
[[nodiscard]] std::string shown(const boost::json::value& v);

/// "a string", "an array", ...: the JSON type of `v`, for "expected X, got Y".
[[nodiscard]] std::string_view type_phrase(const boost::json::value& v);

/// Damerau-Levenshtein distance (optimal string alignment) between `a` and `b`.
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word`, if one is within max(1, size of `word` / 3) edits and
/// keeps part of it; the first of equally close ones.
[[nodiscard]] std::optional<std::string> closest(std::string_view word,
                                                 const std::vector<std::string>& candidates);

/// When a hint lists the known names.
enum class list_known : std::uint8_t {
  when_no_match,  ///< only when no candidate is close
  always,         ///< after the did-you-mean too
};

/// The hint for an unknown name: `did you mean "x"?` and/or `LABEL: a, b, c` (the list only when
/// it has at most 12 names). "" when there is nothing to say.
[[nodiscard]] std::string name_hint(std::string_view word,
                                    const std::vector<std::string>& candidates, list_known when,
                                    std::string_view label = "known");

}  // namespace colony::scenarios
