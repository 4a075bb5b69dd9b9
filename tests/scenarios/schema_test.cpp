// The JSON Schema of scenario files and the committed scenarios/colony.schema.json.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "colony/agents/builtin.hpp"
#include "colony/agents/kinds.hpp"
#include "colony/scenarios/schema.hpp"
#include "colony/scenarios/sweep_file.hpp"

namespace colony::scenarios {
namespace {

namespace json = boost::json;

const char* const schema_file = COLONY_SOURCE_DIR "/scenarios/colony.schema.json";

std::string read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The kinds Colony ships. This binary also registers fake kinds (params_test.cpp), which the
// committed schema must not mention.
std::vector<const agents::kind_spec*> builtin_kinds() {
  constexpr std::array<std::string_view, 5> names{"aggregator", "pipeline", "router", "specialist",
                                                  "validator"};
  agents::register_builtin_kinds();
  std::vector<const agents::kind_spec*> kinds;
  for (const auto* k : agents::all_kinds()) {
    if (std::find(names.begin(), names.end(), k->name) != names.end()) kinds.push_back(k);
  }
  return kinds;
}

// Set COLONY_UPDATE_SCHEMA=1 to rewrite the committed file from the generator.
TEST(Schema, CommittedFileIsTheGeneratedOne) {
  const auto kinds = builtin_kinds();
  ASSERT_EQ(kinds.size(), 5u);
  const auto expected = schema_text(scenario_schema(kinds));
  if (std::getenv("COLONY_UPDATE_SCHEMA") != nullptr) std::ofstream(schema_file) << expected;
  const auto committed = read_file(schema_file);
  json::error_code ec;
  const auto parsed = json::parse(committed, ec);
  ASSERT_FALSE(ec) << schema_file << ": " << ec.message();
  EXPECT_EQ(parsed, scenario_schema(kinds));
  EXPECT_EQ(committed, expected)
      << "regenerate with: COLONY_UPDATE_SCHEMA=1 colony_scenarios_tests --gtest_filter=Schema.*";
}

// The sweep file's schema, scenarios/sweep.schema.json, is kept the same way.
TEST(Schema, CommittedSweepFileIsTheGeneratedOne) {
  const char* const sweep_file = COLONY_SOURCE_DIR "/scenarios/sweep.schema.json";
  const auto expected = schema_text(sweep_schema());
  if (std::getenv("COLONY_UPDATE_SCHEMA") != nullptr) std::ofstream(sweep_file) << expected;
  const auto committed = read_file(sweep_file);
  json::error_code ec;
  const auto parsed = json::parse(committed, ec);
  ASSERT_FALSE(ec) << sweep_file << ": " << ec.message();
  EXPECT_EQ(committed, expected)
      << "regenerate with: COLONY_UPDATE_SCHEMA=1 colony_scenarios_tests --gtest_filter=Schema.*";
  const auto& o = parsed.as_object();
  EXPECT_EQ(o.at("additionalProperties"), false);
  EXPECT_EQ(o.at("required"), (json::array{"scenario", "seeds"}));
  EXPECT_TRUE(o.at("properties").as_object().contains("grid"));
}

TEST(Schema, IsDraft202012AndClosed) {
  const auto schema = scenario_schema({}).as_object();
  EXPECT_EQ(schema.at("$schema"), "https://json-schema.org/draft/2020-12/schema");
  EXPECT_EQ(schema.at("additionalProperties"), false);
  EXPECT_EQ(schema.at("required"), json::array{"workload"});
  const auto& agent = schema.at("$defs").at("agent").as_object();
  EXPECT_FALSE(agent.contains("allOf"));
  EXPECT_EQ(agent.at("properties").at("kind"),
            (json::object{{"type", "string"}, {"description", "A registered agent kind."}}));
}

TEST(Schema, EachKindDescribesItsParamsWithIfThen) {
  const auto* scout = agents::find_kind("scout");  // registered by params_test.cpp
  ASSERT_NE(scout, nullptr);
  const auto schema = scenario_schema({scout});
  const auto& agent = schema.at("$defs").at("agent").as_object();
  EXPECT_EQ(agent.at("properties").at("kind").at("enum"), json::array{"scout"});
  ASSERT_EQ(agent.at("allOf").as_array().size(), 1u);
  const auto& rule = agent.at("allOf").at(0);
  EXPECT_EQ(rule.at("if"), (json::object{{"properties", {{"kind", {{"const", "scout"}}}}},
                                         {"required", json::array{"kind"}}}));
  const auto& then = rule.at("then");
  EXPECT_EQ(then.at("required"), json::array{"backend"});
  EXPECT_EQ(then.at("properties").at("links"), (json::object{{"minItems", 0}, {"maxItems", 2}}));
  const auto& params = then.at("properties").at("params");
  EXPECT_EQ(params.at("additionalProperties"), false);
  EXPECT_EQ(params.at("required"), json::array{"threshold"});
  const auto& p = params.at("properties");
  EXPECT_EQ(p.at("k"), (json::object{{"type", "integer"},
                                     {"minimum", 1},
                                     {"maximum", 10},
                                     {"description", "probes per task"},
                                     {"default", 3}}));
  EXPECT_EQ(p.at("mode").at("enum"), (json::array{"fast", "careful"}));
  EXPECT_EQ(p.at("patience").at("$ref"), "#/$defs/duration");
  EXPECT_EQ(p.at("patience").at("default"), "5s");
}

TEST(Schema, TextIsPrettyPrintedWithTwoSpaces) {
  EXPECT_EQ(schema_text(json::parse(R"({"a": [1, 0.5, {}], "b": {"c": []}})")),
            "{\n  \"a\": [\n    1,\n    0.5,\n    {}\n  ],\n  \"b\": {\n    \"c\": []\n  }\n}\n");
}

}  // namespace
}  // namespace colony::scenarios
