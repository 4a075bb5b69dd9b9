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

}  // namespace colony::agents::detail
