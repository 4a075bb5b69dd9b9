#include "report_sweep.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <map>
#include <vector>

#include "report_chart.hpp"
#include "report_page.hpp"
#include "run_outputs.hpp"

namespace colony::cli::reporting {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// Metrics shown first, in this order, when the sweep has them.
constexpr const char* leading_metrics[] = {"success_rate", "cost", "latency_p95_ms"};
// Metrics of the aggregate table, when the sweep has them.
constexpr const char* table_metrics[] = {"success_rate", "cost", "cost_per_success",
                                         "latency_p95_ms", "library_hit_rate"};

struct point {
  std::string id;
  std::vector<json::value> values;  // in parameter order
};

struct sweep {
  std::string name, scenario, until;
  std::vector<std::string> parameters, fixed, metrics;
  std::vector<point> points;
  std::vector<std::string> seeds;
  std::size_t runs = 0;
  std::string first_run;
};

result<sweep> read_sweep(const fs::path& dir) {
  const auto path = dir / "sweep.json";
  auto object = read_json_object(path);
  if (!object) return object.error();
  json_fields f(*object, path);
  sweep s;
  s.name = f.string("/name");
  s.scenario = f.string("/scenario");
  s.until = f.text("/until");
  const auto strings = [&](const char* pointer, std::vector<std::string>& out) {
    const auto& a = f.array(pointer);
    for (std::size_t i = 0; i < a.size(); ++i) {
      out.push_back(f.string(std::string(pointer) + "/" + std::to_string(i)));
    }
  };
  strings("/parameters", s.parameters);
  strings("/metrics", s.metrics);
  if (f.find("/set") != nullptr) strings("/set", s.fixed);
  const auto& seeds = f.array("/seeds");
  for (const auto& v : seeds) s.seeds.push_back(json_text(v));
  const auto& points = f.array("/points");
  for (std::size_t i = 0; i < points.size(); ++i) {
    const std::string at = "/points/" + std::to_string(i);
    point p{.id = f.string(at + "/point")};
    const auto& values = f.object(at + "/values");
    // A point that leaves a path out runs with the scenario's own value: null here.
    for (const auto& name : s.parameters) {
      const auto* v = values.if_contains(name);
      p.values.push_back(v != nullptr ? *v : json::value());
    }
    s.points.push_back(std::move(p));
  }
  const auto& runs = f.array("/runs");
  s.runs = runs.size();
  if (!runs.empty()) s.first_run = f.text("/runs/0/run");
  if (auto ok = f.check(); !ok) return ok.error();
  if (s.points.empty()) return fail(errc::bad_input, path.string() + ": error: /points: empty");
  return s;
}

// A metric of a CSV row by point: results.csv holds one row per run, aggregate.csv one per point.
struct metric_rows {
  std::vector<std::size_t> point;  // index into sweep::points
  std::vector<std::string> run, seed;
  std::map<std::string, std::vector<double>> values;  // by column
};

result<metric_rows> read_rows(const csv_table& t, const sweep& s,
                              const std::vector<std::string>& columns, bool per_run) {
  metric_rows out;
  const auto point_column = t.column("point");
  if (point_column == std::string::npos) {
    return fail(errc::bad_input, t.path.string() + ":1: error: no column \"point\"");
  }
  const auto run_column = t.column("run"), seed_column = t.column("seed");
  if (per_run && (run_column == std::string::npos || seed_column == std::string::npos)) {
    return fail(errc::bad_input, t.path.string() + ":1: error: no column \"" +
                                     (run_column == std::string::npos ? "run" : "seed") + "\"");
  }
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto& id = t.rows[r][point_column];
    const auto it =
        std::find_if(s.points.begin(), s.points.end(), [&](const point& p) { return p.id == id; });
    if (it == s.points.end()) {
      return fail(errc::bad_input, t.path.string() + ":" + std::to_string(t.lines[r]) +
                                       ": error: point \"" + id + "\" is not in sweep.json");
    }
    out.point.push_back(static_cast<std::size_t>(it - s.points.begin()));
    if (per_run) {
      out.run.push_back(t.rows[r][run_column]);
      out.seed.push_back(t.rows[r][seed_column]);
    }
  }
  for (const auto& c : columns) {
    auto values = numbers(t, c);
    if (!values) return values.error();
    out.values[c] = std::move(*values);
  }
  return out;
}

