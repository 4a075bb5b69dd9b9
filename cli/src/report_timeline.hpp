#pragma once
// The timeline of `colony report`: each agent's lifetime with the structural decisions on it.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "colony/base/error.hpp"
#include "topology_view.hpp"

namespace colony::cli::reporting {

/// One agent from its spawn to its stop, in seconds of simulated time.
struct agent_life {
  std::uint64_t id = 0;
  std::string name, kind, backend;
  std::uint64_t parent = 0;       ///< 0 for the scenario's agents
  double born = 0;                ///< seconds
  std::optional<double> stopped;  ///< seconds; none when alive at the end
  std::string spawn_reason, stop_reason;
};

/// A structural decision on an agent's row.
struct life_marker {
  enum class type { spawned, pruned, merged, formed, dissolved, stopped };
  double t = 0;  ///< seconds
  std::uint64_t agent = 0;
  type what = type::spawned;
  std::string text;  ///< the tooltip: what happened and its reason
};

/// What the timeline draws.
struct network_history {
  std::vector<agent_life> agents;  ///< by id
  std::vector<life_marker> markers;
  std::vector<std::string> committee_outcomes;  ///< committee_dissolved "outcome" by committee
  std::vector<std::uint64_t> committee_ids;     ///< parallel to committee_outcomes
  double end = 0;                               ///< seconds: the end of the run
};

/// The lives of every agent of `run`: from the agents of `snapshots` and the agent_spawned,
/// agent_stopped, agent_pruned, agents_merged and committee_* events of events.jsonl. Fails
/// with errc::bad_input naming events.jsonl and its line for a malformed one of those types.
[[nodiscard]] result<network_history> read_history(const std::filesystem::path& run,
                                                   const std::vector<snapshot>& snapshots,
                                                   double end_seconds);

/// The timeline as an <svg class="chart" id="timeline-svg">: one bar per agent (at most about
/// `max_rows` rows; infrastructure in one row, many committees in one shaded row), markers for
/// spawns, prunes, merges, stops and committees with their reasons as tooltips. `note` receives
/// what was grouped or left out.
[[nodiscard]] std::string timeline_svg(const network_history& h, std::size_t max_rows,
                                       std::string& note);

}  // namespace colony::cli::reporting
