#pragma once
/// The solution library as agents use it: the scenario's `library` section (the index, the five
/// paths a task can take, upkeep, supersede, deprecate, synthesize and peer review), the path a
/// similarity picks, the actor that owns the library, and what it tells the run.
/// docs/library.md describes the behaviour; docs/model.md gives every formula with its field.
#include <array>
#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "colony/agents/kinds.hpp"
#include "colony/base/error.hpp"
#include "colony/base/time.hpp"
#include "colony/memory/solution_library.hpp"

namespace colony::agents {

/// The path a task takes through the library, picked by the best similarity found.
enum class library_tier : std::uint8_t {
  reuse,             ///< the stored solution as it is
  adapt_parameters,  ///< the stored solution with the task's own values
  adapt_logic,       ///< a related solution whose logic is changed
  combine,           ///< two related solutions combined
  generate,          ///< from scratch
};
inline constexpr std::size_t library_tier_count = 5;

[[nodiscard]] std::string_view to_string(library_tier t) noexcept;
/// The tier called `name` ("reuse", ...), or generate for an unknown name.
[[nodiscard]] library_tier tier_from_string(std::string_view name) noexcept;

/// What a path costs and gives, relative to generating from scratch.
struct tier_factors {
  double min_similarity = 0;  ///< best similarity from which the path is taken
  double latency = 1;         ///< multiplies the backend's service time
  double cost = 1;            ///< multiplies the tokens, in and out (so the price)
  double skill_bonus = 0;     ///< added to the skill, times the quality of the entry used
};

/// The documented defaults of the five paths, in library_tier order (docs/model.md).
[[nodiscard]] std::array<tier_factors, library_tier_count> default_tiers() noexcept;

/// The scenario's `library` section, read from the loader's filled-in object.
struct library_policy {
  bool enabled = false;  ///< the run has a library
  struct {
    std::size_t dimension = 256;  ///< embedding length
    std::string factory = "Flat";
    std::string parameters;
    std::size_t candidates = 3;        ///< hits returned per query
    sim_time batch_window = 1 * msec;  ///< queries arriving within it are searched together
  } index;
  /// reuse, adapt_parameters, adapt_logic, combine, generate (in library_tier order).
  std::array<tier_factors, library_tier_count> tiers = default_tiers();
  struct {
    sim_time every = 1 * day;  ///< supersede, deprecate and synthesize are judged this often
    sim_time checkpoint = 0;   ///< library files written this often (0: at the end only)
  } upkeep;
  struct {
    bool enabled = true;
    sim_time window = 7 * day;   ///< success rates compared over this window
    std::uint64_t min_uses = 5;  ///< uses of the fork and of its parent in the window, at least
    double margin = 0.05;        ///< how much higher the fork's success rate must be
  } supersede;
  struct {
    bool enabled = true;
    sim_time idle = 60 * day;  ///< an entry unused this long is deprecated
  } deprecate;
  struct {
    bool enabled = true;
    std::size_t min_versions = 4;  ///< live versions of one lineage not yet synthesized
    std::size_t max_parents = 16;  ///< the most used versions taken as parents, at most
  } synthesize;
  struct {
    std::vector<std::string> reviewers;  ///< agents asked to review (none: no review)
    std::size_t required = 1;            ///< acceptances a new entry needs
    sim_time timeout = 10 * minute;      ///< a reviewer silent this long counts as a rejection
  } review;

  /// From the loader's filled-in `library` object (empty: no library).
  [[nodiscard]] static library_policy from_json(const boost::json::object& library);
  /// The path a best similarity of `similarity` takes: the first tier whose min_similarity it
  /// reaches, in the order reuse, adapt_parameters, adapt_logic, combine; else generate.
  [[nodiscard]] library_tier tier_for(double similarity) const noexcept;
  [[nodiscard]] const tier_factors& factors(library_tier t) const noexcept {
    return tiers[static_cast<std::size_t>(t)];
  }
};

/// The sections of the scenario's `library` object, described as parameters (like a kind's) so
/// that the loader checks and fills them and the JSON Schema lists them.
[[nodiscard]] const std::vector<kind_spec>& library_sections();

/// Running totals of the library, for metrics.csv.
struct library_counters {
  std::uint64_t entries = 0;     ///< entries in the library, deprecated ones included
  std::uint64_t deprecated = 0;  ///< deprecated entries
  std::uint64_t queries = 0;     ///< queries answered
  std::uint64_t searches = 0;    ///< batched searches made (one per window with queries)
  std::uint64_t reports = 0;     ///< tasks that consulted the library and ended
  std::array<std::uint64_t, library_tier_count> tiers{};  ///< reports per path
  double similarity_sum = 0;  ///< sum over reports of the best similarity found
  double saved = 0;           ///< cost saved against generating from scratch
  double review_cost = 0;     ///< spent on peer reviews
  std::uint64_t stored = 0, forked = 0, synthesized = 0, superseded = 0, retired = 0;
  std::uint64_t reviewed = 0, rejected = 0;

  /// Takes away earlier counts of the same library (what happened since); `entries` and
  /// `deprecated`, which are sizes rather than counts, stay as they are.
  library_counters& operator-=(const library_counters& o);
};

/// The library actor, as the run sees it between windows (never from a handler).
class library_probe {
 public:
  virtual ~library_probe() = default;
  [[nodiscard]] virtual library_counters counters() const = 0;
  /// Writes library.faiss and library.sqlite to `dir`.
  [[nodiscard]] virtual result<void> save(const std::filesystem::path& dir) const = 0;
};

/// The actor that owns the run's library: answers library_query requests (those of one batch
/// window in one search), stores, forks and counts from library_report messages, judges
/// supersede, deprecate and synthesize every upkeep.every, and has new entries peer-reviewed
/// by `reviewers` (ids, in the order of policy.review.reviewers) when there are any.
[[nodiscard]] std::unique_ptr<engine::actor> make_librarian(
    library_policy policy, memory::solution_library library,
    std::vector<broker::agent_id> reviewers);

}  // namespace colony::agents
