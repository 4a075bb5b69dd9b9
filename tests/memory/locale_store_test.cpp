#include "colony/memory/locale_store.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "test_support.hpp"

namespace colony::memory {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed at the end.
class scratch_dir : public testing_support::scratch_dir {
 public:
  scratch_dir() : testing_support::scratch_dir("store_test") {}
};

// A plain SQLite connection to look at a store from outside.
class raw_db {
 public:
  explicit raw_db(const fs::path& path, int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db_, flags, nullptr), SQLITE_OK) << path;
  }
  ~raw_db() { sqlite3_close_v2(db_); }
  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;

  void exec(const std::string& sql) {
    char* message = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message), SQLITE_OK)
        << sql << ": " << (message != nullptr ? message : "");
    sqlite3_free(message);
  }
  // The first column of every row of `sql`, as text.
  std::vector<std::string> column(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    std::vector<std::string> out;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr), SQLITE_OK)
        << sql << ": " << sqlite3_errmsg(db_);
    while (sqlite3_step(s) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(s, 0);
      out.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "NULL");
    }
    sqlite3_finalize(s);
    return out;
  }
  std::string one(const std::string& sql) {
    const auto rows = column(sql);
    return rows.empty() ? "<no row>" : rows.front();
  }
  std::int64_t integer(const std::string& sql) { return std::stoll(one(sql)); }

 private:
  sqlite3* db_ = nullptr;
};

std::unique_ptr<locale_store> open_store(store_pool& pool, std::string_view locale) {
  auto s = pool.open(locale);
  EXPECT_TRUE(s) << s.error().message;
  return s ? std::move(*s) : nullptr;
}

// `prefix` followed by `n` ("k3"). (Not "k" + std::to_string(n): GCC 12 warns about it, wrongly.)
std::string numbered(std::string_view prefix, std::int64_t n) {
  std::string out(prefix);
  out += std::to_string(n);
  return out;
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

TEST(LocaleStore, SafeNames) {
  for (const char* good : {"harbor", "north-east", "a_b", "v1.2", "X", "9lives", "a.b.c"}) {
    EXPECT_TRUE(safe_store_name(good)) << good;
  }
  EXPECT_TRUE(safe_store_name(std::string(100, 'a')));
  EXPECT_FALSE(safe_store_name(std::string(101, 'a')));
  for (const std::string& bad : std::vector<std::string>{
           "", "..", ".", ".hidden", "../x", "/abs", "a/b", "a\\b", "a..b", "tab\there",
           std::string("nul\0x", 5), "new\nline", "sp ace", "caf\xc3\xa9", "x\x7f"}) {
    EXPECT_FALSE(safe_store_name(bad)) << bad;
  }
  EXPECT_TRUE(safe_table_name("cache_2"));
  EXPECT_FALSE(safe_table_name("a-b"));
  EXPECT_FALSE(safe_table_name(""));
  EXPECT_FALSE(safe_table_name("x;DROP"));
  EXPECT_FALSE(safe_table_name(std::string(65, 'a')));
}

TEST(LocaleStore, UnsafeNamesAreRefusedAndCreateNothing) {
  scratch_dir dir;
  store_pool pool(dir / "run");
  for (const std::string& bad : std::vector<std::string>{"../x", "/abs", "a/b", "..", "bell\x07",
                                                         "", ".hidden", std::string("nul\0x", 5)}) {
    const auto s = pool.open(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().code, errc::invalid_argument) << bad;
    EXPECT_NE(s.error().message.find("cannot name a store file"), std::string::npos)
        << s.error().message;
  }
  EXPECT_FALSE(fs::exists(dir / "x.sqlite"));
  EXPECT_FALSE(fs::exists("/abs.sqlite"));
  EXPECT_FALSE(fs::exists(dir / "run"));  // not even the directory: nothing was opened
  EXPECT_EQ(pool.counts().stores, 0u);
}

TEST(LocaleStore, SchemaIsCreatedOnFirstUse) {
  scratch_dir dir;
  store_pool pool(dir.path());
  const auto path = dir / "locales" / "harbor.sqlite";
  EXPECT_FALSE(fs::exists(path));
  auto s = open_store(pool, "harbor");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->path(), path);
  EXPECT_EQ(pool.path_of("harbor"), path);
  ASSERT_TRUE(fs::exists(path));
  raw_db db(path, SQLITE_OPEN_READONLY);
  EXPECT_EQ(db.integer("PRAGMA application_id"), locale_store::application_id);
  EXPECT_EQ(db.integer("PRAGMA user_version"), locale_store::schema_version);
  EXPECT_EQ(db.one("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(
      db.column("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"),
      (std::vector<std::string>{"commits", "episodes", "grants", "memories", "shared_tables"}));
  EXPECT_EQ(
      db.column("SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL "
                "ORDER BY name"),
      (std::vector<std::string>{"episodes_by_agent", "grants_by_grantee", "memories_by_agent"}));
  EXPECT_EQ(s->last_commit(), 0);
}

TEST(LocaleStore, ReopeningKeepsTheDataAndChecksTheFile) {
  scratch_dir dir;
  {
    store_pool pool(dir.path());
    auto s = open_store(pool, "harbor");
    ASSERT_TRUE(s);
    ASSERT_OK(s->add_long_term("ada", "tides turn at noon", 0.7, 10));
    ASSERT_OK(s->create_shared_table("tides", "ada", 10));
    ASSERT_OK(s->record_grant({.grantee_locale = "delta", .table = "tides"}));
    ASSERT_OK(s->flush(20));
    ASSERT_OK(s->add_long_term("ada", "second", 0.1, 30));
    ASSERT_OK(s->flush(40));
    EXPECT_EQ(s->last_commit(), 2);
  }
  store_pool pool(dir.path());
  auto s = open_store(pool, "harbor");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->last_commit(), 2);
  const auto ada = s->recall("ada", 10);
  ASSERT_OK(ada);
  ASSERT_EQ(ada->size(), 2u);
  EXPECT_EQ((*ada)[0].text, "tides turn at noon");
  EXPECT_OK(s->put_shared("tides", "noon", "high", "ada", 50));  // the table is known again
  const auto grant = s->record_grant({.grantee_locale = "delta"});
  ASSERT_OK(grant);
  EXPECT_EQ(*grant, 2);  // ids continue
  ASSERT_OK(s->flush(60));
  EXPECT_EQ(s->last_commit(), 3);
  s.reset();

  // A newer schema version, then a missing table: clear errors naming the file.
  const auto path = pool.path_of("harbor");
  raw_db(path).exec("PRAGMA user_version=7");
  auto newer = pool.open("harbor");
  ASSERT_FALSE(newer);
  EXPECT_EQ(newer.error().code, errc::bad_input);
  EXPECT_NE(newer.error().message.find(path.string()), std::string::npos) << newer.error().message;
  EXPECT_NE(newer.error().message.find("schema version 7"), std::string::npos)
      << newer.error().message;
  {
    raw_db db(path);
    db.exec("PRAGMA user_version=1");
    db.exec("DROP TABLE grants");
  }
  auto missing = pool.open("harbor");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, errc::bad_input);
  EXPECT_NE(missing.error().message.find("missing table(s) grants"), std::string::npos)
      << missing.error().message;
  EXPECT_EQ(pool.counts().open, 0u);
}

