#include "colony/memory/locale_store.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <system_error>
#include <utility>
#include <variant>

#include "colony/base/assert.hpp"
#include "colony/base/log.hpp"
#include "sqlite.hpp"

namespace colony::memory {
namespace {

namespace fs = std::filesystem;
using std::to_string;

constexpr std::size_t longest_store_name = 100;
constexpr std::size_t longest_table_name = 64;

constexpr std::string_view schema = R"sql(
CREATE TABLE memories(
  id INTEGER PRIMARY KEY,
  agent TEXT NOT NULL,
  tier TEXT NOT NULL CHECK(tier IN ('short', 'long')),
  text TEXT NOT NULL,
  importance REAL NOT NULL,
  created INTEGER NOT NULL,
  used INTEGER NOT NULL);
CREATE INDEX memories_by_agent ON memories(agent, tier);
CREATE TABLE episodes(
  id INTEGER PRIMARY KEY,
  agent TEXT NOT NULL,
  task INTEGER NOT NULL,
  family TEXT NOT NULL,
  text TEXT NOT NULL,
  answer INTEGER NOT NULL,
  quality REAL NOT NULL,
  created INTEGER NOT NULL);
CREATE INDEX episodes_by_agent ON episodes(agent, family, quality);
CREATE TABLE shared_tables(
  name TEXT PRIMARY KEY NOT NULL,
  owner TEXT NOT NULL,
  created INTEGER NOT NULL,
  last_used INTEGER NOT NULL,
  hits INTEGER NOT NULL,
  archived INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE grants(
  id INTEGER PRIMARY KEY,
  grantee_locale TEXT NOT NULL,
  grantee_agent TEXT NOT NULL,
  table_name TEXT NOT NULL,
  level TEXT NOT NULL CHECK(level IN ('read', 'write')),
  justification TEXT NOT NULL,
  granted INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  revoked INTEGER);
CREATE INDEX grants_by_grantee ON grants(grantee_locale, table_name);
CREATE TABLE commits(seq INTEGER PRIMARY KEY, t INTEGER NOT NULL, rows INTEGER NOT NULL);
)sql";

constexpr std::array<std::string_view, 5> required_tables = {"commits", "episodes", "grants",
                                                             "memories", "shared_tables"};

// The statements of the read-write connection, prepared on first use: a store that only ever
// adds memories never pays for the others.
enum class query : std::size_t {
  begin,
  commit,
  rollback,
  insert_memory,
  count_short,
  oldest_short,
  delete_memory,
  mark_used,
  insert_episode,
  insert_table,
  table_used,
  table_archived,
  insert_grant,
  revoke_grant,
  reassign_memories,
  reassign_episodes,
  reassign_tables,
  forget_memories,
  forget_episodes,
  insert_commit,
  recall,
  short_term,
  count_episodes,
  best_episode,
  list_tables,
  active_grants,
  export_memories,
  export_episodes,
  count_
};

constexpr std::array<std::string_view, static_cast<std::size_t>(query::count_)> query_text = {
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "INSERT INTO memories(agent, tier, text, importance, created, used) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    "SELECT count(*) FROM memories WHERE agent = ?1 AND tier = 'short'",
    "SELECT id, text, importance FROM memories WHERE agent = ?1 AND tier = 'short' "
    "ORDER BY created, id LIMIT ?2",
    "DELETE FROM memories WHERE id = ?1",
    "UPDATE memories SET used = ?2 WHERE id = ?1",
    "INSERT INTO episodes(agent, task, family, text, answer, quality, created) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    "INSERT OR IGNORE INTO shared_tables(name, owner, created, last_used, hits, archived) "
    "VALUES(?1, ?2, ?3, ?3, 0, 0)",
    "UPDATE shared_tables SET last_used = ?2, hits = hits + 1, archived = 0 WHERE name = ?1",
    "UPDATE shared_tables SET archived = 1 WHERE name = ?1",
    "INSERT INTO grants(id, grantee_locale, grantee_agent, table_name, level, justification, "
    "granted, expires, revoked) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL)",
    "UPDATE grants SET revoked = ?2 WHERE id = ?1 AND revoked IS NULL",
    "UPDATE memories SET agent = ?2 WHERE agent = ?1",
    "UPDATE episodes SET agent = ?2 WHERE agent = ?1",
    "UPDATE shared_tables SET owner = ?2 WHERE owner = ?1",
    "DELETE FROM memories WHERE agent = ?1",
    "DELETE FROM episodes WHERE agent = ?1",
    "INSERT INTO commits(t, rows) VALUES(?1, ?2)",
    "SELECT id, agent, tier, text, importance, created, used FROM memories "
    "WHERE agent = ?1 AND tier = 'long' ORDER BY importance DESC, id LIMIT ?2",
    "SELECT id, agent, tier, text, importance, created, used FROM memories "
    "WHERE agent = ?1 AND tier = 'short' ORDER BY created, id",
    "SELECT count(*) FROM (SELECT 1 FROM episodes WHERE agent = ?1 AND family = ?2 "
    "AND quality >= ?3 LIMIT ?4)",
    "SELECT id, agent, task, family, text, answer, quality, created FROM episodes "
    "WHERE agent = ?1 AND family = ?2 AND quality >= ?3 ORDER BY quality DESC, id LIMIT 1",
    "SELECT name, owner, created, last_used, hits, archived FROM shared_tables ORDER BY name",
    "SELECT id, grantee_locale, grantee_agent, table_name, level, justification, granted, "
    "expires, revoked FROM grants WHERE grantee_locale = ?1 AND grantee_agent IN (?2, '') "
    "AND table_name IN (?3, '') AND granted <= ?4 AND ?4 < expires "
    "AND (revoked IS NULL OR ?4 < revoked) ORDER BY id",
    "SELECT id, agent, tier, text, importance, created, used FROM memories "
    "WHERE agent = ?1 ORDER BY id",
    "SELECT id, agent, task, family, text, answer, quality, created FROM episodes "
    "WHERE agent = ?1 ORDER BY id",
};

bool ascii_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// `s` for an error message: quoted, control and non-ASCII bytes as \xNN.
std::string shown(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char c : s.substr(0, 120)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') {
      out += {'\\', 'x', hex[u >> 4], hex[u & 15]};
    } else {
      out.push_back(c);
    }
  }
  return out + (s.size() > 120 ? "...\"" : "\"");
}

// The first `n` words of `text`, separated by single spaces.
std::string first_words(std::string_view text, std::size_t n) {
  std::string out;
  std::size_t i = 0;
  for (std::size_t words = 0; words < n; ++words) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])) != 0) ++i;
    if (i == text.size()) break;
    const auto start = i;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])) == 0) ++i;
    if (!out.empty()) out.push_back(' ');
    out.append(text.substr(start, i - start));
  }
  return out;
}

