#include "report_page.hpp"

#include "run_outputs.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>
#include <sstream>

namespace colony::cli::reporting {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr const char* no_value = "\xE2\x80\x93";  // an en dash

// Styles of the page. Charts scale with their card (viewBox), text stays 12-13 px at the widths
// the grid gives them.
constexpr const char* page_style = R"(
:root{--ink:#1f2430;--muted:#5f6b7a;--line:#e3e6eb;--bg:#f4f5f7;--card:#fff}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
header.top{background:#1f2a3a;color:#fff;padding:18px 32px 16px}
header.top h1{margin:0 0 6px;font-size:22px;font-weight:600}
header.top .meta{display:flex;flex-wrap:wrap;gap:4px 26px;color:#c3cedc;font-size:13px}
header.top .meta b{color:#fff;font-weight:600}
header.top code{color:#e8edf3}
nav{padding:7px 32px;background:#fff;border-bottom:1px solid var(--line);position:sticky;top:0;z-index:2;font-size:13px}
nav a{margin-right:16px;color:#2f6aa8;text-decoration:none;white-space:nowrap}
nav a:hover{text-decoration:underline}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px;padding:16px 32px 24px;max-width:1840px;margin:0 auto}
section.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px;min-width:0}
section.wide{grid-column:1/-1}
section h2{font-size:16px;margin:0 0 2px;font-weight:600}
section p.note{margin:0 0 8px;color:var(--muted);font-size:12.5px}
svg.chart{width:100%;height:auto;display:block}
svg text{font-size:12px;fill:#3a4250}
svg text.axis-label{fill:#5f6b7a}
svg text.small{font-size:10.5px;fill:#6b7684}
svg .grid{stroke:#eceef2;stroke-width:1}
svg .axis{stroke:#9aa3af;stroke-width:1}
svg .hover{fill:transparent}
svg .hover:hover{fill:rgba(60,80,120,.08)}
svg .legend-item{cursor:pointer}
svg .off{opacity:.1}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
th{color:var(--muted);font-weight:600;background:#fafbfc}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px;margin:4px 0 14px}
.kpi{background:#f7f9fc;border:1px solid var(--line);border-radius:6px;padding:8px 10px}
.kpi .v{font-size:20px;font-weight:600;font-variant-numeric:tabular-nums}
.kpi .l{font-size:12px;color:var(--muted)}
code{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;font-size:12px}
.chart-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(430px,1fr));gap:14px}
figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:8px 10px 4px}
figcaption{font-size:13px;margin-bottom:2px}
footer{color:var(--muted);font-size:12px;padding:0 32px 28px;max-width:1840px;margin:0 auto}
)";

// Clicking a legend entry dims its series; on load, the page counts the charts that have drawn
// marks (body data-charts of data-charts-total, data-charts-empty naming the others) so that a
// headless browser can check the rendering. Writes nothing to the console.
constexpr const char* page_script = R"(
(function(){
var charts=document.querySelectorAll('svg.chart'),drawn=0,empty=[];
for(var i=0;i<charts.length;i++){
var marks=charts[i].querySelectorAll('.data'),ok=false;
for(var j=0;j<marks.length&&!ok;j++){var b=marks[j].getBBox();ok=b.width>0||b.height>0;}
if(ok)drawn++;else empty.push(charts[i].id);}
document.body.setAttribute('data-charts',String(drawn));
document.body.setAttribute('data-charts-total',String(charts.length));
document.body.setAttribute('data-charts-empty',empty.join(' '));
document.addEventListener('click',function(e){
var item=e.target.closest?e.target.closest('.legend-item'):null;if(!item)return;
var svg=item.ownerSVGElement,key=item.getAttribute('data-series');
item.classList.toggle('off');
var parts=svg.querySelectorAll('[data-series="'+key+'"]:not(.legend-item)');
for(var k=0;k<parts.length;k++)parts[k].classList.toggle('off');});
})();
)";

// The fields of one CSV line; a quoted field may hold commas and doubled quotes.
std::vector<std::string> split_csv(std::string_view line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

std::string grouped_integer(double v) {
  const auto digits = decimal(std::fabs(v), 0);
  std::string out = v < 0 && digits != "0" ? "-" : "";
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
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

std::string decimal(double v, int decimals) {
  if (std::isnan(v)) return no_value;
  if (std::isinf(v)) return v > 0 ? "\xE2\x88\x9E" : "-\xE2\x88\x9E";
  char buf[64];
  const auto [end, ec] =
      std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  std::string out = ec == std::errc{} ? std::string(buf, end) : std::string("?");
  // "-0.00" reads as a sign that is not there.
  if (out.front() == '-' && out.find_first_not_of("-0.") == std::string::npos) out.erase(0, 1);
  return out;
}

std::string readable(double v) {
  if (!std::isfinite(v)) return decimal(v, 0);
  const double a = std::fabs(v);
  if (a < 1e15 && v == std::round(v)) return grouped_integer(v);
  if (a >= 1000) {
    const auto whole = grouped_integer(std::trunc(v));
    const auto fraction = decimal(a - std::floor(a), 1);  // "0.5"
    return fraction == "1.0" ? grouped_integer(std::round(v)) : whole + fraction.substr(1);
  }
  const int magnitude = static_cast<int>(std::floor(std::log10(a)));
  return decimal(v, std::clamp(3 - magnitude, 0, 9));
}

std::string compact(double v) {
  const double a = std::fabs(v);
  const auto digits = [](double x) { return x >= 100 ? 0 : x >= 10 ? 1 : 2; };
  if (a >= 1e9) return decimal(v / 1e9, digits(a / 1e9)) + "G";
  if (a >= 1e6) return decimal(v / 1e6, digits(a / 1e6)) + "M";
  if (a >= 1e4) return decimal(v / 1e3, digits(a / 1e3)) + "k";
  return readable(v);
}

std::string tick_label(double v, double step) {
  const char* suffix = "";
  if (step >= 1e6 - 1e-6) {
    v /= 1e6;
    step /= 1e6;
    suffix = "M";
  } else if (step >= 1e3 - 1e-9) {
    v /= 1e3;
    step /= 1e3;
    suffix = "k";
  }
  int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  // A step of 2.5 or 0.25 needs one digit more than its magnitude says.
  const double scaled = step * std::pow(10.0, decimals);
  if (std::fabs(scaled - std::round(scaled)) > 1e-6) ++decimals;
  return decimal(v, std::min(decimals, 9)) + suffix;
}

std::string shorten(std::string_view text, std::size_t chars) {
  std::size_t count = 0, cut = std::string_view::npos;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (count + 1 == chars) cut = i;
    if (++count > chars) return std::string(text.substr(0, cut)) + "\xE2\x80\xA6";
  }
  return std::string(text);
}

std::string percent(double fraction, int decimals) {
  if (std::isnan(fraction)) return no_value;
  return decimal(fraction * 100, decimals) + "%";
}

std::string clock(double seconds) {
  if (!std::isfinite(seconds)) return no_value;
  const auto total = static_cast<std::int64_t>(std::floor(seconds));
  const auto days = total / 86400;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld",
                static_cast<long long>(total % 86400 / 3600),
                static_cast<long long>(total % 3600 / 60), static_cast<long long>(total % 60));
  return days > 0 ? std::to_string(days) + "d " + buf : std::string(buf);
}

std::size_t csv_table::column(std::string_view name) const {
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return i;
  }
  return std::string::npos;
}

result<csv_table> read_csv(const fs::path& path) {
  if (!fs::is_regular_file(path)) {
    return fail(errc::bad_input, path.string() + ": error: missing");
  }
  const auto text = read_file(path);
  if (!text) return fail(errc::bad_input, path.string() + ": error: cannot be read");
  csv_table table{.path = path};
  std::istringstream in(*text);
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1) {
      table.header = split_csv(line);
      continue;
    }
    if (line.empty()) continue;
    auto fields = split_csv(line);
    if (fields.size() != table.header.size()) {
      return fail(errc::bad_input,
                  path.string() + ":" + std::to_string(number) + ": error: " +
                      std::to_string(fields.size()) + " fields where the header has " +
                      std::to_string(table.header.size()) + " (a truncated or corrupt file?)");
    }
    table.rows.push_back(std::move(fields));
    table.lines.push_back(number);
  }
  if (table.header.empty() || (table.header.size() == 1 && table.header[0].empty())) {
    return fail(errc::bad_input, path.string() + ": error: empty (no header line)");
  }
  return table;
}

bool parse_number(std::string_view text, double& out) {
  if (text.empty() || text == "nan" || text == "NaN" || text == "-nan" || text == "NAN") {
    out = std::nan("");
    return true;
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

result<std::vector<double>> numbers(const csv_table& table, std::string_view column) {
  const auto c = table.column(column);
  if (c == std::string::npos) {
    return fail(errc::bad_input,
                table.path.string() + ":1: error: no column \"" + std::string(column) + "\"");
  }
  std::vector<double> out(table.rows.size());
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    if (!parse_number(table.rows[r][c], out[r])) {
      return fail(errc::bad_input, table.path.string() + ":" + std::to_string(table.lines[r]) +
                                       ": error: " + std::string(column) + ": \"" +
                                       table.rows[r][c] + "\" is not a number");
    }
  }
  return out;
}

json_fields::json_fields(const json::object& o, fs::path file) : root_(o), file_(std::move(file)) {}

double json_fields::number(std::string_view pointer) {
  if (const auto v = maybe_number(pointer)) return *v;
  note(pointer, "missing or not a number");
  return std::nan("");
}

std::string json_fields::string(std::string_view pointer) {
  const auto* v = find(pointer);
  if (v != nullptr && v->is_string()) return std::string(v->get_string());
  note(pointer, "missing or not a string");
  return {};
}

const json::object& json_fields::object(std::string_view pointer) {
  const auto* v = find(pointer);
  if (v != nullptr && v->is_object()) return v->get_object();
  note(pointer, "missing or not an object");
  return empty_object_;
}

const json::array& json_fields::array(std::string_view pointer) {
  const auto* v = find(pointer);
  if (v != nullptr && v->is_array()) return v->get_array();
  note(pointer, "missing or not an array");
  return empty_array_;
}

std::optional<double> json_fields::maybe_number(std::string_view pointer) const {
  const auto* v = find(pointer);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->to_number<double>();
}

std::string json_fields::text(std::string_view pointer) const {
  const auto* v = find(pointer);
  return v == nullptr || v->is_null() ? std::string() : json_text(*v);
}

const json::value* json_fields::find(std::string_view pointer) const {
  boost::system::error_code ec;
  return root_.find_pointer(pointer, ec);
}

result<void> json_fields::check() const {
  if (problem_.empty()) return {};
  return fail(errc::bad_input, file_.string() + ": error: " + problem_);
}

void json_fields::note(std::string_view pointer, const std::string& what) {
  if (problem_.empty()) problem_ = std::string(pointer) + ": " + what;
}

std::string json_text(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : json::serialize(v);
}

std::string html_page(const std::string& title, const std::string& header,
                      const std::vector<page_section>& sections) {
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<meta name=\"generator\" content=\"colony report\">\n";
  out += "<title>" + escape(title) + "</title>\n<style>" + page_style + "</style>\n</head>\n";
  out += "<body>\n<header class=\"top\">\n<h1>" + escape(title) + "</h1>\n" + header +
         "</header>\n<nav>";
  for (const auto& s : sections) {
    out += "<a href=\"#" + escape(s.id) + "\">" + escape(s.title) + "</a>";
  }
  out += "</nav>\n<main>\n";
  for (const auto& s : sections) {
    out += "<section class=\"card" + std::string(s.wide ? " wide" : "") + "\" id=\"" +
           escape(s.id) + "\">\n<h2>" + escape(s.title) + "</h2>\n";
    if (!s.note.empty()) out += "<p class=\"note\">" + s.note + "</p>\n";
    out += s.body + "\n</section>\n";
  }
  out +=
      "</main>\n<footer>Written by <code>colony report</code>. The file is self-contained: "
      "the charts are inline SVG and nothing is fetched. Hover over marks for their values; "
      "click a legend entry to dim its series.</footer>\n";
  out += "<script>" + std::string(page_script) + "</script>\n</body>\n</html>\n";
  return out;
}

std::string html_table(const std::vector<std::string>& head,
                       const std::vector<std::vector<std::string>>& rows,
                       const std::vector<bool>& numeric, const std::string& cls) {
  const auto cell_class = [&](std::size_t c) {
    return c < numeric.size() && numeric[c] ? std::string(" class=\"num\"") : std::string();
  };
  std::string out = "<div class=\"scroll\"><table" +
                    (cls.empty() ? std::string() : " class=\"" + cls + "\"") + ">\n<thead><tr>";
  for (std::size_t c = 0; c < head.size(); ++c) {
    out += "<th" + cell_class(c) + ">" + head[c] + "</th>";
  }
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& row : rows) {
    out += "<tr>";
    for (std::size_t c = 0; c < row.size(); ++c) {
      out += "<td" + cell_class(c) + ">" + row[c] + "</td>";
    }
    out += "</tr>\n";
  }
  out += "</tbody></table></div>";
  return out;
}

}  // namespace colony::cli::reporting
