// The self-organization scenarios, run whole through the binary: each shows the structural
// behaviour it exists to show, loses no task across structural change, and is byte-identical
// with one and two threads.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <vector>

#include "cli_test_support.hpp"

namespace colony::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::int64_t day_us = 86'400'000'000;

// A finished run of a bundled scenario, read back.
struct run_files {
  fs::path dir;
  json::object summary;
  std::vector<json::object> events;
  std::vector<std::string> metrics;  // lines, header first
  std::vector<json::object> snapshots;

  std::vector<json::object> of_type(std::string_view type) const {
    std::vector<json::object> out;
    for (const auto& e : events) {
      if (e.at("type").as_string() == type) out.push_back(e);
    }
    return out;
  }
};

run_files run_scenario(const std::string& name, const std::string& extra = "") {
  run_files r;
  r.dir = scratch("org-" + name);
  const auto c = colony("run " + (examples() / (name + ".json")).string() + " --quiet --out " +
                        r.dir.string() + " " + extra);
  EXPECT_EQ(c.exit_code, 0) << c.output;
  r.summary = read_json(r.dir / "summary.json");
  for (const auto& l : lines_of(r.dir / "events.jsonl")) {
    r.events.push_back(json::parse(l).as_object());
  }
  r.metrics = lines_of(r.dir / "metrics.csv");
  for (const auto& l : lines_of(r.dir / "topology.jsonl")) {
    r.snapshots.push_back(json::parse(l).as_object());
  }
  return r;
}

// arrived = completed + failed + escalated + in flight.
void expect_accounting(const json::object& s) {
  EXPECT_EQ(u64(s, "arrived"),
            u64(s, "completed") + u64(s, "failed") + u64(s, "escalated") + u64(s, "in_flight"));
}

std::string text(const json::object& o, std::string_view key) {
  return std::string(o.at(key).as_string());
}

// Column `name` of metrics.csv, per row.
std::vector<double> column(const run_files& r, const std::string& name) {
  std::vector<std::string> header;
  std::istringstream h(r.metrics.front());
  for (std::string cell; std::getline(h, cell, ',');) header.push_back(cell);
  const auto at = std::find(header.begin(), header.end(), name) - header.begin();
  std::vector<double> out;
  for (std::size_t i = 1; i < r.metrics.size(); ++i) {
    std::istringstream row(r.metrics[i]);
    std::string cell;
    for (std::ptrdiff_t c = 0; c <= at; ++c) std::getline(row, cell, ',');
    out.push_back(std::stod(cell));
  }
  return out;
}

