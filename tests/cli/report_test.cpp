// `colony report`: the page of a real run has every chart, marks spawns with their reasons,
// fetches nothing and is the same when written twice; a run without a library has no library
// chart; a hand-made sweep gets one chart per metric and parameter with its confidence bands;
// bad directories and files are clear errors.
#include "report.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "cli_test_support.hpp"

namespace colony::testing {
namespace {

namespace fs = std::filesystem;

// `text` as the report must escape it: written out here, not taken from the report, so that the
// test checks the report against its own oracle.
std::string escaped(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The element with `id="<id>"` up to its closing tag `close`; "" when there is none.
std::string element(const std::string& page, const std::string& id, const std::string& close) {
  const auto at = page.find("id=\"" + id + "\"");
  if (at == std::string::npos) return {};
  const auto end = page.find(close, at);
  return page.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

fs::path run_of(const std::string& tag, const std::string& scenario, const std::string& args) {
  const auto dir = scratch("report-" + tag);
  const auto c = colony("run " + (examples() / scenario).string() + " --quiet --out " +
                        dir.string() + " " + args);
  EXPECT_EQ(c.exit_code, 0) << c.output;
  return dir;
}

std::string report_of(const fs::path& dir, const fs::path& out) {
  const auto c = colony("report " + dir.string() + " -o " + out.string());
  EXPECT_EQ(c.exit_code, 0) << c.output;
  EXPECT_EQ(c.output, out.string() + "\n");
  return read_file(out);
}

// A sweep directory written by hand in the format of sweep.hpp: parameters a (numbers) and b
// (strings), two seeds; point p05 has one run, so no confidence interval. sweep.json names a
// metric, "unknown_metric", that aggregate.csv lacks.
fs::path sweep_fixture() {
  const auto dir = scratch("report-sweep");
  fs::create_directories(dir);
  write(dir / "sweep.json", R"({"name":"grid","file":"/tmp/grid.json",
    "scenario":"/tmp/self_consistency.json","parameters":["agents.x.params.a","b"],
    "set":["run.duration=\"6h\""],
    "points":[{"point":"p00","values":{"agents.x.params.a":1,"b":"x"}},
              {"point":"p01","values":{"agents.x.params.a":1,"b":"y"}},
              {"point":"p02","values":{"agents.x.params.a":2,"b":"x"}},
              {"point":"p03","values":{"agents.x.params.a":2,"b":"y"}},
              {"point":"p04","values":{"agents.x.params.a":3,"b":"x"}},
              {"point":"p05","values":{"agents.x.params.a":3,"b":"y"}}],
    "seeds":[1,2],"threads":1,"until":"6h",
    "metrics":["cost","success_rate","unknown_metric","latency_p95_ms"],
    "runs":[{"run":"p00-s1","point":"p00","seed":1,"sets":[]}]})");
  std::string results = "run,point,agents.x.params.a,b,seed,success_rate,cost,latency_p95_ms\n";
  std::string aggregate =
      "point,agents.x.params.a,b,runs,success_rate_mean,success_rate_sd,success_rate_ci95_low,"
      "success_rate_ci95_high,cost_mean,cost_sd,cost_ci95_low,cost_ci95_high,"
      "latency_p95_ms_mean,latency_p95_ms_sd,latency_p95_ms_ci95_low,latency_p95_ms_ci95_high\n";
  const char* b_of[] = {"x", "y"};
  for (int p = 0; p < 6; ++p) {
    const int a = p / 2 + 1;
    const std::string point = "p0" + std::to_string(p), b = b_of[p % 2];
    const double rate = 0.7 + 0.05 * a + (p % 2) * 0.02, cost = a * (1.0 + p % 2);
    const int seeds = p == 5 ? 1 : 2;
    for (int s = 1; s <= seeds; ++s) {
      results += point + "-s" + std::to_string(s) + "," + point + "," + std::to_string(a) + "," +
                 b + "," + std::to_string(s) + "," + std::to_string(rate + 0.01 * s) + "," +
                 std::to_string(cost + 0.1 * s) + "," + std::to_string(1000 + 200 * a + s) + "\n";
    }
    const auto cells = [&](double mean) {
      return seeds == 1 ? std::to_string(mean) + ",nan,nan,nan"
                        : std::to_string(mean) + ",0.007,0.6,0.95";
    };
    aggregate += point + "," + std::to_string(a) + "," + b + "," + std::to_string(seeds) + "," +
                 cells(rate + 0.015) + "," +
                 (seeds == 1 ? std::to_string(cost + 0.1) + ",,,"
                             : std::to_string(cost + 0.15) + ",0.07," + std::to_string(cost) + "," +
                                   std::to_string(cost + 0.3)) +
                 "," + cells(1000 + 200 * a + 1.5) + "\n";
  }
  write(dir / "results.csv", results);
  write(dir / "aggregate.csv", aggregate);
  return dir;
}

class Report : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    emergent_ = new fs::path(run_of("emergent", "emergent_specialization.json", "--until 12h"));
    library_ = new fs::path(run_of("library", "library_learning.json", "--until 20d"));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*emergent_);
    fs::remove_all(*library_);
    delete emergent_;
    delete library_;
  }
  static const fs::path& emergent() { return *emergent_; }
  static const fs::path& library() { return *library_; }

