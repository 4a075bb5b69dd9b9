#pragma once
/// The organizer's decisions, apart from the actor that carries them out: online clustering of
/// tasks into patterns, routing among the organizer's routes, and the structural decisions
/// (spawn, prune, merge, committees) with the numbers behind each. Everything here is pure and
/// deterministic, so the decisions can be tested without a runtime; docs/model.md gives every
/// formula with the policy field that controls it.
#include <boost/json/object.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "colony/agents/backend.hpp"
#include "colony/agents/kinds.hpp"
#include "colony/base/time.hpp"
#include "colony/broker/ids.hpp"
#include "colony/engine/rng.hpp"
#include "colony/memory/embedder.hpp"

namespace colony::agents {

/// The sections of a scenario's `policies`, described like a kind's parameters so that the
/// loader checks them and fills in defaults: patterns, routing, spawn, prune, merge, committee,
/// analysis. `spawn.specialist` holds the parameters of the specialists spawned (the specialist
/// kind's, checked as such).
[[nodiscard]] const std::vector<kind_spec>& policy_sections();

/// The policies, read from the loader's filled-in `policies` object.
struct organizer_policy {
  struct {
    double threshold = 0.5;  ///< cosine similarity to join a pattern
    std::size_t dimension = 256;
    std::size_t max_patterns = 1000;    ///< top-level patterns at most; then tasks join the nearest
    std::size_t max_sub_patterns = 50;  ///< sub-patterns per pattern at most
  } patterns;
  struct {
    double quality_target = 0.75;  ///< mean observed quality a route must reach
    std::uint64_t min_trials = 5;  ///< results per (route, pattern) before judging it
    double epsilon = 0.05;         ///< share of tasks sent to a random candidate
    double switch_margin = 0.05;   ///< a cheaper route must be this much cheaper to take over
  } routing;
  struct {
    bool enabled = true;
    std::uint64_t min_seen = 10;  ///< tasks of a pattern within `window` before a spawn
    sim_time window = hour;
    sim_time cooldown = 2 * hour;  ///< after a spawn or prune for a pattern
    std::uint64_t max_specialists = 20;
    std::uint32_t max_depth = 2;  ///< 1: specialists only; 2: sub-specialists too
    double sub_threshold = 0.8;   ///< similarity within a sub-pattern
    std::string backend = "cheapest_meeting_target";
    std::vector<std::string> backends;  ///< candidates (empty: every backend)
    boost::json::object specialist;     ///< parameters of the specialists spawned
  } spawn;
  struct {
    bool enabled = true;
    double min_share = 0.01;  ///< of the window's tasks
    sim_time min_lifetime = 6 * hour;
    double quality_margin = 0.02;
    double cost_margin = 0.1;
    std::uint32_t consecutive = 2;  ///< analyses in a row the condition must hold
  } prune;
  struct {
    bool enabled = true;
    double similarity = 0.85;
    double tolerance = 0.05;
    sim_time min_lifetime = 2 * hour;
  } merge;
  struct {
    bool enabled = true;
    double complexity = 0.7;
    std::uint32_t min_size = 3, max_size = 5;
    std::uint32_t rounds = 1;
    double discussion_gain = 0.1;
    double gate = 0.6;
    std::uint32_t max_revisions = 1;
    sim_time timeout = 10 * minute;
    double control_share = 0;
    std::uint32_t pool = 0;     ///< standing committees kept per pattern (0: none)
    sim_time pool_idle = hour;  ///< a standing committee idle this long stands down
  } committee;
  struct {
    sim_time every = 6 * hour;
    std::uint64_t every_tasks = 0;
    bool apply = true;
    double cost_scale = 0.01;
  } analysis;

  /// From a `policies` object as the loader fills it in (every section present, durations in
  /// microseconds). Missing sections or fields keep the defaults above.
  [[nodiscard]] static organizer_policy from_json(const boost::json::object& policies);
};

/// A task's pattern: a cluster of similar task texts, found online.
struct pattern {
  std::uint32_t id = 0;
  std::uint32_t parent = 0;  ///< the pattern it refines (sub-patterns), 0 for a top pattern
  std::vector<float> sum;    ///< sum of the members' embeddings (the centroid, unnormalized)
  double norm = 0;           ///< |sum|, kept with it
  std::uint64_t seen = 0;
  std::deque<sim_time> recent;                    ///< arrival times within the spawn window
  std::map<std::string, std::uint64_t> families;  ///< task families of the members
  std::map<std::string, std::uint64_t> domains;
  std::string name;  ///< set when detected: its main family ("statistical_data", "legal#2")
  bool detected = false;

  [[nodiscard]] std::string main_domain() const;
  [[nodiscard]] std::string main_family() const;
};

/// Leader clustering of task texts: a task joins the most similar pattern when the cosine
/// similarity to its centroid reaches the threshold, and otherwise starts a new one. Within a
/// pattern, the same is done with `sub_threshold` for sub-patterns.
class pattern_book {
 public:
  /// At most `max_top` patterns and `max_sub` sub-patterns per pattern: past them a task joins
  /// the nearest one whatever its similarity, so a run's cost per task stays bounded.
  pattern_book(double threshold, double sub_threshold, std::size_t dimension,
               std::size_t max_top = 1000, std::size_t max_sub = 50);