TEST(LocaleStore, ForeignSqliteFileIsAClearError) {
  scratch_dir dir;
  store_pool pool(dir.path());
  const auto path = pool.path_of("harbor");
  fs::create_directories(path.parent_path());
  {
    raw_db db(path);
    db.exec("PRAGMA application_id=42; CREATE TABLE t(x); INSERT INTO t VALUES(1)");
  }
  const auto s = pool.open("harbor");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::bad_input);
  const auto& m = s.error().message;
  EXPECT_NE(m.find(path.string() + ": a SQLite database, but not a Colony locale store"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("application_id 42"), std::string::npos) << m;
  EXPECT_NE(m.find("move the file away"), std::string::npos) << m;
  // Untouched.
  EXPECT_EQ(raw_db(path).one("SELECT x FROM t"), "1");

  // Another application's file with the default application_id is foreign too.
  const auto other = pool.path_of("other");
  raw_db(other).exec("CREATE TABLE notes(x)");
  const auto o = pool.open("other");
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message.find("not a Colony locale store (application_id 0"),
            std::string::npos)
      << o.error().message;
}

TEST(LocaleStore, TextFileIsAClearError) {
  scratch_dir dir;
  store_pool pool(dir.path());
  const auto path = pool.path_of("harbor");
  fs::create_directories(path.parent_path());
  write_file(path, "these are my notes, not a database\n" + std::string(2000, 'x'));
  const auto s = pool.open("harbor");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::bad_input);
  EXPECT_NE(s.error().message.find(path.string() + ": not a SQLite database"), std::string::npos)
      << s.error().message;
  // A directory where the file should be.
  fs::create_directories(pool.path_of("dir"));
  const auto d = pool.open("dir");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, errc::bad_input);
  EXPECT_NE(d.error().message.find("not a regular file"), std::string::npos) << d.error().message;
}

