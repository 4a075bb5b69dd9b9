#pragma once
// `colony report`: one self-contained HTML file of a run directory or a sweep directory, with
// charts drawn as inline SVG by Colony. Nothing is fetched when the file is opened.
#include <filesystem>

#include "colony/base/error.hpp"

namespace colony::cli {

/// Writes the report of `dir` — a run directory (it holds manifest.json and metrics.csv) or a
/// sweep directory (it holds sweep.json and results.csv) — to `out`, or to `dir`/report.html
/// when `out` is empty. Returns the file written. Fails with errc::bad_input naming the file
/// when `dir` is neither or one of its files is missing or malformed, and with errc::io_error
/// when the report cannot be written.
[[nodiscard]] result<std::filesystem::path> write_report(const std::filesystem::path& dir,
                                                         const std::filesystem::path& out);

}  // namespace colony::cli