 private:
  static fs::path* emergent_;
  static fs::path* library_;
};

fs::path* Report::emergent_ = nullptr;
fs::path* Report::library_ = nullptr;

TEST_F(Report, RunHasEverySectionWithAChart) {
  const auto page = report_of(emergent(), emergent() / "a.html");
  for (const char* id : {"summary", "chart-tasks", "chart-success", "chart-latency", "chart-cost",
                         "chart-agents", "timeline", "topology", "chart-backends"}) {
    const auto section = element(page, id, "</section>");
    ASSERT_FALSE(section.empty()) << "no section " << id;
    if (std::string_view(id) != "summary") {
      EXPECT_NE(section.find("<svg"), std::string::npos) << id;
      EXPECT_NE(section.find("class=\"data"), std::string::npos) << id << " draws nothing";
    }
  }
  // The header names the scenario, its seed and the version that wrote the run.
  EXPECT_NE(page.find("emergent_specialization"), std::string::npos);
  EXPECT_NE(page.find("seed <b>7</b>"), std::string::npos);
  EXPECT_NE(page.find("colony <b>0.1.0</b>"), std::string::npos);
  // No library in this scenario: no library chart at all.
  EXPECT_EQ(page.find("chart-library"), std::string::npos);
}

TEST_F(Report, MarksSpawnsWithTheirReason) {
  const auto page = report_of(emergent(), emergent() / "b.html");
  const auto spawns = events_of(emergent(), "agent_spawned");
  std::size_t organizer_spawns = 0;
  for (const auto& e : spawns) {
    if (u64(e, "parent") == 0) continue;
    ++organizer_spawns;
    const std::string name(e.at("name").as_string()), reason(e.at("reason").as_string());
    const auto title = page.find("<title>spawned " + name + " at ");
    ASSERT_NE(title, std::string::npos) << name;
    const auto end = page.find("</title>", title);
    EXPECT_NE(page.substr(title, end - title).find(escaped(reason)), std::string::npos) << reason;
  }
  EXPECT_GE(organizer_spawns, 2u);
  EXPECT_NE(page.find("class=\"data mark-spawn\""), std::string::npos);
}

TEST_F(Report, FetchesNothing) {
  const auto page = report_of(emergent(), emergent() / "c.html");
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_EQ(page.find("src="), std::string::npos);
  EXPECT_EQ(page.find("@import"), std::string::npos);
  // Links only within the page.
  const std::regex href("href=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(page.begin(), page.end(), href); it != std::sregex_iterator();
       ++it) {
    EXPECT_EQ((*it)[1].str().front(), '#') << (*it)[0].str();
  }
}

TEST_F(Report, IsTheSameWhenWrittenTwice) {
  const auto first = report_of(emergent(), emergent() / "first.html");
  const auto second = report_of(emergent(), emergent() / "second.html");
  EXPECT_EQ(first, second);
  // Without -o it goes into the run directory.
  const auto c = colony("report " + emergent().string());
  EXPECT_EQ(c.exit_code, 0) << c.output;
  EXPECT_EQ(read_file(emergent() / "report.html"), first);
}

TEST_F(Report, LibraryRunHasTheLibraryChart) {
  const auto page = report_of(library(), library() / "r.html");
  const auto section = element(page, "chart-library", "</section>");
  ASSERT_FALSE(section.empty());
  EXPECT_NE(section.find("<svg"), std::string::npos);
  EXPECT_NE(section.find("hit rate"), std::string::npos);
  EXPECT_NE(page.find("library hit rate"), std::string::npos);  // in the summary table
}

