// Per-locale stores in whole runs: market_data shows a shared table created, announced and used,
// negotiated read access with a refused write, and external lookups falling as the cache warms;
// runs are byte-identical with one and two threads, stores included; a run killed with SIGKILL
// leaves sound stores.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <thread>
#include <vector>

#include "cli_test_support.hpp"
#include "colony/memory/locale_store.hpp"

namespace colony::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// One column of metrics.csv, by name.
std::vector<double> column(const fs::path& run, const std::string& name) {
  const auto lines = lines_of(run / "metrics.csv");
  std::vector<std::string> names;
  std::istringstream header(lines.at(0));
  for (std::string cell; std::getline(header, cell, ',');) names.push_back(cell);
  const auto at = std::find(names.begin(), names.end(), name) - names.begin();
  EXPECT_LT(static_cast<std::size_t>(at), names.size()) << name;
  std::vector<double> out;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::istringstream in(lines[i]);
    std::string cell;
    for (std::ptrdiff_t c = 0; c <= at; ++c) std::getline(in, cell, ',');
    out.push_back(std::stod(cell));
  }
  return out;
}

fs::path run_market(const std::string& name, const std::string& extra = "") {
  const auto dir = scratch("stores-" + name);
  const auto c = colony("run " + (examples() / "market_data.json").string() + " --quiet --out " +
                        dir.string() + " " + extra);
  EXPECT_EQ(c.exit_code, 0) << c.output;
  return dir;
}

// Each locale's store of a run, opened as a run opens it (the file is checked), dumped.
std::map<std::string, std::string> dumps(const fs::path& run) {
  memory::store_pool pool(run);
  std::map<std::string, std::string> out;
  for (const char* locale : {"finance", "science"}) {
    auto store = pool.open(locale);
    EXPECT_TRUE(store) << (store ? "" : store.error().message);
    if (!store) continue;
    auto check = (*store)->integrity_check();
    EXPECT_TRUE(check && *check == "ok") << locale << ": " << (check ? *check : "");
    auto d = (*store)->dump();
    EXPECT_TRUE(d);
    if (d) out[locale] = *d;
  }
  return out;
}

class MarketData : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { run_ = new fs::path(run_market("whole")); }
  static void TearDownTestSuite() {
    fs::remove_all(*run_);
    delete run_;
  }
  static const fs::path& run() { return *run_; }

 private:
  static fs::path* run_;
};
fs::path* MarketData::run_ = nullptr;

TEST_F(MarketData, TheFxAnalystCreatesTheSharedTableAndItsLocaleUsesIt) {
  const auto created = events_of(run(), "db_created");
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0].at("table").as_string(), "market_data");
  EXPECT_EQ(created[0].at("locale").as_string(), "finance");
  EXPECT_EQ(created[0].at("owner").as_string(), "fx_analyst");
  EXPECT_LT(created[0].at("t").to_number<std::int64_t>(), std::int64_t{3600} * 1'000'000);

  const auto summary = read_json(run() / "summary.json");
  const auto& finance = summary.at("stores").at("finance").as_object();
  const auto& hits = finance.at("hits_by_agent").as_object();
  // The officers arrive at 6h, after the table exists: they read it from their first task.
  for (const char* agent : {"fx_analyst", "risk_officer", "compliance_officer"}) {
    ASSERT_TRUE(hits.contains(agent)) << agent;
    EXPECT_GT(hits.at(agent).to_number<double>(), 100) << agent;
  }
  EXPECT_EQ(u64(finance, "tables"), 1u);
}

TEST_F(MarketData, TheScienceLabNegotiatesReadAccessAndItsWritesAreRefused) {
  const auto granted = events_of(run(), "access_granted");
  ASSERT_EQ(granted.size(), 1u);
  const auto& g = granted[0];
  EXPECT_EQ(g.at("to").as_string(), "climate_modeler");
  EXPECT_EQ(g.at("to_locale").as_string(), "science");
  EXPECT_EQ(g.at("level").as_string(), "read");
  EXPECT_FALSE(g.at("justification").as_string().empty());
  EXPECT_EQ(events_of(run(), "access_denied").size(), 0u);

  const auto refused = events_of(run(), "write_refused");
  ASSERT_FALSE(refused.empty());
  for (const auto& r : refused) {
    EXPECT_EQ(r.at("by").as_string(), "climate_modeler");
    EXPECT_EQ(r.at("grant").as_string(), "read");
    // SQLite itself refused it: the write went through a read-only connection.
    EXPECT_NE(std::string(r.at("reason").as_string()).find("readonly"), std::string::npos);
  }
  const auto summary = read_json(run() / "summary.json");
  const auto& finance = summary.at("stores").at("finance").as_object();
  EXPECT_EQ(u64(finance, "writes_refused"), refused.size());
  EXPECT_GT(u64(finance, "foreign_reads"), 0u);
  EXPECT_GT(finance.at("hits_by_agent").at("climate_modeler").to_number<double>(), 0);
  // No row of the table was written by the lab.
  const auto stores = dumps(run());
  EXPECT_EQ(stores.at("finance").find("|climate_modeler|"), std::string::npos);
  EXPECT_NE(stores.at("finance").find("table shared__market_data"), std::string::npos);
}

