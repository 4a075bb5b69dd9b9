#pragma once
// `colony sweep`: one scenario run over a grid or list of `--set` overrides and several seeds,
// each run a `colony run` child process in its own run directory, then results.csv (one row per
// run) and aggregate.csv (mean, standard deviation and 95% confidence interval per parameter
// point). docs/sweeps.md gives the sweep file and the directory.
//
// The sweep directory:
//   sweep.json      the sweep as expanded: parameters, points, seeds, runs, metrics (below)
//   runs/<run>/     one run directory per run, <run> = "<point>-s<seed>" ("p00-s1")
//   logs/<run>.log  what the run's process printed
//   results.csv     run,point,<parameter...>,seed,<metric...>
//   aggregate.csv   point,<parameter...>,runs,<metric>_mean,<metric>_sd,<metric>_ci95_low,
//                   <metric>_ci95_high for each metric
//
// sweep.json: {"name", "file" (the sweep file, absolute), "scenario" (absolute),
//   "scenario_hash", "parameters": [PATH...], "set": ["PATH=VALUE"...] (fixed for every run),
//   "points": [{"point": "p00", "values": {PATH: VALUE...}}...], "seeds": [N...],
//   "threads": N, "until": "" or a duration, "library": "" or a path, "library_hash",
//   "metrics": [NAME...],
//   "runs": [{"run": "p00-s1", "point": "p00", "seed": 1, "sets": ["PATH=VALUE"...]}...]}
// where PATH is a `--set` path as the sweep file gives it and VALUE its JSON value.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "colony/base/error.hpp"

namespace colony::cli {

/// One parameter point: a value for each swept path.
struct sweep_point {
  std::string id;  ///< "p00", "p01", ... in expansion order
  std::vector<std::pair<std::string, boost::json::value>> values;  ///< in `parameters` order
};

/// One run of a sweep.
struct sweep_run {
  std::string id;  ///< "<point>-s<seed>"
  std::size_t point = 0;
  std::uint64_t seed = 0;
  std::vector<std::string> sets;  ///< every --set of the run: the fixed ones, then the point's
};

/// A sweep file, checked and expanded.
struct sweep_plan {
  std::string name;
  std::filesystem::path file;      ///< the sweep file
  std::filesystem::path scenario;  ///< the base scenario
  std::string scenario_hash;       ///< "fnv1a64:<hex>" of its text
  std::vector<std::string> parameters;
  std::vector<std::string> fixed;  ///< "PATH=VALUE" for every run
  std::vector<sweep_point> points;
  std::vector<std::uint64_t> seeds;
  unsigned threads = 1;
  std::string until;              ///< "" : the scenario's duration
  std::filesystem::path library;  ///< a saved library every run starts from ("" : none)
  std::string library_hash;       ///< its files' hash: a resume after it changed is refused
  std::vector<std::string> metrics;
  std::vector<sweep_run> runs;  ///< points × seeds, point-major

  /// sweep.json's contents.
  [[nodiscard]] boost::json::object to_json() const;
};

/// Reads and checks the sweep file at `file` and expands it; `extra_sets` are added to its fixed
/// overrides (the command line's --set). Fails with errc::bad_input, every problem on its own
/// line, each naming the file, its line and column, and the fix.
[[nodiscard]] result<sweep_plan> load_sweep(const std::filesystem::path& file,
                                            const std::vector<std::string>& extra_sets = {});

/// Metrics by name.
using run_measures = std::map<std::string, double>;

/// A run's metrics, by name, from its run directory (summary.json and events.jsonl); NaN where
/// a value is undefined (cost per success without a success, a success rate or latency without a
/// task that ended). Fails with errc::bad_input naming the file when one is missing or malformed.
[[nodiscard]] result<run_measures> run_metrics(const std::filesystem::path& run);

/// Mean, sample standard deviation and the 95% confidence interval of the mean (Student's t
/// with n - 1 degrees of freedom). With one value, sd and the interval are NaN.
struct metric_summary {
  std::size_t n = 0;
  double mean = 0, sd = 0, ci95_low = 0, ci95_high = 0;
};
[[nodiscard]] metric_summary summarize(const std::vector<double>& values);

struct sweep_options {
  std::filesystem::path out;     ///< "" : sweeps/<name>
  unsigned jobs = 0;             ///< 0 : the number of cores
  std::filesystem::path colony;  ///< the colony binary to run
  bool progress = true;          ///< a progress bar on a terminal
};

/// Runs the plan's unfinished runs, `jobs` at a time, then writes results.csv and aggregate.csv.
/// Returns how many runs failed (their logs are named on stderr).
[[nodiscard]] result<std::size_t> run_sweep(const sweep_plan& plan, const sweep_options& options);

}  // namespace colony::cli
