// `colony sweep`: expansion of the sweep file, seeds, parallel runs, resuming, the results and
// their aggregation; and `colony rerun`.
#include "sweep.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "cli_test_support.hpp"

namespace colony::testing {
namespace {

namespace fs = std::filesystem;
using cli::load_sweep;
using cli::summarize;

// Writes a sweep file for the bundled self_consistency scenario, 2 simulated hours a run.
fs::path sweep_file(const fs::path& dir, const std::string& body) {
  fs::create_directories(dir);
  const auto file = dir / "sweep.json";
  std::ofstream(file) << "{\"scenario\": \"" << (examples() / "self_consistency.json").string()
                      << "\", \"set\": {\"run.duration\": \"2h\"}, " << body << "}";
  return file;
}

// A CSV file as rows of cells (no quoted commas in what these tests read).
std::vector<std::vector<std::string>> csv(const fs::path& file) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& line : lines_of(file)) {
    std::vector<std::string> cells;
    std::string cell;
    for (const char ch : line) {
      if (ch == ',') {
        cells.push_back(cell);
        cell.clear();
      } else {
        cell += ch;
      }
    }
    cells.push_back(cell);
    rows.push_back(std::move(cells));
  }
  return rows;
}

std::size_t column(const std::vector<std::string>& header, const std::string& name) {
  const auto it = std::find(header.begin(), header.end(), name);
  EXPECT_NE(it, header.end()) << name;
  return static_cast<std::size_t>(it - header.begin());
}

TEST(Sweep, GridIsCrossedWithThePointsLastPathFastest) {
  const auto dir = scratch("sweep-grid");
  const auto file = sweep_file(dir, R"(
    "points": [{"agents.ensemble.params.voting": "majority"},
               {"agents.ensemble.params.voting": "weighted"}],
    "grid": {"agents.ensemble.params.samples": [1, 3, 5],
             "backends.model.price.out": [0.002, 0.004]},
    "seeds": 3, "first_seed": 10)");
  auto plan = load_sweep(file);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->parameters, (std::vector<std::string>{"agents.ensemble.params.voting",
                                                        "agents.ensemble.params.samples",
                                                        "backends.model.price.out"}));
  ASSERT_EQ(plan->points.size(), 12u);  // 2 points x 3 x 2
  const auto values = [&](std::size_t i) { return plan->points[i].values; };
  EXPECT_EQ(plan->points[0].id, "p00");
  EXPECT_EQ(plan->points[11].id, "p11");
  EXPECT_EQ(values(0)[0].second, "majority");
  EXPECT_EQ(values(0)[1].second, 1);
  EXPECT_EQ(values(0)[2].second, 0.002);
  EXPECT_EQ(values(1)[2].second, 0.004);  // the last path varies fastest
  EXPECT_EQ(values(1)[1].second, 1);
  EXPECT_EQ(values(2)[1].second, 3);
  EXPECT_EQ(values(6)[0].second, "weighted");
  EXPECT_EQ(values(6)[1].second, 1);
  EXPECT_EQ(plan->seeds, (std::vector<std::uint64_t>{10, 11, 12}));
  ASSERT_EQ(plan->runs.size(), 36u);
  EXPECT_EQ(plan->runs[0].id, "p00-s10");
  EXPECT_EQ(plan->runs[35].id, "p11-s12");
  // Each run's overrides: the fixed ones, then its point's, as --set arguments.
  EXPECT_EQ(plan->runs[4].sets,
            (std::vector<std::string>{
                "run.duration=\"2h\"", "agents.ensemble.params.voting=\"majority\"",
                "agents.ensemble.params.samples=1", "backends.model.price.out=0.004"}));
}

TEST(Sweep, SeedsAsAListAndTheBundledSweep) {
  const auto dir = scratch("sweep-seeds");
  auto plan = load_sweep(sweep_file(dir, R"("seeds": [7, 3, 100])"));
  ASSERT_TRUE(plan) << plan.error().message;
  ASSERT_EQ(plan->points.size(), 1u);
  EXPECT_TRUE(plan->points[0].values.empty());
  EXPECT_EQ(plan->seeds, (std::vector<std::uint64_t>{7, 3, 100}));
  EXPECT_EQ(plan->runs[1].id, "p00-s3");

  auto bundled = load_sweep(examples() / "self_consistency_sweep.json");
  ASSERT_TRUE(bundled) << bundled.error().message;
  EXPECT_EQ(bundled->runs.size(), 40u);
  EXPECT_EQ(bundled->points.size(), 4u);
  EXPECT_EQ(bundled->seeds.size(), 10u);
  EXPECT_EQ(bundled->points[3].values[0].second, 7);
}