  /// The (pattern, sub-pattern) of a task; both counted.
  struct placement {
    std::uint32_t top = 0;
    std::uint32_t sub = 0;
  };
  placement assign(std::string_view text, const std::string& family, const std::string& domain,
                   sim_time now, sim_time window);

  [[nodiscard]] pattern& at(std::uint32_t id) { return patterns_.at(id - 1); }
  [[nodiscard]] const pattern& at(std::uint32_t id) const { return patterns_.at(id - 1); }
  [[nodiscard]] const std::vector<pattern>& all() const noexcept { return patterns_; }
  /// Tasks of `id` that arrived within `window` before `now`.
  [[nodiscard]] std::uint64_t seen_within(std::uint32_t id, sim_time now, sim_time window);
  /// Cosine similarity of two patterns' centroids.
  [[nodiscard]] double similarity(std::uint32_t a, std::uint32_t b) const;
  /// Names pattern `id` after its main family, unique among detected patterns.
  void name(std::uint32_t id);
  /// Its name, or "#<id>" while it has none: how events refer to a pattern.
  [[nodiscard]] std::string label(std::uint32_t id) const;

 private:
  std::uint32_t place(std::span<const float> v, std::uint32_t parent, double threshold);

  memory::hashing_embedder embedder_;
  double threshold_, sub_threshold_;
  std::size_t max_top_, max_sub_;
  std::vector<pattern> patterns_;                  // id = index + 1
  std::map<std::uint32_t, std::size_t> children_;  // patterns per parent (0: top level)
  std::vector<float> scratch_;
};

/// Observed outcomes: sums, so that merging two is adding them.
struct outcome_stats {
  std::uint64_t assigned = 0;  ///< tasks sent
  std::uint64_t n = 0;         ///< results (or timeouts) received
  double quality = 0;          ///< sum of stated confidences (failures count 0)
  double cost = 0;
  double latency = 0;  ///< sum, in seconds

  void add(const outcome_stats& o);
  [[nodiscard]] double mean_quality() const { return n > 0 ? quality / double(n) : 0; }
  [[nodiscard]] double mean_cost() const { return n > 0 ? cost / double(n) : 0; }
  [[nodiscard]] double mean_latency() const { return n > 0 ? latency / double(n) : 0; }
};

/// One of the organizer's routes: a link from the scenario, or a specialist it spawned.
struct route {
  broker::agent_id id{};
  std::string name, kind, backend;
  std::string signature;  ///< kind, backend and links: equal signatures are structural twins
  bool general = false;   ///< a scenario link: may take any pattern
  bool shared = false;    ///< other agents link to it: never stopped
  sim_time born = 0;
  broker::agent_id parent = broker::no_agent;  ///< for a sub-specialist: the specialist above
  std::uint32_t depth = 0;                     ///< 0 general, 1 specialist, 2 sub-specialist...
  std::set<std::uint32_t> covers;              ///< patterns it is for
  bool retiring = false;                       ///< no new work; stopped once drained
  broker::agent_id heir = broker::no_agent;
  std::string retire_reason;
  boost::json::object retire_details;
  std::uint64_t in_flight = 0;
  std::map<std::uint32_t, outcome_stats> by_pattern;  ///< patterns and sub-patterns
  outcome_stats overall;                              ///< every result, since born (or merged)
  outcome_stats window;                               ///< results in the current analysis window
  std::uint64_t window_seats = 0;  ///< committee seats it filled in the window (counts as work)
  std::uint32_t low_share_streak = 0, dominated_streak = 0;
};

struct spawn_decision {
  std::uint32_t pattern = 0;
  std::size_t backend = 0;  ///< index into the organizer's backends
  broker::agent_id parent = broker::no_agent;
  std::uint32_t depth = 1;
  std::string name;
  std::string reason;
  boost::json::object details;
};

struct recommendation {
  std::string action;  ///< "prune", "simplify" (prune a multi-hop pathway) or "merge"
  broker::agent_id target{};
  broker::agent_id heir = broker::no_agent;  ///< merge: who takes over
  std::string reason;
  boost::json::object details;
};

struct analysis_report {
  double efficiency = 0;
  double quality = 0, cost_per_task = 0, utilization = 0;
  std::uint64_t tasks = 0;  ///< results in the window
  std::vector<recommendation> recommendations;
};

/// The organizer's state and decisions.
class organizer_core {
 public:
  organizer_core(organizer_policy p, std::vector<backend_ref> backends);

