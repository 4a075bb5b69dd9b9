#include "report_run.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <vector>

#include "colony/base/time.hpp"
#include "report_chart.hpp"
#include "report_page.hpp"
#include "report_timeline.hpp"
#include "report_topology.hpp"
#include "run_outputs.hpp"
#include "topology_view.hpp"

namespace colony::cli::reporting {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// At most this many points per time series; longer runs merge consecutive buckets.
constexpr std::size_t max_points = 360;
// At most this many rows in the timeline.
constexpr std::size_t max_timeline_rows = 60;

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// The series of metrics.csv the charts draw, consecutive buckets merged when there are many.
struct buckets {
  std::vector<double> start, end;  // seconds
  std::vector<double> arrived, completed, succeeded, failed, escalated, success;
  std::vector<double> p50, p95, p99, cost, alive;
  std::vector<double> hit_rate, similarity, live;  // empty without a library
  std::size_t merged = 1;                          // buckets per point
  double bucket_seconds = 0;                       // one bucket of the run
  std::size_t rows = 0;                            // buckets in the file
  [[nodiscard]] bool library() const { return !hit_rate.empty(); }
  [[nodiscard]] std::size_t size() const { return start.size(); }
  [[nodiscard]] double mid(std::size_t i) const { return (start[i] + end[i]) / 2; }
};

result<buckets> read_buckets(const fs::path& dir) {
  auto table = read_csv(dir / "metrics.csv");
  if (!table) return table.error();
  if (table->rows.empty()) {
    return fail(errc::bad_input, table->path.string() + ": error: no bucket rows after the header");
  }
  std::map<std::string, std::vector<double>> col;
  for (const char* name : {"bucket_start_s", "bucket_end_s", "arrived", "completed", "succeeded",
                           "failed", "success_rate", "latency_p50_ms", "latency_p95_ms",
                           "latency_p99_ms", "cost", "agents_alive"}) {
    auto values = numbers(*table, name);
    if (!values) return values.error();
    col[name] = std::move(*values);
  }
  const auto optional = [&](const char* name) -> result<bool> {
    if (table->column(name) == std::string::npos) return false;
    auto values = numbers(*table, name);
    if (!values) return values.error();
    col[name] = std::move(*values);
    return true;
  };
  const char* optional_columns[] = {
      "escalated",       "library_hit_rate", "library_mean_similarity",  "library_live",
      "library_queries", "library_reuse",    "library_adapt_parameters", "library_adapt_logic",
      "library_combine", "library_generate"};
  for (const char* name : optional_columns) {
    if (auto present = optional(name); !present) return present.error();
  }
  const bool library = col.contains("library_hit_rate");
  const std::size_t rows = table->rows.size();
  const auto zeros = std::vector<double>(rows, 0.0);
  const auto& escalated = col.contains("escalated") ? col["escalated"] : zeros;
  // What the library's rates are averaged by: the tasks that consulted it.
  std::vector<double> library_weight(rows, 1.0);
  if (library) {
    const bool tiers = col.contains("library_reuse") && col.contains("library_generate") &&
                       col.contains("library_adapt_parameters") &&
                       col.contains("library_adapt_logic") && col.contains("library_combine");
    for (std::size_t r = 0; r < rows; ++r) {
      library_weight[r] = tiers ? col["library_reuse"][r] + col["library_adapt_parameters"][r] +
                                      col["library_adapt_logic"][r] + col["library_combine"][r] +
                                      col["library_generate"][r]
                          : col.contains("library_queries") ? col["library_queries"][r]
                                                            : 1.0;
    }
  }

  buckets b;
  b.rows = rows;
  b.bucket_seconds = col["bucket_end_s"][0] - col["bucket_start_s"][0];
  b.merged = rows > max_points ? (rows + max_points - 1) / max_points : 1;
  const auto sum = [](const std::vector<double>& v, std::size_t from, std::size_t to) {
    double s = 0;
    for (std::size_t i = from; i < to; ++i) s += std::isfinite(v[i]) ? v[i] : 0;
    return s;
  };
  const auto weighted = [](const std::vector<double>& v, const std::vector<double>& w,
                           std::size_t from, std::size_t to) {
    double s = 0, n = 0;
    for (std::size_t i = from; i < to; ++i) {
      if (!std::isfinite(v[i]) || !(w[i] > 0)) continue;
      s += v[i] * w[i];
      n += w[i];
    }
    return n > 0 ? s / n : nan;
  };
  for (std::size_t from = 0; from < rows; from += b.merged) {
    const std::size_t to = std::min(rows, from + b.merged);
    b.start.push_back(col["bucket_start_s"][from]);
    b.end.push_back(col["bucket_end_s"][to - 1]);
    const double done =
        sum(col["completed"], from, to) + sum(col["failed"], from, to) + sum(escalated, from, to);
    b.arrived.push_back(sum(col["arrived"], from, to));
    b.completed.push_back(sum(col["completed"], from, to));
    b.succeeded.push_back(sum(col["succeeded"], from, to));
    b.failed.push_back(sum(col["failed"], from, to));
    b.escalated.push_back(sum(escalated, from, to));
    // A bucket where nothing ended has no success rate (the file says 0).
    b.success.push_back(done > 0 ? sum(col["succeeded"], from, to) / done : nan);
    const auto& completed = col["completed"];
    for (auto [name, out] :
         {std::pair{"latency_p50_ms", &b.p50}, std::pair{"latency_p95_ms", &b.p95},
          std::pair{"latency_p99_ms", &b.p99}}) {
      out->push_back(b.merged == 1 ? (completed[from] > 0 ? col[name][from] : nan)
                                   : weighted(col[name], completed, from, to));
    }
    b.cost.push_back(sum(col["cost"], from, to));
    b.alive.push_back(col["agents_alive"][to - 1]);
    if (library) {
      b.hit_rate.push_back(weighted(col["library_hit_rate"], library_weight, from, to));
      b.similarity.push_back(
          col.contains("library_mean_similarity")
              ? weighted(col["library_mean_similarity"], library_weight, from, to)
              : nan);
      b.live.push_back(col.contains("library_live") ? col["library_live"][to - 1] : nan);
    }
  }
  return b;
}

std::string duration_text(double seconds) {
  return format_duration(static_cast<sim_time>(std::llround(seconds * 1e6)));
}

// The x axis and hover columns every time chart of the run shares.
struct time_axis {
  time_unit unit;
  double end = 0;
  std::string per;  // "per 6h bucket"
};

xy_chart time_chart(const std::string& id, const std::string& aria, const time_axis& t) {
  xy_chart c;
  c.id = id;
  c.aria = aria;
  c.x.label = "simulated time (" + t.unit.unit + ")";
  c.x.divisor = t.unit.seconds;
  c.x.min = 0;
  c.x.max = t.end;
  c.x.tick_count = 8;
  return c;
}

std::string bucket_span(const buckets& b, std::size_t i) {
  return clock(b.start[i]) + " \xE2\x80\x93 " + clock(b.end[i]);
}

chart_series line(std::string name, std::string colour, std::vector<double> x,
                  std::vector<double> y) {
  chart_series s;
  s.name = std::move(name);
  s.colour = std::move(colour);
  s.x = std::move(x);
  s.y = std::move(y);
  return s;
}

std::vector<double> midpoints(const buckets& b) {
  std::vector<double> out;
  for (std::size_t i = 0; i < b.size(); ++i) out.push_back(b.mid(i));
  return out;
}

std::string tasks_chart(const buckets& b, const time_axis& t) {
  auto c = time_chart("chart-tasks-svg", "tasks per bucket over simulated time", t);
  c.y.label = "tasks " + t.per;
  c.y.integer = true;
  const auto x = midpoints(b);
  c.series.push_back(line("arrived", "#4e79a7", x, b.arrived));
  c.series.push_back(line("completed", "#76b7b2", x, b.completed));
  c.series.push_back(line("succeeded", "#59a14f", x, b.succeeded));
  c.series.push_back(line("failed", "#e15759", x, b.failed));
  const bool escalations =
      std::any_of(b.escalated.begin(), b.escalated.end(), [](double v) { return v > 0; });
  if (escalations) c.series.push_back(line("escalated", "#f28e2b", x, b.escalated));
  for (std::size_t i = 0; i < b.size(); ++i) {
    std::string tip = bucket_span(b, i) + "\narrived " + readable(b.arrived[i]) + "\ncompleted " +
                      readable(b.completed[i]) + "\nsucceeded " + readable(b.succeeded[i]) +
                      "\nfailed " + readable(b.failed[i]);
    if (escalations) tip += "\nescalated " + readable(b.escalated[i]);
    c.hover.push_back({b.start[i], b.end[i], tip});
  }
  return svg(c);
}

std::string success_chart(const buckets& b, const time_axis& t) {
  auto c = time_chart("chart-success-svg", "success rate per bucket", t);
  c.y.label = "success rate " + t.per;
  c.y.percent = true;
  double lowest = 1;
  for (const double v : b.success) {
    if (std::isfinite(v)) lowest = std::min(lowest, v);
  }
  // Zoom in on high rates, in steps of 5%, so that their changes show.
  c.y.min = lowest >= 0.5 ? std::floor((lowest - 0.01) * 20) / 20 : 0;
  c.y.max = 1;
  c.y.tick_count = 4;
  c.series.push_back(line("succeeded / ended", "#59a14f", midpoints(b), b.success));
  for (std::size_t i = 0; i < b.size(); ++i) {
    c.hover.push_back({b.start[i], b.end[i],
                       bucket_span(b, i) + "\nsuccess rate " + percent(b.success[i], 2) + "\n" +
                           readable(b.succeeded[i]) + " succeeded of " +
                           readable(b.completed[i] + b.failed[i] + b.escalated[i]) + " ended"});
  }
  return svg(c);
}

std::string latency_chart(const buckets& b, const time_axis& t) {
  auto c = time_chart("chart-latency-svg", "latency percentiles per bucket", t);
  double top = 0;
  for (const double v : b.p99) {
    if (std::isfinite(v)) top = std::max(top, v);
  }
  const bool seconds = top >= 2000;
  c.y.divisor = seconds ? 1000 : 1;
  const std::string unit = seconds ? "s" : "ms";
  c.y.label = "task latency (" + unit + ")";
  const auto x = midpoints(b);
  c.series.push_back(line("p50", "#4e79a7", x, b.p50));
  c.series.push_back(line("p95", "#f28e2b", x, b.p95));
  c.series.push_back(line("p99", "#e15759", x, b.p99));
  const auto shown = [&](double ms) {
    return seconds ? decimal(ms / 1000, 2) + " s" : decimal(ms, 0) + " ms";
  };
  for (std::size_t i = 0; i < b.size(); ++i) {
    c.hover.push_back({b.start[i], b.end[i],
                       bucket_span(b, i) + "\np50 " + shown(b.p50[i]) + "\np95 " + shown(b.p95[i]) +
                           "\np99 " + shown(b.p99[i])});
  }
  return svg(c);
}

std::string cost_chart(const buckets& b, const time_axis& t) {
  auto c = time_chart("chart-cost-svg", "cost per bucket and cumulative cost", t);
  c.y.label = "cost " + t.per;
  c.y2.label = "cumulative cost";
  chart_series bars;
  bars.name = "cost per bucket";
  bars.colour = "#9ecae9";
  bars.kind = chart_series::mark::bars;
  bars.x = b.start;
  bars.x_end = b.end;
  bars.y = b.cost;
  c.series.push_back(std::move(bars));
  std::vector<double> x{b.start.front()}, total{0};
  double sum = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    sum += b.cost[i];
    x.push_back(b.end[i]);
    total.push_back(sum);
  }
  auto cumulative = line("cumulative", "#1f4e79", x, total);
  cumulative.right = true;
  c.series.push_back(std::move(cumulative));
  sum = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    sum += b.cost[i];
    c.hover.push_back(
        {b.start[i], b.end[i],
         bucket_span(b, i) + "\ncost " + readable(b.cost[i]) + "\ncumulative " + readable(sum)});
  }
  return svg(c);
}

