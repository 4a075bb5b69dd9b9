#pragma once
/// SimRuntime: deterministic, parallel, virtual-time execution of actors.
///
/// Time advances in windows of the lookahead L (the minimum link latency): window k holds every
/// delivery with time in [kL, (k+1)L). Nothing handled in a window can send into it (every send
/// takes at least L), so the agents with mail in a window run in parallel, each handling its own
/// mail in the total order (deliver time, priority desc, sender, sender's sequence). At the
/// barrier ending a window, sends are merged, events sorted and written, and spawns and
/// (un)subscriptions applied in a sorted order. Output is byte-identical for any thread count.
/// See docs/kernel.md.
#include <memory>

#include "colony/engine/event_log.hpp"
#include "colony/engine/runtime.hpp"

namespace colony::broker {
class registry;
}

namespace colony::engine {

/// Settings of a simulated run.
struct sim_config {
  std::uint64_t seed = 1;         ///< run seed; agent streams derive from (seed, agent id)
  unsigned threads = 1;           ///< worker threads; the output does not depend on it
  sim_time lookahead = 1 * msec;  ///< L: the link latency every message takes, and window width
  event_log* events = nullptr;    ///< where events go; null: counted, not kept. Not owned.
};

class sim_runtime final : public runtime {
 public:
  /// Fails (COLONY_ASSERT) on threads == 0 or lookahead <= 0: callers validate their input.
  explicit sim_runtime(sim_config config);
  ~sim_runtime() override;
  sim_runtime(const sim_runtime&) = delete;
  sim_runtime& operator=(const sim_runtime&) = delete;

  [[nodiscard]] result<agent_id> spawn(actor_factory make, spawn_options o = {}) override;
  void post(agent_id to, message m, sim_time delay = 0) override;
  [[nodiscard]] result<run_stats> run(sim_time until = time_never) override;
  [[nodiscard]] run_stats stats() const override;
  [[nodiscard]] sim_time now() const noexcept override;

  /// Runs exactly one window (the earliest with mail) and returns false when none is left or
  /// the next one starts at or after `until`. For tests that step the kernel by hand.
  [[nodiscard]] bool step(sim_time until = time_never);

  /// The routing tables (names, groups, topics). Read between runs or steps only.
  [[nodiscard]] const broker::registry& routes() const noexcept;
  /// Whether `id` is a live agent. Between runs or steps only.
  [[nodiscard]] bool alive(agent_id id) const noexcept;
  /// The actor of live agent `id`, to read its state between runs or steps (metrics, tests);
  /// null when there is none. Never from a handler, and never kept across a run.
  [[nodiscard]] actor* inspect(agent_id id) noexcept;
  /// The id the next agent spawned from outside will get.
  [[nodiscard]] agent_id next_agent_id() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace colony::engine
