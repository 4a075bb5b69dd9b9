#include <algorithm>

#include "colony/agents/library.hpp"
#include "colony/agents/organizer.hpp"
#include "colony/agents/stores.hpp"
#include "colony/memory/solution_library.hpp"
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

json::object read_library(checker& c, const json::value& v, const std::vector<agent_spec>& agents) {
  json::object filled;
  std::vector<std::string> names{"enabled"};
  for (const auto& section : agents::library_sections()) names.push_back(section.name);
  const auto s = c.open(v, "/library", names);
  if (!s) return filled;
  bool enabled = true;
  if (const auto* e = s->find("enabled")) enabled = c.boolean(*e, s->at("enabled")).value_or(true);
  filled["enabled"] = enabled;
  for (const auto& section : agents::library_sections()) {
    filled[section.name] = read_params(c, section, s->find(section.name), s->at(section.name), {});
  }
  // The paths' thresholds must fall in order: reuse > adapt_parameters > adapt_logic > combine.
  const auto threshold = [&](std::string_view tier) {
    const auto* t = filled.at(tier).as_object().if_contains("min_similarity");
    return t != nullptr && t->is_number() ? t->to_number<double>() : 0.0;
  };
  const std::array<std::string_view, 4> ordered = {"reuse", "adapt_parameters", "adapt_logic",
                                                   "combine"};
  for (std::size_t i = 1; i < ordered.size(); ++i) {
    if (threshold(ordered[i]) >= threshold(ordered[i - 1])) {
      c.report(s->at(std::string(ordered[i])) + "/min_similarity",
               "min_similarity of " + std::string(ordered[i]) + " must be below that of " +
                   std::string(ordered[i - 1]) + " (" + format_number(threshold(ordered[i - 1])) +
                   ")",
               "the paths are tried from reuse down to combine; lower it or raise the other");
    }
  }
  // The index must be one FAISS can build, with parameters it knows.
  const auto& index = filled.at("index").as_object();
  if (index.at("factory").is_string() && index.at("parameters").is_string() &&
      index.at("dimension").is_number()) {
    const memory::library_options options{
        .factory = std::string(index.at("factory").as_string()),
        .parameters = std::string(index.at("parameters").as_string())};
    const auto dimension = index.at("dimension").to_number<std::size_t>();
    if (auto ok = memory::solution_library::check_options(dimension, options); !ok) {
      const bool parameters =
          ok.error().message.find("parameter") != std::string::npos && !options.parameters.empty();
      c.report(s->at("index") + (parameters ? "/parameters" : "/factory"), ok.error().message,
               parameters ? "FAISS search parameters such as \"efSearch=128\" or \"nprobe=16\""
                          : "a FAISS index factory string such as \"Flat\", \"HNSW32\" or "
                            "\"IVF1024,Flat\"");
    }
  }
  // Reviewers are agents with a backend (they answer a review as a task).
  const auto& reviewers = filled.at("review").as_object().at("reviewers").as_array();
  for (std::size_t i = 0; i < reviewers.size(); ++i) {
    if (!reviewers[i].is_string()) continue;
    const std::string name(reviewers[i].as_string());
    const std::string at = s->at("review") + "/reviewers/" + std::to_string(i);
    const auto it = std::find_if(agents.begin(), agents.end(),
                                 [&](const agent_spec& a) { return a.name == name; });
    if (it == agents.end()) {
      c.refer(name_kind::agent, name, at);
    } else if (it->backend.empty()) {
      c.report(at, "reviewer " + quote(name) + " has no backend to review with",
               "name an agent of kind \"specialist\"");
    }
  }
  const auto required = filled.at("review").as_object().at("required").to_number<std::int64_t>();
  if (!reviewers.empty() && required > static_cast<std::int64_t>(reviewers.size())) {
    c.report(s->at("review") + "/required",
             "required is " + std::to_string(required) + " but there are only " +
                 std::to_string(reviewers.size()) + " reviewers",
             "no entry could ever be accepted");
  }
  return filled;
}

json::object read_stores(checker& c, const json::value& v, const std::vector<locale>& locales) {
  json::object filled;
  std::vector<std::string> names{"enabled"};
  for (const auto& section : agents::store_sections()) names.push_back(section.name);
  const auto s = c.open(v, "/stores", names);
  if (!s) return filled;
  bool enabled = true;
  if (const auto* e = s->find("enabled")) enabled = c.boolean(*e, s->at("enabled")).value_or(true);
  filled["enabled"] = enabled;
  for (const auto& section : agents::store_sections()) {
    filled[section.name] = read_params(c, section, s->find(section.name), s->at(section.name), {});
  }
  if (enabled && locales.empty()) {
    c.report("/stores", "stores are kept per locale, and the scenario declares none",
             "add \"locales\" (and put agents in them)");
  }
  // Trust names locales of the scenario.
  const auto& trusted = filled.at("access").as_object().at("trusted");
  if (trusted.is_object()) {
    for (const auto& [owner, list] : trusted.as_object()) {
      const std::string at = s->at("access") + "/trusted/" + std::string(owner);
      c.refer(name_kind::locale, std::string(owner), at);
      if (!list.is_array()) continue;
      for (std::size_t i = 0; i < list.as_array().size(); ++i) {
        if (list.as_array()[i].is_string()) {
          c.refer(name_kind::locale, std::string(list.as_array()[i].as_string()),
                  at + "/" + std::to_string(i));
        }
      }
    }
  }
  return filled;
}

scenario read_scenario(checker& c, const json::value& document, std::string default_name) {
  scenario sc;
  sc.name = std::move(default_name);
  const auto s = c.open(document, "",
                        {"$schema", "name", "description", "run", "backends", "locales", "agents",
                         "workload", "policies", "library", "stores"});
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
  if (const auto* v = s->find("library")) sc.library = read_library(c, *v, sc.agents);
  if (const auto* v = s->find("stores")) sc.stores = read_stores(c, *v, sc.locales);
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
