// Loading scenario files: every field with its default, and each kind of mistake with its exact
// diagnostic. The agent kinds relay, scout and solver are registered by params_test.cpp.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "colony/base/time.hpp"
#include "colony/scenarios/loader.hpp"

namespace colony::scenarios {
namespace {

namespace json = boost::json;

std::vector<std::string> problems_in(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& d : parse_scenario(text, "x.json").problems) out.push_back(d.format());
  return out;
}

// Valid agents, backend and workload, to close a document whose own members come first.
constexpr std::string_view valid_rest = R"("backends": [{"name": "m"}],
"agents": [{"kind": "solver", "name": "a", "backend": "m"}],
"workload": {"entry": "a", "families": [{"name": "f", "domain": "d", "templates": ["t"]}]}})";

std::string with_rest(std::string_view head) {
  return std::string(head) + std::string(valid_rest);
}

constexpr std::string_view full_scenario = R"({
  "$schema": "../colony.schema.json",
  "description": "every section",
  "run": {"duration": "30d", "lookahead": "5ms"},
  "backends": [
    {
      "name": "big",
      "latency": {"lognormal": {"median": "800ms", "p95": "2s"}},
      "tokens": {"in": 900},
      "price": {"in": 0.5, "out": 1.5},
      "skill": {"finance": 0.9, "default": 0.2},
      "discrimination": 4,
      "confidence_gap": 0.3,
      "confidence_noise": 0,
      "failure_rate": 0.01,
      "timeout": 30,
      "concurrency": 8
    },
    {"name": "small"},
    {"name": "quick", "latency": {"exponential": "250ms"}}
  ],
  "locales": ["eu", {"name": "us-east.1"}],
  "agents": [
    {"kind": "relay", "name": "front", "links": ["worker"]},
    {"kind": "solver", "name": "worker", "backend": "big", "locale": "us-east.1"}
  ],
  "workload": {
    "entry": "front",
    "rate": "120/min",
    "max_tasks": 5000,
    "bursts": [{"at": "9h", "duration": "1h", "multiplier": 3, "every": "1d"}],
    "phases": [{"at": "10d", "family": "loans", "share": 2}],
    "families": [
      {
        "name": "loans",
        "domain": "finance",
        "templates": ["Loan of {amount} for {who}?", "Rate for {who}"],
        "slots": {"amount": {"int": [100, 900]}, "who": ["ann", "bo"]},
        "difficulty": {"beta": [2, 5]},
        "complexity": {"normal": [0.4, 0.1]},
        "options": 3,
        "share": 0.5
      },
      {"name": "misc", "domain": "general", "templates": ["{x} or not"],
       "slots": {"x": ["a"]}, "difficulty": {"uniform": [0.1, 0.4]}, "complexity": 0.8}
    ]
  },
  "policies": {}
})";

