#include "compare.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <future>
#include <limits>
#include <list>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "colony/base/time.hpp"
#include "events_view.hpp"
#include "run_outputs.hpp"
#include "topology_view.hpp"

namespace colony::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::string_view dash = "\u2014";

// The manifest fields that say how a run was made.
constexpr std::array<std::string_view, 8> setting_fields{
    "scenario_name", "scenario_hash", "seed",         "threads",
    "until_seconds", "overrides",     "library_from", "colony_version"};

// Summary leaves that measure the machine, not the simulation.
constexpr std::array<std::string_view, 3> machine_leaves{"wall_seconds", "tasks_per_wall_second",
                                                         "peak_rss_bytes"};

// The structural event types compared, in the order their counts are shown.
enum class change : std::uint8_t { spawned, stopped, merged, pruned, formed, dissolved };
constexpr std::array<std::string_view, 6> change_types{"agent_spawned",    "agent_stopped",
                                                       "agents_merged",    "agent_pruned",
                                                       "committee_formed", "committee_dissolved"};

std::string_view type_of(change c) {
  return change_types[static_cast<std::size_t>(c)];
}

std::optional<change> change_of(std::string_view type) {
  for (std::size_t i = 0; i < change_types.size(); ++i) {
    if (change_types[i] == type) return static_cast<change>(i);
  }
  return std::nullopt;
}

// An agent that was alive at some time of a run.
struct run_agent {
  std::uint64_t id = 0;
  std::string name;  // "#id" when unnamed
  std::string kind;
  sim_time born = 0;
  std::optional<sim_time> stopped;  // none: alive at the end
  // Its agent_spawned line in events.jsonl, read again for the reason when the agent is shown:
  // a long run spawns hundreds of thousands of committees.
  std::optional<std::uint64_t> spawn_offset;
};

// A structural event reduced to what is compared. Agent ids shift when one run spawns more than
// the other, so the key names agents instead: `hash` is of the type, the names involved and the
// organizer's action. Two different keys at the same microsecond collide with probability 2^-64.
struct event_key {
  sim_time t = 0;
  change what{};
  std::uint64_t hash = 0;
  std::uint64_t offset = 0;  // of its line in events.jsonl, read again to show it
};

// A structural event as shown.
struct event_view {
  sim_time t = 0;
  change what{};
  std::vector<std::string> names;
  std::string action;
  std::string reason;
};

// What compare reads of a run directory.
struct run_data {
  fs::path dir;
  json::object manifest;
  json::object summary;
  std::optional<std::string> scenario;  // scenario.json's text; none if absent
  std::vector<run_agent> agents;        // in the order they were spawned
  std::unordered_map<std::uint64_t, std::size_t> by_id;
  std::vector<event_key> events;  // in the order of events.jsonl (time order)

  // Calls `f` with the name of agent `id`, "#id" if it has none or is unknown.
  template <class F>
  void with_name(std::uint64_t id, F&& f) const {
    if (const auto it = by_id.find(id); it != by_id.end()) {
      f(std::string_view(agents[it->second].name));
      return;
    }
    f(std::string_view("#" + std::to_string(id)));
  }
};

std::string ask_for_run(const fs::path& run) {
  return "is " + run.string() + " a run directory written by colony run?";
}

// A file holding one JSON object (read_json_object), its failure pointing the reader at what to
// do: compare two run directories; run the scenario again for a damaged file.
result<json::object> read_object(const fs::path& file, const fs::path& run) {
  auto o = read_json_object(file);
  if (!o) {
    std::error_code ec;
    const bool unreadable = !fs::is_regular_file(file, ec);
    return fail(errc::bad_input, o.error().message + (unreadable ? " (" + ask_for_run(run) + ")"
                                                                 : "; the file is damaged: run "
                                                                   "the scenario again"));
  }
  return o;
}

std::string_view text_of(const json::object& o, std::string_view key) {
  if (const auto* v = o.if_contains(key)) {
    if (const auto* s = v->if_string()) return *s;
  }
  return {};
}

std::optional<std::uint64_t> count_of(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
  if (v->is_uint64()) return v->get_uint64();
  return std::nullopt;
}

std::optional<std::uint64_t> count_of(const json::object& o, std::string_view key) {
  return count_of(o.if_contains(key));
}

// The event type of a line of events.jsonl, without parsing it: every line begins with "t" and
// "type", so the first "type" member is the line's. None when there is no such member.
std::optional<std::string_view> sniff_type(std::string_view line) {
  const auto key = line.find("\"type\"");
  if (key == std::string_view::npos) return std::nullopt;
  std::size_t i = key + 6;
  auto skip_space = [&] {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  };
  skip_space();
  if (i >= line.size() || line[i] != ':') return std::nullopt;
  ++i;
  skip_space();
  if (i >= line.size() || line[i] != '"') return std::nullopt;
  const auto end = line.find('"', i + 1);
  if (end == std::string_view::npos) return std::nullopt;
  return line.substr(i + 1, end - i - 1);
}

