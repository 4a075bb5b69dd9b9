#pragma once
/// Per-locale SQLite stores: one database per locale at `DIR/locales/<locale>.sqlite` holding its
/// agents' memories, episodes, shared tables and the access grants it gave other locales; and the
/// pool that bounds how many of them are open at once.
///
/// Writes are queued in memory and applied by flush() in one transaction with prepared
/// statements; each flush also writes one row of `commits`. Reads see committed data only: what
/// is queued is invisible, to the owner too, until the owner flushes (per window, or every N ms
/// of simulated time: the owner's choice). The database is in WAL mode with synchronous=NORMAL,
/// so a process killed at any moment (SIGKILL included) leaves a database that passes
/// `PRAGMA integrity_check` and holds every transaction whose flush() returned; only a power
/// loss can lose the last commits (or, right after a store is created, which is not synced,
/// leave it blank or damaged: a clear error).
///
/// Threads: a store has one owner, which calls its members one at a time (from any thread). The
/// pool is shared by all owners and is thread-safe; to stay within its limit it may close the
/// connections of one owner's store from another owner's thread, which is synchronized inside
/// (a store in use at that moment is skipped). Closing a connection loses nothing: queued writes
/// belong to the store, not to the connection, and stay queued until the owner's next flush. So
/// what a store holds and returns never depends on which connections happen to be open; only
/// the pool's counts do.
///
/// Files: `<locale>.sqlite`, and while it is open (or after the pool closed it, which skips
/// SQLite's checkpoint to stay cheap) `<locale>.sqlite-wal` and `-shm`, which belong to it:
/// SQLite reads them on the next open. close() and the store's destructor checkpoint, leaving
/// one self-contained file.
///
/// Schema (version 1, `PRAGMA user_version`; `PRAGMA application_id` is
/// locale_store::application_id; times are simulated µs):
///
///     memories(id INTEGER PRIMARY KEY, agent TEXT, tier TEXT CHECK(tier IN ('short','long')),
///              text TEXT, importance REAL, created INTEGER, used INTEGER)
///              index memories_by_agent(agent, tier); `used` is the last time it was used
///     episodes(id INTEGER PRIMARY KEY, agent TEXT, task INTEGER, family TEXT, text TEXT,
///              answer INTEGER, quality REAL, created INTEGER)
///              index episodes_by_agent(agent, family)
///     shared_tables(name TEXT PRIMARY KEY, owner TEXT, created INTEGER, last_used INTEGER,
///                   hits INTEGER, archived INTEGER)            -- WITHOUT ROWID; archived: 0 or 1
///     shared__<name>(key TEXT PRIMARY KEY, value TEXT, writer TEXT, updated INTEGER)
///                                                              -- one per shared table
///     grants(id INTEGER PRIMARY KEY, grantee_locale TEXT, grantee_agent TEXT, table_name TEXT,
///            level TEXT CHECK(level IN ('read','write')), justification TEXT, granted INTEGER,
///            expires INTEGER, revoked INTEGER NULL)
///            index grants_by_grantee(grantee_locale, table_name)
///     commits(seq INTEGER PRIMARY KEY, t INTEGER, rows INTEGER)  -- one row per flush()
///
/// Every column is NOT NULL except grants.revoked. Shared table names are case-insensitive (as
/// SQLite's table names are) and stored in lower case.
///
/// Errors: errc::invalid_argument for what a caller passed (an unsafe name, an unknown shared
/// table or grant, a non-finite number); errc::bad_input for a file that is not a locale store
/// (not SQLite, another application's database, an unsupported schema version, missing tables,
/// damage), its message naming the file, what is wrong and what to do; errc::permission_denied
/// for a write through the read-only connection (SQLite's SQLITE_READONLY); errc::io_error for
/// any other SQLite or file-system failure.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "colony/base/error.hpp"
#include "colony/base/time.hpp"