TEST(Loader, FullScenarioLoadsWithEveryDefaultFilledIn) {
  const auto r = parse_scenario(full_scenario, "scenarios/full.json");
  ASSERT_TRUE(r) << r.problems.front().format();
  const auto& s = *r.value;
  EXPECT_EQ(s.name, "full");
  EXPECT_EQ(s.description, "every section");
  EXPECT_EQ(s.source, std::filesystem::path("scenarios/full.json"));
  EXPECT_EQ(s.run.duration, 30 * day);
  EXPECT_EQ(s.run.seed, 1u);
  EXPECT_EQ(s.run.metrics_bucket, 1 * hour);
  EXPECT_EQ(s.run.lookahead, 5 * msec);

  ASSERT_EQ(s.backends.size(), 3u);
  const auto& big = s.backends[0];
  EXPECT_EQ(big.latency.kind, agents::latency_kind::lognormal);
  EXPECT_EQ(big.latency.value, 800 * msec);
  EXPECT_EQ(big.latency.p95, 2 * sec);
  EXPECT_EQ(big.tokens_in, 900u);
  EXPECT_EQ(big.tokens_out, 200u);
  EXPECT_EQ(big.price_in, 0.5);
  EXPECT_EQ(big.price_out, 1.5);
  EXPECT_EQ(big.skill, (std::map<std::string, double>{{"finance", 0.9}}));
  EXPECT_EQ(big.default_skill, 0.2);
  EXPECT_EQ(big.discrimination, 4);
  EXPECT_EQ(big.confidence_gap, 0.3);
  EXPECT_EQ(big.confidence_noise, 0);
  EXPECT_EQ(big.failure_rate, 0.01);
  EXPECT_EQ(big.timeout, 30 * sec);
  EXPECT_EQ(big.concurrency, 8u);
  const auto& small = s.backends[1];
  EXPECT_EQ(small.latency.kind, agents::latency_kind::constant);
  EXPECT_EQ(small.latency.value, 1 * sec);
  EXPECT_EQ(small.tokens_in, 500u);
  EXPECT_EQ(small.price_in, 0);
  EXPECT_TRUE(small.skill.empty());
  EXPECT_EQ(small.default_skill, 0.5);
  EXPECT_EQ(small.discrimination, 10);
  EXPECT_EQ(small.confidence_gap, 0.15);
  EXPECT_EQ(small.confidence_noise, 0.1);
  EXPECT_EQ(small.failure_rate, 0);
  EXPECT_EQ(small.timeout, 60 * sec);
  EXPECT_EQ(small.concurrency, 0u);
  EXPECT_EQ(s.backends[2].latency.kind, agents::latency_kind::exponential);
  EXPECT_EQ(s.backends[2].latency.value, 250 * msec);

  ASSERT_EQ(s.locales.size(), 2u);
  EXPECT_EQ(s.locales[1].name, "us-east.1");
  ASSERT_EQ(s.agents.size(), 2u);
  EXPECT_EQ(s.agents[0].locale, "eu");
  EXPECT_EQ(s.agents[0].links, std::vector<std::string>{"worker"});
  EXPECT_EQ(s.agents[0].backend, "");
  EXPECT_EQ(s.agents[1].locale, "us-east.1");
  EXPECT_EQ(s.agents[1].backend, "big");

  const auto& w = s.work;
  EXPECT_EQ(w.entry, "front");
  EXPECT_DOUBLE_EQ(w.arrival.rate_per_sec, 2);
  EXPECT_EQ(w.max_tasks, 5000u);
  ASSERT_EQ(w.arrival.bursts.size(), 1u);
  EXPECT_EQ(w.arrival.bursts[0].at, 9 * hour);
  EXPECT_EQ(w.arrival.bursts[0].duration, 1 * hour);
  EXPECT_EQ(w.arrival.bursts[0].multiplier, 3);
  EXPECT_EQ(w.arrival.bursts[0].every, 1 * day);
  ASSERT_EQ(w.arrival.phases.size(), 1u);
  EXPECT_EQ(w.arrival.phases[0].at, 10 * day);
  EXPECT_EQ(w.arrival.phases[0].family, "loans");
  EXPECT_EQ(w.arrival.phases[0].share, 2);
  ASSERT_EQ(w.families.size(), 2u);
  const auto& loans = w.families[0];
  EXPECT_EQ(loans.domain, "finance");
  EXPECT_EQ(loans.templates.size(), 2u);
  EXPECT_EQ(loans.slots.at("amount").low, 100);
  EXPECT_EQ(loans.slots.at("amount").high, 900);
  EXPECT_EQ(loans.slots.at("who").choices, (std::vector<std::string>{"ann", "bo"}));
  EXPECT_EQ(loans.difficulty.shape, distribution::kind::beta);
  EXPECT_EQ(loans.difficulty.a, 2);
  EXPECT_EQ(loans.difficulty.b, 5);
  EXPECT_EQ(loans.complexity.shape, distribution::kind::normal);
  EXPECT_EQ(loans.options, 3u);
  EXPECT_EQ(loans.share, 0.5);
  const auto& misc = w.families[1];
  EXPECT_EQ(misc.difficulty.shape, distribution::kind::uniform);
  EXPECT_EQ(misc.difficulty.b, 0.4);
  EXPECT_EQ(misc.complexity.shape, distribution::kind::constant);
  EXPECT_EQ(misc.complexity.a, 0.8);
  EXPECT_EQ(misc.options, 4u);
  EXPECT_EQ(misc.share, 1);

  EXPECT_TRUE(s.policies.empty());  // no organizer: nothing to fill in
  EXPECT_EQ(s.as_run, json::parse(full_scenario));
}

