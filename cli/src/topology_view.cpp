#include "topology_view.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

#include "colony/base/assert.hpp"
#include "events_view.hpp"
#include "run_outputs.hpp"

namespace colony::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using broker::agent_id;
using broker::raw;

constexpr std::array snapshot_reasons{"start", "bucket", "analysis", "end"};

// Reads the fields of one JSON line. A missing or mistyped field reads as an empty value and
// records the first problem, so a line is parsed straight through and checked once at the end.
// `at` is the JSON pointer of the enclosing value ("" for the line itself).
class line_fields {
 public:
  /// The first problem met ("/agents/2/born: not a non-negative integer"), "" if none.
  [[nodiscard]] const std::string& problem() const { return problem_; }

  void note(const std::string& at, const std::string& what) {
    if (problem_.empty()) problem_ = at.empty() ? what : at + ": " + what;
  }

  const json::object& object(const json::value& v, const std::string& at) {
    if (const auto* o = v.if_object()) return *o;
    note(at, "not an object");
    return empty_object_;
  }
  const json::array& array(const json::value& v, const std::string& at) {
    if (const auto* a = v.if_array()) return *a;
    note(at, "not an array");
    return empty_array_;
  }
  std::int64_t count(const json::value& v, const std::string& at) {
    if (v.is_int64() && v.get_int64() >= 0) return v.get_int64();
    if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
      return static_cast<std::int64_t>(v.get_uint64());
    }
    note(at, "not a non-negative integer");
    return 0;
  }
  std::string text(const json::value& v, const std::string& at) {
    if (const auto* s = v.if_string()) return std::string(*s);
    note(at, "not a string");
    return {};
  }
  std::vector<std::string> texts(const json::value& v, const std::string& at) {
    std::vector<std::string> out;
    const auto& a = array(v, at);
    for (std::size_t i = 0; i < a.size(); ++i)
      out.push_back(text(a[i], at + "/" + std::to_string(i)));
    return out;
  }

  // Required members of `o`, read as above.
  const json::value& member(const json::object& o, std::string_view key, const std::string& at) {
    if (const auto* v = o.if_contains(key)) return *v;
    note(at, "missing \"" + std::string(key) + "\"");
    return null_;
  }
  const json::object& object(const json::object& o, std::string_view key, const std::string& at) {
    return has(o, key, at) ? object(o.at(key), path(at, key)) : empty_object_;
  }
  const json::array& array(const json::object& o, std::string_view key, const std::string& at) {
    return has(o, key, at) ? array(o.at(key), path(at, key)) : empty_array_;
  }
  std::int64_t count(const json::object& o, std::string_view key, const std::string& at) {
    return has(o, key, at) ? count(o.at(key), path(at, key)) : 0;
  }
  std::string text(const json::object& o, std::string_view key, const std::string& at) {
    return has(o, key, at) ? text(o.at(key), path(at, key)) : std::string();
  }
  std::vector<std::string> texts(const json::object& o, std::string_view key,
                                 const std::string& at) {
    return has(o, key, at) ? texts(o.at(key), path(at, key)) : std::vector<std::string>();
  }
  agent_id agent(const json::value& v, const std::string& at) {
    return agent_id{static_cast<std::uint64_t>(count(v, at))};
  }
  agent_id agent(const json::object& o, std::string_view key, const std::string& at) {
    return agent_id{static_cast<std::uint64_t>(count(o, key, at))};
  }

  static std::string path(const std::string& at, std::string_view key) {
    return at + "/" + std::string(key);
  }

 private:
  bool has(const json::object& o, std::string_view key, const std::string& at) {
    return &member(o, key, at) != &null_;
  }

  std::string problem_;
  json::value null_;
  json::object empty_object_;
  json::array empty_array_;
};

