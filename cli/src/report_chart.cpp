#include "report_chart.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>

#include "report_page.hpp"

namespace colony::cli::reporting {
namespace {

constexpr std::array palette_colours{"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1",
                                     "#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#bab0ac"};

// Where a chart's data lands: value ranges in display units (value / divisor) mapped to a plot
// rectangle.
struct frame {
  double left = 0, top = 0, width = 0, height = 0;
  double x_lo = 0, x_hi = 1, x_div = 1;
  double y_lo = 0, y_hi = 1, y_div = 1;
  double y2_lo = 0, y2_hi = 1, y2_div = 1;

  [[nodiscard]] double px(double x) const {
    return left + (x / x_div - x_lo) / (x_hi - x_lo) * width;
  }
  [[nodiscard]] double py(double y, bool right = false) const {
    const double lo = right ? y2_lo : y_lo, hi = right ? y2_hi : y_hi;
    const double div = right ? y2_div : y_div;
    return top + height - (y / div - lo) / (hi - lo) * height;
  }
  [[nodiscard]] double bottom() const { return top + height; }
  [[nodiscard]] double right_edge() const { return left + width; }
};

std::string key_of(const chart_series& s, std::size_t i) {
  return s.group.empty() ? "s" + std::to_string(i) : s.group;
}

std::string dash(bool dashed) {
  return dashed ? " stroke-dasharray=\"6 4\"" : "";
}

std::string tick_text(double v, double step, bool as_percent) {
  if (as_percent) return tick_label(v * 100, step * 100) + "%";
  return tick_label(v, step);
}

// The data range of one axis over the series drawn against it and the bands (left axis only).
void y_extent(const xy_chart& c, bool right, double& lo, double& hi) {
  lo = std::numeric_limits<double>::infinity();
  hi = -lo;
  const auto take = [&](double v) {
    if (std::isfinite(v)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  };
  for (const auto& s : c.series) {
    if (s.right != right) continue;
    for (const double v : s.y) take(v);
  }
  if (!right) {
    for (const auto& b : c.bands) {
      for (const double v : b.low) take(v);
      for (const double v : b.high) take(v);
    }
  }
}

ticks y_ticks(const chart_axis& a, double lo, double hi) {
  const double min_step = a.integer ? 1 : 0;
  if (a.min < a.max) {
    return nice_ticks(a.min / a.divisor, a.max / a.divisor, a.tick_count, min_step);
  }
  if (!std::isfinite(lo)) {
    lo = 0;
    hi = 1;
  }
  if (a.from_zero) {
    lo = std::min(lo, 0.0);
    hi = std::max(hi, 0.0);
  }
  return nice_ticks(lo / a.divisor, hi / a.divisor, a.tick_count, min_step);
}

std::string line_path(const frame& f, const chart_series& s) {
  std::string d;
  bool pen_down = false;
  for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
    if (!std::isfinite(s.y[i])) {
      pen_down = false;
      continue;
    }
    const double x = f.px(s.x[i]) + s.x_offset, y = f.py(s.y[i], s.right);
    if (s.kind == chart_series::mark::step && pen_down) {
      d += "H" + coord(x) + "V" + coord(y);
    } else {
      d += (pen_down ? "L" : "M") + coord(x) + " " + coord(y);
    }
    if (s.kind == chart_series::mark::step && i < s.x_end.size()) {
      d += "H" + coord(f.px(s.x_end[i]) + s.x_offset);
    }
    pen_down = true;
  }
  return d;
}

std::string draw_series(const frame& f, const chart_series& s, const std::string& key) {
  const std::string common = " class=\"data\" data-series=\"" + key + "\"";
  std::string out;
  using mark = chart_series::mark;
  if (s.kind == mark::line || s.kind == mark::step) {
    const auto d = line_path(f, s);
    if (d.empty()) return out;
    out += "<path" + common + " pointer-events=\"none\" d=\"" + d + "\" fill=\"none\" stroke=\"" +
           s.colour + "\" stroke-width=\"" + coord(s.width) + "\" stroke-linejoin=\"round\"" +
           dash(s.dashed) +
           (s.opacity < 1 ? " stroke-opacity=\"" + coord(s.opacity) + "\"" : std::string()) +
           "/>\n";
    // Few points: mark each, so a lone point between gaps shows too.
    std::size_t shown = 0;
    for (const double y : s.y) shown += std::isfinite(y) ? 1 : 0;
    if (s.kind == mark::line && shown <= 60) {
      out += "<g data-series=\"" + key + "\" pointer-events=\"none\" fill=\"" + s.colour + "\">";
      for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
        if (!std::isfinite(s.y[i])) continue;
        out += "<circle cx=\"" + coord(f.px(s.x[i]) + s.x_offset) + "\" cy=\"" +
               coord(f.py(s.y[i], s.right)) + "\" r=\"" + coord(s.width + 1) + "\"/>";
      }
      out += "</g>\n";
    }
    return out;
  }
  const bool tipped = std::any_of(s.tips.begin(), s.tips.end(), [](auto& t) { return !t.empty(); });
  out += "<g" + common + (tipped ? "" : " pointer-events=\"none\"") + " fill=\"" + s.colour + "\"" +
         (s.opacity < 1 ? " fill-opacity=\"" + coord(s.opacity) + "\"" : std::string()) + ">";
  for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
    if (!std::isfinite(s.y[i])) continue;
    const std::string tip =
        i < s.tips.size() && !s.tips[i].empty() ? "<title>" + escape(s.tips[i]) + "</title>" : "";
    if (s.kind == mark::dots) {
      out += "<circle cx=\"" + coord(f.px(s.x[i]) + s.x_offset) + "\" cy=\"" +
             coord(f.py(s.y[i], s.right)) + "\" r=\"" + coord(s.width) + "\">" + tip + "</circle>";
      continue;
    }
    double x0 = f.px(s.x[i]) + s.x_offset;
    double x1 = i < s.x_end.size() ? f.px(s.x_end[i]) + s.x_offset : x0 + 4;
    if (x1 - x0 > 4) {
      x0 += 0.5;
      x1 -= 0.5;
    }
    const double base =
        f.py(std::max(0.0, (s.right ? f.y2_lo * f.y2_div : f.y_lo * f.y_div)), s.right);
    const double y = f.py(s.y[i], s.right);
    out += "<rect x=\"" + coord(x0) + "\" y=\"" + coord(std::min(y, base)) + "\" width=\"" +
           coord(std::max(x1 - x0, 1.0)) + "\" height=\"" + coord(std::fabs(base - y)) + "\">" +
           tip + "</rect>";
  }
  out += "</g>\n";
  return out;
}

