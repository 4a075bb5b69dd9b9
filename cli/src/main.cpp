// colony: run and validate scenarios, look into runs, sweep, rerun, compare and report.
//
// Exit codes: 0 success, 2 bad input (scenario, flag, output directory), 1 failure during a run
// (or a run of a sweep failed), 3 a rerun whose outputs differ.
#include <sys/resource.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <tuple>
#include <vector>

#include "colony/agents/builtin.hpp"
#include "colony/base/log.hpp"
#include "colony/cli/scenario_run.hpp"
#include "colony/scenarios/loader.hpp"
#include "compare.hpp"
#include "events_view.hpp"
#include "library_view.hpp"
#include "report.hpp"
#include "run_outputs.hpp"
#include "sweep.hpp"
#include "topology_view.hpp"

namespace fs = std::filesystem;

namespace colony::cli {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_run_failed = 1;
constexpr int exit_bad_input = 2;
constexpr int exit_outputs_differ = 3;  // colony rerun: the outputs are not the same

std::string utc_now(const char* format) {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

// Loads the scenario, printing every problem; nullopt when there were any.
std::optional<scenarios::scenario> load(const std::string& path,
                                        const std::vector<std::string>& sets) {
  auto loaded = scenarios::load_scenario(path, sets);
  for (const auto& d : loaded.problems) std::cerr << d.format() << '\n';
  if (!loaded) {
    std::cerr << loaded.problems.size() << (loaded.problems.size() == 1 ? " error" : " errors")
              << " in " << path << '\n';
    return std::nullopt;
  }
  return std::move(loaded.value);
}

// A progress bar on a terminal: simulated time reached, tasks, rate, ETA.
class progress_bar {
 public:
  explicit progress_bar(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO) != 0) {}
  void update(sim_time reached, sim_time until, std::uint64_t tasks) {
    if (!enabled_) return;
    const double frac = until > 0 ? static_cast<double>(reached) / static_cast<double>(until) : 1;
    const double wall = seconds();
    const double eta = frac > 0 ? wall / frac - wall : 0;
    constexpr int width = 30;
    const int filled = static_cast<int>(frac * width);
    std::fprintf(stderr, "\r[%s%s] %3.0f%%  t=%s  %llu tasks done  %.0f tasks/s  ETA %.0fs   ",
                 std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), '.').c_str(), frac * 100,
                 format_duration(reached).c_str(), static_cast<unsigned long long>(tasks),
                 wall > 0 ? static_cast<double>(tasks) / wall : 0.0, eta);
  }
  void done() {
    if (enabled_) std::fprintf(stderr, "\n");
  }
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  bool enabled_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

struct run_flags {
  std::string scenario;
  std::optional<std::uint64_t> seed;
  std::string out;
  unsigned threads = 1;
  std::string until;
  std::vector<std::string> sets;
  bool quiet = false;
  bool force = false;
  std::string library;   // a saved library to start from ("" : an empty one)
  std::string rerun_of;  // the run this one repeats ("" : none)
};