// Hands each line of `in` that `wanted` accepts, parsed as a JSON object, to `take`, which
// returns a problem ("" if none). Fails at the first problem, naming `path` and the line.
template <class Wanted, class Take>
result<void> read_objects(std::istream& in, const fs::path& path, Wanted wanted, Take take) {
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (!wanted(line)) continue;
    boost::system::error_code ec;
    const auto v = json::parse(line, ec);
    const std::string problem = ec               ? "not JSON (" + ec.message() + ")"
                                : !v.is_object() ? std::string("not a JSON object")
                                                 : take(v.as_object());
    if (!problem.empty()) {
      return fail(errc::bad_input,
                  path.string() + ":" + std::to_string(number) + ": error: " + problem);
    }
  }
  return {};
}

topology_agent parse_agent(line_fields& f, const json::value& v, const std::string& at) {
  const auto& o = f.object(v, at);
  topology_agent a;
  a.id = f.agent(o, "id", at);
  a.name = f.text(o, "name", at);
  a.kind = f.text(o, "kind", at);
  a.locale = f.text(o, "locale", at);
  a.backend = f.text(o, "backend", at);
  if (const auto& parent = f.member(o, "parent", at); !parent.is_null()) {
    a.parent = f.agent(parent, line_fields::path(at, "parent"));
  }
  a.born = f.count(o, "born", at);
  a.patterns = f.texts(o, "patterns", at);
  return a;
}

snapshot parse_snapshot(line_fields& f, const json::object& o) {
  snapshot s;
  s.t = f.count(o, "t", "");
  s.at = f.text(o, "at", "");
  if (f.problem().empty() &&
      std::find(snapshot_reasons.begin(), snapshot_reasons.end(), s.at) == snapshot_reasons.end()) {
    f.note("/at", "unknown reason \"" + s.at + "\" (known: start, bucket, analysis, end)");
  }
  const auto& agents = f.array(o, "agents", "");
  for (std::size_t i = 0; i < agents.size(); ++i) {
    s.agents.push_back(parse_agent(f, agents[i], "/agents/" + std::to_string(i)));
  }
  const auto& edges = f.array(o, "edges", "");
  for (std::size_t i = 0; i < edges.size(); ++i) {
    const std::string at = "/edges/" + std::to_string(i);
    const auto& e = f.object(edges[i], at);
    s.edges.push_back({.from = f.agent(e, "from", at),
                       .to = f.agent(e, "to", at),
                       .kind = f.text(e, "kind", at),
                       .requests = static_cast<std::uint64_t>(f.count(e, "requests", at))});
  }
  const auto& patterns = f.array(o, "patterns", "");
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    const std::string at = "/patterns/" + std::to_string(i);
    const auto& p = f.object(patterns[i], at);
    topology_pattern pattern{.id = static_cast<std::uint64_t>(f.count(p, "id", at)),
                             .name = f.text(p, "name", at),
                             .seen = static_cast<std::uint64_t>(f.count(p, "seen", at))};
    const auto& covered = f.array(p, "covered_by", at);
    for (std::size_t j = 0; j < covered.size(); ++j) {
      pattern.covered_by.push_back(f.agent(covered[j], at + "/covered_by/" + std::to_string(j)));
    }
    s.patterns.push_back(std::move(pattern));
  }
  return s;
}

// Checks that no agent is listed twice. Edges and coverage may name agents that are not listed:
// a router's route to an agent keeps its count after the agent stops.
void check_unique_agents(line_fields& f, const snapshot& s) {
  std::vector<agent_id> ids;
  for (const auto& a : s.agents) ids.push_back(a.id);
  std::sort(ids.begin(), ids.end());
  if (const auto twin = std::adjacent_find(ids.begin(), ids.end()); twin != ids.end()) {
    f.note("/agents", "agent " + std::to_string(raw(*twin)) + " is listed twice");
  }
}

const topology_agent* find_agent(const snapshot& s, agent_id id) {
  const auto it =
      std::find_if(s.agents.begin(), s.agents.end(), [&](const auto& a) { return a.id == id; });
  return it == s.agents.end() ? nullptr : &*it;
}

