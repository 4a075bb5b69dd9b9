#include "colony/agents/builtin.hpp"

#include <mutex>
#include <set>

#include "colony/agents/kinds.hpp"
#include "colony/base/assert.hpp"
#include "organizer.hpp"
#include "params.hpp"
#include "router.hpp"
#include "specialist.hpp"

namespace colony::agents {
namespace {

using namespace detail;  // parameter shorthands
using boost::json::array;
using boost::json::object;
using boost::json::value;

// A problem unless `name` is one of the links.
void require_link(std::vector<param_problem>& out, const std::vector<std::string>& links,
                  std::string_view name, std::string pointer) {
  if (std::find(links.begin(), links.end(), name) != links.end()) return;
  std::string known;
  for (const auto& l : links) known += (known.empty() ? "" : ", ") + l;
  out.push_back({std::move(pointer), "\"" + std::string(name) + "\" is not one of the links",
                 links.empty() ? "add it to links" : "links: " + known});
}

std::vector<param_problem> check_router(const object& p, const std::vector<std::string>& links) {
  std::vector<param_problem> out;
  const auto strategy = p.at("strategy").as_string();
  const auto& rules = p.at("rules").as_array();
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const std::string at = "/rules/" + std::to_string(i);
    const auto* rule = rules[i].if_object();
    if (rule == nullptr || !rule->contains("keywords") || !rule->contains("to") ||
        !rule->at("keywords").is_array() || !rule->at("to").is_string() || rule->size() != 2) {
      out.push_back({at, "a rule is {\"keywords\": [...], \"to\": \"<link>\"}", ""});
      continue;
    }
    for (const auto& k : rule->at("keywords").as_array()) {
      if (!k.is_string()) out.push_back({at + "/keywords", "keywords must be strings", ""});
    }
    require_link(out, links, rule->at("to").as_string(), at + "/to");
  }
  if (const auto& d = p.at("default").as_string(); !d.empty()) {
    require_link(out, links, d, "/default");
  }
  const auto& tiers = p.at("tiers").as_array();
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    const std::string at = "/tiers/" + std::to_string(i);
    const auto* tier = tiers[i].if_object();
    if (tier == nullptr || !tier->contains("max_complexity") || !tier->contains("to") ||
        !tier->at("max_complexity").is_number() || !tier->at("to").is_string() ||
        tier->size() != 2) {
      out.push_back({at, "a tier is {\"max_complexity\": 0..1, \"to\": \"<link>\"}", ""});
      continue;
    }
    require_link(out, links, tier->at("to").as_string(), at + "/to");
  }
  for (const auto& [link, domains] : p.at("capabilities").as_object()) {
    const std::string at = "/capabilities/" + std::string(link);
    require_link(out, links, link, at);
    if (!domains.is_object()) {
      out.push_back({at, "capabilities map a link to {\"<domain>\": 0..1, ...}", ""});
      continue;
    }
    for (const auto& [domain, score] : domains.as_object()) {
      if (!score.is_number() || score.to_number<double>() < 0 || score.to_number<double>() > 1) {
        out.push_back({at + "/" + std::string(domain), "a capability is a number from 0 to 1", ""});
      }
    }
  }
  for (const auto& [type, dims] : p.at("weights").as_object()) {
    const std::string at = "/weights/" + std::string(type);
    if (!dims.is_object() || dims.as_object().empty()) {
      out.push_back({at, "weights map a task type to {\"<dimension>\": weight, ...}", ""});
      continue;
    }
    for (const auto& [dimension, weight] : dims.as_object()) {
      if (!weight.is_number() || weight.to_number<double>() < 0) {
        out.push_back({at + "/" + std::string(dimension), "a weight is a number >= 0", ""});
      }
    }
  }
  if (strategy == "keyword" && rules.empty()) {
    out.push_back({"/rules", "the keyword strategy needs at least one rule", ""});
  }
  if (strategy == "tiers" && tiers.empty()) {
    out.push_back({"/tiers", "the tiers strategy needs at least one tier", ""});
  }
  return out;
}

template <class Kind>
auto maker() {
  return [](const agent_config& c) -> std::unique_ptr<engine::actor> {
    return std::make_unique<Kind>(c);
  };
}