int run_command(const run_flags& f, const std::vector<std::string>& argv) {
  auto s = load(f.scenario, f.sets);
  if (!s) return exit_bad_input;
  sim_time until = 0;
  if (!f.until.empty()) {
    auto parsed = parse_duration(f.until);
    if (!parsed || f.until.find_first_not_of("0123456789.") == std::string::npos) {
      std::cerr << "--until " << f.until
                << ": error: not a duration (use a unit: \"12h\", \"30d\")\n";
      return exit_bad_input;
    }
    until = *parsed;
  }
  if (f.threads == 0) {
    std::cerr << "--threads: error: must be at least 1\n";
    return exit_bad_input;
  }
  const fs::path out = f.out.empty() ? fs::path("runs") / (s->name + "-" + utc_now("%Y%m%d-%H%M%S"))
                                     : fs::path(f.out);
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_empty(out, ec) && !f.force) {
    std::cerr << out.string()
              << ": error: the output directory is not empty (choose another --out, or --force "
                 "to write into it)\n";
    return exit_bad_input;
  }
  if (!f.library.empty()) {
    // Checked before anything is written: the run would overwrite the library it starts from.
    auto source = memory::solution_library::locate(f.library);
    if (!source) {
      std::cerr << source.error().message << '\n';
      return exit_bad_input;
    }
    if (fs::exists(out, ec) && fs::equivalent(*source, out, ec)) {
      std::cerr << f.library << ": error: the library to start from is in the output directory, "
                << "which the run would overwrite: choose another --out\n";
      return exit_bad_input;
    }
  }
  if (f.force) {
    // Overwriting a run: its stores go too (a new run would otherwise continue them, their rows
    // dated in its future).
    fs::remove_all(out / "locales", ec);
  }
  fs::create_directories(out, ec);
  if (ec) {
    std::cerr << out.string() << ": error: cannot create the output directory: " << ec.message()
              << '\n';
    return exit_bad_input;
  }

  const std::uint64_t seed = f.seed.value_or(s->run.seed);
  auto events = engine::event_log::open(out / "events.jsonl");
  if (!events) {
    std::cerr << events.error().message << '\n';
    return exit_run_failed;
  }
  std::string command;
  for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
  const std::string scenario_text = pretty(s->as_run);
  boost::json::object manifest{
      {"colony_version", COLONY_VERSION},
      {"event_schema_version", event_schema_version},
      {"scenario", fs::absolute(f.scenario).string()},
      {"scenario_name", s->name},
      {"scenario_hash", text_hash(scenario_text)},
      {"seed", seed},
      {"threads", f.threads},
      {"until_seconds", static_cast<double>(until > 0 ? until : s->run.duration) / sec},
      {"overrides", boost::json::value_from(f.sets)},
      {"library_from", f.library.empty() ? "" : fs::absolute(f.library).string()},
      {"command", command},
      {"started", utc_now("%Y-%m-%dT%H:%M:%SZ")}};
  if (!f.rerun_of.empty()) manifest["rerun_of"] = fs::absolute(f.rerun_of).string();
  if (!f.library.empty()) {
    auto h = library_hash(f.library);
    if (!h) {
      std::cerr << h.error().message << '\n';
      return exit_bad_input;
    }
    manifest["library_hash"] = *h;
  }
  // The scenario as run, and the manifest, go out before the run: a killed run keeps them.
  if (auto w = write_file(out / "scenario.json", scenario_text); !w) {
    std::cerr << w.error().message << '\n';
    return exit_run_failed;
  }
  if (auto w = write_file(out / "manifest.json", pretty(manifest)); !w) {
    std::cerr << w.error().message << '\n';
    return exit_run_failed;
  }

  std::ofstream snapshots(out / "topology.jsonl");
  auto run = scenario_run::build(*s, {.seed = seed,
                                      .threads = f.threads,
                                      .until = until,
                                      .events = &*events,
                                      .snapshots = &snapshots,
                                      .library_dir = out,
                                      .library_from = f.library,
                                      .store_dir = out});
  if (!run) {
    std::cerr << run.error().message << '\n';
    return exit_bad_input;
  }
  std::ofstream metrics(out / "metrics.csv");
  metrics << metrics_header(*s) << '\n';
  progress_bar bar(!f.quiet);
  std::uint64_t tasks = 0;
  auto totals = (*run)->run([&](const bucket_row& row) {
    metrics << metrics_line(row) << '\n';
    tasks += row.tasks.completed + row.tasks.failed + row.tasks.escalated;
    bar.update(row.end, (*run)->until(), tasks);
  });
  bar.done();
  metrics.close();
  const double wall = bar.seconds();
  if (!totals) {
    std::cerr << "run failed: " << totals.error().message << " (outputs so far are in "
              << out.string() << ")\n";
    return exit_run_failed;
  }
  manifest["finished"] = utc_now("%Y-%m-%dT%H:%M:%SZ");
  auto sum = summary(*s, *totals, wall);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  sum["peak_rss_bytes"] = static_cast<std::int64_t>(usage.ru_maxrss) * 1024;  // Linux: KiB
  for (const auto& [file, text] :
       {std::pair{"summary.json", pretty(sum)}, std::pair{"manifest.json", pretty(manifest)},
        std::pair{"topology.json", pretty(topology_json(*s, (*run)->nodes()))},
        std::pair{"topology.dot", topology_dot(*s, (*run)->nodes())}}) {
    if (auto w = write_file(out / file, text); !w) {
      std::cerr << w.error().message << '\n';
      return exit_run_failed;
    }
  }
  if (auto saved = (*run)->save_library(); !saved) {
    std::cerr << "run failed: could not save the solution library: " << saved.error().message
              << " (the other outputs are in " << out.string() << ")\n";
    return exit_run_failed;
  }
  // The library's live database is only needed while the run goes: it is closed with the run,
  // and the saved library.sqlite holds the same entries.
  run->reset();
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code gone;
    fs::remove(out / (std::string(memory::solution_library::working_file) + suffix), gone);
  }
  if (!f.quiet) {
    const auto& t = totals->tasks;
    std::printf(
        "%s: %llu tasks arrived, %llu completed (%llu correct), %llu failed, "
        "%llu escalated, %llu in flight; cost %.4f; wall %.2fs\n",
        out.string().c_str(), static_cast<unsigned long long>(t.arrived),
        static_cast<unsigned long long>(t.completed), static_cast<unsigned long long>(t.succeeded),
        static_cast<unsigned long long>(t.failed), static_cast<unsigned long long>(t.escalated),
        static_cast<unsigned long long>(totals->in_flight), t.cost, wall);
  }
  return exit_ok;
}

