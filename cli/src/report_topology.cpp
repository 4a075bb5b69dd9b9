#include "report_topology.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

#include "report_chart.hpp"
#include "report_page.hpp"

namespace colony::cli::reporting {
namespace {

// More committees than this alive at once are drawn as one node.
constexpr std::size_t committees_drawn_apart = 4;
// Edge labels (request counts) only while they stay legible.
constexpr std::size_t max_labelled_edges = 40;

constexpr double node_h = 38, node_slot = 50, dummy_slot = 20, column_gap = 80;

struct graph_node {
  std::uint64_t id = 0;
  std::string name, kind, backend, tip;
  bool placeholder = false;  // an edge's end that is not among the agents
  bool dummy = false;        // where a long edge crosses a column
  std::size_t members = 1;   // committees drawn as one
  int layer = 0;
  double x = 0, y = 0;  // top left
  [[nodiscard]] double slot() const { return dummy ? dummy_slot : node_slot; }
  [[nodiscard]] double centre_y() const { return y + (dummy ? 0 : node_h / 2); }
};

struct graph_edge {
  std::size_t from = 0, to = 0;
  std::string kind;
  std::uint64_t requests = 0;
  std::vector<std::size_t> route;  // the dummies it passes, column by column
};

struct graph {
  std::vector<graph_node> nodes;
  std::vector<graph_edge> edges;
  int layers = 1;
};

bool in_last_column(const graph_node& n) {
  return n.kind == "backend" || n.kind == "library" || n.kind == "store";
}

std::string edge_colour(const std::string& kind) {
  if (kind == "link") return "#4e79a7";
  if (kind == "route") return "#8e5ea2";
  if (kind == "backend") return "#9c755f";
  if (kind == "library") return "#b8860b";
  if (kind == "committee" || kind == "member") return "#f28e2b";
  return "#888888";
}

graph build_graph(const snapshot& s, std::string& note) {
  graph g;
  std::map<std::uint64_t, std::size_t> index;
  std::size_t committees = 0;
  for (const auto& a : s.agents) committees += a.kind == "committee" ? 1 : 0;
  const bool group_committees = committees > committees_drawn_apart;
  std::optional<std::size_t> committee_node;
  for (const auto& a : s.agents) {
    const auto id = broker::raw(a.id);
    if (group_committees && a.kind == "committee") {
      if (!committee_node) {
        committee_node = g.nodes.size();
        g.nodes.push_back({.kind = "committee", .members = 0});
      }
      ++g.nodes[*committee_node].members;
      index[id] = *committee_node;
      continue;
    }
    std::string tip = a.name + "\nkind: " + a.kind;
    if (!a.backend.empty()) tip += "\nbackend: " + a.backend;
    if (!a.locale.empty()) tip += "\nlocale: " + a.locale;
    tip += "\nid " + std::to_string(id) + ", born " + clock(static_cast<double>(a.born) / 1e6);
    if (!a.patterns.empty()) {
      tip += "\npatterns:";
      for (const auto& p : a.patterns) tip += " " + p;
    }
    index[id] = g.nodes.size();
    g.nodes.push_back({.id = id, .name = a.name, .kind = a.kind, .backend = a.backend, .tip = tip});
  }
  if (committee_node) {
    auto& c = g.nodes[*committee_node];
    c.name = std::to_string(c.members) + " committees";
    c.tip = c.name + " alive at this time, drawn as one node";
    note += std::to_string(c.members) + " committees are drawn as one node. ";
  }
  const auto node_of = [&](broker::agent_id agent) {
    const auto id = broker::raw(agent);
    if (const auto it = index.find(id); it != index.end()) return it->second;
    index[id] = g.nodes.size();
    g.nodes.push_back({.id = id,
                       .name = "#" + std::to_string(id),
                       .kind = "gone",
                       .tip = "agent " + std::to_string(id) + " (not alive at this time)",
                       .placeholder = true});
    return g.nodes.size() - 1;
  };
  // Edges merged by their drawn ends (committees drawn as one share theirs), in snapshot order.
  std::map<std::tuple<std::size_t, std::size_t, std::string>, std::size_t> seen;
  for (const auto& e : s.edges) {
    const auto from = node_of(e.from), to = node_of(e.to);
    if (from == to) continue;
    const auto key = std::make_tuple(from, to, e.kind);
    if (const auto it = seen.find(key); it != seen.end()) {
      g.edges[it->second].requests += e.requests;
      continue;
    }
    seen[key] = g.edges.size();
    g.edges.push_back({.from = from, .to = to, .kind = e.kind, .requests = e.requests});
  }
  return g;
}

// Longest path from the workload, ignoring the edges that close a cycle; backends, the library
// and the stores in a last column.
void assign_layers(graph& g) {
  const std::size_t n = g.nodes.size();
  std::vector<std::vector<std::size_t>> out(n);
  for (const auto& e : g.edges) {
    if (!in_last_column(g.nodes[e.from]) && !in_last_column(g.nodes[e.to])) {
      out[e.from].push_back(e.to);
    }
  }
  enum class mark { fresh, open, done };
  std::vector<mark> state(n, mark::fresh);
  std::vector<std::size_t> finished;
  std::set<std::pair<std::size_t, std::size_t>> back_edges;
  // Depth-first, iteratively: (node, next out-edge to try).
  const auto visit = [&](std::size_t root) {
    std::vector<std::pair<std::size_t, std::size_t>> stack{{root, 0}};
    state[root] = mark::open;
    while (!stack.empty()) {
      auto& [v, next] = stack.back();
      if (next < out[v].size()) {
        const auto w = out[v][next++];
        if (state[w] == mark::open) {
          back_edges.insert({v, w});
        } else if (state[w] == mark::fresh) {
          state[w] = mark::open;
          stack.push_back({w, 0});
        }
        continue;
      }
      state[v] = mark::done;
      finished.push_back(v);
      stack.pop_back();
    }
  };
  bool has_workload = false;
  for (std::size_t v = 0; v < n; ++v) {
    if (g.nodes[v].kind == "workload" && state[v] == mark::fresh) {
      has_workload = true;
      visit(v);
    }
  }
  for (std::size_t v = 0; v < n; ++v) {
    if (state[v] == mark::fresh && !in_last_column(g.nodes[v])) visit(v);
  }
  for (auto& node : g.nodes) node.layer = node.kind == "workload" || !has_workload ? 0 : 1;
  for (auto it = finished.rbegin(); it != finished.rend(); ++it) {
    for (const auto w : out[*it]) {
      if (!back_edges.contains({*it, w})) {
        g.nodes[w].layer = std::max(g.nodes[w].layer, g.nodes[*it].layer + 1);
      }
    }
  }
  int layers = 0;
  bool any_last = false;
  for (const auto& node : g.nodes) {
    if (in_last_column(node)) {
      any_last = true;
    } else {
      layers = std::max(layers, node.layer + 1);
    }
  }
  for (auto& node : g.nodes) {
    if (in_last_column(node)) node.layer = layers;
  }
  g.layers = std::max(layers + (any_last ? 1 : 0), 1);
}

// Gives every edge that spans more than one column a dummy node in each column it crosses.
void add_dummies(graph& g) {
  for (auto& e : g.edges) {
    const int from = g.nodes[e.from].layer, to = g.nodes[e.to].layer;
    for (int l = from + 1; l < to; ++l) {
      e.route.push_back(g.nodes.size());
      g.nodes.push_back({.dummy = true, .layer = l});
    }
  }
}

// The nodes of each column, top to bottom: sorted by the mean height of their neighbours in
// the column before (sweeping right) or after (sweeping left), a few sweeps each way.
std::vector<std::vector<std::size_t>> order_columns(const graph& g) {
  const std::size_t n = g.nodes.size();
  std::vector<std::vector<std::size_t>> before(n), after(n);
  for (const auto& e : g.edges) {
    std::vector<std::size_t> chain{e.from};
    chain.insert(chain.end(), e.route.begin(), e.route.end());
    chain.push_back(e.to);
    for (std::size_t i = 0; i + 1 < chain.size(); ++i) {
      const auto a = chain[i], b = chain[i + 1];
      if (g.nodes[b].layer == g.nodes[a].layer + 1) {
        after[a].push_back(b);
        before[b].push_back(a);
      }
    }
  }
  std::vector<std::vector<std::size_t>> column(static_cast<std::size_t>(g.layers));
  for (std::size_t v = 0; v < n; ++v)
    column[static_cast<std::size_t>(g.nodes[v].layer)].push_back(v);
  std::vector<double> centre(n, 0);
  const auto place = [&](const std::vector<std::size_t>& c) {
    double total = 0;
    for (const auto v : c) total += g.nodes[v].slot();
    double y = -total / 2;
    for (const auto v : c) {
      centre[v] = y + g.nodes[v].slot() / 2;
      y += g.nodes[v].slot();
    }
  };
  for (const auto& c : column) place(c);
  for (int sweep = 0; sweep < 8; ++sweep) {
    const bool right = sweep % 2 == 0;
    for (int l = right ? 1 : g.layers - 2; right ? l < g.layers : l >= 0; l += right ? 1 : -1) {
      auto& c = column[static_cast<std::size_t>(l)];
      std::vector<std::pair<double, std::size_t>> keyed;
      for (const auto v : c) {
        const auto& near = right ? before[v] : after[v];
        double sum = 0;
        for (const auto w : near) sum += centre[w];
        keyed.push_back({near.empty() ? centre[v] : sum / static_cast<double>(near.size()), v});
      }
      std::stable_sort(keyed.begin(), keyed.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      for (std::size_t i = 0; i < c.size(); ++i) c[i] = keyed[i].second;
      place(c);
    }
  }
  return column;
}

// A smooth path through `points`, leaving and entering each horizontally.
std::string smooth_path(const std::vector<std::pair<double, double>>& points) {
  std::string d = "M" + coord(points[0].first) + " " + coord(points[0].second);
  for (std::size_t i = 1; i < points.size(); ++i) {
    const auto [x0, y0] = points[i - 1];
    const auto [x1, y1] = points[i];
    if (std::fabs(y1 - y0) < 0.05) {
      d += "L" + coord(x1) + " " + coord(y1);
      continue;
    }
    const double dx = std::max(20.0, (x1 - x0) / 2);
    d += "C" + coord(x0 + dx) + " " + coord(y0) + " " + coord(x1 - dx) + " " + coord(y1) + " " +
         coord(x1) + " " + coord(y1);
  }
  return d;
}

}  // namespace

std::string topology_svg(const snapshot& s, std::string& note) {
  graph g = build_graph(s, note);
  assign_layers(g);
  add_dummies(g);
  const auto column = order_columns(g);

  // Nodes as wide as the longest name needs (bold text is about 8% wider), within limits.
  double longest = 0;
  for (const auto& node : g.nodes) longest = std::max(longest, text_width(node.name) * 1.08);
  const double node_w = std::clamp(longest + 24, 150.0, 250.0);
  const double width = std::max(1200.0, 40 + g.layers * node_w + (g.layers - 1) * column_gap);

  std::set<std::string> node_kinds, edge_kinds;
  for (const auto& node : g.nodes) {
    if (!node.dummy) node_kinds.insert(node.kind);
  }
  for (const auto& e : g.edges) edge_kinds.insert(e.kind);
  std::vector<legend_entry> entries;
  for (const auto& k : node_kinds) {
    entries.push_back({k, k == "gone" ? "#bbbbbb" : kind_colour(k), "k-" + k, false});
  }
  for (const auto& k : edge_kinds) {
    entries.push_back({k + " edge", edge_colour(k), "e-" + k, true, k == "member"});
  }
  double legend_bottom = 0;
  const auto legend_svg = legend(entries, 20, 14, width - 20, legend_bottom);
  const double top = legend_bottom + 16;

  double tallest = 0;
  for (const auto& c : column) {
    double total = 0;
    for (const auto v : c) total += g.nodes[v].slot();
    tallest = std::max(tallest, total);
  }
  const double column_step = g.layers > 1 ? (width - 40 - node_w) / (g.layers - 1) : 0;
  for (std::size_t l = 0; l < column.size(); ++l) {
    double total = 0;
    for (const auto v : column[l]) total += g.nodes[v].slot();
    double y = top + (tallest - total) / 2;
    for (const auto v : column[l]) {
      auto& node = g.nodes[v];
      node.x = g.layers > 1 ? 20 + static_cast<double>(l) * column_step : (width - node_w) / 2;
      node.y = node.dummy ? y + dummy_slot / 2 : y + (node_slot - node_h) / 2;
      y += node.slot();
    }
  }
  const double height = top + tallest + 40;

  std::string out = "<svg class=\"chart\" id=\"topology-svg\" viewBox=\"0 0 " + coord(width) + " " +
                    coord(height) +
                    "\" role=\"img\" aria-label=\"the network at the end of the run\">\n<defs>";
  for (const auto& k : edge_kinds) {
    out += "<marker id=\"topo-arrow-" + escape(k) +
           "\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" "
           "markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0 0L10 5L0 10z\" fill=\"" +
           edge_colour(k) + "\"/></marker>";
  }
  out += "</defs>\n<g>";
  const bool label_edges = g.edges.size() <= max_labelled_edges;
  std::string labels;
  for (const auto& e : g.edges) {
    const auto& a = g.nodes[e.from];
    const auto& b = g.nodes[e.to];
    const double w = std::min(1.0 + 1.4 * std::log10(1.0 + static_cast<double>(e.requests)), 8.0);
    std::string d;
    double label_x = 0, label_y = 0;
    if (b.layer > a.layer) {
      std::vector<std::pair<double, double>> points{{a.x + node_w, a.centre_y()}};
      for (const auto v : e.route) {
        points.push_back({g.nodes[v].x, g.nodes[v].centre_y()});
        points.push_back({g.nodes[v].x + node_w, g.nodes[v].centre_y()});
      }
      points.push_back({b.x - 2, b.centre_y()});
      d = smooth_path(points);
      label_x = (points[0].first + points[1].first) / 2;
      label_y = (points[0].second + points[1].second) / 2;
    } else {
      // Backwards or within a column: a loop below the two nodes.
      const double x1 = a.x + node_w / 2, y1 = a.y + node_h;
      const double x2 = b.x + node_w / 2 + 10, y2 = b.y + node_h + 2;
      const double low = std::max(y1, y2) + 40;
      d = "M" + coord(x1) + " " + coord(y1) + "C" + coord(x1) + " " + coord(low) + " " + coord(x2) +
          " " + coord(low) + " " + coord(x2) + " " + coord(y2);
      label_x = (x1 + x2) / 2;
      label_y = (y1 + y2) / 8 + low * 3 / 4;
    }
    const std::string tip = a.name + " \xE2\x86\x92 " + b.name + " (" + e.kind +
                            "): " + readable(static_cast<double>(e.requests)) + " requests";
    out += "<path class=\"data\" data-series=\"e-" + escape(e.kind) + "\" d=\"" + d +
           "\" fill=\"none\" stroke=\"" + edge_colour(e.kind) +
           "\" stroke-opacity=\"0.55\" stroke-width=\"" + coord(w) + "\"" +
           (e.kind == "member" ? " stroke-dasharray=\"5 3\"" : "") +
           " marker-end=\"url(#topo-arrow-" + escape(e.kind) + ")\"><title>" + escape(tip) +
           "</title></path>";
    if (label_edges) {
      labels += "<text class=\"small\" x=\"" + coord(label_x) + "\" y=\"" + coord(label_y - 3) +
                "\" text-anchor=\"middle\" stroke=\"#fff\" stroke-width=\"3\" "
                "paint-order=\"stroke\" data-series=\"e-" +
                escape(e.kind) + "\">" + readable(static_cast<double>(e.requests)) + "</text>";
    }
  }
  out += "</g>\n<g>" + labels + "</g>\n<g>";
  for (const auto& node : g.nodes) {
    if (node.dummy) continue;
    const auto colour = node.placeholder ? std::string("#bbbbbb") : kind_colour(node.kind);
    std::string sub = node.kind;
    if (!node.backend.empty()) sub += " \xC2\xB7 " + node.backend;
    const auto name = fit_text(node.name, (node_w - 20) / 1.08);
    sub = fit_text(sub, node_w - 20, 10.5);
    out += "<g class=\"data\" data-series=\"k-" + escape(node.kind) + "\"><title>" +
           escape(node.tip) + "</title><rect x=\"" + coord(node.x) + "\" y=\"" + coord(node.y) +
           "\" width=\"" + coord(node_w) + "\" height=\"" + coord(node_h) + "\" rx=\"6\" fill=\"" +
           colour + "\" fill-opacity=\"0.14\" stroke=\"" + colour + "\" stroke-width=\"1.6\"" +
           (node.placeholder ? " stroke-dasharray=\"3 3\"" : "") + "/><rect x=\"" + coord(node.x) +
           "\" y=\"" + coord(node.y) + "\" width=\"5\" height=\"" + coord(node_h) +
           "\" rx=\"2\" fill=\"" + colour + "\"/><text x=\"" + coord(node.x + 12) + "\" y=\"" +
           coord(node.y + 16) + "\" font-weight=\"600\">" + escape(name) +
           "</text><text class=\"small\" x=\"" + coord(node.x + 12) + "\" y=\"" +
           coord(node.y + 30) + "\">" + escape(sub) + "</text></g>\n";
  }
  out += "</g>\n" + legend_svg + "</svg>";
  return out;
}

}  // namespace colony::cli::reporting
