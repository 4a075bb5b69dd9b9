#include "checker.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include <boost/json/serialize.hpp>

#include "json_pointer.hpp"
#include "wording.hpp"

namespace colony::scenarios {
namespace {

constexpr double largest_integer = 9223372036854775807.0;  // std::int64_t's maximum

std::string show_end(double x, unit u) {
  return u == unit::duration ? format_duration(static_cast<sim_time>(x)) : format_number(x);
}

// "0 to 1", "0 or more", "more than 0", "up to 10".
std::string describe(const bounds& b, unit u) {
  std::string low;
  if (b.min) low = b.above_min ? "more than " + show_end(*b.min, u) : show_end(*b.min, u);
  if (b.max) {
    const auto high = show_end(*b.max, u);
    if (!b.min) return "up to " + high;
    return b.above_min ? low + ", up to " + high : low + " to " + high;
  }
  return b.above_min ? low : low + " or more";
}

bool unitless(std::string_view text) {
  return !text.empty() &&
         (std::isdigit(static_cast<unsigned char>(text.back())) != 0 || text.back() == '.');
}

std::optional<double> parse_rate(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  double count = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + slash, count);
  if (ec != std::errc{} || end != text.data() + slash || !std::isfinite(count)) {
    return std::nullopt;
  }
  const auto per = text.substr(slash + 1);
  if (per == "s") return count;
  if (per == "min") return count / 60;
  if (per == "h") return count / 3600;
  if (per == "d") return count / 86400;
  return std::nullopt;
}

constexpr std::string_view noun(name_kind kind) {
  switch (kind) {
    case name_kind::backend:
      return "backend";
    case name_kind::locale:
      return "locale";
    case name_kind::agent:
      return "agent";
    case name_kind::family:
      return "task family";
  }
  return "name";
}

constexpr std::string_view none_declared(name_kind kind) {
  switch (kind) {
    case name_kind::backend:
      return "no backends are declared";
    case name_kind::locale:
      return "no locales are declared";
    case name_kind::agent:
      return "no agents are declared";
    case name_kind::family:
      return "no task families are declared";
  }
  return "";
}

}  // namespace

const json::value* section::find(std::string_view key) const {
  return members->if_contains(key);
}

std::string section::at(std::string_view key) const {
  return pointer_to(pointer, key);
}

void checker::report(problem p) {
  problems_.push_back(std::move(p));
}

void checker::report(std::string pointer, std::string message, std::string hint) {
  problems_.push_back({std::move(pointer), std::move(message), std::move(hint)});
}

std::optional<section> checker::open(const json::value& v, std::string pointer,
                                     const std::vector<std::string>& known) {
  const auto* members = object(v, pointer);
  if (members == nullptr) return std::nullopt;
  for (const auto& member : *members) {
    const std::string_view key = member.key();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    report({pointer_to(pointer, key), "unknown key " + quote(key),
            name_hint(key, known, list_known::when_no_match), anchor::key});
  }
  return section{members, std::move(pointer)};
}

const json::value* checker::require(const section& s, std::string_view key, std::string hint) {
  const auto* v = s.find(key);
  if (v == nullptr) report(s.at(key), "missing required key " + quote(key), std::move(hint));
  return v;
}

const json::object* checker::object(const json::value& v, const std::string& pointer) {
  const auto* members = v.if_object();
  if (members == nullptr) report(pointer, "expected an object, got " + std::string(type_phrase(v)));
  return members;
}

const json::key_value_pair* checker::one_member(const json::value& v, const std::string& pointer,
                                                const std::vector<std::string>& shapes) {
  const auto before = count();
  const auto s = open(v, pointer, shapes);
  if (!s || count() != before) return nullptr;
  if (s->members->size() != 1) {
    std::string names;
    for (const auto& shape : shapes) names += (names.empty() ? "" : ", ") + shape;
    report(pointer, "expected exactly one key, got " + std::to_string(s->members->size()),
           "one of: " + names);
    return nullptr;
  }
  return &*s->members->begin();
}

const json::array* checker::array(const json::value& v, const std::string& pointer,
                                  bool non_empty) {
  const auto* elements = v.if_array();
  if (elements == nullptr) {
    report(pointer, "expected an array, got " + std::string(type_phrase(v)));
  } else if (non_empty && elements->empty()) {
    report(pointer, "expected at least one element, got an empty array");
    return nullptr;
  }
  return elements;
}

std::optional<std::string> checker::string(const json::value& v, const std::string& pointer) {
  if (const auto* s = v.if_string()) return std::string(*s);
  report(pointer, "expected a string, got " + std::string(type_phrase(v)));
  return std::nullopt;
}

std::optional<bool> checker::boolean(const json::value& v, const std::string& pointer) {
  if (const auto* b = v.if_bool()) return *b;
  report(pointer, "expected true or false, got " + std::string(type_phrase(v)));
  return std::nullopt;
}

std::optional<double> checker::number(const json::value& v, const std::string& pointer,
                                      const bounds& b) {
  if (!v.is_number()) {
    report(pointer, "expected a number, got " + std::string(type_phrase(v)));
    return std::nullopt;
  }
  const auto x = v.to_number<double>();
  if (!in_bounds(x, v, pointer, b)) return std::nullopt;
  return x;
}

std::optional<std::int64_t> checker::integer(const json::value& v, const std::string& pointer,
                                             const bounds& b) {
  if (!v.is_number()) {
    report(pointer, "expected an integer, got " + std::string(type_phrase(v)));
    return std::nullopt;
  }
  const auto x = v.to_number<double>();
  if (v.is_double() && x != std::trunc(x)) {
    report(pointer, "expected an integer, got " + shown(v));
    return std::nullopt;
  }
  if (std::abs(x) >= largest_integer) {
    report(pointer, shown(v) + " is too large for an integer");
    return std::nullopt;
  }
  if (!in_bounds(x, v, pointer, b)) return std::nullopt;
  return v.is_int64() ? v.get_int64() : static_cast<std::int64_t>(x);
}

