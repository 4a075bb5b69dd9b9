#include "colony/base/time.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace colony {

namespace {

std::optional<double> unit_scale(std::string_view unit) {
  if (unit == "us") return usec;
  if (unit == "ms") return msec;
  if (unit == "s") return sec;
  if (unit == "min") return minute;
  if (unit == "h") return hour;
  if (unit == "d") return day;
  return std::nullopt;
}

}  // namespace

std::optional<sim_time> parse_duration(std::string_view text) {
  // One or more <number><unit> parts ("1h30min"), or one plain number of microseconds.
  const char* p = text.data();
  const char* const last = text.data() + text.size();
  double total = 0;
  bool first = true;
  while (p < last || first) {
    double value = 0;
    auto [end, ec] = std::from_chars(p, last, value);
    if (ec != std::errc{} || !std::isfinite(value) || value < 0) return std::nullopt;
    const char* unit_end = end;
    while (unit_end < last && std::isalpha(static_cast<unsigned char>(*unit_end)) != 0) ++unit_end;
    const std::string_view unit(end, static_cast<std::size_t>(unit_end - end));
    if (unit.empty()) {
      if (!first || unit_end != last) return std::nullopt;  // a unitless number stands alone
      total = value;
    } else {
      const auto scale = unit_scale(unit);
      if (!scale) return std::nullopt;
      total += value * *scale;
    }
    p = unit_end;
    first = false;
  }
  const double us = std::round(total);
  if (us > static_cast<double>(time_never / 2)) return std::nullopt;
  return static_cast<sim_time>(us);
}

std::string format_duration(sim_time t) {
  struct unit {
    sim_time size;
    const char* name;
  };
  static constexpr unit units[] = {{day, "d"}, {hour, "h"},  {minute, "min"},
                                   {sec, "s"}, {msec, "ms"}, {usec, "us"}};
  if (t == 0) return "0s";
  for (const auto& u : units) {
    if (t >= u.size || u.size == usec) {
      char buf[64];
      const double v = static_cast<double>(t) / static_cast<double>(u.size);
      std::snprintf(buf, sizeof buf, "%.6g%s", v, u.name);
      return buf;
    }
  }
  return std::to_string(t) + "us";
}

}  // namespace colony
