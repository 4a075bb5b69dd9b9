#include "sweep.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <set>
#include <sstream>
#include <thread>

#include "colony/agents/builtin.hpp"
#include "colony/agents/library.hpp"
#include "colony/agents/stores.hpp"
#include "colony/scenarios/loader.hpp"
#include "colony/scenarios/sweep_file.hpp"
#include "run_outputs.hpp"

extern char** environ;

namespace colony::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// The metrics of every run, in results.csv's order; the library's, the stores' and the
// backends' follow when the scenario has them.
const std::vector<std::string> base_metrics = {
    "arrived",    "completed",      "succeeded",      "failed",           "escalated",
    "in_flight",  "success_rate",   "cost",           "cost_per_success", "tokens_in",
    "tokens_out", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms",   "agents_alive",
    "spawned",    "pruned",         "merged",         "committees"};
const std::vector<std::string> library_metrics = {"library_hit_rate", "library_cost_saved",
                                                  "library_entries", "library_live"};
const std::vector<std::string> store_metrics = {"store_lookups", "store_hits", "external_lookups"};

// The metrics the runs of the scenarios `points` report: the library's when one of them has a
// library, the stores' likewise, and those of every backend any of them has.
std::vector<std::string> metrics_of(const std::vector<scenarios::scenario>& points) {
  auto out = base_metrics;
  bool library = false, stores = false;
  std::vector<std::string> backends;
  for (const auto& s : points) {
    library = library || agents::library_policy::from_json(s.library).enabled;
    stores = stores || agents::store_policy::from_json(s.stores).enabled;
    for (const auto& b : s.backends) {
      if (std::find(backends.begin(), backends.end(), b.name) == backends.end()) {
        backends.push_back(b.name);
      }
    }
  }
  if (library) out.insert(out.end(), library_metrics.begin(), library_metrics.end());
  if (stores) out.insert(out.end(), store_metrics.begin(), store_metrics.end());
  for (const auto& b : backends) out.push_back("calls_" + b);
  for (const auto& b : backends) out.push_back("cost_" + b);
  return out;
}

// The most runs a sweep may hold: beyond it, a sweep file is more likely a mistake (a count of
// seeds where a list was meant) than a plan, and its record alone would fill the memory.
constexpr std::size_t max_runs = 100000;

// The shortest text that reads back the same double ("0.004", not Boost's "4E-3").
std::string shortest(double v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc{} ? end : buf);
}

// A value as JSON text, its number in the shortest form.
std::string json_text(const json::value& v) {
  return v.is_double() ? shortest(v.get_double()) : json::serialize(v);
}

// A --set argument: "PATH=VALUE", the value as JSON text.
std::string set_arg(const scenarios::sweep_value& v) {
  return v.first + "=" + json_text(v.second);
}

// A number as results.csv writes it; NaN (undefined) as an empty cell.
std::string number_cell(double v) {
  return std::isnan(v) ? std::string() : shortest(v);
}

// A parameter's value in a CSV cell: strings as they are, other values as JSON; none as "".
std::string value_cell(const json::value* v) {
  if (v == nullptr || v->is_null()) return "";
  if (v->is_string()) return csv_cell(v->as_string());
  return csv_cell(json_text(*v));
}

const json::value* value_of(const sweep_point& p, const std::string& parameter) {
  for (const auto& [path, v] : p.values) {
    if (path == parameter) return &v;
  }
  return nullptr;
}

}  // namespace

json::object sweep_plan::to_json() const {
  json::array points_out, runs_out, seeds_out, metrics_out, parameters_out, fixed_out;
  for (const auto& p : points) {
    json::object values;
    for (const auto& [path, v] : p.values) values[path] = v;
    points_out.push_back({{"point", p.id}, {"values", std::move(values)}});
  }
  for (const auto& r : runs) {
    runs_out.push_back({{"run", r.id},
                        {"point", points[r.point].id},
                        {"seed", r.seed},
                        {"sets", json::value_from(r.sets)}});
  }
  for (const auto s : seeds) seeds_out.push_back(s);
  return {{"name", name},
          {"file", file.string()},
          {"scenario", scenario.string()},
          {"scenario_hash", scenario_hash},
          {"parameters", json::value_from(parameters)},
          {"set", json::value_from(fixed)},
          {"points", std::move(points_out)},
          {"seeds", std::move(seeds_out)},
          {"threads", threads},
          {"until", until},
          {"library", library.string()},
          {"library_hash", library_hash},
          {"metrics", json::value_from(metrics)},
          {"runs", std::move(runs_out)}};
}

