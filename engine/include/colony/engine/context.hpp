#pragma once
/// What an actor may do: the only door from a handler to the world.
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "colony/base/time.hpp"
#include "colony/broker/envelope.hpp"
#include "colony/broker/ids.hpp"
#include "colony/broker/message.hpp"
#include "colony/engine/actor.hpp"
#include "colony/engine/rng.hpp"

namespace colony::engine {

using broker::agent_id;
using broker::correlation_id;
using broker::group_id;
using broker::message;
using broker::timer_id;
using broker::topic_id;

/// How a message is sent.
struct send_options {
  sim_time delay = 0;  ///< extra delay on top of the link latency (a modelled processing time)
  std::uint8_t priority = broker::default_priority;  ///< 1..5; higher first among simultaneous
  /// The exchange it belongs to; nullopt: the one of the message being handled.
  std::optional<broker::conversation_id> conversation;
};

/// How an agent is created.
struct spawn_options {
  std::string name;                 ///< unique name, resolvable with lookup(); "" for none
  std::string kind;                 ///< what it is ("specialist"): for logs and topology
  std::vector<std::string> groups;  ///< groups (locales) it joins at creation
  std::vector<std::string> topics;  ///< topics it subscribes to at creation
  failure_policy on_failure = failure_policy::stop;  ///< what a throwing handler leads to
  std::uint64_t tag = 0;        ///< echoed in msg::spawned, to tell requests apart
  std::string reason;           ///< why it is spawned: written to the agent_spawned event
  boost::json::object details;  ///< the numbers behind that decision, also written there
};

/// How an agent is stopped.
struct stop_options {
  agent_id heir = broker::no_agent;  ///< forward later mail here instead of dead-lettering it
  std::string reason;                ///< written to the agent_stopped event
  boost::json::object details;       ///< the numbers behind the decision
};

/// The handle an actor acts through, valid only during the call it was passed to.
///
/// Under SimRuntime every effect is deterministic: a message sent at simulated time t arrives
/// at t + link latency + delay; spawns and (un)subscriptions take effect at the next window
/// barrier; a stop requested for another agent travels like a message.
class context {
 public:
  virtual ~context() = default;

  /// The agent being run.
  [[nodiscard]] virtual agent_id self() const noexcept = 0;
  /// Current simulated time (the delivery time of the message being handled).
  [[nodiscard]] virtual sim_time now() const noexcept = 0;
  /// This agent's random stream, seeded from (run seed, agent id).
  [[nodiscard]] virtual rng& random() noexcept = 0;

  /// Sends to one agent. Mail to an unknown or stopped agent becomes a dead letter (or goes to
  /// its heir).
  virtual void send(agent_id to, message m, send_options o = {}) = 0;
  /// Sends a copy to every subscriber of `t` (the sender included if subscribed).
  virtual void publish(topic_id t, message m, send_options o = {}) = 0;
  /// Sends a copy to every member of `g` except the sender.
  virtual void broadcast(group_id g, message m, send_options o = {}) = 0;
  /// Sends a request. Either a reply with the returned correlation id arrives, or, after
  /// `timeout`, msg::timeout does; never both. A reply after the timeout is a dead letter.
  virtual correlation_id request(agent_id to, message m, sim_time timeout, send_options o = {}) = 0;
  /// Replies to `req` (which must be a request) with the same correlation id.
  virtual void reply(const broker::envelope& req, message m, send_options o = {}) = 0;

  /// Delivers `m` to this agent itself after `delay` (0 is allowed: later in the same instant).
  virtual timer_id schedule(sim_time delay, message m) = 0;
  /// Cancels a pending timer; no-op if it already fired or was cancelled.
  virtual void cancel(timer_id t) = 0;

  /// Asks for a new agent. The runtime allocates its id at the next barrier; the parent then
  /// receives msg::spawned with the id and `o.tag`. Returns nothing: the id is not known yet.
  virtual void spawn(actor_factory make, spawn_options o = {}) = 0;
  /// Stops `target` (itself included). Stopping oneself takes effect after this handler
  /// returns; stopping another arrives like a message, after the link latency.
  virtual void stop(agent_id target, stop_options o = {}) = 0;

  /// Subscribes to the topic called `name` (from the next barrier on).
  virtual void subscribe(std::string_view name) = 0;
  /// Unsubscribes from `t` (from the next barrier on).
  virtual void unsubscribe(topic_id t) = 0;
  /// Joins the group called `name` (from the next barrier on).
  virtual void join(std::string_view name) = 0;
  /// Leaves `g` (from the next barrier on).
  virtual void leave(group_id g) = 0;

  /// The agent called `name`, as of the last barrier.
  [[nodiscard]] virtual std::optional<agent_id> lookup(std::string_view name) const = 0;

  /// Writes an event `{"t":now,"type":type,"agent":self,...fields}` to the event log.
  virtual void log_event(std::string_view type, boost::json::object fields = {}) = 0;
};

}  // namespace colony::engine
