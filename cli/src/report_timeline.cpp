#include "report_timeline.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "report_chart.hpp"
#include "report_page.hpp"

namespace colony::cli::reporting {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::array infrastructure_kinds{"backend", "workload", "library", "store"};
constexpr std::array structural_types{"agent_spawned", "agent_stopped",    "agent_pruned",
                                      "agents_merged", "committee_formed", "committee_dissolved"};

bool is_infrastructure(const std::string& kind) {
  return std::find(infrastructure_kinds.begin(), infrastructure_kinds.end(), kind) !=
         infrastructure_kinds.end();
}

// The type of an events.jsonl line without parsing it: the value of its first "type".
std::string_view type_of(std::string_view line) {
  constexpr std::string_view key = "\"type\":\"";
  const auto at = line.find(key);
  if (at == std::string_view::npos) return {};
  const auto from = at + key.size();
  const auto to = line.find('"', from);
  return to == std::string_view::npos ? std::string_view{} : line.substr(from, to - from);
}

std::string text_of(const json::object& o, std::string_view key) {
  if (const auto* v = o.if_contains(key); v != nullptr && v->is_string()) {
    return std::string(v->get_string());
  }
  return {};
}

bool count_of(const json::object& o, std::string_view key, std::uint64_t& out) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return false;
  if (v->is_uint64()) {
    out = v->get_uint64();
    return true;
  }
  if (v->is_int64() && v->get_int64() >= 0) {
    out = static_cast<std::uint64_t>(v->get_int64());
    return true;
  }
  return false;
}

// The legend entry of a kind of marker.
std::string marker_key(life_marker::type what) {
  switch (what) {
    case life_marker::type::spawned:
      return "m-spawn";
    case life_marker::type::merged:
      return "m-merge";
    case life_marker::type::pruned:
      return "m-prune";
    case life_marker::type::stopped:
      return "m-stop";
    case life_marker::type::formed:
    case life_marker::type::dissolved:
      return "m-committee";
  }
  return "m-stop";
}

std::string marker_shape(const life_marker& m, double x, double y) {
  const std::string tip = "<title>" + escape(m.text) + "</title>";
  const auto p = [](double v) { return coord(v); };
  switch (m.what) {
    case life_marker::type::spawned:
      return "<path class=\"data mark-spawn\" d=\"M" + p(x - 1) + " " + p(y - 7) + "L" + p(x + 8) +
             " " + p(y) + "L" + p(x - 1) + " " + p(y + 7) + "Z\" fill=\"#1f7a3a\">" + tip +
             "</path>";
    case life_marker::type::pruned:
      return "<path class=\"data mark-prune\" d=\"M" + p(x - 5) + " " + p(y - 5) + "L" + p(x + 5) +
             " " + p(y + 5) + "M" + p(x - 5) + " " + p(y + 5) + "L" + p(x + 5) + " " + p(y - 5) +
             "\" stroke=\"#c62828\" stroke-width=\"3\">" + tip + "</path>";
    case life_marker::type::merged:
      return "<path class=\"data mark-merge\" d=\"M" + p(x) + " " + p(y - 7) + "L" + p(x + 6) +
             " " + p(y) + "L" + p(x) + " " + p(y + 7) + "L" + p(x - 6) + " " + p(y) +
             "Z\" fill=\"#6a3d9a\" stroke=\"#fff\" stroke-width=\"1\">" + tip + "</path>";
    case life_marker::type::formed:
      return "<circle class=\"data mark-formed\" cx=\"" + p(x) + "\" cy=\"" + p(y) +
             "\" r=\"4.5\" fill=\"#f28e2b\" stroke=\"#fff\">" + tip + "</circle>";
    case life_marker::type::dissolved:
      return "<circle class=\"data mark-dissolved\" cx=\"" + p(x) + "\" cy=\"" + p(y) +
             "\" r=\"4.5\" fill=\"#fff\" stroke=\"#f28e2b\" stroke-width=\"2\">" + tip +
             "</circle>";
    case life_marker::type::stopped:
      return "<path class=\"data mark-stop\" d=\"M" + p(x) + " " + p(y - 7) + "V" + p(y + 7) +
             "\" stroke=\"#222\" stroke-width=\"2.5\">" + tip + "</path>";
  }
  return {};
}

}  // namespace