// The agent's name, or "#id" when it has none or is not in `s`.
std::string name_in(const snapshot& s, agent_id id) {
  const auto* a = find_agent(s, id);
  return a != nullptr && !a->name.empty() ? a->name : "#" + std::to_string(raw(id));
}

// Whether a spawn grew the network during the run. The scenario's agents are spawned by the world
// outside (parent 0) and the snapshots list those of the network, leaving out the workload
// source: their spawn events must not bring it back.
bool is_grown(const structural_event& e) {
  return e.agent.parent.has_value();
}

void spawn(snapshot& s, const topology_agent& agent) {
  if (find_agent(s, agent.id) != nullptr) return;
  s.agents.push_back(agent);
  for (auto& p : s.patterns) {
    if (std::find(agent.patterns.begin(), agent.patterns.end(), p.name) != agent.patterns.end() &&
        std::find(p.covered_by.begin(), p.covered_by.end(), agent.id) == p.covered_by.end()) {
      p.covered_by.push_back(agent.id);
    }
  }
}

void stop(snapshot& s, agent_id id) {
  std::erase_if(s.agents, [&](const auto& a) { return a.id == id; });
  std::erase_if(s.edges, [&](const auto& e) { return e.from == id || e.to == id; });
  for (auto& p : s.patterns) std::erase(p.covered_by, id);
}

// Prints `rows` (the first is the header) in columns two spaces apart, indented by two; the
// columns flagged in `right` are right-aligned. No trailing spaces; "(none)" without rows.
void print_table(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right,
                 std::ostream& out) {
  if (rows.size() == 1) {
    out << "  (none)\n";
    return;
  }
  std::vector<std::size_t> width(right.size(), 0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::string pad(width[c] - row[c].size(), ' ');
      line += "  " + (right[c] ? pad + row[c] : row[c] + pad);
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << '\n';
  }
}

std::string or_dash(const std::string& s) {
  return s.empty() ? "-" : s;
}

std::string plural(std::size_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

// A DOT string literal: quotes and backslashes escaped, newlines as \n.
std::string dot_quoted(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + '"';
}

// Text for an XML attribute or element. Control characters that XML 1.0 cannot carry become
// U+FFFD; tabs and line breaks become character references so that attribute values keep them.
std::string xml(std::string_view text) {
  std::string out;
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
      case '\'':
        out += "&apos;";
        break;
      case '\t':
        out += "&#9;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\xEF\xBF\xBD";
        } else {
          out += c;
        }
    }
  }
  return out;
}

// Simulated time as seconds, exactly: "3600", "0.25", "1.000001".
std::string seconds(sim_time t) {
  std::string s = std::to_string(t / sec);
  if (const sim_time us = t % sec; us != 0) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%06lld", static_cast<long long>(us));
    std::string fraction = buf;
    fraction.erase(fraction.find_last_not_of('0') + 1);
    s += "." + fraction;
  }
  return s;
}

// ` start="..." end="..."`, without end when the interval is open.
std::string interval(sim_time start, std::optional<sim_time> end) {
  std::string s = " start=\"" + seconds(start) + "\"";
  if (end) s += " end=\"" + seconds(*end) + "\"";
  return s;
}

std::optional<sim_time> earliest(std::optional<sim_time> a, std::optional<sim_time> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

}  // namespace

