#pragma once
/// One run of a scenario: builds the network in a SimRuntime, runs it one metrics bucket at a
/// time, and measures. Writes nothing itself except the event log it is given; the `colony`
/// command turns what it measures into the run directory's files.
#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "colony/agents/library.hpp"
#include "colony/agents/stores.hpp"
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
  /// Where the solution library lives (its working database) and is saved, at checkpoints and
  /// by save_library(). Empty: in memory, never saved.
  std::filesystem::path library_dir;
  /// A saved library to start from (a directory holding library.faiss and library.sqlite). It
  /// is copied, never modified. Empty: the library starts empty.
  std::filesystem::path library_from;
  /// Where the locales' stores live (`locales/<locale>.sqlite` under it). Needed when the
  /// scenario has stores.
  std::filesystem::path store_dir;
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
  /// The library's counters over the bucket (entries and deprecated: at its end); none when the
  /// run has no library.
  std::optional<agents::library_counters> library;
  /// The stores' counters over the bucket, summed over locales; none without stores.
  std::optional<agents::store_counters> stores;
};

/// Totals of a finished run.
struct run_totals {
  scenarios::task_tally tasks;                    ///< latencies: every task that ended
  std::vector<scenarios::family_tally> families;  ///< in the scenario's order
  std::uint64_t in_flight = 0;
  std::vector<backend_tally> backends;
  engine::run_stats kernel;
  sim_time end_time = 0;
  std::optional<agents::library_counters> library;       ///< totals; none without a library
  std::map<std::string, agents::store_counters> stores;  ///< totals per locale; none without
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

  /// Writes the library's files to run_settings::library_dir and removes its working database.
  /// Does nothing when the run has no library or no library_dir.
  [[nodiscard]] result<void> save_library();
  /// Commits what the stores have queued and closes them (each file then stands alone). run()
  /// does this at its end.
  [[nodiscard]] result<void> close_stores();

 private:
  scenario_run(const scenarios::scenario& s, const run_settings& settings);
  std::vector<backend_tally> backend_counts();
  [[nodiscard]] static result<memory::solution_library> open_library(
      const agents::library_policy& lp, const run_settings& settings);
  agents::library_probe* library_probe();

  const scenarios::scenario& scenario_;
  std::shared_ptr<memory::store_pool> pool_;  // outlives the runtime, whose keepers use it
  engine::sim_runtime rt_;
  sim_time until_;
  run_settings settings_;
  std::vector<broker::agent_id> backends_;
  broker::agent_id workload_{};
  std::vector<node> nodes_;
  std::vector<broker::agent_id> organizers_;
  broker::agent_id library_ = broker::no_agent;
  std::vector<std::pair<std::string, broker::agent_id>> stores_;  // keeper per locale
  agents::library_policy library_policy_;
  sim_time analysis_every_ = 0;  ///< the organizers' analysis period (0: none)
};

/// The p-th percentile (0..100) of `v` by the nearest-rank method; 0 when empty. Sorts `v`.
[[nodiscard]] sim_time percentile(std::vector<sim_time>& v, double p);

}  // namespace colony::cli