void register_all() {
  const param_spec forward_timeout =
      positive_duration_param("forward_timeout", "10min", "how long to wait for a link's answer");
  std::vector<kind_spec> kinds;
  kinds.push_back(
      {.name = "specialist",
       .doc = "Answers tasks with its backend, searching the solution library first when the run "
              "has one (reuse, adapt or generate by the best similarity). With samples > 1 it asks "
              "k times and votes "
              "(self-consistency). Failed calls are retried with exponential backoff; a circuit "
              "breaker stops calling a failing backend for a while. When it cannot answer well "
              "enough it hands the task to its links in order (fallbacks), or escalates.",
       .needs_backend = true,
       .params = {integer_param("samples", 1, 1, 64, "answers drawn per task (self-consistency)"),
                  choice_param("voting", "majority", {"majority", "weighted", "confidence_gated"},
                               "how samples are combined"),
                  number_param("agreement", 0.6, 0, 1,
                               "confidence_gated: smallest vote share accepted"),
                  number_param("min_confidence", 0, 0, 1,
                               "below this confidence the task goes to the fallbacks"),
                  integer_param("max_retries", 2, 0, 20, "retries of a failed call"),
                  duration_param("backoff", "500ms", "first retry delay; doubles each retry"),
                  positive_duration_param("call_timeout", "120s",
                                          "how long to wait for the backend"),
                  integer_param("breaker_failures", 5, 0, 1000,
                                "consecutive failures that open the circuit (0: no breaker)"),
                  duration_param("breaker_cooldown", "30s", "how long the circuit stays open"),
                  bool_param("use_library", true,
                             "search the run's solution library first, for tasks whose family "
                             "has a solution (docs/library.md)")},
       .make = maker<detail::specialist>()});
  kinds.push_back(
      {.name = "router",
       .doc = "Sends each task to one of its links: by keyword rules, by complexity tiers, by "
              "capability scores (a task type's weights times each link's capabilities) blended "
              "with observed quality, by a cost-aware bandit per "
              "domain, or as a cascade (cheapest link first, escalating on low confidence).",
       .min_links = 1,
       .params = {choice_param("strategy", "keyword",
                               {"keyword", "tiers", "capability", "bandit", "cascade"},
                               "how the link is chosen"),
                  {"rules",
                   param_type::array,
                   array{},
                   {},
                   {},
                   {},
                   "keyword: [{\"keywords\": [...], \"to\": link}], first match wins"},
                  {"default",
                   param_type::string,
                   value(""),
                   {},
                   {},
                   {},
                   "keyword: the link when no rule matches (default: the first link)"},
                  {"tiers",
                   param_type::array,
                   array{},
                   {},
                   {},
                   {},
                   "tiers: [{\"max_complexity\": x, \"to\": link}]"},
                  {"capabilities",
                   param_type::object,
                   object{},
                   {},
                   {},
                   {},
                   "capability: {link: {domain or dimension: score 0..1}}"},
                  {"weights",
                   param_type::object,
                   object{},
                   {},
                   {},
                   {},
                   "capability: {family or domain: {dimension: weight}}; a task's prior for a link "
                   "is the weighted mean of the link's capabilities over those dimensions"},
                  number_param("history_weight", 0.3, 0, 1,
                               "capability: weight of observed quality against the prior"),
                  number_param("quality_target", 0.8, 0, 1,
                               "bandit: observed quality a route must reach"),
                  number_param("epsilon", 0.05, 0, 1, "bandit: exploration probability"),
                  integer_param("min_trials", 5, 1, 1000000,
                                "bandit: tries of every route before exploiting"),
                  number_param("accept_confidence", 0.7, 0, 1,
                               "cascade: confidence at which an answer is kept"),
                  forward_timeout},
       .check = check_router,
       .make = maker<detail::router>()});
  kinds.push_back({.name = "aggregator",
                   .doc = "Sends each task to all its links in parallel and merges their answers "
                          "by vote.",
                   .min_links = 1,
                   .params = {choice_param("method", "weighted", {"majority", "weighted"},
                                           "how answers are merged"),
                              forward_timeout},
                   .make = maker<detail::aggregator>()});
  kinds.push_back(
      {.name = "validator",
       .doc = "A quality gate in front of its one link: checks each answer with its own backend "
              "and sends the task back for correction when the check disagrees; after "
              "max_corrections it escalates the task to humans.",
       .needs_backend = true,
       .min_links = 1,
       .max_links = 1,
       .params = {integer_param("max_corrections", 2, 0, 20, "correction rounds before escalating"),
                  number_param("min_confidence", 0, 0, 1,
                               "answers below this confidence are sent back unchecked"),
                  forward_timeout},
       .make = maker<detail::validator>()});
  kinds.push_back({.name = "pipeline",
                   .doc = "Runs its links as sequential stages; each stage works on the previous "
                          "one's output, which is harder to work on the less sure it was.",
                   .min_links = 1,
                   .params = {number_param("degradation", 0.3, 0, 1,
                                           "difficulty added per unit of a stage's doubt"),
                              forward_timeout},
                   .make = maker<detail::pipeline>()});
  kinds.push_back(
      {.name = "organizer",
       .doc = "The entry of a self-organizing network: routes each task among its links and the "
              "specialists it spawns for recurring patterns, forms committees for complex tasks, "
              "and prunes and merges routes at each self-analysis, as the scenario's policies "
              "say. Its links are its first, general routes.",
       .min_links = 1,
       .params = {forward_timeout},
       .make = maker<detail::organizer>()});
  for (auto& k : kinds) {
    auto registered = register_kind(std::move(k));
    COLONY_ASSERT(registered);
  }
}

}  // namespace

void register_builtin_kinds() {
  static std::once_flag once;
  std::call_once(once, register_all);
}

}  // namespace colony::agents
