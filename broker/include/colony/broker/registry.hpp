#pragma once
/// The routing tables: agent names, groups (a locale is a group) and topic subscriptions.
///
/// Single-threaded by design. Under SimRuntime it is read by every worker during a window and
/// changed only at the barrier between windows, which is what makes publishes and broadcasts
/// deterministic: a subscription made during a window takes effect at the next barrier.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "colony/base/error.hpp"
#include "colony/broker/ids.hpp"

namespace colony::broker {

class registry {
 public:
  /// Gives `id` the unique name `name`. Fails with errc::invalid_argument if another live agent
  /// holds it or `id` already has a name.
  [[nodiscard]] result<void> name_agent(agent_id id, std::string name);
  /// The agent called `name`, if any.
  [[nodiscard]] std::optional<agent_id> lookup(std::string_view name) const;
  /// The name of `id`, or "" when it has none.
  [[nodiscard]] std::string_view name_of(agent_id id) const;

  /// Adds `id` to the group called `name` (created on first use). Idempotent.
  void join(std::string_view name, agent_id id);
  /// Removes `id` from `g`. Idempotent.
  void leave(group_id g, agent_id id);
  /// Members of `g` in ascending id order (empty for an unknown group).
  [[nodiscard]] std::span<const agent_id> members(group_id g) const;
  /// The group's name, or "" when unknown.
  [[nodiscard]] std::string_view group_name(group_id g) const;

  /// Subscribes `id` to the topic called `name`. Idempotent.
  void subscribe(std::string_view name, agent_id id);
  /// Unsubscribes `id` from `t`. Idempotent.
  void unsubscribe(topic_id t, agent_id id);
  /// Subscribers of `t` in ascending id order (empty for an unknown topic).
  [[nodiscard]] std::span<const agent_id> subscribers(topic_id t) const;
  /// The topic's name, or "" when unknown.
  [[nodiscard]] std::string_view topic_name(topic_id t) const;

  /// Forgets `id` everywhere: its name, groups and subscriptions. For a stopped agent.
  void remove(agent_id id);

 private:
  struct member_set {
    std::string name;
    std::vector<agent_id> members;  // sorted
  };
  // What `id` belongs to, so remove() does not scan every group and topic.
  struct belongings {
    std::vector<group_id> groups;
    std::vector<topic_id> topics;
  };

  static bool insert_sorted(std::vector<agent_id>& v, agent_id id);
  static bool erase_sorted(std::vector<agent_id>& v, agent_id id);

  std::unordered_map<std::string, agent_id> by_name_;
  std::unordered_map<std::uint64_t, std::string> names_;
  std::unordered_map<std::uint64_t, member_set> groups_;
  std::unordered_map<std::uint64_t, member_set> topics_;
  std::unordered_map<std::uint64_t, belongings> belongings_;
};

}  // namespace colony::broker