// Parses a --flag's duration, printing the problem; nullopt when it is not one.
std::optional<sim_time> flag_duration(const char* flag, const std::string& text) {
  const auto parsed = parse_duration(text);
  if (!parsed || text.find_first_not_of("0123456789.") == std::string::npos) {
    std::cerr << flag << " " << text << ": error: not a duration (use a unit: \"2h\", \"30d\")\n";
    return std::nullopt;
  }
  return parsed;
}

struct events_flags {
  std::string run;
  std::vector<std::string> types, agents;
  std::string since, until;
};

int events_command(const events_flags& f) {
  event_filter filter{.types = f.types, .agents = f.agents};
  for (const auto& [flag, text, into] : {std::tuple{"--since", &f.since, &filter.since},
                                         std::tuple{"--until", &f.until, &filter.until}}) {
    if (text->empty()) continue;
    const auto parsed = flag_duration(flag, *text);
    if (!parsed) return exit_bad_input;
    *into = *parsed;
  }
  auto printed = print_events(f.run, filter, std::cout);
  if (!printed) {
    std::cerr << printed.error().message << '\n';
    return exit_bad_input;
  }
  return exit_ok;
}

// A failure of a view of a run: bad input when a file of the run is missing or malformed, a
// failed run command when an output cannot be written.
int report(const error& e) {
  std::cerr << e.message << '\n';
  return e.code == errc::io_error ? exit_run_failed : exit_bad_input;
}

struct inspect_flags {
  std::string run;
  std::string at;
  bool json = false;
  bool dot = false;
};

int inspect_command(const inspect_flags& f) {
  auto snapshots = read_snapshots(f.run);
  if (!snapshots) return report(snapshots.error());
  auto events = read_structural_events(f.run);
  if (!events) return report(events.error());
  sim_time at = snapshots->back().t;
  if (!f.at.empty()) {
    const auto parsed = flag_duration("--at", f.at);
    if (!parsed) return exit_bad_input;
    at = *parsed;
  }
  const snapshot& base = snapshot_before(*snapshots, at);
  const snapshot view = replay(base, *events, at);
  if (f.json) {
    std::cout << snapshot_json(view) << '\n';
  } else if (f.dot) {
    std::cout << snapshot_dot(view);
  } else {
    print_topology(view, base.t, std::cout);
  }
  return exit_ok;
}

struct export_flags {
  std::string run;
  std::string gexf;
  std::string dot;
};

int export_command(const export_flags& f) {
  if (f.gexf.empty() && f.dot.empty()) {
    std::cerr << "export: error: nothing to export (give --gexf FILE, --dot DIR or both)\n";
    return exit_bad_input;
  }
  if (!f.gexf.empty()) {
    auto snapshots = read_snapshots(f.run);
    if (!snapshots) return report(snapshots.error());
    auto events = read_structural_events(f.run);
    if (!events) return report(events.error());
    if (auto w = write_file(f.gexf, evolution_gexf(*snapshots, *events)); !w) {
      return report(w.error());
    }
  }
  if (!f.dot.empty()) {
    if (auto written = write_dot_snapshots(f.run, f.dot); !written) return report(written.error());
  }
  return exit_ok;
}