std::string library_chart(const buckets& b, const time_axis& t) {
  auto c = time_chart("chart-library-svg", "solution library hit rate per bucket", t);
  c.y.label = "share of library tasks " + t.per;
  c.y.percent = true;
  c.y.min = 0;
  c.y.max = 1;
  c.y2.label = "live entries";
  const auto x = midpoints(b);
  c.series.push_back(line("hit rate", "#59a14f", x, b.hit_rate));
  c.series.push_back(line("mean similarity", "#b07aa1", x, b.similarity));
  auto live = line("live entries (right)", "#8c8c8c", b.end, b.live);
  live.right = true;
  live.dashed = true;
  live.width = 1.5;
  c.series.push_back(std::move(live));
  for (std::size_t i = 0; i < b.size(); ++i) {
    c.hover.push_back({b.start[i], b.end[i],
                       bucket_span(b, i) + "\nhit rate " + percent(b.hit_rate[i], 1) +
                           "\nmean similarity " + decimal(b.similarity[i], 3) + "\nlive entries " +
                           readable(b.live[i])});
  }
  return svg(c);
}

std::string agents_chart(const buckets& b, const time_axis& t) {
  auto c = time_chart("chart-agents-svg", "agents alive over simulated time", t);
  c.y.label = "agents alive (end of bucket)";
  c.y.integer = true;
  chart_series s = line("agents alive", "#8e5ea2", b.start, b.alive);
  s.kind = chart_series::mark::step;
  s.x_end = b.end;
  c.series.push_back(std::move(s));
  for (std::size_t i = 0; i < b.size(); ++i) {
    c.hover.push_back(
        {b.start[i], b.end[i], bucket_span(b, i) + "\nagents alive " + readable(b.alive[i])});
  }
  return svg(c);
}