TEST(Loader, MinimalScenarioTakesTheDocumentedDefaults) {
  const auto r = parse_scenario(R"({"agents": [{"kind": "solver", "name": "a", "backend": "m"}],
"backends": [{"name": "m"}],
"workload": {"entry": "a", "families": [{"name": "f", "domain": "d", "templates": ["t"]}]}})",
                                "dir/tiny.json");
  ASSERT_TRUE(r) << r.problems.front().format();
  const auto& s = *r.value;
  EXPECT_EQ(s.name, "tiny");
  EXPECT_EQ(s.run.duration, 1 * day);
  EXPECT_EQ(s.agents[0].locale, "");
  EXPECT_EQ(s.work.arrival.rate_per_sec, 1);
  EXPECT_EQ(s.work.max_tasks, 0u);
  EXPECT_EQ(s.work.families[0].difficulty.shape, distribution::kind::constant);
  EXPECT_EQ(s.work.families[0].difficulty.a, 0.5);
  EXPECT_EQ(s.work.families[0].complexity.a, 0.3);
  EXPECT_TRUE(s.policies.empty());
}

TEST(Loader, SyntaxErrorIsOneDiagnosticAtItsPosition) {
  EXPECT_EQ(problems_in("{\n  \"run\": {\"seed\": 1,}\n}"),
            std::vector<std::string>{"x.json:2:21: error: syntax error"});
  EXPECT_EQ(problems_in("{\n  \"name\": \"x\"\n"),
            std::vector<std::string>{"x.json:3:1: error: incomplete JSON"});
  EXPECT_EQ(problems_in("{} {}"), std::vector<std::string>{"x.json:1:4: error: extra data"});
}

TEST(Loader, ColumnsCountCharactersNotBytes) {
  EXPECT_EQ(problems_in(with_rest("{\"description\": \"h\xc3\xa9\", \"nme\": 1,\n")),
            std::vector<std::string>{
                "x.json:1:23: error: /nme: unknown key \"nme\" (did you mean \"name\"?)"});
}

TEST(Loader, UnknownKeysSuggestTheClosestKnownOne) {
  EXPECT_EQ(problems_in(with_rest(R"({
  "run": {"duraton": "2d"},
  "worklaod": 1,
  "locales": [{"name": "eu", "nmae": "x"}],
  "zzz": true,
)")),
            (std::vector<std::string>{
                "x.json:2:11: error: /run/duraton: unknown key \"duraton\" (did you mean "
                "\"duration\"?)",
                "x.json:3:3: error: /worklaod: unknown key \"worklaod\" (did you mean "
                "\"workload\"?)",
                "x.json:4:30: error: /locales/0/nmae: unknown key \"nmae\" (did you mean "
                "\"name\"?)",
                "x.json:5:3: error: /zzz: unknown key \"zzz\" (known: $schema, name, description, "
                "run, backends, locales, agents, workload, policies, library, stores)"}));
}

TEST(Loader, DuplicateJsonKeysAreReportedAtTheSecond) {
  EXPECT_EQ(problems_in(with_rest("{\"name\": \"a\",\n\"name\": \"b\",\n")),
            std::vector<std::string>{"x.json:2:1: error: /name: duplicate key \"name\" (keys "
                                     "must be unique in an object; remove one)"});
}

TEST(Loader, MissingRequiredKeyPointsAtTheEnclosingObject) {
  EXPECT_EQ(problems_in(R"({"agents": [{"kind": "solver", "name": "a", "backend": "m"}],
"backends": [{"latency": "1s"}],
"workload": {"families": [{"name": "f", "templates": ["t"]}]}})"),
            (std::vector<std::string>{
                "x.json:1:56: error: /agents/0/backend: unknown backend \"m\" (no backends are "
                "declared)",
                "x.json:2:14: error: /backends/0/name: missing required key \"name\"",
                "x.json:3:13: error: /workload/entry: missing required key \"entry\"",
                "x.json:3:27: error: /workload/families/0/domain: missing required key "
                "\"domain\""}));
  EXPECT_EQ(problems_in("{}"),
            std::vector<std::string>{"x.json:1:1: error: /workload: missing required key "
                                     "\"workload\""});
}