// A store of `rows` memories, closed (so its WAL is checkpointed into the file and removed).
fs::path filled_store(const fs::path& dir, int rows) {
  store_pool pool(dir);
  auto s = open_store(pool, "harbor");
  for (int i = 0; i < rows; ++i) {
    EXPECT_TRUE(s->add_long_term("agent-" + std::to_string(i % 7),
                                 "memory number " + std::to_string(i) + std::string(200, 'm'),
                                 i * 0.001, i));
  }
  EXPECT_TRUE(s->flush(rows));
  const auto path = s->path();
  s.reset();
  EXPECT_FALSE(fs::exists(path.string() + "-wal"));
  return path;
}

TEST(LocaleStore, TruncatedFileIsAClearError) {
  scratch_dir dir;
  const auto path = filled_store(dir.path(), 2000);
  fs::resize_file(path, fs::file_size(path) / 2);
  store_pool pool(dir.path());
  const auto s = pool.open("harbor");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::bad_input);
  EXPECT_NE(s.error().message.find(path.string()), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("damaged"), std::string::npos) << s.error().message;
}

TEST(LocaleStore, CorruptPagesAreAClearError) {
  scratch_dir dir;
  const auto path = filled_store(dir.path(), 2000);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(path) / 3));
    const std::string garbage(8192, '\xa5');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  store_pool pool(dir.path());
  const auto s = pool.open("harbor");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::bad_input);
  EXPECT_NE(s.error().message.find(path.string() + ": a damaged locale store"), std::string::npos)
      << s.error().message;
}

TEST(LocaleStore, QueuedWritesGoInOneTransactionAtFlush) {
  scratch_dir dir;
  store_pool pool(dir.path());
  auto s = open_store(pool, "harbor");
  ASSERT_TRUE(s);
  for (int i = 0; i < 500; ++i) {
    ASSERT_OK(s->add_long_term("ada", numbered("m", i), 0.5, i));
  }
  EXPECT_EQ(s->pending(), 500u);
  raw_db other(s->path(), SQLITE_OPEN_READONLY);
  EXPECT_EQ(other.integer("SELECT count(*) FROM memories"), 0);  // nothing before the flush
  EXPECT_EQ(s->recall("ada", 10)->size(), 0u);                   // not even for the owner
  const auto rows = s->flush(1000);
  ASSERT_OK(rows);
  EXPECT_EQ(*rows, 500u);
  EXPECT_EQ(s->pending(), 0u);
  EXPECT_EQ(other.integer("SELECT count(*) FROM memories"), 500);
  EXPECT_EQ(other.column("SELECT seq || ' ' || t || ' ' || rows FROM commits"),
            (std::vector<std::string>{"1 1000 500"}));
  EXPECT_EQ(s->last_commit(), 1);
  // Nothing queued: no transaction.
  EXPECT_EQ(*s->flush(2000), 0u);
  EXPECT_EQ(other.integer("SELECT count(*) FROM commits"), 1);
}

TEST(LocaleStore, ShortTermMemoriesPastTheLimitAreSummarized) {
  scratch_dir dir;
  store_pool pool(dir.path());
  auto s = open_store(pool, "harbor");
  ASSERT_TRUE(s);
  const short_term_limit limit{.keep = 4, .summarize = 3};
  const std::vector<std::string> texts = {
      "the tide rises at noon every day", "ships   wait\tfor the pilot", "fog",
      "gulls follow the fishing boats home", "the lighthouse keeper sleeps"};
  for (std::size_t i = 0; i < texts.size(); ++i) {
    ASSERT_OK(s->add_short_term("ada", texts[i], 0.1 * static_cast<double>(i + 1),
                                100 + static_cast<sim_time>(i), limit));
  }
  ASSERT_OK(s->add_short_term("bob", "other agents are not counted", 0.9, 100, limit));
  ASSERT_OK(s->flush(200));
  // The fifth memory passed the limit of 4: the oldest 3 became one long-term memory.
  const auto shorts = s->short_term("ada");
  ASSERT_OK(shorts);
  ASSERT_EQ(shorts->size(), 2u);
  EXPECT_EQ((*shorts)[0].text, texts[3]);
  EXPECT_EQ((*shorts)[1].text, texts[4]);
  EXPECT_EQ((*shorts)[0].tier, memory_tier::short_term);
  const auto longs = s->recall("ada", 10);
  ASSERT_OK(longs);
  ASSERT_EQ(longs->size(), 1u);
  EXPECT_EQ((*longs)[0].tier, memory_tier::long_term);
  EXPECT_EQ((*longs)[0].text,
            "summary of 3 memories: the tide rises at noon; ships wait for the pilot; fog");
  EXPECT_NEAR((*longs)[0].importance, 0.2, 1e-12);  // mean of 0.1, 0.2, 0.3
  EXPECT_EQ((*longs)[0].created, 104);              // when the limit was passed
  EXPECT_EQ(s->short_term("bob")->size(), 1u);
}

