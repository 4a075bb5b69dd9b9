// `colony run` and `colony validate` end to end, through the binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <vector>

#include "cli_test_support.hpp"

namespace colony::testing {
namespace {

namespace fs = std::filesystem;

// Runs a bundled scenario into a fresh directory and returns it.
fs::path run_example(const std::string& scenario, const std::string& extra,
                     const std::string& tag) {
  const auto out = scratch(scenario + "-" + tag);
  const auto r = colony("run " + (examples() / (scenario + ".json")).string() + " --quiet --out " +
                        out.string() + " " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return out;
}

void expect_accounting_identity(const boost::json::object& s) {
  EXPECT_GT(u64(s, "arrived"), 0u);
  EXPECT_EQ(u64(s, "arrived"),
            u64(s, "completed") + u64(s, "failed") + u64(s, "escalated") + u64(s, "in_flight"));
  EXPECT_LE(u64(s, "succeeded"), u64(s, "completed"));
}

TEST(Run, WritesTheRunDirectory) {
  const auto out = run_example("support_desk", "--until 2h", "files");
  for (const char* f : {"manifest.json", "events.jsonl", "metrics.csv", "summary.json",
                        "topology.json", "topology.dot", "scenario.json"}) {
    EXPECT_TRUE(fs::exists(out / f)) << f;
  }
  const auto manifest = read_json(out / "manifest.json");
  EXPECT_EQ(u64(manifest, "seed"), 1u);
  EXPECT_EQ(manifest.at("scenario_name").as_string(), "support_desk");
  EXPECT_TRUE(manifest.contains("finished"));
  const auto summary = read_json(out / "summary.json");
  expect_accounting_identity(summary);
  // Two hourly buckets and a header.
  const auto metrics = read_file(out / "metrics.csv");
  EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 3);
  EXPECT_EQ(metrics.rfind("bucket_start_s,bucket_end_s,arrived,", 0), 0u);
  const auto topology = read_json(out / "topology.json");
  EXPECT_EQ(topology.at("agents").as_array().size(), 4u);
  fs::remove_all(out);
}

std::size_t lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(Events, PrintsOneReadableLinePerEventAndFilters) {
  const auto out = run_example("expert_router", "--until 3h", "events");
  const auto log = read_file(out / "events.jsonl");

  const auto all = colony("events " + out.string());
  ASSERT_EQ(all.exit_code, 0) << all.output;
  EXPECT_EQ(lines(all.output), lines(log));
  EXPECT_EQ(all.output.rfind("0d 00:00:00.000  agent_spawned  backend:finance_llm  ", 0), 0u)
      << all.output.substr(0, 200);

  const auto opened = colony("events " + out.string() + " --type circuit_opened");
  ASSERT_EQ(opened.exit_code, 0);
  std::size_t in_log = 0;
  for (auto p = log.find("\"type\":\"circuit_opened\""); p != std::string::npos;
       p = log.find("\"type\":\"circuit_opened\"", p + 1)) {
    ++in_log;
  }
  EXPECT_GT(in_log, 0u);
  EXPECT_EQ(lines(opened.output), in_log);
  EXPECT_NE(opened.output.find("  circuit_opened  finance_expert  "), std::string::npos);

  // By agent name, in a window of time: every line is the expert's, and inside the window.
  const auto expert =
      colony("events " + out.string() + " --agent finance_expert --since 1h --until 65min");
  ASSERT_EQ(expert.exit_code, 0);
  EXPECT_GT(lines(expert.output), 0u);
  std::istringstream in(expert.output);
  std::string line;
  while (std::getline(in, line)) {
    EXPECT_EQ(line.rfind("0d 01:0", 0), 0u) << line;
    EXPECT_NE(line.find("  finance_expert  "), std::string::npos) << line;
  }
  fs::remove_all(out);
}

TEST(Events, ANonRunDirectoryIsBadInput) {
  const auto r = colony("events " + scratch("no-run").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("events.jsonl: cannot read"), std::string::npos) << r.output;
}

TEST(Run, RefusesANonEmptyOutputDirectoryWithoutForce) {
  const auto out = run_example("support_desk", "--until 10min", "force");
  const auto again = colony("run " + (examples() / "support_desk.json").string() +
                            " --quiet --until 10min --out " + out.string());
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.output.find("the output directory is not empty"), std::string::npos);
  const auto forced = colony("run " + (examples() / "support_desk.json").string() +
                             " --quiet --until 10min --force --out " + out.string());
  EXPECT_EQ(forced.exit_code, 0) << forced.output;
  fs::remove_all(out);
}

TEST(Run, BadScenarioExitsTwoAndWritesNothing) {
  const auto out = scratch("bad");
  const auto r = colony("run " + (examples() / "support_desk.json").string() +
                        " --quiet --set run.duraton=2d --out " + out.string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("unknown key \"duraton\""), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out));
}

// The bundled scenarios, by name; the tests below must see every one of them. Sweep files
// (*_sweep.json) sit beside them and are tested in sweep_test.cpp.
std::vector<std::string> bundled() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(examples())) {
    const auto stem = entry.path().stem().string();
    if (entry.path().extension() == ".json" && !stem.ends_with("_sweep")) names.push_back(stem);
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(Validate, AcceptsEveryBundledScenario) {
  const auto names = bundled();
  ASSERT_EQ(names, (std::vector<std::string>{
                       "committee", "data_pipeline", "emergent_specialization", "expert_router",
                       "library_learning", "market_data", "parallel_merge", "redundant_validators",
                       "self_consistency", "support_desk"}));
  for (const auto& name : names) {
    const auto path = examples() / (name + ".json");
    const auto r = colony("validate " + path.string());
    EXPECT_EQ(r.exit_code, 0) << path << "\n" << r.output;
    EXPECT_NE(r.output.find(": ok ("), std::string::npos) << r.output;
  }
}

// The determinism contract, end to end: same scenario and seed, 1 and 2 threads.
TEST(Run, BundledScenariosAreByteIdenticalForOneAndTwoThreads) {
  const auto names = bundled();
  ASSERT_EQ(names.size(), 10u);
  for (const auto& name : names) {
    const auto one = run_example(name, "--threads 1 --until 6h", "t1");
    const auto two = run_example(name, "--threads 2 --until 6h", "t2");
    for (const char* f :
         {"events.jsonl", "metrics.csv", "topology.jsonl", "library.faiss", "library.sqlite"}) {
      // Only scenarios with a solution library write its files.
      if (std::string_view(f).starts_with("library.") && !fs::exists(one / f)) continue;
      const auto a = read_file(one / f);
      const auto b = read_file(two / f);
      EXPECT_FALSE(a.empty()) << name << " " << f;
      EXPECT_TRUE(a == b) << name << ": " << f << " differs between 1 and 2 threads";
    }
    fs::remove_all(one);
    fs::remove_all(two);
  }
}

}  // namespace
}  // namespace colony::testing
