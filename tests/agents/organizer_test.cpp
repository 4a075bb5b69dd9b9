#include "colony/agents/organizer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <map>
#include <set>
#include <sstream>

#include "colony/agents/builtin.hpp"
#include "colony/scenarios/loader.hpp"

namespace colony::agents {
namespace {

using broker::agent_id;

// Three slot fillings of one statistics template (pairwise cosine 0.6-0.7 with the default
// embedder: one pattern, but each its own sub-pattern at 0.8), one of a legal template, and
// two fillings that differ in a single digit (cosine 0.91: one pattern at 0.5, two at 0.95).
constexpr std::string_view stats_texts[] = {
    "Compute the mean of the sales sample with 120 observations",
    "Compute the variance of the clinical sample with 4512 observations",
    "Compute the median of the sensor sample with 37 observations",
};
constexpr std::string_view legal_texts[] = {
    "Review the lease contract for clauses on tenant liability",
    "Review the employment contract for clauses on overtime pay",
};
constexpr std::string_view near_twin = "Compute the mean of the sales sample with 121 observations";

// A policy whose decisions are easy to follow: no exploration, three results to judge a route,
// three tasks in an hour to spawn.
organizer_policy test_policy() {
  organizer_policy p;
  p.routing.min_trials = 3;
  p.routing.epsilon = 0;
  p.spawn.min_seen = 3;
  p.spawn.window = hour;
  p.spawn.cooldown = 30 * minute;
  p.prune.min_lifetime = hour;
  p.merge.min_lifetime = hour;
  return p;
}

// A backend whose declared call costs 0.7 x price (500 tokens in, 200 out, per 1,000).
backend_ref backend(std::string name, double price, std::map<std::string, double> skill) {
  backend_ref b;
  b.name = name;
  b.profile.name = std::move(name);
  b.profile.price_in = price;
  b.profile.price_out = price;
  b.profile.skill = std::move(skill);
  return b;
}

// Backends for the spawn tests, by declared skill in "law": mid and big tie at 0.9 (mid is
// cheaper), general is the generalist's own, other is good at something else.
std::vector<backend_ref> law_backends() {
  return {backend("general", 0.02, {{"law", 0.6}}), backend("cheap", 0.001, {{"law", 0.5}}),
          backend("big", 0.03, {{"law", 0.9}}), backend("mid", 0.005, {{"law", 0.9}}),
          backend("other", 0.002, {{"statistics", 0.95}})};
}
std::size_t index_of(const organizer_core& core, std::string_view name) {
  const auto& b = core.backends();
  return static_cast<std::size_t>(
      std::find_if(b.begin(), b.end(), [&](const backend_ref& x) { return x.name == name; }) -
      b.begin());
}

route general(std::uint64_t id, std::string signature = "", std::string kind = "router",
              sim_time born = 0) {
  route r;
  r.id = agent_id{id};
  r.name = "general" + std::to_string(id);
  r.kind = std::move(kind);
  r.signature = signature.empty() ? r.name : std::move(signature);
  r.general = true;
  r.born = born;
  return r;
}

route specialist(std::uint64_t id, std::string backend, std::uint32_t covers, sim_time born = 0) {
  route r;
  r.id = agent_id{id};
  r.name = "specialist" + std::to_string(id);
  r.kind = "specialist";
  r.backend = backend;
  r.signature = "specialist|" + backend + "|";
  r.born = born;
  r.depth = 1;
  r.covers.insert(covers);
  return r;
}

// `n` results of route `id` on pattern p (sub-pattern sub), each with the same numbers.
void feed(organizer_core& core, std::uint64_t id, std::uint32_t p, int n, double quality,
          double cost, sim_time latency = sec, std::uint32_t sub = 0) {
  for (int i = 0; i < n; ++i) {
    core.record(agent_id{id}, p, sub, true, quality, cost, latency);
  }
}

// Observes `text` `n` times, a minute apart from `from`; the last placement.
pattern_book::placement observe_n(organizer_core& core, std::string_view text, int n, sim_time from,
                                  const std::string& family = "legal_review",
                                  const std::string& domain = "law") {
  pattern_book::placement at;
  for (int i = 0; i < n; ++i) at = core.observe(text, family, domain, from + i * minute);
  return at;
}

std::vector<std::string> actions_on(const analysis_report& rep, std::uint64_t id) {
  std::vector<std::string> out;
  for (const auto& r : rep.recommendations) {
    if (r.target == agent_id{id}) out.push_back(r.action);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

TEST(PatternBook, SlotVariantsOfOneTemplateJoinOnePattern) {
  pattern_book book(0.5, 0.8, 256);
  const auto a = book.assign(stats_texts[0], "stats", "statistics", 0, hour);
  const auto b = book.assign(stats_texts[1], "stats", "statistics", 0, hour);
  const auto c = book.assign(stats_texts[2], "stats", "statistics", 0, hour);
  EXPECT_EQ(b.top, a.top);
  EXPECT_EQ(c.top, a.top);
  EXPECT_EQ(book.at(a.top).seen, 3u);
  // Slot values differ enough to make sub-patterns of their own.
  EXPECT_NE(a.sub, b.sub);
  EXPECT_EQ(book.at(a.sub).parent, a.top);
  EXPECT_EQ(book.at(b.sub).parent, a.top);

  const auto l1 = book.assign(legal_texts[0], "legal", "law", 0, hour);
  const auto l2 = book.assign(legal_texts[1], "legal", "law", 0, hour);
  EXPECT_NE(l1.top, a.top);
  EXPECT_EQ(l2.top, l1.top);
  EXPECT_EQ(book.at(l1.top).parent, 0u);
  EXPECT_EQ(book.at(l1.top).main_domain(), "law");
  EXPECT_EQ(book.at(a.top).main_family(), "stats");
}

TEST(PatternBook, DetectedAfterMinSeenWithinTheWindow) {
  organizer_core core(test_policy(), {});
  auto at = core.observe(stats_texts[0], "statistical_data", "statistics", 0);
  core.observe(stats_texts[1], "statistical_data", "statistics", 20 * minute);
  EXPECT_FALSE(core.patterns().at(at.top).detected);
  EXPECT_EQ(core.patterns().at(at.top).name, "");
  at = core.observe(stats_texts[2], "statistical_data", "statistics", 40 * minute);
  EXPECT_TRUE(core.patterns().at(at.top).detected);
  EXPECT_EQ(core.patterns().at(at.top).name, "statistical_data");
  // Each text is its own sub-pattern, seen once: not detected.
  EXPECT_FALSE(core.patterns().at(at.sub).detected);
}

TEST(PatternBook, NotDetectedWhenArrivalsAreSpreadWiderThanTheWindow) {
  organizer_core core(test_policy(), {});
  pattern_book::placement at;
  // 40 minutes apart: never three within an hour.
  for (int i = 0; i < 6; ++i) {
    at = core.observe(stats_texts[i % 3], "stats", "statistics", i * 40 * minute);
  }
  EXPECT_EQ(core.patterns().at(at.top).seen, 6u);
  EXPECT_FALSE(core.patterns().at(at.top).detected);
  // 30 minutes apart: the first has left the window (it is half-open) when the third arrives.
  organizer_core edge(test_policy(), {});
  for (int i = 0; i < 3; ++i) at = edge.observe(stats_texts[i], "s", "s", i * 30 * minute);
  EXPECT_FALSE(edge.patterns().at(at.top).detected);
  EXPECT_EQ(edge.patterns().seen_within(at.top, 60 * minute, hour), 2u);
  at = edge.observe(stats_texts[0], "s", "s", 61 * minute);
  EXPECT_TRUE(edge.patterns().at(at.top).detected);
}

TEST(PatternBook, SecondPatternOfAFamilyIsNumbered) {
  organizer_core core(test_policy(), {});
  const auto a = observe_n(core, stats_texts[0], 3, 0, "analysis", "statistics");
  const auto b = observe_n(core, legal_texts[0], 3, 0, "analysis", "law");
  ASSERT_NE(a.top, b.top);
  EXPECT_EQ(core.patterns().at(a.top).name, "analysis");
  EXPECT_EQ(core.patterns().at(b.top).name, "analysis#2");
}

TEST(PatternBook, SubPatternsAreNamedParentSlashFamily) {
  organizer_core core(test_policy(), {});
  // The same text three times, then a variant of its template three times, with another family.
  const auto a = observe_n(core, stats_texts[0], 3, 0, "stats", "statistics");
  const auto b = observe_n(core, stats_texts[1], 3, 10 * minute, "survey", "statistics");
  ASSERT_EQ(a.top, b.top);
  ASSERT_NE(a.sub, b.sub);
  EXPECT_EQ(core.patterns().at(a.top).name, "stats");
  EXPECT_EQ(core.patterns().at(a.sub).name, "stats/stats");
  EXPECT_EQ(core.patterns().at(b.sub).name, "stats/survey");
  EXPECT_EQ(core.patterns().at(b.sub).parent, a.top);
  EXPECT_TRUE(core.patterns().at(b.sub).detected);
}

// ---------------------------------------------------------------------------------------------

TEST(OrganizerRouting, EachCandidateIsTriedMinTrialsTimesFirst) {
  organizer_core core(test_policy(), {});
  const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
  const auto q = core.observe(legal_texts[0], "l", "l", 0).top;
  core.add_route(general(1));
  core.add_route(general(2));
  core.add_route(specialist(3, "m", p));
  core.add_route(specialist(4, "m", q));  // not a candidate for p
  engine::rng rand(1);
  std::vector<std::uint64_t> chosen;
  std::uint32_t changed = 0;
  for (int i = 0; i < 9; ++i) chosen.push_back(broker::raw(core.choose(p, 0, rand, changed)));
  EXPECT_EQ(chosen, (std::vector<std::uint64_t>{1, 1, 1, 2, 2, 2, 3, 3, 3}));
  EXPECT_EQ(core.find(agent_id{1})->by_pattern[p].assigned, 3u);
  EXPECT_EQ(core.find(agent_id{3})->in_flight, 3u);
}

TEST(OrganizerRouting, CheapestRouteMeetingTheTargetWins) {
  organizer_core core(test_policy(), {});
  const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
  for (std::uint64_t id = 1; id <= 3; ++id) core.add_route(general(id));
  feed(core, 1, p, 3, 0.90, 0.030);
  feed(core, 2, p, 3, 0.80, 0.010);
  feed(core, 3, p, 3, 0.70, 0.001);  // cheapest, but below the 0.75 target
  // Results alone do not count as trials: the three are tried first.
  engine::rng rand(1);
  std::uint32_t changed = 0;
  for (int i = 0; i < 9; ++i) core.choose(p, 0, rand, changed);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(core.choose(p, 0, rand, changed), agent_id{2});
}

// Two general routes on one pattern, each tried min_trials (3) times already, so the next
// choice exploits.
struct two_tried_routes {
  two_tried_routes() {
    p = core.observe(stats_texts[0], "s", "s", 0).top;
    core.add_route(general(1));
    core.add_route(general(2));
    for (int i = 0; i < 6; ++i) core.choose(p, 0, rand, changed);
  }
  agent_id choose() { return core.choose(p, 0, rand, changed); }

  organizer_core core{test_policy(), {}};
  std::uint32_t p = 0;
  engine::rng rand{1};
  std::uint32_t changed = 0;
};

TEST(OrganizerRouting, BestQualityWinsWhenNoneMeetsTheTarget) {
  two_tried_routes t;
  feed(t.core, 1, t.p, 3, 0.60, 0.001);
  feed(t.core, 2, t.p, 3, 0.70, 0.050);
  EXPECT_EQ(t.choose(), agent_id{2});
}

TEST(OrganizerRouting, PreferredRouteStaysWithinSwitchMarginAndChangesBeyondIt) {
  two_tried_routes t;  // switch_margin 0.05
  feed(t.core, 1, t.p, 3, 0.9, 0.010);
  feed(t.core, 2, t.p, 3, 0.9, 0.011);
  EXPECT_EQ(t.choose(), agent_id{1});
  EXPECT_EQ(t.changed, 0u);  // the first preference is no change

  // Route 2 becomes 2.5% cheaper: (0.033 + 3 x 0.0085) / 6 = 0.00975.
  feed(t.core, 2, t.p, 3, 0.9, 0.0085);
  ASSERT_NEAR(t.core.find(agent_id{2})->by_pattern[t.p].mean_cost(), 0.00975, 1e-12);
  EXPECT_EQ(t.choose(), agent_id{1});
  EXPECT_EQ(t.changed, 0u);

  // Route 2 becomes 26% cheaper: (0.0585 + 6 x 0.005) / 12 = 0.007375.
  feed(t.core, 2, t.p, 6, 0.9, 0.005);
  EXPECT_EQ(t.choose(), agent_id{2});
  EXPECT_EQ(t.changed, t.p);
  EXPECT_EQ(t.core.preference(t.p).at("to").as_uint64(), 2u);
  EXPECT_EQ(t.choose(), agent_id{2});
  EXPECT_EQ(t.changed, 0u);
}

TEST(OrganizerRouting, PreferredRouteBelowTargetDoesNotHoldOn) {
  two_tried_routes t;
  feed(t.core, 1, t.p, 3, 0.9, 0.010);
  feed(t.core, 2, t.p, 3, 0.9, 0.0101);
  EXPECT_EQ(t.choose(), agent_id{1});
  // Route 1 now misses the target: route 2, barely dearer than it was, takes over.
  feed(t.core, 1, t.p, 6, 0.4, 0.010);
  EXPECT_EQ(t.choose(), agent_id{2});
  EXPECT_EQ(t.changed, t.p);
}

TEST(OrganizerRouting, RetiringRoutesAreNeverChosen) {
  auto policy = test_policy();
  policy.routing.epsilon = 1;  // every choice after the trials is random
  organizer_core core(policy, {});
  const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
  core.add_route(general(1));
  core.add_route(general(2));
  core.add_route(general(3));
  core.retire(agent_id{1}, broker::no_agent, "test", {}, 0);  // before its trials, too
  engine::rng rand(7);
  std::uint32_t changed = 0;
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 200; ++i) seen.insert(broker::raw(core.choose(p, 0, rand, changed)));
  EXPECT_EQ(seen, (std::set<std::uint64_t>{2, 3}));
  EXPECT_EQ(core.find(agent_id{1})->by_pattern[p].assigned, 0u);
}

// ---------------------------------------------------------------------------------------------

// A core with one generalist (a specialist-kind scenario link on the "general" backend) and the
// law backends; `p` is a legal pattern seen three times in the last three minutes.
struct spawn_setup {
  explicit spawn_setup(organizer_policy policy = test_policy())
      : core(std::move(policy), law_backends()) {
    core.add_route(general(1, "", "specialist"));
    core.find(agent_id{1})->backend = "general";
    at = observe_n(core, legal_texts[0], 3, 0);
    p = at.top;
  }
  organizer_core core;
  pattern_book::placement at;
  std::uint32_t p = 0;
  sim_time now = 3 * minute;
};

TEST(OrganizerSpawn, NoSpawnBeforeMinSeenWithinTheWindow) {
  organizer_core core(test_policy(), law_backends());
  core.add_route(general(1));
  auto at = observe_n(core, legal_texts[0], 2, 0);
  feed(core, 1, at.top, 5, 0.4, 0.01);
  EXPECT_FALSE(core.consider_spawn(at.top, at.sub, 2 * minute));
  // A third arrival, but 70 minutes after the first two: still two within the hour.
  at = core.observe(legal_texts[0], "legal_review", "law", 70 * minute);
  EXPECT_FALSE(core.consider_spawn(at.top, at.sub, 70 * minute));
  at = core.observe(legal_texts[0], "legal_review", "law", 71 * minute);
  at = core.observe(legal_texts[0], "legal_review", "law", 72 * minute);
  EXPECT_TRUE(core.consider_spawn(at.top, at.sub, 72 * minute));
}

TEST(OrganizerSpawn, NoSpawnWhenASingleRouteHandlesThePatternWell) {
  spawn_setup s;
  feed(s.core, 1, s.p, 3, 0.80, 0.01);
  EXPECT_FALSE(s.core.consider_spawn(s.p, s.at.sub, s.now));
}

TEST(OrganizerSpawn, NoSpawnBeforeAnyRouteIsJudged) {
  spawn_setup s;
  feed(s.core, 1, s.p, 2, 0.1, 0.01);  // min_trials is 3
  EXPECT_FALSE(s.core.consider_spawn(s.p, s.at.sub, s.now));
}

TEST(OrganizerSpawn, SpawnsOnTheUntriedBackendWithTheBestDeclaredSkill) {
  spawn_setup s;
  feed(s.core, 1, s.p, 3, 0.5, 0.01);
  const auto d = s.core.consider_spawn(s.p, s.at.sub, s.now);
  ASSERT_TRUE(d);
  // mid and big declare 0.9 in law; mid is cheaper.
  EXPECT_EQ(s.core.backends()[d->backend].name, "mid");
  EXPECT_EQ(d->pattern, s.p);
  EXPECT_EQ(d->depth, 1u);
  EXPECT_EQ(d->parent, broker::no_agent);
  EXPECT_EQ(d->name, "legal_review_specialist");
  EXPECT_NE(d->reason.find("pattern legal_review"), std::string::npos) << d->reason;
  EXPECT_NE(d->reason.find("seen 3 times in 1h"), std::string::npos) << d->reason;
  EXPECT_NE(d->reason.find("best quality 0.5"), std::string::npos) << d->reason;
  EXPECT_NE(d->reason.find("< target 0.75"), std::string::npos) << d->reason;
  EXPECT_NE(d->reason.find("highest declared skill in law"), std::string::npos) << d->reason;
  EXPECT_EQ(d->details.at("seen").as_uint64(), 3u);
  EXPECT_EQ(d->details.at("backend").as_string(), "mid");
}

TEST(OrganizerSpawn, OtherBackendChoices) {
  auto cheapest = test_policy();
  cheapest.spawn.backend = "cheapest";
  spawn_setup a(cheapest);
  feed(a.core, 1, a.p, 3, 0.5, 0.01);
  const auto d = a.core.consider_spawn(a.p, a.at.sub, a.now);
  ASSERT_TRUE(d);
  EXPECT_EQ(a.core.backends()[d->backend].name, "cheap");

  auto listed = test_policy();
  listed.spawn.backends = {"cheap", "big", "other"};
  spawn_setup b(listed);
  feed(b.core, 1, b.p, 3, 0.5, 0.01);
  const auto e = b.core.consider_spawn(b.p, b.at.sub, b.now);
  ASSERT_TRUE(e);
  EXPECT_EQ(b.core.backends()[e->backend].name, "big");
}

TEST(OrganizerSpawn, NoSecondSpawnWhilePendingOrCovered) {
  spawn_setup s;
  feed(s.core, 1, s.p, 3, 0.5, 0.01);
  const auto d = s.core.consider_spawn(s.p, s.at.sub, s.now);
  ASSERT_TRUE(d);
  s.core.spawn_pending(d->pattern);
  EXPECT_FALSE(s.core.consider_spawn(s.p, s.at.sub, s.now));
  s.core.spawned(*d, agent_id{10}, s.now);
  const route* r = s.core.find(agent_id{10});
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->backend, "mid");
  EXPECT_EQ(r->covers, (std::set<std::uint32_t>{s.p}));
  EXPECT_EQ(s.core.specialists(), 1u);
  // Long after the cool-down, still covered.
  const auto later = observe_n(s.core, legal_texts[0], 3, 5 * hour);
  EXPECT_FALSE(s.core.consider_spawn(later.top, later.sub, 5 * hour + 3 * minute));
}

TEST(OrganizerSpawn, CooldownAfterSpawned) {
  spawn_setup s;
  feed(s.core, 1, s.p, 3, 0.5, 0.01);
  const auto d = s.core.consider_spawn(s.p, s.at.sub, s.now);
  ASSERT_TRUE(d);
  s.core.spawn_pending(d->pattern);
  s.core.spawned(*d, broker::no_agent, s.now);  // the spawn failed: nothing covers p
  observe_n(s.core, legal_texts[0], 3, s.now);
  EXPECT_FALSE(s.core.consider_spawn(s.p, s.at.sub, s.now + 29 * minute));
  EXPECT_TRUE(s.core.consider_spawn(s.p, s.at.sub, s.now + 30 * minute));
}

TEST(OrganizerSpawn, MaxSpecialistsIsRespected) {
  auto policy = test_policy();
  policy.spawn.max_specialists = 1;
  spawn_setup s(policy);
  feed(s.core, 1, s.p, 3, 0.5, 0.01);
  const auto q = s.core.observe(stats_texts[0], "stats", "statistics", 0).top;
  s.core.add_route(specialist(5, "other", q));
  EXPECT_FALSE(s.core.consider_spawn(s.p, s.at.sub, s.now));
  s.core.retire(agent_id{5}, broker::no_agent, "test", {}, s.now);  // no longer alive
  EXPECT_TRUE(s.core.consider_spawn(s.p, s.at.sub, s.now));
}

TEST(OrganizerSpawn, DisabledNeverSpawns) {
  auto policy = test_policy();
  policy.spawn.enabled = false;
  spawn_setup s(policy);
  feed(s.core, 1, s.p, 3, 0.1, 0.01);
  EXPECT_FALSE(s.core.consider_spawn(s.p, s.at.sub, s.now));
}

TEST(OrganizerSpawn, APrunedSpecialistsBackendIsNotPickedAgain) {
  spawn_setup s;
  feed(s.core, 1, s.p, 3, 0.5, 0.01);
  const auto d = s.core.consider_spawn(s.p, s.at.sub, s.now);
  ASSERT_TRUE(d);
  s.core.spawn_pending(d->pattern);
  s.core.spawned(*d, agent_id{10}, s.now);
  feed(s.core, 10, s.p, 3, 0.4, 0.003);  // judged, and below the target
  s.core.retire(agent_id{10}, broker::no_agent, "pruned", {}, 2 * hour);
  s.core.remove(agent_id{10});  // drained and stopped
  observe_n(s.core, legal_texts[0], 3, 2 * hour + 30 * minute);
  const auto again = s.core.consider_spawn(s.p, s.at.sub, 2 * hour + 33 * minute);
  ASSERT_TRUE(again);
  EXPECT_EQ(s.core.backends()[again->backend].name, "big");
  EXPECT_EQ(again->name, "legal_review_specialist_2");
}

TEST(OrganizerSpawn, RetiringSpecialistsResultsAreCountedOnce) {
  auto policy = test_policy();
  policy.routing.min_trials = 5;
  spawn_setup s(policy);
  feed(s.core, 1, s.p, 5, 0.5, 0.01);
  const auto d = s.core.consider_spawn(s.p, s.at.sub, s.now);
  ASSERT_TRUE(d);
  s.core.spawned(*d, agent_id{10}, s.now);
  // Three results: fewer than min_trials, so mid has not been judged on p.
  feed(s.core, 10, s.p, 3, 0.4, 0.003);
  s.core.retire(agent_id{10}, broker::no_agent, "pruned", {}, 2 * hour);
  observe_n(s.core, legal_texts[0], 3, 2 * hour + 30 * minute);
  const auto now = 2 * hour + 33 * minute;
  // Still draining (in the routes, retiring), then stopped: the choice should not change.
  const auto draining = s.core.consider_spawn(s.p, s.at.sub, now);
  s.core.remove(agent_id{10});
  const auto stopped = s.core.consider_spawn(s.p, s.at.sub, now);
  ASSERT_TRUE(draining);
  ASSERT_TRUE(stopped);
  EXPECT_EQ(s.core.backends()[stopped->backend].name, "mid");
  EXPECT_EQ(draining->backend, stopped->backend)
      << "a retiring specialist's results count once: picked "
      << s.core.backends()[draining->backend].name << " while it drained";
}

TEST(OrganizerSpawn, SubSpecialistUnderACoveringSpecialist) {
  spawn_setup s;
  s.core.add_route(specialist(10, "mid", s.p));
  // The specialist is judged on the sub-pattern and falls short.
  feed(s.core, 10, s.p, 3, 0.5, 0.003, sec, s.at.sub);
  const auto d = s.core.consider_spawn(s.p, s.at.sub, s.now);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->pattern, s.at.sub);
  EXPECT_EQ(d->depth, 2u);
  EXPECT_EQ(d->parent, agent_id{10});
  EXPECT_EQ(d->name, "legal_review.legal_review_specialist");
  EXPECT_EQ(s.core.backends()[d->backend].name, "big");  // mid was judged on it