// Calls, tokens and cost per backend as rows of bars, and the table of the numbers.
std::string backends_body(const json::object& backends) {
  struct backend {
    std::string name;
    double calls = 0, failures = 0, timeouts = 0, tokens_in = 0, tokens_out = 0, cost = 0;
  };
  std::vector<backend> list;
  double total_cost = 0;
  for (const auto& [name, v] : backends) {
    backend b{.name = std::string(name)};
    if (const auto* o = v.if_object()) {
      const auto get = [&](std::string_view key) {
        const auto* x = o->if_contains(key);
        return x != nullptr && x->is_number() ? x->to_number<double>() : 0.0;
      };
      b.calls = get("calls");
      b.failures = get("failures");
      b.timeouts = get("timeouts");
      b.tokens_in = get("tokens_in");
      b.tokens_out = get("tokens_out");
      b.cost = get("cost");
    }
    total_cost += b.cost;
    list.push_back(b);
  }
  if (list.empty()) return "<p class=\"note\">The run has no backends.</p>";

  const double width = 1200, label_w = 150, gap = 34, row_h = 26, top = 52;
  const double panel_w = (width - label_w - 20 - 2 * gap) / 3;
  const double height = top + row_h * static_cast<double>(list.size()) + 16;
  double max_calls = 0, max_tokens = 0, max_cost = 0;
  for (const auto& b : list) {
    max_calls = std::max(max_calls, b.calls);
    max_tokens = std::max(max_tokens, b.tokens_in + b.tokens_out);
    max_cost = std::max(max_cost, b.cost);
  }
  std::string out = "<svg class=\"chart\" id=\"chart-backends-svg\" viewBox=\"0 0 " + coord(width) +
                    " " + coord(height) +
                    "\" role=\"img\" aria-label=\"calls, tokens and cost per backend\">\n";
  const double bar_room = panel_w - 78;
  const auto panel_x = [&](int p) { return label_w + 10 + p * (panel_w + gap); };
  const char* titles[] = {"calls (failed in red)", "tokens in / out", "cost"};
  for (int p = 0; p < 3; ++p) {
    out += "<text x=\"" + coord(panel_x(p)) + "\" y=\"20\" font-weight=\"600\">" + titles[p] +
           "</text><line class=\"axis\" x1=\"" + coord(panel_x(p)) + "\" x2=\"" +
           coord(panel_x(p)) + "\" y1=\"" + coord(top - 8) + "\" y2=\"" + coord(height - 8) +
           "\"/>";
  }
  double legend_bottom = 0;
  out += legend({{"succeeded calls", "#4e79a7", "b-calls", false},
                 {"failed", "#e15759", "b-failed", false},
                 {"tokens in", "#76b7b2", "b-in", false},
                 {"tokens out", "#f28e2b", "b-out", false},
                 {"cost", "#59a14f", "b-cost", false}},
                panel_x(0), 36, width - 10, legend_bottom);
  const auto bar = [&](double x, double y, double w, const std::string& colour,
                       const std::string& key, const std::string& tip) {
    return "<rect class=\"data\" data-series=\"" + key + "\" x=\"" + coord(x) + "\" y=\"" +
           coord(y) + "\" width=\"" + coord(std::max(w, 0.0)) + "\" height=\"14\" fill=\"" +
           colour + "\"><title>" + escape(tip) + "</title></rect>";
  };
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& b = list[i];
    const double y = top + static_cast<double>(i) * row_h + 4;
    out += "<text x=\"8\" y=\"" + coord(y + 11) + "\">" + escape(shorten(b.name, 22)) + "<title>" +
           escape(b.name) + "</title></text>";
    const double ok_calls = std::max(0.0, b.calls - b.failures);
    const double calls_scale = max_calls > 0 ? bar_room / max_calls : 0;
    out += bar(panel_x(0), y, ok_calls * calls_scale, "#4e79a7", "b-calls",
               b.name + ": " + readable(b.calls) + " calls, " + readable(b.failures) + " failed, " +
                   readable(b.timeouts) + " timed out");
    out += bar(panel_x(0) + ok_calls * calls_scale, y, b.failures * calls_scale, "#e15759",
               "b-failed", b.name + ": " + readable(b.failures) + " failed calls");
    out += "<text class=\"small\" x=\"" + coord(panel_x(0) + b.calls * calls_scale + 5) +
           "\" y=\"" + coord(y + 11) + "\">" + readable(b.calls) + "</text>";
    const double token_scale = max_tokens > 0 ? bar_room / max_tokens : 0;
    out += bar(panel_x(1), y, b.tokens_in * token_scale, "#76b7b2", "b-in",
               b.name + ": " + readable(b.tokens_in) + " tokens in");
    out += bar(panel_x(1) + b.tokens_in * token_scale, y, b.tokens_out * token_scale, "#f28e2b",
               "b-out", b.name + ": " + readable(b.tokens_out) + " tokens out");
    out += "<text class=\"small\" x=\"" +
           coord(panel_x(1) + (b.tokens_in + b.tokens_out) * token_scale + 5) + "\" y=\"" +
           coord(y + 11) + "\">" + compact(b.tokens_in + b.tokens_out) + "</text>";
    const double cost_scale = max_cost > 0 ? bar_room / max_cost : 0;
    out += bar(panel_x(2), y, b.cost * cost_scale, "#59a14f", "b-cost",
               b.name + ": cost " + readable(b.cost));
    out += "<text class=\"small\" x=\"" + coord(panel_x(2) + b.cost * cost_scale + 5) + "\" y=\"" +
           coord(y + 11) + "\">" + readable(b.cost) + "</text>";
  }
  out += "</svg>\n";

  std::vector<std::vector<std::string>> rows;
  for (const auto& b : list) {
    rows.push_back({escape(b.name), readable(b.calls), readable(b.failures), readable(b.timeouts),
                    readable(b.tokens_in), readable(b.tokens_out), readable(b.cost),
                    total_cost > 0 ? percent(b.cost / total_cost) : "\xE2\x80\x93",
                    b.calls > 0 ? readable(b.cost / b.calls) : "\xE2\x80\x93"});
  }
  out += html_table({"backend", "calls", "failures", "timeouts", "tokens in", "tokens out", "cost",
                     "share of cost", "cost per call"},
                    rows, {false, true, true, true, true, true, true, true, true});
  return out;
}