// One general agent; specialists appear for the families it handles badly, none for the one it
// handles well; a legal specialist follows the legal family on day 30; cost per success falls.
TEST(EmergentSpecialization, SpawnsTheSpecialistsThatPayOffAndCostFalls) {
  const auto r = run_scenario("emergent_specialization");
  expect_accounting(r.summary);
  EXPECT_EQ(u64(r.summary, "failed"), 0u);

  std::map<std::string, std::int64_t> first_spawn;  // family -> time
  for (const auto& e : r.of_type("agent_spawned")) {
    if (!e.contains("details")) continue;  // the scenario's own agents
    const auto& d = e.at("details").as_object();
    EXPECT_EQ(text(e, "kind"), "specialist");
    EXPECT_NE(text(e, "reason").find("no specialist covers it"), std::string::npos);
    std::string family = text(d, "pattern");
    family = family.substr(0, family.find_first_of("#/"));
    first_spawn.try_emplace(family, e.at("t").as_int64());
  }
  EXPECT_TRUE(first_spawn.count("statistical_data"));
  EXPECT_TRUE(first_spawn.count("creative_writing"));
  EXPECT_FALSE(first_spawn.count("mixed_request")) << "the general model handles it well";
  ASSERT_TRUE(first_spawn.count("legal_review"));
  EXPECT_GE(first_spawn["legal_review"], 30 * day_us);
  EXPECT_LT(first_spawn["legal_review"], 31 * day_us);

  // Each spawn went to the backend strongest in its domain.
  for (const auto& e : r.of_type("agent_spawned")) {
    if (!e.contains("details")) continue;
    const auto pattern = text(e.at("details").as_object(), "pattern");
    const auto backend = text(e.at("details").as_object(), "backend");
    if (pattern.starts_with("legal")) EXPECT_EQ(backend, "legal_llm");
    if (pattern.starts_with("statistical")) EXPECT_EQ(backend, "stats_llm");
    if (pattern.starts_with("creative")) EXPECT_EQ(backend, "creative_llm");
  }

  // Cost per successful task: the first six hours (the network specializes in the first one)
  // against days 10 to 29 (specialized, before the legal family appears).
  const auto cost = column(r, "cost");
  const auto succeeded = column(r, "succeeded");
  ASSERT_EQ(cost.size(), 160u);  // 6h buckets
  double later_cost = 0, later_succeeded = 0;
  for (std::size_t b = 40; b < 120; ++b) {
    later_cost += cost[b];
    later_succeeded += succeeded[b];
  }
  const double first = cost[0] / succeeded[0];
  const double later = later_cost / later_succeeded;
  EXPECT_LT(later, 0.8 * first) << "cost per success: first 6h " << first << ", days 10-29 "
                                << later;

  // The final snapshot shows the specialists with the patterns they cover.
  const auto& last = r.snapshots.back().at("agents").as_array();
  std::set<std::string> covered;
  for (const auto& a : last) {
    for (const auto& p : a.at("patterns").as_array()) covered.insert(std::string(p.as_string()));
  }
  EXPECT_TRUE(covered.count("legal_review")) << json::serialize(last);
  fs::remove_all(r.dir);
}

// Two identical validators become one, and a pathway that adds latency without answering better
// is pruned; tasks in flight at either change are answered.
TEST(RedundantValidators, TwinsMergeAndTheSlowPathwayIsPruned) {
  const auto r = run_scenario("redundant_validators");
  expect_accounting(r.summary);
  EXPECT_EQ(u64(r.summary, "failed"), 0u) << "no task may be lost to a merge or a prune";

  const auto merged = r.of_type("agents_merged");
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ((std::set<std::string>{text(merged[0], "heir_name"), text(merged[0], "absorbed_name")}),
            (std::set<std::string>{"check_a", "check_b"}));
  EXPECT_NE(text(merged[0], "reason").find("twins"), std::string::npos);

  const auto pruned = r.of_type("agent_pruned");
  ASSERT_EQ(pruned.size(), 1u);
  EXPECT_EQ(text(pruned[0], "target_name"), "double_check");
  EXPECT_EQ(text(pruned[0], "action"), "simplify");
  const auto& why = pruned[0].at("details").as_object();
  EXPECT_GT(num(why, "latency_s"), num(why, "rival_latency_s"));
  EXPECT_LE(num(why, "quality"), num(why, "rival_quality") + 0.02);

  // The kernel stopped both, the absorbed one with its heir, after their work drained.
  std::map<std::string, json::object> stopped;
  for (const auto& e : r.of_type("agent_stopped")) stopped[text(e, "name")] = e;
  const auto absorbed = text(merged[0], "absorbed_name");
  ASSERT_TRUE(stopped.count(absorbed));
  EXPECT_EQ(stopped[absorbed].at("heir").as_int64(), merged[0].at("heir").as_int64());
  EXPECT_GE(stopped[absorbed].at("t").as_int64(), merged[0].at("t").as_int64());
  ASSERT_TRUE(stopped.count("double_check"));

  // Neither is in the last snapshot, nor is any edge into them.
  std::set<std::string> alive;
  for (const auto& a : r.snapshots.back().at("agents").as_array()) {
    alive.insert(std::string(a.at("name").as_string()));
  }
  EXPECT_FALSE(alive.count(absorbed));
  EXPECT_FALSE(alive.count("double_check"));
  EXPECT_TRUE(alive.count(text(merged[0], "heir_name")));
  const auto gone = stopped["double_check"].at("agent").as_int64();
  for (const auto& e : r.snapshots.back().at("edges").as_array()) {
    EXPECT_NE(e.at("to").as_int64(), gone);
  }

  // The same run without pruning and merging keeps all three pathways.
  const auto still =
      run_scenario("redundant_validators",
                   "--set policies.prune.enabled=false --set policies.merge.enabled=false");
  expect_accounting(still.summary);
  EXPECT_TRUE(still.of_type("agents_merged").empty());
  EXPECT_TRUE(still.of_type("agent_pruned").empty());
  fs::remove_all(r.dir);
  fs::remove_all(still.dir);
}