TEST(LocaleStore, RecallRanksByImportanceAndMarksUse) {
  scratch_dir dir;
  store_pool pool(dir.path());
  auto s = open_store(pool, "harbor");
  ASSERT_TRUE(s);
  ASSERT_OK(s->add_long_term("ada", "low", 0.1, 1));
  ASSERT_OK(s->add_long_term("ada", "high", 0.9, 2));
  ASSERT_OK(s->add_long_term("ada", "tie-a", 0.5, 3));
  ASSERT_OK(s->add_long_term("ada", "tie-b", 0.5, 4));
  ASSERT_OK(s->add_short_term("ada", "short ones are not recalled", 1.0, 5));
  EXPECT_FALSE(s->add_long_term("ada", "nan", std::nan(""), 6));
  EXPECT_FALSE(s->add_long_term("", "nobody", 0.5, 6));
  ASSERT_OK(s->flush(10));
  const auto top = s->recall("ada", 3);
  ASSERT_OK(top);
  ASSERT_EQ(top->size(), 3u);
  EXPECT_EQ((*top)[0].text, "high");
  EXPECT_EQ((*top)[1].text, "tie-a");
  EXPECT_EQ((*top)[2].text, "tie-b");
  EXPECT_EQ((*top)[0].used, 2);
  s->mark_memory_used((*top)[0].id, 50);
  ASSERT_OK(s->flush(60));
  EXPECT_EQ((*s->recall("ada", 1))[0].used, 50);
}

TEST(LocaleStore, EpisodesAreKeptAtOrAboveTheThreshold) {
  scratch_dir dir;
  store_pool pool(dir.path());
  auto s = open_store(pool, "harbor");
  ASSERT_TRUE(s);
  const auto episode = [](std::int64_t task, std::string family, double quality) {
    return episode_record{.agent = "ada",
                          .task = task,
                          .family = std::move(family),
                          .text = "task " + std::to_string(task),
                          .answer = task % 4,
                          .quality = quality,
                          .created = task};
  };
  EXPECT_EQ(*s->add_episode(episode(1, "tides", 0.69), 0.7), false);
  EXPECT_EQ(*s->add_episode(episode(2, "tides", 0.7), 0.7), true);
  EXPECT_EQ(*s->add_episode(episode(3, "tides", 0.95), 0.7), true);
  EXPECT_EQ(*s->add_episode(episode(4, "tides", 0.95), 0.7), true);
  EXPECT_EQ(*s->add_episode(episode(5, "ships", 0.8), 0.7), true);
  EXPECT_FALSE(s->add_episode(episode(6, "ships", std::nan("")), 0.7));
  EXPECT_EQ(s->pending(), 4u);
  ASSERT_OK(s->flush(10));
  const auto tides = s->episodes("ada", "tides", 0.0);
  ASSERT_OK(tides);
  EXPECT_EQ(tides->count, 3u);
  ASSERT_TRUE(tides->best);
  EXPECT_EQ(tides->best->task, 3);  // 0.95 twice: the older
  EXPECT_EQ(tides->best->answer, 3);
  EXPECT_EQ(tides->best->text, "task 3");
  EXPECT_EQ(s->episodes("ada", "tides", 0.9)->count, 2u);
  const auto none = s->episodes("ada", "tides", 0.99);
  EXPECT_EQ(none->count, 0u);
  EXPECT_FALSE(none->best);
  EXPECT_EQ(s->episodes("bob", "tides", 0.0)->count, 0u);
}

TEST(LocaleStore, SharedTablesAreCreatedWrittenAndRead) {
  scratch_dir dir;
  store_pool pool(dir.path());
  auto s = open_store(pool, "harbor");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->create_shared_table("bad-name", "ada", 1).error().code, errc::invalid_argument);
  EXPECT_EQ(s->put_shared("tides", "k", "v", "ada", 1).error().code, errc::invalid_argument);
  ASSERT_OK(s->create_shared_table("Tides", "ada", 5));
  ASSERT_OK(s->put_shared("tides", "noon", "high", "ada", 6));  // same batch, any case
  ASSERT_OK(s->put_shared("TIDES", "dusk", "low", "ada", 6));
  ASSERT_OK(s->create_shared_table("tides", "bob", 7));      // exists: nothing
  EXPECT_EQ(*s->get_shared("tides", "noon"), std::nullopt);  // not flushed yet
  ASSERT_OK(s->flush(10));
  EXPECT_EQ(*s->get_shared("tides", "noon"), (shared_row{"noon", "high", "ada", 6}));
  EXPECT_EQ(*s->get_shared("tides", "midnight"), std::nullopt);
  ASSERT_OK(s->put_shared("tides", "noon", "very high", "bob", 20));  // upsert
  ASSERT_OK(s->mark_shared_used("tides", 21));
  ASSERT_OK(s->mark_shared_used("tides", 22));
  ASSERT_OK(s->flush(30));
  EXPECT_EQ(*s->get_shared("tides", "noon"), (shared_row{"noon", "very high", "bob", 20}));
  auto tables = s->shared_tables();
  ASSERT_OK(tables);
  EXPECT_EQ(*tables, (std::vector<shared_table_info>{{"tides", "ada", 5, 22, 2, false}}));
  ASSERT_OK(s->archive_shared("tides"));
  ASSERT_OK(s->flush(40));
  EXPECT_TRUE((*s->shared_tables())[0].archived);
  EXPECT_EQ(*s->get_shared("tides", "dusk"), (shared_row{"dusk", "low", "ada", 6}));  // rows stay
  raw_db db(s->path(), SQLITE_OPEN_READONLY);
  EXPECT_EQ(db.integer("SELECT count(*) FROM shared__tides"), 2);
}