TEST(Sweep, BadSweepFilesNameTheFileThePlaceAndTheFix) {
  const auto dir = scratch("sweep-bad");
  struct bad {
    std::string body, expected;
  };
  const std::vector<bad> cases = {
      {R"("seeds": 0)", "/seeds: 0 is out of range (allowed: 1 or more)"},
      {R"("seeds": [1, 1])", "seed 1 is listed twice"},
      {R"("seeds": 2, "grid": {"agents.ensemble.params.samples": 3})", "expected an array"},
      {R"("seeds": 2, "grid": {"agents.ensemble.params.samples": [1, 1]})",
       "the value 1 is listed twice"},
      {R"("seeds": 2, "sedes": 3)", "unknown key \"sedes\""},
      {R"("seeds": 2, "grid": {"run.duration": ["1h"]})", "both fixed (\"set\") and swept"},
      {R"("seeds": 2, "metrics": ["succes_rate"])", "unknown metric \"succes_rate\""},
      {R"("seeds": 2, "grid": {"agents.ensemble.params.sample": [1, 3]})",
       "point p00: --set agents.ensemble.params.sample=1: error"},
      {R"("seeds": 2, "grid": {"agents.ensemble.params.samples": [0, 3]})",
       "point p00: --set agents.ensemble.params.samples=0: error"},
      {R"("seeds": 1000000000)", "1000000000 seeds is more than a sweep can hold"},
      {R"("seeds": 2000, "grid": {"agents.ensemble.params.samples": [1, 3, 5, 7, 9, 11, 13,
          15, 17, 19, 21, 23, 25, 27, 29, 31, 33, 35, 37, 39, 41, 43, 45, 47, 49, 51, 53, 55, 57,
          59, 61, 63, 65, 67, 69, 71, 73, 75, 77, 79, 81, 83, 85, 87, 89, 91, 93, 95, 97, 99,
          101]})",
       "51 points x 2000 seeds is more than 100000 runs"},
      {R"("seeds": 2, "points": [{"agents.ensemble.params.samples": 3},
                                 {"agents.ensemble.params.samples": 3}])",
       "point 1 is the same as point 0"},
      {R"("seeds": 2, "name": "../elsewhere")", "cannot name a directory"},
      {R"("seeds": 2, "grid": {"agents.ensemble.params.voting": ["majority", "a\nb"]})",
       "may not hold a line break"},
  };
  for (const auto& c : cases) {
    const auto file = sweep_file(dir, c.body);
    const auto r = colony("sweep " + file.string() + " --out " + (dir / "out").string());
    EXPECT_EQ(r.exit_code, 2) << c.body << "\n" << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << c.body << "\n" << r.output;
    EXPECT_NE(r.output.find(file.string()), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir / "out")) << c.body;
  }
  // A fixed override the scenario refuses is said once, not once per point.
  const auto fixed =
      sweep_file(dir, R"("seeds": 2, "grid": {"agents.ensemble.params.samples": [1, 3]})");
  const auto once = colony("sweep " + fixed.string() + " --set run.duraton=1h");
  EXPECT_EQ(once.exit_code, 2);
  EXPECT_NE(once.output.find(fixed.string() + ": scenario: --set run.duraton=1h: error"),
            std::string::npos)
      << once.output;
  EXPECT_EQ(once.output.find("point p0"), std::string::npos) << once.output;
  // Positions: FILE:LINE:COL of the value at fault.
  std::ofstream(dir / "pos.json") << "{\n  \"scenario\": \"nowhere.json\",\n  \"seeds\": 2\n}\n";
  const auto r = colony("sweep " + (dir / "pos.json").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("pos.json:2:15: error: /scenario: no scenario file at"),
            std::string::npos)
      << r.output;
}