  auto shallow = test_policy();
  shallow.spawn.max_depth = 1;
  spawn_setup t(shallow);
  t.core.add_route(specialist(10, "mid", t.p));
  feed(t.core, 10, t.p, 3, 0.5, 0.003, sec, t.at.sub);
  EXPECT_FALSE(t.core.consider_spawn(t.p, t.at.sub, t.now));
}

// ---------------------------------------------------------------------------------------------

// Prune tests: merging is off so that only prune recommendations appear.
organizer_policy prune_policy() {
  auto p = test_policy();
  p.prune.min_share = 0.1;  // idle needs at least 10 results in the window
  p.merge.enabled = false;
  return p;
}

TEST(OrganizerPrune, IdleRouteIsPrunedAfterConsecutiveAnalyses) {
  organizer_core core(prune_policy(), {});
  const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
  core.add_route(general(1));
  core.add_route(general(2));
  feed(core, 1, p, 20, 0.9, 0.01);
  feed(core, 2, p, 2, 0.9, 0.01);  // 2 of 22: under 10%
  EXPECT_TRUE(core.analyze(2 * hour).recommendations.empty());
  feed(core, 1, p, 20, 0.9, 0.01);
  const auto rep = core.analyze(3 * hour);
  ASSERT_EQ(rep.recommendations.size(), 1u);
  EXPECT_EQ(rep.recommendations[0].action, "prune");
  EXPECT_EQ(rep.recommendations[0].target, agent_id{2});
  EXPECT_EQ(rep.recommendations[0].details.at("streak").as_uint64(), 2u);
  EXPECT_NE(rep.recommendations[0].reason.find("0.00% of the traffic (under 10.00%)"),
            std::string::npos)
      << rep.recommendations[0].reason;
}

TEST(OrganizerPrune, BusyEnoughIsNotIdle) {
  organizer_core core(prune_policy(), {});
  const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
  core.add_route(general(1));
  core.add_route(general(2));
  for (int i = 0; i < 3; ++i) {
    feed(core, 1, p, 18, 0.9, 0.01);
    feed(core, 2, p, 2, 0.9, 0.01);  // exactly 10%
    EXPECT_TRUE(core.analyze((2 + i) * hour).recommendations.empty());
  }
}

TEST(OrganizerPrune, NotBeforeMinLifetime) {
  organizer_core core(prune_policy(), {});
  const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
  core.add_route(general(1));
  core.add_route(general(2, "", "router", hour));
  feed(core, 1, p, 20, 0.9, 0.01);
  EXPECT_TRUE(core.analyze(hour + 30 * minute).recommendations.empty());
  feed(core, 1, p, 20, 0.9, 0.01);
  EXPECT_TRUE(core.analyze(hour + 59 * minute).recommendations.empty());
  feed(core, 1, p, 20, 0.9, 0.01);
  EXPECT_EQ(actions_on(core.analyze(2 * hour), 2), std::vector<std::string>{"prune"});
}

TEST(OrganizerPrune, NeverTheLastGeneralRouteNorASharedOne) {
  organizer_core core(prune_policy(), {});
  const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
  core.add_route(general(1));
  core.add_route(specialist(2, "m", p));
  auto shared = specialist(3, "n", p);
  shared.shared = true;
  core.add_route(shared);
  for (int i = 0; i < 4; ++i) {
    feed(core, 2, p, 20, 0.9, 0.01);
    const auto rep = core.analyze((2 + i) * hour);
    EXPECT_TRUE(rep.recommendations.empty()) << rep.recommendations.front().reason;
  }
  EXPECT_GE(core.find(agent_id{1})->low_share_streak, 2u);
  EXPECT_GE(core.find(agent_id{3})->low_share_streak, 2u);
}

TEST(OrganizerPrune, TwoIdleGeneralRoutesAreNotBothPruned) {
  organizer_core core(prune_policy(), {});
  const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
  core.add_route(general(1));
  core.add_route(general(2));
  core.add_route(specialist(3, "m", p));
  feed(core, 3, p, 20, 0.9, 0.01);
  (void)core.analyze(2 * hour);
  feed(core, 3, p, 20, 0.9, 0.01);
  const auto rep = core.analyze(3 * hour);
  // One of them goes; the other must stay to take what no specialist covers.
  EXPECT_EQ(actions_on(rep, 1).size() + actions_on(rep, 2).size(), 1u);
}

TEST(OrganizerPrune, DominatedPathwayIsSimplified) {
  organizer_core core(prune_policy(), {});
  const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
  core.add_route(general(1, "", "router"));
  core.add_route(general(2, "", "pipeline"));
  feed(core, 1, p, 5, 0.80, 0.010);
  feed(core, 2, p, 5, 0.81, 0.012);  // no better (margin 0.02), 20% dearer (margin 10%)
  EXPECT_TRUE(core.analyze(2 * hour).recommendations.empty());
  const auto rep = core.analyze(3 * hour);  // by_pattern is cumulative: still dominated
  ASSERT_EQ(rep.recommendations.size(), 1u);
  const auto& r = rep.recommendations[0];
  EXPECT_EQ(r.action, "simplify");
  EXPECT_EQ(r.target, agent_id{2});
  EXPECT_EQ(r.details.at("rival").as_uint64(), 1u);
  EXPECT_NE(r.reason.find("pathway general2 is dominated"), std::string::npos) << r.reason;
}

TEST(OrganizerPrune, SlowerCountsLikeDearerAndASpecialistIsPruned) {
  organizer_core core(prune_policy(), {});
  const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
  core.add_route(general(1));
  core.add_route(specialist(2, "m", p));
  feed(core, 1, p, 5, 0.80, 0.01, sec);
  feed(core, 2, p, 5, 0.80, 0.01, 2 * sec);
  (void)core.analyze(2 * hour);
  EXPECT_EQ(actions_on(core.analyze(3 * hour), 2), std::vector<std::string>{"prune"});
}

TEST(OrganizerPrune, ARetiringRivalDominatesNobody) {
  organizer_core core(prune_policy(), {});
  const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
  core.add_route(general(1));
  core.add_route(specialist(2, "m", p));
  core.add_route(specialist(3, "n", p));
  feed(core, 2, p, 5, 0.80, 0.010);
  feed(core, 3, p, 5, 0.80, 0.020);
  core.retire(agent_id{2}, broker::no_agent, "test", {}, hour);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(core.analyze((2 + i) * hour).recommendations.empty());
  }
}