TEST(LocaleStore, GrantsAreActiveUntilExpiredOrRevoked) {
  scratch_dir dir;
  store_pool pool(dir.path());
  auto s = open_store(pool, "harbor");
  ASSERT_TRUE(s);
  const auto a = s->record_grant({.grantee_locale = "delta",
                                  .grantee_agent = "ada",
                                  .table = "tides",
                                  .level = access_level::read,
                                  .justification = "forecasts",
                                  .granted = 100,
                                  .expires = 200});
  const auto b = s->record_grant(
      {.grantee_locale = "delta", .table = "tides", .level = access_level::write, .granted = 100});
  const auto c =
      s->record_grant({.grantee_locale = "delta", .grantee_agent = "ada", .granted = 150});
  ASSERT_OK(a);
  ASSERT_OK(b);
  ASSERT_OK(c);
  EXPECT_EQ(std::vector<std::int64_t>({*a, *b, *c}), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(s->record_grant({.grantee_locale = "../etc"}).error().code, errc::invalid_argument);
  EXPECT_EQ(s->record_grant({.grantee_locale = "delta", .granted = 5, .expires = 5}).error().code,
            errc::invalid_argument);
  EXPECT_EQ(s->revoke_grant(9, 1).error().code, errc::invalid_argument);
  ASSERT_OK(s->flush(100));

  const auto ids = [&](std::string_view agent, std::string_view table, sim_time now) {
    std::vector<std::int64_t> out;
    const auto g = s->active_grants("delta", agent, table, now);
    EXPECT_TRUE(g) << g.error().message;
    for (const auto& x : *g) out.push_back(x.id);
    return out;
  };
  using ids_t = std::vector<std::int64_t>;
  EXPECT_EQ(ids("ada", "tides", 99), ids_t{});  // not yet
  EXPECT_EQ(ids("ada", "tides", 100), (ids_t{1, 2}));
  EXPECT_EQ(ids("ada", "tides", 150), (ids_t{1, 2, 3}));
  EXPECT_EQ(ids("ada", "TIDES", 199), (ids_t{1, 2, 3}));
  EXPECT_EQ(ids("ada", "tides", 200), (ids_t{2, 3}));  // a expired
  EXPECT_EQ(ids("bob", "tides", 150), (ids_t{2}));     // b is for every agent of delta
  EXPECT_EQ(ids("ada", "ships", 150), (ids_t{3}));     // c is for every table
  EXPECT_EQ(s->active_grants("north", "ada", "tides", 150)->size(), 0u);
  const auto first = s->active_grants("delta", "ada", "tides", 150);
  EXPECT_EQ((*first)[0], (access_grant{1, "delta", "ada", "tides", access_level::read, "forecasts",
                                       100, 200, std::nullopt}));
  EXPECT_EQ((*first)[1].level, access_level::write);
  EXPECT_EQ((*first)[1].expires, time_never);

  ASSERT_OK(s->revoke_grant(2, 170));
  ASSERT_OK(s->revoke_grant(2, 180));  // the first revocation stands
  ASSERT_OK(s->flush(190));
  EXPECT_EQ(ids("ada", "tides", 169), (ids_t{1, 2, 3}));
  EXPECT_EQ(ids("ada", "tides", 170), (ids_t{1, 3}));
  raw_db db(s->path(), SQLITE_OPEN_READONLY);
  EXPECT_EQ(db.one("SELECT revoked FROM grants WHERE id = 2"), "170");
}

TEST(LocaleStore, ReadOnlyConnectionRefusesWrites) {
  scratch_dir dir;
  store_pool pool(dir.path());
  auto s = open_store(pool, "harbor");
  ASSERT_TRUE(s);
  ASSERT_OK(s->create_shared_table("tides", "ada", 1));
  ASSERT_OK(s->put_shared("tides", "noon", "high", "ada", 1));
  EXPECT_EQ(pool.counts().open, 1u);
  EXPECT_EQ(*s->get_as_reader("tides", "noon"), std::nullopt);  // committed data only
  ASSERT_OK(s->flush(2));
  EXPECT_EQ(*s->get_as_reader("tides", "noon"), (shared_row{"noon", "high", "ada", 1}));
  EXPECT_EQ(pool.counts().open, 2u);  // the read-only connection
  const auto w = s->put_as_reader("tides", "noon", "forged", "delta/eve", 3);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, errc::permission_denied);
  EXPECT_NE(w.error().message.find("attempt to write a readonly database"), std::string::npos)
      << w.error().message;
  EXPECT_NE(w.error().message.find("SQLITE_READONLY"), std::string::npos) << w.error().message;
  EXPECT_NE(w.error().message.find("delta/eve"), std::string::npos) << w.error().message;
  EXPECT_EQ(*s->get_shared("tides", "noon"), (shared_row{"noon", "high", "ada", 1}));
  // The reader sees later commits.
  ASSERT_OK(s->put_shared("tides", "noon", "higher", "ada", 4));
  ASSERT_OK(s->flush(5));
  EXPECT_EQ((*s->get_as_reader("tides", "noon"))->value, "higher");
  EXPECT_EQ(s->get_as_reader("ships", "x").error().code, errc::invalid_argument);
}

