#pragma once
/// Actors: private state, a mailbox the runtime keeps, and a handler.
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "colony/broker/envelope.hpp"

namespace colony::engine {

class context;

/// What the kernel does when a handler (or on_start/on_stop) throws. The exception never
/// escapes; an `agent_failed` event records it and the policy.
enum class failure_policy : std::uint8_t {
  stop,      ///< stop the agent; later mail to it is forwarded to its heir or dead-lettered
  restart,   ///< replace it by a fresh instance from its factory (same id) and run on_start
  stop_run,  ///< end the run at the next barrier; run() returns errc::run_failed
};

[[nodiscard]] std::string_view to_string(failure_policy p) noexcept;

/// An agent's behaviour. The runtime owns it; everyone else knows it by id.
///
/// Lifecycle: on_start (once, before any other delivery), handle (one delivery at a time, never
/// concurrently with itself), on_stop (once, when it stops). All three run on whatever thread
/// the runtime picks, and act on the world only through the context.
class actor {
 public:
  virtual ~actor() = default;
  /// Called once when the agent starts.
  virtual void on_start(context& ctx);
  /// Called for each delivered message. `env` may be moved from.
  virtual void handle(broker::envelope& env, context& ctx) = 0;
  /// Called once when the agent stops (by itself, by another agent, or by its failure policy).
  virtual void on_stop(context& ctx);
};

/// Makes a fresh actor; kept by the runtime for agents whose policy is `restart`.
using actor_factory = std::function<std::unique_ptr<actor>()>;

}  // namespace colony::engine