namespace colony::memory {

/// Whether `name` can name a store file: 1 to 100 ASCII letters, digits, '-', '_' and '.', not
/// starting with '.' and without "..". So no path separator, absolute path, control character,
/// hidden file or parent directory can come from a locale name.
[[nodiscard]] bool safe_store_name(std::string_view name) noexcept;

/// Whether `name` can name a shared table: 1 to 64 ASCII letters, digits and '_'.
[[nodiscard]] bool safe_table_name(std::string_view name) noexcept;

/// Where a memory lives: the short-term buffer or long-term memory.
enum class memory_tier { short_term, long_term };
/// What a grant allows on a shared table.
enum class access_level { read, write };

/// "short" or "long", as the `tier` column holds it.
[[nodiscard]] std::string_view to_string(memory_tier tier) noexcept;
/// "read" or "write", as the `level` column holds it.
[[nodiscard]] std::string_view to_string(access_level level) noexcept;

/// One row of `memories`.
struct memory_record {
  std::int64_t id = 0;                        ///< assigned by SQLite at flush; ignored on input
  std::string agent;                          ///< the agent whose memory it is
  memory_tier tier = memory_tier::long_term;  ///< short-term buffer or long-term memory
  std::string text;                           ///< what is remembered
  double importance = 0;                      ///< higher is recalled first
  sim_time created = 0;                       ///< when it was added
  sim_time used = 0;                          ///< when it was last used (created at first)

  friend bool operator==(const memory_record&, const memory_record&) = default;
};

/// One row of `episodes`: a task an agent did well enough to remember.
struct episode_record {
  std::int64_t id = 0;      ///< assigned by SQLite at flush; ignored on input
  std::string agent;        ///< who did the task
  std::int64_t task = 0;    ///< the task's id
  std::string family;       ///< the task family
  std::string text;         ///< the task's text (or what the agent keeps of it)
  std::int64_t answer = 0;  ///< the answer given
  double quality = 0;       ///< how good it was rated, by convention in [0, 1]
  sim_time created = 0;     ///< when it was recorded

  friend bool operator==(const episode_record&, const episode_record&) = default;
};

/// An agent's episodes of one family at or above a quality.
struct episode_summary {
  std::size_t count = 0;               ///< how many
  std::optional<episode_record> best;  ///< the highest quality (ties: the older, smaller id)
};

/// One row of `shared_tables`.
struct shared_table_info {
  std::string name;        ///< lower case; the rows are in `shared__<name>`
  std::string owner;       ///< the agent that created it
  sim_time created = 0;    ///< when
  sim_time last_used = 0;  ///< the last mark_shared_used() (created at first)
  std::int64_t hits = 0;   ///< how many times mark_shared_used() counted a use
  bool archived = false;   ///< set by archive_shared(), cleared by the next use

  friend bool operator==(const shared_table_info&, const shared_table_info&) = default;
};

/// One row of a shared table.
struct shared_row {
  std::string key;       ///< the primary key
  std::string value;     ///< what is stored
  std::string writer;    ///< who wrote it last
  sim_time updated = 0;  ///< when

  friend bool operator==(const shared_row&, const shared_row&) = default;
};

/// One row of `grants`: access this locale gave an agent (or all agents) of another locale.
struct access_grant {
  std::int64_t id = 0;         ///< assigned by record_grant(); ignored on input
  std::string grantee_locale;  ///< the locale given access (a safe store name)
  std::string grantee_agent;   ///< the agent given access; empty: every agent of that locale
  std::string table;           ///< the shared table; empty: every shared table of this locale
  access_level level = access_level::read;  ///< read, or read and write
  std::string justification;                ///< the reason the grantee gave
  sim_time granted = 0;                     ///< active from this time ...
  sim_time expires = time_never;            ///< ... until just before this one
  std::optional<sim_time> revoked;          ///< when revoked, if it was

