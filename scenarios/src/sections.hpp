#pragma once
// The readers of a scenario file's sections. Each fills its part of the model, keeping the
// defaults of docs/scenarios.md where a value is absent or bad, and reports problems to the
// checker. Names are declared and referred to through the checker; read_scenario resolves them.
#include <string>
#include <vector>

#include "checker.hpp"
#include "colony/agents/backend.hpp"
#include "colony/agents/kinds.hpp"
#include "colony/scenarios/scenario.hpp"

namespace colony::scenarios {

/// The whole document; `default_name` is used when it has no "name".
[[nodiscard]] scenario read_scenario(checker& c, const json::value& document,
                                     std::string default_name);

/// `run` (null when absent).
[[nodiscard]] run_section read_run(checker& c, const json::value* v);

/// One element of `backends`.
[[nodiscard]] agents::backend_profile read_backend(checker& c, const json::value& v,
                                                   const std::string& pointer);

/// One element of `locales`: a name or {"name": ...}.
[[nodiscard]] locale read_locale(checker& c, const json::value& v, const std::string& pointer);

/// One element of `agents`; its locale defaults to the first of `locales`.
[[nodiscard]] agent_spec read_agent(checker& c, const json::value& v, const std::string& pointer,
                                    const std::vector<locale>& locales);

/// An agent's `params` (null when absent) checked against its kind, with defaults filled in
/// and durations as integer microseconds; then the kind's own check, if it passed.
[[nodiscard]] json::object read_params(checker& c, const agents::kind_spec& kind,
                                       const json::value* v, const std::string& pointer,
                                       const std::vector<std::string>& link_names);

/// `policies` (null when absent): with an organizer among the agents, every section of
/// agents::policy_sections(), checked, with defaults filled in; without one, empty (and a
/// problem if policies were given).
[[nodiscard]] json::object read_policies(checker& c, const json::value* v, bool organized);

/// `library`: every section of agents::library_sections(), checked, with defaults filled in, and
/// "enabled"; reviewers must be agents with a backend.
[[nodiscard]] json::object read_library(checker& c, const json::value& v,
                                        const std::vector<agent_spec>& agents);

/// `stores`: every section of agents::store_sections(), checked, with defaults filled in, and
/// "enabled"; stores need locales, and trust names locales.
[[nodiscard]] json::object read_stores(checker& c, const json::value& v,
                                       const std::vector<locale>& locales);

/// `workload` (required).
[[nodiscard]] workload read_workload(checker& c, const json::value& v, const std::string& pointer);

}  // namespace colony::scenarios