// Complex tasks get committees of 3 to 5 distinct members that form and dissolve; on the same
// family in the same run, committees answer right more often than single routes.
TEST(Committee, CommitteesFormDissolveAndBeatASingleAgent) {
  const auto r = run_scenario("committee");
  expect_accounting(r.summary);

  const auto formed = r.of_type("committee_formed");
  const auto dissolved = r.of_type("committee_dissolved");
  ASSERT_GT(formed.size(), 100u);
  EXPECT_EQ(formed.size(), dissolved.size() + u64(r.summary, "in_flight"));
  for (const auto& f : formed) {
    const auto& names = f.at("member_names").as_array();
    EXPECT_GE(names.size(), 3u);
    EXPECT_LE(names.size(), 5u);
    std::set<std::string> distinct;
    for (const auto& n : names) distinct.insert(std::string(n.as_string()));
    EXPECT_EQ(distinct.size(), names.size());
    EXPECT_GE(num(f, "complexity"), 0.7);
  }
  std::set<std::int64_t> ids;
  std::map<std::string, std::size_t> outcomes;
  for (const auto& d : dissolved) {
    ids.insert(d.at("committee").as_int64());
    const auto outcome = text(d, "outcome");
    ++outcomes[outcome];
    // The gate: a pass has the support it needs; an escalation used every revision first.
    if (outcome == "passed") EXPECT_GE(num(d, "support"), num(d, "gate"));
    if (outcome == "escalated") {
      EXPECT_LT(num(d, "support"), num(d, "gate"));
      EXPECT_EQ(u64(d, "revisions"), 1u);  // committee.max_revisions
    }
  }
  EXPECT_GT(outcomes["passed"], 0u);
  EXPECT_GT(outcomes["escalated"], 0u);
  EXPECT_EQ(outcomes["escalated"], u64(r.summary, "escalated"));
  EXPECT_EQ(ids.size(), dissolved.size()) << "every committee is dissolved once";

  const auto& families = r.summary.at("by_family").as_object();
  const auto& complex = families.at("design_review").as_object().at("by_path").as_object();
  const auto& committee = complex.at("committee").as_object();
  const auto& single = complex.at("single").as_object();
  EXPECT_GT(u64(single, "completed"), 100u) << "the control group";
  EXPECT_GT(num(committee, "success_rate"), num(single, "success_rate") + 0.1);
  // Simple tasks never get one.
  EXPECT_FALSE(
      families.at("ops_question").as_object().at("by_path").as_object().contains("committee"));
  fs::remove_all(r.dir);
}

