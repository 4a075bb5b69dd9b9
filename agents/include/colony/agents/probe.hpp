#pragma once
/// What agents tell the run about the network they form, for topology snapshots: the requests
/// they have sent along each edge, and, for an organizer, the agents it made and its patterns.
/// Read between runs or steps only (through sim_runtime::inspect), never from a handler.
#include <cstdint>
#include <string>
#include <vector>

#include "colony/base/time.hpp"
#include "colony/broker/ids.hpp"

namespace colony::agents {

/// Requests an agent has sent to another since it started.
struct edge_count {
  broker::agent_id to{};
  /// "link" (to an agent it links to), "route" (organizer to a route), "committee" (organizer
  /// to a committee), "member" (committee to a member), "backend" (to its backend's actor),
  /// "library" (queries to the solution library)
  std::string kind;
  std::uint64_t requests = 0;
};

/// An agent that counts what it sends.
class topology_probe {
 public:
  virtual ~topology_probe() = default;
  /// Appends its edges, in a deterministic order.
  virtual void edges(std::vector<edge_count>& out) const = 0;
};

/// An agent made while the run goes, as its maker describes it.
struct made_agent {
  broker::agent_id id{};
  std::string name, kind, backend;
  broker::agent_id parent = broker::no_agent;  ///< the agent it descends from
  sim_time born = 0;
  std::vector<std::string> patterns;  ///< patterns it is for
};

/// A pattern as its organizer sees it.
struct pattern_view {
  std::uint32_t id = 0;
  std::string name;  ///< "" until detected
  std::uint64_t seen = 0;
  std::vector<broker::agent_id> covered_by;
};

/// An agent that makes agents and finds patterns (the organizer).
class organizer_probe : public topology_probe {
 public:
  /// The agents it made that it has not seen stop, by id.
  [[nodiscard]] virtual std::vector<made_agent> made() const = 0;
  /// Its detected patterns, by id.
  [[nodiscard]] virtual std::vector<pattern_view> patterns() const = 0;
  /// The patterns each of its routes covers, by name (for agents it did not make).
  [[nodiscard]] virtual std::vector<std::string> covered(broker::agent_id id) const = 0;
};

}  // namespace colony::agents