// Mean, sample standard deviation and Student's t interval, against values worked by hand.
TEST(Sweep, SummaryMatchesHandComputedValues) {
  // 1, 2, 3, 4: mean 2.5; sd sqrt(5/3); t(0.975, 3) = 3.182446305284263.
  const auto s = summarize({1, 2, 3, 4});
  EXPECT_EQ(s.n, 4u);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_NEAR(s.sd, 1.2909944487358056, 1e-12);
  const double half = 3.182446305284263 * 1.2909944487358056 / 2;
  EXPECT_NEAR(s.ci95_low, 2.5 - half, 1e-9);
  EXPECT_NEAR(s.ci95_high, 2.5 + half, 1e-9);
  EXPECT_NEAR(s.ci95_high, 4.554260, 1e-6);
  // 10, 12: mean 11, sd sqrt(2); t(0.975, 1) = 12.706204736174698.
  const auto two = summarize({10, 12});
  EXPECT_NEAR(two.ci95_high, 11 + 12.706204736174698 * std::sqrt(2.0) / std::sqrt(2.0), 1e-8);
  // Equal values: no spread.
  const auto flat = summarize({0.5, 0.5, 0.5});
  EXPECT_EQ(flat.sd, 0);
  EXPECT_EQ(flat.ci95_low, 0.5);
  // One value: no spread can be estimated.
  const auto one = summarize({3});
  EXPECT_EQ(one.mean, 3);
  EXPECT_TRUE(std::isnan(one.sd));
  EXPECT_TRUE(std::isnan(one.ci95_low));
}