TEST(Loader, WrongTypesSayWhatWasExpected) {
  EXPECT_EQ(problems_in(with_rest(R"({
  "name": 7,
  "run": {"seed": "7", "duration": [1]},
  "locales": "eu",
  "policies": [],
)")),
            (std::vector<std::string>{
                "x.json:2:11: error: /name: expected a string, got a number",
                "x.json:3:19: error: /run/seed: expected an integer, got a string",
                "x.json:3:36: error: /run/duration: expected a duration, got an array (a number "
                "of seconds or a string with a unit, e.g. \"250ms\", \"30d\")",
                "x.json:4:14: error: /locales: expected an array, got a string",
                "x.json:5:15: error: /policies: expected an object, got an array"}));
  EXPECT_EQ(problems_in("[]"),
            std::vector<std::string>{"x.json:1:1: error: expected an object, got an array"});
}

TEST(Loader, OutOfRangeStatesTheAllowedRange) {
  EXPECT_EQ(problems_in(R"({"agents": [{"kind": "solver", "name": "a", "backend": "m"}],
"backends": [{"name": "m", "failure_rate": 1.5, "discrimination": 0, "tokens": {"out": -3},
  "concurrency": 5000000000, "skill": {"law": 2}, "timeout": "0s"}],
"run": {"seed": -1, "metrics_bucket": "1h", "lookahead": "2h"},
"workload": {"entry": "a", "max_tasks": 1.5, "families": [{"name": "f", "domain": "d",
  "templates": ["t"], "options": 1, "share": -1}]}})"),
            (std::vector<std::string>{
                "x.json:2:44: error: /backends/0/failure_rate: 1.5 is out of range (allowed: 0 "
                "to 1)",
                "x.json:2:67: error: /backends/0/discrimination: 0 is out of range (allowed: "
                "more than 0)",
                "x.json:2:88: error: /backends/0/tokens/out: -3 is out of range (allowed: 0 to "
                "4294967295)",
                "x.json:3:18: error: /backends/0/concurrency: 5000000000 is out of range "
                "(allowed: 0 to 4294967295)",
                "x.json:3:47: error: /backends/0/skill/law: 2 is out of range (allowed: 0 to 1)",
                "x.json:3:62: error: /backends/0/timeout: \"0s\" is out of range (allowed: more "
                "than 0s)",
                "x.json:4:17: error: /run/seed: -1 is out of range (allowed: 0 or more)",
                "x.json:4:58: error: /run/lookahead: \"2h\" is out of range (allowed: more than "
                "0s, up to 1h)",
                "x.json:5:41: error: /workload/max_tasks: expected an integer, got 1.5",
                "x.json:6:34: error: /workload/families/0/options: 1 is out of range (allowed: 2 "
                "to 4294967295)",
                "x.json:6:46: error: /workload/families/0/share: -1 is out of range (allowed: "
                "0 or more)"}));
}

