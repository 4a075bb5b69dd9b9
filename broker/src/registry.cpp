#include "colony/broker/registry.hpp"

#include <algorithm>

namespace colony::broker {

result<void> registry::name_agent(agent_id id, std::string name) {
  if (name.empty()) return fail(errc::invalid_argument, "an agent name cannot be empty");
  if (auto it = by_name_.find(name); it != by_name_.end() && it->second != id) {
    return fail(errc::invalid_argument,
                "the name \"" + name + "\" is taken by agent " + std::to_string(raw(it->second)));
  }
  if (auto it = names_.find(raw(id)); it != names_.end() && it->second != name) {
    return fail(errc::invalid_argument,
                "agent " + std::to_string(raw(id)) + " is already called \"" + it->second + "\"");
  }
  by_name_[name] = id;
  names_[raw(id)] = std::move(name);
  return {};
}

std::optional<agent_id> registry::lookup(std::string_view name) const {
  if (auto it = by_name_.find(std::string(name)); it != by_name_.end()) return it->second;
  return std::nullopt;
}

std::string_view registry::name_of(agent_id id) const {
  if (auto it = names_.find(raw(id)); it != names_.end()) return it->second;
  return {};
}

bool registry::insert_sorted(std::vector<agent_id>& v, agent_id id) {
  // Agents usually join in id order, so check the end first.
  if (v.empty() || v.back() < id) {
    v.push_back(id);
    return true;
  }
  auto it = std::lower_bound(v.begin(), v.end(), id);
  if (it != v.end() && *it == id) return false;
  v.insert(it, id);
  return true;
}

bool registry::erase_sorted(std::vector<agent_id>& v, agent_id id) {
  auto it = std::lower_bound(v.begin(), v.end(), id);
  if (it == v.end() || *it != id) return false;
  v.erase(it);
  return true;
}

void registry::join(std::string_view name, agent_id id) {
  const group_id g = group(name);
  auto& set = groups_[raw(g)];
  if (set.name.empty()) set.name = name;
  if (insert_sorted(set.members, id)) belongings_[raw(id)].groups.push_back(g);
}

void registry::leave(group_id g, agent_id id) {
  auto it = groups_.find(raw(g));
  if (it == groups_.end() || !erase_sorted(it->second.members, id)) return;
  auto& b = belongings_[raw(id)].groups;
  b.erase(std::remove(b.begin(), b.end(), g), b.end());
}

std::span<const agent_id> registry::members(group_id g) const {
  if (auto it = groups_.find(raw(g)); it != groups_.end()) return it->second.members;
  return {};
}

std::string_view registry::group_name(group_id g) const {
  if (auto it = groups_.find(raw(g)); it != groups_.end()) return it->second.name;
  return {};
}

void registry::subscribe(std::string_view name, agent_id id) {
  const topic_id t = topic(name);
  auto& set = topics_[raw(t)];
  if (set.name.empty()) set.name = name;
  if (insert_sorted(set.members, id)) belongings_[raw(id)].topics.push_back(t);
}

void registry::unsubscribe(topic_id t, agent_id id) {
  auto it = topics_.find(raw(t));
  if (it == topics_.end() || !erase_sorted(it->second.members, id)) return;
  auto& b = belongings_[raw(id)].topics;
  b.erase(std::remove(b.begin(), b.end(), t), b.end());
}

std::span<const agent_id> registry::subscribers(topic_id t) const {
  if (auto it = topics_.find(raw(t)); it != topics_.end()) return it->second.members;
  return {};
}

std::string_view registry::topic_name(topic_id t) const {
  if (auto it = topics_.find(raw(t)); it != topics_.end()) return it->second.name;
  return {};
}

void registry::remove(agent_id id) {
  if (auto it = names_.find(raw(id)); it != names_.end()) {
    by_name_.erase(it->second);
    names_.erase(it);
  }
  auto it = belongings_.find(raw(id));
  if (it == belongings_.end()) return;
  for (group_id g : it->second.groups) erase_sorted(groups_[raw(g)].members, id);
  for (topic_id t : it->second.topics) erase_sorted(topics_[raw(t)].members, id);
  belongings_.erase(it);
}

}  // namespace colony::broker