// A route pruned as idle in an analysis cannot also be the reason another is pruned as
// dominated in it, whichever comes first in id order.
TEST(OrganizerPrune, ARivalPrunedInTheSameAnalysisDominatesNobody) {
  for (const bool idle_first : {true, false}) {
    SCOPED_TRACE(idle_first ? "idle route has the lower id" : "idle route has the higher id");
    auto policy = prune_policy();
    policy.prune.consecutive = 1;
    organizer_core core(policy, {});
    const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
    const std::uint64_t idle = idle_first ? 1 : 2, dear = idle_first ? 2 : 1;
    core.add_route(specialist(idle, "m", p));
    core.add_route(specialist(dear, "n", p));
    core.add_route(general(3));
    feed(core, idle, p, 3, 0.80, 0.010);   // cheap, but 3 of 40 results: idle
    feed(core, dear, p, 27, 0.80, 0.020);  // dominated by the idle one alone
    feed(core, 3, p, 10, 0.50, 0.001);     // cheaper, but clearly worse
    const auto rep = core.analyze(2 * hour);
    EXPECT_EQ(actions_on(rep, idle), std::vector<std::string>{"prune"});
    EXPECT_TRUE(actions_on(rep, dear).empty());
  }
}

TEST(OrganizerPrune, DearerButFasterIsNotDominated) {
  organizer_core core(prune_policy(), {});
  const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
  core.add_route(general(1));
  core.add_route(general(2));
  feed(core, 1, p, 5, 0.80, 0.010, 2 * sec);  // cheaper, slower
  feed(core, 2, p, 5, 0.80, 0.020, sec);      // dearer, faster
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(core.analyze((2 + i) * hour).recommendations.empty());
  }
}

