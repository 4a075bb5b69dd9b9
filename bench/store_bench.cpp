// Locale stores: rows per second through locale_store (queued writes, one transaction per flush)
// against raw SQLite doing the same inserts, and the memory an open locale costs. One line per
// case:
//
//   store raw_sqlite table=memories index=none batch=1000 rows=1000000 rows_per_s=...
//   store raw_sqlite table=memories index=agent_tier batch=1000 rows=1000000 rows_per_s=...
//   store raw_sqlite table=memories index=agent_tier batch=100 rows=1000000 rows_per_s=...
//   store locale_store op=long_term batch=1000 rows=1000000 cache_kib=256 rows_per_s=...
//   store locale_store op=long_term batch=100 rows=1000000 cache_kib=256 rows_per_s=...
//   store locale_store op=shared_put batch=1000 rows=1000000 cache_kib=256 rows_per_s=...
//   store locale_store op=long_term index=dropped batch=1000 rows=1000000 cache_kib=256 ...
//   store memory locales=1000 max_open=2000 cache_kib=256 rows_each=10 open=1000 ...
//                kib_per_locale=...
//   store memory locales=1000 max_open=2000 cache_kib=256 rows_each=1000 open=1000 ...
//   store memory locales=5000 max_open=64 cache_kib=256 rows_each=10 open=64 ...
//
//   colony_store_bench [--rows N] [--cache-kib N] [--only rows|memory] [--dir PATH]
//
// Raw SQLite is what the store is measured against: the `memories` table, without and with its
// (agent, tier) index, WAL, synchronous=NORMAL, SQLite's default page cache (2 MB), one prepared
// INSERT per row. The store's cases include queueing (copying each row's strings) and its
// `commits` row per flush; they use the pool's page cache (--cache-kib, default the pool's).
// "index=dropped" is a diagnostic: the store's own cost with the index removed from its file.
// The index, which every insert updates at one place per agent, is what costs most, in CPU and
// in the pages each transaction rewrites and each checkpoint syncs: on a disk the numbers follow
// its fsyncs (try --dir /dev/shm for the CPU-bound figures).
//
// Memory is the growth of the resident set (/proc/self/statm) over opening the locales, each
// given a few rows (or 1,000, filling its page cache) and a read, divided by their number; each
// case runs in its own process. With max_open=64 the pool keeps 64 connections and the rest are
// store objects with their connections closed. Files go in a fresh directory under --dir
// (default: the system's temporary directory), removed at the end.
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "colony/memory/locale_store.hpp"

namespace {

using namespace colony::memory;
using clock_type = std::chrono::steady_clock;
namespace fs = std::filesystem;

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "store_bench: %s\n", what.c_str());
  std::exit(1);
}