std::string kpi(const std::string& value, const std::string& label) {
  return "<div class=\"kpi\"><div class=\"v\">" + value + "</div><div class=\"l\">" +
         escape(label) + "</div></div>";
}

std::string latency_text(double ms) {
  if (!std::isfinite(ms)) return "\xE2\x80\x93";
  return ms >= 2000 ? decimal(ms / 1000, 2) + " s" : decimal(ms, 0) + " ms";
}

struct summary_numbers {
  double arrived = 0, completed = 0, succeeded = 0, failed = 0, success_rate = 0, cost = 0,
         cost_per_success = 0, p50 = 0, p95 = 0, p99 = 0;
};

std::string summary_body(json_fields& s, const summary_numbers& n) {
  std::string out = "<div class=\"kpis\">";
  out += kpi(readable(n.arrived), "tasks arrived");
  out += kpi(percent(n.success_rate, 2), "success rate");
  out += kpi(readable(n.cost), "cost (price units)");
  out += kpi(readable(n.cost_per_success), "cost per success");
  out += kpi(latency_text(n.p95), "latency p95");
  if (const auto hit = s.maybe_number("/library/hit_rate")) {
    out += kpi(percent(*hit, 1), "library hit rate");
  }
  out += "</div>\n";
  std::vector<std::vector<std::string>> rows;
  const auto add = [&](const std::string& what, const std::string& value,
                       const std::string& meaning) {
    rows.push_back({escape(what), value, escape(meaning)});
  };
  const auto maybe = [&](const char* pointer, const std::string& what, const std::string& meaning) {
    if (const auto v = s.maybe_number(pointer)) add(what, readable(*v), meaning);
  };
  if (const auto t = s.maybe_number("/simulated_seconds")) {
    add("simulated time", escape(duration_text(*t)), "the span of simulated time run");
  }
  add("arrived", readable(n.arrived), "tasks the workload sent");
  add("completed", readable(n.completed), "tasks answered");
  add("succeeded", readable(n.succeeded), "answered correctly (the hidden answer)");
  add("failed", readable(n.failed), "tasks that ended in a failure");
  maybe("/escalated", "escalated", "tasks handed to humans");
  maybe("/in_flight", "in flight", "tasks still open at the end");
  add("success rate", percent(n.success_rate, 2), "succeeded / (completed + failed + escalated)");
  add("cost", readable(n.cost), "in the unit of the scenario's prices");
  add("cost per success", readable(n.cost_per_success), "cost / succeeded");
  maybe("/tokens_in", "tokens in", "prompt tokens over every call");
  maybe("/tokens_out", "tokens out", "completion tokens over every call");
  add("latency p50", latency_text(n.p50), "median task latency, arrival to answer");
  add("latency p95", latency_text(n.p95), "95th percentile");
  add("latency p99", latency_text(n.p99), "99th percentile");
  if (const auto hit = s.maybe_number("/library/hit_rate")) {
    add("library hit rate", percent(*hit, 2), "library tasks that did not generate from scratch");
    maybe("/library/entries", "library entries", "solutions stored, deprecated ones included");
    maybe("/library/cost_saved", "library cost saved", "cost avoided by reusing and adapting");
  }
  maybe("/kernel/agents_alive", "agents alive at the end", "backends and workload included");
  maybe("/kernel/dead_letters", "dead letters", "messages to stopped or unknown agents");
  maybe("/kernel/messages_delivered", "messages delivered", "between agents");
  out += html_table({"metric", "value", "meaning"}, rows, {false, true, false});
  return out;
}