std::string draw_band(const frame& f, const chart_band& b, const std::string& key) {
  std::string out;
  const auto valid = [&](std::size_t i) {
    return i < b.low.size() && i < b.high.size() && std::isfinite(b.low[i]) &&
           std::isfinite(b.high[i]);
  };
  const std::string common = " class=\"data band\" data-series=\"" + key + "\"";
  std::size_t i = 0;
  while (i < b.x.size()) {
    if (!valid(i)) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j + 1 < b.x.size() && valid(j + 1)) ++j;
    if (j == i) {
      // A lone interval: an error bar.
      const double x = f.px(b.x[i]) + b.x_offset;
      const double lo = f.py(b.low[i]), hi = f.py(b.high[i]);
      out += "<path" + common + " d=\"M" + coord(x) + " " + coord(lo) + "V" + coord(hi) + "M" +
             coord(x - 4) + " " + coord(lo) + "H" + coord(x + 4) + "M" + coord(x - 4) + " " +
             coord(hi) + "H" + coord(x + 4) + "\" stroke=\"" + b.colour +
             "\" stroke-width=\"1.5\" stroke-opacity=\"0.7\" fill=\"none\"/>\n";
    } else {
      std::string points;
      for (std::size_t k = i; k <= j; ++k) {
        points += coord(f.px(b.x[k]) + b.x_offset) + "," + coord(f.py(b.high[k])) + " ";
      }
      for (std::size_t k = j + 1; k-- > i;) {
        points += coord(f.px(b.x[k]) + b.x_offset) + "," + coord(f.py(b.low[k])) + " ";
      }
      points.pop_back();
      out += "<polygon" + common + " points=\"" + points + "\" fill=\"" + b.colour +
             "\" fill-opacity=\"0.18\" stroke=\"" + b.colour +
             "\" stroke-opacity=\"0.35\" stroke-width=\"0.8\"/>\n";
    }
    i = j + 1;
  }
  return out;
}