result<sweep_plan> load_sweep(const fs::path& file, const std::vector<std::string>& extra_sets) {
  agents::register_builtin_kinds();
  auto loaded = scenarios::load_sweep_file(file);
  if (!loaded) {
    std::string message;
    for (const auto& d : loaded.problems) message += (message.empty() ? "" : "\n") + d.format();
    return fail(errc::bad_input, message);
  }
  const auto& f = *loaded.value;
  sweep_plan plan;
  plan.name = f.name;
  plan.file = fs::absolute(file).lexically_normal();
  plan.scenario = fs::absolute(f.scenario).lexically_normal();
  plan.seeds = f.seeds;
  plan.threads = f.threads;
  plan.until = f.until;
  if (!f.library.empty()) {
    plan.library = fs::absolute(f.library).lexically_normal();
    auto hash = library_hash(plan.library);
    if (!hash) return hash.error();
    plan.library_hash = *hash;
  }
  for (const auto& v : f.set) plan.fixed.push_back(set_arg(v));
  plan.fixed.insert(plan.fixed.end(), extra_sets.begin(), extra_sets.end());

  // The points: each listed one (or one empty point) crossed with the grid, its last path
  // varying fastest.
  std::vector<std::vector<scenarios::sweep_value>> combos =
      f.points.empty() ? std::vector<std::vector<scenarios::sweep_value>>{{}} : f.points;
  for (const auto& [path, values] : f.grid) {
    std::vector<std::vector<scenarios::sweep_value>> next;
    for (const auto& c : combos) {
      for (const auto& v : values.as_array()) {
        next.push_back(c);
        next.back().emplace_back(path, v);
      }
    }
    combos = std::move(next);
  }
  for (const auto& c : combos) {
    for (const auto& [path, v] : c) {
      if (std::find(plan.parameters.begin(), plan.parameters.end(), path) ==
          plan.parameters.end()) {
        plan.parameters.push_back(path);
      }
    }
  }
  // The same point twice would only run the same runs twice.
  {
    std::map<std::string, std::size_t> seen;
    std::string problems;
    for (std::size_t i = 0; i < combos.size(); ++i) {
      auto values = combos[i];
      std::sort(values.begin(), values.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      std::string key;
      for (const auto& [path, v] : values) key += path + "=" + json_text(v) + "\n";
      const auto [it, fresh] = seen.emplace(key, i);
      if (!fresh) {
        problems += (problems.empty() ? "" : "\n") + file.string() + ": error: point " +
                    std::to_string(i) + " is the same as point " + std::to_string(it->second) +
                    " (list each combination of values once)";
      }
    }
    if (!problems.empty()) return fail(errc::bad_input, problems);
  }
  if (combos.size() * f.seeds.size() > max_runs) {
    return fail(errc::bad_input, file.string() + ": error: " + std::to_string(combos.size()) +
                                     " points x " + std::to_string(f.seeds.size()) +
                                     " seeds is more than " + std::to_string(max_runs) +
                                     " runs (split the sweep, or sweep fewer values)");
  }
  const std::size_t width = std::max<std::size_t>(2, std::to_string(combos.size() - 1).size());
  for (std::size_t i = 0; i < combos.size(); ++i) {
    const auto n = std::to_string(i);
    plan.points.push_back({"p" + std::string(width - n.size(), '0') + n, combos[i]});
  }

  // The scenario must load with the fixed overrides (its problems said once, not per point),
  // and then every point: a bad path or value is found now, not in the 40th process.
  std::string problems;
  auto base = scenarios::load_scenario(plan.scenario, plan.fixed);
  for (const auto& d : base.problems) {
    problems += (problems.empty() ? "" : "\n") + file.string() + ": scenario: " + d.format();
  }
  if (!problems.empty()) return fail(errc::bad_input, problems);
  std::vector<scenarios::scenario> loaded_points;
  for (const auto& p : plan.points) {
    auto sets = plan.fixed;
    for (const auto& v : p.values) sets.push_back(set_arg(v));
    auto s = scenarios::load_scenario(plan.scenario, sets);
    for (const auto& d : s.problems) {
      problems +=
          (problems.empty() ? "" : "\n") + file.string() + ": point " + p.id + ": " + d.format();
    }
    if (s && !plan.library.empty() &&
        !agents::library_policy::from_json(s.value->library).enabled) {
      problems += (problems.empty() ? "" : "\n") + file.string() + ": point " + p.id +
                  ": error: the sweep's runs start from a library (\"library\"), and this "
                  "point's scenario has none (enable its \"library\" section, or remove "
                  "\"library\" from the sweep)";
    }
    if (s) loaded_points.push_back(std::move(*s.value));
  }
  if (!problems.empty()) return fail(errc::bad_input, problems);
  plan.scenario_hash = text_hash(read_file(plan.scenario).value_or(""));

  // The metrics: those named, each one the scenario's runs report; all of them otherwise.
  const auto available = metrics_of(loaded_points);
  if (f.metrics.empty()) {
    plan.metrics = available;
  } else {
    for (std::size_t i = 0; i < f.metrics.size(); ++i) {
      if (std::find(available.begin(), available.end(), f.metrics[i]) == available.end()) {
        std::string known;
        for (const auto& m : available) known += (known.empty() ? "" : ", ") + m;
        problems += (problems.empty() ? "" : "\n") + f.metric_where[i] +
                    ": error: /metrics: unknown metric \"" + f.metrics[i] +
                    "\" (the runs of this scenario report: " + known + ")";
      } else if (std::find(plan.metrics.begin(), plan.metrics.end(), f.metrics[i]) ==
                 plan.metrics.end()) {
        plan.metrics.push_back(f.metrics[i]);
      }
    }
    if (!problems.empty()) return fail(errc::bad_input, problems);
  }

  for (std::size_t p = 0; p < plan.points.size(); ++p) {
    for (const auto seed : plan.seeds) {
      sweep_run r;
      r.id = plan.points[p].id + "-s" + std::to_string(seed);
      r.point = p;
      r.seed = seed;
      r.sets = plan.fixed;
      for (const auto& v : plan.points[p].values) r.sets.push_back(set_arg(v));
      plan.runs.push_back(std::move(r));
    }
  }
  return plan;
}

result<run_measures> run_metrics(const fs::path& run) {
  const auto summary_file = run / "summary.json";
  const auto parsed = read_json_object(summary_file);
  if (!parsed) return parsed.error();
  const auto& o = *parsed;
  run_measures out;
  const auto number = [](const json::object& from, std::string_view key) -> std::optional<double> {
    const auto* v = from.if_contains(key);
    if (v == nullptr || !v->is_number()) return std::nullopt;
    return v->to_number<double>();
  };
  const auto object = [](const json::object& from, std::string_view key) -> const json::object* {
    const auto* v = from.if_contains(key);
    return v != nullptr ? v->if_object() : nullptr;
  };
  for (const char* key : {"arrived", "completed", "succeeded", "failed", "escalated", "in_flight",
                          "success_rate", "cost", "cost_per_success", "tokens_in", "tokens_out"}) {
    const auto v = number(o, key);
    if (!v) {
      return fail(errc::bad_input, summary_file.string() + ": no number \"" + key + "\"");
    }
    out[key] = *v;
  }
  if (const auto* lat = object(o, "latency_ms")) {
    for (const char* p : {"p50", "p95", "p99"}) {
      if (auto v = number(*lat, p)) out[std::string("latency_") + p + "_ms"] = *v;
    }
  }
  // summary.json writes 0 for what is undefined; averaged in, those zeros would pull the means
  // down. Undefined here, they are empty cells and left out of the aggregate.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (out["succeeded"] == 0) out["cost_per_success"] = nan;
  if (out["completed"] + out["failed"] + out["escalated"] == 0) {
    out["success_rate"] = nan;
    for (const char* p : {"latency_p50_ms", "latency_p95_ms", "latency_p99_ms"}) out[p] = nan;
  }
  if (const auto* k = object(o, "kernel")) {
    if (auto v = number(*k, "agents_alive")) out["agents_alive"] = *v;
  }
  if (const auto* l = object(o, "library")) {
    if (auto v = number(*l, "hit_rate")) out["library_hit_rate"] = *v;
    if (auto v = number(*l, "cost_saved")) out["library_cost_saved"] = *v;
    const auto entries = number(*l, "entries");
    const auto deprecated = number(*l, "deprecated");
    if (entries) out["library_entries"] = *entries;
    if (entries && deprecated) out["library_live"] = *entries - *deprecated;
  }
  if (const auto* st = object(o, "stores")) {
    double lookups = 0, hits = 0, externals = 0;
    for (const auto& [locale, c] : *st) {
      if (!c.is_object()) continue;
      lookups += number(c.as_object(), "lookups").value_or(0);
      hits += number(c.as_object(), "hits").value_or(0);
      externals += number(c.as_object(), "external_lookups").value_or(0);
    }
    out["store_lookups"] = lookups;
    out["store_hits"] = hits;
    out["external_lookups"] = externals;
  }
  if (const auto* b = object(o, "backends")) {
    for (const auto& [name, c] : *b) {
      if (!c.is_object()) continue;
      if (auto v = number(c.as_object(), "calls")) out["calls_" + std::string(name)] = *v;
      if (auto v = number(c.as_object(), "cost")) out["cost_" + std::string(name)] = *v;
    }
  }

  // The structural changes, counted from the event log: specialists spawned by an organizer,
  // prunes, merges and committees formed.
  const auto events_file = run / "events.jsonl";
  std::ifstream events(events_file);
  if (!events) return fail(errc::bad_input, events_file.string() + ": missing");
  double spawned = 0, pruned = 0, merged = 0, committees = 0;
  std::size_t line_no = 0;
  for (std::string line; std::getline(events, line);) {
    ++line_no;
    // Only a few lines matter: find them by their type before parsing anything.
    const auto type_at = line.find("\"type\":\"");
    if (type_at == std::string::npos) continue;
    const std::string_view type(line.data() + type_at + 8,
                                std::min<std::size_t>(24, line.size() - type_at - 8));
    if (type.starts_with("agent_pruned\"")) {
      ++pruned;
    } else if (type.starts_with("agents_merged\"")) {
      ++merged;
    } else if (type.starts_with("committee_formed\"")) {
      ++committees;
    } else if (type.starts_with("agent_spawned\"")) {
      json::error_code jec;
      const auto e = json::parse(line, jec);
      if (jec || !e.is_object()) {
        return fail(errc::bad_input,
                    events_file.string() + ":" + std::to_string(line_no) + ": not a JSON object");
      }
      const auto* parent = e.as_object().if_contains("parent");
      const auto* kind = e.as_object().if_contains("kind");
      const bool by_agent =
          parent != nullptr && parent->is_number() && parent->to_number<double>() != 0;
      const bool committee =
          kind != nullptr && kind->is_string() && kind->as_string() == "committee";
      if (by_agent && !committee) ++spawned;
    }
  }
  out["spawned"] = spawned;
  out["pruned"] = pruned;
  out["merged"] = merged;
  out["committees"] = committees;
  return out;
}

metric_summary summarize(const std::vector<double>& values) {
  metric_summary s;
  s.n = values.size();
  if (s.n == 0) {
    s.mean = s.sd = s.ci95_low = s.ci95_high = std::numeric_limits<double>::quiet_NaN();
    return s;
  }
  double sum = 0;
  for (const double v : values) sum += v;
  s.mean = sum / static_cast<double>(s.n);
  if (s.n == 1) {
    s.sd = s.ci95_low = s.ci95_high = std::numeric_limits<double>::quiet_NaN();
    return s;
  }
  double squares = 0;
  for (const double v : values) squares += (v - s.mean) * (v - s.mean);
  s.sd = std::sqrt(squares / static_cast<double>(s.n - 1));
  const boost::math::students_t t(static_cast<double>(s.n - 1));
  const double half = boost::math::quantile(boost::math::complement(t, 0.025)) * s.sd /
                      std::sqrt(static_cast<double>(s.n));
  s.ci95_low = s.mean - half;
  s.ci95_high = s.mean + half;
  return s;
}

namespace {

// A progress bar over a sweep's runs, on a terminal.
class sweep_progress {
 public:
  sweep_progress(bool enabled, std::size_t total)
      : enabled_(enabled && isatty(STDERR_FILENO) != 0), total_(total) {}
  void update(std::size_t done, std::size_t running, std::size_t failed) {
    if (!enabled_) return;
    const double frac = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 1;
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double eta = done > 0 ? wall / frac - wall : 0;
    constexpr int width = 30;
    const int filled = static_cast<int>(frac * width);
    std::fprintf(stderr, "\r[%s%s] %zu/%zu runs  %zu running  %zu failed  ETA %.0fs   ",
                 std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), '.').c_str(), done, total_,
                 running, failed, eta);
  }
  void done() {
    if (enabled_) std::fprintf(stderr, "\n");
  }

 private:
  bool enabled_;
  std::size_t total_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// Set by SIGINT or SIGTERM while a sweep runs: stop its runs and keep what finished.
volatile std::sig_atomic_t stop_requested = 0;

extern "C" void request_stop(int) {
  stop_requested = 1;
}

// Catches SIGINT and SIGTERM for as long as it lives, without SA_RESTART so that a wait for a
// run returns at once.
class stop_signals {
 public:
  stop_signals() {
    stop_requested = 0;
    struct sigaction on_stop {};
    on_stop.sa_handler = request_stop;
    sigemptyset(&on_stop.sa_mask);
    sigaction(SIGINT, &on_stop, &before_int_);
    sigaction(SIGTERM, &on_stop, &before_term_);
  }
  ~stop_signals() {
    sigaction(SIGINT, &before_int_, nullptr);
    sigaction(SIGTERM, &before_term_, nullptr);
  }
  stop_signals(const stop_signals&) = delete;
  stop_signals& operator=(const stop_signals&) = delete;

 private:
  struct sigaction before_int_ {};
  struct sigaction before_term_ {};
};

// The metrics of `run` if it finished: its manifest says so and its results can be read (a run
// whose files were damaged since is run again).
std::optional<run_measures> finished(const fs::path& run) {
  const auto manifest = read_json_object(run / "manifest.json");
  if (!manifest || !manifest->contains("finished")) return std::nullopt;
  auto m = run_metrics(run);
  if (!m) return std::nullopt;
  return std::move(*m);
}

// Starts `colony run` for `r`, its output going to `log`. Returns its pid.
result<pid_t> start_run(const sweep_plan& plan, const sweep_run& r, const fs::path& colony,
                        const fs::path& dir, const fs::path& log) {
  std::vector<std::string> args = {colony.string(),
                                   "run",
                                   plan.scenario.string(),
                                   "--out",
                                   dir.string(),
                                   "--seed",
                                   std::to_string(r.seed),
                                   "--threads",
                                   std::to_string(plan.threads),
                                   "--quiet"};
  std::error_code ec;
  // A run that was interrupted left a directory behind: it starts again from nothing.
  if (fs::exists(dir, ec)) args.emplace_back("--force");
  if (!plan.until.empty()) {
    args.emplace_back("--until");
    args.push_back(plan.until);
  }
  if (!plan.library.empty()) {
    args.emplace_back("--library");
    args.push_back(plan.library.string());
  }
  for (const auto& s : r.sets) {
    args.emplace_back("--set");
    args.push_back(s);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, colony.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return fail(errc::io_error, colony.string() + ": cannot start a run: " + std::strerror(rc));
  }
  return pid;
}

// The last non-empty line of `log`, to say why a run failed.
std::string last_line(const fs::path& log) {
  std::istringstream in(read_file(log).value_or(""));
  std::string last;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) last = line;
  }
  return last;
}