TEST(Loader, ConfidenceGapAndNoiseAreNumbersFromZeroToOne) {
  EXPECT_EQ(problems_in(R"({"agents": [{"kind": "solver", "name": "a", "backend": "m"}],
"backends": [{"name": "m", "confidence_gap": 1.2, "confidence_noise": -0.1},
  {"name": "n", "confidence_gap": "0.2", "confidence_noise": 1.5},
  {"name": "o", "confidence_gap": 0, "confidence_noise": 1, "confidence_nosie": 0.2}],
"workload": {"entry": "a", "families": [{"name": "f", "domain": "d", "templates": ["t"]}]}})"),
            (std::vector<std::string>{
                "x.json:2:46: error: /backends/0/confidence_gap: 1.2 is out of range (allowed: 0 "
                "to 1)",
                "x.json:2:71: error: /backends/0/confidence_noise: -0.1 is out of range "
                "(allowed: 0 to 1)",
                "x.json:3:35: error: /backends/1/confidence_gap: expected a number, got a string",
                "x.json:3:62: error: /backends/1/confidence_noise: 1.5 is out of range (allowed: "
                "0 to 1)",
                "x.json:4:61: error: /backends/2/confidence_nosie: unknown key "
                "\"confidence_nosie\" (did you mean \"confidence_noise\"?)"}));
}

TEST(Loader, DurationsAndRatesNeedUnits) {
  EXPECT_EQ(problems_in(with_rest(R"({
  "run": {"duration": "3 days", "metrics_bucket": "5", "lookahead": "-1ms"},
)")),
            (std::vector<std::string>{
                "x.json:2:23: error: /run/duration: \"3 days\" is not a duration (use a number "
                "with a unit: us, ms, s, min, h, d, e.g. \"30d\")",
                "x.json:2:51: error: /run/metrics_bucket: \"5\" is not a duration (add a unit: "
                "\"5s\")",
                "x.json:2:69: error: /run/lookahead: \"-1ms\" is out of range (allowed: more than "
                "0s)"}));
  EXPECT_EQ(problems_in(R"({"agents": [{"kind": "solver", "name": "a", "backend": "m"}],
"backends": [{"name": "m"}],
"workload": {"entry": "a", "rate": "2 per s", "families": [{"name": "f", "domain": "d", "templates": ["t"]}]}})"),
            (std::vector<std::string>{
                "x.json:3:36: error: /workload/rate: \"2 per s\" is not a rate (use a count per "
                "unit: \"120/min\", \"2/s\", \"50/h\", \"1000/d\")"}));
}

TEST(Loader, PlainNumbersAreSecondsAndPerSecond) {
  const auto r = parse_scenario(with_rest(R"({"run": {"duration": 90, "lookahead": 0.002},
"locales": [], )"),
                                "x.json");
  ASSERT_TRUE(r) << r.problems.front().format();
  EXPECT_EQ(r.value->run.duration, 90 * sec);
  EXPECT_EQ(r.value->run.lookahead, 2 * msec);
  const auto rate = parse_scenario(R"({"agents": [{"kind": "solver", "name": "a", "backend": "m"}],
"backends": [{"name": "m"}],
"workload": {"entry": "a", "rate": 0.25, "families": [{"name": "f", "domain": "d", "templates": ["t"]}]}})",
                                   "x.json");
  ASSERT_TRUE(rate);
  EXPECT_EQ(rate.value->work.arrival.rate_per_sec, 0.25);
}