result<network_history> read_history(const fs::path& run, const std::vector<snapshot>& snapshots,
                                     double end_seconds) {
  network_history h;
  h.end = end_seconds;
  std::map<std::uint64_t, agent_life> lives;
  std::map<std::uint64_t, std::string> outcomes;

  const auto path = run / "events.jsonl";
  std::ifstream in(path);
  if (!in) return fail(errc::bad_input, path.string() + ": error: missing");
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    const auto type = type_of(line);
    if (std::find(structural_types.begin(), structural_types.end(), type) ==
        structural_types.end()) {
      continue;
    }
    boost::system::error_code ec;
    const auto v = json::parse(line, ec);
    std::uint64_t t = 0, agent = 0;
    const char* problem = ec                                 ? "not JSON"
                          : !v.is_object()                   ? "not a JSON object"
                          : !count_of(v.as_object(), "t", t) ? "/t: missing or not a count"
                          : !count_of(v.as_object(), "agent", agent)
                              ? "/agent: missing or not an agent id"
                              : nullptr;
    if (problem != nullptr) {
      return fail(errc::bad_input,
                  path.string() + ":" + std::to_string(number) + ": error: " + problem);
    }
    const auto& o = v.as_object();
    const double at = static_cast<double>(t) / 1e6;
    const auto reason = text_of(o, "reason");
    if (type == "agent_spawned") {
      auto& a = lives[agent];
      a.id = agent;
      a.name = text_of(o, "name");
      a.kind = text_of(o, "kind");
      count_of(o, "parent", a.parent);
      a.born = at;
      a.spawn_reason = reason;
      if (const auto* d = o.if_contains("details"); d != nullptr && d->is_object()) {
        a.backend = text_of(d->as_object(), "backend");
      }
      if (a.parent != 0 && a.kind != "committee") {
        h.markers.push_back(
            {at, agent, life_marker::type::spawned,
             "spawned " + a.name + " at " + clock(at) + (reason.empty() ? "" : ": " + reason)});
      }
    } else if (type == "agent_stopped") {
      auto& a = lives[agent];
      a.id = agent;
      if (a.name.empty()) a.name = text_of(o, "name");
      a.stopped = at;
      a.stop_reason = reason;
    } else if (type == "agent_pruned") {
      std::uint64_t target = 0;
      count_of(o, "target", target);
      h.markers.push_back({at, target, life_marker::type::pruned,
                           "pruned " + text_of(o, "target_name") + " (" + text_of(o, "action") +
                               ") at " + clock(at) + ": " + reason});
    } else if (type == "agents_merged") {
      std::uint64_t heir = 0, absorbed = 0;
      count_of(o, "heir", heir);
      count_of(o, "absorbed", absorbed);
      const auto heir_name = text_of(o, "heir_name"), absorbed_name = text_of(o, "absorbed_name");
      h.markers.push_back(
          {at, absorbed, life_marker::type::merged,
           "merged " + absorbed_name + " into " + heir_name + " at " + clock(at) + ": " + reason});
      h.markers.push_back(
          {at, heir, life_marker::type::merged,
           heir_name + " absorbed " + absorbed_name + " at " + clock(at) + ": " + reason});
    } else if (type == "committee_formed") {
      h.markers.push_back({at, agent, life_marker::type::formed,
                           "committee formed at " + clock(at) + ": " + reason});
    } else if (type == "committee_dissolved") {
      outcomes[agent] = text_of(o, "outcome");
      h.markers.push_back(
          {at, agent, life_marker::type::dissolved,
           "committee dissolved (" + text_of(o, "outcome") + ") at " + clock(at) + ": " + reason});
    }
  }
  // The snapshots know every agent's kind, backend and birth, also those spawned at the start.
  for (const auto& s : snapshots) {
    for (const auto& a : s.agents) {
      const auto id = broker::raw(a.id);
      auto [it, added] = lives.try_emplace(id);
      auto& life = it->second;
      if (added) {
        life.id = id;
        life.born = static_cast<double>(a.born) / 1e6;
      }
      if (life.name.empty()) life.name = a.name;
      if (life.kind.empty()) life.kind = a.kind;
      if (life.backend.empty()) life.backend = a.backend;
      if (life.parent == 0 && a.parent) life.parent = broker::raw(*a.parent);
    }
  }
  for (auto& [id, life] : lives) {
    if (life.stopped) {
      h.markers.push_back({*life.stopped, id, life_marker::type::stopped,
                           "stopped " + life.name + " at " + clock(*life.stopped) +
                               (life.stop_reason.empty() ? "" : ": " + life.stop_reason)});
    }
    h.agents.push_back(std::move(life));
  }
  for (auto& [id, outcome] : outcomes) {
    h.committee_ids.push_back(id);
    h.committee_outcomes.push_back(std::move(outcome));
  }
  std::stable_sort(h.markers.begin(), h.markers.end(),
                   [](const auto& a, const auto& b) { return a.t < b.t; });
  return h;
}