int validate_command(const std::string& path, const std::vector<std::string>& sets) {
  auto s = load(path, sets);
  if (!s) return exit_bad_input;
  std::printf("%s: ok (%zu backends, %zu agents, %zu task families)\n", path.c_str(),
              s->backends.size(), s->agents.size(), s->work.families.size());
  return exit_ok;
}

struct library_flags {
  std::string path;
  std::vector<std::string> query;  // the words of a search, joined by spaces
  std::uint64_t id = 0;
  std::size_t k = 5;
  std::size_t n = 10;
  std::string by = "uses";
  bool all = false;
  bool json = false;
};

enum class library_action { info, search, lineage, top };

// Every failure is bad input: a path that holds no library, a damaged one, an unknown id, a
// count of 0. The library is only read.
int library_command(const library_flags& f, library_action action) {
  const auto refuse = [](const error& e) {
    std::cerr << e.message << '\n';
    return exit_bad_input;
  };
  auto l = open_library(f.path);
  if (!l) return refuse(l.error());
  const auto& lib = l->library;
  switch (action) {
    case library_action::info:
      if (f.json) {
        std::cout << pretty(library_info_json(*l));
      } else {
        print_library_info(*l, std::cout);
      }
      break;
    case library_action::search: {
      std::string text;
      for (const auto& w : f.query) text += (text.empty() ? "" : " ") + w;
      auto hits = search_library(lib, text, f.k, f.all);
      if (!hits) return refuse(hits.error());
      if (f.json) {
        std::cout << pretty(hits_json(text, *hits));
      } else {
        print_hits(text, *hits, std::cout);
      }
      break;
    }
    case library_action::lineage: {
      auto family = library_lineage(lib, memory::solution_id{f.id});
      if (!family) return refuse(family.error());
      if (f.json) {
        std::cout << pretty(family_json(*family));
      } else {
        print_family(*family, std::cout);
      }
      break;
    }
    case library_action::top: {
      const auto by = f.by == "quality" ? memory::solution_rank::quality
                      : f.by == "stars" ? memory::solution_rank::stars
                                        : memory::solution_rank::uses;
      auto entries = library_top(lib, by, f.n, f.all);
      if (!entries) return refuse(entries.error());
      if (f.json) {
        std::cout << pretty(top_json(by, *entries));
      } else {
        print_top(by, *entries, std::cout);
      }
      break;
    }
  }
  return exit_ok;
}

struct rerun_flags {
  std::string run;
  std::string out;
  std::optional<unsigned> threads;
  bool force = false;
};

