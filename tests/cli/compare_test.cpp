// `colony compare`: settings, summary metrics, agents and structural events of two run
// directories, as text and as JSON; and the errors for what is not a run.
#include "compare.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_test_support.hpp"

namespace colony::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// Runs `colony run SCENARIO ARGS` into a fresh directory named `name` and returns it.
fs::path run(const std::string& name, const std::string& scenario, const std::string& args) {
  const auto dir = scratch("compare-" + name);
  const auto r = colony("run " + (examples() / scenario).string() + " --quiet --out " +
                        dir.string() + " " + args);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return dir;
}

// 12 simulated hours of emergent_specialization: four specialists are spawned.
fs::path specialization(const std::string& name, const std::string& args = "") {
  return run(name, "emergent_specialization.json", "--until 12h " + args);
}

command_result compare(const fs::path& a, const fs::path& b, const std::string& args = "") {
  return colony("compare " + a.string() + " " + b.string() + " " + args);
}

json::object compare_json(const fs::path& a, const fs::path& b, const std::string& args = "") {
  const auto r = compare(a, b, "--json " + args);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  boost::system::error_code ec;
  auto v = json::parse(r.output, ec);
  EXPECT_FALSE(ec) << r.output;
  return v.is_object() ? v.as_object() : json::object{};
}

// The cells of the text row whose first cell is `first` ("success_rate"), or none.
std::vector<std::string> row(const std::string& text, const std::string& first) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream cells(line);
    std::vector<std::string> out;
    for (std::string cell; cells >> cell;) out.push_back(cell);
    if (!out.empty() && out[0] == first) return out;
  }
  return {};
}

// The lines of `text` from the one that starts with `start` to the next empty line or heading.
std::vector<std::string> section(const std::string& text, const std::string& start) {
  std::istringstream lines(text);
  std::vector<std::string> out;
  bool in = false;
  for (std::string line; std::getline(lines, line);) {
    if (!in && line.rfind(start, 0) == 0) {
      in = true;
      continue;
    }
    if (in && (line.empty() || line[0] != ' ')) break;
    if (in) out.push_back(line);
  }
  return out;
}

// The metric of JSON `c` named `path` among the differences (or the machine group).
json::object metric(const json::object& c, const std::string& path,
                    const char* group = "differences") {
  for (const auto& m : c.at("metrics").at(group).as_array()) {
    if (m.at("metric").as_string() == path) return m.as_object();
  }
  ADD_FAILURE() << path << " not among " << group;
  return {};
}

// Every numeric leaf of a summary, by dotted path.
void leaves(const json::value& v, const std::string& path, std::map<std::string, double>& out) {
  if (const auto* o = v.if_object()) {
    for (const auto& [k, x] : *o)
      leaves(x, path.empty() ? std::string(k) : path + "." + std::string(k), out);
  } else if (v.is_number()) {
    out[path] = v.to_number<double>();
  }
}

bool near_printed(double printed, double exact) {
  return std::abs(printed - exact) <= 1e-5 * std::abs(exact) + 1e-12;
}