std::string timeline_svg(const network_history& h, std::size_t max_rows, std::string& note) {
  std::vector<const agent_life*> infrastructure, committees, others;
  for (const auto& a : h.agents) {
    if (is_infrastructure(a.kind)) {
      infrastructure.push_back(&a);
    } else if (a.kind == "committee") {
      committees.push_back(&a);
    } else {
      others.push_back(&a);
    }
  }
  std::stable_sort(others.begin(), others.end(), [](const auto* a, const auto* b) {
    return std::tie(a->born, a->id) < std::tie(b->born, b->id);
  });
  const std::size_t infra_rows = infrastructure.empty() ? 0 : 1;
  const bool committees_each =
      committees.size() <= 8 && infra_rows + others.size() + committees.size() <= max_rows;
  const std::size_t committee_rows = committees_each ? committees.size() : 1;
  const std::size_t room =
      max_rows > infra_rows + committee_rows + 1 ? max_rows - infra_rows - committee_rows - 1 : 1;
  const std::size_t hidden = others.size() > room ? others.size() - room : 0;
  if (hidden > 0) others.resize(room);

  struct row {
    std::string label, sublabel, tip, colour;
    const agent_life* agent = nullptr;  // null: a grouped row
    double from = 0, to = 0;
  };
  std::vector<row> rows;
  if (!infrastructure.empty()) {
    std::map<std::string, int> kinds;
    std::string names;
    double from = h.end, to = 0;
    for (const auto* a : infrastructure) {
      ++kinds[a->kind];
      names += (names.empty() ? "" : ", ") + a->name;
      from = std::min(from, a->born);
      to = std::max(to, a->stopped.value_or(h.end));
    }
    std::string sub;
    for (const auto& [kind, n] : kinds) {
      sub += (sub.empty() ? "" : ", ") + std::to_string(n) + " " + kind + (n > 1 ? "s" : "");
    }
    rows.push_back(
        {"infrastructure", sub, "infrastructure: " + names, "#b9bec6", nullptr, from, to});
  }
  for (const auto* a : others) {
    const auto sub = a->kind + (a->backend.empty() ? "" : " \xC2\xB7 " + a->backend);
    std::string tip = a->name + " (" + sub + ")\nalive " + clock(a->born) + " \xE2\x80\x93 " +
                      (a->stopped ? clock(*a->stopped) : "end of run");
    if (!a->spawn_reason.empty()) tip += "\nspawned: " + a->spawn_reason;
    if (!a->stop_reason.empty()) tip += "\nstopped: " + a->stop_reason;
    rows.push_back(
        {a->name, sub, tip, kind_colour(a->kind), a, a->born, a->stopped.value_or(h.end)});
  }
  if (committees_each) {
    for (const auto* a : committees) {
      rows.push_back({a->name, "committee", a->name + ": " + a->spawn_reason,
                      kind_colour("committee"), a, a->born, a->stopped.value_or(h.end)});
    }
  }

  const double width = 1200, label_w = 290, left = label_w + 16, right = width - 24;
  const double row_h = 22;
  const time_unit unit = time_unit_for(h.end);
  const double plot_w = right - left;
  const auto px = [&](double t) {
    return left + (h.end > 0 ? std::clamp(t / h.end, 0.0, 1.0) : 0.0) * plot_w;
  };

  // The legend names the markers the rows show.
  std::set<std::uint64_t> shown;
  for (const auto& r : rows) {
    if (r.agent != nullptr) shown.insert(r.agent->id);
  }
  std::set<std::string> present;
  for (const auto& m : h.markers) {
    if (shown.contains(m.agent)) present.insert(marker_key(m.what));
  }
  std::vector<legend_entry> entries;
  for (const auto& e : std::vector<legend_entry>{
           {"spawn", "#1f7a3a", "m-spawn", false},
           {"merge", "#6a3d9a", "m-merge", false},
           {"prune", "#c62828", "m-prune", false},
           {"stop", "#222222", "m-stop", false},
           {"committee formed / dissolved", "#f28e2b", "m-committee", false}}) {
    if (present.contains(e.key)) entries.push_back(e);
  }
  if (!committees_each && !committees.empty()) {
    entries.push_back({"committees active (shade)", kind_colour("committee"), "m-none", false});
  }
  double legend_bottom = 8;
  const std::string legend_svg =
      entries.empty() ? std::string() : legend(entries, left, 14, right, legend_bottom);
  const double top = legend_bottom + 10;
  const std::size_t total_rows =
      rows.size() + (committees_each || committees.empty() ? 0 : 1) + (hidden > 0 ? 1 : 0);
  const double plot_bottom =
      top + static_cast<double>(std::max<std::size_t>(total_rows, 1)) * row_h;
  const double height = plot_bottom + 46;

  std::string out = "<svg class=\"chart\" id=\"timeline-svg\" viewBox=\"0 0 " + coord(width) + " " +
                    coord(height) +
                    "\" role=\"img\" aria-label=\"agent lifetimes over simulated time\">\n";
  // Time grid.
  const auto xt = nice_ticks(0, h.end / unit.seconds, 10);
  out += "<g>";
  for (const double v : xt.values) {
    if (v > h.end / unit.seconds + 1e-9) continue;
    const double x = px(v * unit.seconds);
    out += "<line class=\"grid\" x1=\"" + coord(x) + "\" x2=\"" + coord(x) + "\" y1=\"" +
           coord(top) + "\" y2=\"" + coord(plot_bottom) + "\"/><text x=\"" + coord(x) + "\" y=\"" +
           coord(plot_bottom + 17) + "\" text-anchor=\"middle\">" + tick_label(v, xt.step) +
           "</text>";
  }
  out += "<line class=\"axis\" x1=\"" + coord(left) + "\" x2=\"" + coord(right) + "\" y1=\"" +
         coord(plot_bottom) + "\" y2=\"" + coord(plot_bottom) + "\"/></g>\n";
  out += "<text class=\"axis-label\" x=\"" + coord(left + plot_w / 2) + "\" y=\"" +
         coord(height - 8) + "\" text-anchor=\"middle\">simulated time (" + unit.unit +
         ")</text>\n";

  // One row per agent, its markers on it.
  std::map<std::uint64_t, double> row_y;
  double y = top;
  for (std::size_t i = 0; i < rows.size(); ++i, y += row_h) {
    const auto& r = rows[i];
    const double mid = y + row_h / 2;
    if (i % 2 == 1) {
      out += "<rect x=\"0\" y=\"" + coord(y) + "\" width=\"" + coord(width) + "\" height=\"" +
             coord(row_h) + "\" fill=\"#f7f8fa\"/>";
    }
    // The name, then its kind and backend in small print as far as they fit.
    const auto name = shorten(r.label, 34);
    out += "<text x=\"8\" y=\"" + coord(mid + 4) + "\">" + escape(name) + "<title>" +
           escape(r.label) + "</title></text>";
    const double sub_x = 8 + text_width(name) + 10;
    const double sub_room = label_w + 8 - sub_x;
    const auto sub = sub_room > 40 ? fit_text(r.sublabel, sub_room, 10.5) : std::string();
    if (!sub.empty()) {
      out += "<text class=\"small\" x=\"" + coord(sub_x) + "\" y=\"" + coord(mid + 4) + "\">" +
             escape(sub) + "</text>";
    }
    const double x0 = px(r.from), x1 = std::max(px(r.to), x0 + 2);
    out += "<rect class=\"data\" x=\"" + coord(x0) + "\" y=\"" + coord(mid - 5) + "\" width=\"" +
           coord(x1 - x0) + "\" height=\"10\" rx=\"2\" fill=\"" + r.colour +
           "\" fill-opacity=\"0.8\"><title>" + escape(r.tip) + "</title></rect>\n";
    if (r.agent != nullptr) row_y[r.agent->id] = mid;
  }
  if (!committees_each && !committees.empty()) {
    // Committees by time bin, shaded by how many were active.
    constexpr std::size_t bins = 240;
    std::vector<std::size_t> active(bins, 0), formed(bins, 0), dissolved(bins, 0);
    std::vector<std::map<std::string, std::size_t>> outcomes(bins);
    std::map<std::uint64_t, const std::string*> outcome_of;
    for (std::size_t i = 0; i < h.committee_ids.size(); ++i) {
      outcome_of[h.committee_ids[i]] = &h.committee_outcomes[i];
    }
    const auto bin_of = [&](double t) {
      const double share = h.end > 0 ? t / h.end : 0;
      return std::min(bins - 1, static_cast<std::size_t>(std::max(0.0, share) * bins));
    };
    for (const auto* c : committees) {
      const auto b0 = bin_of(c->born);
      const auto b1 = bin_of(c->stopped.value_or(h.end));
      for (auto b = b0; b <= b1; ++b) ++active[b];
      ++formed[b0];
      if (c->stopped) {
        ++dissolved[b1];
        const auto it = outcome_of.find(c->id);
        ++outcomes[b1][it != outcome_of.end() && !it->second->empty() ? *it->second : "stopped"];
      }
    }
    const double peak = static_cast<double>(*std::max_element(active.begin(), active.end()));
    const double mid = y + row_h / 2;
    out += "<text x=\"8\" y=\"" + coord(mid + 4) + "\">committees (" +
           std::to_string(committees.size()) + ")</text><text class=\"small\" x=\"" +
           coord(label_w + 8) + "\" y=\"" + coord(mid + 4) +
           "\" text-anchor=\"end\">shade: active</text>\n<g class=\"data\" fill=\"" +
           kind_colour("committee") + "\">";
    for (std::size_t b = 0; b < bins; ++b) {
      if (active[b] == 0) continue;
      const double t0 = h.end * static_cast<double>(b) / bins;
      const double t1 = h.end * static_cast<double>(b + 1) / bins;
      std::string tip = clock(t0) + " \xE2\x80\x93 " + clock(t1) + ": " +
                        std::to_string(active[b]) + " committees active, " +
                        std::to_string(formed[b]) + " formed, " + std::to_string(dissolved[b]) +
                        " dissolved";
      if (!outcomes[b].empty()) {
        std::string parts;
        for (const auto& [outcome, n] : outcomes[b]) {
          parts += (parts.empty() ? "" : ", ") + outcome + " " + std::to_string(n);
        }
        tip += " (" + parts + ")";
      }
      out += "<rect x=\"" + coord(px(t0)) + "\" y=\"" + coord(mid - 6) + "\" width=\"" +
             coord(std::max(px(t1) - px(t0), 1.0)) + "\" height=\"12\" fill-opacity=\"" +
             decimal(0.15 + 0.85 * static_cast<double>(active[b]) / peak, 2) + "\"><title>" +
             escape(tip) + "</title></rect>";
    }
    out += "</g>\n";
    y += row_h;
    note += std::to_string(committees.size()) +
            " committees are drawn as one row, shaded by how many were active (hover for counts "
            "and outcomes). ";
  }
  if (hidden > 0) {
    out += "<text class=\"axis-label\" x=\"8\" y=\"" + coord(y + row_h / 2 + 4) +
           "\">\xE2\x80\xA6 " + std::to_string(hidden) + " more agents not shown (at most " +
           std::to_string(max_rows) + " rows)</text>\n";
    note += std::to_string(hidden) + " later agents are left out to keep the chart readable. ";
  }
  // Markers last, on top of the bars.
  out += "<g>";
  for (const auto& m : h.markers) {
    const auto it = row_y.find(m.agent);
    if (it == row_y.end()) continue;
    out += "<g data-series=\"" + marker_key(m.what) + "\">" + marker_shape(m, px(m.t), it->second) +
           "</g>";
  }
  out += "</g>\n" + legend_svg + "</svg>";
  return out;
}

}  // namespace colony::cli::reporting