// Hands the names an event involves and the organizer's action to `names` and `action`, in the
// order they make its key. Ids are turned into names through `run`'s agents.
template <class Names, class Action>
void describe(const json::object& o, change what, const run_data& run, Names&& names,
              Action&& action) {
  const auto agent = count_of(o, "agent").value_or(0);
  // A name the event gives, or else the name of the agent whose id it gives.
  auto named = [&](std::string_view name_key, std::string_view id_key) {
    if (const auto name = text_of(o, name_key); !name.empty()) {
      names(name);
    } else {
      run.with_name(count_of(o, id_key).value_or(0), names);
    }
  };
  switch (what) {
    case change::spawned:
      run.with_name(agent, names);
      run.with_name(count_of(o, "parent").value_or(0), names);
      action(text_of(o, "kind"));
      break;
    case change::stopped:
      run.with_name(agent, names);
      if (const auto heir = count_of(o, "heir")) {
        run.with_name(*heir, names);
        action("merged");
      } else {
        action("");
      }
      break;
    case change::merged:
      named("absorbed_name", "absorbed");
      named("heir_name", "heir");
      action("merge");
      break;
    case change::pruned:
      named("target_name", "target");
      action(text_of(o, "action"));
      break;
    case change::formed: {
      run.with_name(count_of(o, "committee").value_or(agent), names);
      if (const auto* members = o.if_contains("member_names"); members && members->is_array()) {
        for (const auto& m : members->get_array()) {
          if (const auto* s = m.if_string()) names(std::string_view(*s));
        }
      }
      const auto* standing = o.if_contains("standing");
      action(standing != nullptr && standing->is_bool() && standing->get_bool() ? "standing" : "");
      break;
    }
    case change::dissolved:
      run.with_name(count_of(o, "committee").value_or(agent), names);
      action(text_of(o, "outcome"));
      break;
  }
}

// FNV-1a, 64 bits.
class key_hasher {
 public:
  void add(std::string_view s) {
    for (const char c : s) {
      h_ ^= static_cast<unsigned char>(c);
      h_ *= 0x100000001b3ULL;
    }
    h_ ^= 0x1f;  // a separator, so that ("ab", "c") and ("a", "bc") differ
    h_ *= 0x100000001b3ULL;
  }
  [[nodiscard]] std::uint64_t value() const { return h_; }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

std::string line_error(const fs::path& path, std::size_t number, const std::string& what) {
  return path.string() + ":" + std::to_string(number) + ": error: " + what +
         "; the log is damaged: run the scenario again";
}

// Reads the agents and the structural events of events.jsonl. Only lines whose type is
// structural are parsed: most lines of a long run are about tasks.
result<void> read_events(run_data& run) {
  const auto path = run.dir / "events.jsonl";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(errc::bad_input,
                path.string() + ": error: cannot read (" + ask_for_run(run.dir) + ")");
  }
  json::parser parser;
  std::string line;
  std::uint64_t offset = 0;
  for (std::size_t number = 1; std::getline(in, line); ++number, offset += line.size() + 1) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto sniffed = sniff_type(line);
    if (!sniffed) {
      return fail(errc::bad_input, line_error(path, number, "not an event line (no \"type\")"));
    }
    const auto what = change_of(*sniffed);
    if (!what) continue;

    unsigned char buffer[4096];
    json::monotonic_resource memory(buffer, sizeof buffer);
    parser.reset(&memory);
    boost::system::error_code ec;
    parser.write(line, ec);
    if (ec) {
      return fail(errc::bad_input, line_error(path, number, "not JSON (" + ec.message() + ")"));
    }
    const json::value value = parser.release();
    const auto* o = value.if_object();
    if (o == nullptr) return fail(errc::bad_input, line_error(path, number, "not a JSON object"));
    auto t = count_of(*o, "t");
    if (t && *t > static_cast<std::uint64_t>(std::numeric_limits<sim_time>::max())) t.reset();
    const auto agent = count_of(*o, "agent");
    if (!t || !agent || text_of(*o, "type") != *sniffed) {
      return fail(errc::bad_input,
                  line_error(path, number,
                             !t       ? "/t: missing or not a non-negative integer"
                             : !agent ? "/agent: missing or not a non-negative integer"
                                      : "/type: not the line's first \"type\" member"));
    }
    const auto time = static_cast<sim_time>(*t);

    bool structural = true;
    if (*what == change::spawned) {
      run_agent a{.id = *agent, .kind = std::string(text_of(*o, "kind")), .born = time};
      a.name = std::string(text_of(*o, "name"));
      if (a.name.empty()) a.name = "#" + std::to_string(*agent);
      a.spawn_offset = offset;
      run.by_id[*agent] = run.agents.size();
      run.agents.push_back(std::move(a));
      // The scenario's agents are spawned by the world outside: set-up, not a change.
      structural = count_of(*o, "parent").value_or(0) != 0;
    } else if (*what == change::stopped) {
      if (const auto it = run.by_id.find(*agent); it != run.by_id.end()) {
        run.agents[it->second].stopped = time;
      }
    }
    if (!structural) continue;
    key_hasher h;
    h.add(*sniffed);
    describe(
        *o, *what, run, [&](std::string_view name) { h.add(name); },
        [&](std::string_view action) { h.add(action); });
    run.events.push_back({.t = time, .what = *what, .hash = h.value(), .offset = offset});
  }
  return {};
}