  [[nodiscard]] const organizer_policy& policy() const noexcept { return policy_; }
  [[nodiscard]] pattern_book& patterns() noexcept { return patterns_; }
  [[nodiscard]] const pattern_book& patterns() const noexcept { return patterns_; }
  [[nodiscard]] const std::vector<backend_ref>& backends() const noexcept { return backends_; }
  [[nodiscard]] const std::map<broker::agent_id, route>& routes() const noexcept { return routes_; }
  [[nodiscard]] route* find(broker::agent_id id);

  void add_route(route r);

  /// Places a task; returns its placement. When a pattern is seen min_seen times within the
  /// spawn window for the first time, it is named and `detected` is set (the caller logs it).
  pattern_book::placement observe(std::string_view text, const std::string& family,
                                  const std::string& domain, sim_time now);

  /// The route for a task of pattern `p` (sub-pattern `sub`): candidates are the routes that
  /// cover p or sub and the general routes. Each is tried min_trials times; then an epsilon
  /// share goes to a random candidate; otherwise the cheapest candidate meeting the quality
  /// target, or the best one; a preferred route keeps its place while it meets the target and
  /// costs at most switch_margin more. `changed` is set to the pattern whose preferred route
  /// changed (0: none).
  broker::agent_id choose(std::uint32_t p, std::uint32_t sub, engine::rng& r,
                          std::uint32_t& changed);
  /// The preferred route for pattern `p` with its numbers, for a route_changed event.
  [[nodiscard]] boost::json::object preference(std::uint32_t p) const;

  /// A result (ok or not) of a task of pattern p (and sub-pattern sub) sent to `id`.
  void record(broker::agent_id id, std::uint32_t p, std::uint32_t sub, bool ok, double confidence,
              double cost, sim_time latency);

  /// A committee with these members formed: each has one more task in flight (a route is not
  /// stopped while a committee waits on it).
  void seat(const std::vector<broker::agent_id>& members);
  /// Undoes seat() for a committee that could not form.
  void unseat(const std::vector<broker::agent_id>& members);
  /// The committee's result: counted in the analysis window once, and as a seat for each
  /// member (so that committee work keeps a member from looking idle).
  void record_committee(const std::vector<broker::agent_id>& members, bool ok, double confidence,
                        double cost, sim_time latency);

  /// Whether to spawn for pattern `p` (or sub-pattern `sub`) now.
  std::optional<spawn_decision> consider_spawn(std::uint32_t p, std::uint32_t sub, sim_time now);
  /// The spawn for `pattern` was asked for; `spawned` then adds its route.
  void spawn_pending(std::uint32_t pattern) { pending_.insert(pattern); }
  void spawned(const spawn_decision& d, broker::agent_id id, sim_time now);

  /// Committee members for a task of pattern p: routes with distinct backends, best first
  /// (observed quality on p, or the backend's declared skill in the domain before any); empty
  /// when fewer than committee.min_size qualify.
  [[nodiscard]] std::vector<broker::agent_id> committee_for(std::uint32_t p,
                                                            const std::string& domain) const;

  /// The self-analysis of the window that ends now; resets the window.
  analysis_report analyze(sim_time now);

  /// Stops sending work to `id`; with an heir, the heir takes its patterns and statistics.
  void retire(broker::agent_id id, broker::agent_id heir, std::string reason,
              boost::json::object details, sim_time now);
  /// Forgets a route that was stopped (its results of the window still count in the analysis).
  void remove(broker::agent_id id) {
    if (const auto it = routes_.find(id); it != routes_.end()) {
      departed_.add(it->second.window);
      routes_.erase(it);
    }
  }

  /// Specialists alive (spawned, not retiring).
  [[nodiscard]] std::size_t specialists() const;

 private:
  std::vector<broker::agent_id> candidates(std::uint32_t p, std::uint32_t sub) const;
  [[nodiscard]] const route* coverer(std::uint32_t p) const;
  [[nodiscard]] double best_quality(std::uint32_t p, std::uint64_t& trials) const;
  std::optional<std::size_t> pick_backend(std::uint32_t p, std::string& why) const;
  bool dominated(const route& r, boost::json::object& numbers) const;
  [[nodiscard]] bool twins(const route& a, const route& b, boost::json::object& numbers) const;

  organizer_policy policy_;
  std::vector<backend_ref> backends_;
  pattern_book patterns_;
  std::map<broker::agent_id, route> routes_;
  std::map<std::uint32_t, broker::agent_id> preferred_;  // by pattern
  std::map<std::uint32_t, sim_time> cooldown_until_;     // by pattern
  std::set<std::uint32_t> pending_;                      // patterns with a spawn under way
  std::map<std::string, std::uint32_t> spawned_names_;   // name stem -> count
  /// What pruned specialists showed, by (pattern, backend): judged backends stay judged.
  std::map<std::pair<std::uint32_t, std::string>, outcome_stats> tried_;
  outcome_stats committees_;            // committee results in the analysis window
  outcome_stats departed_;              // window results of routes removed since
  std::set<broker::agent_id> pruning_;  // routes the analysis under way recommends pruning
};

}  // namespace colony::agents