template <class T>
T ok(colony::result<T> r) {
  if (!r) die(r.error().message);
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

std::size_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  std::size_t pages = 0;
  std::size_t resident = 0;
  in >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// The rows every case writes: a few agents, texts of about 50 bytes.
std::string agent_of(std::size_t i) {
  return "specialist-" + std::to_string(i % 16);
}
std::string text_of(std::size_t i) {
  return "remembered the answer to task " + std::to_string(i) + " about tides";
}

void raw_sqlite(const fs::path& dir, std::size_t rows, std::size_t batch, bool indexed) {
  const auto path =
      dir / ("raw-" + std::to_string(batch) + (indexed ? "-indexed" : "") + ".sqlite");
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) die("cannot open " + path.string());
  const auto exec = [&](const char* sql) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) die(sqlite3_errmsg(db));
  };
  exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
      "CREATE TABLE memories(id INTEGER PRIMARY KEY, agent TEXT NOT NULL, tier TEXT NOT NULL "
      "CHECK(tier IN ('short', 'long')), text TEXT NOT NULL, importance REAL NOT NULL, "
      "created INTEGER NOT NULL, used INTEGER NOT NULL)");
  if (indexed) exec("CREATE INDEX memories_by_agent ON memories(agent, tier)");
  sqlite3_stmt* insert = nullptr;
  const char* sql =
      "INSERT INTO memories(agent, tier, text, importance, created, used) "
      "VALUES(?1, 'long', ?2, ?3, ?4, ?4)";
  if (sqlite3_prepare_v2(db, sql, -1, &insert, nullptr) != SQLITE_OK) die(sqlite3_errmsg(db));
  const auto start = clock_type::now();
  for (std::size_t first = 0; first < rows; first += batch) {
    exec("BEGIN");
    for (std::size_t i = first; i < std::min(rows, first + batch); ++i) {
      const auto agent = agent_of(i);
      const auto text = text_of(i);
      sqlite3_bind_text(insert, 1, agent.data(), static_cast<int>(agent.size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(insert, 2, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
      sqlite3_bind_double(insert, 3, static_cast<double>(i % 100) / 100);
      sqlite3_bind_int64(insert, 4, static_cast<sqlite3_int64>(i));
      if (sqlite3_step(insert) != SQLITE_DONE) die(sqlite3_errmsg(db));
      sqlite3_reset(insert);
    }
    exec("COMMIT");
  }
  std::printf("store raw_sqlite table=memories index=%s batch=%zu rows=%zu rows_per_s=%.0f\n",
              indexed ? "agent_tier" : "none", batch, rows,
              static_cast<double>(rows) / seconds_since(start));
  std::fflush(stdout);
  sqlite3_finalize(insert);
  sqlite3_close(db);
}

enum class store_case { long_term, long_term_unindexed, shared_put };

void through_store(const fs::path& dir, std::size_t rows, std::size_t batch, store_case what,
                   std::size_t cache_kib) {
  store_pool pool(dir, {.cache_kib = cache_kib});
  const bool shared = what == store_case::shared_put;
  const std::string locale =
      "case-" + std::to_string(static_cast<int>(what)) + "-" + std::to_string(batch);
  auto s = ok(pool.open(locale));
  if (shared) ok(s->create_shared_table("answers", "specialist-0", 0));
  if (what == store_case::long_term_unindexed) {
    // A diagnostic: the store's own cost, without the index SQLite maintains for recall.
    sqlite3* db = nullptr;
    sqlite3_open(s->path().c_str(), &db);
    if (sqlite3_exec(db, "DROP INDEX memories_by_agent", nullptr, nullptr, nullptr) != SQLITE_OK)
      die(sqlite3_errmsg(db));
    sqlite3_close(db);
  }
  std::size_t written = 0;
  const auto start = clock_type::now();
  for (std::size_t first = 0; first < rows; first += batch) {
    for (std::size_t i = first; i < std::min(rows, first + batch); ++i) {
      const auto t = static_cast<colony::sim_time>(i);
      if (shared) {
        ok(s->put_shared("answers", "task-" + std::to_string(i), text_of(i), agent_of(i), t));
      } else {
        ok(s->add_long_term(agent_of(i), text_of(i), static_cast<double>(i % 100) / 100, t));
      }
    }
    written += ok(s->flush(static_cast<colony::sim_time>(first)));
  }
  const double seconds = seconds_since(start);
  if (written != rows + (shared ? 1 : 0)) die("wrote " + std::to_string(written) + " rows");
  const char* op = what == store_case::long_term             ? "long_term"
                   : what == store_case::long_term_unindexed ? "long_term index=dropped"
                                                             : "shared_put";
  std::printf("store locale_store op=%s batch=%zu rows=%zu cache_kib=%zu rows_per_s=%.0f\n", op,
              batch, rows, cache_kib, static_cast<double>(rows) / seconds);
  std::fflush(stdout);
}

void memory_per_locale(const fs::path& dir, std::size_t locales, std::size_t max_open,
                       std::size_t rows_each, std::size_t cache_kib) {
  const pool_limits limits{.max_open = max_open, .cache_kib = cache_kib};
  store_pool pool(dir, limits);
  std::vector<std::unique_ptr<locale_store>> stores;
  stores.reserve(locales);
  const auto before = rss_bytes();
  const auto start = clock_type::now();
  for (std::size_t l = 0; l < locales; ++l) {
    auto s = ok(pool.open("locale-" + std::to_string(l)));
    for (std::size_t i = 0; i < rows_each; ++i) {
      ok(s->add_long_term(agent_of(i), text_of(i), 0.5, static_cast<colony::sim_time>(i)));
    }
    ok(s->flush(1));
    if (ok(s->recall(agent_of(0), 1)).empty()) die("recall found nothing");
    stores.push_back(std::move(s));
  }
  const double seconds = seconds_since(start);
  const auto grown = static_cast<double>(rss_bytes()) - static_cast<double>(before);
  const auto n = pool.counts();
  std::printf(
      "store memory locales=%zu max_open=%zu cache_kib=%zu rows_each=%zu open=%zu opens=%llu "
      "closes=%llu kib_per_locale=%.1f rss_mib=%.1f locales_per_s=%.0f\n",
      locales, max_open, limits.cache_kib, rows_each, n.open,
      static_cast<unsigned long long>(n.opens), static_cast<unsigned long long>(n.closes),
      grown / 1024.0 / static_cast<double>(locales), static_cast<double>(rss_bytes()) / 1048576.0,
      static_cast<double>(locales) / seconds);
  std::fflush(stdout);
}

// Runs `f` in a child process, so that each memory case starts from the same heap.
template <class F>
void in_child(F f) {
  std::fflush(stdout);
  const pid_t pid = ::fork();
  if (pid < 0) die("cannot fork");
  if (pid == 0) {
    f();
    std::fflush(stdout);
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("a memory case failed");
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t rows = 1'000'000;
  std::size_t cache_kib = pool_limits{}.cache_kib;
  std::string only;
  fs::path base = fs::temp_directory_path();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--rows" && i + 1 < argc) {
      rows = std::stoul(argv[++i]);
    } else if (a == "--cache-kib" && i + 1 < argc) {
      cache_kib = std::stoul(argv[++i]);
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else if (a == "--dir" && i + 1 < argc) {
      base = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: colony_store_bench [--rows N] [--cache-kib N] [--only rows|memory] "
                   "[--dir PATH]\n");
      return 2;
    }
  }
  // 1,000 open locales hold 3,000 file descriptors.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  const auto dir = base / ("colony_store_bench_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);

  if (only.empty() || only == "rows") {
    raw_sqlite(dir, rows, 1000, false);
    raw_sqlite(dir, rows, 1000, true);
    raw_sqlite(dir, rows, 100, true);
    through_store(dir, rows, 1000, store_case::long_term, cache_kib);
    through_store(dir, rows, 100, store_case::long_term, cache_kib);
    through_store(dir, rows, 1000, store_case::shared_put, cache_kib);
    through_store(dir, rows, 1000, store_case::long_term_unindexed, cache_kib);
  }
  if (only.empty() || only == "memory") {
    in_child([&] { memory_per_locale(dir / "memory-1000", 1000, 2000, 10, cache_kib); });
    in_child([&] { memory_per_locale(dir / "memory-1000-warm", 1000, 2000, 1000, cache_kib); });
    in_child([&] { memory_per_locale(dir / "memory-5000", 5000, 64, 10, cache_kib); });
  }
  fs::remove_all(dir);
}
