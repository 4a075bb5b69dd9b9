#pragma once
// `colony report` of a run directory: its HTML page.
#include <filesystem>
#include <string>

#include "colony/base/error.hpp"

namespace colony::cli::reporting {

/// The report page of the run directory `dir` (manifest.json, metrics.csv, summary.json,
/// topology.jsonl, events.jsonl). Fails with errc::bad_input naming the file, and its line where
/// it has lines, when one is missing or malformed.
[[nodiscard]] result<std::string> run_report(const std::filesystem::path& dir);

}  // namespace colony::cli::reporting