result<std::vector<snapshot>> read_snapshots(const fs::path& run) {
  const auto path = run / "topology.jsonl";
  std::ifstream in(path);
  if (!in) {
    std::error_code ec;
    if (fs::exists(run / "events.jsonl", ec)) {
      return fail(errc::bad_input,
                  path.string() +
                      ": error: the run has no topology.jsonl: it was written by a "
                      "colony that did not record snapshots (run the scenario again)");
    }
    return fail(errc::bad_input, path.string() + ": error: cannot read (is " + run.string() +
                                     " a run directory written by colony run?)");
  }
  std::vector<snapshot> snapshots;
  auto read = read_objects(
      in, path, [](std::string_view) { return true; },
      [&](const json::object& o) {
        line_fields f;
        auto s = parse_snapshot(f, o);
        if (f.problem().empty()) check_unique_agents(f, s);
        if (f.problem().empty() && !snapshots.empty() && s.t < snapshots.back().t) {
          f.note("/t", "goes back in time (" + format_clock(s.t) + " after " +
                           format_clock(snapshots.back().t) + ")");
        }
        if (f.problem().empty()) snapshots.push_back(std::move(s));
        return f.problem();
      });
  if (!read) return read.error();
  if (snapshots.empty()) return fail(errc::bad_input, path.string() + ": error: no snapshot");
  return snapshots;
}

result<std::vector<structural_event>> read_structural_events(const fs::path& run) {
  const auto path = run / "events.jsonl";
  std::ifstream in(path);
  if (!in) {
    return fail(errc::bad_input, path.string() + ": error: cannot read (is " + run.string() +
                                     " a run directory written by colony run?)");
  }
  std::vector<structural_event> events;
  // Most lines are about tasks; parsing only those that can be structural keeps a long log fast.
  auto mentions_change = [](std::string_view line) {
    return line.find("agent_spawned") != std::string_view::npos ||
           line.find("agent_stopped") != std::string_view::npos;
  };
  auto read = read_objects(in, path, mentions_change, [&](const json::object& o) {
    line_fields f;
    const std::string type = f.text(o, "type", "");
    if (!f.problem().empty() || (type != "agent_spawned" && type != "agent_stopped")) {
      return f.problem();
    }
    structural_event e{.t = f.count(o, "t", ""),
                       .what = type == "agent_spawned" ? structural_event::change::spawned
                                                       : structural_event::change::stopped};
    auto& a = e.agent;
    a.id = f.agent(o, "agent", "");
    if (o.contains("name")) a.name = f.text(o, "name", "");
    if (e.what == structural_event::change::spawned) {
      a.born = e.t;
      if (o.contains("kind")) a.kind = f.text(o, "kind", "");
      // 0 is no_agent: the world outside, which spawns the scenario's agents.
      if (o.contains("parent")) {
        if (const auto parent = f.agent(o, "parent", ""); parent != broker::no_agent) {
          a.parent = parent;
        }
      }
      if (o.contains("details")) {
        const auto& details = f.object(o, "details", "");
        if (details.contains("locale")) a.locale = f.text(details, "locale", "/details");
        if (details.contains("backend")) a.backend = f.text(details, "backend", "/details");
        if (details.contains("patterns")) a.patterns = f.texts(details, "patterns", "/details");
      }
    }
    if (f.problem().empty()) events.push_back(std::move(e));
    return f.problem();
  });
  if (!read) return read.error();
  std::stable_sort(events.begin(), events.end(),
                   [](const auto& a, const auto& b) { return a.t < b.t; });
  return events;
}

const snapshot& snapshot_before(const std::vector<snapshot>& snapshots, sim_time at) {
  COLONY_ASSERT(!snapshots.empty());
  const auto after = std::upper_bound(snapshots.begin(), snapshots.end(), at,
                                      [](sim_time t, const snapshot& s) { return t < s.t; });
  return after == snapshots.begin() ? snapshots.front() : *std::prev(after);
}

snapshot replay(const snapshot& base, const std::vector<structural_event>& events, sim_time at) {
  snapshot s = base;
  s.t = at;
  for (const auto& e : events) {
    if (e.t < base.t || e.t > at) continue;
    if (e.what == structural_event::change::spawned) {
      if (is_grown(e)) spawn(s, e.agent);
    } else {
      stop(s, e.agent.id);
    }
  }
  return s;
}

result<snapshot> topology_at(const fs::path& run, sim_time at) {
  auto snapshots = read_snapshots(run);
  if (!snapshots) return snapshots.error();
  auto events = read_structural_events(run);
  if (!events) return events.error();
  return replay(snapshot_before(*snapshots, at), *events, at);
}

