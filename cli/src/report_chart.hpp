#pragma once
// Charts of `colony report`, written as SVG text: an x/y chart (lines, steps, bars, dots and
// bands, one or two y axes, a numeric or categorical x axis) and the pieces the other drawings
// share (nice ticks, the colour palette, the simulated-time axis).
#include <cstddef>
#include <string>
#include <vector>

namespace colony::cli::reporting {

/// The i-th colour of the palette (Tableau 10, cycled), as "#rrggbb".
[[nodiscard]] std::string palette(std::size_t i);

/// The colour of an agent kind ("specialist", "backend", ...), as "#rrggbb"; grey for others.
[[nodiscard]] std::string kind_colour(const std::string& kind);

/// Evenly spaced round values covering [lo, hi]: about `target` of them, a step of 1, 2, 2.5 or
/// 5 times a power of ten. `lo` and `hi` are widened to the first and last tick.
struct ticks {
  double lo = 0, hi = 1, step = 1;
  std::vector<double> values;
};
/// A step is never below `min_step` (1 for counts).
[[nodiscard]] ticks nice_ticks(double lo, double hi, int target, double min_step = 0);

/// How simulated time is shown: seconds divided by `seconds` and suffixed with `unit`.
struct time_unit {
  double seconds = 3600;
  std::string unit = "h";  ///< "min", "h" or "d"
  std::string name = "hours";
};
/// The unit that keeps a span of `seconds` readable: minutes up to 3 h, hours up to 3 d, days.
[[nodiscard]] time_unit time_unit_for(double seconds);

/// One axis of an x/y chart.
struct chart_axis {
  std::string label;        ///< under (x) or beside (y) the axis, with its unit
  double divisor = 1;       ///< ticks show value / divisor (3600 for hours of seconds)
  bool percent = false;     ///< ticks as percentages of values in [0, 1]
  bool from_zero = true;    ///< the range includes 0
  double min = 0, max = 0;  ///< a fixed range when min < max; else from the data
  int tick_count = 6;       ///< about how many ticks
  bool integer = false;     ///< counts: no tick between integers
};

/// A line, a step line, bars or dots.
struct chart_series {
  enum class mark { line, step, bars, dots };
  std::string name;    ///< in the legend; "" keeps it out of the legend
  std::string colour;  ///< "#rrggbb"
  mark kind = mark::line;
  std::vector<double> x, y;       ///< y NaN: a gap (no bar, no dot)
  std::vector<double> x_end;      ///< bars: where each bar ends (it starts at x)
  std::vector<std::string> tips;  ///< dots: a tooltip each (or none)
  bool right = false;             ///< drawn against the right axis
  bool dashed = false;
  double width = 2;  ///< line width or dot radius
  double opacity = 1;
  double x_offset = 0;  ///< shifts every mark by this many pixels (dodging categories)
  std::string group;    ///< series sharing a group toggle together from the legend ("" : own)
};

/// A filled area between `low` and `high` (a confidence band); NaN at a point breaks it there,
/// and a lone point between breaks becomes an error bar.
struct chart_band {
  std::string colour;
  std::vector<double> x, low, high;
  std::string group;  ///< toggles with the series of the same group
  double x_offset = 0;
};

/// A column of the plot (from x0 to x1) whose hover shows `text` as a tooltip.
struct chart_hover {
  double x0 = 0, x1 = 0;
  std::string text;
};

/// An x/y chart. Sizes are in SVG units; the page scales the SVG to its card.
struct xy_chart {
  std::string id;         ///< the <svg>'s id
  std::string css_class;  ///< more classes of the <svg> than "chart"
  std::string aria;       ///< what the chart shows, for screen readers
  double width = 640, height = 300;
  chart_axis x, y, y2;                  ///< y2: the right axis, drawn when a series is `right`
  std::vector<std::string> categories;  ///< non-empty: x is categorical, x values index it
  std::vector<chart_band> bands;
  std::vector<chart_series> series;
  std::vector<chart_hover> hover;
  std::string empty_text = "no data";  ///< shown when there is nothing to draw
};

/// The chart as an <svg class="chart">. Drawn marks carry class "data" (the page's self-check
/// counts them); legend entries toggle their series.
[[nodiscard]] std::string svg(const xy_chart& chart);

/// A number for SVG coordinates: one decimal, no trailing ".0".
[[nodiscard]] std::string coord(double v);

/// A legend of coloured swatches at (x, y) wrapping at `right`; returns the SVG and sets
/// `bottom` to the y under its last line. `lines[i]` draws a line swatch instead of a square.
struct legend_entry {
  std::string name, colour, key;
  bool line = true;
  bool dashed = false;
};
[[nodiscard]] std::string legend(const std::vector<legend_entry>& entries, double x, double y,
                                 double right, double& bottom);

/// `text` cut with an ellipsis to about `width` SVG units at `font_px`; whole when it fits.
[[nodiscard]] std::string fit_text(const std::string& text, double width, double font_px = 12);

/// About how wide `text` is at 12 px, in SVG units.
[[nodiscard]] double text_width(const std::string& text, double font_px = 12);

}  // namespace colony::cli::reporting