TEST(OrganizerPrune, NotDominatedWhenBetterSomewhereOrClearlyBetter) {
  organizer_core core(prune_policy(), {});
  const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
  const auto q = core.observe(legal_texts[0], "l", "l", 0).top;
  core.add_route(general(1));
  core.add_route(general(2));
  core.add_route(general(3));
  feed(core, 1, p, 5, 0.80, 0.010);
  feed(core, 1, q, 5, 0.80, 0.010);
  feed(core, 2, p, 5, 0.80, 0.020);  // dominated on p ...
  feed(core, 2, q, 5, 0.95, 0.020);  // ... but better on q
  feed(core, 3, p, 5, 0.83, 0.020);  // better by more than the quality margin
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(core.analyze((2 + i) * hour).recommendations.empty());
  }
}

TEST(OrganizerPrune, DisabledNeverRecommends) {
  auto policy = prune_policy();
  policy.prune.enabled = false;
  organizer_core core(policy, {});
  const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
  core.add_route(general(1));
  core.add_route(general(2));
  feed(core, 1, p, 5, 0.80, 0.010);
  feed(core, 2, p, 5, 0.80, 0.050);
  for (int i = 0; i < 3; ++i) {
    feed(core, 1, p, 20, 0.80, 0.010);
    EXPECT_TRUE(core.analyze((2 + i) * hour).recommendations.empty());
  }
}