// A parameter's value as the report shows it; a point without one runs with the scenario's.
std::string value_text(const json::value& v) {
  return v.is_null() ? "(scenario's)" : json_text(v);
}

bool is_rate(const std::string& metric) {
  return metric.find("rate") != std::string::npos || metric.find("share") != std::string::npos;
}

std::string metric_label(const std::string& metric) {
  if (metric.ends_with("_ms")) return metric + " (ms)";
  if (metric == "cost" || metric.starts_with("cost_") || metric.ends_with("_cost")) {
    return metric + " (price units)";
  }
  return metric;
}

std::string metric_value(const std::string& metric, double v) {
  return is_rate(metric) ? percent(v, 2) : readable(v);
}

// Short names of the parameters for legends: the last part of the path, unless two share it.
std::vector<std::string> short_names(const std::vector<std::string>& parameters) {
  std::vector<std::string> out;
  for (const auto& p : parameters) {
    const auto dot = p.find_last_of('.');
    out.push_back(dot == std::string::npos ? p : p.substr(dot + 1));
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (std::count(out.begin(), out.end(), out[i]) > 1) out[i] = parameters[i];
  }
  return out;
}

struct chart_inputs {
  const sweep& s;
  const metric_rows& runs;
  const metric_rows& aggregate;
  const std::vector<std::string>& names;  // short parameter names
};