TEST(Loader, DuplicateNamesPointAtTheFirst) {
  EXPECT_EQ(problems_in(R"({"backends": [{"name": "m"}, {"name": "m"}],
"locales": ["eu", "eu"],
"agents": [{"kind": "solver", "name": "a", "backend": "m"}, {"kind": "solver", "name": "a", "backend": "m"}],
"workload": {"entry": "a", "families": [{"name": "f", "domain": "d", "templates": ["t"]},
  {"name": "f", "domain": "d", "templates": ["t"]}]}})"),
            (std::vector<std::string>{
                "x.json:1:39: error: /backends/1/name: duplicate backend name \"m\" (first "
                "defined at /backends/0/name)",
                "x.json:2:19: error: /locales/1: duplicate locale name \"eu\" (first defined at "
                "/locales/0)",
                "x.json:3:88: error: /agents/1/name: duplicate agent name \"a\" (first defined "
                "at /agents/0/name)",
                "x.json:5:12: error: /workload/families/1/name: duplicate task family name \"f\" "
                "(first defined at /workload/families/0/name)"}));
}

TEST(Loader, DanglingReferencesSuggestDeclaredNames) {
  EXPECT_EQ(problems_in(R"({"backends": [{"name": "gpt"}], "locales": ["eu"],
"agents": [{"kind": "solver", "name": "a", "backend": "gtp", "locale": "us"},
  {"kind": "relay", "name": "b", "links": ["c"]}],
"workload": {"entry": "front", "phases": [{"at": "1d", "family": "lons"}],
  "families": [{"name": "loans", "domain": "d", "templates": ["t"]}]}})"),
            (std::vector<std::string>{
                "x.json:2:55: error: /agents/0/backend: unknown backend \"gtp\" (did you mean "
                "\"gpt\"? known: gpt)",
                "x.json:2:72: error: /agents/0/locale: unknown locale \"us\" (known: eu)",
                "x.json:3:44: error: /agents/1/links/0: unknown agent \"c\" (known: a, b)",
                "x.json:4:23: error: /workload/entry: unknown agent \"front\" (known: a, b)",
                "x.json:4:66: error: /workload/phases/0/family: unknown task family \"lons\" "
                "(did you mean \"loans\"? known: loans)"}));
}

TEST(Loader, LocaleNamesMustBeSafeFileNames) {
  const std::string hint =
      " is not a safe file name (a locale name becomes a file name: at most 64 letters, digits, "
      "'_', '-' or '.', starting with a letter, digit or '_')";
  EXPECT_EQ(problems_in(with_rest(R"({"locales": ["../x", "/abs", "a/b", "a\u0001", "..", "",
  {"name": ".hidden"}, "ok_name-1.2"],
)")),
            (std::vector<std::string>{"x.json:1:14: error: /locales/0: \"../x\"" + hint,
                                      "x.json:1:22: error: /locales/1: \"/abs\"" + hint,
                                      "x.json:1:30: error: /locales/2: \"a/b\"" + hint,
                                      "x.json:1:37: error: /locales/3: \"a\\u0001\"" + hint,
                                      "x.json:1:48: error: /locales/4: \"..\"" + hint,
                                      "x.json:1:54: error: /locales/5: \"\"" + hint,
                                      "x.json:2:12: error: /locales/6/name: \".hidden\"" + hint}));
  EXPECT_EQ(problems_in(with_rest("{\"locales\": [\"" + std::string(65, 'a') + "\"],")).size(), 1u);
}