// A failure of `db` as an error: damage and foreign files are bad input, a refused write is a
// permission error, the rest is I/O.
error failure(const sqlite::connection& db, std::string_view what) {
  const int code = sqlite3_extended_errcode(db.get());
  const std::string message = sqlite3_errmsg(db.get());
  switch (code & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return fail(errc::bad_input, db.label() + ": " + std::string(what) + ": " + message +
                                       " (the locale store is damaged: restore it from a copy "
                                       "or remove it to start the locale empty)");
    case SQLITE_READONLY:
      return fail(errc::permission_denied,
                  db.label() + ": " + std::string(what) + ": " + message + " (SQLITE_READONLY)");
    default:
      return fail(errc::io_error, db.label() + ": " + std::string(what) + ": " + message);
  }
}

// Resets a statement when the scope ends, so that no read transaction outlives a call (an open
// one would pin the reader to an old snapshot and hold back checkpoints).
class in_use {
 public:
  explicit in_use(sqlite::statement& s) : s_(s) { s_.reset(); }
  ~in_use() { sqlite3_reset(s_.get()); }
  in_use(const in_use&) = delete;
  in_use& operator=(const in_use&) = delete;

 private:
  sqlite::statement& s_;
};

result<void> run(const sqlite::connection& db, sqlite::statement& s, std::string_view what) {
  int rc = SQLITE_ROW;
  while (rc == SQLITE_ROW) rc = s.step();
  if (rc != SQLITE_DONE) return failure(db, what);
  return {};
}

memory_tier tier_of(std::string_view text) {
  return text == "short" ? memory_tier::short_term : memory_tier::long_term;
}

memory_record memory_at(const sqlite::statement& s) {
  return {s.int_at(0), s.text_at(1), tier_of(s.text_at(2)), s.text_at(3), s.real_at(4),
          s.int_at(5), s.int_at(6)};
}

episode_record episode_at(const sqlite::statement& s) {
  return {s.int_at(0),  s.text_at(1), s.int_at(2),  s.text_at(3),
          s.text_at(4), s.int_at(5),  s.real_at(6), s.int_at(7)};
}

shared_row shared_at(const sqlite::statement& s) {
  return {s.text_at(0), s.text_at(1), s.text_at(2), s.int_at(3)};
}

std::string shared_table(std::string_view name) {
  return "\"shared__" + std::string(name) + "\"";
}

std::string upsert_text(std::string_view name) {
  return "INSERT INTO " + shared_table(name) +
         "(key, value, writer, updated) VALUES(?1, ?2, ?3, ?4) ON CONFLICT(key) DO UPDATE SET "
         "value = excluded.value, writer = excluded.writer, updated = excluded.updated";
}

std::string select_text(std::string_view name) {
  return "SELECT key, value, writer, updated FROM " + shared_table(name) + " WHERE key = ?1";
}

// A value of the current row of `s` as the dump writes it.
void append_value(std::string& out, sqlite3_stmt* s, int col) {
  switch (sqlite3_column_type(s, col)) {
    case SQLITE_NULL:
      out += "NULL";
      break;
    case SQLITE_INTEGER:
      out += to_string(sqlite3_column_int64(s, col));
      break;
    case SQLITE_FLOAT: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", sqlite3_column_double(s, col));
      out += buf;
      break;
    }
    case SQLITE_TEXT: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
      const std::string_view text(p, static_cast<std::size_t>(sqlite3_column_bytes(s, col)));
      out.push_back('"');
      for (const char c : text) {
        if (c == '"' || c == '\\') {
          out += {'\\', c};
        } else if (c == '\n') {
          out += "\\n";
        } else {
          out.push_back(c);
        }
      }
      out.push_back('"');
      break;
    }
    default: {
      static constexpr char hex[] = "0123456789abcdef";
      const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(s, col));
      out += "x'";
      for (int i = 0; i < sqlite3_column_bytes(s, col); ++i)
        out += {hex[p[i] >> 4], hex[p[i] & 15]};
      out.push_back('\'');
    }
  }
}

}  // namespace

bool safe_store_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > longest_store_name || name.front() == '.') return false;
  if (name.find("..") != std::string_view::npos) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return ascii_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool safe_table_name(std::string_view name) noexcept {
  return !name.empty() && name.size() <= longest_table_name &&
         std::all_of(name.begin(), name.end(), [](char c) { return ascii_alnum(c) || c == '_'; });
}

std::string_view to_string(memory_tier tier) noexcept {
  return tier == memory_tier::short_term ? "short" : "long";
}

std::string_view to_string(access_level level) noexcept {
  return level == access_level::read ? "read" : "write";
}

// ---------------------------------------------------------------------------------------------

namespace ops {
struct memory {
  std::string agent;
  memory_tier tier;
  std::string text;
  double importance;
  sim_time created;
  sim_time used;
  short_term_limit limit;
  bool bounded;  // false for imported memories: they keep their tier as they are
};
struct memory_used {
  std::int64_t id;
  sim_time t;
};
struct episode {
  episode_record e;
};
struct create_table {
  std::string name;
  std::string owner;
  sim_time t;
};
struct put {
  std::string table;
  std::string key;
  std::string value;
  std::string writer;
  sim_time t;
};
struct table_used {
  std::string table;
  sim_time t;
};
struct table_archived {
  std::string table;
};
struct grant {
  access_grant g;
};
struct revoke {
  std::int64_t id;
  sim_time t;
};
struct reassign {
  std::string from;
  std::string to;
};
struct forget {
  std::string agent;
};
}  // namespace ops

struct locale_store::op {
  std::variant<ops::memory, ops::memory_used, ops::episode, ops::create_table, ops::put,
               ops::table_used, ops::table_archived, ops::grant, ops::revoke, ops::reassign,
               ops::forget>
      v;
};

namespace {
struct table_statements {
  sqlite::statement put;
  sqlite::statement get;
};
}  // namespace

// A store's open connections and their statements. Statements are declared after their
// connection, so they are finalized before it closes.
struct locale_store::connections {
  sqlite::connection db;
  std::array<sqlite::statement, static_cast<std::size_t>(query::count_)> queries;
  std::map<std::string, table_statements, std::less<>> tables;
  sqlite::connection reader;  // opened by the first grantee read
  std::map<std::string, table_statements, std::less<>> reader_tables;