  friend bool operator==(const access_grant&, const access_grant&) = default;
};

/// Everything a store holds of one agent, to move it to another store when agents of two
/// locales merge (export_agent() there, import_agent() here, forget_agent() there).
struct agent_records {
  std::vector<memory_record> memories;   ///< both tiers, by id
  std::vector<episode_record> episodes;  ///< by id
};

/// The short-term buffer's bound: when an agent holds more than `keep` short-term memories, its
/// oldest `summarize` of them (more if needed to get back to `keep`) become one long-term
/// memory, whose importance is their mean and whose text is
/// "summary of N memories: <first 5 words of each, oldest first, separated by "; ">".
struct short_term_limit {
  std::size_t keep = 32;      ///< short-term memories an agent may hold
  std::size_t summarize = 8;  ///< how many are folded into one summary when it holds more
};

/// Limits of a store_pool.
struct pool_limits {
  /// Connections open at once over all stores (a store uses one, two once a grantee has read
  /// through it); at least 1. Each open connection holds 3 file descriptors (database, WAL,
  /// shared memory) and about 160 KiB resident when idle, up to cache_kib more when busy
  /// (bench/store_bench.cpp); a store whose connections are closed costs under 1 KiB. When
  /// every open store is busy on another thread the limit is exceeded until one is free, rather
  /// than waiting.
  std::size_t max_open = 128;
  /// Page cache per connection in KiB (PRAGMA cache_size=-N), allocated as pages are used. The
  /// (agent, tier) index makes bulk writes want more: 1 MiB or 2 MiB writes memories ~20% faster.
  std::size_t cache_kib = 256;
};

/// What a store_pool has done, for metrics and benchmarks.
struct pool_counts {
  std::size_t stores = 0;    ///< live locale_store objects
  std::size_t open = 0;      ///< connections open now
  std::uint64_t opens = 0;   ///< connections opened so far
  std::uint64_t closes = 0;  ///< connections closed so far (evictions, close(), destruction)
};

class locale_store;

/// Opens locale stores in one directory and bounds their open connections: when opening one
/// more would pass pool_limits::max_open, the least recently used store's connections are
/// closed. Thread-safe. Must outlive every store it opened.
class store_pool {
 public:
  /// Stores go in `dir/locales/`, created on the first open().
  explicit store_pool(std::filesystem::path dir, pool_limits limits = {});
  ~store_pool();
  store_pool(const store_pool&) = delete;
  store_pool& operator=(const store_pool&) = delete;

  /// The store of `locale`, its file created with the schema if it does not exist, checked if it
  /// does (a SQLite database with Colony's application_id, a supported user_version, the tables,
  /// `PRAGMA quick_check`). Fails with errc::invalid_argument for a name that is not
  /// safe_store_name() or a locale whose store is already open (a store has one owner), and as
  /// the header says for a bad file.
  [[nodiscard]] result<std::unique_ptr<locale_store>> open(std::string_view locale);

  /// `dir/locales/<locale>.sqlite` (does not check the name).
  [[nodiscard]] std::filesystem::path path_of(std::string_view locale) const;
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }
  [[nodiscard]] const pool_limits& limits() const noexcept { return limits_; }
  [[nodiscard]] pool_counts counts() const;

 private:
  friend class locale_store;
  // All under m_. Makes room for `n` more connections of `s` (closing other stores' connections,
  // least recently used first), counts them and makes `s` the most recently used.
  void admit(locale_store& s, int n);
  void touch(locale_store& s);
  void leave(locale_store& s) noexcept;   // `s` closes its connections (under its own mutex)
  void forget(locale_store& s) noexcept;  // from ~locale_store

  std::filesystem::path dir_;
  pool_limits limits_;
  mutable std::mutex m_;
  std::list<locale_store*> lru_;              // open stores, least recently used first
  std::set<std::string, std::less<>> names_;  // locales with a live store
  pool_counts counts_;
};

/// The store of one locale. Obtained from store_pool::open(); used by one owner at a time.
/// Writes are queued (no I/O) and applied by flush(); reads see what was flushed.
class locale_store {
 public:
  static constexpr std::int32_t application_id = 0x436f4c73;  ///< "CoLs"
  static constexpr int schema_version = 1;                    ///< PRAGMA user_version

  /// Unregisters from the pool and closes the connections (with a checkpoint if they are open).
  /// Queued writes are dropped (with a warning in the log): flush() or close() first.
  ~locale_store();
  locale_store(const locale_store&) = delete;
  locale_store& operator=(const locale_store&) = delete;

  [[nodiscard]] const std::string& locale() const noexcept { return locale_; }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

