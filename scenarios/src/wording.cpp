#include "wording.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

#include <boost/json/serialize.hpp>

namespace colony::scenarios {

std::string quote(std::string_view text) {
  return boost::json::serialize(boost::json::string_view(text.data(), text.size()));
}

std::string format_number(double x) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  return ec == std::errc{} ? std::string(buf, end) : std::string("?");
}

std::string shown(const boost::json::value& v) {
  return v.is_double() ? format_number(v.get_double()) : boost::json::serialize(v);
}

std::string_view type_phrase(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      return "a number";
    case boost::json::kind::string:
      return "a string";
    case boost::json::kind::array:
      return "an array";
    case boost::json::kind::object:
      return "an object";
  }
  return "a value";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Three rows suffice: a transposition looks two rows back.
  std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  std::iota(previous.begin(), previous.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::optional<std::string> closest(std::string_view word,
                                   const std::vector<std::string>& candidates) {
  const std::size_t limit = std::max<std::size_t>(1, word.size() / 3);
  std::optional<std::string> best;
  std::size_t best_distance = limit + 1;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    const bool rewritten = d >= std::max(word.size(), c.size());  // "b" is not a typo of "a"
    if (d < best_distance && !rewritten) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string name_hint(std::string_view word, const std::vector<std::string>& candidates,
                      list_known when, std::string_view label) {
  constexpr std::size_t longest_list = 12;
  std::string hint;
  const auto best = closest(word, candidates);
  if (best) hint = "did you mean " + quote(*best) + "?";
  const bool list = when == list_known::always || !best;
  if (list && !candidates.empty() && candidates.size() <= longest_list) {
    if (!hint.empty()) hint += ' ';
    hint += label;
    hint += ": ";
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (i > 0) hint += ", ";
      hint += candidates[i];
    }
  }
  return hint;
}

}  // namespace colony::scenarios