  result<sqlite::statement*> get(query q) {
    auto& s = queries[static_cast<std::size_t>(q)];
    if (!s) {
      const auto text = query_text[static_cast<std::size_t>(q)];
      auto p = db.prepare(text);
      if (!p) return failure(db, "cannot prepare \"" + std::string(text.substr(0, 60)) + "\"");
      s = std::move(*p);
    }
    return &s;
  }
};

namespace {

// The statements of shared table `name` on `db`, prepared on first use. Fails with
// errc::invalid_argument when the table is not in the database (yet).
result<table_statements*> table_of(const sqlite::connection& db,
                                   std::map<std::string, table_statements, std::less<>>& cache,
                                   const std::string& name, const std::string& locale) {
  auto it = cache.find(name);
  if (it != cache.end()) return &it->second;
  table_statements t;
  for (auto [s, text] :
       {std::pair{&t.put, upsert_text(name)}, std::pair{&t.get, select_text(name)}}) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db.get(), text.c_str(), static_cast<int>(text.size()),
                           SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) {
      const std::string message = sqlite3_errmsg(db.get());
      if (message.starts_with("no such table")) {
        return fail(errc::invalid_argument, "locale " + locale + ": shared table \"" + name +
                                                "\" holds no committed data yet");
      }
      return failure(db, "cannot prepare the statements of shared table \"" + name + "\"");
    }
    *s = sqlite::statement(raw);
  }
  return &cache.emplace(name, std::move(t)).first->second;
}

// Row `key` of shared table `table` on `db` (the read-write or the read-only connection), if
// there is one; none while the table holds no committed data.
result<std::optional<shared_row>> read_row(
    const sqlite::connection& db, std::map<std::string, table_statements, std::less<>>& cache,
    std::string_view table, std::string_view key, const std::string& locale) {
  auto t = table_of(db, cache, lower(table), locale);
  if (!t) {
    if (t.error().code == errc::invalid_argument) return std::optional<shared_row>();
    return t.error();
  }
  auto& s = (*t)->get;
  in_use guard(s);
  s.bind_text(1, key);
  const int rc = s.step();
  if (rc == SQLITE_ROW) return std::optional(shared_at(s));
  if (rc != SQLITE_DONE) return failure(db, "cannot read shared table " + shown(table));
  return std::optional<shared_row>();
}

// A connection to `path`, used under the store's mutex (hence no SQLite mutex).
result<sqlite::connection> open_connection(const fs::path& path, int flags) {
  auto db = sqlite::connection::open(path.string(), flags | SQLITE_OPEN_NOMUTEX, path.string());
  if (!db) return db.error();
  // The owner is the only writer; the wait covers a reader meeting a checkpoint.
  sqlite3_busy_timeout(db->get(), 5000);
  return db;
}

// Bounds the page cache of `db`. Setting it reads the schema, so this comes after the checks
// (which name the problem with a file that is not a store better than this would).
result<void> limit_cache(sqlite::connection& db, std::size_t cache_kib) {
  if (!db.exec("PRAGMA cache_size=-" + to_string(cache_kib))) {
    return failure(db, "cannot set the page cache size");
  }
  return {};
}

// The first column of the first row of `sql`, classifying failures.
result<std::int64_t> query_int(sqlite::connection& db, std::string_view sql,
                               std::string_view what) {
  auto s = db.prepare(sql);
  if (!s) return failure(db, what);
  const int rc = s->step();
  if (rc == SQLITE_ROW) return s->int_at(0);
  if (rc == SQLITE_DONE)
    return fail(errc::bad_input, db.label() + ": no result for " + std::string(sql));
  return failure(db, what);
}

constexpr std::string_view move_away =
    "a locale store belongs here: move the file away, or run with another output directory";