TEST(Loader, TemplatePlaceholdersAndSlotsMustMatch) {
  EXPECT_EQ(problems_in(R"({"agents": [{"kind": "solver", "name": "a", "backend": "m"}],
"backends": [{"name": "m"}],
"workload": {"entry": "a", "families": [{"name": "f", "domain": "d",
  "templates": ["Pay {amount} to {whom}", "{not a placeholder}"],
  "slots": {"amount": {"int": [9, 1]}, "who": ["x"], "spare": []}}]}})"),
            (std::vector<std::string>{
                "x.json:5:35: error: /workload/families/0/slots/amount/int/1: 1 is out of range "
                "(allowed: 9 or more)",
                "x.json:5:63: error: /workload/families/0/slots/spare: expected at least one "
                "element, got an empty array"}));
  EXPECT_EQ(problems_in(R"({"agents": [{"kind": "solver", "name": "a", "backend": "m"}],
"backends": [{"name": "m"}],
"workload": {"entry": "a", "families": [{"name": "f", "domain": "d",
  "templates": ["Pay {amount} to {whom}", "{not a placeholder}"],
  "slots": {"amount": {"int": [1, 9]}, "who": ["x"], "spare": ["y"]}}]}})"),
            (std::vector<std::string>{
                "x.json:4:17: error: /workload/families/0/templates/0: placeholder {whom} has no "
                "slot (did you mean \"who\"? slots: amount, spare, who)",
                "x.json:5:40: error: /workload/families/0/slots/who: slot \"who\" is not used by "
                "any template (use {who} in a template or remove the slot)",
                "x.json:5:54: error: /workload/families/0/slots/spare: slot \"spare\" is not "
                "used by any template (use {spare} in a template or remove the slot)"}));
}

TEST(Loader, LatencyAndDistributionShapes) {
  EXPECT_EQ(problems_in(R"({"agents": [{"kind": "solver", "name": "a", "backend": "m"}],
"backends": [{"name": "m", "latency": {"lognormal": {"median": "2s", "p95": "1s"}}},
  {"name": "n", "latency": {"gamma": "1s"}}, {"name": "o", "latency": {"constant": 1, "exponential": 2}}],
"workload": {"entry": "a", "families": [{"name": "f", "domain": "d", "templates": ["t"],
  "difficulty": {"uniform": [0.8, 0.2]}, "complexity": {"beta": [0, 1, 2]}},
  {"name": "g", "domain": "d", "templates": ["t"], "difficulty": "hard", "complexity": 1.2}]}})"),
            (std::vector<std::string>{
                "x.json:2:77: error: /backends/0/latency/lognormal/p95: \"1s\" is out of range "
                "(allowed: more than 2s)",
                "x.json:3:29: error: /backends/1/latency/gamma: unknown key \"gamma\" (known: "
                "constant, exponential, lognormal)",
                "x.json:3:71: error: /backends/2/latency: expected exactly one key, got 2 (one "
                "of: constant, exponential, lognormal)",
                "x.json:5:35: error: /workload/families/0/difficulty/uniform/1: 0.2 is out of "
                "range (allowed: 0.8 to 1)",
                "x.json:5:65: error: /workload/families/0/complexity/beta: expected two numbers, "
                "got 3",
                "x.json:6:66: error: /workload/families/1/difficulty: expected a number or a "
                "distribution, got a string (e.g. 0.5, {\"uniform\": [0.2, 0.8]}, {\"normal\": "
                "[0.5, 0.1]}, {\"beta\": [2, 5]})",
                "x.json:6:88: error: /workload/families/1/complexity: 1.2 is out of range "
                "(allowed: 0 to 1)"}));
}

TEST(Loader, EveryProblemIsReportedInDocumentOrder) {
  const auto r = parse_scenario(R"({
  "workload": {"entry": "ghost", "families": []},
  "agents": [{"kind": "solver", "name": "a", "backend": "m", "links": 3}],
  "run": {"seed": -4},
  "backends": [{"name": "m", "failure_rate": 2}]
})",
                                "x.json");
  EXPECT_FALSE(r);
  EXPECT_FALSE(r.value.has_value());
  std::vector<std::string> got;
  for (const auto& d : r.problems) got.push_back(d.format());
  EXPECT_EQ(got, (std::vector<std::string>{
                     "x.json:2:25: error: /workload/entry: unknown agent \"ghost\" (known: a)",
                     "x.json:2:46: error: /workload/families: expected at least one element, got "
                     "an empty array",
                     "x.json:3:71: error: /agents/0/links: expected an array, got a number",
                     "x.json:4:19: error: /run/seed: -4 is out of range (allowed: 0 or more)",
                     "x.json:5:46: error: /backends/0/failure_rate: 2 is out of range (allowed: 0 "
                     "to 1)"}));
}

