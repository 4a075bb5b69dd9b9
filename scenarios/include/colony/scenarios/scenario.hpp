#pragma once
/// A scenario: everything `colony run` needs, as loaded and validated from a scenario file.
/// docs/scenarios.md documents every field with its unit and default.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "colony/agents/backend.hpp"
#include "colony/base/time.hpp"

namespace colony::scenarios {

/// `run`: how long, from which seed, and how finely to measure.
struct run_section {
  sim_time duration = 1 * day;         ///< simulated time to run ("30d")
  std::uint64_t seed = 1;              ///< default seed (`colony run --seed` overrides)
  sim_time metrics_bucket = 1 * hour;  ///< width of one metrics.csv row
  sim_time lookahead = 1 * msec;       ///< link latency of every message (the kernel's L)
};

/// A locale: a group of agents (later, their SQLite store).
struct locale {
  std::string name;  ///< a safe file name: letters, digits, '-', '_', '.', not starting with '.'
};

/// One agent of the fixed network.
struct agent_spec {
  std::string kind;                ///< a registered kind ("router", "specialist", ...)
  std::string name;                ///< unique
  std::string locale;              ///< one of the locales ("" when none are declared)
  std::string backend;             ///< the backend it calls, for kinds that call one
  std::vector<std::string> links;  ///< agents it sends work to, by name, in order
  boost::json::object params;      ///< kind-specific parameters, defaults filled in
};

/// A number drawn per task: constant, uniform, normal (clamped) or beta.
struct distribution {
  enum class kind : std::uint8_t { constant, uniform, normal, beta } shape = kind::constant;
  double a = 0;             ///< constant: the value; uniform: low; normal: mean; beta: alpha
  double b = 0;             ///< uniform: high; normal: standard deviation; beta: beta
  double min = 0, max = 1;  ///< bounds every draw is clamped to
};

/// A template parameter slot: a word from a list, or an integer in a range.
struct slot_spec {
  std::vector<std::string> choices;  ///< pick one uniformly (when not empty)
  std::int64_t low = 0, high = 0;    ///< otherwise an integer in [low, high]
};

/// A family of similar tasks.
struct task_family {
  std::string name;                        ///< unique
  std::string domain;                      ///< "finance", "legal", ... (skill is per domain)
  std::vector<std::string> templates;      ///< texts with {slot} placeholders
  std::map<std::string, slot_spec> slots;  ///< what fills each placeholder
  /// The solution a model writes for a task of the family: a text (code, a procedure) with
  /// {slot} placeholders, filled with the task's values ("": the family's tasks do not use the
  /// solution library).
  std::string solution;
  /// A fact each task needs looked up first: the slot whose value is the key, and the shared
  /// table that would hold it ("": none).
  std::string lookup_slot, lookup_table;
  distribution difficulty;    ///< 0..1 per task
  distribution complexity;    ///< 0..1 per task
  std::uint32_t options = 4;  ///< answer options (>= 2)
  double share = 1;           ///< relative share of the arrival rate
};

/// A burst: the arrival rate multiplied for a while, once or periodically.
struct burst {
  sim_time at = 0;        ///< first start
  sim_time duration = 0;  ///< how long it lasts
  double multiplier = 1;  ///< rate factor while it lasts
  sim_time every = 0;     ///< repeat period (0: once)
};

/// A phase: from `at` on, a family's share is multiplied (0 switches it off; a family with a
/// phase at t > 0 and `initial_share` 0 appears at t).
struct phase {
  sim_time at = 0;
  std::string family;
  double share = 1;  ///< the family's share from `at` on
};

/// How tasks arrive: a Poisson process whose rate bursts and phases modulate.
struct arrivals {
  double rate_per_sec = 1;  ///< base rate ("120/min")
  std::vector<burst> bursts;
  std::vector<phase> phases;
};

/// `workload`: what the network is asked to do and where tasks enter.
struct workload {
  std::string entry;  ///< the agent that receives every new task
  std::vector<task_family> families;
  arrivals arrival;
  std::uint64_t max_tasks = 0;  ///< stop generating after this many (0: no limit)
};

/// A loaded, validated scenario.
struct scenario {
  std::string name;         ///< from the file's "name", or its stem
  std::string description;  ///< free text
  run_section run;
  std::vector<agents::backend_profile> backends;
  std::vector<locale> locales;
  std::vector<agent_spec> agents;
  workload work;
  boost::json::object policies;  ///< self-organization policies, filled in (empty: none)
  boost::json::object library;   ///< the solution library's sections, filled in (empty: none)
  boost::json::object stores;    ///< the per-locale stores' sections, filled in (empty: none)

  std::filesystem::path source;  ///< the file it came from
  boost::json::value as_run;     ///< the document after --set overrides, as run
};

}  // namespace colony::scenarios
