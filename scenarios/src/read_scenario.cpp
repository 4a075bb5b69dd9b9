#include "sections.hpp"

namespace colony::scenarios {

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
  if (const auto* v = s->find("policies")) {
    if (const auto* policies = c.object(*v, "/policies")) sc.policies = *policies;
  }
  c.resolve_references();
  return sc;
}

}  // namespace colony::scenarios