TEST(LocaleStore, PoolClosesTheLeastRecentlyUsedAndLosesNothing) {
  scratch_dir dir;
  store_pool pool(dir.path(), {.max_open = 2});
  auto a = open_store(pool, "a");
  auto b = open_store(pool, "b");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(pool.counts().open, 2u);
  ASSERT_OK(a->add_long_term("ada", "in a", 0.5, 1));
  ASSERT_OK(a->flush(1));                                     // a is now the most recently used
  ASSERT_OK(b->add_long_term("bob", "queued in b", 0.5, 2));  // queued, no I/O
  auto c = open_store(pool, "c");
  ASSERT_TRUE(c);
  EXPECT_TRUE(a->is_open());
  EXPECT_FALSE(b->is_open());  // least recently used
  EXPECT_TRUE(c->is_open());
  EXPECT_EQ(b->pending(), 1u);  // closing it lost nothing
  EXPECT_EQ(pool.counts().open, 2u);
  EXPECT_EQ(pool.counts().closes, 1u);

  ASSERT_OK(b->flush(3));  // reopens b, closing a (c was used more recently)
  EXPECT_TRUE(b->is_open());
  EXPECT_FALSE(a->is_open());
  EXPECT_EQ((*b->recall("bob", 5))[0].text, "queued in b");
  EXPECT_EQ((*a->recall("ada", 5))[0].text, "in a");  // reopens a, closing c
  EXPECT_FALSE(c->is_open());
  EXPECT_EQ(a->last_commit(), 1);
  const auto n = pool.counts();
  EXPECT_EQ(n.stores, 3u);
  EXPECT_EQ(n.open, 2u);
  EXPECT_EQ(n.opens, 5u);
  EXPECT_EQ(n.closes, 3u);
  // The pool skipped the checkpoint: c's WAL is beside it until close() archives it.
  EXPECT_TRUE(fs::exists(c->path().string() + "-wal"));
  ASSERT_OK(c->close(10));
  EXPECT_FALSE(fs::exists(c->path().string() + "-wal"));
  EXPECT_FALSE(fs::exists(c->path().string() + "-shm"));
  EXPECT_EQ(raw_db(c->path(), SQLITE_OPEN_READONLY).integer("SELECT count(*) FROM commits"), 0);
  c.reset();
  EXPECT_EQ(pool.counts().stores, 2u);
}

TEST(LocaleStore, OneOwnerPerLocale) {
  scratch_dir dir;
  store_pool pool(dir.path());
  auto a = open_store(pool, "harbor");
  const auto again = pool.open("harbor");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, errc::invalid_argument);
  EXPECT_NE(again.error().message.find("already open"), std::string::npos);
  a.reset();
  EXPECT_TRUE(pool.open("harbor"));
}

