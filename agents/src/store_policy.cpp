// The scenario's `stores` section: its parameters and how it is read. docs/model.md ("Stores")
// explains the defaults.
#include "colony/agents/stores.hpp"
#include "params.hpp"

#include <functional>
#include <utility>

namespace colony::agents {

using namespace detail;
using boost::json::object;

const std::vector<kind_spec>& store_sections() {
  static const std::vector<kind_spec> sections = [] {
    std::vector<kind_spec> s;
    s.push_back(
        {.name = "store",
         .doc = "How each locale's SQLite store is written and kept open.",
         .params = {positive_duration_param("flush_every", "100ms",
                                            "queued writes are committed in one transaction "
                                            "this often (simulated time)"),
                    integer_param("max_open", 128, 1, 1e6,
                                  "connections open at once over all locales (least recently "
                                  "used closed first)"),
                    integer_param("cache_kib", 256, 16, 1e6, "page cache per connection, KiB"),
                    positive_duration_param("archive_idle", "7d",
                                            "a store unused this long is closed (file kept)")}});
    s.push_back(
        {.name = "memory",
         .doc = "Agent memory: short-term, long-term and episodic.",
         .params = {integer_param("short_keep", 32, 1, 1e6, "short-term memories an agent holds"),
                    integer_param("summarize", 8, 1, 1e6,
                                  "oldest short-term memories folded into one long-term memory "
                                  "past short_keep"),
                    number_param("episode_threshold", 0.8, 0, 1,
                                 "tasks answered at or above this confidence are kept as "
                                 "episodes"),
                    number_param("episode_bonus", 0.05, 0, 1,
                                 "skill added when the agent recalls episodes_for_full episodes "
                                 "of the task's family"),
                    integer_param("episodes_for_full", 5, 1, 1e6,
                                  "episodes of a family that give the whole bonus")}});
    s.push_back({.name = "shared",
                 .doc = "Shared tables agents create for facts they look up repeatedly.",
                 .params = {integer_param("create_after", 3, 1, 1e9,
                                          "external lookups of one key by an agent before it "
                                          "creates the shared table"),
                            positive_duration_param("ttl", "1h",
                                                    "a row older than this is stale: a miss")}});
    s.push_back({.name = "external",
                 .doc = "An external lookup (a market data feed, an API) made on a miss.",
                 .params = {duration_param("latency", "800ms", "time of one lookup"),
                            number_param("cost", 0.002, 0, 1e6, "price of one lookup")}});
    s.push_back({.name = "access",
                 .doc = "How a store's owner decides on access requests from other locales.",
                 .params = {{"trusted",
                             param_type::object,
                             object(),
                             {},
                             {},
                             {},
                             "locales each owner trusts: {\"owner\": [\"grantee\", ...]}"},
                            choice_param("max_level", "read", {"read", "write"},
                                         "the highest level granted"),
                            positive_duration_param("expires", "30d", "how long a grant lasts"),
                            integer_param("max_requests", 20, 0, 1e9,
                                          "requests per grantee locale per day, at most"),
                            bool_param("require_justification", true,
                                       "a request without a justification is denied")},
                 .check = [](const object& p, const std::vector<std::string>&) {
                   std::vector<param_problem> out;
                   for (const auto& [owner, list] : p.at("trusted").as_object()) {
                     const std::string at = "/trusted/" + std::string(owner);
                     if (!list.is_array()) {
                       out.push_back({at, "a list of locale names", "\"finance\": [\"science\"]"});
                       continue;
                     }
                     for (const auto& l : list.as_array()) {
                       if (!l.is_string()) out.push_back({at, "a list of locale names", ""});
                     }
                   }
                   return out;
                 }});
    return s;
  }();
  return sections;
}

namespace {

// Applies `op` to every count of `a` with the same count of `b`.
template <class Op>
void each_count(store_counters& a, const store_counters& b, Op op) {
  for (auto [x, y] :
       {std::pair{&a.rows, b.rows}, std::pair{&a.flushes, b.flushes},
        std::pair{&a.lookups, b.lookups}, std::pair{&a.hits, b.hits},
        std::pair{&a.foreign_reads, b.foreign_reads}, std::pair{&a.externals, b.externals},
        std::pair{&a.writes_refused, b.writes_refused}, std::pair{&a.granted, b.granted},
        std::pair{&a.denied, b.denied}, std::pair{&a.tables, b.tables},
        std::pair{&a.archived, b.archived}, std::pair{&a.recalls, b.recalls}}) {
    *x = op(*x, y);
  }
  for (const auto& [agent, n] : b.hits_by) a.hits_by[agent] = op(a.hits_by[agent], n);
}

}  // namespace

store_counters& store_counters::operator+=(const store_counters& o) {
  each_count(*this, o, std::plus<std::uint64_t>());
  return *this;
}

store_counters& store_counters::operator-=(const store_counters& o) {
  each_count(*this, o, std::minus<std::uint64_t>());
  return *this;
}

store_policy store_policy::from_json(const object& stores) {
  store_policy p;
  if (stores.empty()) return p;
  p.enabled = flag(stores, "enabled", true);
  const auto& st = section(stores, "store");
  p.store.flush_every = whole(st, "flush_every", p.store.flush_every);
  p.store.max_open = static_cast<std::size_t>(whole(st, "max_open", 128));
  p.store.cache_kib = static_cast<std::size_t>(whole(st, "cache_kib", 256));
  p.store.archive_idle = whole(st, "archive_idle", p.store.archive_idle);
  const auto& m = section(stores, "memory");
  p.memory.short_keep = static_cast<std::size_t>(whole(m, "short_keep", 32));
  p.memory.summarize = static_cast<std::size_t>(whole(m, "summarize", 8));
  p.memory.episode_threshold = num(m, "episode_threshold", p.memory.episode_threshold);
  p.memory.episode_bonus = num(m, "episode_bonus", p.memory.episode_bonus);
  p.memory.episodes_for_full = static_cast<std::size_t>(whole(m, "episodes_for_full", 5));
  const auto& sh = section(stores, "shared");
  p.shared.create_after = static_cast<std::uint64_t>(whole(sh, "create_after", 3));
  p.shared.ttl = whole(sh, "ttl", p.shared.ttl);
  const auto& ex = section(stores, "external");
  p.external.latency = whole(ex, "latency", p.external.latency);
  p.external.cost = num(ex, "cost", p.external.cost);
  const auto& ac = section(stores, "access");
  if (const auto* t = ac.if_contains("trusted"); t != nullptr && t->is_object()) {
    for (const auto& [owner, list] : t->as_object()) {
      auto& to = p.access.trusted[std::string(owner)];
      if (!list.is_array()) continue;
      for (const auto& l : list.as_array()) {
        if (l.is_string()) to.emplace_back(l.as_string());
      }
    }
  }
  p.access.max_level = word(ac, "max_level", p.access.max_level);
  p.access.expires = whole(ac, "expires", p.access.expires);
  p.access.max_requests = static_cast<std::uint64_t>(whole(ac, "max_requests", 20));
  p.access.require_justification = flag(ac, "require_justification", true);
  return p;
}

}  // namespace colony::agents