// The kinds' colours; organizer-made kinds get the warmer ones.
const std::map<std::string, std::string>& kind_colours() {
  static const std::map<std::string, std::string> colours{
      {"workload", "#6b7280"},   {"organizer", "#8e5ea2"}, {"router", "#4e79a7"},
      {"specialist", "#3f9a54"}, {"committee", "#f28e2b"}, {"validator", "#2a9d9a"},
      {"aggregator", "#c9a227"}, {"pipeline", "#e06b8b"},  {"backend", "#9c755f"},
      {"library", "#b8860b"},    {"store", "#d1495b"}};
  return colours;
}

}  // namespace

std::string kind_colour(const std::string& kind) {
  const auto& colours = kind_colours();
  if (const auto it = colours.find(kind); it != colours.end()) return it->second;
  return "#8c8c8c";
}

std::string palette(std::size_t i) {
  return palette_colours[i % palette_colours.size()];
}

ticks nice_ticks(double lo, double hi, int target, double min_step) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo < 1e-12) {
    const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo = lo >= 0 && lo - pad < 0 ? 0 : lo - pad;
    hi += pad;
  }
  const double rough = (hi - lo) / std::max(target, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
  double step = magnitude * 10;
  for (const double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * magnitude >= rough * 0.999) {
      step = m * magnitude;
      break;
    }
  }
  step = std::max(step, min_step);
  ticks t;
  t.step = step;
  const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  t.lo = first * step;
  t.hi = last * step;
  for (double k = first; k <= last + 0.5; k += 1) {
    const double v = k * step;
    t.values.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  }
  return t;
}

time_unit time_unit_for(double seconds) {
  if (seconds <= 3 * 3600.0) return {60, "min", "minutes"};
  if (seconds <= 3 * 86400.0) return {3600, "h", "hours"};
  return {86400, "d", "days"};
}

std::string coord(double v) {
  auto s = decimal(std::round(v * 10) / 10, 1);
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s;
}

double text_width(const std::string& text, double font_px) {
  double units = 0;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u & 0xC0) == 0x80) continue;  // a UTF-8 continuation byte
    if (std::string_view("il.,:;'|!").find(c) != std::string_view::npos) {
      units += 0.3;
    } else if (std::string_view("mwMW").find(c) != std::string_view::npos) {
      units += 0.85;
    } else if (c >= 'A' && c <= 'Z') {
      units += 0.68;
    } else {
      units += 0.56;
    }
  }
  return units * font_px;
}

std::string fit_text(const std::string& text, double width, double font_px) {
  if (text_width(text, font_px) <= width) return text;
  // Whole UTF-8 characters, as many as fit before the ellipsis.
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t next = i + 1;
    while (next < text.size() && (static_cast<unsigned char>(text[next]) & 0xC0) == 0x80) ++next;
    const auto longer = out + text.substr(i, next - i);
    if (text_width(longer + "...", font_px) > width) break;
    out = longer;
    i = next;
  }
  return out + "\xE2\x80\xA6";
}

std::string legend(const std::vector<legend_entry>& entries, double x, double y, double right,
                   double& bottom) {
  std::string out;
  double cx = x, cy = y;
  for (const auto& e : entries) {
    const double w = 22 + text_width(e.name) + 18;
    if (cx + w > right && cx > x) {
      cx = x;
      cy += 18;
    }
    out += "<g class=\"legend-item\" data-series=\"" + e.key + "\">";
    if (e.line) {
      out += "<path d=\"M" + coord(cx) + " " + coord(cy) + "h16\" stroke=\"" + e.colour +
             "\" stroke-width=\"3\"" + dash(e.dashed) + "/>";
    } else {
      out += "<rect x=\"" + coord(cx) + "\" y=\"" + coord(cy - 5) +
             "\" width=\"14\" height=\"10\" rx=\"2\" fill=\"" + e.colour + "\"/>";
    }
    out += "<text x=\"" + coord(cx + 21) + "\" y=\"" + coord(cy + 4) + "\">" + escape(e.name) +
           "</text></g>";
    cx += w;
  }
  bottom = cy + 12;
  return out + "\n";
}