// ---------------------------------------------------------------------------------------------

organizer_policy merge_policy() {
  auto p = test_policy();
  p.prune.enabled = false;
  return p;
}

TEST(OrganizerMerge, GeneralTwinsMergeIntoTheBusierOne) {
  organizer_core core(merge_policy(), {});
  const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
  core.add_route(general(1, "solver|m|"));
  core.add_route(general(2, "solver|m|"));
  feed(core, 1, p, 5, 0.80, 0.01);
  feed(core, 2, p, 8, 0.84, 0.01);  // within the 0.05 tolerance
  const auto rep = core.analyze(2 * hour);
  ASSERT_EQ(rep.recommendations.size(), 1u);
  const auto& r = rep.recommendations[0];
  EXPECT_EQ(r.action, "merge");
  EXPECT_EQ(r.target, agent_id{1});
  EXPECT_EQ(r.heir, agent_id{2});
  EXPECT_EQ(r.details.at("absorbed_results").as_uint64(), 5u);
  EXPECT_EQ(r.details.at("heir_results").as_uint64(), 8u);
}

TEST(OrganizerMerge, EqualBusinessKeepsTheOlderId) {
  organizer_core core(merge_policy(), {});
  const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
  core.add_route(general(1, "solver|m|"));
  core.add_route(general(2, "solver|m|"));
  feed(core, 1, p, 5, 0.80, 0.01);
  feed(core, 2, p, 5, 0.80, 0.01);
  const auto rep = core.analyze(2 * hour);
  ASSERT_EQ(rep.recommendations.size(), 1u);
  EXPECT_EQ(rep.recommendations[0].heir, agent_id{1});
  EXPECT_EQ(rep.recommendations[0].target, agent_id{2});
}