TEST(Sweep, RunsEveryPointAndSeedAndAggregatesTheirResults) {
  const auto dir = scratch("sweep-run");
  const auto file =
      sweep_file(dir, R"("grid": {"agents.ensemble.params.samples": [1, 5]}, "seeds": 3)");
  const auto out = dir / "out";
  const auto r = colony("sweep " + file.string() + " --jobs 2 --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("6 runs (0 already done, 6 run now, 0 failed)"), std::string::npos)
      << r.output;

  // Each run used its seed and its point's overrides.
  const auto manifest = read_json(out / "runs/p01-s2/manifest.json");
  EXPECT_EQ(u64(manifest, "seed"), 2u);
  const auto& overrides = manifest.at("overrides").as_array();
  EXPECT_NE(std::find(overrides.begin(), overrides.end(),
                      boost::json::value("agents.ensemble.params.samples=5")),
            overrides.end());

  const auto results = csv(out / "results.csv");
  ASSERT_EQ(results.size(), 7u);
  const auto& h = results[0];
  EXPECT_EQ(h[0], "run");
  EXPECT_EQ(h[2], "agents.ensemble.params.samples");
  EXPECT_EQ(h[3], "seed");
  // Each row holds its run's summary.
  const auto sr = column(h, "success_rate");
  const auto cost = column(h, "cost");
  for (std::size_t i = 1; i < results.size(); ++i) {
    const auto summary = read_json(out / "runs" / results[i][0] / "summary.json");
    EXPECT_DOUBLE_EQ(std::stod(results[i][sr]), num(summary, "success_rate")) << results[i][0];
    EXPECT_DOUBLE_EQ(std::stod(results[i][cost]), num(summary, "cost")) << results[i][0];
  }
  EXPECT_EQ(results[4][0], "p01-s1");
  EXPECT_EQ(results[4][2], "5");
  EXPECT_EQ(results[4][3], "1");
  // Five samples cost about five times one sample.
  EXPECT_GT(std::stod(results[4][cost]), 4 * std::stod(results[1][cost]));

  // The aggregate of each point is worked out again here from the rows.
  const auto aggregate = csv(out / "aggregate.csv");
  ASSERT_EQ(aggregate.size(), 3u);
  const auto& a = aggregate[0];
  EXPECT_EQ(a[0], "point");
  EXPECT_EQ(a[2], "runs");
  for (std::size_t p = 0; p < 2; ++p) {
    std::vector<double> v;
    for (std::size_t i = 1 + 3 * p; i < 4 + 3 * p; ++i) v.push_back(std::stod(results[i][sr]));
    const double mean = (v[0] + v[1] + v[2]) / 3;
    double squares = 0;
    for (const double x : v) squares += (x - mean) * (x - mean);
    const double sd = std::sqrt(squares / 2);
    const double half = 4.302652729749464 * sd / std::sqrt(3.0);  // t(0.975, 2)
    const auto& row = aggregate[1 + p];
    EXPECT_EQ(row[2], "3");
    EXPECT_NEAR(std::stod(row[column(a, "success_rate_mean")]), mean, 1e-12);
    EXPECT_NEAR(std::stod(row[column(a, "success_rate_sd")]), sd, 1e-12);
    EXPECT_NEAR(std::stod(row[column(a, "success_rate_ci95_low")]), mean - half, 1e-9);
    EXPECT_NEAR(std::stod(row[column(a, "success_rate_ci95_high")]), mean + half, 1e-9);
  }
  // More samples, more accuracy: the intervals do not overlap.
  EXPECT_GT(std::stod(aggregate[2][column(a, "success_rate_ci95_low")]),
            std::stod(aggregate[1][column(a, "success_rate_ci95_high")]));

  // The results do not depend on how many runs went at once.
  const auto serial = dir / "serial";
  ASSERT_EQ(
      colony("sweep " + file.string() + " --jobs 1 --quiet --out " + serial.string()).exit_code, 0);
  EXPECT_EQ(read_file(serial / "results.csv"), read_file(out / "results.csv"));
  EXPECT_EQ(read_file(serial / "aggregate.csv"), read_file(out / "aggregate.csv"));
}

// The bundled sweep's story, over 6 simulated hours a run: more samples, more accuracy, at a
// cost that grows in proportion; every interval is narrow enough to tell the points apart.
TEST(Sweep, BundledSweepShowsAccuracyBoughtWithSamples) {
  const auto out = scratch("sweep-bundled");
  const auto r = colony("sweep " + (examples() / "self_consistency_sweep.json").string() +
                        " --set run.duration=6h --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto rows = csv(out / "aggregate.csv");
  ASSERT_EQ(rows.size(), 5u);
  const auto& h = rows[0];
  for (std::size_t p = 1; p < rows.size(); ++p) {
    EXPECT_EQ(rows[p][column(h, "runs")], "10");
    if (p == 1) continue;
    const auto& before = rows[p - 1];
    EXPECT_GT(std::stod(rows[p][column(h, "success_rate_ci95_low")]),
              std::stod(before[column(h, "success_rate_ci95_high")]))
        << rows[p][0];
    // One call per sample: the cost per sample stays that of one sample, within 2%.
    const auto per_sample = [&](const std::vector<std::string>& row) {
      return std::stod(row[column(h, "cost_mean")]) / std::stod(row[1]);
    };
    EXPECT_NEAR(per_sample(rows[p]), per_sample(rows[1]), 0.02 * per_sample(rows[1])) << rows[p][0];
    EXPECT_GT(std::stod(rows[p][column(h, "latency_p95_ms_mean")]),
              std::stod(before[column(h, "latency_p95_ms_mean")]))
        << rows[p][0];
  }
}

TEST(Sweep, ResumesSkippingFinishedRunsAndRedoesInterruptedOnes) {
  const auto dir = scratch("sweep-resume");
  const auto file = sweep_file(dir, R"("grid": {"agents.ensemble.params.samples": [1, 3]},
                                      "seeds": 2)");
  const auto out = dir / "out";
  ASSERT_EQ(colony("sweep " + file.string() + " --out " + out.string()).exit_code, 0);
  const auto results = read_file(out / "results.csv");
  const auto kept = fs::last_write_time(out / "runs/p00-s1/events.jsonl");
  // An interrupted run: its directory is there, its summary is not.
  fs::remove(out / "runs/p01-s2/summary.json");
  fs::remove(out / "runs/p01-s2/metrics.csv");
  const auto r = colony("sweep " + file.string() + " --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("4 runs (3 already done, 1 run now, 0 failed)"), std::string::npos)
      << r.output;
  EXPECT_EQ(fs::last_write_time(out / "runs/p00-s1/events.jsonl"), kept);
  EXPECT_TRUE(fs::exists(out / "runs/p01-s2/summary.json"));
  EXPECT_EQ(read_file(out / "results.csv"), results);
  // Nothing left: nothing is run.
  const auto again = colony("sweep " + file.string() + " --out " + out.string());
  EXPECT_NE(again.output.find("(4 already done, 0 run now"), std::string::npos) << again.output;

  // Another sweep is never mixed into this one's directory.
  const auto other = sweep_file(dir / "other", R"("seeds": 5)");
  const auto mixed = colony("sweep " + other.string() + " --out " + out.string());
  EXPECT_EQ(mixed.exit_code, 2);
  EXPECT_NE(mixed.output.find("holds another sweep"), std::string::npos) << mixed.output;
  // Nor is it written into a directory that holds something else.
  fs::create_directories(dir / "busy");
  std::ofstream(dir / "busy/notes.txt") << "mine";
  const auto busy = colony("sweep " + file.string() + " --out " + (dir / "busy").string());
  EXPECT_EQ(busy.exit_code, 2);
  EXPECT_NE(busy.output.find("not empty and not a sweep"), std::string::npos) << busy.output;
}

// SIGTERM (or Ctrl-C) stops the runs under way, keeps the results of those that finished, and
// the same command resumes.
TEST(Sweep, InterruptedSweepKeepsWhatFinishedAndResumes) {
  const auto dir = scratch("sweep-stop");
  fs::create_directories(dir);
  const auto file = dir / "sweep.json";
  std::ofstream(file) << "{\"scenario\": \"" << (examples() / "self_consistency.json").string()
                      << "\", \"set\": {\"run.duration\": \"8d\"}, \"seeds\": 4}";
  const auto out = dir / "out";
  // One run at a time, about a second each: stopped during the second.
  const auto r = colony("sweep " + file.string() + " --jobs 1 --out " + out.string() +
                        " 2>&1 & pid=$!; sleep 1.5; kill -TERM $pid; wait $pid");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("interrupted with "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("run the same command again to resume"), std::string::npos);
  const auto rows = csv(out / "results.csv");
  EXPECT_GE(rows.size(), 1u);
  EXPECT_LT(rows.size(), 5u) << "the sweep finished before it was stopped: make its runs longer";
  const auto finished_before = rows.size() - 1;
  const auto resumed = colony("sweep " + file.string() + " --out " + out.string());
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("(" + std::to_string(finished_before) + " already done"),
            std::string::npos)
      << resumed.output;
  EXPECT_EQ(csv(out / "results.csv").size(), 5u);
}

// A run whose files were damaged after it finished is run again, not silently left out.
TEST(Sweep, ADamagedFinishedRunIsRunAgain) {
  const auto dir = scratch("sweep-damaged");
  const auto file = sweep_file(dir, R"("seeds": 3)");
  const auto out = dir / "out";
  ASSERT_EQ(colony("sweep " + file.string() + " --out " + out.string()).exit_code, 0);
  const auto results = read_file(out / "results.csv");
  std::ofstream(out / "runs/p00-s2/summary.json") << "{\"arrived\": ";  // truncated
  fs::remove(out / "runs/p00-s3/events.jsonl");
  const auto r = colony("sweep " + file.string() + " --out " + out.string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("3 runs (1 already done, 2 run now, 0 failed)"), std::string::npos)
      << r.output;
  EXPECT_EQ(read_file(out / "results.csv"), results);
}

// Every run of a sweep may start from one saved library; the sweep records its hash, and a
// resume after the library changed is refused rather than mixed.
TEST(Sweep, RunsStartFromASavedLibrary) {
  const auto dir = scratch("sweep-library");
  const auto scenario = (examples() / "library_learning.json").string();
  const auto saved = dir / "saved";
  ASSERT_EQ(colony("run " + scenario + " --quiet --until 5d --out " + saved.string()).exit_code, 0);
  const auto file = dir / "sweep.json";
  std::ofstream(file) << "{\"scenario\": \"" << scenario
                      << R"(", "until": "2d", "seeds": 2, "library": "saved"})";
  const auto out = dir / "out";
  const auto r = colony("sweep " + file.string() + " --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto manifest = read_json(out / "runs/p00-s2/manifest.json");
  EXPECT_EQ(manifest.at("library_from").as_string(), saved.string());
  EXPECT_EQ(manifest.at("library_hash"), read_json(out / "sweep.json").at("library_hash"));
  // Started warm, the first days already reuse.
  const auto rows = csv(out / "results.csv");
  EXPECT_GT(std::stod(rows[1][column(rows[0], "library_hit_rate")]), 0.5);

  ASSERT_EQ(
      colony("run " + scenario + " --quiet --until 5d --seed 4 --force --out " + saved.string())
          .exit_code,
      0);
  const auto changed = colony("sweep " + file.string() + " --out " + out.string());
  EXPECT_EQ(changed.exit_code, 2);
  EXPECT_NE(changed.output.find("holds another sweep"), std::string::npos) << changed.output;

  std::ofstream(dir / "none.json")
      << "{\"scenario\": \"" << scenario << R"(", "seeds": 1, "library": "nowhere"})";
  const auto none = colony("sweep " + (dir / "none.json").string());
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.output.find("none.json:1:"), std::string::npos) << none.output;
  EXPECT_NE(none.output.find("/library: "), std::string::npos) << none.output;
}

