#pragma once
// `colony report` of a sweep directory: its HTML page.
#include <filesystem>
#include <string>

#include "colony/base/error.hpp"

namespace colony::cli::reporting {

/// The report page of the sweep directory `dir` (sweep.json, results.csv, aggregate.csv, as
/// sweep.hpp describes them). Fails with errc::bad_input naming the file, and its line for the
/// CSV files, when one is missing or malformed.
[[nodiscard]] result<std::string> sweep_report(const std::filesystem::path& dir);

}  // namespace colony::cli::reporting
