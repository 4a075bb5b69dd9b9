#pragma once
// `colony inspect` and `colony export`: a run's network as it was at a simulated time, from the
// snapshots of topology.jsonl and the spawns and stops of events.jsonl between them.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "colony/base/error.hpp"
#include "colony/base/time.hpp"
#include "colony/broker/ids.hpp"

namespace colony::cli {

/// An agent alive at a snapshot's time.
struct topology_agent {
  broker::agent_id id{};                   ///< its address
  std::string name;                        ///< "" if unnamed
  std::string kind;                        ///< "router", "specialist", "backend", ...
  std::string locale;                      ///< "" if none
  std::string backend;                     ///< the backend it calls; "" if none
  std::optional<broker::agent_id> parent;  ///< the agent it descends from; none for the scenario's
  sim_time born = 0;                       ///< when it was spawned
  std::vector<std::string> patterns;       ///< names of the task patterns it covers
  friend bool operator==(const topology_agent&, const topology_agent&) = default;
};

/// A channel from one agent to another.
struct topology_edge {
  broker::agent_id from{}, to{};
  std::string kind;            ///< "link", "route", "backend", "committee" or "member"
  std::uint64_t requests = 0;  ///< sent along it since the start of the run
  friend bool operator==(const topology_edge&, const topology_edge&) = default;
};

/// A recurring kind of task and the agents that cover it.
struct topology_pattern {
  std::uint64_t id = 0;
  std::string name;
  std::uint64_t seen = 0;                    ///< tasks of this pattern seen since the start
  std::vector<broker::agent_id> covered_by;  ///< agents that cover it
  friend bool operator==(const topology_pattern&, const topology_pattern&) = default;
};

/// One line of topology.jsonl: the network at time `t`. Colony writes edges only between live
/// agents; a hand-made or replayed snapshot may still name an agent that is not among `agents`,
/// and views then show it as "#id".
struct snapshot {
  sim_time t = 0;
  std::string at;  ///< why it was taken: "start", "bucket", "analysis" or "end"
  std::vector<topology_agent> agents;
  std::vector<topology_edge> edges;
  std::vector<topology_pattern> patterns;
  friend bool operator==(const snapshot&, const snapshot&) = default;
};

/// A spawn or a stop, as events.jsonl records it.
struct structural_event {
  enum class change { spawned, stopped };
  sim_time t = 0;
  change what = change::spawned;
  /// Spawned: the agent as the event describes it (born = t; locale, backend and patterns from
  /// the event's details, "" and none without them). Stopped: its id and, if logged, its name.
  topology_agent agent;
};

/// Reads `run`/topology.jsonl. Fails with errc::bad_input naming the file when it is missing
/// (runs written before snapshots were recorded have none) or holds no snapshot, and naming the
/// line and field for a malformed line, a missing or mistyped field, an agent listed twice, or a
/// `t` that goes back.
[[nodiscard]] result<std::vector<snapshot>> read_snapshots(const std::filesystem::path& run);

/// Reads the agent_spawned and agent_stopped events of `run`/events.jsonl, in time order. Only
/// lines that mention one of the two types are parsed. Fails with errc::bad_input naming the file
/// when it is missing, and its line for a malformed one.
[[nodiscard]] result<std::vector<structural_event>> read_structural_events(
    const std::filesystem::path& run);

/// The snapshot in effect at `at`: the latest with t <= at, or the first when `at` precedes
/// them all. `snapshots` must not be empty.
[[nodiscard]] const snapshot& snapshot_before(const std::vector<snapshot>& snapshots, sim_time at);

/// `base` brought forward to `at` by the events with base.t <= t <= at, in time order: a spawn by
/// an agent adds the new agent (and it to the coverage of the patterns it names), a stop removes
/// the agent, its edges and its coverage. Both are idempotent, so an event the snapshot already
/// reflects changes nothing. Spawns by the world outside (no parent: the scenario's agents) are
/// left to the snapshots, which list those that belong to the network. The result's t is `at`.
[[nodiscard]] snapshot replay(const snapshot& base, const std::vector<structural_event>& events,
                              sim_time at);

/// The network of `run` at `at`: replay(snapshot_before(snapshots, at), events, at). Fails as
/// read_snapshots and read_structural_events do.
[[nodiscard]] result<snapshot> topology_at(const std::filesystem::path& run, sim_time at);

/// Prints `s` as aligned tables of agents, edges and patterns under a header line naming its
/// time and `snapshot_time`, the time of the snapshot it was replayed from.
void print_topology(const snapshot& s, sim_time snapshot_time, std::ostream& out);

/// `s` as one line of topology.jsonl (no newline): read_snapshots reads it back equal.
[[nodiscard]] std::string snapshot_json(const snapshot& s);

/// `s` as a Graphviz digraph: nodes labelled "name\nkind", edges labelled with their requests,
/// thicker with the log of them, backend edges dashed; an edge's end that is not among the
/// agents is a dotted node labelled "#id".
[[nodiscard]] std::string snapshot_dot(const snapshot& s);

/// The evolution of a run as a dynamic GEXF 1.3 graph, for Gephi's timeline. Times are
/// seconds of simulated time since the start (t / 1e6). Each agent of a snapshot or of a spawn by
/// an agent is one node, alive from its birth to its stop (open-ended if it never stopped); each
/// edge (from, to, kind) lives from the first snapshot that has it to the first that lacks it or
/// the stop of either agent, whichever comes first, with a dynamic "requests" attribute that takes
/// each snapshot's count.
[[nodiscard]] std::string evolution_gexf(const std::vector<snapshot>& snapshots,
                                         const std::vector<structural_event>& events);

/// Writes each snapshot of `run` as `out_dir`/topology-<index, 4 digits, from 0>-<t in
/// seconds>.dot, creating `out_dir`. Returns how many files it wrote. Fails as read_snapshots
/// does, and with errc::io_error naming a file or directory it cannot write.
[[nodiscard]] result<std::size_t> write_dot_snapshots(const std::filesystem::path& run,
                                                      const std::filesystem::path& out_dir);

}  // namespace colony::cli
