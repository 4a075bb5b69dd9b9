#pragma once
/// Simulated time: integer microseconds since the start of a run.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace colony {

/// A point or span of simulated time, in microseconds. Integer so that every sum is exact and
/// every run reproducible.
using sim_time = std::int64_t;

inline constexpr sim_time usec = 1;
inline constexpr sim_time msec = 1000 * usec;
inline constexpr sim_time sec = 1000 * msec;
inline constexpr sim_time minute = 60 * sec;
inline constexpr sim_time hour = 60 * minute;
inline constexpr sim_time day = 24 * hour;
/// Later than any event a run can hold.
inline constexpr sim_time time_never = std::numeric_limits<sim_time>::max();

/// Parses "250ms", "2s", "1.5h", "30d", "10us", compounds such as "1h30min" or "2d12h", or a
/// plain number of microseconds. Units: us, ms, s, min, h, d. Returns nullopt when the text is
/// not a duration (negative values and empty text included).
[[nodiscard]] std::optional<sim_time> parse_duration(std::string_view text);

/// Formats a duration with the largest unit that keeps it readable: "1.5s", "30d", "250ms".
[[nodiscard]] std::string format_duration(sim_time t);

}  // namespace colony
