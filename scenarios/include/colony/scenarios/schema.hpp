#pragma once
/// The JSON Schema (draft 2020-12) of scenario files, for editors and external tools.
/// scenarios/colony.schema.json is `schema_text(scenario_schema(...))` for the built-in kinds
/// (a test keeps it so; regenerate it with COLONY_UPDATE_SCHEMA=1 and the Schema tests).
#include <boost/json/value.hpp>
#include <string>
#include <vector>

#include "colony/agents/kinds.hpp"

namespace colony::scenarios {

/// The schema of scenario files whose agents may be of the given kinds: `agents[].kind` is one
/// of their names and, for each kind, an if/then describes its `params` (types, ranges,
/// choices, defaults, required ones). Cross-references (names that must exist) and units inside
/// duration strings beyond their syntax are checked by the loader only.
[[nodiscard]] boost::json::value scenario_schema(
    const std::vector<const agents::kind_spec*>& kinds);

/// The schema for every kind registered now (agents::all_kinds()).
[[nodiscard]] boost::json::value scenario_schema();

/// `json` pretty-printed as colony.schema.json is written: 2-space indent, one member or element
/// a line, members in insertion order, a trailing newline.
[[nodiscard]] std::string schema_text(const boost::json::value& json);

}  // namespace colony::scenarios
