#pragma once
// The files of a run directory, written from what a scenario_run measured.
#include <boost/json/object.hpp>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "colony/cli/scenario_run.hpp"

namespace colony::cli {

/// The version of the event-log and snapshot formats (docs/events.md), written to
/// manifest.json. Raised whenever a type or field changes meaning or disappears.
inline constexpr int event_schema_version = 1;

/// A CSV field: `text` as it is, or quoted (RFC 4180) when it holds a comma, a quote or a line
/// break.
std::string csv_cell(std::string_view text);

/// metrics.csv: the header line.
std::string metrics_header(const scenarios::scenario& s);
/// metrics.csv: one row.
std::string metrics_line(const bucket_row& row);

/// summary.json: totals that add up (arrived = completed + failed + escalated + in_flight).
boost::json::object summary(const scenarios::scenario& s, const run_totals& t, double wall_seconds);

/// topology.json and topology.dot: the network as built.
boost::json::object topology_json(const scenarios::scenario& s, const std::vector<node>& nodes);
std::string topology_dot(const scenarios::scenario& s, const std::vector<node>& nodes);

/// The whole of the file at `path`; nothing when it cannot be opened.
[[nodiscard]] std::optional<std::string> read_file(const std::filesystem::path& path);

/// The JSON object in the file at `path`. Fails with errc::bad_input: "PATH: error: cannot
/// read" when it cannot be opened, "PATH:LINE:COL: error: not JSON (why)" where the parser
/// stopped, "PATH: error: not a JSON object" for another value.
[[nodiscard]] result<boost::json::object> read_json_object(const std::filesystem::path& path);

/// Writes `text` to `path`. Fails with errc::io_error naming the file.
[[nodiscard]] result<void> write_file(const std::filesystem::path& path, std::string_view text);

/// Whether the outputs of run directories `a` and `b` are the same, writing one line per file to
/// `out` ("identical", or where it first differs). Compared: events.jsonl, metrics.csv,
/// topology.jsonl, topology.json, topology.dot, scenario.json, library.faiss and library.sqlite
/// byte for byte, and summary.json without its measures of the machine (wall_seconds,
/// tasks_per_wall_second, peak_rss_bytes). A file missing from both is skipped; from one, it
/// differs. Fails with errc::bad_input when a summary.json is not JSON.
[[nodiscard]] result<bool> compare_outputs(const std::filesystem::path& a,
                                           const std::filesystem::path& b, std::ostream& out);

/// "fnv1a64:<16 hex digits>": the hash of a scenario's text that manifest.json records.
[[nodiscard]] std::string text_hash(std::string_view text);

/// The hash of the saved library at `path` (see solution_library::locate), as manifest.json
/// records it: text_hash of library.faiss followed by library.sqlite. Fails as locate() does,
/// or with errc::bad_input naming a file it cannot read.
[[nodiscard]] result<std::string> library_hash(const std::filesystem::path& path);

/// JSON pretty-printed with 2-space indents and a final newline.
std::string pretty(const boost::json::value& v);

}  // namespace colony::cli
