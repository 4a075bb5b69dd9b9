#include "colony/base/time.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace colony {

std::optional<sim_time> parse_duration(std::string_view text) {
  double value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc{} || !std::isfinite(value) || value < 0) return std::nullopt;
  const std::string_view unit(end, static_cast<std::size_t>(last - end));
  double scale = 0;
  if (unit.empty() || unit == "us") {
    scale = usec;
  } else if (unit == "ms") {
    scale = msec;
  } else if (unit == "s") {
    scale = sec;
  } else if (unit == "min") {
    scale = minute;
  } else if (unit == "h") {
    scale = hour;
  } else if (unit == "d") {
    scale = day;
  } else {
    return std::nullopt;
  }
  const double us = std::round(value * scale);
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