// Adds the agents of topology.jsonl's snapshots that events.jsonl does not name (a log cut
// short, or a hand-made one). A run without snapshots has only its events.
result<void> read_snapshot_agents(run_data& run) {
  std::error_code ec;
  if (!fs::exists(run.dir / "topology.jsonl", ec)) return {};
  auto snapshots = read_snapshots(run.dir);
  if (!snapshots) return snapshots.error();
  for (const auto& s : *snapshots) {
    for (const auto& a : s.agents) {
      const auto id = broker::raw(a.id);
      if (run.by_id.contains(id)) continue;
      run.by_id[id] = run.agents.size();
      run.agents.push_back({.id = id,
                            .name = a.name.empty() ? "#" + std::to_string(id) : a.name,
                            .kind = a.kind,
                            .born = a.born});
    }
  }
  return {};
}

result<run_data> read_run(const fs::path& dir) {
  run_data run;
  run.dir = dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return fail(errc::bad_input, dir.string() +
                                     ": error: no such run directory (give two directories "
                                     "written by colony run --out)");
  }
  auto manifest = read_object(dir / "manifest.json", dir);
  if (!manifest) return manifest.error();
  run.manifest = std::move(*manifest);
  auto summary = read_object(dir / "summary.json", dir);
  if (!summary) return summary.error();
  run.summary = std::move(*summary);
  if (fs::exists(dir / "scenario.json", ec)) {
    auto text = read_file(dir / "scenario.json");
    if (!text) {
      return fail(errc::bad_input, (dir / "scenario.json").string() + ": error: cannot read (" +
                                       ask_for_run(dir) + ")");
    }
    run.scenario = std::move(*text);
  }
  if (auto events = read_events(run); !events) return events.error();
  if (auto agents = read_snapshot_agents(run); !agents) return agents.error();
  return run;
}

// The line of `log` at byte `offset`, parsed; null if it cannot be read again.
json::value line_at(std::ifstream& log, std::uint64_t offset) {
  log.clear();
  log.seekg(static_cast<std::streamoff>(offset));
  std::string line;
  if (!std::getline(log, line)) return nullptr;
  boost::system::error_code ec;
  auto value = json::parse(line, ec);
  return ec ? json::value(nullptr) : value;
}

// An agent as shown, with the reason it was spawned ("" for the scenario's agents).
struct shown_agent {
  const run_agent* agent;
  std::string reason;
};

// The first `limit` of `agents`, their reasons read again from events.jsonl.
std::vector<shown_agent> shown_agents(const run_data& run,
                                      const std::vector<const run_agent*>& agents,
                                      std::size_t limit) {
  std::vector<shown_agent> out;
  std::ifstream log(run.dir / "events.jsonl", std::ios::binary);
  for (std::size_t i = 0; i < agents.size() && i < limit; ++i) {
    const auto* a = agents[i];
    const auto value = a->spawn_offset ? line_at(log, *a->spawn_offset) : json::value(nullptr);
    const auto* o = value.if_object();
    out.push_back({a, std::string(o != nullptr ? text_of(*o, "reason") : std::string_view())});
  }
  return out;
}

// The events of `run` at `keys`, read again from events.jsonl.
std::vector<event_view> views_of(const run_data& run, const std::vector<const event_key*>& keys) {
  std::vector<event_view> out;
  std::ifstream log(run.dir / "events.jsonl", std::ios::binary);
  for (const auto* k : keys) {
    event_view v{.t = k->t, .what = k->what};
    const auto value = line_at(log, k->offset);
    if (const auto* o = value.if_object()) {
      describe(
          *o, k->what, run, [&](std::string_view name) { v.names.emplace_back(name); },
          [&](std::string_view action) { v.action = action; });
      v.reason = text_of(*o, "reason");
    }
    out.push_back(std::move(v));
  }
  return out;
}

struct setting_difference {
  std::string_view field;
  const json::value* a;  // null when absent
  const json::value* b;
};

enum class scenario_texts { identical, different, missing_in_a, missing_in_b, missing };

struct settings_comparison {
  std::vector<setting_difference> differences;
  scenario_texts scenario = scenario_texts::identical;
  [[nodiscard]] bool same() const {
    return differences.empty() && scenario == scenario_texts::identical;
  }
};

