#include "colony/agents/kinds.hpp"

#include "colony/base/time.hpp"

#include <algorithm>
#include <map>
#include <mutex>

namespace colony::agents {
namespace {

struct kind_table {
  std::mutex m;
  std::map<std::string, std::unique_ptr<kind_spec>, std::less<>> kinds;
};

kind_table& table() {
  static kind_table t;
  return t;
}

}  // namespace

std::string_view to_string(param_type t) noexcept {
  switch (t) {
    case param_type::number:
      return "number";
    case param_type::integer:
      return "integer";
    case param_type::boolean:
      return "boolean";
    case param_type::string:
      return "string";
    case param_type::duration:
      return "duration";
    case param_type::string_list:
      return "list of strings";
    case param_type::array:
      return "array";
    case param_type::object:
      return "object";
  }
  return "unknown";
}

result<void> register_kind(kind_spec k) {
  auto& t = table();
  std::lock_guard lock(t.m);
  if (t.kinds.count(k.name) != 0) {
    return fail(errc::invalid_argument, "agent kind \"" + k.name + "\" is registered already");
  }
  auto name = k.name;
  t.kinds.emplace(std::move(name), std::make_unique<kind_spec>(std::move(k)));
  return {};
}

const kind_spec* find_kind(std::string_view name) {
  auto& t = table();
  std::lock_guard lock(t.m);
  auto it = t.kinds.find(name);
  return it == t.kinds.end() ? nullptr : it->second.get();
}

std::vector<const kind_spec*> all_kinds() {
  auto& t = table();
  std::lock_guard lock(t.m);
  std::vector<const kind_spec*> out;
  for (const auto& [name, k] : t.kinds) out.push_back(k.get());
  return out;
}

boost::json::object with_defaults(const kind_spec& k, boost::json::object params) {
  for (const auto& p : k.params) {
    if (params.contains(p.name) || p.default_value.is_null()) continue;
    if (p.type == param_type::duration && p.default_value.is_string()) {
      params[p.name] = parse_duration(p.default_value.get_string()).value_or(0);
    } else {
      params[p.name] = p.default_value;
    }
  }
  return params;
}

}  // namespace colony::agents