// Checks that `db` is a locale store, or on the `first` open makes it one if it is a blank
// database (a new file, or one left by a run killed while creating it). The first open also
// checks the pages; a reopen only the header and tables.
result<void> check_or_create(sqlite::connection& db, bool first) {
  const auto& label = db.label();
  auto app = query_int(db, "PRAGMA application_id", "cannot read the header");
  if (!app) {
    const int code = sqlite3_extended_errcode(db.get()) & 0xff;
    if (code == SQLITE_NOTADB) {
      return fail(errc::bad_input, label + ": not a SQLite database (" + sqlite3_errmsg(db.get()) +
                                       "); " + std::string(move_away));
    }
    return app.error();
  }
  auto version = query_int(db, "PRAGMA user_version", "cannot read the header");
  if (!version) return version.error();
  auto objects = query_int(db, "SELECT count(*) FROM sqlite_schema", "cannot read the schema");
  if (!objects) return objects.error();
  if (*app == 0 && *version == 0 && *objects == 0) {
    if (!first) {
      return fail(errc::bad_input, label + ": the locale store was emptied while it was closed");
    }
    // Creation runs unsynced: switching to WAL and writing the schema would otherwise cost
    // several fsyncs (~20 ms here), thousands of times in a run with thousands of locales. A
    // process killed meanwhile leaves a blank database (adopted by the next open) or a hot
    // journal SQLite rolls back; only a power loss could leave a damaged new file.
    if (auto r = db.exec("PRAGMA synchronous=OFF"); !r) return failure(db, "cannot create");
    auto mode = db.prepare("PRAGMA journal_mode=WAL");
    if (!mode) return failure(db, "cannot set WAL mode");
    if (mode->step() != SQLITE_ROW || mode->text_at(0) != "wal") {
      return failure(db, "cannot set WAL mode");
    }
    mode = sqlite::statement{};
    if (auto r = db.exec("BEGIN; " + std::string(schema) +
                         "PRAGMA application_id=" + to_string(locale_store::application_id) +
                         "; PRAGMA user_version=" + to_string(locale_store::schema_version) +
                         "; COMMIT");
        !r) {
      (void)db.exec("ROLLBACK");
      return failure(db, "cannot create the schema");
    }
    return db.exec("PRAGMA synchronous=NORMAL");
  }
  if (*app != locale_store::application_id) {
    return fail(errc::bad_input, label + ": a SQLite database, but not a Colony locale store " +
                                     "(application_id " + to_string(*app) + ", expected " +
                                     to_string(locale_store::application_id) + "); " +
                                     std::string(move_away));
  }
  if (*version != locale_store::schema_version) {
    return fail(errc::bad_input, label + ": a locale store of schema version " +
                                     to_string(*version) + ", but this Colony reads version " +
                                     to_string(locale_store::schema_version) +
                                     " (use the Colony that wrote it, or another output "
                                     "directory)");
  }
  auto names = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'");
  if (!names) return failure(db, "cannot read the schema");
  std::set<std::string, std::less<>> present;
  int rc = SQLITE_ROW;
  while ((rc = names->step()) == SQLITE_ROW) present.insert(names->text_at(0));
  if (rc != SQLITE_DONE) return failure(db, "cannot read the schema");
  names = sqlite::statement{};
  std::string missing;
  for (const auto t : required_tables) {
    if (!present.contains(t)) missing += (missing.empty() ? "" : ", ") + std::string(t);
  }
  if (!missing.empty()) {
    return fail(errc::bad_input, label + ": a damaged locale store: missing table(s) " + missing +
                                     " (restore it from a copy, or remove it to start the locale "
                                     "empty)");
  }
  if (first) {
    auto check = db.prepare("PRAGMA quick_check(1)");
    if (!check) return failure(db, "cannot check the pages");
    if (check->step() != SQLITE_ROW) return failure(db, "cannot check the pages");
    if (const auto verdict = check->text_at(0); verdict != "ok") {
      return fail(errc::bad_input, label + ": a damaged locale store (" + verdict +
                                       "): restore it from a copy, or remove it to start the "
                                       "locale empty");
    }
  }
  // WAL persists in the file, but a store copied or restored in another mode gets it back.
  if (auto r = db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"); !r) {
    return failure(db, "cannot set WAL mode");
  }
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------------

store_pool::store_pool(fs::path dir, pool_limits limits) : dir_(std::move(dir)), limits_(limits) {
  limits_.max_open = std::max<std::size_t>(limits_.max_open, 1);
}

store_pool::~store_pool() {
  COLONY_ASSERT(names_.empty());  // every store must go before its pool
}

fs::path store_pool::path_of(std::string_view locale) const {
  return dir_ / "locales" / (std::string(locale) + ".sqlite");
}

pool_counts store_pool::counts() const {
  std::lock_guard lock(m_);
  return counts_;
}

result<std::unique_ptr<locale_store>> store_pool::open(std::string_view locale) {
  if (!safe_store_name(locale)) {
    return fail(errc::invalid_argument,
                "locale name " + shown(locale) +
                    " cannot name a store file (1 to 100 letters, digits, '-', '_' or '.', not "
                    "starting with '.' and without \"..\")");
  }
  {
    std::lock_guard lock(m_);
    if (!names_.emplace(locale).second) {
      return fail(errc::invalid_argument, "locale " + std::string(locale) +
                                              ": its store is already open (a store has one "
                                              "owner)");
    }
    ++counts_.stores;
  }
  std::unique_ptr<locale_store> s(new locale_store(*this, std::string(locale), path_of(locale)));
  if (auto r = s->first_open(); !r) return r.error();
  return s;
}

void store_pool::admit(locale_store& s, int n) {
  std::lock_guard lock(m_);
  while (counts_.open + static_cast<std::size_t>(n) > limits_.max_open) {
    // The least recently used store that is not in use on another thread (nor `s` itself,
    // whose mutex this thread holds).
    auto victim = std::find_if(lru_.begin(), lru_.end(),
                               [&](locale_store* v) { return v != &s && v->m_.try_lock(); });
    if (victim == lru_.end()) break;
    locale_store& v = **victim;
    v.close_connections(false);
    counts_.open -= static_cast<std::size_t>(v.counted_);
    counts_.closes += static_cast<std::uint64_t>(v.counted_);
    v.counted_ = 0;
    lru_.erase(victim);
    v.m_.unlock();
  }
  counts_.open += static_cast<std::size_t>(n);
  counts_.opens += static_cast<std::uint64_t>(n);
  if (s.counted_ > 0) {
    lru_.splice(lru_.end(), lru_, s.lru_pos_);
  } else {
    s.lru_pos_ = lru_.insert(lru_.end(), &s);
  }
  s.counted_ += n;
}

void store_pool::touch(locale_store& s) {
  std::lock_guard lock(m_);
  if (s.counted_ > 0) lru_.splice(lru_.end(), lru_, s.lru_pos_);
}

void store_pool::leave(locale_store& s) noexcept {
  std::lock_guard lock(m_);
  if (s.counted_ == 0) return;
  counts_.open -= static_cast<std::size_t>(s.counted_);
  counts_.closes += static_cast<std::uint64_t>(s.counted_);
  s.counted_ = 0;
  lru_.erase(s.lru_pos_);
}

void store_pool::forget(locale_store& s) noexcept {
  std::lock_guard lock(m_);
  if (s.counted_ > 0) {
    counts_.open -= static_cast<std::size_t>(s.counted_);
    counts_.closes += static_cast<std::uint64_t>(s.counted_);
    s.counted_ = 0;
    lru_.erase(s.lru_pos_);
  }
  const auto it = names_.find(s.locale_);
  if (it != names_.end()) names_.erase(it);
  --counts_.stores;
}

// ---------------------------------------------------------------------------------------------

locale_store::locale_store(store_pool& pool, std::string locale, fs::path path)
    : pool_(pool), locale_(std::move(locale)), path_(std::move(path)) {}

locale_store::~locale_store() {
  // Out of the pool first: from then on no other thread can reach this store.
  pool_.forget(*this);
  if (!queue_.empty()) {
    log::get("memory").warn("locale store {}: {} queued writes dropped (not flushed)", locale_,
                            queue_.size());
  }
  conn_.reset();
}

std::size_t locale_store::pending() const noexcept {
  return queue_.size();
}

bool locale_store::is_open() const {
  std::lock_guard lock(m_);
  return conn_ != nullptr;
}

void locale_store::close_connections(bool checkpoint) noexcept {
  if (conn_ && !checkpoint) {
    // The checkpoint SQLite runs when the last connection closes costs two fsyncs; an evicted
    // store skips it and keeps its -wal file, which the next open reads as usual.
    sqlite3_db_config(conn_->db.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  }
  conn_.reset();
}

result<void> locale_store::first_open() {
  std::error_code ec;
  fs::create_directories(path_.parent_path(), ec);
  if (ec) {
    return fail(errc::io_error, path_.parent_path().string() + ": cannot create: " + ec.message());
  }
  const auto status = fs::status(path_, ec);
  if (fs::exists(status) && !fs::is_regular_file(status)) {
    return fail(errc::bad_input,
                path_.string() + ": not a regular file; " + std::string(move_away));
  }
  std::lock_guard lock(m_);
  if (auto r = use(); !r) return r;
  auto& db = conn_->db;
  auto names = db.prepare("SELECT name FROM shared_tables");
  if (!names) return failure(db, "cannot read shared_tables");
  int rc = SQLITE_ROW;
  while ((rc = names->step()) == SQLITE_ROW) tables_.insert(names->text_at(0));
  if (rc != SQLITE_DONE) return failure(db, "cannot read shared_tables");
  auto next = query_int(db, "SELECT COALESCE(MAX(id), 0) + 1 FROM grants", "cannot read grants");
  if (!next) return next.error();
  next_grant_ = *next;
  auto seq = query_int(db, "SELECT COALESCE(MAX(seq), 0) FROM commits", "cannot read commits");
  if (!seq) return seq.error();
  last_commit_ = *seq;
  return {};
}

result<void> locale_store::use() {
  if (conn_) {
    pool_.touch(*this);
    return {};
  }
  int flags = SQLITE_OPEN_READWRITE;
  if (created_) {
    std::error_code ec;
    if (!fs::is_regular_file(path_, ec)) {
      return fail(errc::io_error, path_.string() +
                                      ": the locale store's file is gone (removed while the "
                                      "store was closed)");
    }
  } else {
    flags |= SQLITE_OPEN_CREATE;
  }
  pool_.admit(*this, 1);
  auto opened = [&]() -> result<void> {
    auto db = open_connection(path_, flags);
    if (!db) return db.error();
    auto c = std::make_unique<connections>();
    c->db = std::move(*db);
    if (auto r = check_or_create(c->db, !created_); !r) return r;
    if (auto r = limit_cache(c->db, pool_.limits().cache_kib); !r) return r;
    conn_ = std::move(c);
    return {};
  }();
  if (!opened) {
    pool_.leave(*this);
    return opened;
  }
  created_ = true;
  archived_ = false;
  return {};
}

result<void> locale_store::use_reader() {
  if (auto r = use(); !r) return r;
  if (conn_->reader.get() != nullptr) return {};
  pool_.admit(*this, 1);
  auto db = open_connection(path_, SQLITE_OPEN_READONLY);
  auto limited = db ? limit_cache(*db, pool_.limits().cache_kib) : result<void>(db.error());
  if (!limited) {
    close_connections(false);
    pool_.leave(*this);
    return limited;
  }
  conn_->reader = std::move(*db);
  return {};
}

result<void> locale_store::known_table(std::string_view table) const {
  if (!tables_.contains(lower(table))) {
    return fail(errc::invalid_argument, "locale " + locale_ + ": no shared table " + shown(table));
  }
  return {};
}

// ----- queued writes --------------------------------------------------------------------------

result<void> locale_store::add_short_term(std::string_view agent, std::string_view text,
                                          double importance, sim_time now, short_term_limit limit) {
  if (agent.empty() || !std::isfinite(importance)) {
    return fail(errc::invalid_argument,
                "locale " + locale_ + ": a memory needs an agent and a finite importance");
  }
  queue_.push_back({ops::memory{std::string(agent), memory_tier::short_term, std::string(text),
                                importance, now, now, limit, true}});
  return {};
}

result<void> locale_store::add_long_term(std::string_view agent, std::string_view text,
                                         double importance, sim_time now) {
  if (agent.empty() || !std::isfinite(importance)) {
    return fail(errc::invalid_argument,
                "locale " + locale_ + ": a memory needs an agent and a finite importance");
  }
  queue_.push_back({ops::memory{std::string(agent),
                                memory_tier::long_term,
                                std::string(text),
                                importance,
                                now,
                                now,
                                {},
                                false}});
  return {};
}

void locale_store::mark_memory_used(std::int64_t id, sim_time now) {
  queue_.push_back({ops::memory_used{id, now}});
}

result<bool> locale_store::add_episode(const episode_record& e, double threshold) {
  if (e.agent.empty() || !std::isfinite(e.quality)) {
    return fail(errc::invalid_argument, "locale " + locale_ +
                                            ": an episode needs an agent and "
                                            "a finite quality");
  }
  if (!(e.quality >= threshold)) return false;
  queue_.push_back({ops::episode{e}});
  return true;
}

result<void> locale_store::create_shared_table(std::string_view name, std::string_view owner,
                                               sim_time now) {
  if (!safe_table_name(name)) {
    return fail(errc::invalid_argument, "locale " + locale_ + ": shared table name " + shown(name) +
                                            " is not 1 to 64 letters, digits or '_'");
  }
  auto canonical = lower(name);
  if (!tables_.insert(canonical).second) return {};
  queue_.push_back({ops::create_table{std::move(canonical), std::string(owner), now}});
  return {};
}

result<void> locale_store::put_shared(std::string_view table, std::string_view key,
                                      std::string_view value, std::string_view writer,
                                      sim_time now) {
  if (auto r = known_table(table); !r) return r;
  queue_.push_back(
      {ops::put{lower(table), std::string(key), std::string(value), std::string(writer), now}});
  return {};
}

result<void> locale_store::mark_shared_used(std::string_view table, sim_time now) {
  if (auto r = known_table(table); !r) return r;
  queue_.push_back({ops::table_used{lower(table), now}});
  return {};
}

result<void> locale_store::archive_shared(std::string_view table) {
  if (auto r = known_table(table); !r) return r;
  queue_.push_back({ops::table_archived{lower(table)}});
  return {};
}

result<std::int64_t> locale_store::record_grant(access_grant g) {
  if (!safe_store_name(g.grantee_locale)) {
    return fail(errc::invalid_argument, "locale " + locale_ + ": grant to locale " +
                                            shown(g.grantee_locale) +
                                            ", which is not a locale name");
  }
  if (!g.table.empty() && !safe_table_name(g.table)) {
    return fail(errc::invalid_argument, "locale " + locale_ + ": grant on table " + shown(g.table) +
                                            ", which is not a table name");
  }
  if (g.expires <= g.granted) {
    return fail(errc::invalid_argument, "locale " + locale_ +
                                            ": a grant must expire after it is "
                                            "granted");
  }
  g.table = lower(g.table);
  g.id = next_grant_++;
  g.revoked.reset();
  const auto id = g.id;
  queue_.push_back({ops::grant{std::move(g)}});
  return id;
}

result<void> locale_store::revoke_grant(std::int64_t id, sim_time now) {
  if (id < 1 || id >= next_grant_) {
    return fail(errc::invalid_argument,
                "locale " + locale_ + ": no grant " + to_string(id) + " to revoke");
  }
  queue_.push_back({ops::revoke{id, now}});
  return {};
}

void locale_store::reassign_agent(std::string_view from, std::string_view to) {
  queue_.push_back({ops::reassign{std::string(from), std::string(to)}});
}

void locale_store::import_agent(const agent_records& records, std::string_view as_agent) {
  for (const auto& m : records.memories) {
    queue_.push_back({ops::memory{
        std::string(as_agent), m.tier, m.text, m.importance, m.created, m.used, {}, false}});
  }
  for (auto e : records.episodes) {
    e.agent = as_agent;
    queue_.push_back({ops::episode{std::move(e)}});
  }
}

void locale_store::forget_agent(std::string_view agent) {
  queue_.push_back({ops::forget{std::string(agent)}});
}

// ----- flush ----------------------------------------------------------------------------------

result<void> locale_store::apply(const op& o) {
  auto& c = *conn_;
  const auto& db = c.db;
  const auto step = [&](query q, auto&& bind, std::string_view what) -> result<void> {
    auto s = c.get(q);
    if (!s) return s.error();
    in_use guard(**s);
    bind(**s);
    return run(db, **s, what);
  };
  return std::visit(
      [&](const auto& x) -> result<void> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, ops::memory>) {
          if (auto r = step(
                  query::insert_memory,
                  [&](sqlite::statement& s) {
                    s.bind_text(1, x.agent)
                        .bind_text(2, to_string(x.tier))
                        .bind_text(3, x.text)
                        .bind_real(4, x.importance)
                        .bind_int(5, x.created)
                        .bind_int(6, x.used);
                  },
                  "cannot add a memory");
              !r) {
            return r;
          }
          if (!x.bounded) return {};
          std::int64_t held = 0;
          {
            auto s = c.get(query::count_short);
            if (!s) return s.error();
            in_use guard(**s);
            (*s)->bind_text(1, x.agent);
            if ((*s)->step() != SQLITE_ROW) return failure(db, "cannot count short-term memories");
            held = (*s)->int_at(0);
          }
          const auto keep = static_cast<std::int64_t>(
              std::min<std::size_t>(x.limit.keep, std::numeric_limits<std::int64_t>::max()));
          if (held <= keep) return {};
          const auto k = std::max<std::int64_t>(
              {held - keep, static_cast<std::int64_t>(x.limit.summarize), 1});
          std::vector<std::int64_t> ids;
          std::string text;
          double importance = 0;
          {
            auto s = c.get(query::oldest_short);
            if (!s) return s.error();
            in_use guard(**s);
            (*s)->bind_text(1, x.agent).bind_int(2, k);
            int rc = SQLITE_ROW;
            while ((rc = (*s)->step()) == SQLITE_ROW) {
              ids.push_back((*s)->int_at(0));
              text += (text.empty() ? "" : "; ") + first_words((*s)->text_at(1), 5);
              importance += (*s)->real_at(2);
            }
            if (rc != SQLITE_DONE) return failure(db, "cannot read short-term memories");
          }
          for (const auto id : ids) {
            if (auto r = step(
                    query::delete_memory, [&](sqlite::statement& s) { s.bind_int(1, id); },
                    "cannot summarize short-term memories");
                !r) {
              return r;
            }
          }
          const auto n = ids.size();
          const auto summary =
              "summary of " + to_string(n) + (n == 1 ? " memory: " : " memories: ") + text;
          return step(
              query::insert_memory,
              [&](sqlite::statement& s) {
                s.bind_text(1, x.agent)
                    .bind_text(2, "long")
                    .bind_text(3, summary)
                    .bind_real(4, importance / static_cast<double>(n))
                    .bind_int(5, x.created)
                    .bind_int(6, x.created);
              },
              "cannot summarize short-term memories");
        } else if constexpr (std::is_same_v<T, ops::memory_used>) {
          return step(
              query::mark_used, [&](sqlite::statement& s) { s.bind_int(1, x.id).bind_int(2, x.t); },
              "cannot mark a memory used");
        } else if constexpr (std::is_same_v<T, ops::episode>) {
          return step(
              query::insert_episode,
              [&](sqlite::statement& s) {
                s.bind_text(1, x.e.agent)
                    .bind_int(2, x.e.task)
                    .bind_text(3, x.e.family)
                    .bind_text(4, x.e.text)
                    .bind_int(5, x.e.answer)
                    .bind_real(6, x.e.quality)
                    .bind_int(7, x.e.created);
              },
              "cannot add an episode");
        } else if constexpr (std::is_same_v<T, ops::create_table>) {
          if (auto r = step(
                  query::insert_table,
                  [&](sqlite::statement& s) {
                    s.bind_text(1, x.name).bind_text(2, x.owner).bind_int(3, x.t);
                  },
                  "cannot create a shared table");
              !r) {
            return r;
          }
          if (auto r = c.db.exec("CREATE TABLE IF NOT EXISTS " + shared_table(x.name) +
                                 "(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL, writer "
                                 "TEXT NOT NULL, updated INTEGER NOT NULL)");
              !r) {
            return failure(db, "cannot create shared table \"" + x.name + "\"");
          }
          return {};
        } else if constexpr (std::is_same_v<T, ops::put>) {
          auto t = table_of(db, c.tables, x.table, locale_);
          if (!t) return t.error();
          auto& s = (*t)->put;
          in_use guard(s);
          s.bind_text(1, x.key).bind_text(2, x.value).bind_text(3, x.writer).bind_int(4, x.t);
          return run(db, s, "cannot write to shared table \"" + x.table + "\"");
        } else if constexpr (std::is_same_v<T, ops::table_used>) {
          return step(
              query::table_used,
              [&](sqlite::statement& s) { s.bind_text(1, x.table).bind_int(2, x.t); },
              "cannot mark a shared table used");
        } else if constexpr (std::is_same_v<T, ops::table_archived>) {
          return step(
              query::table_archived, [&](sqlite::statement& s) { s.bind_text(1, x.table); },
              "cannot archive a shared table");
        } else if constexpr (std::is_same_v<T, ops::grant>) {
          const auto& g = x.g;
          return step(
              query::insert_grant,
              [&](sqlite::statement& s) {
                s.bind_int(1, g.id)
                    .bind_text(2, g.grantee_locale)
                    .bind_text(3, g.grantee_agent)
                    .bind_text(4, g.table)
                    .bind_text(5, to_string(g.level))
                    .bind_text(6, g.justification)
                    .bind_int(7, g.granted)
                    .bind_int(8, g.expires);
              },
              "cannot record a grant");
        } else if constexpr (std::is_same_v<T, ops::revoke>) {
          return step(
              query::revoke_grant,
              [&](sqlite::statement& s) { s.bind_int(1, x.id).bind_int(2, x.t); },
              "cannot revoke a grant");
        } else if constexpr (std::is_same_v<T, ops::reassign>) {
          for (const auto q :
               {query::reassign_memories, query::reassign_episodes, query::reassign_tables}) {
            if (auto r = step(
                    q, [&](sqlite::statement& s) { s.bind_text(1, x.from).bind_text(2, x.to); },
                    "cannot reassign agent " + x.from);
                !r) {
              return r;
            }
          }
          return {};
        } else {
          static_assert(std::is_same_v<T, ops::forget>);
          for (const auto q : {query::forget_memories, query::forget_episodes}) {
            if (auto r = step(
                    q, [&](sqlite::statement& s) { s.bind_text(1, x.agent); },
                    "cannot forget agent " + x.agent);
                !r) {
              return r;
            }
          }
          return {};
        }
      },
      o.v);
}