settings_comparison compare_settings(const run_data& a, const run_data& b) {
  settings_comparison s;
  for (const auto field : setting_fields) {
    const auto* x = a.manifest.if_contains(field);
    const auto* y = b.manifest.if_contains(field);
    const bool same = x != nullptr && y != nullptr ? *x == *y : x == y;
    if (!same) s.differences.push_back({field, x, y});
  }
  if (!a.scenario && !b.scenario) {
    s.scenario = scenario_texts::missing;
  } else if (!a.scenario) {
    s.scenario = scenario_texts::missing_in_a;
  } else if (!b.scenario) {
    s.scenario = scenario_texts::missing_in_b;
  } else if (*a.scenario != *b.scenario) {
    s.scenario = scenario_texts::different;
  }
  return s;
}

// A numeric leaf of summary.json.
struct leaf {
  std::string path;  // "latency_ms.p95"
  json::value value;
};

void flatten(const json::value& v, const std::string& path, std::vector<leaf>& out) {
  auto below = [&](std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  };
  if (const auto* o = v.if_object()) {
    for (const auto& [k, x] : *o) flatten(x, below(k), out);
  } else if (const auto* arr = v.if_array()) {
    for (std::size_t i = 0; i < arr->size(); ++i) flatten((*arr)[i], below(std::to_string(i)), out);
  } else if (v.is_number()) {
    out.push_back({path, v});
  }
}

bool is_machine(std::string_view path) {
  const auto dot = path.rfind('.');
  const auto last = dot == std::string_view::npos ? path : path.substr(dot + 1);
  return std::find(machine_leaves.begin(), machine_leaves.end(), last) != machine_leaves.end();
}

struct metric_row {
  std::string path;
  std::optional<json::value> a, b;  // none: absent from that run
};

struct metrics_comparison {
  std::size_t compared = 0;         // simulation metrics in either run
  std::vector<metric_row> differs;  // simulation metrics that differ, in summary order
  std::vector<metric_row> machine;  // machine-dependent ones, all of them
};

double as_double(const json::value& v) {
  return v.to_number<double>();
}

metrics_comparison compare_metrics(const run_data& a, const run_data& b) {
  std::vector<leaf> la, lb;
  flatten(a.summary, "", la);
  flatten(b.summary, "", lb);
  // The union in summary order: A's leaves, and each leaf of B alone after the leaf that
  // precedes it in B.
  std::list<std::string> order;
  std::unordered_map<std::string, std::list<std::string>::iterator> where;
  std::unordered_map<std::string, const json::value*> va, vb;
  for (const auto& l : la) {
    if (where.contains(l.path)) continue;
    where[l.path] = order.insert(order.end(), l.path);
    va[l.path] = &l.value;
  }
  auto cursor = order.begin();
  for (const auto& l : lb) {
    vb.try_emplace(l.path, &l.value);
    if (const auto it = where.find(l.path); it != where.end()) {
      cursor = std::next(it->second);
    } else {
      where[l.path] = order.insert(cursor, l.path);
    }
  }
  metrics_comparison m;
  for (const auto& path : order) {
    metric_row row{.path = path};
    if (const auto it = va.find(path); it != va.end()) row.a = *it->second;
    if (const auto it = vb.find(path); it != vb.end()) row.b = *it->second;
    if (is_machine(path)) {
      m.machine.push_back(std::move(row));
      continue;
    }
    ++m.compared;
    if (!row.a || !row.b || as_double(*row.a) != as_double(*row.b)) {
      m.differs.push_back(std::move(row));
    }
  }
  return m;
}

struct agent_pair {
  const run_agent* a;
  const run_agent* b;
};

struct topology_comparison {
  std::vector<const run_agent*> only_a, only_b;  // by birth, then name
  std::vector<agent_pair> lifetime;              // in both, born or stopped at another time
};

// Each (name, kind) of a run with its agents, by birth: a name freed by a stop may be taken again.
std::unordered_map<std::string, std::vector<const run_agent*>> agents_by_identity(
    const run_data& run) {
  std::unordered_map<std::string, std::vector<const run_agent*>> out;
  out.reserve(run.agents.size());
  for (const auto& a : run.agents) {
    std::string key = a.name;
    key += '\0';
    key += a.kind;
    out[std::move(key)].push_back(&a);
  }
  for (auto& [_, list] : out) {
    std::stable_sort(list.begin(), list.end(),
                     [](const auto* x, const auto* y) { return x->born < y->born; });
  }
  return out;
}

bool by_birth(const run_agent* x, const run_agent* y) {
  return std::tie(x->born, x->name) < std::tie(y->born, y->name);
}

