#include "colony/scenarios/schema.hpp"
#include "colony/scenarios/sweep_file.hpp"

#include <boost/json/serialize.hpp>
#include <cmath>
#include <cstdint>

#include "colony/agents/library.hpp"
#include "colony/agents/organizer.hpp"
#include "colony/agents/stores.hpp"
#include "colony/base/time.hpp"
#include "wording.hpp"

namespace colony::scenarios {
namespace {

namespace json = boost::json;

constexpr std::string_view number_syntax = "([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?";

json::object ref(std::string_view def) {
  return {{"$ref", "#/$defs/" + std::string(def)}};
}

json::object described(json::object schema, std::string_view text) {
  schema["description"] = text;
  return schema;
}

json::object with_default(json::object schema, json::value value) {
  schema["default"] = std::move(value);
  return schema;
}

json::object number_at_least(std::int64_t min, bool exclusive = false) {
  return {{"type", "number"}, {exclusive ? "exclusiveMinimum" : "minimum", min}};
}

json::object count(std::int64_t min = 0) {
  return {{"type", "integer"}, {"minimum", min}};
}

json::object string_type() {
  return {{"type", "string"}};
}

// An object with exactly these properties, some of them required.
json::object closed(json::object properties, json::array required = {}) {
  json::object schema{{"type", "object"}, {"additionalProperties", false}};
  schema["properties"] = std::move(properties);
  if (!required.empty()) schema["required"] = std::move(required);
  return schema;
}

json::object array_of(json::object items, std::size_t min_items = 0) {
  json::object schema{{"type", "array"}, {"items", std::move(items)}};
  if (min_items > 0) schema["minItems"] = min_items;
  return schema;
}

json::object pair_of(json::object first, json::object second) {
  return {{"type", "array"},
          {"prefixItems", json::array{std::move(first), std::move(second)}},
          {"items", false},
          {"minItems", 2}};
}

// {"KEY": schema}, the only key.
json::object shaped(std::string_view key, json::object schema) {
  return closed({{key, std::move(schema)}}, {key});
}

json::object any_of(json::array choices) {
  return {{"anyOf", std::move(choices)}};
}

json::object duration_def() {
  return described(
      any_of({number_at_least(0),
              {{"type", "string"},
               {"pattern", "^" + std::string(number_syntax) + "(us|ms|s|min|h|d)$"}}}),
      "A duration: a number with a unit (us, ms, s, min, h, d), e.g. \"250ms\", \"30d\", or a "
      "plain number of seconds.");
}

json::object rate_def() {
  return described(
      any_of(
          {number_at_least(0),
           {{"type", "string"}, {"pattern", "^" + std::string(number_syntax) + "/(s|min|h|d)$"}}}),
      "A rate: a count per unit, e.g. \"120/min\", \"2/s\", \"50/h\", \"1000/d\", or a plain "
      "number per second.");
}

json::object distribution_def() {
  const json::object unit{{"type", "number"}, {"minimum", 0}, {"maximum", 1}};
  return described(
      any_of({unit, shaped("uniform", pair_of(unit, unit)),
              shaped("normal", pair_of({{"type", "number"}}, number_at_least(0))),
              shaped("beta", pair_of(number_at_least(0, true), number_at_least(0, true)))}),
      "A number in [0, 1] per task: a constant, {\"uniform\": [low, high]}, {\"normal\": [mean, "
      "sd]} (clamped to [0, 1]) or {\"beta\": [alpha, beta]}.");
}

json::object latency_def() {
  return described(
      any_of({ref("duration"), shaped("constant", ref("duration")),
              shaped("exponential", ref("duration")),
              shaped("lognormal", closed({{"median", ref("duration")}, {"p95", ref("duration")}},
                                         {"median", "p95"}))}),
      "Service time of one call: a duration (constant), {\"constant\": d}, {\"exponential\": "
      "mean} or {\"lognormal\": {\"median\": d, \"p95\": d}} with p95 > median.");
}

json::object backend_def() {
  const json::object in_out_counts =
      closed({{"in", with_default(count(), 500)}, {"out", with_default(count(), 200)}});
  const json::object in_out_prices = closed(
      {{"in", with_default(number_at_least(0), 0)}, {"out", with_default(number_at_least(0), 0)}});
  const json::object unit{{"type", "number"}, {"minimum", 0}, {"maximum", 1}};
  json::object skill{{"type", "object"}, {"additionalProperties", unit}};
  return closed(
      {{"name", described(string_type(), "Unique; agents name it.")},
       {"latency", with_default(ref("latency"), "1s")},
       {"tokens", described(in_out_counts, "Prompt (in) and completion (out) tokens of a call.")},
       {"price",
        described(in_out_prices, "Price per 1,000 prompt (in) and completion (out) tokens.")},
       {"skill", described(skill,
                           "Ability per domain, 0..1; the key \"default\" (0.5) covers "
                           "domains not listed.")},
       {"discrimination", with_default(number_at_least(0, true), 10)},
       {"confidence_gap",
        described(with_default(unit, 0.15),
                  "Added to the stated confidence when right, taken off when wrong.")},
       {"confidence_noise", described(with_default(unit, 0.1),
                                      "Standard deviation of the noise on the stated confidence.")},
       {"failure_rate", with_default(unit, 0)},
       {"timeout", with_default(ref("duration"), "60s")},
       {"concurrency", described(with_default(count(), 0), "Calls served at once; 0: unlimited.")}},
      {"name"});
}

json::object locale_def() {
  const json::object name{
      {"type", "string"}, {"pattern", "^[A-Za-z0-9_][A-Za-z0-9_.-]*$"}, {"maxLength", 64}};
  return described(any_of({name, closed({{"name", name}}, {"name"})}),
                   "A locale: a safe file name, or {\"name\": ...}.");
}

// A whole number as an integer, so that the file reads "minimum": 1 and parses back to the same
// value (Boost.JSON tells 1 from 1.0 apart).
json::value number_value(double x) {
  constexpr double exact_integers = 9007199254740992.0;  // 2^53
  if (std::trunc(x) == x && std::abs(x) < exact_integers) return static_cast<std::int64_t>(x);
  return x;
}

json::object param_schema(const agents::param_spec& p) {
  json::object schema;
  switch (p.type) {
    case agents::param_type::number:
      schema = {{"type", "number"}};
      break;
    case agents::param_type::integer:
      schema = {{"type", "integer"}};
      break;
    case agents::param_type::boolean:
      schema = {{"type", "boolean"}};
      break;
    case agents::param_type::string:
      schema = string_type();
      if (!p.choices.empty()) schema["enum"] = json::array(p.choices.begin(), p.choices.end());
      break;
    case agents::param_type::duration:
      schema = ref("duration");
      break;
    case agents::param_type::string_list:
      schema = array_of(string_type());
      break;
    case agents::param_type::array:
      schema = {{"type", "array"}};
      break;
    case agents::param_type::object:
      schema = {{"type", "object"}};
      break;
  }
  const bool numeric =
      p.type == agents::param_type::number || p.type == agents::param_type::integer;
  if (numeric && p.min) schema["minimum"] = number_value(*p.min);
  if (numeric && p.max) schema["maximum"] = number_value(*p.max);
  if (!p.doc.empty()) schema["description"] = p.doc;
  if (p.type == agents::param_type::duration && p.default_value.is_number()) {
    schema["default"] = format_duration(p.default_value.to_number<sim_time>());
  } else if (p.default_value.is_double()) {
    schema["default"] = number_value(p.default_value.get_double());
  } else if (!p.default_value.is_null()) {
    schema["default"] = p.default_value;
  }
  return schema;
}

// if kind == NAME then: its params, its backend, its number of links.
json::object kind_rule(const agents::kind_spec& kind) {
  json::object params;
  json::array required_params;
  for (const auto& p : kind.params) {
    params[p.name] = param_schema(p);
    if (p.default_value.is_null()) required_params.emplace_back(p.name);
  }
  json::object links{{"minItems", kind.min_links}};
  if (kind.max_links != SIZE_MAX) links["maxItems"] = kind.max_links;
  json::object then{{"properties",
                     {{"params", closed(std::move(params), std::move(required_params))},
                      {"links", std::move(links)}}}};
  if (kind.needs_backend) then["required"] = json::array{"backend"};
  if (!kind.doc.empty()) then["description"] = kind.doc;
  return {{"if", {{"properties", {{"kind", {{"const", kind.name}}}}}, {"required", {"kind"}}}},
          {"then", std::move(then)}};
}

json::object agent_def(const std::vector<const agents::kind_spec*>& kinds) {
  json::object kind = described(string_type(), "A registered agent kind.");
  if (!kinds.empty()) {
    json::array names;
    for (const auto* k : kinds) names.emplace_back(k->name);
    kind["enum"] = std::move(names);
  }
  auto agent = closed(
      {{"kind", std::move(kind)},
       {"name", described(string_type(), "Unique.")},
       {"locale", described(string_type(), "A declared locale; default: the first one.")},
       {"backend", described(string_type(), "The backend it calls, for kinds that call one.")},
       {"links", described(array_of(string_type()), "Agents it sends work to, by name.")},
       {"params", described({{"type", "object"}}, "Kind-specific parameters.")}},
      {"kind", "name"});
  if (!kinds.empty()) {
    json::array rules;
    for (const auto* k : kinds) rules.emplace_back(kind_rule(*k));
    agent["allOf"] = std::move(rules);
  }
  return agent;
}

json::object family_def() {
  const json::object slot =
      any_of({array_of(string_type(), 1),
              shaped("int", pair_of({{"type", "integer"}}, {{"type", "integer"}}))});
  return closed(
      {{"name", described(string_type(), "Unique.")},
       {"domain", described(string_type(), "The skill domain its tasks need.")},
       {"templates", described(array_of(string_type(), 1),
                               "Task texts with {slot} placeholders; one is drawn per task.")},
       {"slots", described({{"type", "object"}, {"additionalProperties", slot}},
                           "What fills each placeholder: a list of words, or {\"int\": [low, "
                           "high]}.")},
       {"solution", described(string_type(),
                              "The solution a model writes for a task, with {slot} placeholders "
                              "filled with the task's values; tasks of a family with one use the "
                              "solution library (docs/library.md).")},
       {"lookup",
        described(closed({{"slot", string_type()}, {"table", string_type()}}, {"slot", "table"}),
                  "A fact each task needs first: the slot whose value is the key, and "
                  "the shared table that would hold it (docs/stores.md).")},
       {"difficulty", with_default(ref("distribution"), 0.5)},
       {"complexity", with_default(ref("distribution"), 0.3)},
       {"options", described(with_default(count(2), 4), "Answer options of a task.")},
       {"share", described(with_default(number_at_least(0), 1),
                           "Relative share of the arrivals; 0 until a phase switches it on.")}},
      {"name", "domain", "templates"});
}

json::object workload_def() {
  const json::object burst =
      closed({{"at", ref("duration")},
              {"duration", ref("duration")},
              {"multiplier", number_at_least(0, true)},
              {"every", described(ref("duration"), "Repeat period, >= duration.")}},
             {"at", "duration", "multiplier"});
  const json::object phase = closed({{"at", ref("duration")},
                                     {"family", string_type()},
                                     {"share", with_default(number_at_least(0), 1)}},
                                    {"at", "family"});
  return closed({{"entry", described(string_type(), "The agent that receives every new task.")},
                 {"rate", with_default(ref("rate"), "1/s")},
                 {"max_tasks", described(with_default(count(), 0), "0: no limit.")},
                 {"bursts", array_of(burst)},
                 {"phases", array_of(phase)},
                 {"families", array_of(ref("family"), 1)}},
                {"entry", "families"});
}

json::object run_def() {
  return closed({{"duration", with_default(ref("duration"), "1d")},
                 {"seed", with_default(count(), 1)},
                 {"metrics_bucket", with_default(ref("duration"), "1h")},
                 {"lookahead", described(with_default(ref("duration"), "1ms"),
                                         "Link latency; more than 0, at most metrics_bucket.")}});
}

void print(std::string& out, const json::value& v, std::size_t depth) {
  const std::string indent(2 * (depth + 1), ' ');
  if (const auto* o = v.if_object(); o != nullptr && !o->empty()) {
    out += "{\n";
    for (auto it = o->begin(); it != o->end(); ++it) {
      out += indent + quote(it->key()) + ": ";
      print(out, it->value(), depth + 1);
      out += std::next(it) == o->end() ? "\n" : ",\n";
    }
    out += std::string(2 * depth, ' ') + '}';
  } else if (const auto* a = v.if_array(); a != nullptr && !a->empty()) {
    out += "[\n";
    for (std::size_t i = 0; i < a->size(); ++i) {
      out += indent;
      print(out, (*a)[i], depth + 1);
      out += i + 1 == a->size() ? "\n" : ",\n";
    }
    out += std::string(2 * depth, ' ') + ']';
  } else if (v.is_double()) {
    out += format_number(v.get_double());  // Boost.JSON would write 0.5 as 5E-1
  } else {
    out += json::serialize(v);
  }
}

}  // namespace

// `policies`: one closed object per section, with its parameters.
json::object policies_def() {
  json::object sections;
  for (const auto& section : agents::policy_sections()) {
    json::object params;
    for (const auto& p : section.params) params[p.name] = param_schema(p);
    sections[section.name] = described(closed(std::move(params)), section.doc);
  }
  return described(closed(std::move(sections)),
                   "Self-organization policies, carried out by the organizer (docs/model.md).");
}

// `library`: "enabled" and one closed object per section, with its parameters.
json::object library_def() {
  json::object sections{{"enabled", described(with_default({{"type", "boolean"}}, true),
                                              "false: the run has no library.")}};
  for (const auto& section : agents::library_sections()) {
    json::object params;
    for (const auto& p : section.params) params[p.name] = param_schema(p);
    sections[section.name] = described(closed(std::move(params)), section.doc);
  }
  return described(closed(std::move(sections)),
                   "The solution library: search first, then reuse, adapt or generate "
                   "(docs/library.md).");
}

// `stores`: "enabled" and one closed object per section, with its parameters.
json::object stores_def() {
  json::object sections{{"enabled", described(with_default({{"type", "boolean"}}, true),
                                              "false: the locales have no stores.")}};
  for (const auto& section : agents::store_sections()) {
    json::object params;
    for (const auto& p : section.params) params[p.name] = param_schema(p);
    sections[section.name] = described(closed(std::move(params)), section.doc);
  }
  return described(closed(std::move(sections)),
                   "Per-locale SQLite stores: memory, shared tables, access between locales "
                   "(docs/stores.md).");
}

json::value scenario_schema(const std::vector<const agents::kind_spec*>& kinds) {
  return json::object{
      {"$schema", "https://json-schema.org/draft/2020-12/schema"},
      {"title", "Colony scenario"},
      {"description", "A Colony scenario file; docs/scenarios.md documents every field."},
      {"type", "object"},
      {"additionalProperties", false},
      {"properties",
       {{"$schema", string_type()},
        {"name", described(string_type(), "Default: the file name without its extension.")},
        {"description", string_type()},
        {"run", ref("run")},
        {"backends", array_of(ref("backend"))},
        {"locales", array_of(ref("locale"))},
        {"agents", array_of(ref("agent"))},
        {"workload", ref("workload")},
        {"policies", policies_def()},
        {"library", library_def()},
        {"stores", stores_def()}}},
      {"required", {"workload"}},
      {"$defs",
       {{"duration", duration_def()},
        {"rate", rate_def()},
        {"distribution", distribution_def()},
        {"latency", latency_def()},
        {"run", run_def()},
        {"backend", backend_def()},
        {"locale", locale_def()},
        {"agent", agent_def(kinds)},
        {"family", family_def()},
        {"workload", workload_def()}}}};
}

json::value scenario_schema() {
  return scenario_schema(agents::all_kinds());
}

std::string schema_text(const json::value& json) {
  std::string out;
  print(out, json, 0);
  out += '\n';
  return out;
}

boost::json::value sweep_schema() {
  const json::value any_value =
      json::object{{"description",
                    "the value to set: any JSON value (a string that is not JSON stays a string)"}};
  const json::object overrides{
      {"type", "object"},
      {"description",
       "override path (as for --set: \"run.duration\", \"agents.router.params.k\") "
       "-> value"},
      {"propertyNames", {{"pattern", "^[^=]+$"}}},
      {"additionalProperties", any_value}};
  json::object properties{
      {"$schema", {{"type", "string"}}},
      {"name",
       {{"type", "string"},
        {"pattern", "^[^./\\\\][^/\\\\]*$"},
        {"description",
         "the sweep's name (default: the file's stem); the default output "
         "directory is sweeps/<name>"}}},
      {"description", {{"type", "string"}}},
      {"scenario",
       {{"type", "string"},
        {"description", "the base scenario, relative to this file's directory"}}},
      {"set", overrides},
      {"grid",
       {{"type", "object"},
        {"description", "override path -> the values it takes; the points are every combination"},
        {"propertyNames", {{"pattern", "^[^=]+$"}}},
        {"additionalProperties", {{"type", "array"}, {"minItems", 1}, {"uniqueItems", true}}}}},
      {"points",
       {{"type", "array"},
        {"minItems", 1},
        {"description", "explicit parameter points; with a grid, each is crossed with it"},
        {"items", overrides}}},
      {"seeds",
       {{"description", "a count of seeds (first_seed, first_seed + 1, ...) or a list of seeds"},
        {"oneOf", json::array{{{"type", "integer"}, {"minimum", 1}, {"maximum", 100000}},
                              {{"type", "array"},
                               {"minItems", 1},
                               {"uniqueItems", true},
                               {"items", {{"type", "integer"}, {"minimum", 0}}}}}}}},
      {"first_seed",
       {{"type", "integer"},
        {"minimum", 0},
        {"default", 1},
        {"description", "the first seed when \"seeds\" is a count"}}},
      {"threads",
       {{"type", "integer"},
        {"minimum", 1},
        {"maximum", 256},
        {"default", 1},
        {"description", "worker threads of each run (outputs do not depend on it)"}}},
      {"until", described(duration_def(),
                          "stop every run at this simulated time (default: "
                          "run.duration)")},
      {"library",
       {{"type", "string"},
        {"description",
         "a saved solution library every run starts from (colony run --library): "
         "a run directory, or the directory or a file of library.faiss and "
         "library.sqlite, relative to this file's directory"}}},
      {"metrics",
       {{"type", "array"},
        {"minItems", 1},
        {"items", {{"type", "string"}}},
        {"description", "the metrics to aggregate (default: all; docs/sweeps.md lists them)"}}}};
  return json::object{{"$schema", "https://json-schema.org/draft/2020-12/schema"},
                      {"title", "Colony sweep"},
                      {"type", "object"},
                      {"additionalProperties", false},
                      {"required", json::array{"scenario", "seeds"}},
                      {"properties", std::move(properties)}};
}

}  // namespace colony::scenarios