result<std::size_t> locale_store::flush(sim_time now) {
  if (queue_.empty()) return std::size_t{0};
  std::lock_guard lock(m_);
  if (auto r = use(); !r) return r.error();
  auto& c = *conn_;
  sqlite3* raw = c.db.get();
  const auto simple = [&](query q, std::string_view what) -> result<void> {
    auto s = c.get(q);
    if (!s) return s.error();
    in_use guard(**s);
    return run(c.db, **s, what);
  };
  if (auto r = simple(query::begin, "cannot begin a transaction"); !r) return r.error();
  const auto undo = [&](const error& e) -> error {
    if (sqlite3_get_autocommit(raw) == 0) (void)simple(query::rollback, "cannot roll back");
    c.tables.clear();  // a shared table created in this transaction is gone again
    return e;
  };
  const auto before = sqlite3_total_changes64(raw);
  for (const auto& o : queue_) {
    if (auto r = apply(o); !r) return undo(r.error());
  }
  const auto rows = sqlite3_total_changes64(raw) - before;
  {
    auto s = c.get(query::insert_commit);
    if (!s) return undo(s.error());
    in_use guard(**s);
    (*s)->bind_int(1, now).bind_int(2, rows);
    if (auto r = run(c.db, **s, "cannot record the commit"); !r) return undo(r.error());
  }
  const auto seq = sqlite3_last_insert_rowid(raw);
  if (auto r = simple(query::commit, "cannot commit"); !r) return undo(r.error());
  queue_.clear();
  last_commit_ = seq;
  return static_cast<std::size_t>(rows);
}