// Writes results.csv and aggregate.csv from the metrics of the runs that finished, by run id.
result<void> write_results(const sweep_plan& plan, const fs::path& out,
                           const std::map<std::string, run_measures>& measured) {
  std::ostringstream results, aggregate;
  results << "run,point";
  aggregate << "point";
  for (const auto& p : plan.parameters) {
    results << ',' << csv_cell(p);
    aggregate << ',' << csv_cell(p);
  }
  results << ",seed";
  aggregate << ",runs";
  for (const auto& m : plan.metrics) {
    results << ',' << csv_cell(m);
    for (const char* part : {"_mean", "_sd", "_ci95_low", "_ci95_high"}) {
      aggregate << ',' << csv_cell(m + part);
    }
  }
  results << '\n';
  aggregate << '\n';
  // Per point and metric, the values of its finished runs.
  std::vector<std::vector<std::vector<double>>> values(
      plan.points.size(), std::vector<std::vector<double>>(plan.metrics.size()));
  for (const auto& r : plan.runs) {
    const auto m = measured.find(r.id);
    if (m == measured.end()) continue;  // failed or not run: named on stderr already
    const auto& point = plan.points[r.point];
    results << r.id << ',' << point.id;
    for (const auto& p : plan.parameters) results << ',' << value_cell(value_of(point, p));
    results << ',' << r.seed;
    for (std::size_t i = 0; i < plan.metrics.size(); ++i) {
      const auto it = m->second.find(plan.metrics[i]);
      const double v =
          it != m->second.end() ? it->second : std::numeric_limits<double>::quiet_NaN();
      results << ',' << number_cell(v);
      if (!std::isnan(v)) values[r.point][i].push_back(v);
    }
    results << '\n';
  }
  for (std::size_t p = 0; p < plan.points.size(); ++p) {
    const auto& point = plan.points[p];
    aggregate << point.id;
    for (const auto& name : plan.parameters) aggregate << ',' << value_cell(value_of(point, name));
    std::size_t runs = 0;
    for (const auto& v : values[p]) runs = std::max(runs, v.size());
    aggregate << ',' << runs;
    for (std::size_t i = 0; i < plan.metrics.size(); ++i) {
      const auto s = summarize(values[p][i]);
      aggregate << ',' << number_cell(s.mean) << ',' << number_cell(s.sd) << ','
                << number_cell(s.ci95_low) << ',' << number_cell(s.ci95_high);
    }
    aggregate << '\n';
  }
  if (auto w = write_file(out / "results.csv", results.str()); !w) return w;
  return write_file(out / "aggregate.csv", aggregate.str());
}

}  // namespace

