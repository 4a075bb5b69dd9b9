#pragma once
/// LiveRuntime: the same actors on wall-clock time, one Asio strand per actor.
///
/// Not deterministic: mail from different senders interleaves as the threads run it. Used for
/// live experiments and real backends. Simulated delays become steady_timer waits, scaled by
/// `time_scale`. now() is wall time since construction, in microseconds, divided by the scale.
#include <memory>

#include "colony/engine/event_log.hpp"
#include "colony/engine/runtime.hpp"

namespace colony::engine {

/// Settings of a live run.
struct live_config {
  std::uint64_t seed = 1;  ///< agent streams derive from (seed, agent id), as in simulation
  unsigned threads = 1;    ///< threads running the io_context
  /// Wall microseconds per simulated microsecond of delay: 1 is real time; 0 runs every delay
  /// at once (ordering of timers kept only per agent).
  double time_scale = 1.0;
  event_log* events = nullptr;  ///< where events go, in arrival order; null: counted only
};

class live_runtime final : public runtime {
 public:
  explicit live_runtime(live_config config);
  ~live_runtime() override;
  live_runtime(const live_runtime&) = delete;
  live_runtime& operator=(const live_runtime&) = delete;

  [[nodiscard]] result<agent_id> spawn(actor_factory make, spawn_options o = {}) override;
  void post(agent_id to, message m, sim_time delay = 0) override;
  /// Runs until nothing is pending (no mail, timers or requests in flight) or until `until`
  /// (in the runtime's time) has passed.
  [[nodiscard]] result<run_stats> run(sim_time until = time_never) override;
  [[nodiscard]] run_stats stats() const override;
  [[nodiscard]] sim_time now() const noexcept override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace colony::engine