std::optional<sim_time> checker::duration(const json::value& v, const std::string& pointer,
                                          const bounds& b) {
  double us = 0;
  if (v.is_number()) {
    us = std::round(v.to_number<double>() * static_cast<double>(sec));
  } else if (const auto* s = v.if_string()) {
    const std::string_view text = *s;
    const bool negative = text.starts_with('-');
    const auto parsed = parse_duration(negative ? text.substr(1) : text);
    if (!parsed || unitless(text)) {
      report(pointer, quote(text) + " is not a duration",
             parsed ? "add a unit: " + quote(std::string(text) + "s")
                    : "use a number with a unit: us, ms, s, min, h, d, e.g. \"30d\"");
      return std::nullopt;
    }
    us = negative ? -static_cast<double>(*parsed) : static_cast<double>(*parsed);
  } else {
    report(pointer, "expected a duration, got " + std::string(type_phrase(v)),
           "a number of seconds or a string with a unit, e.g. \"250ms\", \"30d\"");
    return std::nullopt;
  }
  if (!in_bounds(us, v, pointer, b, unit::duration)) return std::nullopt;
  if (us > static_cast<double>(time_never / 2)) {
    report(pointer, shown(v) + " is too long", "at most " + format_duration(time_never / 2));
    return std::nullopt;
  }
  return static_cast<sim_time>(us);
}

std::optional<double> checker::rate(const json::value& v, const std::string& pointer) {
  double per_sec = 0;
  if (v.is_number()) {
    per_sec = v.to_number<double>();
  } else if (const auto* s = v.if_string()) {
    const auto parsed = parse_rate(*s);
    if (!parsed) {
      report(pointer, quote(*s) + " is not a rate",
             "use a count per unit: \"120/min\", \"2/s\", \"50/h\", \"1000/d\"");
      return std::nullopt;
    }
    per_sec = *parsed;
  } else {
    report(pointer, "expected a rate, got " + std::string(type_phrase(v)),
           "a number per second or a string such as \"120/min\"");
    return std::nullopt;
  }
  if (!in_bounds(per_sec, v, pointer, at_least(0))) return std::nullopt;
  return per_sec;
}

bool checker::in_bounds(double x, const json::value& value, const std::string& pointer,
                        const bounds& b, unit u) {
  // Boost.JSON reads 1e400 as infinity, which no bound catches and no model survives.
  if (!std::isfinite(x)) {
    report(pointer, "the number is too large to represent", "use a finite number");
    return false;
  }
  const bool low_ok = !b.min || (b.above_min ? x > *b.min : x >= *b.min);
  const bool high_ok = !b.max || x <= *b.max;
  if (low_ok && high_ok) return true;
  report(pointer, shown(value) + " is out of range", "allowed: " + describe(b, u));
  return false;
}

void checker::read_string(const section& s, std::string_view key, std::string& out) {
  if (const auto* v = s.find(key)) {
    if (auto x = string(*v, s.at(key))) out = std::move(*x);
  }
}

void checker::read_number(const section& s, std::string_view key, double& out, const bounds& b) {
  if (const auto* v = s.find(key)) {
    if (auto x = number(*v, s.at(key), b)) out = *x;
  }
}

template <class Count>
void checker::read_count_into(const section& s, std::string_view key, Count& out,
                              std::int64_t min) {
  const auto* v = s.find(key);
  if (v == nullptr) return;
  bounds b = at_least(static_cast<double>(min));
  if constexpr (sizeof(Count) < sizeof(std::int64_t)) {
    b.max = static_cast<double>(std::numeric_limits<Count>::max());
  }
  if (auto x = integer(*v, s.at(key), b)) out = static_cast<Count>(*x);
}

void checker::read_count(const section& s, std::string_view key, std::uint32_t& out,
                         std::int64_t min) {
  read_count_into(s, key, out, min);
}

void checker::read_count(const section& s, std::string_view key, std::uint64_t& out,
                         std::int64_t min) {
  read_count_into(s, key, out, min);
}

void checker::read_duration(const section& s, std::string_view key, sim_time& out,
                            const bounds& b) {
  if (const auto* v = s.find(key)) {
    if (auto x = duration(*v, s.at(key), b)) out = *x;
  }
}

std::optional<std::string> checker::required_string(const section& s, std::string_view key) {
  const auto* v = require(s, key);
  return v == nullptr ? std::nullopt : string(*v, s.at(key));
}

void checker::declare(name_kind kind, const std::string& name, const std::string& pointer) {
  auto& d = declared_[static_cast<std::size_t>(kind)];
  const auto [first, inserted] = d.where.emplace(name, pointer);
  if (!inserted) {
    report(pointer, "duplicate " + std::string(noun(kind)) + " name " + quote(name),
           "first defined at " + first->second);
    return;
  }
  d.names.push_back(name);
}

void checker::refer(name_kind kind, std::string name, std::string pointer) {
  references_.push_back({kind, std::move(name), std::move(pointer)});
}

void checker::resolve_references() {
  for (const auto& r : references_) {
    const auto& d = declared_[static_cast<std::size_t>(r.kind)];
    if (d.where.count(r.name) != 0) continue;
    report(r.pointer, "unknown " + std::string(noun(r.kind)) + " " + quote(r.name),
           d.names.empty() ? std::string(none_declared(r.kind))
                           : name_hint(r.name, d.names, list_known::always));
  }
  references_.clear();
}

}  // namespace colony::scenarios
