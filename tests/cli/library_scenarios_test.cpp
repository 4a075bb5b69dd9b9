// The solution library in whole runs: library_learning learns over a year and a warm start
// begins where it ended; runs are byte-identical with one and two threads, library included; a
// bad library to start from is a clear error; checkpoints write the library while a run goes.
#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <vector>

#include "cli_test_support.hpp"
#include "colony/agents/builtin.hpp"
#include "colony/cli/scenario_run.hpp"
#include "colony/memory/solution_library.hpp"
#include "colony/scenarios/loader.hpp"

namespace colony::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// metrics.csv as one map per row, by column name.
std::vector<std::map<std::string, double>> metrics_of(const fs::path& run) {
  const auto lines = lines_of(run / "metrics.csv");
  std::vector<std::string> names;
  std::istringstream header(lines.at(0));
  for (std::string cell; std::getline(header, cell, ',');) names.push_back(cell);
  std::vector<std::map<std::string, double>> rows;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::istringstream in(lines[i]);
    std::map<std::string, double> row;
    std::size_t c = 0;
    for (std::string cell; std::getline(in, cell, ','); ++c) row[names.at(c)] = std::stod(cell);
    rows.push_back(std::move(row));
  }
  return rows;
}

double cost_per_task(const std::map<std::string, double>& row) {
  return row.at("cost") / std::max(1.0, row.at("arrived"));
}

double mean_of(const std::vector<std::map<std::string, double>>& rows, std::size_t from,
               std::size_t to, double (*f)(const std::map<std::string, double>&)) {
  double sum = 0;
  for (std::size_t i = from; i < to; ++i) sum += f(rows.at(i));
  return sum / static_cast<double>(to - from);
}

double hit_rate(const std::map<std::string, double>& row) {
  return row.at("library_hit_rate");
}

fs::path run_learning(const std::string& name, const std::string& extra = "") {
  const auto dir = scratch("library-" + name);
  const auto c = colony("run " + (examples() / "library_learning.json").string() +
                        " --quiet --out " + dir.string() + " " + extra);
  EXPECT_EQ(c.exit_code, 0) << c.output;
  return dir;
}

// One year run once for the tests that read it (about two seconds).
class LibraryLearning : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { first_ = new fs::path(run_learning("first")); }
  static void TearDownTestSuite() {
    fs::remove_all(*first_);
    delete first_;
  }
  static const fs::path& first() { return *first_; }

 private:
  static fs::path* first_;
};
fs::path* LibraryLearning::first_ = nullptr;

TEST_F(LibraryLearning, HitRateClimbsAndCostPerTaskFallsOverTheYear) {
  const auto rows = metrics_of(first());
  ASSERT_EQ(rows.size(), 12u);  // one row per 30-day month
  const double first_month = hit_rate(rows.front());
  const double last_quarter = mean_of(rows, 9, 12, hit_rate);
  EXPECT_LT(first_month, 0.45);
  EXPECT_GT(last_quarter, 0.8);
  // Month by month it climbs while the library fills, and holds up through the drift.
  EXPECT_LT(first_month, hit_rate(rows[1]));
  EXPECT_LT(hit_rate(rows[1]), hit_rate(rows[2]));
  EXPECT_GT(mean_of(rows, 3, 12, hit_rate), mean_of(rows, 0, 3, hit_rate) + 0.2);
  EXPECT_LT(mean_of(rows, 9, 12, cost_per_task), 0.7 * cost_per_task(rows.front()));
  // Reuse, the cheapest path, grows from a trickle to the most common one.
  EXPECT_GT(rows.back().at("library_reuse"), 3 * rows.front().at("library_reuse"));
  EXPECT_GT(rows.back().at("library_mean_similarity"),
            rows.front().at("library_mean_similarity") + 0.2);
}