std::string sweep_chart(const chart_inputs& in, const std::string& metric, std::size_t param) {
  const auto& s = in.s;
  xy_chart c;
  c.id = "sweep-" + metric + "-" + std::to_string(param);
  c.css_class = "sweep-chart";
  c.aria = metric + " against " + s.parameters[param];
  c.width = 560;
  c.height = 330;
  c.x.label = s.parameters[param];
  c.x.from_zero = false;
  c.y.label = metric_label(metric);
  c.y.from_zero = false;
  c.y.percent = is_rate(metric);
  c.y.tick_count = 5;

  const bool numeric = std::all_of(s.points.begin(), s.points.end(),
                                   [&](const point& p) { return p.values[param].is_number(); });
  c.x.integer = numeric && std::all_of(s.points.begin(), s.points.end(), [&](const point& p) {
                  const double v = p.values[param].to_number<double>();
                  return v == std::round(v);
                });
  std::vector<double> x_of(s.points.size());
  for (std::size_t i = 0; i < s.points.size(); ++i) {
    const auto& v = s.points[i].values[param];
    if (numeric) {
      x_of[i] = v.to_number<double>();
      continue;
    }
    const auto label = value_text(v);
    auto it = std::find(c.categories.begin(), c.categories.end(), label);
    if (it == c.categories.end()) it = c.categories.insert(c.categories.end(), label);
    x_of[i] = static_cast<double>(it - c.categories.begin());
  }
  // One line per combination of the other parameters, in the order points list them.
  std::vector<std::string> combos;
  std::vector<std::size_t> combo_of(s.points.size());
  for (std::size_t i = 0; i < s.points.size(); ++i) {
    std::string key;
    for (std::size_t j = 0; j < s.parameters.size(); ++j) {
      if (j == param) continue;
      key += (key.empty() ? "" : ", ") + in.names[j] + "=" + value_text(s.points[i].values[j]);
    }
    auto it = std::find(combos.begin(), combos.end(), key);
    if (it == combos.end()) it = combos.insert(combos.end(), key);
    combo_of[i] = static_cast<std::size_t>(it - combos.begin());
  }
  std::vector<std::string> seeds;
  for (const auto& seed : in.runs.seed) {
    if (std::find(seeds.begin(), seeds.end(), seed) == seeds.end()) seeds.push_back(seed);
  }
  const auto& mean = in.aggregate.values.at(metric + "_mean");
  const auto* low = in.aggregate.values.contains(metric + "_ci95_low")
                        ? &in.aggregate.values.at(metric + "_ci95_low")
                        : nullptr;
  const auto* high = in.aggregate.values.contains(metric + "_ci95_high")
                         ? &in.aggregate.values.at(metric + "_ci95_high")
                         : nullptr;
  const auto* run_values = in.runs.values.contains(metric) ? &in.runs.values.at(metric) : nullptr;
  const auto* counts =
      in.aggregate.values.contains("runs") ? &in.aggregate.values.at("runs") : nullptr;

  for (std::size_t k = 0; k < combos.size(); ++k) {
    const auto colour = palette(k);
    const auto group = "c" + std::to_string(k);
    const double dodge = c.categories.empty() || combos.size() == 1
                             ? 0
                             : (static_cast<double>(k) - (combos.size() - 1) / 2.0) * 10;
    // The points of this line, by x.
    std::vector<std::size_t> rows;
    for (std::size_t r = 0; r < in.aggregate.point.size(); ++r) {
      if (combo_of[in.aggregate.point[r]] == k) rows.push_back(r);
    }
    std::stable_sort(rows.begin(), rows.end(), [&](std::size_t a, std::size_t b) {
      return x_of[in.aggregate.point[a]] < x_of[in.aggregate.point[b]];
    });
    chart_band band{.colour = colour, .group = group, .x_offset = dodge};
    chart_series line{
        .name = combos.size() == 1 || combos[k].empty() ? "mean and 95% CI" : combos[k],
        .colour = colour,
        .x_offset = dodge,
        .group = group};
    chart_series marks{.colour = colour,
                       .kind = chart_series::mark::dots,
                       .width = 3.5,
                       .x_offset = dodge,
                       .group = group};
    for (const auto r : rows) {
      const auto& p = s.points[in.aggregate.point[r]];
      const double x = x_of[in.aggregate.point[r]];
      const double lo = low != nullptr ? (*low)[r] : nan;
      const double hi = high != nullptr ? (*high)[r] : nan;
      band.x.push_back(x);
      band.low.push_back(lo);
      band.high.push_back(hi);
      line.x.push_back(x);
      line.y.push_back(mean[r]);
      marks.x.push_back(x);
      marks.y.push_back(mean[r]);
      std::string tip = p.id + ": ";
      for (std::size_t j = 0; j < s.parameters.size(); ++j) {
        tip += (j > 0 ? ", " : "") + in.names[j] + "=" + value_text(p.values[j]);
      }
      tip += "\nmean " + metric_value(metric, mean[r]);
      if (std::isfinite(lo) && std::isfinite(hi)) {
        tip += "\n95% CI " + metric_value(metric, lo) + " \xE2\x80\x93 " + metric_value(metric, hi);
      } else {
        tip += "\nno confidence interval (one run)";
      }
      if (counts != nullptr) tip += "\nruns " + readable((*counts)[r]);
      marks.tips.push_back(tip);
    }
    c.bands.push_back(std::move(band));
    c.series.push_back(std::move(line));
    // Each run as a faint dot, seeds side by side.
    if (run_values != nullptr) {
      for (std::size_t si = 0; si < seeds.size(); ++si) {
        chart_series dots{
            .colour = colour,
            .kind = chart_series::mark::dots,
            .width = 2.6,
            .opacity = 0.45,
            .x_offset =
                dodge + (static_cast<double>(si) - (static_cast<double>(seeds.size()) - 1) / 2) * 4,
            .group = group};
        for (std::size_t r = 0; r < in.runs.point.size(); ++r) {
          if (in.runs.seed[r] != seeds[si] || combo_of[in.runs.point[r]] != k) continue;
          dots.x.push_back(x_of[in.runs.point[r]]);
          dots.y.push_back((*run_values)[r]);
          dots.tips.push_back(in.runs.run[r] + " (seed " + seeds[si] +
                              "): " + metric_value(metric, (*run_values)[r]));
        }
        if (!dots.x.empty()) c.series.push_back(std::move(dots));
      }
    }
    c.series.push_back(std::move(marks));
  }
  return svg(c);
}