  /// Queues a short-term memory of `agent`. At flush, if the agent then holds more than
  /// `limit.keep` short-term memories, the oldest are summarized (see short_term_limit).
  /// Fails with errc::invalid_argument for an empty agent or a non-finite importance.
  [[nodiscard]] result<void> add_short_term(std::string_view agent, std::string_view text,
                                            double importance, sim_time now,
                                            short_term_limit limit = {});
  /// Queues a long-term memory of `agent`. Fails as add_short_term().
  [[nodiscard]] result<void> add_long_term(std::string_view agent, std::string_view text,
                                           double importance, sim_time now);
  /// Queues setting `used` of memory `id` to `now` (no effect if there is no such memory).
  void mark_memory_used(std::int64_t id, sim_time now);
  /// Queues `e` (its id ignored) if `e.quality >= threshold`; returns whether it did. Fails with
  /// errc::invalid_argument for an empty agent or a non-finite quality.
  [[nodiscard]] result<bool> add_episode(const episode_record& e, double threshold);

  /// Queues creating shared table `name` owned by `owner` (nothing if it exists). Puts into it
  /// may follow at once, in the same batch. Fails with errc::invalid_argument unless
  /// safe_table_name(name).
  [[nodiscard]] result<void> create_shared_table(std::string_view name, std::string_view owner,
                                                 sim_time now);
  /// Queues writing `key` = `value` into shared table `table` (insert or replace). Fails with
  /// errc::invalid_argument for a table that neither exists nor is queued for creation.
  [[nodiscard]] result<void> put_shared(std::string_view table, std::string_view key,
                                        std::string_view value, std::string_view writer,
                                        sim_time now);
  /// Queues counting one use (a cache hit) of `table` at `now`; clears its archived flag.
  [[nodiscard]] result<void> mark_shared_used(std::string_view table, sim_time now);
  /// Queues setting the archived flag of `table` (its rows stay).
  [[nodiscard]] result<void> archive_shared(std::string_view table);

  /// Queues recording grant `g` and returns its id (1, 2, 3, ... in order, never reused).
  /// Fails with errc::invalid_argument for a grantee locale that is not a safe store name, a
  /// table that is neither empty nor a safe table name, or `expires` <= `granted`.
  [[nodiscard]] result<std::int64_t> record_grant(access_grant g);
  /// Queues revoking grant `id` at `now` (a grant revoked already keeps its first time). Fails
  /// with errc::invalid_argument for an id record_grant() never returned.
  [[nodiscard]] result<void> revoke_grant(std::int64_t id, sim_time now);

  /// Queues giving every memory and episode of agent `from`, and the shared tables it owns, to
  /// agent `to` (two agents of this locale merged). The short-term limit applies again at `to`'s
  /// next short-term memory.
  void reassign_agent(std::string_view from, std::string_view to);
  /// Queues copies of `records` (new ids) as memories and episodes of `as_agent`.
  void import_agent(const agent_records& records, std::string_view as_agent);
  /// Queues deleting every memory and episode of `agent`.
  void forget_agent(std::string_view agent);

  /// Queued operations not yet flushed.
  [[nodiscard]] std::size_t pending() const noexcept;
  /// Applies the queued operations in order in one transaction, with one row of `commits`
  /// (t = `now`), and returns the rows they wrote (inserted, updated or deleted; the commits row
  /// not counted). Nothing queued: no transaction, returns 0. On failure the transaction is
  /// rolled back and the queue kept.
  [[nodiscard]] result<std::size_t> flush(sim_time now);
  /// `commits.seq` of the last flush() that wrote, 0 before the first.
  [[nodiscard]] std::int64_t last_commit() const noexcept { return last_commit_; }