TEST(OrganizerMerge, NotTwinsWhenSignaturesOrQualitiesDiffer) {
  organizer_core core(merge_policy(), {});
  const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
  core.add_route(general(1, "solver|m|"));
  core.add_route(general(2, "solver|n|"));
  core.add_route(general(3, "solver|m|"));
  feed(core, 1, p, 5, 0.80, 0.01);
  feed(core, 2, p, 5, 0.80, 0.01);
  feed(core, 3, p, 5, 0.90, 0.01);  // same signature as 1, but 0.10 apart
  EXPECT_TRUE(core.analyze(2 * hour).recommendations.empty());
}

TEST(OrganizerMerge, TooYoungOrTooFewResultsDoNotMerge) {
  organizer_core core(merge_policy(), {});
  const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
  core.add_route(general(1, "solver|m|", "router", hour + 30 * minute));
  core.add_route(general(2, "solver|m|"));
  core.add_route(general(3, "solver|n|"));
  core.add_route(general(4, "solver|n|"));
  feed(core, 1, p, 5, 0.80, 0.01);
  feed(core, 2, p, 5, 0.80, 0.01);
  feed(core, 3, p, 5, 0.80, 0.01);
  feed(core, 4, p, 2, 0.80, 0.01);  // min_trials is 3
  EXPECT_TRUE(core.analyze(2 * hour).recommendations.empty());
  const auto rep = core.analyze(2 * hour + 30 * minute);
  ASSERT_EQ(rep.recommendations.size(), 1u);
  EXPECT_EQ(rep.recommendations[0].heir, agent_id{1});
  EXPECT_EQ(rep.recommendations[0].target, agent_id{2});
}

// Two specialists spawned for two patterns that differ in one digit: separate patterns at a
// join threshold of 0.95, centroids 0.91 alike.
struct twin_specialists {
  // The first two cover overlapping patterns; `second` is the backend of the second.
  explicit twin_specialists(organizer_policy policy, std::string_view second = "mid")
      : core(adjust(policy), law_backends()) {
    p1 = core.observe(stats_texts[0], "stats", "statistics", 0).top;
    p2 = core.observe(near_twin, "stats", "statistics", 0).top;
    p3 = core.observe(legal_texts[0], "legal", "law", 0).top;
    spawn(10, p1, "mid");
    spawn(11, p2, second);
    spawn(12, p3, "cheap");
  }
  static organizer_policy adjust(organizer_policy p) {
    p.patterns.threshold = 0.95;
    return p;
  }
  void spawn(std::uint64_t id, std::uint32_t p, std::string_view backend) {
    spawn_decision d;
    d.pattern = p;
    d.backend = index_of(core, backend);
    d.name = "s" + std::to_string(id);
    core.spawned(d, agent_id{id}, 0);
  }
  organizer_core core;
  std::uint32_t p1 = 0, p2 = 0, p3 = 0;
};

TEST(OrganizerMerge, SpecialistsForOverlappingPatternsMerge) {
  twin_specialists t(merge_policy());
  ASSERT_NE(t.p1, t.p2);
  ASSERT_GE(t.core.patterns().similarity(t.p1, t.p2), 0.85);
  ASSERT_LT(t.core.patterns().similarity(t.p1, t.p3), 0.85);
  feed(t.core, 11, t.p2, 1, 0.8, 0.01);
  const auto rep = t.core.analyze(2 * hour);
  ASSERT_EQ(rep.recommendations.size(), 1u);
  const auto& r = rep.recommendations[0];
  EXPECT_EQ(r.action, "merge");
  EXPECT_EQ(r.target, agent_id{10});
  EXPECT_EQ(r.heir, agent_id{11});
  EXPECT_NE(r.reason.find("pattern similarity 0.9"), std::string::npos) << r.reason;

  auto strict = merge_policy();
  strict.merge.similarity = 0.95;
  twin_specialists u(strict);
  EXPECT_TRUE(u.core.analyze(2 * hour).recommendations.empty());

  // On different backends they are not twins: one name would blend two backends' results.
  twin_specialists v(merge_policy(), "big");
  feed(v.core, 11, v.p2, 1, 0.8, 0.01);
  EXPECT_TRUE(v.core.analyze(2 * hour).recommendations.empty());
}