TEST_F(LibraryLearning, EventsSummaryAndLibraryFilesAgree) {
  const auto summary = read_json(first() / "summary.json");
  EXPECT_EQ(u64(summary, "arrived"), u64(summary, "completed") + u64(summary, "failed") +
                                         u64(summary, "escalated") + u64(summary, "in_flight"));
  const auto& lib = summary.at("library").as_object();
  const auto stored = events_of(first(), "solution_stored");
  const auto forked = events_of(first(), "solution_forked");
  const auto synthesized = events_of(first(), "solution_synthesized");
  EXPECT_EQ(stored.size(), u64(lib, "stored"));
  EXPECT_EQ(forked.size(), u64(lib, "forked"));
  EXPECT_EQ(synthesized.size(), u64(lib, "synthesized"));
  EXPECT_GT(synthesized.size(), 0u);
  EXPECT_EQ(events_of(first(), "solution_deprecated").size(), u64(lib, "deprecated"));

  // The saved library holds every entry the events announced, forks with their parents.
  auto saved = memory::solution_library::open(first());
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_EQ(saved->size(), u64(lib, "entries"));
  EXPECT_EQ(saved->size(), stored.size() + synthesized.size());
  EXPECT_EQ(saved->deprecated_count(), u64(lib, "deprecated"));
  for (const auto& f : forked) {
    const auto id = memory::solution_id{json::value_to<std::uint64_t>(f.at("id"))};
    auto entry = saved->get(id);
    ASSERT_TRUE(entry);
    ASSERT_EQ(entry->parents.size(), f.at("parents").as_array().size());
    for (std::size_t i = 0; i < entry->parents.size(); ++i) {
      EXPECT_EQ(static_cast<std::uint64_t>(entry->parents[i]),
                json::value_to<std::uint64_t>(f.at("parents").as_array()[i]));
      EXPECT_LT(entry->parents[i], id);
    }
  }
  // The working database is gone; the saved pair is what remains.
  EXPECT_FALSE(fs::exists(first() / memory::solution_library::working_file));
}

TEST_F(LibraryLearning, EveryReuseTookThePathItsSimilarityPicks) {
  const std::map<std::string, std::pair<double, double>> band = {{"reuse", {0.95, 1.0001}},
                                                                 {"adapt_parameters", {0.85, 0.95}},
                                                                 {"adapt_logic", {0.70, 0.85}},
                                                                 {"combine", {0.60, 0.70}}};
  std::map<std::string, std::uint64_t> seen;
  for (const auto& e : events_of(first(), "solution_reused")) {
    const std::string tier(e.at("tier").as_string());
    const double s = e.at("similarity").to_number<double>();
    ASSERT_TRUE(band.count(tier)) << tier;
    EXPECT_GE(s, band.at(tier).first) << tier;
    EXPECT_LT(s, band.at(tier).second) << tier;
    ++seen[tier];
  }
  EXPECT_EQ(seen.size(), 4u);  // every path was taken
}

TEST_F(LibraryLearning, AWarmStartBeginsWhereTheFirstRunEnded) {
  const auto before = read_file(first() / "library.sqlite");
  const auto second = run_learning("second", "--seed 2 --library " + first().string());
  // The source is copied, never modified.
  EXPECT_TRUE(read_file(first() / "library.sqlite") == before);
  const auto one = metrics_of(first());
  const auto two = metrics_of(second);
  EXPECT_GT(hit_rate(two.front()), hit_rate(one.front()) + 0.3);
  EXPECT_GT(hit_rate(two.front()), hit_rate(one.back()) - 0.1);
  EXPECT_LT(cost_per_task(two.front()), 0.7 * cost_per_task(one.front()));
  // Ids continue after the saved entries.
  const auto first_size =
      u64(read_json(first() / "summary.json").at("library").as_object(), "entries");
  const auto stored = events_of(second, "solution_stored");
  ASSERT_FALSE(stored.empty());
  EXPECT_EQ(json::value_to<std::uint64_t>(stored.front().at("id")), first_size + 1);
  const auto manifest = read_json(second / "manifest.json");
  EXPECT_EQ(fs::path(std::string(manifest.at("library_from").as_string())), fs::absolute(first()));
  fs::remove_all(second);
}