TEST_F(MarketData, ExternalLookupsFallAsTheSharedCacheWarms) {
  const auto external = column(run(), "external_lookups");
  const auto arrived = column(run(), "arrived");
  ASSERT_GE(external.size(), 24u);  // 30-minute buckets over two days
  // Before the table exists nearly every task goes outside; after, about once per key and ttl.
  const double first_share = external[0] / arrived[0];
  double later = 0, later_tasks = 0;
  for (std::size_t i = 2; i < 24; ++i) {  // 1h..12h, before the lab arrives
    later += external[i];
    later_tasks += arrived[i];
  }
  EXPECT_GT(first_share, 0.3);
  EXPECT_LT(later / later_tasks, first_share / 3);
  const auto hits = column(run(), "store_hits");
  EXPECT_GT(hits[4], 0.7 * arrived[4]);
}

TEST(Stores, RunsAreByteIdenticalWithOneAndTwoThreadsStoresIncluded) {
  const auto one = run_market("t1", "--threads 1 --until 18h");
  const auto two = run_market("t2", "--threads 2 --until 18h");
  for (const char* f : {"events.jsonl", "metrics.csv", "topology.jsonl"}) {
    const auto a = read_file(one / f);
    EXPECT_FALSE(a.empty()) << f;
    EXPECT_TRUE(a == read_file(two / f)) << f << " differs between 1 and 2 threads";
  }
  const auto a = dumps(one);
  const auto b = dumps(two);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a, b);
  fs::remove_all(one);
  fs::remove_all(two);
}

// A store unused for archive_idle is closed (its file kept) and reopens on the next use: the
// science store is idle until the lab's first task at 12h.
TEST(Stores, AnIdleStoreIsArchivedAndReopensWhenUsed) {
  const auto dir = run_market("archive", "--until 14h --set stores.store.archive_idle=1h");
  const auto archived = events_of(dir, "db_archived");
  ASSERT_FALSE(archived.empty());
  EXPECT_EQ(archived.front().at("locale").as_string(), "science");
  EXPECT_EQ(archived.front().at("t").to_number<std::int64_t>(), std::int64_t{3600} * 1'000'000);
  const auto summary = read_json(dir / "summary.json");
  const auto& science = summary.at("stores").at("science").as_object();
  EXPECT_GE(u64(science, "archived"), 1u);
  EXPECT_GT(u64(science, "recalls"), 0u);  // used again after 12h
  const auto stores = dumps(dir);
  EXPECT_NE(stores.at("science").find("climate_modeler"), std::string::npos);
  fs::remove_all(dir);
}

// The `commits` rows of a dump: seq numbers, in order.
std::vector<std::int64_t> commit_seqs(const std::string& dump) {
  std::vector<std::int64_t> out;
  std::istringstream in(dump);
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("table ")) {
      inside = line.starts_with("table commits ");
      continue;
    }
    if (inside) out.push_back(std::stoll(line.substr(0, line.find('|'))));
  }
  return out;
}

// SIGKILL at several moments of a run: every store left behind opens, passes
// PRAGMA integrity_check, and holds whole transactions only (commits numbered 1..n, no gap).
TEST(Stores, ARunKilledAtAnyMomentLeavesSoundStores) {
  for (const int ms : {40, 120, 250, 500, 900}) {
    const auto dir = scratch("stores-kill-" + std::to_string(ms));
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      (void)!freopen("/dev/null", "w", stdout);
      (void)!freopen("/dev/null", "w", stderr);
      const std::string scenario = (examples() / "market_data.json").string();
      execl(colony_binary().c_str(), "colony", "run", scenario.c_str(), "--quiet", "--until", "30d",
            "--set", "run.duration=30d", "--out", dir.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the run ended before the kill at " << ms << " ms";
    if (!fs::exists(dir / "locales" / "finance.sqlite")) continue;  // killed before it began
    memory::store_pool pool(dir);
    for (const char* locale : {"finance", "science"}) {
      if (!fs::exists(dir / "locales" / (std::string(locale) + ".sqlite"))) continue;
      auto store = pool.open(locale);
      ASSERT_TRUE(store) << ms << " ms: " << store.error().message;
      auto check = (*store)->integrity_check();
      ASSERT_TRUE(check) << check.error().message;
      EXPECT_EQ(*check, "ok") << locale << " after a kill at " << ms << " ms";
      auto d = (*store)->dump();
      ASSERT_TRUE(d) << d.error().message;
      const auto seqs = commit_seqs(*d);
      for (std::size_t i = 0; i < seqs.size(); ++i) {
        EXPECT_EQ(seqs[i], static_cast<std::int64_t>(i + 1)) << locale << " at " << ms << " ms";
      }
    }
    fs::remove_all(dir);
  }
}

}  // namespace
}  // namespace colony::testing
