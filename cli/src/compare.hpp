#pragma once
// `colony compare`: what differs between two run directories — their settings, their summary
// metrics and their topology (agents present in one only, structural events that differ).
#include <cstddef>
#include <filesystem>
#include <ostream>

#include "colony/base/error.hpp"

namespace colony::cli {

struct compare_options {
  bool json = false;       ///< one JSON object instead of tables
  std::size_t limit = 20;  ///< at most this many differing structural events listed per side
};

/// Writes the comparison of runs `a` and `b` to `out`. Fails with errc::bad_input naming the
/// file when a run directory or one of its files is missing or malformed.
[[nodiscard]] result<void> compare_runs(const std::filesystem::path& a,
                                        const std::filesystem::path& b,
                                        const compare_options& options, std::ostream& out);

}  // namespace colony::cli