TEST(LocaleStore, CloseArchivesAndTheNextUseReopens) {
  scratch_dir dir;
  store_pool pool(dir.path());
  auto s = open_store(pool, "harbor");
  ASSERT_TRUE(s);
  ASSERT_OK(s->add_long_term("ada", "kept", 0.5, 1));
  const auto rows = s->close(5);
  ASSERT_OK(rows);
  EXPECT_EQ(*rows, 1u);
  EXPECT_TRUE(s->archived());
  EXPECT_FALSE(s->is_open());
  EXPECT_EQ(pool.counts().open, 0u);
  EXPECT_TRUE(fs::exists(s->path()));
  EXPECT_FALSE(fs::exists(s->path().string() + "-wal"));  // checkpointed on close
  EXPECT_EQ((*s->recall("ada", 1))[0].text, "kept");
  EXPECT_FALSE(s->archived());
  EXPECT_TRUE(s->is_open());
  // A file removed while closed is an error, not a new empty store.
  ASSERT_OK(s->close(6));
  fs::remove(s->path());
  const auto gone = s->recall("ada", 1);
  ASSERT_FALSE(gone);
  EXPECT_NE(gone.error().message.find("gone"), std::string::npos) << gone.error().message;
}

TEST(LocaleStore, ReassignMergesAgentAIntoB) {
  scratch_dir dir;
  store_pool pool(dir.path());
  auto s = open_store(pool, "harbor");
  ASSERT_TRUE(s);
  ASSERT_OK(s->add_long_term("a", "a knows tides", 0.8, 1));
  ASSERT_OK(s->add_long_term("b", "b knows ships", 0.6, 2));
  ASSERT_OK(s->add_short_term("a", "a saw fog", 0.3, 3));
  ASSERT_OK(s->add_episode({.agent = "a", .task = 7, .family = "tides", .quality = 0.9}, 0.5));
  ASSERT_OK(s->create_shared_table("tides", "a", 4));
  s->reassign_agent("a", "b");
  ASSERT_OK(s->flush(10));
  EXPECT_EQ(s->recall("a", 10)->size(), 0u);
  const auto b = s->recall("b", 10);
  ASSERT_EQ(b->size(), 2u);
  EXPECT_EQ((*b)[0].text, "a knows tides");
  EXPECT_EQ(s->short_term("b")->size(), 1u);
  EXPECT_EQ(s->episodes("b", "tides", 0)->count, 1u);
  EXPECT_EQ((*s->shared_tables())[0].owner, "b");

  // Across locales: export from one store, import into another, forget in the first.
  auto other = open_store(pool, "delta");
  const auto records = s->export_agent("b");
  ASSERT_OK(records);
  EXPECT_EQ(records->memories.size(), 3u);
  EXPECT_EQ(records->episodes.size(), 1u);
  other->import_agent(*records, "c");
  s->forget_agent("b");
  ASSERT_OK(other->flush(20));
  ASSERT_OK(s->flush(20));
  EXPECT_EQ(s->export_agent("b")->memories.size(), 0u);
  const auto c = other->export_agent("c");
  ASSERT_EQ(c->memories.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    auto expected = records->memories[i];
    expected.agent = "c";
    EXPECT_EQ(c->memories[i], expected);
  }
  EXPECT_EQ(c->episodes[0].task, 7);
}

// The same operations against a store, with `evict` opening another store in between to close
// this one's connections.
std::string run_script(const fs::path& dir, bool evict) {
  store_pool pool(dir, {.max_open = 1, .cache_kib = 16});
  auto s = open_store(pool, "harbor");
  std::unique_ptr<locale_store> other;
  const auto disturb = [&] {
    if (!evict) return;
    if (other) {
      EXPECT_TRUE(other->recall("x", 1));
    } else {
      other = open_store(pool, "other");
    }
    EXPECT_FALSE(s->is_open());
  };
  EXPECT_TRUE(s->create_shared_table("cache", "ada", 1));
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 20; ++i) {
      const auto t = round * 100 + i;
      EXPECT_TRUE(s->add_short_term("ada", "note " + std::to_string(t), i * 0.05, t,
                                    {.keep = 6, .summarize = 4}));
      EXPECT_TRUE(s->put_shared("cache", numbered("k", i % 7), numbered("v", t), "ada", t));
      if (i % 5 == 0) disturb();
    }
    EXPECT_TRUE(
        s->add_episode({.agent = "ada", .task = round, .family = "f", .quality = 0.8}, 0.5));
    EXPECT_TRUE(s->record_grant({.grantee_locale = "delta", .granted = round}));
    if (round == 3) s->reassign_agent("ada", "bob");
    EXPECT_TRUE(s->flush(round * 100 + 99));
    disturb();
  }
  auto d = s->dump();
  EXPECT_TRUE(d) << d.error().message;
  return d ? *d : "";
}