topology_comparison compare_agents(const run_data& a, const run_data& b) {
  const auto in_a = agents_by_identity(a);
  const auto in_b = agents_by_identity(b);
  topology_comparison t;
  for (const auto& [key, xs] : in_a) {
    const auto it = in_b.find(key);
    const std::size_t both = it == in_b.end() ? 0 : std::min(xs.size(), it->second.size());
    for (std::size_t i = 0; i < xs.size(); ++i) {
      if (i >= both) {
        t.only_a.push_back(xs[i]);
        continue;
      }
      const auto* y = it->second[i];
      if (xs[i]->born != y->born || xs[i]->stopped != y->stopped) t.lifetime.push_back({xs[i], y});
    }
    if (it != in_b.end()) {
      for (std::size_t i = both; i < it->second.size(); ++i) t.only_b.push_back(it->second[i]);
    }
  }
  for (const auto& [key, ys] : in_b) {
    if (!in_a.contains(key)) t.only_b.insert(t.only_b.end(), ys.begin(), ys.end());
  }
  std::sort(t.only_a.begin(), t.only_a.end(), by_birth);
  std::sort(t.only_b.begin(), t.only_b.end(), by_birth);
  std::sort(t.lifetime.begin(), t.lifetime.end(),
            [](const auto& x, const auto& y) { return by_birth(x.a, y.a); });
  return t;
}

struct events_comparison {
  std::array<std::size_t, change_types.size()> count_a{}, count_b{};
  std::vector<const event_key*> only_a, only_b;  // in time order
  std::optional<event_key> first;                // the earliest of those
  bool first_in_a = false;
};

// Multiset difference of the two runs' keys: an event is matched by one event of the other run
// with the same time, type and key, whatever their order within the instant.
events_comparison compare_events(const run_data& a, const run_data& b) {
  events_comparison e;
  for (const auto& k : a.events) ++e.count_a[static_cast<std::size_t>(k.what)];
  for (const auto& k : b.events) ++e.count_b[static_cast<std::size_t>(k.what)];
  auto order = [](const event_key* x, const event_key* y) {
    return std::tie(x->t, x->what, x->hash) < std::tie(y->t, y->what, y->hash);
  };
  auto sorted = [&](const run_data& run) {
    std::vector<const event_key*> out;
    out.reserve(run.events.size());
    for (const auto& k : run.events) out.push_back(&k);
    std::stable_sort(out.begin(), out.end(), order);
    return out;
  };
  const auto sa = sorted(a), sb = sorted(b);
  std::size_t i = 0, j = 0;
  while (i < sa.size() || j < sb.size()) {
    if (j == sb.size() || (i < sa.size() && order(sa[i], sb[j]))) {
      e.only_a.push_back(sa[i++]);
    } else if (i == sa.size() || order(sb[j], sa[i])) {
      e.only_b.push_back(sb[j++]);
    } else {
      ++i;
      ++j;
    }
  }
  // Sorted by time already; back to the log's order within an instant.
  auto by_offset = [](const event_key* x, const event_key* y) {
    return std::tie(x->t, x->offset) < std::tie(y->t, y->offset);
  };
  std::sort(e.only_a.begin(), e.only_a.end(), by_offset);
  std::sort(e.only_b.begin(), e.only_b.end(), by_offset);
  if (!e.only_a.empty() && (e.only_b.empty() || e.only_a.front()->t <= e.only_b.front()->t)) {
    e.first = *e.only_a.front();
    e.first_in_a = true;
  } else if (!e.only_b.empty()) {
    e.first = *e.only_b.front();
  }
  return e;
}

struct comparison {
  settings_comparison settings;
  metrics_comparison metrics;
  topology_comparison agents;
  events_comparison events;
  std::vector<shown_agent> shown_only_a, shown_only_b;  // the first `limit` of agents.only_a / b
  std::vector<event_view> shown_a, shown_b;  // the first `limit` of events.only_a / only_b
  std::optional<event_view> first;           // the first divergence, described

  [[nodiscard]] std::size_t agents_differing() const {
    return agents.only_a.size() + agents.only_b.size() + agents.lifetime.size();
  }
  [[nodiscard]] std::size_t events_differing() const {
    return events.only_a.size() + events.only_b.size();
  }
  [[nodiscard]] bool identical() const {
    return metrics.differs.empty() && agents_differing() == 0 && events_differing() == 0;
  }
};