std::string header_html(const json_fields& m, const std::string& dir_name) {
  const auto item = [](const std::string& label, const std::string& value) {
    return value.empty() ? std::string()
                         : "<span>" + escape(label) + " <b>" + escape(value) + "</b></span>";
  };
  std::string overrides;
  if (const auto* o = m.find("/overrides"); o != nullptr && o->is_array()) {
    for (const auto& v : o->get_array()) {
      overrides += (overrides.empty() ? "" : ", ") +
                   (v.is_string() ? std::string(v.get_string()) : json::serialize(v));
    }
  }
  std::string out = "<div class=\"meta\">";
  out += item("scenario", m.text("/scenario_name"));
  out += item("seed", m.text("/seed"));
  out += item("overrides", overrides.empty() ? "none" : overrides);
  if (const auto until = m.maybe_number("/until_seconds")) {
    out += item("until", duration_text(*until));
  }
  out += item("threads", m.text("/threads"));
  out += item("colony", m.text("/colony_version"));
  out += item("event schema", m.text("/event_schema_version"));
  if (const auto from = m.text("/library_from"); !from.empty()) out += item("library from", from);
  out += "</div>\n<div class=\"meta\">";
  out += item("run directory", dir_name);
  out += item("scenario file", m.text("/scenario"));
  out += item("hash", m.text("/scenario_hash"));
  out += item("started", m.text("/started"));
  out += item("finished", m.text("/finished"));
  out += "</div>\n";
  if (const auto command = m.text("/command"); !command.empty()) {
    out += "<div class=\"meta\"><span>command <code>" + escape(command) + "</code></span></div>\n";
  }
  return out;
}

}  // namespace

