#pragma once
/// What SimRuntime and LiveRuntime have in common: set-up from outside, run, statistics.
#include <cstdint>
#include <string>

#include "colony/base/error.hpp"
#include "colony/base/time.hpp"
#include "colony/engine/context.hpp"

namespace colony::engine {

/// Counters of a run, summed over every thread.
struct run_stats {
  sim_time end_time = 0;           ///< simulated time reached
  std::uint64_t windows = 0;       ///< windows processed (SimRuntime)
  std::uint64_t delivered = 0;     ///< envelopes handed to handlers (timeouts included)
  std::uint64_t sent = 0;          ///< envelopes created by sends, publishes and broadcasts
  std::uint64_t dead_letters = 0;  ///< undeliverable envelopes (each also an event)
  std::uint64_t forwarded = 0;     ///< envelopes forwarded from a stopped agent to its heir
  std::uint64_t timeouts = 0;      ///< requests that got no reply in time
  std::uint64_t spawned = 0;       ///< agents created
  std::uint64_t stopped = 0;       ///< agents stopped
  std::uint64_t failures = 0;      ///< handler exceptions caught
  std::uint64_t events = 0;        ///< event-log lines written
  std::uint64_t alive = 0;         ///< agents alive at the end
};

/// A runtime: owns the agents, delivers their mail, keeps the time.
class runtime {
 public:
  virtual ~runtime() = default;

  /// Creates an agent from outside any handler (set-up). Its id is returned at once; on_start
  /// runs at the current time, before any mail. Fails with errc::invalid_argument for a taken
  /// name.
  [[nodiscard]] virtual result<agent_id> spawn(actor_factory make, spawn_options o = {}) = 0;
  /// Injects a message from outside the run (from no_agent), delivered after `delay`.
  virtual void post(agent_id to, message m, sim_time delay = 0) = 0;
  /// Runs until simulated time `until` (exclusive) or until nothing is left to do.
  /// Fails with errc::run_failed when an agent with policy stop_run failed; stats() still
  /// tells what happened up to then, and the event log holds it.
  [[nodiscard]] virtual result<run_stats> run(sim_time until = time_never) = 0;
  /// The counters so far.
  [[nodiscard]] virtual run_stats stats() const = 0;
  /// Current time.
  [[nodiscard]] virtual sim_time now() const noexcept = 0;
};

}  // namespace colony::engine