TEST(OrganizerMerge, ASubSpecialistIsNeverMergedIntoItsParent) {
  twin_specialists t(merge_policy());
  // A sub-pattern of p1 (same text: its centroid equals its parent's), covered by a
  // sub-specialist on the parent's backend.
  const auto at = t.core.observe(stats_texts[0], "stats", "statistics", 0);
  ASSERT_EQ(at.top, t.p1);
  ASSERT_NE(at.sub, 0u);
  ASSERT_GE(t.core.patterns().similarity(at.top, at.sub), 0.99);
  t.core.retire(agent_id{11}, broker::no_agent, "out of the way", {}, 0);
  t.core.remove(agent_id{11});
  t.spawn(13, at.sub, "mid");
  for (const auto& r : t.core.analyze(2 * hour).recommendations) {
    EXPECT_FALSE(r.action == "merge" && (r.target == agent_id{13} || r.heir == agent_id{13}))
        << r.reason;
  }
}

TEST(OrganizerMerge, DisabledNeverMerges) {
  auto policy = merge_policy();
  policy.merge.enabled = false;
  twin_specialists t(policy);
  EXPECT_TRUE(t.core.analyze(2 * hour).recommendations.empty());
}

TEST(OrganizerMerge, RetireMovesPatternsAndStatisticsToTheHeir) {
  twin_specialists t(merge_policy());
  feed(t.core, 10, t.p1, 4, 0.8, 0.01);
  feed(t.core, 11, t.p2, 6, 0.9, 0.02);
  engine::rng rand(1);
  std::uint32_t changed = 0;
  for (int i = 0; i < 4; ++i) EXPECT_EQ(t.core.choose(t.p1, 0, rand, changed), agent_id{10});
  t.core.retire(agent_id{10}, agent_id{11}, "merged", {}, 2 * hour);

  const route& heir = *t.core.find(agent_id{11});
  const route& gone = *t.core.find(agent_id{10});
  EXPECT_EQ(heir.covers, (std::set<std::uint32_t>{t.p1, t.p2}));
  EXPECT_EQ(heir.overall.n, 10u);
  EXPECT_NEAR(heir.overall.quality, 4 * 0.8 + 6 * 0.9, 1e-9);
  EXPECT_EQ(heir.by_pattern.at(t.p1).n, 4u);
  EXPECT_EQ(heir.window.n, 10u);
  EXPECT_TRUE(gone.retiring);
  EXPECT_EQ(gone.heir, agent_id{11});
  EXPECT_EQ(gone.retire_reason, "merged");
  EXPECT_TRUE(gone.covers.empty());
  EXPECT_TRUE(gone.by_pattern.empty());
  EXPECT_EQ(t.core.specialists(), 2u);
  // Tasks of p1 now go to the heir, which inherited the preference: no route change.
  EXPECT_EQ(t.core.choose(t.p1, 0, rand, changed), agent_id{11});
  EXPECT_EQ(changed, 0u);
}

// ---------------------------------------------------------------------------------------------

TEST(OrganizerCommittee, DistinctBackendsBestFirstWithinSizeLimits) {
  auto policy = test_policy();
  policy.committee.min_size = 3;
  policy.committee.max_size = 3;
  organizer_core core(policy, law_backends());
  const auto p = core.observe(legal_texts[0], "legal", "law", 0).top;
  core.add_route(general(1));  // not a specialist: never a member
  core.add_route(specialist(2, "mid", p));
  core.add_route(specialist(3, "mid", p));
  core.add_route(specialist(4, "cheap", p));
  core.add_route(specialist(5, "big", p));      // no results: declared skill 0.9
  core.add_route(specialist(6, "general", p));  // no results: declared skill 0.6
  core.add_route(specialist(7, "other", p));
  feed(core, 2, p, 3, 0.80, 0.01);
  feed(core, 3, p, 3, 0.95, 0.01);
  feed(core, 4, p, 3, 0.70, 0.01);
  core.retire(agent_id{7}, broker::no_agent, "test", {}, 0);
  EXPECT_EQ(core.committee_for(p, "law"),
            (std::vector<agent_id>{agent_id{3}, agent_id{5}, agent_id{4}}));

  auto wide = policy;
  wide.committee.max_size = 5;
  organizer_core all(wide, law_backends());
  for (const auto& [id, r] : core.routes()) all.add_route(r);
  EXPECT_EQ(all.committee_for(p, "law"),
            (std::vector<agent_id>{agent_id{3}, agent_id{5}, agent_id{4}, agent_id{6}}));

  auto demanding = policy;
  demanding.committee.min_size = 5;
  demanding.committee.max_size = 5;
  organizer_core few(demanding, law_backends());
  for (const auto& [id, r] : core.routes()) few.add_route(r);
  EXPECT_TRUE(few.committee_for(p, "law").empty());  // four distinct live backends
}

// ---------------------------------------------------------------------------------------------

TEST(OrganizerAnalysis, EfficiencyFromTheWindowAndTheWindowResets) {
  auto policy = test_policy();
  policy.analysis.cost_scale = 0.01;
  policy.prune.enabled = false;
  policy.merge.enabled = false;
  organizer_core core(policy, {});
  const auto p = core.observe(stats_texts[0], "s", "s", 0).top;
  core.add_route(general(1));
  core.add_route(general(2));
  core.add_route(general(3));  // idle
  core.add_route(general(4));  // retiring: not counted among the active
  core.retire(agent_id{4}, broker::no_agent, "test", {}, 0);
  feed(core, 1, p, 4, 0.8, 0.01);
  core.record(agent_id{1}, p, 0, false, 0.9, 0.01, sec);  // a failure counts quality 0
  feed(core, 2, p, 5, 0.6, 0.03);
  const auto rep = core.analyze(hour);
  EXPECT_EQ(rep.tasks, 10u);
  const double quality = (4 * 0.8 + 0 + 5 * 0.6) / 10;  // 0.62
  const double cost = (5 * 0.01 + 5 * 0.03) / 10;       // 0.02
  const double utilization = 2.0 / 3.0;
  EXPECT_DOUBLE_EQ(rep.quality, quality);
  EXPECT_DOUBLE_EQ(rep.cost_per_task, cost);
  EXPECT_DOUBLE_EQ(rep.utilization, utilization);
  EXPECT_NEAR(rep.efficiency, quality * utilization / (1 + cost / 0.01), 1e-12);
  EXPECT_NEAR(rep.efficiency, 0.62 * 2 / 3 / 3, 1e-12);

  const auto next = core.analyze(2 * hour);
  EXPECT_EQ(next.tasks, 0u);
  EXPECT_EQ(next.efficiency, 0);
  EXPECT_EQ(next.utilization, 0);
  EXPECT_EQ(core.find(agent_id{1})->window.n, 0u);
  EXPECT_EQ(core.find(agent_id{1})->overall.n, 5u);  // the lifetime totals stay
}