// Metrics that only some points have (a library switched on by one of them) are columns, empty
// where a run does not report them.
TEST(Sweep, MetricsOfEveryPointAreColumns) {
  const auto dir = scratch("sweep-union");
  fs::create_directories(dir);
  const auto file = dir / "sweep.json";
  std::ofstream(file) << "{\"scenario\": \"" << (examples() / "library_learning.json").string()
                      << R"(", "until": "3d", "seeds": 1, "metrics": ["library_hit_rate", "cost"],
                            "points": [{"library.enabled": false}, {"library.enabled": true}]})";
  const auto out = dir / "out";
  const auto r = colony("sweep " + file.string() + " --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto rows = csv(out / "results.csv");
  ASSERT_EQ(rows.size(), 3u);
  const auto hit = column(rows[0], "library_hit_rate");
  EXPECT_EQ(rows[1][hit], "");  // no library, no hit rate
  EXPECT_GT(std::stod(rows[2][hit]), 0.0);
  const auto aggregate = csv(out / "aggregate.csv");
  EXPECT_EQ(aggregate[1][column(aggregate[0], "library_hit_rate_mean")], "");
}

TEST(Sweep, AFailedRunIsReportedWithItsLogAndLeftOutOfTheResults) {
  const auto dir = scratch("sweep-fail");
  const auto file = sweep_file(dir, R"("seeds": 3)");
  const auto out = dir / "out";
  ASSERT_EQ(colony("sweep " + file.string() + " --out " + out.string()).exit_code, 0);
  // A run whose directory cannot be made: a file stands in its place.
  fs::remove_all(out / "runs/p00-s2");
  std::ofstream(out / "runs/p00-s2") << "in the way";
  const auto r = colony("sweep " + file.string() + " --out " + out.string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("run p00-s2 failed (exit 2)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("logs/p00-s2.log"), std::string::npos) << r.output;
  const auto rows = csv(out / "results.csv");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1][0], "p00-s1");
  EXPECT_EQ(rows[2][0], "p00-s3");
  EXPECT_EQ(csv(out / "aggregate.csv")[1][1], "2");  // runs: the two that finished
}