TEST(Loader, DiagnosticFieldsAndFormat) {
  const auto r = parse_scenario(with_rest("{\"run\": {\"seed\": -1},\n"), "dir/x.json");
  ASSERT_EQ(r.problems.size(), 1u);
  const auto& d = r.problems[0];
  EXPECT_EQ(d.where, "dir/x.json:1:18");
  EXPECT_EQ(d.pointer, "/run/seed");
  EXPECT_EQ(d.message, "-1 is out of range");
  EXPECT_EQ(d.hint, "allowed: 0 or more");
  EXPECT_EQ((diagnostic{"f", "", "cannot read: No such file", ""}.format()),
            "f: error: cannot read: No such file");
}

TEST(Loader, ReadsFilesAndReportsOnesItCannotRead) {
  const auto dir = std::filesystem::temp_directory_path() / "colony_loader_test";
  std::filesystem::create_directories(dir);
  const auto file = dir / "harbor.json";
  std::ofstream(file) << R"({"agents": [{"kind": "solver", "name": "a", "backend": "m"}],
"backends": [{"name": "m"}],
"workload": {"entry": "a", "families": [{"name": "f", "domain": "d", "templates": ["t"]}]}})";
  const auto loaded = load_scenario(file);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded.value->name, "harbor");
  EXPECT_EQ(loaded.value->source, file);

  const auto missing = load_scenario(dir / "missing.json");
  ASSERT_EQ(missing.problems.size(), 1u);
  EXPECT_EQ(missing.problems[0].format(),
            (dir / "missing.json").string() + ": error: cannot read: No such file or directory");
  const auto directory = load_scenario(dir);
  ASSERT_EQ(directory.problems.size(), 1u);
  EXPECT_EQ(directory.problems[0].format(), dir.string() + ": error: cannot read: Is a directory");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace colony::scenarios

namespace colony::scenarios {
namespace {

bool mentions(const std::vector<std::string>& problems, std::string_view text) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const std::string& p) { return p.find(text) != std::string::npos; });
}

TEST(Loader, StoresNeedLocalesTrustKnownLocalesAndLookupsKnownSlots) {
  const auto p = problems_in(R"({"agents": [{"kind": "solver", "name": "a", "backend": "m"}],
"backends": [{"name": "m"}],
"stores": {"access": {"trusted": {"finance": ["science"]}}},
"workload": {"entry": "a", "families": [{"name": "f", "domain": "d",
  "templates": ["Quote {pair}"], "slots": {"pair": ["EUR/USD"]},
  "lookup": {"slot": "pear", "table": "market data"}}]}})");
  EXPECT_TRUE(mentions(p, "/stores: stores are kept per locale, and the scenario declares none"))
      << ::testing::PrintToString(p);
  EXPECT_TRUE(mentions(p, "/stores/access/trusted/finance")) << ::testing::PrintToString(p);
  EXPECT_TRUE(mentions(p, "/workload/families/0/lookup/table: \"market data\" is not a table"))
      << ::testing::PrintToString(p);
  EXPECT_TRUE(mentions(p, "/workload/families/0/lookup/slot: slot \"pear\" is not a slot"))
      << ::testing::PrintToString(p);
  // With locales and a lookup of a real slot, the same stores are fine.
  EXPECT_TRUE(problems_in(R"({"locales": ["finance", "science"],
"agents": [{"kind": "solver", "name": "a", "backend": "m", "locale": "finance"}],
"backends": [{"name": "m"}],
"stores": {"access": {"trusted": {"finance": ["science"]}}},
"workload": {"entry": "a", "families": [{"name": "f", "domain": "d",
  "templates": ["Quote {pair}"], "slots": {"pair": ["EUR/USD"]},
  "lookup": {"slot": "pair", "table": "market_data"}}]}})")
                  .empty());
}

}  // namespace
}  // namespace colony::scenarios