TEST(Compare, SameScenarioAndSeedAreIdentical) {
  const auto a = specialization("same-a");
  const auto b = specialization("same-b");
  const auto threads = specialization("same-threads", "--threads 2");

  const auto r = compare(a, b);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Settings: same scenario, seed and settings"), std::string::npos);
  EXPECT_NE(r.output.find("Summary metrics: 0 of "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Machine ("), std::string::npos);
  EXPECT_EQ(row(r.output, "wall_seconds").size(), 5u) << r.output;
  EXPECT_NE(r.output.find("\nidentical simulation outputs\n"), std::string::npos) << r.output;

  const auto t = compare(a, threads);
  ASSERT_EQ(t.exit_code, 0) << t.output;
  EXPECT_EQ(row(t.output, "threads"), (std::vector<std::string>{"threads", "1", "2"}));
  EXPECT_NE(t.output.find("\nidentical simulation outputs\n"), std::string::npos) << t.output;

  const auto c = compare_json(a, threads);
  EXPECT_TRUE(c.at("verdict").at("identical").as_bool());
  EXPECT_EQ(c.at("metrics").at("differ").to_number<std::uint64_t>(), 0u);
  EXPECT_GT(c.at("metrics").at("compared").to_number<std::uint64_t>(), 50u);
  // The machine group is there, with the runs' own figures, and counts for nothing.
  const auto wall = metric(c, "wall_seconds", "machine");
  EXPECT_EQ(wall.at("a"), read_json(a / "summary.json").at("wall_seconds"));
  EXPECT_EQ(wall.at("b"), read_json(threads / "summary.json").at("wall_seconds"));
  EXPECT_EQ(c.at("structural_events").at("a").to_number<std::uint64_t>(), 4u);  // four specialists
  EXPECT_EQ(c.at("structural_events").at("only_in_a").at("count").to_number<std::uint64_t>(), 0u);
  EXPECT_EQ(c.at("topology").at("lifetime_differs").at("count").to_number<std::uint64_t>(), 0u);
  EXPECT_TRUE(c.at("structural_events").at("first_divergence").is_null());
}

TEST(Compare, DifferentSeedsShowTheSummariesDifferences) {
  const auto a = specialization("seed-1", "--seed 1");
  const auto b = specialization("seed-2", "--seed 2");
  const auto sa = read_json(a / "summary.json"), sb = read_json(b / "summary.json");

  const auto r = compare(a, b);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(row(r.output, "seed"), (std::vector<std::string>{"seed", "1", "2"}));
  for (const char* name : {"success_rate", "cost"}) {
    const double x = num(sa, name), y = num(sb, name);
    ASSERT_NE(x, y) << name;
    const auto cells = row(r.output, name);
    ASSERT_EQ(cells.size(), 5u) << r.output;
    EXPECT_TRUE(near_printed(std::stod(cells[1]), x)) << cells[1] << " vs " << x;
    EXPECT_TRUE(near_printed(std::stod(cells[2]), y)) << cells[2] << " vs " << y;
    EXPECT_TRUE(near_printed(std::stod(cells[3]), y - x)) << cells[3] << " vs " << y - x;
    EXPECT_NEAR(std::stod(cells[4]), (y - x) / std::abs(x) * 100, 0.0051) << cells[4];
  }

  const auto c = compare_json(a, b);
  for (const char* name : {"success_rate", "cost", "latency_ms.p95"}) {
    const auto m = metric(c, name);
    const auto x = name == std::string("latency_ms.p95")
                       ? sa.at("latency_ms").at("p95").to_number<double>()
                       : num(sa, name);
    const auto y = name == std::string("latency_ms.p95")
                       ? sb.at("latency_ms").at("p95").to_number<double>()
                       : num(sb, name);
    EXPECT_EQ(m.at("a").to_number<double>(), x) << name;
    EXPECT_EQ(m.at("b").to_number<double>(), y) << name;
    EXPECT_EQ(m.at("difference").to_number<double>(), y - x) << name;
    EXPECT_DOUBLE_EQ(m.at("relative_change_percent").to_number<double>(),
                     (y - x) / std::abs(x) * 100);
  }

  // The count, checked against the two summaries leaf by leaf.
  std::map<std::string, double> la, lb;
  leaves(sa, "", la);
  leaves(sb, "", lb);
  std::set<std::string> paths;
  for (const auto& [p, _] : la) paths.insert(p);
  for (const auto& [p, _] : lb) paths.insert(p);
  for (const char* machine : {"wall_seconds", "tasks_per_wall_second", "peak_rss_bytes"}) {
    paths.erase(machine);
  }
  std::size_t differ = 0;
  for (const auto& p : paths) differ += !la.contains(p) || !lb.contains(p) || la[p] != lb[p];
  ASSERT_GT(differ, 0u);
  EXPECT_EQ(c.at("metrics").at("compared").to_number<std::uint64_t>(), paths.size());
  EXPECT_EQ(c.at("metrics").at("differ").to_number<std::uint64_t>(), differ);
  EXPECT_EQ(c.at("metrics").at("differences").as_array().size(), differ);
  EXPECT_NE(r.output.find("Summary metrics: " + std::to_string(differ) + " of " +
                          std::to_string(paths.size()) + " metrics differ"),
            std::string::npos);
  EXPECT_FALSE(c.at("verdict").at("identical").as_bool());
  EXPECT_NE(r.output.find("\nruns differ: " + std::to_string(differ) + " metrics, "),
            std::string::npos)
      << r.output;
}

TEST(Compare, OverrideIsASettingAndMoreSamplesCostMore) {
  const auto one = run("samples-1", "self_consistency.json",
                       "--until 2h --set agents.ensemble.params.samples=1");
  const auto five = run("samples-5", "self_consistency.json",
                        "--until 2h --set agents.ensemble.params.samples=5");
  const auto r = compare(one, five);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto overrides = row(r.output, "overrides");
  EXPECT_EQ(overrides,
            (std::vector<std::string>{"overrides", "[\"agents.ensemble.params.samples=1\"]",
                                      "[\"agents.ensemble.params.samples=5\"]"}))
      << r.output;
  EXPECT_NE(r.output.find("scenario.json different"), std::string::npos) << r.output;
  const auto cost = row(r.output, "cost");
  ASSERT_EQ(cost.size(), 5u);
  EXPECT_EQ(cost[3][0], '+') << r.output;

  const auto c = compare_json(one, five);
  bool found = false;
  for (const auto& d : c.at("settings").at("differences").as_array()) {
    if (d.at("setting").as_string() != "overrides") continue;
    found = true;
    EXPECT_EQ(d.at("a").as_array(), json::array{"agents.ensemble.params.samples=1"});
    EXPECT_EQ(d.at("b").as_array(), json::array{"agents.ensemble.params.samples=5"});
  }
  EXPECT_TRUE(found);
  EXPECT_FALSE(c.at("settings").at("same").as_bool());
  const auto m = metric(c, "cost");
  EXPECT_GT(m.at("difference").to_number<double>(), 0);
  EXPECT_EQ(
      m.at("difference").to_number<double>(),
      num(read_json(five / "summary.json"), "cost") - num(read_json(one / "summary.json"), "cost"));
}

TEST(Compare, SpawnedSpecialistsAreOnlyInTheRunThatSpawnedThem) {
  const auto a = specialization("spawn-on");
  const auto b = specialization("spawn-off", "--set policies.spawn.enabled=false");
  std::map<std::string, std::string> spawned;  // name -> reason
  std::int64_t first = -1;
  for (const auto& e : events_of(a, "agent_spawned")) {
    if (u64(e, "parent") == 0) continue;
    spawned[std::string(e.at("name").as_string())] = e.at("reason").as_string();
    if (first < 0) first = e.at("t").as_int64();
  }
  ASSERT_EQ(spawned.size(), 4u);

  const auto r = compare(a, b, "--limit 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto only_a = section(r.output, "Only in A (4)");  // the agents, then the events
  ASSERT_FALSE(only_a.empty()) << r.output;
  EXPECT_EQ(r.output.find("Only in B"), std::string::npos) << r.output;
  // Without --limit, each specialist is listed with the reason it was spawned for.
  const auto all = compare(a, b);
  const auto agents_only_a = section(all.output, "Only in A (4)");
  ASSERT_EQ(agents_only_a.size(), 5u) << all.output;  // a header and four agents
  for (const auto& [name, reason] : spawned) {
    const auto listed = std::count_if(agents_only_a.begin(), agents_only_a.end(), [&](auto& l) {
      return l.find("  " + name + " ") != std::string::npos && l.size() >= reason.size() &&
             l.compare(l.size() - reason.size(), reason.size(), reason) == 0;
    });
    EXPECT_EQ(listed, 1) << name << "\n" << all.output;
  }

  const auto c = compare_json(a, b, "--limit 2");
  const auto& agents = c.at("topology").at("only_in_a").as_object();
  EXPECT_EQ(agents.at("count").to_number<std::uint64_t>(), 4u);
  EXPECT_EQ(agents.at("more").to_number<std::uint64_t>(), 2u);
  ASSERT_EQ(agents.at("agents").as_array().size(), 2u);
  for (const auto& x : agents.at("agents").as_array()) {
    const std::string name(x.at("name").as_string());
    ASSERT_TRUE(spawned.contains(name)) << name;
    EXPECT_EQ(x.at("kind").as_string(), "specialist");
    EXPECT_EQ(x.at("reason").as_string(), spawned[name]);
  }
  EXPECT_EQ(c.at("topology").at("only_in_b").at("count").to_number<std::uint64_t>(), 0u);

  const auto& events = c.at("structural_events").as_object();
  EXPECT_EQ(events.at("counts").at("agent_spawned").at("a").to_number<std::uint64_t>(), 4u);
  EXPECT_EQ(events.at("counts").at("agent_spawned").at("b").to_number<std::uint64_t>(), 0u);
  EXPECT_EQ(events.at("only_in_a").at("count").to_number<std::uint64_t>(), 4u);
  EXPECT_EQ(events.at("only_in_a").at("more").to_number<std::uint64_t>(), 2u);
  ASSERT_EQ(events.at("only_in_a").at("events").as_array().size(), 2u);
  const auto& e = events.at("only_in_a").at("events").as_array()[0].as_object();
  EXPECT_EQ(e.at("type").as_string(), "agent_spawned");
  EXPECT_EQ(e.at("names").as_array()[1].as_string(), "hub");
  EXPECT_EQ(e.at("reason").as_string(),
            spawned[std::string(e.at("names").as_array()[0].as_string())]);
  EXPECT_EQ(events.at("only_in_b").at("count").to_number<std::uint64_t>(), 0u);
  EXPECT_EQ(events.at("first_divergence").at("t").as_int64(), first);

  // In text, --limit 2 lists two rows under a header, then says how many more.
  std::size_t rows = 0, mores = 0;
  for (const auto& line : only_a) {
    rows += line.find("specialist") != std::string::npos;
    mores += line == "  ... and 2 more";
  }
  EXPECT_EQ(rows, 2u) << r.output;
  EXPECT_EQ(mores, 1u) << r.output;
  EXPECT_NE(r.output.find("\nruns differ: "), std::string::npos);
  EXPECT_NE(r.output.find(", 4 agents, 4 structural events\n"), std::string::npos) << r.output;
}

TEST(Compare, MergesArePairedByNameNotById) {
  const auto a = run("merge-on", "redundant_validators.json", "");
  const auto b =
      run("merge-off", "redundant_validators.json", "--set policies.merge.enabled=false");
  ASSERT_EQ(events_of(a, "agents_merged").size(), 1u);
  ASSERT_EQ(events_of(b, "agents_merged").size(), 0u);
  ASSERT_EQ(events_of(b, "agent_pruned").size(), 1u);

  const auto c = compare_json(a, b);
  const auto& events = c.at("structural_events").as_object();
  EXPECT_EQ(events.at("counts").at("agents_merged").at("a").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(events.at("counts").at("agent_pruned").at("a").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(events.at("counts").at("agent_pruned").at("b").to_number<std::uint64_t>(), 1u);
  // The prune is the same in both; the merge and the absorbed route's stop are A's alone.
  std::vector<std::string> types;
  for (const auto& e : events.at("only_in_a").at("events").as_array()) {
    types.emplace_back(e.at("type").as_string());
  }
  EXPECT_EQ(types, (std::vector<std::string>{"agents_merged", "agent_stopped"}));
  EXPECT_EQ(events.at("only_in_a").at("events").as_array()[0].at("names").as_array(),
            (json::array{"check_b", "check_a"}));
  EXPECT_EQ(events.at("only_in_b").at("count").to_number<std::uint64_t>(), 0u);
  const auto& lifetime = c.at("topology").at("lifetime_differs").as_object();
  ASSERT_EQ(lifetime.at("count").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(lifetime.at("agents").as_array()[0].at("name").as_string(), "check_b");
  EXPECT_TRUE(lifetime.at("agents").as_array()[0].at("stopped_b").is_null());
}

// A run directory written by hand: a manifest, a summary and an event log.
fs::path hand_made(const std::string& name, const std::string& summary,
                   const std::vector<std::string>& events) {
  const auto dir = scratch("compare-" + name);
  fs::create_directories(dir);
  std::ofstream(dir / "manifest.json") << R"({"scenario_name":"x","seed":1})";
  std::ofstream(dir / "summary.json") << summary;
  std::ofstream log(dir / "events.jsonl");
  for (const auto& e : events) log << e << '\n';
  return dir;
}

TEST(Compare, EventsAreMatchedByNamesWhenIdsShift) {
  // B has one more scenario agent, so every later id is one higher.
  const auto a = hand_made(
      "ids-a", R"({"cost": 1})",
      {R"({"t":0,"type":"agent_spawned","agent":1,"name":"hub","kind":"organizer","parent":0})",
       R"({"t":5,"type":"agent_spawned","agent":2,"name":"s","kind":"specialist","parent":1,"reason":"r"})",
       R"({"t":9,"type":"agent_pruned","agent":1,"target":2,"target_name":"s","action":"prune","reason":"idle"})",
       R"({"t":9,"type":"agent_stopped","agent":2,"name":"s","reason":"idle"})"});
  const auto b = hand_made(
      "ids-b", R"({"cost": 1})",
      {R"({"t":0,"type":"agent_spawned","agent":1,"name":"hub","kind":"organizer","parent":0})",
       R"({"t":0,"type":"agent_spawned","agent":2,"name":"extra","kind":"router","parent":0})",
       R"({"t":5,"type":"agent_spawned","agent":3,"name":"s","kind":"specialist","parent":1,"reason":"r"})",
       R"({"t":9,"type":"agent_stopped","agent":3,"name":"s","reason":"idle"})",
       R"({"t":9,"type":"agent_pruned","agent":1,"target":3,"target_name":"s","action":"prune","reason":"idle"})"});
  std::ostringstream out;
  auto compared = cli::compare_runs(a, b, {.json = true}, out);
  ASSERT_TRUE(compared) << compared.error().message;
  const auto c = json::parse(out.str()).as_object();
  EXPECT_EQ(c.at("structural_events").at("only_in_a").at("count").to_number<std::uint64_t>(), 0u)
      << out.str();
  EXPECT_EQ(c.at("structural_events").at("only_in_b").at("count").to_number<std::uint64_t>(), 0u);
  EXPECT_EQ(c.at("topology").at("only_in_b").at("agents").as_array()[0].at("name").as_string(),
            "extra");
  EXPECT_EQ(c.at("verdict").at("text").as_string(),
            "runs differ: 0 metrics, 1 agent, 0 structural events");
}

TEST(Compare, OddButWellFormedFilesAreCompared) {
  // Missing fields, mistyped fields, leaves in one summary only: compared, not a crash.
  const auto a = hand_made(
      "odd-a", R"({"scenario": "x", "cost": "free", "latency_ms": {"p50": [1, {"x": true}]},
                   "only_a": 3, "wall_seconds": 1})",
      {R"({"t":0,"type":"agent_spawned","agent":1})",
       R"({"t":1,"type":"agent_spawned","agent":2,"parent":1,"name":5,"details":3})",
       R"({"t":2,"type":"committee_formed","agent":2,"member_names":[1,"x"],"standing":"yes"})",
       R"({"t":3,"type":"agents_merged","agent":1})",
       R"({"t":3,"type":"agent_stopped","agent":99,"heir":"x"})",
       R"({"t":4,"type":"agent_pruned","agent":1,"target":-1})",
       R"({"t":4,"type":"task_escalated","agent":1})", "", R"({"type":"dead_letter"})"});
  const auto b = hand_made("odd-b", R"({"cost": 2, "only_b": 0.5})", {});
  std::ostringstream text, js;
  auto compared = cli::compare_runs(a, b, {.limit = 1}, text);
  ASSERT_TRUE(compared) << compared.error().message;
  EXPECT_EQ(row(text.str(), "only_a"), (std::vector<std::string>{"only_a", "3", "—", "—", "—"}))
      << text.str();
  EXPECT_EQ(row(text.str(), "only_b"), (std::vector<std::string>{"only_b", "—", "0.5", "—", "—"}));
  EXPECT_NE(text.str().find("First divergence at 0d 00:00:00.000001: agent_spawned #2 (by #1)"),
            std::string::npos)
      << text.str();
  EXPECT_NE(text.str().find("  ... and 4 more"), std::string::npos);
  ASSERT_TRUE(cli::compare_runs(a, b, {.json = true}, js));
  const auto c = json::parse(js.str()).as_object();
  EXPECT_EQ(c.at("metrics").at("differ").to_number<std::uint64_t>(),
            4u);  // p50.0, only_a, cost, only_b
  EXPECT_EQ(c.at("structural_events").at("a").to_number<std::uint64_t>(), 5u);
}

TEST(Compare, WhatIsNotARunIsBadInputNamingTheFile) {
  const auto good = run("good", "self_consistency.json", "--until 1h");
  auto copy = [&](const std::string& name) {
    const auto dir = scratch("compare-" + name);
    fs::copy(good, dir, fs::copy_options::recursive);
    return dir;
  };
  auto expect_bad = [&](const fs::path& bad, const std::string& names) {
    const auto r = compare(good, bad);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find(names), std::string::npos) << r.output;
    std::ostringstream out;
    const auto direct = cli::compare_runs(bad, good, {}, out);
    ASSERT_FALSE(direct);
    EXPECT_EQ(direct.error().code, errc::bad_input);
    EXPECT_NE(direct.error().message.find(names), std::string::npos) << direct.error().message;
  };

  const auto missing = scratch("compare-missing");
  expect_bad(missing, missing.string() + ": error: no such run directory");

  const auto no_summary = copy("no-summary");
  fs::remove(no_summary / "summary.json");
  expect_bad(no_summary, (no_summary / "summary.json").string() + ": error: cannot read");

  const auto no_manifest = copy("no-manifest");
  fs::remove(no_manifest / "manifest.json");
  expect_bad(no_manifest, (no_manifest / "manifest.json").string());

  const auto no_events = copy("no-events");
  fs::remove(no_events / "events.jsonl");
  expect_bad(no_events, (no_events / "events.jsonl").string());

  const auto corrupt = copy("corrupt-summary");
  std::ofstream(corrupt / "summary.json") << "{\n  \"cost\": 1,\n  \"x\": [1,,2]\n}\n";
  expect_bad(corrupt, (corrupt / "summary.json").string() + ":3:11: error: not JSON");

  const auto truncated = copy("truncated-events");
  {
    std::ofstream log(truncated / "events.jsonl", std::ios::app);
    log << R"({"t":99,"type":"agent_spawned","agent":)" << '\n';
  }
  const auto lines = lines_of(truncated / "events.jsonl").size();
  expect_bad(truncated,
             (truncated / "events.jsonl").string() + ":" + std::to_string(lines) + ": error");
}

TEST(Compare, JsonHasEverySection) {
  const auto a = run("json-a", "self_consistency.json", "--until 1h");
  const auto b = run("json-b", "self_consistency.json", "--until 1h --seed 5");
  const auto c = compare_json(a, b);
  for (const char* key :
       {"a", "b", "settings", "metrics", "topology", "structural_events", "verdict"}) {
    EXPECT_TRUE(c.contains(key)) << key;
  }
  EXPECT_EQ(c.at("a").as_string(), a.string());
  EXPECT_TRUE(c.at("settings").at("differences").is_array());
  EXPECT_TRUE(c.at("metrics").at("machine").is_array());
  EXPECT_TRUE(c.at("topology").at("only_in_a").at("agents").is_array());
  EXPECT_TRUE(c.at("structural_events").at("counts").at("committee_formed").is_object());
  EXPECT_FALSE(c.at("verdict").at("identical").as_bool());
  const auto r = compare(a, b, "--json");
  EXPECT_EQ(r.output.rfind("{\n  \"a\": ", 0), 0u) << "pretty-printed";
}

}  // namespace
}  // namespace colony::testing
