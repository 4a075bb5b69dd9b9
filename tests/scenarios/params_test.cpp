// Agents against their kinds: kind names, backends, links and parameters. The fake kinds relay,
// scout and solver defined here are registered for the whole test binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <string>
#include <vector>

#include "colony/agents/kinds.hpp"
#include "colony/base/time.hpp"
#include "colony/scenarios/loader.hpp"

namespace colony::scenarios {
namespace {

namespace json = boost::json;
using agents::param_type;

// Hands work to its links; needs at least one. Its "rules" must name links (its own check).
agents::kind_spec relay() {
  agents::kind_spec k;
  k.name = "relay";
  k.min_links = 1;
  k.params = {
      {"strategy", param_type::string, "first", {}, {}, {"first", "round_robin"}, "link order"},
      {"rules", param_type::array, json::array(), {}, {}, {}, "links to prefer"},
  };
  k.check = [](const json::object& params, const std::vector<std::string>& links) {
    std::vector<agents::param_problem> problems;
    const auto& rules = params.at("rules").as_array();
    for (std::size_t i = 0; i < rules.size(); ++i) {
      const auto* target = rules[i].if_string();
      if (target == nullptr || std::find(links.begin(), links.end(), *target) == links.end()) {
        problems.push_back(
            {"/rules/" + std::to_string(i), "rule names no link", "add it to links"});
      }
    }
    return problems;
  };
  return k;
}

// Calls a backend, at most two links; a required number and a duration.
agents::kind_spec scout() {
  agents::kind_spec k;
  k.name = "scout";
  k.needs_backend = true;
  k.max_links = 2;
  k.params = {
      {"k", param_type::integer, 3, 1.0, 10.0, {}, "probes per task"},
      {"mode", param_type::string, "fast", {}, {}, {"fast", "careful"}, "how it probes"},
      {"patience", param_type::duration, "5s", {}, {}, {}, "how long it waits"},
      {"threshold", param_type::number, nullptr, 0.0, 1.0, {}, "confidence needed to answer"},
  };
  return k;
}

// Calls a backend; lists, booleans and an unbounded number.
agents::kind_spec solver() {
  agents::kind_spec k;
  k.name = "solver";
  k.needs_backend = true;
  k.params = {
      {"tags", param_type::string_list, json::array(), {}, {}, {}, "labels"},
      {"verbose", param_type::boolean, false, {}, {}, {}, "log more"},
      {"budget", param_type::number, 1.5, 0.0, {}, {}, "money per task"},
  };
  return k;
}

class fake_kinds : public ::testing::Environment {
 public:
  void SetUp() override {
    static const bool registered = [] {
      return agents::register_kind(relay()) && agents::register_kind(scout()) &&
             agents::register_kind(solver());
    }();
    ASSERT_TRUE(registered);
  }
};

[[maybe_unused]] const auto* const environment =
    ::testing::AddGlobalTestEnvironment(new fake_kinds);

std::vector<std::string> problems_in(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& d : parse_scenario(text, "x.json").problems) out.push_back(d.format());
  return out;
}

// Agents, then a backend and a workload that are always valid.
std::string with_agents(std::string_view agents) {
  return "{\"agents\": [\n" + std::string(agents) +
         "\n],\n\"backends\": [{\"name\": \"m\"}],\n"
         "\"workload\": {\"entry\": \"a\", \"families\": [{\"name\": \"f\", \"domain\": \"d\", "
         "\"templates\": [\"t\"]}]}}";
}

TEST(Params, DefaultsAreFilledInAndDurationsBecomeMicroseconds) {
  const auto r = parse_scenario(with_agents(R"({"kind": "relay", "name": "a", "links": ["s"]},
{"kind": "scout", "name": "s", "backend": "m", "params": {"threshold": 0.5, "patience": "2min"}},
{"kind": "scout", "name": "t", "backend": "m", "params": {"threshold": 1, "patience": 1.5, "k": 10}},
{"kind": "solver", "name": "v", "backend": "m", "params": {"tags": ["x"], "verbose": true}})"),
                                "x.json");
  ASSERT_TRUE(r) << r.problems.front().format();
  const auto& agents = r.value->agents;
  ASSERT_EQ(agents.size(), 4u);
  EXPECT_EQ(agents[0].params, (json::object{{"strategy", "first"}, {"rules", json::array()}}));
  EXPECT_EQ(
      agents[1].params,
      (json::object{{"k", 3}, {"mode", "fast"}, {"patience", 2 * minute}, {"threshold", 0.5}}));
  EXPECT_EQ(agents[2].params.at("patience"), json::value(1500 * msec));
  EXPECT_EQ(agents[2].params.at("k"), json::value(10));
  EXPECT_EQ(agents[3].params,
            (json::object{{"tags", json::array{"x"}}, {"verbose", true}, {"budget", 1.5}}));
}

TEST(Params, UnknownKindSuggestsTheClosestAndListsTheKnown) {
  EXPECT_EQ(problems_in(with_agents(R"({"kind": "relay", "name": "a", "links": ["s"]},
{"kind": "scoutt", "name": "s"})")),
            (std::vector<std::string>{
                "x.json:3:10: error: /agents/1/kind: unknown agent kind \"scoutt\" (did you mean "
                "\"scout\"? known: relay, scout, solver)"}));
  EXPECT_EQ(problems_in(with_agents(R"({"kind": "relay", "name": "a", "links": ["s"]},
{"kind": "painter", "name": "s"})")),
            (std::vector<std::string>{"x.json:3:10: error: /agents/1/kind: unknown agent kind "
                                      "\"painter\" (known: relay, scout, solver)"}));
}

TEST(Params, UnknownParameterSuggestsAmongTheKindsParameters) {
  EXPECT_EQ(problems_in(with_agents(
                R"({"kind": "scout", "name": "a", "backend": "m", "params": {"treshold": 0.5}})")),
            (std::vector<std::string>{
                "x.json:2:58: error: /agents/0/params/threshold: missing required parameter "
                "\"threshold\" (confidence needed to answer)",
                "x.json:2:59: error: /agents/0/params/treshold: unknown key \"treshold\" (did you "
                "mean \"threshold\"?)"}));
}

TEST(Params, WrongTypesRangesAndChoicesAreReportedPerParameter) {
  EXPECT_EQ(
      problems_in(with_agents(
          R"({"kind": "scout", "name": "a", "backend": "m", "params": {"threshold": 1.5, "k": 2.5, "mode": "fsat", "patience": "soon"}},
{"kind": "solver", "name": "b", "backend": "m", "params": {"tags": ["x", 3], "verbose": "yes", "budget": -1}},
{"kind": "scout", "name": "c", "backend": "m", "params": {"threshold": "high", "k": 0, "mode": "slow", "patience": -2}})")),
      (std::vector<std::string>{
          "x.json:2:72: error: /agents/0/params/threshold: 1.5 is out of range (allowed: 0 to 1)",
          "x.json:2:82: error: /agents/0/params/k: expected an integer, got 2.5",
          "x.json:2:95: error: /agents/0/params/mode: \"fsat\" is not one of the choices (did you "
          "mean \"fast\"? choices: fast, careful)",
          "x.json:2:115: error: /agents/0/params/patience: \"soon\" is not a duration (use a "
          "number with a unit: us, ms, s, min, h, d, e.g. \"30d\")",
          "x.json:3:74: error: /agents/1/params/tags/1: expected a string, got a number",
          "x.json:3:89: error: /agents/1/params/verbose: expected true or false, got a string",
          "x.json:3:106: error: /agents/1/params/budget: -1 is out of range (allowed: 0 or more)",
          "x.json:4:72: error: /agents/2/params/threshold: expected a number, got a string",
          "x.json:4:85: error: /agents/2/params/k: 0 is out of range (allowed: 1 to 10)",
          "x.json:4:96: error: /agents/2/params/mode: \"slow\" is not one of the choices (choices: "
          "fast, careful)",
          "x.json:4:116: error: /agents/2/params/patience: -2 is out of range (allowed: 0s or "
          "more)"}));
}

TEST(Params, KindCheckProblemsArePlacedUnderTheParams) {
  EXPECT_EQ(problems_in(with_agents(
                R"({"kind": "relay", "name": "a", "links": ["b"], "params": {"rules": ["b", "z"]}},
{"kind": "solver", "name": "b", "backend": "m"})")),
            (std::vector<std::string>{
                "x.json:2:74: error: /agents/0/params/rules/1: rule names no link (add it to "
                "links)"}));
}

TEST(Params, BackendIsRequiredWhenTheKindCallsOne) {
  EXPECT_EQ(
      problems_in(with_agents(R"({"kind": "scout", "name": "a", "params": {"threshold": 0}})")),
      (std::vector<std::string>{"x.json:2:1: error: /agents/0/backend: missing required key "
                                "\"backend\" (agents of kind \"scout\" call a backend)"}));
}

TEST(Params, LinkCountsFollowTheKindAndNoAgentLinksToItself) {
  EXPECT_EQ(
      problems_in(with_agents(R"({"kind": "relay", "name": "a"},
{"kind": "scout", "name": "s", "backend": "m", "links": ["a", "s", "b"], "params": {"threshold": 0}},
{"kind": "relay", "name": "r", "links": ["a", "ghost"]})")),
      (std::vector<std::string>{
          "x.json:2:1: error: /agents/0/links: kind \"relay\" takes at least 1 link, got 0",
          "x.json:3:57: error: /agents/1/links: kind \"scout\" takes at most 2 links, got 3",
          "x.json:3:63: error: /agents/1/links/1: agent \"s\" links to itself",
          "x.json:3:68: error: /agents/1/links/2: unknown agent \"b\" (known: a, s, r)",
          "x.json:4:47: error: /agents/2/links/1: unknown agent \"ghost\" (known: a, s, r)"}));
}

}  // namespace
}  // namespace colony::scenarios