  /// Up to `n` long-term memories of `agent`, most important first (ties: smaller id).
  [[nodiscard]] result<std::vector<memory_record>> recall(std::string_view agent, std::size_t n);
  /// The short-term memories of `agent`, oldest first.
  [[nodiscard]] result<std::vector<memory_record>> short_term(std::string_view agent);
  /// The episodes of `agent` in `family` with quality >= `min_quality`: how many (counted up to
  /// `at_most`, which keeps a recall quick however many there are) and the best.
  [[nodiscard]] result<episode_summary> episodes(std::string_view agent, std::string_view family,
                                                 double min_quality,
                                                 std::size_t at_most = SIZE_MAX);
  /// How many episodes of `agent` in `family` have quality >= `min_quality`, counted up to
  /// `at_most` (an index search that stops there: quick however many there are).
  [[nodiscard]] result<std::size_t> episode_count(std::string_view agent, std::string_view family,
                                                  double min_quality, std::size_t at_most);
  /// Row `key` of shared table `table`, if there is one. Fails with errc::invalid_argument for
  /// an unknown table.
  [[nodiscard]] result<std::optional<shared_row>> get_shared(std::string_view table,
                                                             std::string_view key);
  /// Every shared table, by name.
  [[nodiscard]] result<std::vector<shared_table_info>> shared_tables();
  /// The grants active at `now` (granted <= now < expires, not revoked at or before now) for
  /// `agent` of `locale` on `table`: those naming them and those for every agent or every table.
  /// By id.
  [[nodiscard]] result<std::vector<access_grant>> active_grants(std::string_view locale,
                                                                std::string_view agent,
                                                                std::string_view table,
                                                                sim_time now);
  /// Every memory and episode of `agent`.
  [[nodiscard]] result<agent_records> export_agent(std::string_view agent);
  /// Every row of every table, tables by name and rows by primary key, one line each: equal for
  /// equal contents whatever the history of connections. For tests and inspection.
  [[nodiscard]] result<std::string> dump();
  /// What PRAGMA integrity_check says: "ok" for a sound file, else its findings, one a line.
  [[nodiscard]] result<std::string> integrity_check();

  /// Row `key` of shared table `table`, read through the store's read-only connection (opened
  /// on first use with SQLITE_OPEN_READONLY): the path of an agent of another locale holding a
  /// read grant. The caller checks the grant (active_grants()).
  [[nodiscard]] result<std::optional<shared_row>> get_as_reader(std::string_view table,
                                                                std::string_view key);
  /// Attempts writing `key` = `value` into `table` through the read-only connection, which
  /// SQLite refuses: errc::permission_denied naming the locale and table, with SQLite's message
  /// ("attempt to write a readonly database"). A grantee with a write grant writes through
  /// put_shared(). The caller logs the refusal.
  [[nodiscard]] result<void> put_as_reader(std::string_view table, std::string_view key,
                                           std::string_view value, std::string_view writer,
                                           sim_time now);

  /// Archives the store: flushes at `now` (returning the rows written), then closes its
  /// connections with a checkpoint, so the file stays alone and self-contained (a store the pool
  /// had closed is reopened for that if it left a -wal file). The next use reopens it (and
  /// checks the header again). Costs a few fsyncs: for archiving, and at the end of a run.
  [[nodiscard]] result<std::size_t> close(sim_time now);
  /// True after close() until the next use reopens the store.
  [[nodiscard]] bool archived() const noexcept { return archived_; }
  /// Whether its read-write connection is open now (the pool may close it at any time).
  [[nodiscard]] bool is_open() const;

 private:
  friend class store_pool;
  struct connections;
  struct op;

  locale_store(store_pool& pool, std::string locale, std::filesystem::path path);
  [[nodiscard]] result<void> first_open();
  // The callers below hold m_.
  [[nodiscard]] result<void> use();         // opens (or reopens) the read-write connection
  [[nodiscard]] result<void> use_reader();  // and the read-only one
  [[nodiscard]] result<void> apply(const op& o);
  [[nodiscard]] result<void> known_table(std::string_view table) const;
  [[nodiscard]] result<std::size_t> count_episodes(std::string_view agent, std::string_view family,
                                                   double min_quality, std::size_t at_most);
  // Closes both connections, with SQLite's checkpoint or (for an eviction) without. Also called
  // by store_pool under its mutex, holding m_.
  void close_connections(bool checkpoint) noexcept;

  store_pool& pool_;
  std::string locale_;
  std::filesystem::path path_;
  std::vector<op> queue_;
  std::unordered_set<std::string> tables_;  // committed and queued shared tables
  std::int64_t next_grant_ = 1;
  std::int64_t last_commit_ = 0;
  bool archived_ = false;
  bool created_ = false;  // the file exists (reopen must not create it again)

  mutable std::mutex m_;               // guards conn_ against the pool closing it
  std::unique_ptr<connections> conn_;  // null while closed

  // Under the pool's mutex.
  std::list<locale_store*>::iterator lru_pos_;
  int counted_ = 0;  // connections the pool counts for this store
};

}  // namespace colony::memory
