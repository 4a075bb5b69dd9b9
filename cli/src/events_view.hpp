#pragma once
// `colony events`: a run's event log, one readable line per event, filtered.
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "colony/base/error.hpp"
#include "colony/base/time.hpp"

namespace colony::cli {

struct event_filter {
  std::vector<std::string> types;   ///< keep these types (empty: all)
  std::vector<std::string> agents;  ///< keep events of these agents, by id or name (empty: all)
  sim_time since = 0;               ///< keep t >= since
  sim_time until = time_never;      ///< keep t < until
};

/// "3d 04:05:06.007": simulated time as days and a clock, to the microsecond when needed.
[[nodiscard]] std::string format_clock(sim_time t);

/// Prints the events of run directory `run` that pass `f`, one line each:
/// `<clock>  <type>  <agent name or #id>  key=value ...`. Returns how many were printed.
/// Fails with errc::bad_input when `run` has no readable events.jsonl, naming the file, and
/// with errc::bad_input for a malformed line, naming its number.
[[nodiscard]] result<std::size_t> print_events(const std::filesystem::path& run,
                                               const event_filter& f, std::ostream& out);

}  // namespace colony::cli
