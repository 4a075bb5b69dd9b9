#pragma once
/// Strong ids: agents, groups, topics, conversations, correlations, tasks.
#include <boost/json/conversion.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <string_view>

namespace colony::broker {

/// An agent's address. Dense, allocated by the runtime; 0 is `no_agent` (the world outside).
enum class agent_id : std::uint64_t {};
/// A named set of agents, such as a locale. The id is a hash of the name.
enum class group_id : std::uint64_t {};
/// A publish/subscribe topic. The id is a hash of the name.
enum class topic_id : std::uint64_t {};
/// Ties the messages of one exchange (a task and its sub-requests) together; 0 is none.
enum class conversation_id : std::uint64_t {};
/// Matches a reply to its request; unique per requesting agent; 0 is none.
enum class correlation_id : std::uint64_t {};
/// A self-timer, unique per agent.
enum class timer_id : std::uint64_t {};
/// A workload task.
enum class task_id : std::uint64_t {};

inline constexpr agent_id no_agent{0};

/// The number inside a strong id.
template <class Id>
[[nodiscard]] constexpr std::uint64_t raw(Id id) noexcept {
  return static_cast<std::uint64_t>(id);
}

/// 64-bit FNV-1a: stable across platforms and runs, so names hash to the same ids everywhere.
[[nodiscard]] constexpr std::uint64_t stable_hash(std::string_view text) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

/// The topic called `name`.
[[nodiscard]] constexpr topic_id topic(std::string_view name) noexcept {
  return topic_id{stable_hash(name)};
}
/// The group called `name`.
[[nodiscard]] constexpr group_id group(std::string_view name) noexcept {
  return group_id{stable_hash(name)};
}

// JSON: every id is a plain number.
#define COLONY_BROKER_ID_JSON(Id)                                                     \
  inline void tag_invoke(boost::json::value_from_tag, boost::json::value& v, Id id) { \
    v = raw(id);                                                                      \
  }                                                                                   \
  inline Id tag_invoke(boost::json::value_to_tag<Id>, const boost::json::value& v) {  \
    return Id{boost::json::value_to<std::uint64_t>(v)};                               \
  }
COLONY_BROKER_ID_JSON(agent_id)
COLONY_BROKER_ID_JSON(group_id)
COLONY_BROKER_ID_JSON(topic_id)
COLONY_BROKER_ID_JSON(conversation_id)
COLONY_BROKER_ID_JSON(correlation_id)
COLONY_BROKER_ID_JSON(timer_id)
COLONY_BROKER_ID_JSON(task_id)
#undef COLONY_BROKER_ID_JSON

}  // namespace colony::broker
