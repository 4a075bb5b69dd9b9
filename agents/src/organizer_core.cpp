// The organizer's decisions: patterns, routing, spawn, prune, merge, committees, analysis.
// docs/model.md ("Self-organization") gives every formula here with its policy field.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "colony/agents/organizer.hpp"
#include "colony/base/assert.hpp"
#include "params.hpp"
#include "task_job.hpp"

namespace colony::agents {
namespace {

using namespace detail;  // parameter shorthands, fixed()
using boost::json::object;

double seconds(sim_time t) {
  return static_cast<double>(t) / static_cast<double>(sec);
}

template <class Map>
std::string most_common(const Map& counts) {
  std::string best;
  std::uint64_t n = 0;
  for (const auto& [key, count] : counts) {
    if (count > n) {  // ties: the first in name order
      best = key;
      n = count;
    }
  }
  return best;
}

}  // namespace

const std::vector<kind_spec>& policy_sections() {
  static const std::vector<kind_spec> sections = [] {
    std::vector<kind_spec> s;
    s.push_back(
        {.name = "patterns",
         .doc = "How tasks are clustered into patterns (online, by text embedding).",
         .params = {
             number_param("threshold", 0.5, 0, 1,
                          "cosine similarity to a pattern's centroid to join it"),
             integer_param("dimension", 256, 8, 65536, "length of the feature-hashing embedding"),
             integer_param("max_patterns", 1000, 1, 1e6,
                           "top-level patterns at most; then a task joins the "
                           "nearest"),
             integer_param("max_sub_patterns", 50, 1, 1e6, "sub-patterns per pattern at most")}});
    s.push_back(
        {.name = "routing",
         .doc = "How the organizer picks a route among those that may take a pattern.",
         .params = {number_param("quality_target", 0.75, 0, 1,
                                 "mean observed quality a route must reach on a pattern"),
                    integer_param("min_trials", 5, 1, 1000,
                                  "results of a route on a pattern before it is judged"),
                    number_param("epsilon", 0.05, 0, 1,
                                 "share of tasks sent to a random candidate (exploration)"),
                    number_param("switch_margin", 0.05, 0, 10,
                                 "relative saving a route needs to take over from the preferred "
                                 "one while that still meets the target (hysteresis)")}});
    s.push_back(
        {.name = "spawn",
         .doc = "Spawning specialists for recurring patterns no route handles well.",
         .params = {bool_param("enabled", true, "spawn specialists"),
                    integer_param("min_seen", 10, 1, 1e9,
                                  "tasks of a pattern within the window before a spawn"),
                    positive_duration_param("window", "1h", "the window min_seen counts over"),
                    duration_param("cooldown", "2h",
                                   "no new spawn for a pattern this long after a spawn or prune"),
                    integer_param("max_specialists", 20, 0, 1e6, "specialists alive at most"),
                    integer_param("max_depth", 2, 1, 8,
                                  "1: specialists only; 2: also sub-specialists for sub-patterns"),
                    number_param("sub_threshold", 0.8, 0, 1,
                                 "cosine similarity to join a sub-pattern within a pattern"),
                    choice_param("backend", "cheapest_meeting_target",
                                 {"cheapest_meeting_target", "best_declared_skill", "cheapest"},
                                 "how the new specialist's backend is chosen"),
                    {"backends",
                     param_type::string_list,
                     boost::json::array(),
                     {},
                     {},
                     {},
                     "candidate backends (empty: every backend)"},
                    {"specialist",
                     param_type::object,
                     object(),
                     {},
                     {},
                     {},
                     "parameters of the specialists spawned (as for kind specialist)"}}});
    s.push_back(
        {.name = "prune",
         .doc = "Stopping routes that carry too little traffic or are dominated.",
         .params = {bool_param("enabled", true, "prune routes"),
                    number_param("min_share", 0.01, 0, 1,
                                 "a route with a smaller share of the window's tasks is idle"),
                    duration_param("min_lifetime", "6h", "never prune a younger route"),
                    number_param("quality_margin", 0.02, 0, 1,
                                 "quality a dominated route may exceed its rival's by"),
                    number_param("cost_margin", 0.1, 0, 10,
                                 "relative cost or latency above its rival's that counts"),
                    integer_param("consecutive", 2, 1, 100,
                                  "analyses in a row the condition must hold")}});
    s.push_back(
        {.name = "merge",
         .doc = "Merging twin routes into one.",
         .params = {bool_param("enabled", true, "merge twins"),
                    number_param("similarity", 0.85, 0, 1,
                                 "centroid similarity at which two specialists' patterns overlap"),
                    number_param("tolerance", 0.05, 0, 1,
                                 "largest difference in quality between results called similar"),
                    duration_param("min_lifetime", "2h", "never merge a younger route")}});
    s.push_back(
        {.name = "committee",
         .doc = "Temporary committees for complex tasks.",
         .params = {bool_param("enabled", true, "form committees"),
                    number_param("complexity", 0.7, 0, 1, "tasks at or above get a committee"),
                    integer_param("min_size", 3, 2, 16, "fewest members"),
                    integer_param("max_size", 5, 2, 16, "most members"),
                    integer_param("rounds", 1, 0, 10, "discussion rounds after the first answers"),
                    number_param("discussion_gain", 0.1, 0, 1,
                                 "skill added in a discussion round when every peer was right"),
                    number_param("gate", 0.6, 0, 1, "support the chair's synthesis needs to pass"),
                    integer_param("max_revisions", 1, 0, 10,
                                  "extra rounds when the gate fails, before escalating"),
                    positive_duration_param("timeout", "10min", "how long a member may take"),
                    number_param("control_share", 0, 0, 1,
                                 "share of eligible tasks sent to a single route, to compare"),
                    integer_param("pool", 0, 0, 100,
                                  "standing (pre-warmed) committees kept per recurring pattern; "
                                  "0: a new committee for every task"),
                    positive_duration_param("pool_idle", "1h",
                                            "a standing committee idle this long stands down")},
         .check = [](const object& p, const std::vector<std::string>&) {
           std::vector<param_problem> out;
           if (p.at("min_size").to_number<std::int64_t>() >
               p.at("max_size").to_number<std::int64_t>()) {
             out.push_back(
                 {"/min_size", "min_size is larger than max_size", "no committee could ever form"});
           }
           return out;
         }});
    s.push_back(
        {.name = "analysis",
         .doc = "The periodic self-analysis: efficiency, recommendations, and acting on them.",
         .params = {duration_param("every", "6h",
                                   "simulated time between analyses (0: by every_tasks only)"),
                    integer_param("every_tasks", 0, 0, 1e12,
                                  "also analyse after this many results (0: by time only)"),
                    bool_param("apply", true, "carry out the recommendations"),
                    number_param("cost_scale", 0.01, 1e-12, 1e12,
                                 "cost per task that halves the efficiency score")}});
    return s;
  }();
  return sections;
}

organizer_policy organizer_policy::from_json(const object& policies) {
  organizer_policy p;
  const auto& pat = section(policies, "patterns");
  p.patterns.threshold = num(pat, "threshold", p.patterns.threshold);
  p.patterns.dimension = static_cast<std::size_t>(whole(pat, "dimension", 256));
  p.patterns.max_patterns = static_cast<std::size_t>(whole(pat, "max_patterns", 1000));
  p.patterns.max_sub_patterns = static_cast<std::size_t>(whole(pat, "max_sub_patterns", 50));
  const auto& r = section(policies, "routing");
  p.routing.quality_target = num(r, "quality_target", p.routing.quality_target);
  p.routing.min_trials = static_cast<std::uint64_t>(whole(r, "min_trials", 5));
  p.routing.epsilon = num(r, "epsilon", p.routing.epsilon);
  p.routing.switch_margin = num(r, "switch_margin", p.routing.switch_margin);
  const auto& s = section(policies, "spawn");
  p.spawn.enabled = flag(s, "enabled", true);
  p.spawn.min_seen = static_cast<std::uint64_t>(whole(s, "min_seen", 10));
  p.spawn.window = whole(s, "window", p.spawn.window);
  p.spawn.cooldown = whole(s, "cooldown", p.spawn.cooldown);
  p.spawn.max_specialists = static_cast<std::uint64_t>(whole(s, "max_specialists", 20));
  p.spawn.max_depth = static_cast<std::uint32_t>(whole(s, "max_depth", 2));
  p.spawn.sub_threshold = num(s, "sub_threshold", p.spawn.sub_threshold);
  p.spawn.backend = word(s, "backend", p.spawn.backend);
  if (const auto* b = s.if_contains("backends"); b != nullptr && b->is_array()) {
    for (const auto& name : b->as_array()) {
      if (name.is_string()) p.spawn.backends.emplace_back(name.as_string());
    }
  }
  if (const auto* o = s.if_contains("specialist"); o != nullptr && o->is_object()) {
    p.spawn.specialist = o->as_object();
  }
  const auto& pr = section(policies, "prune");
  p.prune.enabled = flag(pr, "enabled", true);
  p.prune.min_share = num(pr, "min_share", p.prune.min_share);
  p.prune.min_lifetime = whole(pr, "min_lifetime", p.prune.min_lifetime);
  p.prune.quality_margin = num(pr, "quality_margin", p.prune.quality_margin);
  p.prune.cost_margin = num(pr, "cost_margin", p.prune.cost_margin);
  p.prune.consecutive = static_cast<std::uint32_t>(whole(pr, "consecutive", 2));
  const auto& m = section(policies, "merge");
  p.merge.enabled = flag(m, "enabled", true);
  p.merge.similarity = num(m, "similarity", p.merge.similarity);
  p.merge.tolerance = num(m, "tolerance", p.merge.tolerance);
  p.merge.min_lifetime = whole(m, "min_lifetime", p.merge.min_lifetime);
  const auto& c = section(policies, "committee");
  p.committee.enabled = flag(c, "enabled", true);
  p.committee.complexity = num(c, "complexity", p.committee.complexity);
  p.committee.min_size = static_cast<std::uint32_t>(whole(c, "min_size", 3));
  p.committee.max_size = static_cast<std::uint32_t>(whole(c, "max_size", 5));
  p.committee.rounds = static_cast<std::uint32_t>(whole(c, "rounds", 1));
  p.committee.discussion_gain = num(c, "discussion_gain", p.committee.discussion_gain);
  p.committee.gate = num(c, "gate", p.committee.gate);
  p.committee.max_revisions = static_cast<std::uint32_t>(whole(c, "max_revisions", 1));
  p.committee.timeout = whole(c, "timeout", p.committee.timeout);
  p.committee.control_share = num(c, "control_share", p.committee.control_share);
  p.committee.pool = static_cast<std::uint32_t>(whole(c, "pool", 0));
  p.committee.pool_idle = whole(c, "pool_idle", p.committee.pool_idle);
  const auto& a = section(policies, "analysis");
  p.analysis.every = whole(a, "every", p.analysis.every);
  p.analysis.every_tasks = static_cast<std::uint64_t>(whole(a, "every_tasks", 0));
  p.analysis.apply = flag(a, "apply", true);
  p.analysis.cost_scale = num(a, "cost_scale", p.analysis.cost_scale);
  return p;
}

std::string pattern::main_domain() const {
  return most_common(domains);
}
std::string pattern::main_family() const {
  return most_common(families);
}

pattern_book::pattern_book(double threshold, double sub_threshold, std::size_t dimension,
                           std::size_t max_top, std::size_t max_sub)
    : embedder_({.dimension = dimension}),
      threshold_(threshold),
      sub_threshold_(sub_threshold),
      max_top_(max_top),
      max_sub_(max_sub),
      scratch_(dimension) {}

std::uint32_t pattern_book::place(std::span<const float> v, std::uint32_t parent,
                                  double threshold) {
  std::uint32_t best = 0;
  double best_sim = -2;
  for (const auto& p : patterns_) {
    if (p.parent != parent) continue;
    const double sim = p.norm > 0 ? memory::dot(p.sum, v) / p.norm : 0;
    if (sim > best_sim) {
      best_sim = sim;
      best = p.id;
    }
  }
  const bool full = children_[parent] >= (parent == 0 ? max_top_ : max_sub_);
  if (best != 0 && (best_sim >= threshold || full)) {
    pattern& p = at(best);
    for (std::size_t i = 0; i < p.sum.size(); ++i) p.sum[i] += v[i];
    p.norm = std::sqrt(static_cast<double>(memory::dot(p.sum, p.sum)));
    return best;
  }
  pattern& p = patterns_.emplace_back();
  p.id = static_cast<std::uint32_t>(patterns_.size());
  p.parent = parent;
  ++children_[parent];
  p.sum.assign(v.begin(), v.end());
  p.norm = std::sqrt(static_cast<double>(memory::dot(p.sum, p.sum)));
  return p.id;
}

pattern_book::placement pattern_book::assign(std::string_view text, const std::string& family,
                                             const std::string& domain, sim_time now,
                                             sim_time window) {
  embedder_.embed(text, scratch_);
  placement out;
  out.top = place(scratch_, 0, threshold_);
  out.sub = place(scratch_, out.top, sub_threshold_);
  for (const auto id : {out.top, out.sub}) {
    pattern& p = at(id);
    ++p.seen;
    ++p.families[family];
    ++p.domains[domain];
    p.recent.push_back(now);
    while (!p.recent.empty() && p.recent.front() <= now - window) p.recent.pop_front();
  }
  return out;
}

std::uint64_t pattern_book::seen_within(std::uint32_t id, sim_time now, sim_time window) {
  auto& recent = at(id).recent;
  while (!recent.empty() && recent.front() <= now - window) recent.pop_front();
  return recent.size();
}

double pattern_book::similarity(std::uint32_t a, std::uint32_t b) const {
  const auto& x = at(a).sum;
  const auto& y = at(b).sum;
  const double nx = std::sqrt(static_cast<double>(memory::dot(x, x)));
  const double ny = std::sqrt(static_cast<double>(memory::dot(y, y)));
  return nx > 0 && ny > 0 ? memory::dot(x, y) / (nx * ny) : 0;
}

void pattern_book::name(std::uint32_t id) {
  pattern& p = at(id);
  if (!p.name.empty()) return;
  std::string stem = p.main_family();
  if (p.parent != 0) stem = at(p.parent).name + "/" + stem;
  std::string candidate = stem;
  for (int k = 2;; ++k) {
    const bool taken = std::any_of(patterns_.begin(), patterns_.end(),
                                   [&](const pattern& q) { return q.name == candidate; });
    if (!taken) break;
    candidate = stem + "#" + std::to_string(k);
  }
  p.name = candidate;
}

std::string pattern_book::label(std::uint32_t id) const {
  const auto& name = at(id).name;
  return name.empty() ? "#" + std::to_string(id) : name;
}

void outcome_stats::add(const outcome_stats& o) {
  assigned += o.assigned;
  n += o.n;
  quality += o.quality;
  cost += o.cost;
  latency += o.latency;
}

organizer_core::organizer_core(organizer_policy p, std::vector<backend_ref> backends)
    : policy_(std::move(p)),
      backends_(std::move(backends)),
      patterns_(policy_.patterns.threshold, policy_.spawn.sub_threshold, policy_.patterns.dimension,
                policy_.patterns.max_patterns, policy_.patterns.max_sub_patterns) {}

route* organizer_core::find(broker::agent_id id) {
  auto it = routes_.find(id);
  return it == routes_.end() ? nullptr : &it->second;
}

void organizer_core::add_route(route r) {
  const auto id = r.id;
  routes_.insert_or_assign(id, std::move(r));
}

std::size_t organizer_core::specialists() const {
  return static_cast<std::size_t>(std::count_if(routes_.begin(), routes_.end(), [](const auto& e) {
    return !e.second.general && !e.second.retiring;
  }));
}

pattern_book::placement organizer_core::observe(std::string_view text, const std::string& family,
                                                const std::string& domain, sim_time now) {
  auto placed = patterns_.assign(text, family, domain, now, policy_.spawn.window);
  for (const auto id : {placed.top, placed.sub}) {
    pattern& p = patterns_.at(id);
    if (!p.detected && p.recent.size() >= policy_.spawn.min_seen) {
      p.detected = true;
      patterns_.name(id);
    }
  }
  return placed;
}

const route* organizer_core::coverer(std::uint32_t p) const {
  for (const auto& [id, r] : routes_) {
    if (!r.retiring && r.covers.count(p) != 0) return &r;
  }
  return nullptr;
}

std::vector<broker::agent_id> organizer_core::candidates(std::uint32_t p, std::uint32_t sub) const {
  std::vector<broker::agent_id> out;
  for (const auto& [id, r] : routes_) {
    if (r.retiring) continue;
    if (r.general || r.covers.count(p) != 0 || r.covers.count(sub) != 0) out.push_back(id);
  }
  return out;
}

broker::agent_id organizer_core::choose(std::uint32_t p, std::uint32_t sub, engine::rng& rand,
                                        std::uint32_t& changed) {
  changed = 0;
  const auto cands = candidates(p, sub);
  if (cands.empty()) return broker::no_agent;
  // Candidates are judged on the pattern, or on the sub-pattern when a sub-specialist covers it.
  const bool fine = sub != 0 && std::any_of(cands.begin(), cands.end(), [&](broker::agent_id id) {
                      return routes_.at(id).covers.count(sub) != 0;
                    });
  const std::uint32_t key = fine ? sub : p;
  const auto stats = [&](broker::agent_id id) -> outcome_stats& {
    return routes_.at(id).by_pattern[key];
  };
  broker::agent_id chosen = broker::no_agent;
  for (const auto id : cands) {
    if (stats(id).assigned < policy_.routing.min_trials) {
      chosen = id;
      break;
    }
  }
  if (chosen == broker::no_agent && rand.bernoulli(policy_.routing.epsilon)) {
    chosen = cands[rand.below(cands.size())];
  }
  if (chosen == broker::no_agent) {
    broker::agent_id cheapest = broker::no_agent, best = broker::no_agent;
    double cheapest_cost = 0, best_quality = -1;
    for (const auto id : cands) {
      const auto& s = stats(id);
      if (s.n == 0) continue;
      if (s.mean_quality() >= policy_.routing.quality_target &&
          (cheapest == broker::no_agent || s.mean_cost() < cheapest_cost)) {
        cheapest = id;
        cheapest_cost = s.mean_cost();
      }
      if (s.mean_quality() > best_quality) {
        best_quality = s.mean_quality();
        best = id;
      }
    }
    chosen = cheapest != broker::no_agent ? cheapest : best;
    if (chosen == broker::no_agent) chosen = cands.front();  // nothing back yet
    // Hysteresis: the preferred route keeps its place while it meets the target and is not
    // beaten on cost by more than switch_margin, so near-equal routes do not flap.
    if (const auto it = preferred_.find(key);
        it != preferred_.end() && it->second != chosen && cheapest != broker::no_agent &&
        std::find(cands.begin(), cands.end(), it->second) != cands.end()) {
      const auto& s = stats(it->second);
      if (s.n > 0 && s.mean_quality() >= policy_.routing.quality_target &&
          s.mean_cost() <= cheapest_cost * (1 + policy_.routing.switch_margin)) {
        chosen = it->second;
      }
    }
    const auto [it, fresh] = preferred_.try_emplace(key, chosen);
    if (!fresh && it->second != chosen) {
      changed = key;
      it->second = chosen;
    }
  }
  ++routes_.at(chosen).by_pattern[p].assigned;
  if (sub != 0) ++routes_.at(chosen).by_pattern[sub].assigned;
  ++routes_.at(chosen).in_flight;
  return chosen;
}

object organizer_core::preference(std::uint32_t p) const {
  object o;
  const auto it = preferred_.find(p);
  if (it == preferred_.end()) return o;
  const auto r = routes_.find(it->second);
  if (r == routes_.end()) return o;
  const auto s = r->second.by_pattern.find(p);
  o["pattern"] = patterns_.label(p);
  o["to"] = broker::raw(r->first);
  o["to_name"] = r->second.name;
  if (s != r->second.by_pattern.end()) {
    o["observed_quality"] = s->second.mean_quality();
    o["mean_cost"] = s->second.mean_cost();
    o["results"] = s->second.n;
  }
  o["quality_target"] = policy_.routing.quality_target;
  return o;
}

void organizer_core::record(broker::agent_id id, std::uint32_t p, std::uint32_t sub, bool ok,
                            double confidence, double cost, sim_time latency) {
  route* r = find(id);
  if (r == nullptr) return;
  if (r->in_flight > 0) --r->in_flight;
  const outcome_stats one{0, 1, ok ? confidence : 0.0, cost, seconds(latency)};
  r->window.add(one);
  r->overall.add(one);
  for (const auto key : {p, sub}) {
    if (key == 0) continue;
    auto& s = r->by_pattern[key];
    ++s.n;
    s.quality += ok ? confidence : 0.0;
    s.cost += cost;
    s.latency += seconds(latency);
  }
}

void organizer_core::seat(const std::vector<broker::agent_id>& members) {
  for (const auto m : members) {
    if (route* r = find(m)) ++r->in_flight;
  }
}

void organizer_core::unseat(const std::vector<broker::agent_id>& members) {
  for (const auto m : members) {
    route* r = find(m);
    if (r != nullptr && r->in_flight > 0) --r->in_flight;
  }
}

void organizer_core::record_committee(const std::vector<broker::agent_id>& members, bool ok,
                                      double confidence, double cost, sim_time latency) {
  committees_.add({0, 1, ok ? confidence : 0.0, cost, seconds(latency)});
  for (const auto m : members) {
    route* r = find(m);
    if (r == nullptr) continue;
    if (r->in_flight > 0) --r->in_flight;
    ++r->window_seats;
  }
}

double organizer_core::best_quality(std::uint32_t p, std::uint64_t& trials) const {
  double best = -1;
  trials = 0;
  for (const auto& [id, r] : routes_) {
    if (r.retiring) continue;
    const auto it = r.by_pattern.find(p);
    if (it == r.by_pattern.end() || it->second.n < policy_.routing.min_trials) continue;
    trials = std::max(trials, it->second.n);
    best = std::max(best, it->second.mean_quality());
  }
  return best;
}

std::optional<std::size_t> organizer_core::pick_backend(std::uint32_t p, std::string& why) const {
  const std::string domain = patterns_.at(p).main_domain();
  // What each backend has shown on this pattern, over every route that uses it.
  std::map<std::string, outcome_stats> shown;
  for (const auto& [id, r] : routes_) {
    // A retiring route's results are in tried_ already (or moved to its heir).
    if (r.retiring || r.backend.empty() || r.kind != "specialist") continue;
    const auto it = r.by_pattern.find(p);
    if (it != r.by_pattern.end()) shown[r.backend].add(it->second);
  }
  for (const auto& [name, s] : tried_) {
    if (name.first == p) shown[name.second].add(s);
  }
  std::optional<std::size_t> met, untried;
  double met_cost = 0, untried_skill = -1, untried_cost = 0;
  for (std::size_t i = 0; i < backends_.size(); ++i) {
    const auto& b = backends_[i];
    if (!policy_.spawn.backends.empty() &&
        std::find(policy_.spawn.backends.begin(), policy_.spawn.backends.end(), b.name) ==
            policy_.spawn.backends.end()) {
      continue;
    }
    const auto it = shown.find(b.name);
    const bool judged = it != shown.end() && it->second.n >= policy_.routing.min_trials;
    const double skill = skill_in(b.profile, domain);
    const double cost = b.call_cost();
    if (policy_.spawn.backend == "cheapest") {
      if (!judged && (!untried || cost < untried_cost)) {
        untried = i;
        untried_cost = cost;
      }
      continue;
    }
    if (policy_.spawn.backend == "best_declared_skill") {
      if (!judged && (skill > untried_skill || (skill == untried_skill && cost < untried_cost))) {
        untried = i;
        untried_skill = skill;
        untried_cost = cost;
      }
      continue;
    }
    if (judged) {
      if (it->second.mean_quality() >= policy_.routing.quality_target &&
          (!met || cost < met_cost)) {
        met = i;
        met_cost = cost;
      }
    } else if (skill > untried_skill || (skill == untried_skill && cost < untried_cost)) {
      untried = i;
      untried_skill = skill;
      untried_cost = cost;
    }
  }
  if (met) {
    why = "the cheapest backend that met the quality target on this pattern";
    return met;
  }
  if (untried) {
    why = policy_.spawn.backend == "cheapest"
              ? "the cheapest backend not yet judged on this pattern"
              : "the untried backend with the highest declared skill in " + domain;
    return untried;
  }
  why = "every candidate backend has been judged on this pattern and none met the target";
  return std::nullopt;
}

std::optional<spawn_decision> organizer_core::consider_spawn(std::uint32_t p, std::uint32_t sub,
                                                             sim_time now) {
  if (!policy_.spawn.enabled) return std::nullopt;
  // A sub-pattern gets its own specialist only under a specialist that covers its pattern.
  const route* above = coverer(p);
  const std::uint32_t target = above != nullptr ? sub : p;
  const std::uint32_t depth = above != nullptr ? above->depth + 1 : 1;
  if (target == 0 || depth > policy_.spawn.max_depth) return std::nullopt;
  if (coverer(target) != nullptr || pending_.count(target) != 0) return std::nullopt;
  if (specialists() + pending_.size() >= policy_.spawn.max_specialists) return std::nullopt;
  if (auto cd = cooldown_until_.find(target); cd != cooldown_until_.end() && now < cd->second) {
    return std::nullopt;
  }
  pattern& pat = patterns_.at(target);
  const std::uint64_t seen = patterns_.seen_within(target, now, policy_.spawn.window);
  if (seen < policy_.spawn.min_seen) return std::nullopt;
  std::uint64_t trials = 0;
  double quality = best_quality(target, trials);
  if (above != nullptr) {
    // A sub-pattern: only when the specialist above has been judged on it and falls short.
    const auto it = above->by_pattern.find(target);
    trials = it != above->by_pattern.end() ? it->second.n : 0;
    if (trials < policy_.routing.min_trials) return std::nullopt;
    quality = it->second.mean_quality();
  }
  if (trials == 0 || quality >= policy_.routing.quality_target) return std::nullopt;
  std::string why;
  const auto backend = pick_backend(target, why);
  if (!backend) {
    // Nothing left to try: wait a cool-down before looking again (results may change).
    cooldown_until_[target] = now + policy_.spawn.cooldown;
    return std::nullopt;
  }
  patterns_.name(target);
  spawn_decision d;
  d.pattern = target;
  d.backend = *backend;
  d.depth = depth;
  d.parent = above != nullptr ? above->id : broker::no_agent;
  std::string stem = pat.name;
  std::replace(stem.begin(), stem.end(), '/', '.');
  std::replace(stem.begin(), stem.end(), '#', '_');
  d.name = stem + "_specialist";
  if (const auto n = ++spawned_names_[d.name]; n > 1) d.name += "_" + std::to_string(n);
  d.reason = "pattern " + pat.name + " seen " + std::to_string(seen) + " times in " +
             format_duration(policy_.spawn.window) + "; no specialist covers it; best quality " +
             fixed(quality, 3) + " < target " + fixed(policy_.routing.quality_target, 3) +
             "; backend " + backends_[*backend].name + ": " + why;
  d.details = {{"pattern", pat.name},
               {"pattern_id", target},
               {"seen", seen},
               {"window", policy_.spawn.window},
               {"best_quality", quality},
               {"quality_target", policy_.routing.quality_target},
               {"results", trials},
               {"backend", backends_[*backend].name},
               {"backend_call_cost", backends_[*backend].call_cost()},
               {"depth", depth},
               {"patterns", boost::json::array{boost::json::value(pat.name)}}};
  if (above != nullptr) {
    d.details["parent_specialist"] = broker::raw(above->id);
    d.details["parent_name"] = above->name;
  }
  return d;
}

void organizer_core::spawned(const spawn_decision& d, broker::agent_id id, sim_time now) {
  pending_.erase(d.pattern);
  cooldown_until_[d.pattern] = now + policy_.spawn.cooldown;
  if (id == broker::no_agent) return;
  route r;
  r.id = id;
  r.name = d.name;
  r.kind = "specialist";
  r.backend = backends_.at(d.backend).name;
  r.signature = "specialist|" + r.backend + "|";
  r.born = now;
  r.parent = d.parent;
  r.depth = d.depth;
  r.covers.insert(d.pattern);
  add_route(std::move(r));
}

std::vector<broker::agent_id> organizer_core::committee_for(std::uint32_t p,
                                                            const std::string& domain) const {
  struct seat {
    double score;
    broker::agent_id id;
    std::string backend;
  };
  std::vector<seat> seats;
  for (const auto& [id, r] : routes_) {
    if (r.retiring || r.backend.empty() || r.kind != "specialist") continue;
    const auto it = r.by_pattern.find(p);
    double score = 0;
    if (it != r.by_pattern.end() && it->second.n > 0) {
      score = it->second.mean_quality();
    } else {
      const auto b = std::find_if(backends_.begin(), backends_.end(),
                                  [&](const backend_ref& x) { return x.name == r.backend; });
      score = b != backends_.end() ? skill_in(b->profile, domain) : 0;
    }
    seats.push_back({score, id, r.backend});
  }
  std::stable_sort(seats.begin(), seats.end(),
                   [](const seat& a, const seat& b) { return a.score > b.score; });
  std::vector<broker::agent_id> out;
  std::set<std::string> backends;
  for (const auto& s : seats) {
    if (out.size() >= policy_.committee.max_size) break;
    if (backends.insert(s.backend).second) out.push_back(s.id);  // distinct specialties
  }
  if (out.size() < policy_.committee.min_size) out.clear();
  return out;
}

bool organizer_core::dominated(const route& r, object& numbers) const {
  bool any = false;
  for (const auto& [p, s] : r.by_pattern) {
    // Judged on top-level patterns: sub-patterns hold too few results to compare fairly.
    if (p == 0 || patterns_.at(p).parent != 0 || s.n < policy_.routing.min_trials) continue;
    bool beaten = false;
    for (const auto& [id, rival] : routes_) {
      if (id == r.id || rival.retiring || pruning_.count(id) != 0) continue;
      const auto it = rival.by_pattern.find(p);
      if (it == rival.by_pattern.end() || it->second.n < policy_.routing.min_trials) continue;
      const auto& o = it->second;
      const double m = 1 + policy_.prune.cost_margin;
      const bool no_better = s.mean_quality() <= o.mean_quality() + policy_.prune.quality_margin;
      // One-sided: dearer by the margin and not faster, or slower by the margin and not
      // cheaper; so two routes can never each dominate the other.
      const bool dearer = s.mean_cost() > o.mean_cost() * m && s.mean_latency() >= o.mean_latency();
      const bool slower = s.mean_latency() > o.mean_latency() * m && s.mean_cost() >= o.mean_cost();
      if (no_better && (dearer || slower)) {
        beaten = true;
        if (!numbers.contains("rival")) {
          numbers["pattern"] = patterns_.label(p);
          numbers["rival"] = broker::raw(id);
          numbers["rival_name"] = rival.name;
          numbers["quality"] = s.mean_quality();
          numbers["rival_quality"] = o.mean_quality();
          numbers["cost"] = s.mean_cost();
          numbers["rival_cost"] = o.mean_cost();
          numbers["latency_s"] = s.mean_latency();
          numbers["rival_latency_s"] = o.mean_latency();
        }
        break;
      }
    }
    if (!beaten) return false;
    any = true;
  }
  return any;
}

bool organizer_core::twins(const route& a, const route& b, object& numbers) const {
  // Twins share a backend: merging two backends would blend their results under one name.
  if (a.backend != b.backend) return false;
  double overlap = -1;
  std::uint32_t pa = 0, pb = 0;
  for (const auto x : a.covers) {
    for (const auto y : b.covers) {
      // Only top-level patterns: a sub-pattern is close to its parent by construction, and
      // merging a sub-specialist back into its parent would undo the spawn for good.
      if (patterns_.at(x).parent != 0 || patterns_.at(y).parent != 0) continue;
      const double sim = patterns_.similarity(x, y);
      if (sim > overlap) {
        overlap = sim;
        pa = x;
        pb = y;
      }
    }
  }
  if (overlap >= policy_.merge.similarity) {
    numbers = {{"similarity", overlap},
               {"threshold", policy_.merge.similarity},
               {"pattern", patterns_.at(pa).name},
               {"other_pattern", patterns_.at(pb).name}};
    return true;
  }
  // Same kind, backend and links (or the same domain for specialists), and similar results.
  const bool alike = a.signature == b.signature && (a.general == b.general) &&
                     (a.general || (!a.covers.empty() && !b.covers.empty() &&
                                    patterns_.at(*a.covers.begin()).main_domain() ==
                                        patterns_.at(*b.covers.begin()).main_domain()));
  if (!alike) return false;
  const auto ta = a.overall, tb = b.overall;
  if (ta.n < policy_.routing.min_trials || tb.n < policy_.routing.min_trials) return false;
  const double gap = std::abs(ta.mean_quality() - tb.mean_quality());
  if (gap > policy_.merge.tolerance) return false;
  numbers = {{"quality", ta.mean_quality()},
             {"other_quality", tb.mean_quality()},
             {"tolerance", policy_.merge.tolerance},
             {"signature", a.signature}};
  return true;
}

analysis_report organizer_core::analyze(sim_time now) {
  analysis_report rep;
  outcome_stats all;
  std::uint64_t busy = 0, active = 0;
  for (const auto& [id, r] : routes_) all.add(r.window);
  all.add(committees_);  // committee results count once, as the task's
  all.add(departed_);    // results of routes stopped since the last analysis
  const std::uint64_t window = all.n;
  for (const auto& [id, r] : routes_) {
    if (r.retiring) continue;
    ++active;
    if (window > 0 &&
        double(r.window.n + r.window_seats) >= policy_.prune.min_share * double(window)) {
      ++busy;
    }
  }
  rep.tasks = window;
  rep.quality = all.mean_quality();
  rep.cost_per_task = all.mean_cost();
  rep.utilization = active > 0 ? double(busy) / double(active) : 0;
  rep.efficiency =
      rep.quality * rep.utilization / (1 + rep.cost_per_task / policy_.analysis.cost_scale);

  std::set<broker::agent_id>& taken = pruning_;
  taken.clear();
  auto generals = std::count_if(routes_.begin(), routes_.end(), [](const auto& e) {
    return e.second.general && !e.second.retiring;
  });
  // Prune: idle or dominated, for `consecutive` analyses in a row. Idleness is judged first, on
  // its own, so an idle route is no one's rival; dominance then, in id order, against rivals
  // not already recommended for pruning.
  const auto eligible = [&](const route& r) {
    return policy_.prune.enabled && !r.shared && now - r.born >= policy_.prune.min_lifetime &&
           !(r.general && generals <= 1);  // someone must take what nobody covers
  };
  const auto recommend = [&](route& r, bool beaten, object numbers) {
    recommendation rec;
    rec.target = r.id;
    const bool pathway = r.kind != "specialist";
    rec.action = pathway && beaten ? "simplify" : "prune";
    const double share = window > 0 ? double(r.window.n) / double(window) : 0;
    if (beaten) {
      rec.reason = (pathway ? "pathway " : "") + r.name + " is dominated on every pattern it " +
                   "serves: on " + std::string(numbers.at("pattern").as_string()) + " quality " +
                   fixed(numbers.at("quality").as_double()) + " vs " +
                   fixed(numbers.at("rival_quality").as_double()) + ", cost " +
                   fixed(numbers.at("cost").as_double(), 4) + " vs " +
                   fixed(numbers.at("rival_cost").as_double(), 4) + ", latency " +
                   fixed(numbers.at("latency_s").as_double()) + "s vs " +
                   fixed(numbers.at("rival_latency_s").as_double()) + "s (" +
                   std::string(numbers.at("rival_name").as_string()) + ")";
      rec.details = std::move(numbers);
    } else {
      rec.reason = r.name + " carried " + fixed(100 * share) + "% of the traffic (under " +
                   fixed(100 * policy_.prune.min_share) + "%) for " +
                   std::to_string(r.low_share_streak) + " analyses in a row";
    }
    rec.details["share"] = share;
    rec.details["window_results"] = r.window.n;
    rec.details["window_total"] = window;
    rec.details["age"] = now - r.born;
    rec.details["streak"] = beaten ? r.dominated_streak : r.low_share_streak;
    taken.insert(r.id);
    if (r.general) --generals;
    rep.recommendations.push_back(std::move(rec));
  };
  for (auto& [id, r] : routes_) {
    if (r.retiring) continue;
    // Idle: under min_share of a window big enough for the share to mean something.
    const double served = double(r.window.n + r.window_seats);
    const bool idle = policy_.prune.min_share > 0 &&
                      double(window) * policy_.prune.min_share >= 1 &&
                      served < policy_.prune.min_share * double(window);
    r.low_share_streak = idle ? r.low_share_streak + 1 : 0;
    if (r.low_share_streak >= policy_.prune.consecutive && eligible(r)) recommend(r, false, {});
  }
  for (auto& [id, r] : routes_) {
    if (r.retiring || taken.count(id) != 0) continue;
    object numbers;
    const bool beaten = dominated(r, numbers);
    r.dominated_streak = beaten ? r.dominated_streak + 1 : 0;
    if (r.dominated_streak >= policy_.prune.consecutive && eligible(r)) {
      recommend(r, true, std::move(numbers));
    }
  }
  // Spawn: patterns seen in the window that nothing covers and no route handles well. Spawns
  // themselves happen as tasks arrive; the analysis names what is missing (and is the only
  // place it shows when spawning is off).
  for (const auto& pat : patterns_.all()) {
    if (!pat.detected || pat.parent != 0 || coverer(pat.id) != nullptr) continue;
    const auto seen = patterns_.seen_within(pat.id, now, policy_.spawn.window);
    std::uint64_t trials = 0;
    const double quality = best_quality(pat.id, trials);
    if (seen < policy_.spawn.min_seen || trials == 0 || quality >= policy_.routing.quality_target) {
      continue;
    }
    recommendation rec;
    rec.action = "spawn";
    rec.reason = "pattern " + pat.name + " seen " + std::to_string(seen) + " times in " +
                 format_duration(policy_.spawn.window) + " and no specialist covers it; best " +
                 "quality " + fixed(quality, 3) + " < target " +
                 fixed(policy_.routing.quality_target, 3);
    rec.details = {{"pattern", pat.name}, {"seen", seen}, {"best_quality", quality}};
    rep.recommendations.push_back(std::move(rec));
  }
  // Merge: twins, each route in at most one merge per analysis.
  if (policy_.merge.enabled) {
    for (auto a = routes_.begin(); a != routes_.end(); ++a) {
      if (a->second.retiring || taken.count(a->first) != 0) continue;
      if (now - a->second.born < policy_.merge.min_lifetime) continue;
      for (auto b = std::next(a); b != routes_.end(); ++b) {
        if (b->second.retiring || taken.count(b->first) != 0) continue;
        if (now - b->second.born < policy_.merge.min_lifetime) continue;
        object numbers;
        if (!twins(a->second, b->second, numbers)) continue;
        // The heir is the busier one (ties: the older, i.e. the lower id); shared agents stay.
        const route* heir = &a->second;
        const route* other = &b->second;
        if (b->second.overall.n > a->second.overall.n) std::swap(heir, other);
        if (other->shared) std::swap(heir, other);
        if (other->shared) continue;
        recommendation rec;
        rec.action = "merge";
        rec.target = other->id;
        rec.heir = heir->id;
        rec.reason = other->name + " and " + heir->name + " are twins (" +
                     (numbers.contains("similarity")
                          ? "pattern similarity " + fixed(numbers.at("similarity").as_double())
                          : "same kind, backend and links; quality " +
                                fixed(numbers.at("quality").as_double()) + " vs " +
                                fixed(numbers.at("other_quality").as_double())) +
                     "); " + heir->name + " takes over";
        rec.details = std::move(numbers);
        rec.details["heir_results"] = heir->overall.n;
        rec.details["absorbed_results"] = other->overall.n;
        taken.insert(heir->id);
        taken.insert(other->id);
        rep.recommendations.push_back(std::move(rec));
        break;
      }
    }
  }
  // A new window.
  for (auto& [id, r] : routes_) {
    r.window = {};
    r.window_seats = 0;
  }
  committees_ = {};
  departed_ = {};
  return rep;
}

void organizer_core::retire(broker::agent_id id, broker::agent_id heir, std::string reason,
                            object details, sim_time now) {
  route* r = find(id);
  if (r == nullptr || r->retiring) return;
  r->retiring = true;
  r->heir = heir;
  r->retire_reason = std::move(reason);
  r->retire_details = std::move(details);
  for (const auto p : r->covers) cooldown_until_[p] = now + policy_.spawn.cooldown;
  // Its results stay attributable to its backend, so the next spawn for its patterns does not
  // pick a backend that was already judged.
  if (r->kind == "specialist" && !r->backend.empty() && find(heir) == nullptr) {
    for (const auto& [p, s] : r->by_pattern) tried_[{p, r->backend}].add(s);
  }
  if (route* h = find(heir); h != nullptr) {
    h->covers.insert(r->covers.begin(), r->covers.end());
    for (const auto& [p, s] : r->by_pattern) h->by_pattern[p].add(s);
    h->overall.add(r->overall);
    h->window.add(r->window);
    h->window_seats += r->window_seats;
    r->window = {};
    r->window_seats = 0;
    r->covers.clear();
    r->by_pattern.clear();
  }
  for (auto& [p, pref] : preferred_) {
    if (pref == id) pref = heir;
  }
}

}  // namespace colony::agents
