#include <algorithm>

#include "colony/agents/organizer.hpp"
#include "sections.hpp"
#include "wording.hpp"

namespace colony::scenarios {

json::object read_policies(checker& c, const json::value* v, bool organized) {
  json::object filled;
  if (v != nullptr && !organized) {
    // Without an organizer nothing would carry the policies out: say so, unless they are empty.
    const auto* given = c.object(*v, "/policies");
    if (given != nullptr && !given->empty()) {
      c.report("/policies", "policies need an agent of kind \"organizer\" to carry them out",
               "add one as the workload's entry, linked to the agents it starts with");
    }
    return filled;
  }
  if (!organized) return filled;
  const json::value none = json::object();
  std::vector<std::string> names;
  for (const auto& section : agents::policy_sections()) names.push_back(section.name);
  const auto s = c.open(v != nullptr ? *v : none, "/policies", names);
  if (!s) return filled;
  for (const auto& section : agents::policy_sections()) {
    auto params = read_params(c, section, s->find(section.name), s->at(section.name), {});
    if (section.name == "spawn") {
      // The spawned specialists' parameters are the specialist kind's, checked as such.
      const auto* kind = agents::find_kind("specialist");
      const auto* given = s->find("spawn") != nullptr && s->find("spawn")->is_object()
                              ? s->find("spawn")->as_object().if_contains("specialist")
                              : nullptr;
      if (kind != nullptr) {
        params["specialist"] = read_params(c, *kind, given, s->at("spawn") + "/specialist", {});
      }
    }
    filled[section.name] = std::move(params);
  }
  return filled;
}

scenario read_scenario(checker& c, const json::value& document, std::string default_name) {
  scenario sc;
  sc.name = std::move(default_name);
  const auto s = c.open(document, "",
                        {"$schema", "name", "description", "run", "backends", "locales", "agents",
                         "workload", "policies"});
  if (!s) return sc;
  if (const auto* v = s->find("$schema")) (void)c.string(*v, s->at("$schema"));
  c.read_string(*s, "name", sc.name);
  c.read_string(*s, "description", sc.description);
  sc.run = read_run(c, s->find("run"));
  if (const auto* v = s->find("backends"))
    sc.backends = read_each(c, *v, "/backends", read_backend);
  if (const auto* v = s->find("locales")) sc.locales = read_each(c, *v, "/locales", read_locale);
  if (const auto* v = s->find("agents")) {
    const auto read = [&](checker& ch, const json::value& e, const std::string& at) {
      return read_agent(ch, e, at, sc.locales);
    };
    sc.agents = read_each(c, *v, "/agents", read);
  }
  if (const auto* v = c.require(*s, "workload")) sc.work = read_workload(c, *v, "/workload");
  const bool organized = std::any_of(sc.agents.begin(), sc.agents.end(),
                                     [](const agent_spec& a) { return a.kind == "organizer"; });
  sc.policies = read_policies(c, s->find("policies"), organized);
  // The spawn policy's candidate backends must be backends of the scenario.
  const auto* spawn = sc.policies.if_contains("spawn");
  const auto* names =
      spawn != nullptr && spawn->is_object() ? spawn->as_object().if_contains("backends") : nullptr;
  if (names != nullptr && names->is_array()) {
    for (std::size_t i = 0; i < names->as_array().size(); ++i) {
      const auto& name = names->as_array()[i];
      if (!name.is_string()) continue;
      c.refer(name_kind::backend, std::string(name.as_string()),
              "/policies/spawn/backends/" + std::to_string(i));
    }
  }
  c.resolve_references();
  return sc;
}

}  // namespace colony::scenarios
