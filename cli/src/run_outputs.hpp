#pragma once
// The files of a run directory, written from what a scenario_run measured.
#include <boost/json/object.hpp>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "colony/cli/scenario_run.hpp"

namespace colony::cli {

/// The version of the event-log and snapshot formats (docs/events.md), written to
/// manifest.json. Raised whenever a type or field changes meaning or disappears.
inline constexpr int event_schema_version = 1;

/// metrics.csv: the header line.
std::string metrics_header(const scenarios::scenario& s);
/// metrics.csv: one row.
std::string metrics_line(const bucket_row& row);

/// summary.json: totals that add up (arrived = completed + failed + escalated + in_flight).
boost::json::object summary(const scenarios::scenario& s, const run_totals& t, double wall_seconds);

/// topology.json and topology.dot: the network as built.
boost::json::object topology_json(const scenarios::scenario& s, const std::vector<node>& nodes);
std::string topology_dot(const scenarios::scenario& s, const std::vector<node>& nodes);

/// Writes `text` to `path`. Fails with errc::io_error naming the file.
[[nodiscard]] result<void> write_file(const std::filesystem::path& path, std::string_view text);

/// JSON pretty-printed with 2-space indents and a final newline.
std::string pretty(const boost::json::value& v);

}  // namespace colony::cli