std::string svg(const xy_chart& c) {
  const bool has_right =
      std::any_of(c.series.begin(), c.series.end(), [](const auto& s) { return s.right; });

  std::vector<legend_entry> entries;
  for (std::size_t i = 0; i < c.series.size(); ++i) {
    const auto& s = c.series[i];
    const auto key = key_of(s, i);
    if (s.name.empty() ||
        std::any_of(entries.begin(), entries.end(), [&](const auto& e) { return e.key == key; })) {
      continue;
    }
    entries.push_back(
        {.name = s.name,
         .colour = s.colour,
         .key = key,
         .line = s.kind == chart_series::mark::line || s.kind == chart_series::mark::step,
         .dashed = s.dashed});
  }

  frame f;
  f.left = 66;
  const double right_margin = has_right ? 66 : 20;
  double legend_bottom = 8;
  const std::string legend_svg =
      entries.empty() ? std::string() : legend(entries, f.left, 14, c.width - 10, legend_bottom);
  f.top = legend_bottom + 10;
  f.width = c.width - f.left - right_margin;
  f.height = c.height - f.top - 48;

  // x range
  bool any_x = false;
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  const auto take_x = [&](double v) {
    if (std::isfinite(v)) {
      x_lo = std::min(x_lo, v);
      x_hi = std::max(x_hi, v);
      any_x = true;
    }
  };
  for (const auto& s : c.series) {
    for (const double v : s.x) take_x(v);
    for (const double v : s.x_end) take_x(v);
  }
  for (const auto& b : c.bands) {
    for (const double v : b.x) take_x(v);
  }
  for (const auto& h : c.hover) {
    take_x(h.x0);
    take_x(h.x1);
  }
  ticks xt;
  f.x_div = c.x.divisor;
  if (!c.categories.empty()) {
    f.x_lo = -0.5;
    f.x_hi = static_cast<double>(c.categories.size()) - 0.5;
    f.x_div = 1;
  } else {
    if (c.x.min < c.x.max) {
      x_lo = c.x.min;
      x_hi = c.x.max;
    } else if (!any_x) {
      x_lo = 0;
      x_hi = 1;
    } else if (c.x.from_zero) {
      x_lo = std::min(x_lo, 0.0);
    }
    if (x_hi - x_lo < 1e-12) {
      // One x: centre it.
      const double pad = x_lo == 0 ? 1 : std::fabs(x_lo) * 0.5;
      x_lo -= pad;
      x_hi += pad;
    }
    xt = nice_ticks(x_lo / f.x_div, x_hi / f.x_div, c.x.tick_count, c.x.integer ? 1 : 0);
    f.x_lo = x_lo / f.x_div;
    f.x_hi = x_hi / f.x_div;
    // Points at the very ends of a numeric axis with few values (parameters) get some air.
    if (c.x.min >= c.x.max && !c.x.from_zero) {
      const double pad = (f.x_hi - f.x_lo) * 0.06;
      f.x_lo -= pad;
      f.x_hi += pad;
    }
  }

  double lo = 0, hi = 0;
  y_extent(c, false, lo, hi);
  const bool has_data = std::isfinite(lo);
  const ticks yt = y_ticks(c.y, lo, hi);
  f.y_lo = yt.lo;
  f.y_hi = yt.hi;
  f.y_div = c.y.divisor;
  ticks y2t;
  if (has_right) {
    y_extent(c, true, lo, hi);
    y2t = y_ticks(c.y2, lo, hi);
    f.y2_lo = y2t.lo;
    f.y2_hi = y2t.hi;
    f.y2_div = c.y2.divisor;
  }

  std::string out = "<svg class=\"chart" + (c.css_class.empty() ? "" : " " + c.css_class) +
                    "\" id=\"" + escape(c.id) + "\" viewBox=\"0 0 " + coord(c.width) + " " +
                    coord(c.height) + "\" role=\"img\" aria-label=\"" + escape(c.aria) + "\">\n";
  // Grid and ticks.
  out += "<g>";
  for (const double v : yt.values) {
    const double y = f.top + f.height - (v - f.y_lo) / (f.y_hi - f.y_lo) * f.height;
    out += "<line class=\"grid\" x1=\"" + coord(f.left) + "\" x2=\"" + coord(f.right_edge()) +
           "\" y1=\"" + coord(y) + "\" y2=\"" + coord(y) + "\"/>";
    out += "<text x=\"" + coord(f.left - 7) + "\" y=\"" + coord(y + 4) + "\" text-anchor=\"end\">" +
           tick_text(v, yt.step, c.y.percent) + "</text>";
  }
  if (has_right) {
    for (const double v : y2t.values) {
      const double y = f.top + f.height - (v - f.y2_lo) / (f.y2_hi - f.y2_lo) * f.height;
      out += "<text x=\"" + coord(f.right_edge() + 7) + "\" y=\"" + coord(y + 4) + "\">" +
             tick_text(v, y2t.step, c.y2.percent) + "</text>";
    }
  }
  if (!c.categories.empty()) {
    const double slot = f.width / static_cast<double>(c.categories.size());
    for (std::size_t i = 0; i < c.categories.size(); ++i) {
      const double x = f.px(static_cast<double>(i));
      out += "<text x=\"" + coord(x) + "\" y=\"" + coord(f.bottom() + 17) +
             "\" text-anchor=\"middle\">" + escape(fit_text(c.categories[i], slot - 6)) +
             "<title>" + escape(c.categories[i]) + "</title></text>";
    }
  } else {
    for (const double v : xt.values) {
      if (v < f.x_lo - 1e-9 || v > f.x_hi + 1e-9) continue;
      const double x = f.left + (v - f.x_lo) / (f.x_hi - f.x_lo) * f.width;
      out += "<line class=\"grid\" x1=\"" + coord(x) + "\" x2=\"" + coord(x) + "\" y1=\"" +
             coord(f.top) + "\" y2=\"" + coord(f.bottom()) + "\"/>";
      out += "<text x=\"" + coord(x) + "\" y=\"" + coord(f.bottom() + 17) +
             "\" text-anchor=\"middle\">" + tick_text(v, xt.step, c.x.percent) + "</text>";
    }
  }
  out += "<line class=\"axis\" x1=\"" + coord(f.left) + "\" x2=\"" + coord(f.left) + "\" y1=\"" +
         coord(f.top) + "\" y2=\"" + coord(f.bottom()) + "\"/>";
  out += "<line class=\"axis\" x1=\"" + coord(f.left) + "\" x2=\"" + coord(f.right_edge()) +
         "\" y1=\"" + coord(f.bottom()) + "\" y2=\"" + coord(f.bottom()) + "\"/>";
  if (has_right) {
    out += "<line class=\"axis\" x1=\"" + coord(f.right_edge()) + "\" x2=\"" +
           coord(f.right_edge()) + "\" y1=\"" + coord(f.top) + "\" y2=\"" + coord(f.bottom()) +
           "\"/>";
  }
  out += "</g>\n";
  // Axis labels.
  const double mid_y = f.top + f.height / 2;
  out += "<text class=\"axis-label\" x=\"" + coord(f.left + f.width / 2) + "\" y=\"" +
         coord(c.height - 8) + "\" text-anchor=\"middle\">" + escape(c.x.label) + "</text>\n";
  out += "<text class=\"axis-label\" transform=\"translate(14 " + coord(mid_y) +
         ") rotate(-90)\" text-anchor=\"middle\">" + escape(c.y.label) + "</text>\n";
  if (has_right) {
    out += "<text class=\"axis-label\" transform=\"translate(" + coord(c.width - 10) + " " +
           coord(mid_y) + ") rotate(90)\" text-anchor=\"middle\">" + escape(c.y2.label) +
           "</text>\n";
  }

  if (!has_data) {
    out += "<text x=\"" + coord(f.left + f.width / 2) + "\" y=\"" + coord(mid_y) +
           "\" text-anchor=\"middle\" class=\"axis-label\">" + escape(c.empty_text) +
           "</text>\n</svg>";
    return out;
  }

  if (!c.hover.empty()) {
    out += "<g>";
    for (const auto& h : c.hover) {
      const double x0 = f.px(h.x0), x1 = f.px(h.x1);
      out += "<rect class=\"hover\" pointer-events=\"all\" x=\"" + coord(x0) + "\" y=\"" +
             coord(f.top) + "\" width=\"" + coord(std::max(x1 - x0, 1.0)) + "\" height=\"" +
             coord(f.height) + "\"><title>" + escape(h.text) + "</title></rect>";
    }
    out += "</g>\n";
  }
  for (const auto& b : c.bands) {
    std::string key = b.group;
    if (key.empty()) key = "band";
    out += draw_band(f, b, key);
  }
  for (std::size_t i = 0; i < c.series.size(); ++i) {
    out += draw_series(f, c.series[i], key_of(c.series[i], i));
  }
  out += legend_svg;
  out += "</svg>";
  return out;
}

}  // namespace colony::cli::reporting