TEST(ReportSweep, HasOneChartPerMetricAndParameterWithBands) {
  const auto dir = sweep_fixture();
  const auto page = report_of(dir, dir / "report.html");
  std::size_t charts = 0;
  for (std::size_t at = 0; (at = page.find("class=\"chart sweep-chart\"", at)) != std::string::npos;
       ++at) {
    ++charts;
  }
  EXPECT_EQ(charts, 3u * 2u);  // success_rate, cost, latency_p95_ms; unknown_metric left out
  EXPECT_EQ(page.find("sweep-unknown_metric"), std::string::npos);
  // The leading metrics first, whatever sweep.json's order.
  EXPECT_LT(page.find("id=\"sweep-success_rate-0\""), page.find("id=\"sweep-cost-0\""));
  for (const char* metric : {"success_rate", "cost", "latency_p95_ms"}) {
    for (int param = 0; param < 2; ++param) {
      const auto id = "sweep-" + std::string(metric) + "-" + std::to_string(param);
      const auto chart = element(page, id, "</svg>");
      ASSERT_FALSE(chart.empty()) << id;
      EXPECT_NE(chart.find("<polygon class=\"data band\""), std::string::npos) << id;
      EXPECT_NE(chart.find("<circle"), std::string::npos) << id;
    }
  }
  // Against a, the line of b=y has no interval at a=3 (one run): its band spans a=1 and a=2.
  const auto chart = element(page, "sweep-success_rate-0", "</svg>");
  const std::regex band("<polygon class=\"data band\" data-series=\"c1\" points=\"([^\"]*)\"");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(chart, m, band));
  const auto points = m[1].str();
  EXPECT_EQ(std::count(points.begin(), points.end(), ','), 4);
  // The parameters and the aggregate table.
  EXPECT_NE(page.find("agents.x.params.a"), std::string::npos);
  EXPECT_NE(element(page, "sweep-aggregate", "</section>").find("p05"), std::string::npos);
  fs::remove_all(dir);
}

TEST_F(Report, BadInputsAreClearErrors) {
  const auto base = scratch("report-bad");
  // Neither a run nor a sweep.
  fs::create_directories(base / "empty");
  auto c = colony("report " + (base / "empty").string());
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("neither a run directory"), std::string::npos) << c.output;
  // No such directory.
  c = colony("report " + (base / "missing").string());
  EXPECT_EQ(c.exit_code, 2) << c.output;
  // A truncated metrics.csv: its last row cut in the middle.
  const auto run = base / "run";
  fs::copy(emergent(), run, fs::copy_options::recursive);
  const auto metrics = read_file(run / "metrics.csv");
  write(run / "metrics.csv", metrics.substr(0, metrics.size() - 40));
  c = colony("report " + run.string());
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("metrics.csv:3:"), std::string::npos) << c.output;
  // A summary.json without its latencies.
  write(run / "metrics.csv", metrics);
  write(run / "summary.json", R"({"arrived": 1})");
  c = colony("report " + run.string());
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("summary.json"), std::string::npos) << c.output;
  // A missing topology.jsonl.
  fs::copy_file(emergent() / "summary.json", run / "summary.json",
                fs::copy_options::overwrite_existing);
  fs::remove(run / "topology.jsonl");
  c = colony("report " + run.string());
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("topology.jsonl"), std::string::npos) << c.output;
  // A corrupt sweep.json, then a sweep without results.csv.
  const auto sweep = sweep_fixture();
  const auto good = read_file(sweep / "sweep.json");
  write(sweep / "sweep.json", good.substr(0, good.size() / 2));
  c = colony("report " + sweep.string());
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("sweep.json:"), std::string::npos) << c.output;
  write(sweep / "sweep.json", good);
  fs::remove(sweep / "results.csv");
  c = colony("report " + sweep.string());
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("results.csv"), std::string::npos) << c.output;
  // An output that cannot be written.
  c = colony("report " + emergent().string() + " -o " + (base / "no/such/dir/r.html").string());
  EXPECT_EQ(c.exit_code, 1) << c.output;
  EXPECT_NE(c.output.find("r.html"), std::string::npos) << c.output;
  fs::remove_all(sweep);
  fs::remove_all(base);
}

TEST(ReportApi, RefusesADirectoryThatIsNeitherRunNorSweep) {
  const auto dir = scratch("report-api");
  fs::create_directories(dir);
  const auto written = cli::write_report(dir, {});
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, errc::bad_input);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace colony::testing