TEST(Rerun, ReproducesARunFromItsManifestAndSaysSo) {
  const auto dir = scratch("rerun");
  const auto run = dir / "a";
  ASSERT_EQ(
      colony("run " + (examples() / "emergent_specialization.json").string() +
             " --quiet --until 12h --seed 9 --set policies.spawn.min_seen=4 --out " + run.string())
          .exit_code,
      0);
  // On another thread count: the outputs must not change.
  const auto r = colony("rerun " + run.string() + " --threads 2");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("rerunning " + run.string() + ": seed 9, 2 threads, until 12h"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("events.jsonl    identical"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("outputs identical"), std::string::npos) << r.output;
  const auto again = dir / "a-rerun";
  EXPECT_EQ(read_file(again / "events.jsonl"), read_file(run / "events.jsonl"));
  const auto manifest = read_json(again / "manifest.json");
  EXPECT_EQ(manifest.at("rerun_of").as_string(), fs::absolute(run).string());
  EXPECT_EQ(manifest.at("scenario_hash"), read_json(run / "manifest.json").at("scenario_hash"));

  // An output that differs is found and named: exit 3.
  {
    auto lines = lines_of(run / "events.jsonl");
    lines[5] += " ";
    std::ofstream f(run / "events.jsonl");
    for (const auto& l : lines) f << l << '\n';
  }
  const auto differs = colony("rerun " + run.string() + " --out " + (dir / "b").string());
  EXPECT_EQ(differs.exit_code, 3) << differs.output;
  EXPECT_NE(differs.output.find("events.jsonl    differs: first at line 6"), std::string::npos)
      << differs.output;
  EXPECT_NE(differs.output.find("metrics.csv     identical"), std::string::npos) << differs.output;

  // A scenario copy edited since the run cannot reproduce it.
  std::ofstream(run / "scenario.json", std::ios::app) << " ";
  const auto edited = colony("rerun " + run.string() + " --out " + (dir / "c").string());
  EXPECT_EQ(edited.exit_code, 2);
  EXPECT_NE(edited.output.find("changed since the run"), std::string::npos) << edited.output;
  EXPECT_FALSE(fs::exists(dir / "c"));
  // A run cannot be rerun into its own directory: it would be overwritten and then "match".
  std::ofstream(run / "scenario.json", std::ios::trunc) << read_file(again / "scenario.json");
  const auto itself = colony("rerun " + run.string() + " --force --out " + run.string());
  EXPECT_EQ(itself.exit_code, 2);
  EXPECT_NE(itself.output.find("is the run itself"), std::string::npos) << itself.output;
  // A manifest that colony run did not write that way is refused, field by field.
  const auto manifest_text = read_file(again / "manifest.json");
  for (const auto& [from, to, field] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"\"seed\": 9", "\"seed\": -3", "seed"},
           {"\"threads\": 2", "\"threads\": -1", "threads"},
           {"\"until_seconds\": 43200", "\"until_seconds\": 1e300", "until_seconds"},
           {"\"finished\"", "\"ended\"", "finished"}}) {
    auto text = manifest_text;
    const auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    std::ofstream(again / "manifest.json", std::ios::trunc) << text;
    const auto bad = colony("rerun " + again.string() + " --out " + (dir / "d").string());
    EXPECT_EQ(bad.exit_code, 2) << to << "\n" << bad.output;
    EXPECT_NE(bad.output.find("\"" + field + "\""), std::string::npos) << bad.output;
    EXPECT_FALSE(fs::exists(dir / "d"));
  }
  const auto none = colony("rerun " + (dir / "nowhere").string());
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.output.find("manifest.json: cannot read"), std::string::npos) << none.output;
}