void print_topology(const snapshot& s, sim_time snapshot_time, std::ostream& out) {
  out << "topology at " << format_clock(s.t) << " (snapshot at " << format_clock(snapshot_time)
      << ", " << plural(s.agents.size(), "agent") << ", " << plural(s.edges.size(), "edge")
      << ")\n";

  out << "\nagents\n";
  std::vector<std::vector<std::string>> rows{
      {"id", "name", "kind", "locale", "backend", "parent", "born", "patterns"}};
  for (const auto& a : s.agents) {
    std::string patterns;
    for (const auto& p : a.patterns) patterns += (patterns.empty() ? "" : ",") + p;
    rows.push_back({std::to_string(raw(a.id)), or_dash(a.name), or_dash(a.kind), or_dash(a.locale),
                    or_dash(a.backend), a.parent ? name_in(s, *a.parent) : "-",
                    format_clock(a.born), or_dash(patterns)});
  }
  print_table(rows, {true, false, false, false, false, false, false, false}, out);

  out << "\nedges\n";
  rows = {{"from", "", "to", "kind", "requests"}};
  for (const auto& e : s.edges) {
    rows.push_back(
        {name_in(s, e.from), "->", name_in(s, e.to), e.kind, std::to_string(e.requests)});
  }
  print_table(rows, {false, false, false, false, true}, out);

  out << "\npatterns\n";
  rows = {{"pattern", "seen", "covered by"}};
  for (const auto& p : s.patterns) {
    std::string who;
    for (const auto id : p.covered_by) who += (who.empty() ? "" : ", ") + name_in(s, id);
    rows.push_back({p.name, std::to_string(p.seen), or_dash(who)});
  }
  print_table(rows, {false, true, false}, out);
}

std::string snapshot_json(const snapshot& s) {
  json::array agents;
  for (const auto& a : s.agents) {
    json::object o{{"id", raw(a.id)},      {"name", a.name},
                   {"kind", a.kind},       {"locale", a.locale},
                   {"backend", a.backend}, {"parent", nullptr},
                   {"born", a.born},       {"patterns", json::value_from(a.patterns)}};
    if (a.parent) o["parent"] = raw(*a.parent);
    agents.push_back(std::move(o));
  }
  json::array edges;
  for (const auto& e : s.edges) {
    edges.push_back(json::object{
        {"from", raw(e.from)}, {"to", raw(e.to)}, {"kind", e.kind}, {"requests", e.requests}});
  }
  json::array patterns;
  for (const auto& p : s.patterns) {
    patterns.push_back(json::object{{"id", p.id},
                                    {"name", p.name},
                                    {"seen", p.seen},
                                    {"covered_by", json::value_from(p.covered_by)}});
  }
  return json::serialize(json::object{{"t", s.t},
                                      {"at", s.at},
                                      {"agents", std::move(agents)},
                                      {"edges", std::move(edges)},
                                      {"patterns", std::move(patterns)}});
}

std::string snapshot_dot(const snapshot& s) {
  std::ostringstream dot;
  dot << "digraph topology {\n  // " << format_clock(s.t)
      << "\n  rankdir=LR;\n  node [shape=box];\n";
  for (const auto& a : s.agents) {
    const auto name = name_in(s, a.id);
    dot << "  a" << raw(a.id)
        << " [label=" << dot_quoted(a.kind.empty() ? name : name + "\n" + a.kind);
    if (a.kind == "backend") dot << ", shape=cylinder";
    dot << "];\n";
  }
  // An edge may lead to an agent that has stopped since: draw it, dotted, under its id.
  std::vector<agent_id> gone;
  for (const auto& e : s.edges) {
    for (const auto end : {e.from, e.to}) {
      if (find_agent(s, end) == nullptr && std::find(gone.begin(), gone.end(), end) == gone.end()) {
        gone.push_back(end);
        dot << "  a" << raw(end) << " [label=\"#" << raw(end) << "\", style=dotted];\n";
      }
    }
  }
  for (const auto& e : s.edges) {
    // log10 keeps a busy edge visible without letting it swamp the drawing: 1 at no traffic,
    // 4 at a thousand requests, 7 at a million.
    char width[16];
    std::snprintf(width, sizeof width, "%.2f",
                  1.0 + std::log10(1.0 + static_cast<double>(e.requests)));
    dot << "  a" << raw(e.from) << " -> a" << raw(e.to) << " [label=\"" << e.requests
        << "\", penwidth=" << width << (e.kind == "backend" ? ", style=dashed" : "") << "];\n";
  }
  dot << "}\n";
  return dot.str();
}

