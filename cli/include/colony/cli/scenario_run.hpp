#pragma once
/// One run of a scenario: builds the network in a SimRuntime, runs it one metrics bucket at a
/// time, and measures. Writes nothing itself except the event log it is given; the `colony`
/// command turns what it measures into the run directory's files.
#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "colony/base/error.hpp"
#include "colony/engine/event_log.hpp"
#include "colony/engine/sim_runtime.hpp"
#include "colony/scenarios/scenario.hpp"
#include "colony/scenarios/workload_source.hpp"

namespace colony::cli {

/// Settings of one run.
struct run_settings {
  std::uint64_t seed = 1;
  unsigned threads = 1;
  sim_time until = 0;                   ///< 0: the scenario's run.duration
  engine::event_log* events = nullptr;  ///< not owned
  /// Where topology snapshots go, one JSON line each (null: none are taken). Not owned.
  std::ostream* snapshots = nullptr;
};

/// Per-backend counts.
struct backend_tally {
  std::uint64_t calls = 0, failures = 0, timeouts = 0;
  std::uint64_t tokens_in = 0, tokens_out = 0;
  double cost = 0;
  std::uint64_t queue = 0;  ///< calls waiting at the end of the span
};

/// One row of metrics.csv: what happened in [start, end).
struct bucket_row {
  sim_time start = 0, end = 0;
  scenarios::task_tally tasks;
  std::uint64_t in_flight = 0;
  std::vector<backend_tally> backends;  ///< in the scenario's order
  std::uint64_t agents_alive = 0;
  std::uint64_t dead_letters = 0;
};

/// Totals of a finished run.
struct run_totals {
  scenarios::task_tally tasks;                    ///< latencies: every task that ended
  std::vector<scenarios::family_tally> families;  ///< in the scenario's order
  std::uint64_t in_flight = 0;
  std::vector<backend_tally> backends;
  engine::run_stats kernel;
  sim_time end_time = 0;
};

/// An agent of the built network, for topology output.
struct node {
  broker::agent_id id{};
  std::string name, kind, locale, backend;
  std::vector<std::string> links;
};

class scenario_run {
 public:
  /// Builds the network. Fails with errc::bad_input when an agent kind is unknown (the loader
  /// checks this; a scenario built in code may not have been loaded).
  [[nodiscard]] static result<std::unique_ptr<scenario_run>> build(const scenarios::scenario& s,
                                                                   const run_settings& settings);

  /// Runs to the end, calling `on_bucket` after each metrics bucket (in order).
  [[nodiscard]] result<run_totals> run(const std::function<void(const bucket_row&)>& on_bucket);

  [[nodiscard]] const std::vector<node>& nodes() const noexcept { return nodes_; }

  /// The topology now: agents alive (with what made them and the patterns they are for), the
  /// requests sent along every edge so far, and the organizers' patterns. `at` says why it is
  /// taken ("start", "bucket", "analysis", "end"). docs/events.md gives the format.
  [[nodiscard]] boost::json::object snapshot(std::string_view at, sim_time t);
  [[nodiscard]] sim_time until() const noexcept { return until_; }

 private:
  scenario_run(const scenarios::scenario& s, const run_settings& settings);
  std::vector<backend_tally> backend_counts();

  const scenarios::scenario& scenario_;
  engine::sim_runtime rt_;
  sim_time until_;
  run_settings settings_;
  std::vector<broker::agent_id> backends_;
  broker::agent_id workload_{};
  std::vector<node> nodes_;
  std::vector<broker::agent_id> organizers_;
  sim_time analysis_every_ = 0;  ///< the organizers' analysis period (0: none)
};

/// The p-th percentile (0..100) of `v` by the nearest-rank method; 0 when empty. Sorts `v`.
[[nodiscard]] sim_time percentile(std::vector<sim_time>& v, double p);

}  // namespace colony::cli