// ----- reads ----------------------------------------------------------------------------------

result<std::vector<memory_record>> locale_store::recall(std::string_view agent, std::size_t n) {
  std::lock_guard lock(m_);
  if (auto r = use(); !r) return r.error();
  auto s = conn_->get(query::recall);
  if (!s) return s.error();
  in_use guard(**s);
  (*s)->bind_text(1, agent).bind_int(2, static_cast<std::int64_t>(std::min<std::size_t>(
                                            n, std::numeric_limits<std::int64_t>::max())));
  std::vector<memory_record> out;
  int rc = SQLITE_ROW;
  while ((rc = (*s)->step()) == SQLITE_ROW) out.push_back(memory_at(**s));
  if (rc != SQLITE_DONE) return failure(conn_->db, "cannot recall memories");
  return out;
}

result<std::vector<memory_record>> locale_store::short_term(std::string_view agent) {
  std::lock_guard lock(m_);
  if (auto r = use(); !r) return r.error();
  auto s = conn_->get(query::short_term);
  if (!s) return s.error();
  in_use guard(**s);
  (*s)->bind_text(1, agent);
  std::vector<memory_record> out;
  int rc = SQLITE_ROW;
  while ((rc = (*s)->step()) == SQLITE_ROW) out.push_back(memory_at(**s));
  if (rc != SQLITE_DONE) return failure(conn_->db, "cannot read short-term memories");
  return out;
}