std::string plural(std::size_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

std::string verdict(const comparison& c) {
  if (c.identical()) return "identical simulation outputs";
  return "runs differ: " + plural(c.metrics.differs.size(), "metric") + ", " +
         plural(c.agents_differing(), "agent") + ", " +
         plural(c.events_differing(), "structural event");
}

std::string_view scenario_text(scenario_texts s) {
  switch (s) {
    case scenario_texts::identical:
      return "identical";
    case scenario_texts::different:
      return "different";
    case scenario_texts::missing_in_a:
      return "missing in A";
    case scenario_texts::missing_in_b:
      return "missing in B";
    case scenario_texts::missing:
      return "missing in both";
  }
  return "";
}

// An event's agents in words: "x (by hub)", "b into a", "committee_3: c, b, a".
std::string agents_text(const event_view& v) {
  const auto& n = v.names;
  auto at = [&](std::size_t i) { return i < n.size() ? n[i] : std::string("?"); };
  switch (v.what) {
    case change::spawned:
      return at(0) + " (by " + at(1) + ")";
    case change::stopped:
      return n.size() > 1 ? at(0) + " (heir " + at(1) + ")" : at(0);
    case change::merged:
      return at(0) + " into " + at(1);
    case change::pruned:
    case change::dissolved:
      return at(0);
    case change::formed: {
      std::string s = at(0) + ":";
      for (std::size_t i = 1; i < n.size(); ++i) s += (i == 1 ? " " : ", ") + n[i];
      return s;
    }
  }
  return {};
}

// Text: a number as written, integers without a fraction; `digits` significant digits.
std::string number_text(double v, int digits = 6) {
  char buf[64];
  if (std::isfinite(v) && v == std::trunc(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  }
  return buf;
}

// A and B with the fewest digits (6 at least) that tell them apart.
std::pair<std::string, std::string> pair_text(const metric_row& r) {
  if (!r.a || !r.b) {
    return {r.a ? number_text(as_double(*r.a)) : std::string(dash),
            r.b ? number_text(as_double(*r.b)) : std::string(dash)};
  }
  const double a = as_double(*r.a), b = as_double(*r.b);
  int digits = 6;
  while (a != b && digits < 17 && number_text(a, digits) == number_text(b, digits)) ++digits;
  return {number_text(a, digits), number_text(b, digits)};
}

std::optional<double> relative_change(const metric_row& r) {
  if (!r.a || !r.b) return std::nullopt;
  const double a = as_double(*r.a), b = as_double(*r.b);
  if (a == 0) return std::nullopt;
  return (b - a) / std::fabs(a) * 100;
}

std::string difference_text(const metric_row& r) {
  if (!r.a || !r.b) return std::string(dash);
  const double d = as_double(*r.b) - as_double(*r.a);
  return (d > 0 ? "+" : "") + number_text(d);
}

std::string change_text(const metric_row& r) {
  const auto rel = relative_change(r);
  if (!rel) return std::string(dash);
  char buf[32];
  std::snprintf(buf, sizeof buf, std::fabs(*rel) >= 0.01 || *rel == 0 ? "%+.2f%%" : "%+.2g%%",
                *rel);
  return buf;
}

// Columns are measured in code points: "—" is one column, three bytes.
std::size_t columns(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// Prints `rows` (the first is the header) in columns two spaces apart, indented by two; the
// columns flagged in `right` are right-aligned. No trailing spaces.
void print_table(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right,
                 std::ostream& out) {
  std::vector<std::size_t> width(right.size(), 0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], columns(row[c]));
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::string pad(width[c] - columns(row[c]), ' ');
      line += "  " + (right[c] ? pad + row[c] : row[c] + pad);
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << '\n';
  }
}

std::string json_text(const json::value* v) {
  if (v == nullptr) return std::string(dash);
  if (const auto* s = v->if_string()) return s->empty() ? "\"\"" : std::string(*s);
  return json::serialize(*v);
}

std::string stopped_text(const std::optional<sim_time>& t) {
  return t ? format_clock(*t) : std::string("-");
}

void print_more(std::size_t total, std::size_t shown, std::ostream& out) {
  if (total > shown) out << "  ... and " << total - shown << " more\n";
}

void print_settings(const comparison& c, std::ostream& out) {
  const auto& s = c.settings;
  if (s.same()) {
    out << "Settings: same scenario, seed and settings\n";
    return;
  }
  out << "Settings: " << plural(s.differences.size(), "difference") << "; scenario.json "
      << scenario_text(s.scenario) << '\n';
  if (s.differences.empty()) return;
  std::vector<std::vector<std::string>> rows{{"setting", "A", "B"}};
  for (const auto& d : s.differences) {
    rows.push_back({std::string(d.field), json_text(d.a), json_text(d.b)});
  }
  print_table(rows, {false, false, false}, out);
}

void print_metric_rows(const std::vector<metric_row>& list, std::ostream& out) {
  std::vector<std::vector<std::string>> rows{{"metric", "A", "B", "B-A", "change"}};
  for (const auto& r : list) {
    auto [a, b] = pair_text(r);
    rows.push_back({r.path, a, b, difference_text(r), change_text(r)});
  }
  print_table(rows, {false, true, true, true, true}, out);
}

void print_metrics(const comparison& c, std::ostream& out) {
  const auto& m = c.metrics;
  out << "\nSummary metrics: " << m.differs.size() << " of " << m.compared << " metrics differ\n";
  if (!m.differs.empty()) print_metric_rows(m.differs, out);
  if (!m.machine.empty()) {
    out << "\nMachine (wall clock and memory: not a difference of the simulation)\n";
    print_metric_rows(m.machine, out);
  }
}

void print_agent_list(std::string_view title, const std::vector<shown_agent>& shown,
                      std::size_t total, std::ostream& out) {
  if (total == 0) return;
  out << title << " (" << total << ")\n";
  std::vector<std::vector<std::string>> rows{{"name", "kind", "born", "stopped", "reason"}};
  for (const auto& [a, reason] : shown) {
    rows.push_back({a->name, a->kind.empty() ? "-" : a->kind, format_clock(a->born),
                    stopped_text(a->stopped), reason});
  }
  print_table(rows, {false, false, true, true, false}, out);
  print_more(total, shown.size(), out);
}

void print_agents(const comparison& c, const run_data& a, const run_data& b, std::size_t limit,
                  std::ostream& out) {
  const auto& t = c.agents;
  out << "\nAgents: " << a.agents.size() << " in A, " << b.agents.size() << " in B; "
      << t.only_a.size() << " only in A, " << t.only_b.size() << " only in B, " << t.lifetime.size()
      << " in both with a different lifetime\n";
  print_agent_list("Only in A", c.shown_only_a, t.only_a.size(), out);
  print_agent_list("Only in B", c.shown_only_b, t.only_b.size(), out);
  if (t.lifetime.empty()) return;
  out << "Different lifetime (" << t.lifetime.size() << ")\n";
  std::vector<std::vector<std::string>> rows{
      {"name", "kind", "born A", "born B", "stopped A", "stopped B"}};
  for (std::size_t i = 0; i < t.lifetime.size() && i < limit; ++i) {
    const auto& [x, y] = t.lifetime[i];
    rows.push_back({x->name, x->kind.empty() ? "-" : x->kind, format_clock(x->born),
                    format_clock(y->born), stopped_text(x->stopped), stopped_text(y->stopped)});
  }
  print_table(rows, {false, false, true, true, true, true}, out);
  print_more(t.lifetime.size(), std::min(t.lifetime.size(), limit), out);
}

void print_event_list(std::string_view title, const std::vector<event_view>& shown,
                      std::size_t total, std::ostream& out) {
  if (total == 0) return;
  out << title << " (" << total << ")\n";
  std::vector<std::vector<std::string>> rows{{"time", "type", "agents", "action", "reason"}};
  for (const auto& v : shown) {
    rows.push_back({format_clock(v.t), std::string(type_of(v.what)), agents_text(v),
                    v.action.empty() ? "-" : v.action, v.reason});
  }
  print_table(rows, {true, false, false, false, false}, out);
  print_more(total, shown.size(), out);
}

void print_events(const comparison& c, const run_data& a, const run_data& b, std::ostream& out) {
  const auto& e = c.events;
  out << "\nStructural events: " << a.events.size() << " in A, " << b.events.size() << " in B; "
      << e.only_a.size() << " only in A, " << e.only_b.size() << " only in B\n";
  std::vector<std::vector<std::string>> rows{{"type", "A", "B"}};
  for (std::size_t i = 0; i < change_types.size(); ++i) {
    rows.push_back(
        {std::string(change_types[i]), std::to_string(e.count_a[i]), std::to_string(e.count_b[i])});
  }
  print_table(rows, {false, true, true}, out);
  if (c.first) {
    out << "First divergence at " << format_clock(c.first->t) << ": " << type_of(c.first->what)
        << " " << agents_text(*c.first) << ", only in " << (e.first_in_a ? "A" : "B") << '\n';
  }
  print_event_list("Only in A", c.shown_a, e.only_a.size(), out);
  print_event_list("Only in B", c.shown_b, e.only_b.size(), out);
}

void print_text(const comparison& c, const run_data& a, const run_data& b,
                const compare_options& options, std::ostream& out) {
  out << "A: " << a.dir.string() << "\nB: " << b.dir.string() << "\n\n";
  print_settings(c, out);
  print_metrics(c, out);
  print_agents(c, a, b, options.limit, out);
  print_events(c, a, b, out);
  out << '\n' << verdict(c) << '\n';
}

json::value optional_json(const json::value* v) {
  return v != nullptr ? *v : json::value(nullptr);
}

json::value time_json(const std::optional<sim_time>& t) {
  return t ? json::value(*t) : json::value(nullptr);
}

json::object metric_json(const metric_row& r) {
  json::object o{{"metric", r.path},
                 {"a", r.a ? *r.a : json::value(nullptr)},
                 {"b", r.b ? *r.b : json::value(nullptr)}};
  std::int64_t whole = 0;
  if (r.a && r.b && r.a->is_int64() && r.b->is_int64() &&
      !__builtin_sub_overflow(r.b->get_int64(), r.a->get_int64(), &whole)) {
    o["difference"] = whole;
  } else if (r.a && r.b) {
    o["difference"] = as_double(*r.b) - as_double(*r.a);
  } else {
    o["difference"] = nullptr;
  }
  const auto rel = relative_change(r);
  o["relative_change_percent"] = rel ? json::value(*rel) : json::value(nullptr);
  return o;
}

json::object agent_list_json(const std::vector<shown_agent>& shown, std::size_t total) {
  json::array agents;
  for (const auto& [a, reason] : shown) {
    agents.push_back({{"name", a->name},
                      {"kind", a->kind},
                      {"born", a->born},
                      {"stopped", time_json(a->stopped)},
                      {"reason", reason}});
  }
  return {{"count", total}, {"agents", std::move(agents)}, {"more", total - shown.size()}};
}

json::object event_json(const event_view& v) {
  json::array names;
  for (const auto& n : v.names) names.push_back(json::string(n));
  return {{"t", v.t},
          {"type", type_of(v.what)},
          {"names", std::move(names)},
          {"action", v.action},
          {"reason", v.reason}};
}

json::object event_list_json(const std::vector<event_view>& shown, std::size_t total) {
  json::array events;
  for (const auto& v : shown) events.push_back(event_json(v));
  return {{"count", total}, {"events", std::move(events)}, {"more", total - shown.size()}};
}

json::object to_json(const comparison& c, const run_data& a, const run_data& b,
                     const compare_options& options) {
  json::array settings;
  for (const auto& d : c.settings.differences) {
    settings.push_back(
        {{"setting", d.field}, {"a", optional_json(d.a)}, {"b", optional_json(d.b)}});
  }
  json::array differs, machine;
  for (const auto& r : c.metrics.differs) differs.push_back(metric_json(r));
  for (const auto& r : c.metrics.machine) machine.push_back(metric_json(r));

  json::array lifetime;
  const auto& t = c.agents;
  for (std::size_t i = 0; i < t.lifetime.size() && i < options.limit; ++i) {
    const auto& [x, y] = t.lifetime[i];
    lifetime.push_back({{"name", x->name},
                        {"kind", x->kind},
                        {"born_a", x->born},
                        {"born_b", y->born},
                        {"stopped_a", time_json(x->stopped)},
                        {"stopped_b", time_json(y->stopped)}});
  }

  const auto& e = c.events;
  json::object counts;
  for (std::size_t i = 0; i < change_types.size(); ++i) {
    counts[change_types[i]] = {{"a", e.count_a[i]}, {"b", e.count_b[i]}};
  }
  json::value first = nullptr;
  if (c.first) {
    auto o = event_json(*c.first);
    o["in"] = e.first_in_a ? "a" : "b";
    first = std::move(o);
  }

  return {
      {"a", a.dir.string()},
      {"b", b.dir.string()},
      {"settings",
       {{"same", c.settings.same()},
        {"differences", std::move(settings)},
        {"scenario_json", scenario_text(c.settings.scenario)}}},
      {"metrics",
       {{"compared", c.metrics.compared},
        {"differ", c.metrics.differs.size()},
        {"differences", std::move(differs)},
        {"machine", std::move(machine)}}},
      {"topology",
       {{"agents_a", a.agents.size()},
        {"agents_b", b.agents.size()},
        {"only_in_a", agent_list_json(c.shown_only_a, t.only_a.size())},
        {"only_in_b", agent_list_json(c.shown_only_b, t.only_b.size())},
        {"lifetime_differs",
         {{"count", t.lifetime.size()},
          {"agents", std::move(lifetime)},
          {"more", t.lifetime.size() - std::min(t.lifetime.size(), options.limit)}}}}},
      {"structural_events",
       {{"a", a.events.size()},
        {"b", b.events.size()},
        {"counts", std::move(counts)},
        {"first_divergence", std::move(first)},
        {"only_in_a", event_list_json(c.shown_a, e.only_a.size())},
        {"only_in_b", event_list_json(c.shown_b, e.only_b.size())}}},
      {"verdict",
       {{"identical", c.identical()},
        {"metrics", c.metrics.differs.size()},
        {"agents", c.agents_differing()},
        {"structural_events", c.events_differing()},
        {"text", verdict(c)}}},
  };
}

}  // namespace