// Reads a run's manifest.json for a rerun: the settings it records.
result<run_flags> rerun_settings(const rerun_flags& f) {
  const fs::path run(f.run);
  const auto manifest_file = run / "manifest.json";
  std::error_code ec;
  if (!fs::is_regular_file(manifest_file, ec)) {
    return fail(errc::bad_input,
                manifest_file.string() + ": cannot read (is " + f.run + " a run directory?)");
  }
  const auto parsed = read_json_object(manifest_file);
  if (!parsed) return parsed.error();
  const auto& m = *parsed;
  const auto field = [&](std::string_view key, auto check) -> const boost::json::value* {
    const auto* v = m.if_contains(key);
    return v != nullptr && check(*v) ? v : nullptr;
  };
  // Each field as colony run writes it: a seed of 0 or more, 1 to 256 threads, a simulated time
  // of up to about a thousand years.
  const auto* seed = field("seed", [](const boost::json::value& v) {
    return v.is_uint64() || (v.is_int64() && v.get_int64() >= 0);
  });
  const auto* threads = field("threads", [](const boost::json::value& v) {
    return (v.is_uint64() || v.is_int64()) && v.to_number<double>() >= 1 &&
           v.to_number<double>() <= 256;
  });
  const auto* until = field("until_seconds", [](const boost::json::value& v) {
    return v.is_number() && v.to_number<double>() > 0 && v.to_number<double>() < 3.2e10;
  });
  const auto* hash = field("scenario_hash", [](const auto& v) { return v.is_string(); });
  const auto* finished = field("finished", [](const auto& v) { return v.is_string(); });
  for (const auto& [key, v] :
       {std::pair{"seed", seed}, std::pair{"threads", threads}, std::pair{"until_seconds", until},
        std::pair{"scenario_hash", hash}}) {
    if (v == nullptr) {
      return fail(errc::bad_input, manifest_file.string() + ": no valid \"" + key +
                                       "\" (a manifest written by colony run has one)");
    }
  }
  if (finished == nullptr) {
    return fail(errc::bad_input, manifest_file.string() +
                                     ": the run did not finish (no \"finished\"), so there is "
                                     "nothing to compare a rerun with: run the scenario again");
  }
  // The scenario copy must be the one the run used.
  const auto scenario_file = run / "scenario.json";
  const auto scenario_text = read_file(scenario_file);
  if (!scenario_text) return fail(errc::bad_input, scenario_file.string() + ": cannot read");
  if (text_hash(*scenario_text) != hash->as_string()) {
    return fail(errc::bad_input, scenario_file.string() +
                                     ": changed since the run (its hash is not the manifest's "
                                     "scenario_hash): restore it, or run it as a new scenario");
  }
  run_flags r;
  r.scenario = scenario_file.string();
  r.seed = boost::json::value_to<std::uint64_t>(*seed);
  r.threads = f.threads.value_or(static_cast<unsigned>(threads->to_number<double>()));
  // Microseconds, exactly as the run had them.
  r.until = std::to_string(static_cast<std::int64_t>(
                std::llround(until->to_number<double>() * static_cast<double>(colony::sec)))) +
            "us";
  if (const auto* from = m.if_contains("library_from"); from != nullptr && from->is_string()) {
    r.library = std::string(from->as_string());
  }
  if (!r.library.empty()) {
    // The library it started from must be the one it started from.
    const auto* recorded = m.if_contains("library_hash");
    auto now = library_hash(r.library);
    if (!now) return now.error();
    if (recorded != nullptr && recorded->is_string() && recorded->as_string() != *now) {
      return fail(errc::bad_input,
                  r.library +
                      ": the library the run started from has changed since (its hash "
                      "is not the manifest's library_hash): the run cannot be reproduced "
                      "from it");
    }
  }
  r.out = f.out.empty() ? (run.lexically_normal().parent_path() /
                           (run.lexically_normal().filename().string() + "-rerun"))
                              .string()
                        : f.out;
  if (fs::exists(r.out, ec) && fs::equivalent(r.out, run, ec)) {
    return fail(errc::bad_input, r.out +
                                     ": is the run itself, which the rerun would overwrite: "
                                     "choose another --out");
  }
  r.force = f.force;
  r.quiet = true;
  r.rerun_of = f.run;
  return r;
}

int rerun_command(const rerun_flags& f, const std::vector<std::string>& argv) {
  auto settings = rerun_settings(f);
  if (!settings) return report(settings.error());
  std::printf("rerunning %s: seed %llu, %u thread%s, until %s%s\n", f.run.c_str(),
              static_cast<unsigned long long>(settings->seed.value_or(0)), settings->threads,
              settings->threads == 1 ? "" : "s",
              format_duration(*parse_duration(settings->until)).c_str(),
              settings->library.empty() ? "" : (", library from " + settings->library).c_str());
  std::fflush(stdout);
  if (const int rc = run_command(*settings, argv); rc != exit_ok) return rc;
  const auto same = compare_outputs(f.run, settings->out, std::cout);
  if (!same) return report(same.error());
  return *same ? exit_ok : exit_outputs_differ;
}

struct sweep_flags {
  std::string file;
  std::string out;
  unsigned jobs = 0;
  std::vector<std::string> sets;
  bool quiet = false;
};