result<std::string> run_report(const fs::path& dir) {
  auto manifest = read_json_object(dir / "manifest.json");
  if (!manifest) return manifest.error();
  json_fields m(*manifest, dir / "manifest.json");

  auto metrics = read_buckets(dir);
  if (!metrics) return metrics.error();

  auto summary_object = read_json_object(dir / "summary.json");
  if (!summary_object) return summary_object.error();
  json_fields s(*summary_object, dir / "summary.json");
  summary_numbers n;
  n.arrived = s.number("/arrived");
  n.completed = s.number("/completed");
  n.succeeded = s.number("/succeeded");
  n.failed = s.number("/failed");
  n.success_rate = s.number("/success_rate");
  n.cost = s.number("/cost");
  n.cost_per_success = s.number("/cost_per_success");
  n.p50 = s.number("/latency_ms/p50");
  n.p95 = s.number("/latency_ms/p95");
  n.p99 = s.number("/latency_ms/p99");
  const auto& backends = s.object("/backends");
  if (auto ok = s.check(); !ok) return ok.error();

  auto snapshots = read_snapshots(dir);
  if (!snapshots) return snapshots.error();
  auto events = read_structural_events(dir);
  if (!events) return events.error();
  double end = std::max(metrics->end.back(), static_cast<double>(snapshots->back().t) / 1e6);
  if (const auto simulated = s.maybe_number("/simulated_seconds")) end = std::max(end, *simulated);
  auto history = read_history(dir, *snapshots, end);
  if (!history) return history.error();
  const auto end_time = static_cast<sim_time>(std::llround(end * 1e6));
  const snapshot last = replay(snapshot_before(*snapshots, end_time), *events, end_time);

  const buckets& b = *metrics;
  time_axis t{.unit = time_unit_for(end), .end = end};
  t.per = "per " + duration_text(b.bucket_seconds * static_cast<double>(b.merged));
  std::string bucket_note = "Each point is one bucket of " + duration_text(b.bucket_seconds) +
                            " (" + std::to_string(b.rows) + " buckets in metrics.csv)";
  if (b.merged > 1) {
    bucket_note = "Each point merges " + std::to_string(b.merged) + " buckets of " +
                  duration_text(b.bucket_seconds) + " (" + std::to_string(b.rows) +
                  " in metrics.csv)";
  }
  bucket_note += "; hover for the values.";

  std::vector<page_section> sections;
  sections.push_back({"summary", "Summary", "Totals of the whole run, from summary.json.",
                      summary_body(s, n), true});
  sections.push_back({"chart-tasks", "Tasks per bucket", escape(bucket_note), tasks_chart(b, t)});
  sections.push_back({"chart-success", "Success rate",
                      escape("Tasks that succeeded of those that ended in the bucket (the axis "
                             "starts at the lowest rate, in steps of 5%)."),
                      success_chart(b, t)});
  sections.push_back(
      {"chart-latency", "Latency",
       escape(b.merged > 1 ? "Percentiles of task latency, arrival to answer; merged points "
                             "average the buckets' percentiles weighted by completed tasks."
                           : "Percentiles of task latency per bucket, arrival to answer."),
       latency_chart(b, t)});
  sections.push_back({"chart-cost", "Cost",
                      escape("Cost per bucket (bars, left axis) and cumulative cost (line, right "
                             "axis), in the unit of the scenario's prices."),
                      cost_chart(b, t)});
  if (b.library()) {
    sections.push_back(
        {"chart-library", "Solution library",
         escape("Hit rate: the share of tasks that consulted the library and did not generate "
                "from scratch; mean similarity of the best match; live entries on the right."),
         library_chart(b, t)});
  }
  sections.push_back({"chart-agents", "Agents alive",
                      escape("Agents alive at the end of each bucket, backends, workload, library "
                             "and stores included."),
                      agents_chart(b, t)});
  std::string timeline_note;
  auto timeline = timeline_svg(*history, max_timeline_rows, timeline_note);
  sections.push_back(
      {"timeline", "Topology timeline",
       escape("Each agent's life from its spawn to its stop (or the end of the run), with the "
              "organizer's decisions; hover over a bar or a marker for its reason. Click a legend "
              "entry to dim those markers. " +
              timeline_note),
       std::move(timeline), true});
  std::string topology_note;
  auto graph = topology_svg(last, topology_note);
  sections.push_back(
      {"topology", "Final topology",
       escape("The network at " + clock(end) +
              " (the last snapshot of topology.jsonl, brought "
              "to the end of the run): " +
              std::to_string(last.agents.size()) + " agents, " + std::to_string(last.edges.size()) +
              " edges. Columns by longest path from the workload; backends, library and stores "
              "last. Edge width grows with the log of requests sent since the start. " +
              topology_note),
       std::move(graph), true});
  sections.push_back({"chart-backends", "Backends",
                      escape("Calls, tokens and cost per backend over the whole run, from "
                             "summary.json."),
                      backends_body(backends), true});
  const auto name = m.text("/scenario_name");
  return html_page((name.empty() ? std::string("run") : name) + " \xE2\x80\x94 Colony run report",
                   header_html(m, dir.filename().empty() ? dir.parent_path().filename().string()
                                                         : dir.filename().string()),
                   sections);
}

}  // namespace colony::cli::reporting