// A run that started from a saved library is reproduced only from that same library.
TEST(Rerun, NeedsTheLibraryTheRunStartedFrom) {
  const auto dir = scratch("rerun-library");
  const auto scenario = (examples() / "library_learning.json").string();
  const auto first = dir / "first", second = dir / "second";
  ASSERT_EQ(colony("run " + scenario + " --quiet --until 5d --out " + first.string()).exit_code, 0);
  ASSERT_EQ(colony("run " + scenario + " --quiet --until 5d --seed 2 --library " + first.string() +
                   " --out " + second.string())
                .exit_code,
            0);
  EXPECT_TRUE(read_json(second / "manifest.json").contains("library_hash"));
  const auto same = colony("rerun " + second.string());
  EXPECT_EQ(same.exit_code, 0) << same.output;
  EXPECT_NE(same.output.find("library.sqlite  identical"), std::string::npos) << same.output;
  // The first run is made again with another seed: its library is another one.
  ASSERT_EQ(
      colony("run " + scenario + " --quiet --until 5d --seed 9 --force --out " + first.string())
          .exit_code,
      0);
  const auto changed = colony("rerun " + second.string() + " --out " + (dir / "x").string());
  EXPECT_EQ(changed.exit_code, 2) << changed.output;
  EXPECT_NE(changed.output.find("has changed since"), std::string::npos) << changed.output;
}

}  // namespace
}  // namespace colony::testing