result<std::size_t> run_sweep(const sweep_plan& plan, const sweep_options& options) {
  const fs::path out = options.out.empty() ? fs::path("sweeps") / plan.name : options.out;
  std::error_code ec;
  const auto expanded = plan.to_json();
  // A directory holding another sweep is never mixed with this one.
  if (fs::exists(out / "sweep.json", ec)) {
    auto before = read_json_object(out / "sweep.json");
    if (!before) {
      return fail(errc::bad_input,
                  before.error().message + ": not a sweep's record: choose another --out");
    }
    auto& was = *before;
    auto now = expanded;
    was.erase("file");
    now.erase("file");
    if (was != now) {
      return fail(errc::bad_input,
                  out.string() +
                      ": holds another sweep (its sweep.json differs: scenario, "
                      "overrides, points, seeds or metrics): choose another --out");
    }
  } else if (fs::exists(out, ec) && !fs::is_empty(out, ec)) {
    return fail(errc::bad_input,
                out.string() + ": not empty and not a sweep: choose another --out");
  }
  for (const auto& d : {out, out / "runs", out / "logs"}) {
    fs::create_directories(d, ec);
    if (ec) {
      return fail(errc::io_error, d.string() + ": cannot create: " + ec.message());
    }
  }
  if (auto w = write_file(out / "sweep.json", pretty(expanded)); !w) return w.error();

  // Each run's metrics are read once: here for those finished before, as each ends for the rest.
  std::map<std::string, run_measures> measured;
  std::vector<const sweep_run*> pending;
  for (const auto& r : plan.runs) {
    if (auto m = finished(out / "runs" / r.id)) {
      measured.emplace(r.id, std::move(*m));
    } else {
      pending.push_back(&r);
    }
  }
  const std::size_t skipped = plan.runs.size() - pending.size();
  const unsigned jobs =
      options.jobs > 0 ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  sweep_progress bar(options.progress, plan.runs.size());
  std::map<pid_t, const sweep_run*> running;
  std::size_t next = 0, done = skipped, failed = 0;
  std::string failures;
  bar.update(done, 0, failed);
  const stop_signals signals;
  while (next < pending.size() || !running.empty()) {
    if (stop_requested != 0) {
      // Interrupted: the runs under way stop (their directories are redone on resuming), and
      // the results of those that finished are written.
      for (const auto& [p, r] : running) kill(p, SIGTERM);
      for (const auto& [p, r] : running) waitpid(p, nullptr, 0);
      bar.done();
      std::cerr << failures;
      if (auto w = write_results(plan, out, measured); !w) return w.error();
      return fail(errc::run_failed,
                  out.string() + ": interrupted with " + std::to_string(done - failed) + " of " +
                      std::to_string(plan.runs.size()) +
                      " runs finished (results.csv holds them): run the same command again to "
                      "resume");
    }
    while (next < pending.size() && running.size() < jobs) {
      const auto& r = *pending[next++];
      auto pid =
          start_run(plan, r, options.colony, out / "runs" / r.id, out / "logs" / (r.id + ".log"));
      if (!pid) {
        for (const auto& [p, x] : running) waitpid(p, nullptr, 0);
        return pid.error();
      }
      running[*pid] = &r;
    }
    bar.update(done, running.size(), failed);
    // Polled, 100 times a second: a signal that comes between the check above and a blocking
    // wait would otherwise go unseen until a run ends.
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid == 0) {
      const timespec pause{0, 10'000'000};
      nanosleep(&pause, nullptr);
      continue;
    }
    if (pid < 0) {
      if (errno == EINTR) continue;
      return fail(errc::io_error, std::string("waiting for a run: ") + std::strerror(errno));
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    const auto& r = *it->second;
    running.erase(it);
    ++done;
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok) {
      ++failed;
      const auto log = out / "logs" / (r.id + ".log");
      failures += "run " + r.id + " failed (" +
                  (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                     : "signal " + std::to_string(WTERMSIG(status))) +
                  "): " + last_line(log) + " (log: " + log.string() + ")\n";
      continue;
    }
    auto m = run_metrics(out / "runs" / r.id);
    if (!m) {
      // Finished, and yet its results cannot be read: left out, and counted as failed.
      ++failed;
      failures += "run " + r.id + ": " + m.error().message + "\n";
      continue;
    }
    measured.emplace(r.id, std::move(*m));
  }
  bar.update(done, 0, failed);
  bar.done();
  std::cerr << failures;
  if (auto w = write_results(plan, out, measured); !w) return w.error();
  if (options.progress) {
    std::printf(
        "%s: %zu runs (%zu already done, %zu run now, %zu failed); results.csv, "
        "aggregate.csv\n",
        out.string().c_str(), plan.runs.size(), skipped, pending.size(), failed);
  }
  return failed;
}

}  // namespace colony::cli