int sweep_command(const sweep_flags& f) {
  auto plan = load_sweep(f.file, f.sets);
  if (!plan) return report(plan.error());
  // The runs are this same program, so a sweep never mixes versions.
  std::error_code ec;
  const auto self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) {
    std::cerr << "sweep: error: cannot find the colony binary: " << ec.message() << '\n';
    return exit_run_failed;
  }
  auto failed =
      run_sweep(*plan, {.out = f.out, .jobs = f.jobs, .colony = self, .progress = !f.quiet});
  if (!failed) {
    // Interrupted (run_failed) is not bad input: what finished is kept.
    if (failed.error().code != errc::run_failed) return report(failed.error());
    std::cerr << failed.error().message << '\n';
    return exit_run_failed;
  }
  return *failed == 0 ? exit_ok : exit_run_failed;
}

struct compare_flags {
  std::string a, b;
  compare_options options;
};

int compare_command(const compare_flags& f) {
  if (auto compared = compare_runs(f.a, f.b, f.options, std::cout); !compared) {
    return report(compared.error());
  }
  return exit_ok;
}

struct report_flags {
  std::string dir;
  std::string out;
};

int report_command(const report_flags& f) {
  auto written = write_report(f.dir, f.out);
  if (!written) return report(written.error());
  std::printf("%s\n", written->string().c_str());
  return exit_ok;
}

}  // namespace
}  // namespace colony::cli

