#pragma once
/// Agent kinds, registered by name. Each kind describes its parameters, so that a scenario
/// loader can check them (types, ranges, unknown keys) and fill in defaults without knowing
/// the kind, and makes its actor from a resolved configuration.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "colony/agents/backend.hpp"
#include "colony/base/error.hpp"
#include "colony/broker/ids.hpp"
#include "colony/engine/actor.hpp"

namespace colony::agents {

struct library_policy;
struct store_policy;

/// The JSON type a parameter takes.
enum class param_type : std::uint8_t {
  number,       ///< a JSON number
  integer,      ///< a JSON integer
  boolean,      ///< true or false
  string,       ///< a JSON string (`choices` may restrict it)
  duration,     ///< "250ms", "2s", "30d", or a number of microseconds
  string_list,  ///< an array of strings
  array,        ///< any JSON array (the kind's `check` looks inside)
  object,       ///< any JSON object (the kind's `check` looks inside)
};

[[nodiscard]] std::string_view to_string(param_type t) noexcept;

/// One parameter of a kind.
struct param_spec {
  std::string name;
  param_type type = param_type::number;
  boost::json::value default_value;  ///< null: the parameter is required
  std::optional<double> min, max;    ///< inclusive range for numbers, integers and durations
  std::vector<std::string> choices;  ///< allowed values for a string
  std::string doc;                   ///< one line for docs and hints
};

/// A problem in an agent's parameters found by a kind's own check.
struct param_problem {
  std::string pointer;  ///< JSON pointer relative to the params object ("/rules/2/to")
  std::string message;  ///< what is wrong
  std::string hint;     ///< how to fix it ("" if nothing to add)
};

/// What a kind's actor is made from: the scenario's agent with names resolved to ids.
struct agent_config {
  std::string name;
  std::string kind;
  std::string locale;
  broker::agent_id self{};              ///< its own id
  broker::agent_id backend{};           ///< its backend's actor (no_agent when none)
  std::string backend_name;             ///< the backend's name
  std::vector<broker::agent_id> links;  ///< linked agents, in the scenario's order
  std::vector<std::string> link_names;  ///< their names, same order
  boost::json::object params;           ///< parameters, defaults filled in, already checked
  std::vector<backend_ref> backends;    ///< every backend of the scenario (for organizers)
  boost::json::object policies;         ///< the scenario's policies, filled in (for organizers)
  /// What the agent knows of each of its links, same order (for organizers).
  struct link_ref {
    std::string kind, backend;
    std::vector<std::string> links;  ///< the link's own links
    bool shared = false;             ///< other agents link to it as well
  };
  std::vector<link_ref> link_refs;
  /// The run's solution library (no_agent: none) and its policy (for kinds that use it).
  broker::agent_id library = broker::no_agent;
  std::shared_ptr<const library_policy> library_rules;
  /// The store of the agent's locale (no_agent: none) and the stores' policy.
  broker::agent_id store = broker::no_agent;
  std::shared_ptr<const store_policy> store_rules;
};

/// A registered kind.
struct kind_spec {
  std::string name;                  ///< as written in scenario files
  std::string doc;                   ///< one paragraph for docs/scenarios.md
  bool needs_backend = false;        ///< the agent must name a backend
  std::size_t min_links = 0;         ///< fewest links it needs
  std::size_t max_links = SIZE_MAX;  ///< most links it can use
  std::vector<param_spec> params;    ///< its parameters
  /// Structural checks beyond types and ranges (may be empty). `params` has defaults filled in.
  std::function<std::vector<param_problem>(const boost::json::object& params,
                                           const std::vector<std::string>& link_names)>
      check;
  /// Makes the actor.
  std::function<std::unique_ptr<engine::actor>(const agent_config&)> make;
};

/// Adds a kind. Fails with errc::invalid_argument if the name is taken.
[[nodiscard]] result<void> register_kind(kind_spec k);
/// The kind called `name`, or null.
[[nodiscard]] const kind_spec* find_kind(std::string_view name);
/// Every kind, sorted by name.
[[nodiscard]] std::vector<const kind_spec*> all_kinds();

/// `params` with every missing parameter of `k` that has a default filled in (durations as
/// microseconds), for actors made in code rather than from a checked scenario.
[[nodiscard]] boost::json::object with_defaults(const kind_spec& k, boost::json::object params);

}  // namespace colony::agents