std::string header_html(const sweep& s, const std::string& version) {
  const auto item = [](const std::string& label, const std::string& value) {
    return "<span>" + escape(label) + " <b>" + escape(value) + "</b></span>";
  };
  std::string seeds;
  for (const auto& seed : s.seeds) seeds += (seeds.empty() ? "" : ", ") + seed;
  std::string out = "<div class=\"meta\">";
  out += item("sweep", s.name);
  out += item("scenario", fs::path(s.scenario).filename().string());
  out += item("parameters", std::to_string(s.parameters.size()));
  out += item("points", std::to_string(s.points.size()));
  out += item("seeds", seeds);
  out += item("runs", std::to_string(s.runs));
  out += item("until", s.until.empty() ? "the scenario's duration" : s.until);
  if (!version.empty()) out += item("colony", version);
  out += "</div>\n<div class=\"meta\">";
  out += item("scenario file", s.scenario);
  std::string fixed;
  for (const auto& f : s.fixed) fixed += (fixed.empty() ? "" : " ") + f;
  out += item("fixed overrides", fixed.empty() ? "none" : fixed);
  out += "</div>\n";
  return out;
}

}  // namespace

result<std::string> sweep_report(const fs::path& dir) {
  auto s = read_sweep(dir);
  if (!s) return s.error();
  auto results = read_csv(dir / "results.csv");
  if (!results) return results.error();
  auto aggregate = read_csv(dir / "aggregate.csv");
  if (!aggregate) return aggregate.error();

  // The metrics to draw: those of sweep.json that aggregate.csv has, the leading ones first.
  std::vector<std::string> metrics;
  for (const char* m : leading_metrics) {
    if (std::find(s->metrics.begin(), s->metrics.end(), m) != s->metrics.end()) {
      metrics.push_back(m);
    }
  }
  for (const auto& m : s->metrics) {
    if (std::find(metrics.begin(), metrics.end(), m) == metrics.end()) metrics.push_back(m);
  }
  std::erase_if(metrics, [&](const std::string& m) {
    return aggregate->column(m + "_mean") == std::string::npos;
  });
  std::vector<std::string> aggregate_columns, result_columns;
  for (const auto& m : metrics) {
    for (const char* suffix : {"_mean", "_ci95_low", "_ci95_high"}) {
      if (aggregate->column(m + suffix) != std::string::npos) {
        aggregate_columns.push_back(m + suffix);
      }
    }
    if (results->column(m) != std::string::npos) result_columns.push_back(m);
  }
  if (aggregate->column("runs") != std::string::npos) aggregate_columns.push_back("runs");
  auto runs = read_rows(*results, *s, result_columns, true);
  if (!runs) return runs.error();
  auto points = read_rows(*aggregate, *s, aggregate_columns, false);
  if (!points) return points.error();

  std::string version;
  if (!s->first_run.empty()) {
    if (auto m = read_json_object(dir / "runs" / s->first_run / "manifest.json")) {
      version = json_fields(*m, {}).text("/colony_version");
    }
  }
  const auto names = short_names(s->parameters);

  std::vector<page_section> sections;
  {
    std::vector<std::vector<std::string>> rows;
    for (std::size_t j = 0; j < s->parameters.size(); ++j) {
      std::string values;
      std::vector<std::string> seen;
      for (const auto& p : s->points) {
        const auto v = value_text(p.values[j]);
        if (std::find(seen.begin(), seen.end(), v) != seen.end()) continue;
        seen.push_back(v);
        values += (values.empty() ? "" : ", ") + v;
      }
      rows.push_back(
          {std::to_string(j), "<code>" + escape(s->parameters[j]) + "</code>", escape(values)});
    }
    std::string metric_list;
    for (const auto& m : s->metrics) metric_list += (metric_list.empty() ? "" : ", ") + m;
    sections.push_back({"sweep-parameters", "Parameters",
                        escape("The swept paths and their values; every point runs with each "
                               "seed. Metrics recorded: " +
                               metric_list + "."),
                        html_table({"#", "parameter", "values"}, rows, {true, false, false}),
                        true});
  }
  {
    const chart_inputs in{*s, *runs, *points, names};
    std::string grid = "<div class=\"chart-grid\">\n";
    std::size_t charts = 0;
    for (const auto& m : metrics) {
      for (std::size_t j = 0; j < s->parameters.size(); ++j) {
        grid += "<figure><figcaption><b>" + escape(m) + "</b> against <code>" +
                escape(s->parameters[j]) + "</code></figcaption>\n" + sweep_chart(in, m, j) +
                "</figure>\n";
        ++charts;
      }
    }
    grid += "</div>";
    if (charts == 0) {
      grid = s->parameters.empty()
                 ? "<p class=\"note\">The sweep has no parameters.</p>"
                 : "<p class=\"note\">No metric of sweep.json is in aggregate.csv.</p>";
    }
    sections.push_back(
        {"sweep-charts", "Metrics against parameters",
         escape("Mean over seeds (line) with its 95% confidence interval (band; none where a "
                "point has one run), and each run as a faint dot. With several parameters, one "
                "line per combination of the others. Hover for the numbers; click a legend "
                "entry to dim a line."),
         grid, true});
  }
  {
    std::vector<std::string> shown;
    for (const char* m : table_metrics) {
      if (std::find(metrics.begin(), metrics.end(), m) != metrics.end()) shown.push_back(m);
    }
    for (const auto& m : metrics) {
      if (shown.size() >= 5) break;
      if (std::find(shown.begin(), shown.end(), m) == shown.end()) shown.push_back(m);
    }
    std::vector<std::string> head{"point"};
    std::vector<bool> numeric{false};
    for (const auto& n : names) {
      head.push_back(escape(n));
      numeric.push_back(false);
    }
    head.push_back("runs");
    numeric.push_back(true);
    for (const auto& m : shown) {
      head.push_back(escape(m) + " <small>mean \xC2\xB1 95% CI</small>");
      numeric.push_back(true);
    }
    std::vector<std::vector<std::string>> rows;
    for (std::size_t r = 0; r < points->point.size(); ++r) {
      const auto& p = s->points[points->point[r]];
      std::vector<std::string> row{escape(p.id)};
      for (const auto& v : p.values) row.push_back(escape(value_text(v)));
      row.push_back(points->values.contains("runs") ? readable(points->values["runs"][r])
                                                    : "\xE2\x80\x93");
      for (const auto& m : shown) {
        const double mean = points->values[m + "_mean"][r];
        std::string cell = metric_value(m, mean);
        if (points->values.contains(m + "_ci95_low") && points->values.contains(m + "_ci95_high")) {
          const double half =
              (points->values[m + "_ci95_high"][r] - points->values[m + "_ci95_low"][r]) / 2;
          if (std::isfinite(half)) cell += " \xC2\xB1 " + metric_value(m, half);
        }
        row.push_back(cell);
      }
      rows.push_back(std::move(row));
    }
    sections.push_back({"sweep-aggregate", "Aggregate",
                        escape("aggregate.csv: one row per parameter point, mean over its runs "
                               "\xC2\xB1 half the 95% confidence interval (Student's t)."),
                        html_table(head, rows, numeric), true});
  }
  return html_page(s->name + " \xE2\x80\x94 Colony sweep report", header_html(*s, version),
                   sections);
}

}  // namespace colony::cli::reporting
