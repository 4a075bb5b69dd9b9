#pragma once
/// Per-locale stores as agents use them: the scenario's `stores` section (batching, memory tiers,
/// shared tables, external lookups, access between locales), the actor that owns a locale's
/// store, and what it tells the run. docs/stores.md describes the behaviour; docs/model.md gives
/// the formulas with their fields.
#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "colony/agents/kinds.hpp"
#include "colony/base/time.hpp"
#include "colony/memory/locale_store.hpp"

namespace colony::agents {

/// The scenario's `stores` section, read from the loader's filled-in object.
struct store_policy {
  bool enabled = false;  ///< every locale has a store
  struct {
    sim_time flush_every = 100 * msec;  ///< queued writes are committed this often
    std::size_t max_open = 128;         ///< connections open at once, over all locales
    std::size_t cache_kib = 256;        ///< page cache per connection
    sim_time archive_idle = 7 * day;    ///< a store unused this long is closed (file kept)
  } store;
  struct {
    std::size_t short_keep = 32;        ///< short-term memories an agent holds
    std::size_t summarize = 8;          ///< folded into one long-term memory past short_keep
    double episode_threshold = 0.8;     ///< tasks answered at or above this confidence are kept
    double episode_bonus = 0.05;        ///< skill added with episodes_for_full such episodes
    std::size_t episodes_for_full = 5;  ///< episodes of a family for the whole bonus
  } memory;
  struct {
    std::uint64_t create_after = 3;  ///< external fetches of one key before a shared table
    sim_time ttl = 1 * hour;         ///< a row older than this is stale (a miss)
  } shared;
  struct {
    sim_time latency = 800 * msec;  ///< one external lookup's time
    double cost = 0.002;            ///< and price
  } external;
  struct {
    /// Which locales each owner trusts: owner -> grantee locales.
    std::map<std::string, std::vector<std::string>> trusted;
    std::string max_level = "read";   ///< the highest level granted ("read" or "write")
    sim_time expires = 30 * day;      ///< how long a grant lasts
    std::uint64_t max_requests = 20;  ///< requests per grantee locale per day, at most
    bool require_justification = true;
  } access;

  /// From the loader's filled-in `stores` object (empty: no stores).
  [[nodiscard]] static store_policy from_json(const boost::json::object& stores);
};

/// The sections of the scenario's `stores` object, described as parameters.
[[nodiscard]] const std::vector<kind_spec>& store_sections();

/// Running totals of one locale's store, for metrics.csv and summary.json.
struct store_counters {
  std::uint64_t rows = 0;            ///< rows written (committed)
  std::uint64_t flushes = 0;         ///< transactions
  std::uint64_t lookups = 0;         ///< lookups of shared rows, own and foreign
  std::uint64_t hits = 0;            ///< of which fresh hits
  std::uint64_t foreign_reads = 0;   ///< lookups by other locales (read-only connection)
  std::uint64_t externals = 0;       ///< external lookups agents of the locale made
  std::uint64_t writes_refused = 0;  ///< writes refused to grantees with read access
  std::uint64_t granted = 0, denied = 0;
  std::uint64_t tables = 0;                      ///< shared tables created
  std::uint64_t archived = 0;                    ///< times the store was closed for idleness
  std::uint64_t recalls = 0;                     ///< memory recalls answered
  std::map<std::string, std::uint64_t> hits_by;  ///< fresh hits by agent (since the start)

  /// Adds (another locale's) counts, field by field.
  store_counters& operator+=(const store_counters& o);
  /// Takes away earlier counts of the same store, field by field (what happened since).
  store_counters& operator-=(const store_counters& o);
};

/// A store's owner, as the run sees it between windows.
class store_probe {
 public:
  virtual ~store_probe() = default;
  [[nodiscard]] virtual store_counters counters() const = 0;
  /// Commits what is queued and closes the store (at the end of a run).
  [[nodiscard]] virtual result<void> finish(sim_time now) = 0;
};

/// The actor that owns `store` (the store of its locale): answers store_request operations,
/// commits queued writes every store.flush_every, announces shared tables, decides on access.
[[nodiscard]] std::unique_ptr<engine::actor> make_store_keeper(
    store_policy policy, std::unique_ptr<memory::locale_store> store);

}  // namespace colony::agents
