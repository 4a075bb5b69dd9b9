#pragma once
/// Sweep files: a base scenario, the `--set` overrides to sweep (a grid, a list of points, or
/// both), the seeds, and what every run shares. docs/sweeps.md describes the format;
/// scenarios/sweep.schema.json is its JSON Schema (sweep_schema()).
#include <boost/json/value.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "colony/scenarios/loader.hpp"

namespace colony::scenarios {

/// An override path and its value.
using sweep_value = std::pair<std::string, boost::json::value>;

/// A sweep file as written, checked.
struct sweep_file {
  std::string name;  ///< "name", or the file's stem
  std::string description;
  std::filesystem::path scenario;  ///< "scenario", resolved against the file's directory
  std::vector<sweep_value> set;    ///< "set": fixed overrides, in file order
  std::vector<sweep_value> grid;   ///< "grid": path -> each of the values in the array
  std::vector<std::vector<sweep_value>> points;  ///< "points": explicit parameter points
  std::vector<std::uint64_t> seeds;              ///< "seeds": a count from "first_seed", or a list
  unsigned threads = 1;                          ///< "threads": per run
  std::string until;                             ///< "until": "" for the scenario's run.duration
  std::filesystem::path library;  ///< "library": a saved library every run starts from ("" : none)
  std::vector<std::string> metrics;       ///< "metrics": "" for all of them
  std::vector<std::string> metric_where;  ///< "FILE:LINE:COL" of each of `metrics`
};

struct sweep_load_result {
  std::optional<sweep_file> value;   ///< set exactly when `problems` is empty
  std::vector<diagnostic> problems;  ///< in document order
  explicit operator bool() const noexcept { return value.has_value(); }
};

/// Reads and checks the sweep file at `file`: every problem, located FILE:LINE:COL, in one pass.
/// The scenario itself, and the overrides' paths and values, are checked by loading it.
[[nodiscard]] sweep_load_result load_sweep_file(const std::filesystem::path& file);

/// The JSON Schema (draft 2020-12) of sweep files.
[[nodiscard]] boost::json::value sweep_schema();

}  // namespace colony::scenarios
