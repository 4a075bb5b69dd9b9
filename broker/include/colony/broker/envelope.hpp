#pragma once
/// An envelope: a message with its addresses, times and ordering keys.
#include <boost/json/value.hpp>
#include <cstdint>
#include <string_view>

#include "colony/base/time.hpp"
#include "colony/broker/ids.hpp"
#include "colony/broker/message.hpp"

namespace colony::broker {

/// What an envelope is to the kernel. Handlers see `plain`, `request` and `reply`; the kernel
/// consumes the rest itself (a request timeout reaches the handler as msg::timeout).
enum class envelope_kind : std::uint8_t {
  plain,    ///< a plain send, publish or broadcast
  request,  ///< expects a reply carrying the same correlation id
  reply,    ///< answers a request
  timer,    ///< a self-timer set with schedule()
  timeout,  ///< a request's deadline (becomes msg::timeout if no reply came)
  start,    ///< the first delivery of a new agent: runs on_start
  stop,     ///< asks the receiver to stop (payload: msg::stopped with reason and heir)
};

[[nodiscard]] std::string_view to_string(envelope_kind k) noexcept;

/// Lowest and highest message priority. Among messages due at the same instant for the same
/// agent, higher priority is delivered first.
inline constexpr std::uint8_t min_priority = 1;
inline constexpr std::uint8_t max_priority = 5;
inline constexpr std::uint8_t default_priority = 3;

/// A message in flight. Values only: nothing in it points into another agent's state.
struct envelope {
  agent_id from{};                 ///< sender (no_agent: injected from outside the run)
  agent_id to{};                   ///< receiver, after group/topic expansion
  sim_time send_time = 0;          ///< when it was sent
  sim_time deliver_time = 0;       ///< when it is handled: send time + link latency + delay
  std::uint64_t seq = 0;           ///< the sender's sequence number (per sender, from 1)
  conversation_id conversation{};  ///< the exchange it belongs to (0: none)
  correlation_id correlation{};    ///< request/reply matching (0: none)
  std::uint8_t priority = default_priority;  ///< 1 (lowest) .. 5 (highest)
  envelope_kind kind = envelope_kind::plain;
  std::uint8_t forwards = 0;  ///< times forwarded from a stopped agent to its heir
  message payload;            ///< the message itself
};

// Envelopes are built, moved and merged several times per delivery: their size is throughput.
// A message type that pushes past this belongs in a boxed<>.
static_assert(sizeof(message) <= 32, "box large messages (see broker::boxed)");
static_assert(sizeof(envelope) <= 96, "keep envelopes within 96 bytes");

void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const envelope& e);

}  // namespace colony::broker