// ---------------------------------------------------------------------------------------------

// Every field of a policy, one per line, to compare two policies with a readable difference.
std::string describe(const organizer_policy& p) {
  std::ostringstream o;
  o << "patterns " << p.patterns.threshold << ' ' << p.patterns.dimension << '\n'
    << "routing " << p.routing.quality_target << ' ' << p.routing.min_trials << ' '
    << p.routing.epsilon << ' ' << p.routing.switch_margin << '\n'
    << "spawn " << p.spawn.enabled << ' ' << p.spawn.min_seen << ' ' << p.spawn.window << ' '
    << p.spawn.cooldown << ' ' << p.spawn.max_specialists << ' ' << p.spawn.max_depth << ' '
    << p.spawn.sub_threshold << ' ' << p.spawn.backend << " [";
  for (const auto& b : p.spawn.backends) o << b << ',';
  o << "]\n"
    << "prune " << p.prune.enabled << ' ' << p.prune.min_share << ' ' << p.prune.min_lifetime << ' '
    << p.prune.quality_margin << ' ' << p.prune.cost_margin << ' ' << p.prune.consecutive << '\n'
    << "merge " << p.merge.enabled << ' ' << p.merge.similarity << ' ' << p.merge.tolerance << ' '
    << p.merge.min_lifetime << '\n'
    << "committee " << p.committee.enabled << ' ' << p.committee.complexity << ' '
    << p.committee.min_size << ' ' << p.committee.max_size << ' ' << p.committee.rounds << ' '
    << p.committee.discussion_gain << ' ' << p.committee.gate << ' ' << p.committee.max_revisions
    << ' ' << p.committee.timeout << ' ' << p.committee.control_share << '\n'
    << "analysis " << p.analysis.every << ' ' << p.analysis.every_tasks << ' ' << p.analysis.apply
    << ' ' << p.analysis.cost_scale << '\n';
  return o.str();
}

TEST(OrganizerPolicy, FromJsonReadsEveryField) {
  const auto policies = boost::json::parse(R"({
    "patterns": {"threshold": 0.6, "dimension": 512},
    "routing": {"quality_target": 0.8, "min_trials": 7, "epsilon": 0.1, "switch_margin": 0.2},
    "spawn": {"enabled": false, "min_seen": 4, "window": 1800000000, "cooldown": 60000000,
              "max_specialists": 3, "max_depth": 1, "sub_threshold": 0.9, "backend": "cheapest",
              "backends": ["a", "b"], "specialist": {"k": 2}},
    "prune": {"enabled": false, "min_share": 0.05, "min_lifetime": 7200000000,
              "quality_margin": 0.03, "cost_margin": 0.2, "consecutive": 4},
    "merge": {"enabled": false, "similarity": 0.9, "tolerance": 0.01, "min_lifetime": 1000000},
    "committee": {"enabled": false, "complexity": 0.5, "min_size": 2, "max_size": 4, "rounds": 3,
                  "discussion_gain": 0.2, "gate": 0.7, "max_revisions": 2, "timeout": 5000000,
                  "control_share": 0.25},
    "analysis": {"every": 86400000000, "every_tasks": 100, "apply": false, "cost_scale": 0.5}
  })")
                            .as_object();
  const auto p = organizer_policy::from_json(policies);
  organizer_policy want;
  want.patterns = {0.6, 512};
  want.routing = {0.8, 7, 0.1, 0.2};
  want.spawn.enabled = false;
  want.spawn.min_seen = 4;
  want.spawn.window = 30 * minute;
  want.spawn.cooldown = minute;
  want.spawn.max_specialists = 3;
  want.spawn.max_depth = 1;
  want.spawn.sub_threshold = 0.9;
  want.spawn.backend = "cheapest";
  want.spawn.backends = {"a", "b"};
  want.prune = {false, 0.05, 2 * hour, 0.03, 0.2, 4};
  want.merge = {false, 0.9, 0.01, sec};
  want.committee = {false, 0.5, 2, 4, 3, 0.2, 0.7, 2, 5 * sec, 0.25};
  want.analysis = {day, 100, false, 0.5};
  EXPECT_EQ(describe(p), describe(want));
  EXPECT_EQ(p.spawn.specialist, (boost::json::object{{"k", 2}}));
}

TEST(OrganizerPolicy, MissingSectionsKeepTheDefaults) {
  EXPECT_EQ(describe(organizer_policy::from_json({})), describe(organizer_policy{}));
  const auto partial =
      organizer_policy::from_json(boost::json::parse(R"({"routing": {"epsilon": 0}})").as_object());
  organizer_policy want;
  want.routing.epsilon = 0;
  EXPECT_EQ(describe(partial), describe(want));
}

TEST(OrganizerPolicy, LoaderFillsTheSameDefaultsAndDurationsInMicroseconds) {
  register_builtin_kinds();
  constexpr std::string_view base = R"({"backends": [{"name": "m"}],
    "agents": [{"kind": "organizer", "name": "hub", "links": ["a"]},
               {"kind": "specialist", "name": "a", "backend": "m"}],
    "workload": {"entry": "hub", "families": [{"name": "f", "domain": "d", "templates": ["t"]}]})";
  const auto defaults = scenarios::parse_scenario(std::string(base) + "}", "x.json");
  ASSERT_TRUE(defaults) << defaults.problems.front().format();
  EXPECT_EQ(describe(organizer_policy::from_json(defaults.value->policies)),
            describe(organizer_policy{}));

  const auto given = scenarios::parse_scenario(
      std::string(base) +
          R"(, "policies": {"spawn": {"window": "30min", "cooldown": "1h30min"},
                             "analysis": {"every": "1d"}, "committee": {"timeout": "2s"}}})",
      "x.json");
  ASSERT_TRUE(given) << given.problems.front().format();
  const auto p = organizer_policy::from_json(given.value->policies);
  EXPECT_EQ(p.spawn.window, 30 * minute);
  EXPECT_EQ(p.spawn.cooldown, 90 * minute);
  EXPECT_EQ(p.analysis.every, day);
  EXPECT_EQ(p.committee.timeout, 2 * sec);
  EXPECT_EQ(p.prune.min_lifetime, 6 * hour);
}

}  // namespace
}  // namespace colony::agents