TEST(LocaleStore, DumpIsDeterministicWhateverThePoolDoes) {
  scratch_dir dir;
  const auto plain = run_script(dir / "plain", false);
  const auto evicted = run_script(dir / "evicted", true);
  EXPECT_EQ(plain, evicted);
  EXPECT_EQ(plain, run_script(dir / "again", false));
  EXPECT_NE(plain.find("table memories (id|agent|tier|text|importance|created|used)\n"),
            std::string::npos);
  EXPECT_NE(
      plain.find("table shared__cache (key|value|writer|updated)\n\"k0\"|\"v414\"|\"ada\"|414\n"),
      std::string::npos)
      << plain;
  EXPECT_NE(plain.find("table commits (seq|t|rows)\n1|99|"), std::string::npos);
}

TEST(LocaleStore, OwnersOnTwoThreadsShareASmallPool) {
  scratch_dir dir;
  store_pool pool(dir.path(), {.max_open = 2});
  const auto work = [&](int thread) {
    std::vector<std::unique_ptr<locale_store>> stores;
    for (int i = 0; i < 4; ++i) {
      stores.push_back(open_store(pool, numbered("t", thread) + "-" + std::to_string(i)));
    }
    for (int round = 0; round < 30; ++round) {
      for (auto& s : stores) {
        EXPECT_TRUE(s->add_long_term("ada", numbered("r", round), round, round));
        EXPECT_TRUE(s->flush(round));
        const auto top = s->recall("ada", 1);
        EXPECT_TRUE(top) << top.error().message;
        if (top) {
          EXPECT_EQ(top->at(0).text, numbered("r", round));
        }
      }
    }
    for (auto& s : stores) EXPECT_EQ(s->last_commit(), 30);
  };
  std::thread other(work, 1);
  work(0);
  other.join();
  const auto n = pool.counts();
  EXPECT_EQ(n.stores, 0u);
  EXPECT_EQ(n.open, 0u);
  EXPECT_EQ(n.opens, n.closes);
  EXPECT_GT(n.closes, 8u);  // the limit made them take turns
}

// A child process writes 1,000-row transactions and logs each committed seq after flush()
// returns; SIGKILL at a random moment must leave an intact database holding every logged commit.
TEST(LocaleStore, SurvivesSigkillAtAnyMoment) {
  scratch_dir dir;
  const auto log_path = dir / "committed.log";
  std::mt19937 gen(20240611);
  std::uniform_int_distribution<int> delay_us(1'000, 250'000);
  std::int64_t total_logged = 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const int delay = attempt == 0 ? 500 : delay_us(gen);  // the first may hit the creation
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
      store_pool pool(dir.path());
      auto s = pool.open("killed");
      if (!s || fd < 0) _exit(2);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      for (sim_time t = 0; std::chrono::steady_clock::now() < deadline; ++t) {
        for (int i = 0; i < 1000; ++i) {
          if (!(*s)->add_long_term("agent", "row " + std::to_string(i), 0.5, t)) _exit(3);
        }
        if (!(*s)->flush(t)) _exit(4);
        const auto line = std::to_string((*s)->last_commit()) + "\n";
        if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(5);
      }
      _exit(0);
    }
    ::usleep(static_cast<useconds_t>(delay));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);

    std::set<std::int64_t> logged;
    {
      std::ifstream in(log_path);
      std::string line;
      while (std::getline(in, line)) {
        if (!line.empty()) logged.insert(std::stoll(line));
      }
    }
    const auto path = dir / "locales" / "killed.sqlite";
    if (!fs::exists(path)) {
      EXPECT_TRUE(logged.empty());
      continue;
    }
    raw_db db(path);
    EXPECT_EQ(db.one("PRAGMA integrity_check"), "ok") << "attempt " << attempt;
    if (db.integer("SELECT count(*) FROM sqlite_schema WHERE name = 'commits'") == 0) {
      EXPECT_TRUE(logged.empty());  // killed while creating the store
      continue;
    }
    std::set<std::int64_t> committed;
    for (const auto& seq : db.column("SELECT seq FROM commits")) committed.insert(std::stoll(seq));
    for (const auto seq : logged) EXPECT_TRUE(committed.contains(seq)) << "seq " << seq;
    EXPECT_EQ(db.integer("SELECT count(*) FROM memories"),
              db.integer("SELECT COALESCE(sum(rows), 0) FROM commits"));
    EXPECT_EQ(db.integer("SELECT COALESCE(sum(rows), 0) FROM commits"),
              1000 * db.integer("SELECT count(*) FROM commits"));
    total_logged = static_cast<std::int64_t>(logged.size());
  }
  EXPECT_GT(total_logged, 0);
  // And the store opens (and passes its own checks) afterwards.
  store_pool pool(dir.path());
  auto s = pool.open("killed");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_GE((*s)->last_commit(), total_logged);
}

}  // namespace
}  // namespace colony::memory
