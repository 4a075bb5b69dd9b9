// `colony report` pages in a real browser: each is opened in headless Chromium, which must exit
// cleanly within its time limit and print no console message (no script error), and whose DOM,
// after the page's own script ran, must hold every expected chart with drawn marks (the page
// counts the charts whose marks have a size: body data-charts). A screenshot of each page and
// the page itself are kept in this test's output directory.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli_test_support.hpp"

namespace colony::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path chromium = "/usr/bin/chromium";

struct browser_run {
  int exit_code = -1;  // 124: killed by `timeout`
  std::string out, err;
};

// Runs headless Chromium on `page` with `flags`, in its own profile under `work`.
browser_run open_in_chromium(const fs::path& page, const std::string& flags, const fs::path& work,
                             const std::string& tag) {
  const auto profile = work / ("profile-" + tag);
  const auto out = work / (tag + ".out"), err = work / (tag + ".err");
  const std::string command = "timeout 120 " + chromium.string() +
                              " --headless --no-sandbox --disable-gpu --hide-scrollbars"
                              " --enable-logging=stderr --v=0 --user-data-dir='" +
                              profile.string() + "' " + flags + " 'file://" + page.string() +
                              "' >'" + out.string() + "' 2>'" + err.string() + "'";
  const int status = std::system(command.c_str());
  browser_run r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

// The lines Chromium logged from the page's console (console.log/error, uncaught exceptions).
std::vector<std::string> console_lines(const std::string& log) {
  std::vector<std::string> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find(":CONSOLE") != std::string::npos) out.push_back(line);
  }
  return out;
}

// The value of attribute `name` of <body> in `dom`, or "(missing)".
std::string body_attribute(const std::string& dom, const std::string& name) {
  const auto body = dom.find("<body");
  const auto end = dom.find('>', body);
  if (body == std::string::npos || end == std::string::npos) return "(missing)";
  const auto tag = dom.substr(body, end - body);
  const auto at = tag.find(" " + name + "=\"");
  if (at == std::string::npos) return "(missing)";
  const auto from = at + name.size() + 3;
  return tag.substr(from, tag.find('"', from) - from);
}

fs::path output_dir() {
  const fs::path dir = BROWSER_OUTPUT_DIR;
  fs::create_directories(dir);
  return dir;
}

// Writes the report of `dir`, opens it in Chromium twice (the DOM, then a screenshot) and checks
// both; keeps the page and the screenshot as output/<name>.html and .png.
void check_in_browser(const fs::path& dir, const std::string& name,
                      const std::vector<std::string>& ids, std::size_t charts) {
  ASSERT_TRUE(fs::exists(chromium))
      << chromium << " is missing: run scripts/install-deps, which installs Debian's chromium";
  const auto page = output_dir() / (name + ".html");
  const auto written = colony("report " + dir.string() + " -o " + page.string());
  ASSERT_EQ(written.exit_code, 0) << written.output;

  const auto work = scratch("browser-" + name);
  fs::create_directories(work);
  const auto dom = open_in_chromium(page, "--dump-dom", work, "dom");
  EXPECT_EQ(dom.exit_code, 0) << "chromium failed or timed out (124) on " << page << ":\n"
                              << dom.err;
  for (const auto& line : console_lines(dom.err)) ADD_FAILURE() << "console: " << line;
  ASSERT_NE(dom.out.find("</html>"), std::string::npos) << "no DOM from chromium:\n" << dom.err;
  for (const auto& id : ids) {
    const auto at = dom.out.find("id=\"" + id + "\"");
    ASSERT_NE(at, std::string::npos) << "no element " << id << " in the DOM";
    const auto tag = dom.out.rfind('<', at);
    EXPECT_EQ(dom.out.substr(tag, 4), "<svg") << id << " is not an <svg>";
    const auto end = dom.out.find("</svg>", at);
    const auto chart = dom.out.substr(tag, end == std::string::npos ? 0 : end - tag);
    EXPECT_NE(chart.find("class=\"data"), std::string::npos) << id << " draws nothing";
  }
  // The page's self-check: how many charts have drawn marks with a size, once rendered.
  EXPECT_EQ(body_attribute(dom.out, "data-charts-total"), std::to_string(charts));
  EXPECT_EQ(body_attribute(dom.out, "data-charts"), std::to_string(charts))
      << "charts with nothing drawn: " << body_attribute(dom.out, "data-charts-empty");
  EXPECT_EQ(body_attribute(dom.out, "data-charts-empty"), "");

  const auto png = output_dir() / (name + ".png");
  fs::remove(png);
  const auto shot = open_in_chromium(
      page, "--screenshot='" + png.string() + "' --window-size=1400,4000", work, "screenshot");
  EXPECT_EQ(shot.exit_code, 0) << "chromium failed or timed out (124) taking " << png << ":\n"
                               << shot.err;
  for (const auto& line : console_lines(shot.err)) ADD_FAILURE() << "console: " << line;
  const auto image = read_file(png);
  ASSERT_GT(image.size(), 10000u) << "no screenshot at " << png;
  EXPECT_EQ(image.substr(1, 3), "PNG");
  std::cout << "screenshot: " << png.string() << "\npage: " << page.string() << "\n";
  fs::remove_all(work);
}

fs::path run_of(const std::string& tag, const std::string& scenario, const std::string& args) {
  const auto dir = scratch("browser-run-" + tag);
  const auto c = colony("run " + (examples() / scenario).string() + " --quiet --out " +
                        dir.string() + " " + args);
  EXPECT_EQ(c.exit_code, 0) << c.output;
  return dir;
}

const std::vector<std::string> run_charts{
    "chart-tasks-svg",  "chart-success-svg", "chart-latency-svg", "chart-cost-svg",
    "chart-agents-svg", "timeline-svg",      "topology-svg",      "chart-backends-svg"};

TEST(Browser, RunReportDrawsEveryChart) {
  const auto run = run_of("emergent", "emergent_specialization.json", "");
  check_in_browser(run, "run-report", run_charts, run_charts.size());
  fs::remove_all(run);
}

TEST(Browser, LibraryRunReportDrawsTheLibraryChart) {
  const auto run = run_of("library", "library_learning.json", "--until 90d");
  auto ids = run_charts;
  ids.push_back("chart-library-svg");
  check_in_browser(run, "library-report", ids, ids.size());
  fs::remove_all(run);
}

// The bundled sweep (4 points x 10 seeds), as `make demo-sweep` runs it but over 6 simulated
// hours a run: one chart per metric it names, against its one parameter.
TEST(Browser, SweepReportDrawsEveryChart) {
  const auto sweep = scratch("browser-sweep");
  const auto file = examples() / "self_consistency_sweep.json";
  const auto c =
      colony("sweep " + file.string() + " --quiet --set run.duration=6h --out " + sweep.string());
  ASSERT_EQ(c.exit_code, 0) << c.output;
  std::vector<std::string> ids;
  const auto spec = read_json(file);
  for (const auto& m : spec.at("metrics").as_array()) {
    ids.push_back("sweep-" + std::string(m.as_string()) + "-0");
  }
  ASSERT_EQ(ids.size(), 8u);
  check_in_browser(sweep, "sweep-report", ids, ids.size());
  fs::remove_all(sweep);
}

}  // namespace
}  // namespace colony::testing