int main(int argc, char** argv) {
  using namespace colony::cli;
  CLI::App app{"colony: simulate self-organizing networks of LLM-backed agents"};
  app.require_subcommand(1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

  run_flags rf;
  auto* run = app.add_subcommand("run", "run a scenario and write its run directory");
  run->add_option("scenario", rf.scenario, "scenario file")->required()->check(CLI::ExistingFile);
  run->add_option("--seed", rf.seed, "random seed (default: the scenario's run.seed)");
  run->add_option("--out", rf.out, "output directory (default: runs/<scenario>-<time>)");
  run->add_option("--threads", rf.threads, "worker threads; outputs do not depend on it")
      ->check(CLI::Range(1u, 256u));
  run->add_option("--until", rf.until, "stop at this simulated time (\"12h\")");
  run->add_option("--set", rf.sets, "override a scenario field: path=value (repeatable)");
  run->add_flag("--quiet", rf.quiet, "no progress bar or summary line");
  run->add_flag("--force", rf.force, "write into a non-empty output directory");
  run->add_option("--library", rf.library,
                  "start from a saved solution library: an earlier run's directory, or the "
                  "directory (or a file) of library.faiss and library.sqlite; it is copied, "
                  "never modified");

  std::string validate_path;
  std::vector<std::string> validate_sets;
  auto* validate = app.add_subcommand("validate", "check a scenario and report every problem");
  validate->add_option("scenario", validate_path, "scenario file")->required();
  validate->add_option("--set", validate_sets, "override a scenario field: path=value");

  events_flags ef;
  auto* events = app.add_subcommand("events", "print a run's event log, one readable line each");
  events->add_option("run", ef.run, "run directory")->required();
  events->add_option("--type", ef.types, "only events of this type (repeatable)");
  events->add_option("--agent", ef.agents, "only events of this agent, by name or id (repeatable)");
  events->add_option("--since", ef.since, "only events at or after this simulated time (\"2h\")");
  events->add_option("--until", ef.until, "only events before this simulated time");

  inspect_flags inf;
  auto* inspect = app.add_subcommand("inspect", "print a run's network at a simulated time");
  inspect->add_option("run", inf.run, "run directory")->required();
  inspect->add_option("--at", inf.at, "simulated time (\"30d\", \"2h30min\"; default: the end)");
  auto* as_json = inspect->add_flag("--json", inf.json, "print it as one JSON object");
  inspect->add_flag("--dot", inf.dot, "print it as a Graphviz digraph")->excludes(as_json);

  export_flags xf;
  auto* exporter = app.add_subcommand("export", "write a run's evolving network for other tools");
  exporter->add_option("run", xf.run, "run directory")->required();
  exporter->add_option("--gexf", xf.gexf, "dynamic GEXF file for Gephi's timeline");
  exporter->add_option("--dot", xf.dot, "directory for one Graphviz file per snapshot");

  library_flags lf;
  auto* library = app.add_subcommand(
      "library", "look into a saved solution library: search it, trace lineage, rank entries");
  library->add_option("path", lf.path, "run directory, or library.faiss or library.sqlite")
      ->required();
  library->add_flag("--json", lf.json, "print it as one JSON object");
  auto* lib_info = library->add_subcommand("info", "what the library holds (the default)");
  lib_info->add_flag("--json", lf.json, "print it as one JSON object");
  auto* lib_search =
      library->add_subcommand("search", "the entries whose problems are most like TEXT");
  lib_search->add_option("text", lf.query, "the problem to look for")->required();
  lib_search->add_option("-k", lf.k, "how many hits (default 5)");
  lib_search->add_flag("--all", lf.all, "include deprecated entries");
  lib_search->add_flag("--json", lf.json, "print them as one JSON object");
  auto* lib_lineage =
      library->add_subcommand("lineage", "an entry, its ancestors and its descendants");
  lib_lineage->add_option("id", lf.id, "the entry's id")->required();
  lib_lineage->add_flag("--json", lf.json, "print it as one JSON object");
  auto* lib_top = library->add_subcommand("top", "the best entries by uses, quality or stars");
  lib_top->add_option("--by", lf.by, "uses, quality or stars (default uses)")
      ->check(CLI::IsMember({"uses", "quality", "stars"}));
  lib_top->add_option("-n", lf.n, "how many entries (default 10)");
  lib_top->add_flag("--all", lf.all, "include deprecated entries");
  lib_top->add_flag("--json", lf.json, "print them as one JSON object");

  rerun_flags rrf;
  auto* rerun = app.add_subcommand(
      "rerun", "run a run again from its manifest and scenario copy, and check the outputs match");
  rerun->add_option("run", rrf.run, "run directory")->required();
  rerun->add_option("--out", rrf.out, "output directory (default: RUN-rerun)");
  rerun
      ->add_option("--threads", rrf.threads,
                   "worker threads (default: the run's); outputs must not depend on it")
      ->check(CLI::Range(1u, 256u));
  rerun->add_flag("--force", rrf.force, "write into a non-empty output directory");

  sweep_flags sf;
  auto* sweep = app.add_subcommand(
      "sweep", "run a scenario over a grid or list of overrides and seeds, in parallel processes");
  sweep->add_option("sweep_file", sf.file, "sweep file (docs/sweeps.md)")
      ->required()
      ->check(CLI::ExistingFile);
  sweep->add_option("--out", sf.out, "sweep directory (default: sweeps/<name>); resumable");
  sweep->add_option("--jobs", sf.jobs, "runs at a time (default: the number of cores)")
      ->check(CLI::Range(1u, 1024u));
  sweep->add_option("--set", sf.sets,
                    "override a scenario field in every run: path=value (repeatable)");
  sweep->add_flag("--quiet", sf.quiet, "no progress bar or summary line");

  compare_flags cf;
  auto* compare = app.add_subcommand(
      "compare", "what differs between two runs: settings, summary metrics and topology");
  compare->add_option("run_a", cf.a, "run directory")->required();
  compare->add_option("run_b", cf.b, "run directory")->required();
  compare->add_flag("--json", cf.options.json, "print it as one JSON object");
  compare->add_option("--limit", cf.options.limit,
                      "list at most this many differing structural events per run (default 20)");

  report_flags pf;
  auto* reporter = app.add_subcommand(
      "report", "write one self-contained HTML report of a run or a sweep (charts, topology)");
  reporter->add_option("dir", pf.dir, "run directory or sweep directory")->required();
  reporter->add_option("-o,--out", pf.out, "the HTML file (default: DIR/report.html)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  colony::log::set_level(log_level);
  colony::agents::register_builtin_kinds();
  const std::vector<std::string> args(argv, argv + argc);
  if (*run) return run_command(rf, args);
  if (*events) return events_command(ef);
  if (*inspect) return inspect_command(inf);
  if (*exporter) return export_command(xf);
  if (*rerun) return rerun_command(rrf, args);
  if (*sweep) return sweep_command(sf);
  if (*compare) return compare_command(cf);
  if (*reporter) return report_command(pf);
  if (*library) {
    const auto action = *lib_search    ? library_action::search
                        : *lib_lineage ? library_action::lineage
                        : *lib_top     ? library_action::top
                                       : library_action::info;
    return library_command(lf, action);
  }
  return validate_command(validate_path, validate_sets);
}