result<void> compare_runs(const fs::path& a, const fs::path& b, const compare_options& options,
                          std::ostream& out) {
  // The two logs are read at once: on a long run nearly all the time goes into them.
  auto read_b = std::async(std::launch::async, [&] { return read_run(b); });
  auto run_a = read_run(a);
  auto run_b = read_b.get();
  if (!run_a) return run_a.error();
  if (!run_b) return run_b.error();

  comparison c{.settings = compare_settings(*run_a, *run_b),
               .metrics = compare_metrics(*run_a, *run_b),
               .agents = compare_agents(*run_a, *run_b),
               .events = compare_events(*run_a, *run_b)};
  auto first = [&](const std::vector<const event_key*>& list) {
    return std::vector<const event_key*>(
        list.begin(),
        list.begin() + static_cast<std::ptrdiff_t>(std::min(list.size(), options.limit)));
  };
  c.shown_only_a = shown_agents(*run_a, c.agents.only_a, options.limit);
  c.shown_only_b = shown_agents(*run_b, c.agents.only_b, options.limit);
  c.shown_a = views_of(*run_a, first(c.events.only_a));
  c.shown_b = views_of(*run_b, first(c.events.only_b));
  if (c.events.first) {
    auto v = views_of(c.events.first_in_a ? *run_a : *run_b, {&*c.events.first});
    c.first = std::move(v.front());
  }

  if (options.json) {
    out << pretty(to_json(c, *run_a, *run_b, options));
  } else {
    print_text(c, *run_a, *run_b, options, out);
  }
  return {};
}

}  // namespace colony::cli