// With a pool, standing committees take task after task of their pattern and stand down when
// idle; nothing else changes for the tasks.
TEST(Committee, StandingCommitteesServeManyTasksAndStandDownWhenIdle) {
  const auto r = run_scenario("committee",
                              "--set policies.committee.pool=2 --set "
                              "policies.committee.pool_idle=30min");
  expect_accounting(r.summary);
  const auto formed = r.of_type("committee_formed");
  const auto answered = r.of_type("committee_answered");
  const auto dissolved = r.of_type("committee_dissolved");
  // Standing committees; when all of a pattern's are busy, a one-task committee forms as
  // before and dissolves with its task.
  std::set<std::int64_t> standing, one_off;
  for (const auto& f : formed) {
    (f.at("standing").as_bool() ? standing : one_off).insert(f.at("committee").as_int64());
  }
  ASSERT_FALSE(standing.empty());
  EXPECT_GT(answered.size(), 10 * standing.size()) << "standing committees are reused";
  for (const auto& a : answered) EXPECT_TRUE(standing.count(a.at("committee").as_int64()));
  for (const auto& d : dissolved) {
    const auto who = d.at("committee").as_int64();
    if (standing.count(who) != 0) {
      EXPECT_EQ(text(d, "outcome"), "stood down");
    } else {
      EXPECT_TRUE(one_off.count(who));
      EXPECT_NE(text(d, "outcome"), "stood down");
    }
  }
  EXPECT_EQ(
      answered.size() + one_off.size(),
      u64(r.summary.at("by_family").as_object().at("design_review").as_object(), "completed") +
          u64(r.summary.at("by_family").as_object().at("design_review").as_object(), "escalated") -
          u64(r.summary.at("by_family")
                  .as_object()
                  .at("design_review")
                  .as_object()
                  .at("by_path")
                  .as_object()
                  .at("single")
                  .as_object(),
              "completed"))
      << "every committee task is answered once, by a standing or a one-task committee";
  const auto& complex = r.summary.at("by_family")
                            .as_object()
                            .at("design_review")
                            .as_object()
                            .at("by_path")
                            .as_object();
  EXPECT_GT(num(complex.at("committee").as_object(), "success_rate"),
            num(complex.at("single").as_object(), "success_rate") + 0.1);
  fs::remove_all(r.dir);
}

// The determinism contract, for whole runs with structural change.
TEST(SelfOrganization, WholeRunsAreByteIdenticalForOneAndTwoThreads) {
  const std::vector<std::pair<std::string, std::string>> runs = {
      {"emergent_specialization", ""},
      {"redundant_validators", ""},
      {"committee", ""},
      {"committee", "--set policies.committee.pool=2 --set policies.committee.pool_idle=30min"}};
  for (const auto& [name, extra] : runs) {
    const auto one = run_scenario(name, "--threads 1 " + extra);
    const auto two = run_scenario(name, "--threads 2 " + extra);
    for (const char* f : {"events.jsonl", "metrics.csv", "topology.jsonl"}) {
      const auto a = read_file(one.dir / f);
      EXPECT_FALSE(a.empty()) << name << " " << f;
      EXPECT_TRUE(a == read_file(two.dir / f)) << name << ": " << f << " differs";
    }
    fs::remove_all(one.dir);
    fs::remove_all(two.dir);
  }
}

// colony inspect shows the topology of a moment: the legal specialist exists on day 35 and not
// on day 29; colony export writes a GEXF whose nodes include it.
TEST(SelfOrganization, InspectAndExportShowTheEvolution) {
  const auto r = run_scenario("emergent_specialization");
  const auto before = colony("inspect " + r.dir.string() + " --at 29d");
  const auto after = colony("inspect " + r.dir.string() + " --at 35d");
  EXPECT_EQ(before.exit_code, 0) << before.output;
  EXPECT_EQ(after.exit_code, 0) << after.output;
  EXPECT_EQ(before.output.find("legal_review_specialist"), std::string::npos) << before.output;
  EXPECT_NE(after.output.find("legal_review_specialist"), std::string::npos) << after.output;
  const auto gexf = r.dir / "evolution.gexf";
  const auto e = colony("export " + r.dir.string() + " --gexf " + gexf.string());
  EXPECT_EQ(e.exit_code, 0) << e.output;
  EXPECT_NE(read_file(gexf).find("legal_review_specialist"), std::string::npos);
  fs::remove_all(r.dir);
}

}  // namespace
}  // namespace colony::testing