TEST(Library, RunsAreByteIdenticalWithOneAndTwoThreadsLibraryIncluded) {
  const auto one = run_learning("t1", "--threads 1 --until 120d");
  const auto two = run_learning("t2", "--threads 2 --until 120d");
  for (const char* f :
       {"events.jsonl", "metrics.csv", "topology.jsonl", "library.faiss", "library.sqlite"}) {
    const auto a = read_file(one / f);
    EXPECT_FALSE(a.empty()) << f;
    EXPECT_TRUE(a == read_file(two / f)) << f << " differs between 1 and 2 threads";
  }
  fs::remove_all(one);
  fs::remove_all(two);
}

TEST(Library, ABadLibraryToStartFromIsAClearError) {
  const auto source = run_learning("source", "--until 10d");
  const auto scenario = (examples() / "library_learning.json").string();
  const auto out = scratch("library-bad-out");
  const auto run = [&](const std::string& extra) {
    fs::remove_all(out);
    return colony("run " + scenario + " --quiet --until 1d --out " + out.string() + " " + extra);
  };

  const auto empty = scratch("library-empty");
  fs::create_directories(empty);
  auto r = run("--library " + empty.string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("holds no library.faiss"), std::string::npos) << r.output;

  r = run("--library " + source.string() + " --set library.index.dimension=128");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("dimension 256 does not match"), std::string::npos) << r.output;

  const auto broken = scratch("library-broken");
  fs::create_directories(broken);
  fs::copy_file(source / "library.sqlite", broken / "library.sqlite");
  const auto index = read_file(source / "library.faiss");
  std::ofstream(broken / "library.faiss", std::ios::binary) << index.substr(0, index.size() / 2);
  r = run("--library " + broken.string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("library.faiss"), std::string::npos) << r.output;

  // Starting from the output directory itself would overwrite the source: refused before
  // anything in it is touched.
  const auto events_before = read_file(source / "events.jsonl");
  r = colony("run " + scenario + " --quiet --until 1d --force --out " + source.string() +
             " --library " + source.string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("choose another --out"), std::string::npos) << r.output;
  EXPECT_TRUE(read_file(source / "events.jsonl") == events_before);

  for (const auto& d : {source, out, empty, broken}) fs::remove_all(d);
}

// Checkpoints: the library's files exist from the first bucket at or past upkeep.checkpoint,
// while the run still goes, and hold the entries stored so far.
TEST(Library, CheckpointsWriteTheLibraryWhileTheRunGoes) {
  agents::register_builtin_kinds();
  auto loaded = scenarios::load_scenario((examples() / "library_learning.json").string(),
                                         {"library.upkeep.checkpoint=60d", "run.duration=150d"});
  ASSERT_TRUE(loaded) << (loaded.problems.empty() ? "" : loaded.problems[0].format());
  const auto dir = scratch("library-checkpoint");
  fs::create_directories(dir);
  auto run = cli::scenario_run::build(*loaded.value, {.library_dir = dir});
  ASSERT_TRUE(run) << run.error().message;
  std::vector<std::size_t> saved_sizes;  // entries in the saved library after each bucket
  auto totals = (*run)->run([&](const cli::bucket_row& row) {
    if (!fs::exists(dir / "library.faiss")) {
      saved_sizes.push_back(0);
      return;
    }
    auto saved = memory::solution_library::open(dir);
    ASSERT_TRUE(saved) << saved.error().message;
    saved_sizes.push_back(saved->size());
    EXPECT_LE(saved->size(), row.library->entries);
  });
  ASSERT_TRUE(totals) << totals.error().message;
  // Buckets of 30 days: nothing before day 60, a checkpoint at 60 and at 120.
  ASSERT_EQ(saved_sizes.size(), 5u);
  EXPECT_EQ(saved_sizes[0], 0u);
  EXPECT_GT(saved_sizes[1], 0u);
  EXPECT_EQ(saved_sizes[2], saved_sizes[1]);
  EXPECT_GT(saved_sizes[3], saved_sizes[2]);
  EXPECT_EQ(saved_sizes[4], saved_sizes[3]);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace colony::testing