result<episode_summary> locale_store::episodes(std::string_view agent, std::string_view family,
                                               double min_quality, std::size_t at_most) {
  std::lock_guard lock(m_);
  if (auto r = use(); !r) return r.error();
  episode_summary out;
  auto count = count_episodes(agent, family, min_quality, at_most);
  if (!count) return count.error();
  out.count = *count;
  if (out.count == 0) return out;
  auto s = conn_->get(query::best_episode);
  if (!s) return s.error();
  in_use guard(**s);
  (*s)->bind_text(1, agent).bind_text(2, family).bind_real(3, min_quality);
  const int rc = (*s)->step();
  if (rc == SQLITE_ROW) {
    out.best = episode_at(**s);
  } else if (rc != SQLITE_DONE) {
    return failure(conn_->db, "cannot read episodes");
  }
  return out;
}

result<std::size_t> locale_store::episode_count(std::string_view agent, std::string_view family,
                                                double min_quality, std::size_t at_most) {
  std::lock_guard lock(m_);
  if (auto r = use(); !r) return r.error();
  return count_episodes(agent, family, min_quality, at_most);
}

result<std::size_t> locale_store::count_episodes(std::string_view agent, std::string_view family,
                                                 double min_quality, std::size_t at_most) {
  auto s = conn_->get(query::count_episodes);
  if (!s) return s.error();
  in_use guard(**s);
  // SQLite reads LIMIT -1 as no limit.
  const auto limit = at_most >= static_cast<std::size_t>(INT64_MAX)
                         ? std::int64_t{-1}
                         : static_cast<std::int64_t>(at_most);
  (*s)->bind_text(1, agent).bind_text(2, family).bind_real(3, min_quality).bind_int(4, limit);
  if ((*s)->step() != SQLITE_ROW) return failure(conn_->db, "cannot count episodes");
  return static_cast<std::size_t>((*s)->int_at(0));
}

result<std::optional<shared_row>> locale_store::get_shared(std::string_view table,
                                                           std::string_view key) {
  if (auto r = known_table(table); !r) return r.error();
  std::lock_guard lock(m_);
  if (auto r = use(); !r) return r.error();
  return read_row(conn_->db, conn_->tables, table, key, locale_);
}

result<std::vector<shared_table_info>> locale_store::shared_tables() {
  std::lock_guard lock(m_);
  if (auto r = use(); !r) return r.error();
  auto s = conn_->get(query::list_tables);
  if (!s) return s.error();
  in_use guard(**s);
  std::vector<shared_table_info> out;
  int rc = SQLITE_ROW;
  while ((rc = (*s)->step()) == SQLITE_ROW) {
    out.push_back({(*s)->text_at(0), (*s)->text_at(1), (*s)->int_at(2), (*s)->int_at(3),
                   (*s)->int_at(4), (*s)->int_at(5) != 0});
  }
  if (rc != SQLITE_DONE) return failure(conn_->db, "cannot list shared tables");
  return out;
}