// Times in the GEXF are seconds of simulated time since the start of the run (t / 1e6), as
// doubles: Gephi's timeline shows them as numbers, and a day is 86400.
std::string evolution_gexf(const std::vector<snapshot>& snapshots,
                           const std::vector<structural_event>& events) {
  struct node_life {
    topology_agent agent;
    sim_time start = 0;
    std::optional<sim_time> end;
    std::optional<std::size_t> last_seen;  // index of the last snapshot that has it
  };
  // Ordered by id, and edges by (from, to, kind), so that the file is the same on every export.
  std::map<agent_id, node_life> nodes;
  using edge_key = std::tuple<agent_id, agent_id, std::string>;
  std::map<edge_key, std::vector<std::pair<std::size_t, std::uint64_t>>> sightings;
  for (std::size_t i = 0; i < snapshots.size(); ++i) {
    for (const auto& a : snapshots[i].agents) {
      nodes.try_emplace(a.id, node_life{.agent = a, .start = a.born}).first->second.last_seen = i;
    }
    for (const auto& e : snapshots[i].edges) {
      sightings[{e.from, e.to, e.kind}].emplace_back(i, e.requests);
    }
  }
  // Snapshots come first: they know an agent's locale, which a spawn event may not.
  for (const auto& e : events) {
    if (e.what == structural_event::change::spawned) {
      if (!is_grown(e)) continue;
      nodes.try_emplace(e.agent.id, node_life{.agent = e.agent, .start = e.t});
    } else if (auto it = nodes.find(e.agent.id); it != nodes.end() && !it->second.end) {
      it->second.end = e.t;
    }
  }
  // An agent that left without a logged stop ends at the first snapshot that lacks it.
  for (auto& [id, n] : nodes) {
    if (n.end) continue;
    if (n.last_seen) {
      if (*n.last_seen + 1 < snapshots.size()) n.end = snapshots[*n.last_seen + 1].t;
    } else if (auto later = std::find_if(snapshots.begin(), snapshots.end(),
                                         [&](const snapshot& s) { return s.t > n.start; });
               later != snapshots.end()) {
      n.end = later->t;
    }
  }

  // An edge may name an agent known from nowhere else: a node under its id, from the first
  // snapshot with the edge and open-ended.
  for (const auto& [key, seen] : sightings) {
    for (const auto end : {std::get<0>(key), std::get<1>(key)}) {
      nodes.try_emplace(end, node_life{.agent = {.id = end}, .start = snapshots[seen[0].first].t});
    }
  }
  auto end_of = [&](agent_id id) {
    const auto it = nodes.find(id);
    return it == nodes.end() ? std::nullopt : it->second.end;
  };

  std::ostringstream x;
  x << R"(<?xml version="1.0" encoding="UTF-8"?>
<gexf xmlns="http://gexf.net/1.3" version="1.3">
  <meta>
    <creator>colony</creator>
    <description>The topology of a Colony run as it evolved. Times are seconds of simulated time since the start of the run (t / 1e6).</description>
  </meta>
  <graph mode="dynamic" defaultedgetype="directed" timeformat="double">
    <attributes class="node" mode="static">
      <attribute id="kind" title="kind" type="string"/>
      <attribute id="locale" title="locale" type="string"/>
      <attribute id="backend" title="backend" type="string"/>
    </attributes>
    <attributes class="edge" mode="dynamic">
      <attribute id="requests" title="requests" type="long"/>
    </attributes>
    <nodes>
)";
  for (const auto& [id, n] : nodes) {
    const auto& a = n.agent;
    x << "      <node id=\"" << raw(id) << "\" label=\""
      << xml(a.name.empty() ? "#" + std::to_string(raw(id)) : a.name) << '"'
      << interval(n.start, n.end) << ">\n        <attvalues>\n";
    for (const auto& [key, value] : {std::pair{"kind", &a.kind}, std::pair{"locale", &a.locale},
                                     std::pair{"backend", &a.backend}}) {
      // Gephi reads an empty value as no value; leave it out.
      if (!value->empty()) {
        x << "          <attvalue for=\"" << key << "\" value=\"" << xml(*value) << "\"/>\n";
      }
    }
    x << "        </attvalues>\n      </node>\n";
  }
  x << "    </nodes>\n    <edges>\n";
  for (const auto& [key, seen] : sightings) {
    const auto& [from, to, kind] = key;
    // An edge cannot outlive either end, even when the next snapshot comes later.
    const auto death = earliest(end_of(from), end_of(to));
    struct span {
      sim_time start;
      std::optional<sim_time> end;
      std::uint64_t requests = 0;
    };
    std::vector<span> spells, values;  // presence, and the requests count in each stretch
    for (std::size_t k = 0; k < seen.size(); ++k) {
      const auto [i, requests] = seen[k];
      const sim_time start = snapshots[i].t;
      // A snapshot may keep a route to an agent that has stopped, with its final count.
      if (death && start >= *death) break;
      const std::optional<sim_time> end = earliest(
          i + 1 < snapshots.size() ? std::optional(snapshots[i + 1].t) : std::nullopt, death);
      if (k > 0 && seen[k - 1].first + 1 == i) {
        spells.back().end = end;
      } else {
        spells.push_back({start, end});
      }
      if (!values.empty() && values.back().requests == requests && values.back().end == start) {
        values.back().end = end;
      } else {
        values.push_back({start, end, requests});
      }
    }
    if (spells.empty()) continue;  // seen only after an end stopped
    x << "      <edge id=\"" << raw(from) << '-' << raw(to) << '-' << xml(kind) << "\" source=\""
      << raw(from) << "\" target=\"" << raw(to) << "\" kind=\"" << xml(kind) << '"';
    if (spells.size() == 1) x << interval(spells[0].start, spells[0].end);
    x << ">\n";
    if (spells.size() > 1) {
      x << "        <spells>\n";
      for (const auto& s : spells) x << "          <spell" << interval(s.start, s.end) << "/>\n";
      x << "        </spells>\n";
    }
    x << "        <attvalues>\n";
    for (const auto& v : values) {
      x << "          <attvalue for=\"requests\" value=\"" << v.requests << '"'
        << interval(v.start, v.end) << "/>\n";
    }
    x << "        </attvalues>\n      </edge>\n";
  }
  x << "    </edges>\n  </graph>\n</gexf>\n";
  return x.str();
}

result<std::size_t> write_dot_snapshots(const fs::path& run, const fs::path& out_dir) {
  auto snapshots = read_snapshots(run);
  if (!snapshots) return snapshots.error();
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) {
    return fail(errc::io_error,
                out_dir.string() + ": error: cannot create the directory: " + ec.message());
  }
  for (std::size_t i = 0; i < snapshots->size(); ++i) {
    const auto& s = (*snapshots)[i];
    char name[64];
    std::snprintf(name, sizeof name, "topology-%04zu-%s.dot", i, seconds(s.t).c_str());
    if (auto w = write_file(out_dir / name, snapshot_dot(s)); !w) return w.error();
  }
  return snapshots->size();
}

}  // namespace colony::cli
