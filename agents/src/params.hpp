#pragma once
// Shorthands for describing parameters (of kinds and of policy sections).
#include <string>
#include <vector>

#include "colony/agents/kinds.hpp"

namespace colony::agents::detail {

inline param_spec number_param(std::string name, double def, double min, double max,
                               std::string doc) {
  return {std::move(name), param_type::number, def, min, max, {}, std::move(doc)};
}
inline param_spec integer_param(std::string name, std::int64_t def, double min, double max,
                                std::string doc) {
  return {std::move(name), param_type::integer, def, min, max, {}, std::move(doc)};
}
inline param_spec duration_param(std::string name, std::string def, std::string doc) {
  return {std::move(name), param_type::duration, boost::json::value(def), 0.0, {}, {},
          std::move(doc)};
}
/// A duration that must be more than 0 (a timeout or window of 0 would make every call fail or
/// nothing count).
inline param_spec positive_duration_param(std::string name, std::string def, std::string doc) {
  return {std::move(name), param_type::duration, boost::json::value(def), 1.0, {}, {},
          std::move(doc)};
}
inline param_spec choice_param(std::string name, std::string def, std::vector<std::string> choices,
                               std::string doc) {
  return {std::move(name),    param_type::string, boost::json::value(def), {}, {},
          std::move(choices), std::move(doc)};
}
inline param_spec bool_param(std::string name, bool def, std::string doc) {
  return {std::move(name), param_type::boolean, def, {}, {}, {}, std::move(doc)};
}

// Readers of a filled-in policy object (the loader has checked types and filled defaults; `def`
// is used for objects made in code that leave a field out).
inline double num(const boost::json::object& o, std::string_view key, double def) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_number() ? v->to_number<double>() : def;
}
inline std::int64_t whole(const boost::json::object& o, std::string_view key, std::int64_t def) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_number() ? v->to_number<std::int64_t>() : def;
}
inline bool flag(const boost::json::object& o, std::string_view key, bool def) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_bool() ? v->as_bool() : def;
}
inline std::string word(const boost::json::object& o, std::string_view key, std::string def) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : def;
}
/// The object `name` of `policies`, or an empty one.
inline const boost::json::object& section(const boost::json::object& policies,
                                          std::string_view name) {
  static const boost::json::object none;
  const auto* v = policies.if_contains(name);
  return v != nullptr && v->is_object() ? v->as_object() : none;
}

}  // namespace colony::agents::detail