result<std::vector<access_grant>> locale_store::active_grants(std::string_view locale,
                                                              std::string_view agent,
                                                              std::string_view table,
                                                              sim_time now) {
  std::lock_guard lock(m_);
  if (auto r = use(); !r) return r.error();
  auto s = conn_->get(query::active_grants);
  if (!s) return s.error();
  in_use guard(**s);
  (*s)->bind_text(1, locale).bind_text(2, agent).bind_text(3, lower(table)).bind_int(4, now);
  std::vector<access_grant> out;
  int rc = SQLITE_ROW;
  while ((rc = (*s)->step()) == SQLITE_ROW) {
    access_grant g;
    g.id = (*s)->int_at(0);
    g.grantee_locale = (*s)->text_at(1);
    g.grantee_agent = (*s)->text_at(2);
    g.table = (*s)->text_at(3);
    g.level = (*s)->text_at(4) == "write" ? access_level::write : access_level::read;
    g.justification = (*s)->text_at(5);
    g.granted = (*s)->int_at(6);
    g.expires = (*s)->int_at(7);
    if (sqlite3_column_type((*s)->get(), 8) != SQLITE_NULL) g.revoked = (*s)->int_at(8);
    out.push_back(std::move(g));
  }
  if (rc != SQLITE_DONE) return failure(conn_->db, "cannot read grants");
  return out;
}

result<agent_records> locale_store::export_agent(std::string_view agent) {
  std::lock_guard lock(m_);
  if (auto r = use(); !r) return r.error();
  agent_records out;
  {
    auto s = conn_->get(query::export_memories);
    if (!s) return s.error();
    in_use guard(**s);
    (*s)->bind_text(1, agent);
    int rc = SQLITE_ROW;
    while ((rc = (*s)->step()) == SQLITE_ROW) out.memories.push_back(memory_at(**s));
    if (rc != SQLITE_DONE) return failure(conn_->db, "cannot read memories");
  }
  auto s = conn_->get(query::export_episodes);
  if (!s) return s.error();
  in_use guard(**s);
  (*s)->bind_text(1, agent);
  int rc = SQLITE_ROW;
  while ((rc = (*s)->step()) == SQLITE_ROW) out.episodes.push_back(episode_at(**s));
  if (rc != SQLITE_DONE) return failure(conn_->db, "cannot read episodes");
  return out;
}

result<std::string> locale_store::integrity_check() {
  std::lock_guard lock(m_);
  if (auto r = use(); !r) return r.error();
  auto& db = conn_->db;
  auto s = db.prepare("PRAGMA integrity_check");
  if (!s) return failure(db, "cannot run integrity_check");
  std::string out;
  int rc = SQLITE_ROW;
  while ((rc = s->step()) == SQLITE_ROW) out += (out.empty() ? "" : "\n") + s->text_at(0);
  if (rc != SQLITE_DONE) return failure(db, "integrity_check failed");
  return out;
}

result<std::string> locale_store::dump() {
  std::lock_guard lock(m_);
  if (auto r = use(); !r) return r.error();
  auto& db = conn_->db;
  std::string out = "application_id " + to_string(application_id) + "\nuser_version " +
                    to_string(schema_version) + "\n";
  std::vector<std::string> tables;
  {
    auto s = db.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
        "ESCAPE '\\' ORDER BY name");
    if (!s) return failure(db, "cannot list tables");
    int rc = SQLITE_ROW;
    while ((rc = s->step()) == SQLITE_ROW) tables.push_back(s->text_at(0));
    if (rc != SQLITE_DONE) return failure(db, "cannot list tables");
  }
  for (const auto& table : tables) {
    // The primary key's columns, in key order; none: the rowid.
    std::vector<std::pair<std::int64_t, std::string>> key;
    std::string columns;
    {
      auto info = db.prepare("SELECT name, pk FROM pragma_table_info(?1) ORDER BY cid");
      if (!info) return failure(db, "cannot read table " + table);
      info->bind_text(1, table);
      int rc = SQLITE_ROW;
      while ((rc = info->step()) == SQLITE_ROW) {
        columns += (columns.empty() ? "" : "|") + info->text_at(0);
        if (info->int_at(1) > 0) key.emplace_back(info->int_at(1), "\"" + info->text_at(0) + "\"");
      }
      if (rc != SQLITE_DONE) return failure(db, "cannot read table " + table);
    }
    std::sort(key.begin(), key.end());
    std::string order;
    for (const auto& [position, name] : key) order += (order.empty() ? "" : ", ") + name;
    if (order.empty()) order = "rowid";
    auto rows = db.prepare("SELECT * FROM \"" + table + "\" ORDER BY " + order);
    if (!rows) return failure(db, "cannot read table " + table);
    out += "table " + table + " (" + columns + ")\n";
    const int n = sqlite3_column_count(rows->get());
    int rc = SQLITE_ROW;
    while ((rc = rows->step()) == SQLITE_ROW) {
      for (int i = 0; i < n; ++i) {
        if (i > 0) out.push_back('|');
        append_value(out, rows->get(), i);
      }
      out.push_back('\n');
    }
    if (rc != SQLITE_DONE) return failure(db, "cannot read table " + table);
  }
  return out;
}

// ----- grantees -------------------------------------------------------------------------------

result<std::optional<shared_row>> locale_store::get_as_reader(std::string_view table,
                                                              std::string_view key) {
  if (auto r = known_table(table); !r) return r.error();
  std::lock_guard lock(m_);
  if (auto r = use_reader(); !r) return r.error();
  return read_row(conn_->reader, conn_->reader_tables, table, key, locale_);
}

result<void> locale_store::put_as_reader(std::string_view table, std::string_view key,
                                         std::string_view value, std::string_view writer,
                                         sim_time now) {
  if (auto r = known_table(table); !r) return r;
  std::lock_guard lock(m_);
  if (auto r = use_reader(); !r) return r;
  const auto name = lower(table);
  auto t = table_of(conn_->reader, conn_->reader_tables, name, locale_);
  if (!t) return t.error();
  auto& s = (*t)->put;
  in_use guard(s);
  s.bind_text(1, key).bind_text(2, value).bind_text(3, writer).bind_int(4, now);
  // The connection was opened with SQLITE_OPEN_READONLY: SQLite itself refuses the write.
  auto r = run(conn_->reader, s,
               "locale " + locale_ + ": write by " + std::string(writer) + " to shared table \"" +
                   name + "\" through a read grant refused");
  COLONY_ASSERT(!r);
  return r;
}

// ----- lifecycle ------------------------------------------------------------------------------

result<std::size_t> locale_store::close(sim_time now) {
  auto rows = flush(now);
  if (!rows) return rows;
  std::lock_guard lock(m_);
  // Evicted stores keep a -wal file; an archived one is left as one self-contained file.
  std::error_code ec;
  if (!conn_ && fs::file_size(path_.string() + "-wal", ec) > 0 && !ec) {
    if (auto r = use(); !r) return r.error();
  }
  close_connections(true);
  pool_.leave(*this);
  archived_ = true;
  return rows;
}

}  // namespace colony::memory
