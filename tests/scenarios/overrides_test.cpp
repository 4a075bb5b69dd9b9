// --set overrides: paths, values, and diagnostics that point at the override. The agent kinds
// relay, scout and solver are registered by params_test.cpp.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "colony/base/time.hpp"
#include "colony/scenarios/loader.hpp"

namespace colony::scenarios {
namespace {

namespace json = boost::json;

constexpr std::string_view base = R"({
  "backends": [{"name": "m"}, {"name": "n"}],
  "locales": ["eu", "us"],
  "agents": [
    {"kind": "relay", "name": "router", "links": ["worker"]},
    {"kind": "solver", "name": "worker", "backend": "m"}
  ],
  "workload": {"entry": "router", "families": [{"name": "f", "domain": "d", "templates": ["t"]}]}
})";

load_result with(const std::vector<std::string>& overrides, std::string_view text = base) {
  return parse_scenario(text, "x.json", overrides);
}

std::vector<std::string> problems_with(const std::vector<std::string>& overrides,
                                       std::string_view text = base) {
  std::vector<std::string> out;
  for (const auto& d : with(overrides, text).problems) out.push_back(d.format());
  return out;
}

TEST(Overrides, DottedPathsAndPointersSetValues) {
  const auto r = with({"run.duration=2d", "/run/seed=7", "workload.families.0.share=0.5"});
  ASSERT_TRUE(r) << r.problems.front().format();
  EXPECT_EQ(r.value->run.duration, 2 * day);
  EXPECT_EQ(r.value->run.seed, 7u);
  EXPECT_EQ(r.value->work.families[0].share, 0.5);
  EXPECT_EQ(r.value->as_run.at("run"), (json::object{{"duration", "2d"}, {"seed", 7}}));
}

TEST(Overrides, ArrayElementsAreChosenByIndexOrByName) {
  const auto r = with({"agents.worker.backend=n", "locales.us=ap", "agents.0.locale=ap"});
  ASSERT_TRUE(r) << r.problems.front().format();
  EXPECT_EQ(r.value->agents[1].backend, "n");
  EXPECT_EQ(r.value->agents[0].locale, "ap");
  EXPECT_EQ(r.value->locales[1].name, "ap");
}

TEST(Overrides, ValuesAreJsonWhenTheyParseAndStringsOtherwise) {
  const auto r = with({"agents.router.links=[\"worker\", \"worker\"]",
                       "agents.1.params={\"verbose\": true}", "description=\"42\"", "name=my run"});
  ASSERT_TRUE(r) << r.problems.front().format();
  EXPECT_EQ(r.value->agents[0].links, (std::vector<std::string>{"worker", "worker"}));
  EXPECT_EQ(r.value->agents[1].params.at("verbose"), json::value(true));
  EXPECT_EQ(r.value->description, "42");
  EXPECT_EQ(r.value->name, "my run");
  EXPECT_EQ(problems_with({"description=42"}),
            std::vector<std::string>{
                "--set description=42: error: /description: expected a string, got a number"});
}

TEST(Overrides, DiagnosticsInsideAnOverridePointAtIt) {
  EXPECT_EQ(problems_with({"run.duraton=2d", "backends.m={\"name\": \"m\", \"failure_rate\": 3}",
                           "agents.router.links=[\"ghost\"]"}),
            (std::vector<std::string>{
                "--set run.duraton=2d: error: /run/duraton: unknown key \"duraton\" (did you mean "
                "\"duration\"?)",
                "--set backends.m={\"name\": \"m\", \"failure_rate\": 3}: error: "
                "/backends/0/failure_rate: 3 is out of range (allowed: 0 to 1)",
                "--set agents.router.links=[\"ghost\"]: error: /agents/0/links/0: unknown agent "
                "\"ghost\" (known: router, worker)"}));
}

TEST(Overrides, FileProblemsComeFirstThenOverridesInTheirOrder) {
  const std::string text = R"({"run": {"seed": -1},)" + std::string(base.substr(1));
  EXPECT_EQ(problems_with({"run.lookahead=0s", "run.duration=soon"}, text),
            (std::vector<std::string>{
                "x.json:1:18: error: /run/seed: -1 is out of range (allowed: 0 or more)",
                "--set run.lookahead=0s: error: /run/lookahead: \"0s\" is out of range (allowed: "
                "more than 0s, up to 1h)",
                "--set run.duration=soon: error: /run/duration: \"soon\" is not a duration (use a "
                "number with a unit: us, ms, s, min, h, d, e.g. \"30d\")"}));
}

TEST(Overrides, TheLastOverrideOfAValueIsTheOneBlamed) {
  EXPECT_EQ(problems_with({"run.seed=-1", "run={\"seed\": -2}"}),
            std::vector<std::string>{"--set run={\"seed\": -2}: error: /run/seed: -2 is out of "
                                     "range (allowed: 0 or more)"});
}

TEST(Overrides, PathsThatDoNotResolveAreDiagnostics) {
  EXPECT_EQ(
      problems_with({"agents.9.name=x", "agents.99999999999999999999999.name=x",
                     "agents.routr.backend=m", "workload.entry.x=1", "run.seed", "a..b=1", "=1"}),
      (std::vector<std::string>{
          "--set agents.9.name=x: error: /agents: no element 9 (the array has 2)",
          "--set agents.99999999999999999999999.name=x: error: /agents: no element "
          "99999999999999999999999 (the array has 2)",
          "--set agents.routr.backend=m: error: /agents: no element named \"routr\" (did "
          "you mean \"router\"? known: router, worker)",
          "--set workload.entry.x=1: error: /workload/entry: cannot set inside a string "
          "(only objects and arrays have members)",
          "--set run.seed: error: expected PATH=VALUE (PATH is dotted (run.seed, "
          "agents.router.backend) or a JSON pointer (/run/seed))",
          "--set a..b=1: error: expected PATH=VALUE (PATH is dotted (run.seed, "
          "agents.router.backend) or a JSON pointer (/run/seed))",
          "--set =1: error: expected PATH=VALUE (PATH is dotted (run.seed, "
          "agents.router.backend) or a JSON pointer (/run/seed))"}));
}

TEST(Overrides, PointerSegmentsAreUnescaped) {
  const auto r = with({"/backends/0/skill/a~1b=0.5", "/backends/0/skill/c~0d=0.25"});
  ASSERT_TRUE(r) << r.problems.front().format();
  EXPECT_EQ(r.value->backends[0].skill.at("a/b"), 0.5);
  EXPECT_EQ(r.value->backends[0].skill.at("c~d"), 0.25);
}

}  // namespace
}  // namespace colony::scenarios

namespace colony::scenarios {
namespace {

// Regression: Boost.JSON reads 1e400 as infinity, which passed every bound and made a run spin.
TEST(Overrides, InfiniteNumbersAreRefused) {
  EXPECT_EQ(
      problems_with({"workload.rate=1e400"}),
      (std::vector<std::string>{"--set workload.rate=1e400: error: /workload/rate: the number "
                                "is too large to represent (use a finite number)"}));
  EXPECT_EQ(problems_with({"backends.m.price.in=1e400"}).size(), 1u);
  EXPECT_EQ(problems_with({"run.duration=1e400"}).size(), 1u);
}

}  // namespace
}  // namespace colony::scenarios
