#include "run_outputs.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "colony/broker/ids.hpp"
#include "colony/memory/solution_library.hpp"

namespace colony::cli {
namespace {

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

double ms(sim_time t) {
  return static_cast<double>(t) / static_cast<double>(msec);
}

void pretty_into(std::string& out, const boost::json::value& v, int indent) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  const std::string inner(static_cast<std::size_t>(indent + 2), ' ');
  if (const auto* o = v.if_object(); o != nullptr && !o->empty()) {
    out += "{\n";
    std::size_t i = 0;
    for (const auto& [k, x] : *o) {
      out += inner + boost::json::serialize(boost::json::value(k)) + ": ";
      pretty_into(out, x, indent + 2);
      out += ++i < o->size() ? ",\n" : "\n";
    }
    out += pad + "}";
  } else if (const auto* a = v.if_array(); a != nullptr && !a->empty()) {
    out += "[\n";
    for (std::size_t i = 0; i < a->size(); ++i) {
      out += inner;
      pretty_into(out, (*a)[i], indent + 2);
      out += i + 1 < a->size() ? ",\n" : "\n";
    }
    out += pad + "]";
  } else if (v.is_double()) {
    // Shortest form that reads back the same double ("0.25", "86400"), not Boost's "8.64E4".
    char buf[64];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.get_double());
    out.append(buf, ec == std::errc{} ? end : buf);
  } else {
    out += boost::json::serialize(v);
  }
}

}  // namespace

std::string text_hash(std::string_view text) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(broker::stable_hash(text)));
  return "fnv1a64:" + std::string(buf);
}

result<std::string> library_hash(const std::filesystem::path& path) {
  auto dir = memory::solution_library::locate(path);
  if (!dir) return dir.error();
  std::string bytes;
  for (const auto file :
       {memory::solution_library::index_file, memory::solution_library::database_file}) {
    const auto text = read_file(*dir / file);
    if (!text) return fail(errc::bad_input, (*dir / file).string() + ": cannot read");
    bytes += *text;
  }
  return text_hash(bytes);
}

std::string pretty(const boost::json::value& v) {
  std::string out;
  pretty_into(out, v, 0);
  out += '\n';
  return out;
}

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

result<boost::json::object> read_json_object(const std::filesystem::path& path) {
  const auto text = read_file(path);
  if (!text) return fail(errc::bad_input, path.string() + ": error: cannot read");
  boost::json::stream_parser parser;
  boost::system::error_code ec;
  const std::size_t used = parser.write_some(text->data(), text->size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    // Name the line and column where the parser stopped.
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < used && i < text->size(); ++i) {
      column = (*text)[i] == '\n' ? 1 : column + 1;
      line += (*text)[i] == '\n' ? 1 : 0;
    }
    return fail(errc::bad_input, path.string() + ":" + std::to_string(line) + ":" +
                                     std::to_string(column) + ": error: not JSON (" + ec.message() +
                                     ")");
  }
  auto value = parser.release();
  if (!value.is_object()) {
    return fail(errc::bad_input, path.string() + ": error: not a JSON object");
  }
  return std::move(value.as_object());
}

result<void> write_file(const std::filesystem::path& path, std::string_view text) {
  std::ofstream f(path, std::ios::binary);
  if (!f) return fail(errc::io_error, path.string() + ": cannot create: " + std::strerror(errno));
  f.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!f) return fail(errc::io_error, path.string() + ": write failed: " + std::strerror(errno));
  return {};
}

std::string csv_cell(std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (const char ch : text) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + '"';
}

std::string metrics_header(const scenarios::scenario& s) {
  std::string h =
      "bucket_start_s,bucket_end_s,arrived,completed,succeeded,failed,escalated,in_flight,"
      "success_rate,latency_p50_ms,latency_p95_ms,latency_p99_ms,cost,tokens_in,tokens_out";
  for (const auto& b : s.backends) h += "," + csv_cell("calls_" + b.name);
  for (const auto& b : s.backends) h += "," + csv_cell("queue_" + b.name);
  h += ",agents_alive,dead_letters";
  if (agents::library_policy::from_json(s.library).enabled) {
    h += ",library_size,library_live,library_queries,library_hit_rate";
    for (std::size_t i = 0; i < agents::library_tier_count; ++i) {
      h += ",library_";
      h += to_string(static_cast<agents::library_tier>(i));
    }
    h += ",library_mean_similarity,library_cost_saved,library_stored";
  }
  if (agents::store_policy::from_json(s.stores).enabled) {
    h += ",store_rows,store_lookups,store_hits,store_foreign_reads,external_lookups,"
         "store_writes_refused,store_tables,store_grants,store_denials";
  }
  return h;
}

namespace {

// Tasks that took a path other than generate, of those that consulted the library.
double hit_rate(const agents::library_counters& c) {
  const auto generated = c.tiers[static_cast<std::size_t>(agents::library_tier::generate)];
  return c.reports > 0 ? static_cast<double>(c.reports - generated) / double(c.reports) : 0.0;
}

}  // namespace

std::string metrics_line(const bucket_row& row) {
  auto t = row.tasks;  // percentile() sorts
  const std::uint64_t ended = t.completed + t.failed + t.escalated;
  std::ostringstream line;
  line << fixed(static_cast<double>(row.start) / sec, 3) << ','
       << fixed(static_cast<double>(row.end) / sec, 3) << ',' << t.arrived << ',' << t.completed
       << ',' << t.succeeded << ',' << t.failed << ',' << t.escalated << ',' << row.in_flight << ','
       << fixed(ended > 0 ? static_cast<double>(t.succeeded) / static_cast<double>(ended) : 0, 4)
       << ',' << fixed(ms(percentile(t.latencies, 50)), 3) << ','
       << fixed(ms(percentile(t.latencies, 95)), 3) << ','
       << fixed(ms(percentile(t.latencies, 99)), 3) << ',' << fixed(t.cost, 6) << ',' << t.tokens_in
       << ',' << t.tokens_out;
  for (const auto& b : row.backends) line << ',' << b.calls;
  for (const auto& b : row.backends) line << ',' << b.queue;
  line << ',' << row.agents_alive << ',' << row.dead_letters;
  if (const auto& l = row.library) {
    line << ',' << l->entries << ',' << l->entries - l->deprecated << ',' << l->queries << ','
         << fixed(hit_rate(*l), 4);
    for (const auto n : l->tiers) line << ',' << n;
    line << ','
         << fixed(l->reports > 0 ? l->similarity_sum / static_cast<double>(l->reports) : 0, 4)
         << ',' << fixed(l->saved, 6) << ',' << l->stored;
  }
  if (const auto& st = row.stores) {
    line << ',' << st->rows << ',' << st->lookups << ',' << st->hits << ',' << st->foreign_reads
         << ',' << st->externals << ',' << st->writes_refused << ',' << st->tables << ','
         << st->granted << ',' << st->denied;
  }
  return line.str();
}

boost::json::object summary(const scenarios::scenario& s, const run_totals& t,
                            double wall_seconds) {
  auto lat = t.tasks.latencies;
  const std::uint64_t ended = t.tasks.completed + t.tasks.failed + t.tasks.escalated;
  boost::json::object backends;
  for (std::size_t i = 0; i < s.backends.size(); ++i) {
    const auto& b = t.backends[i];
    backends[s.backends[i].name] = {{"calls", b.calls},           {"failures", b.failures},
                                    {"timeouts", b.timeouts},     {"tokens_in", b.tokens_in},
                                    {"tokens_out", b.tokens_out}, {"cost", b.cost}};
  }
  boost::json::object o;
  o["scenario"] = s.name;
  o["simulated_seconds"] = static_cast<double>(t.end_time) / sec;
  o["arrived"] = t.tasks.arrived;
  o["completed"] = t.tasks.completed;
  o["failed"] = t.tasks.failed;
  o["escalated"] = t.tasks.escalated;
  o["in_flight"] = t.in_flight;
  o["succeeded"] = t.tasks.succeeded;
  o["success_rate"] =
      ended > 0 ? static_cast<double>(t.tasks.succeeded) / static_cast<double>(ended) : 0.0;
  o["cost"] = t.tasks.cost;
  o["cost_per_success"] =
      t.tasks.succeeded > 0 ? t.tasks.cost / static_cast<double>(t.tasks.succeeded) : 0.0;
  o["tokens_in"] = t.tasks.tokens_in;
  o["tokens_out"] = t.tasks.tokens_out;
  o["latency_ms"] = {{"p50", ms(percentile(lat, 50))},
                     {"p95", ms(percentile(lat, 95))},
                     {"p99", ms(percentile(lat, 99))}};
  o["backends"] = std::move(backends);
  // Per family, and by the path that answered, so that a run can compare committees with
  // single routes on the same kind of task.
  const auto counts = [](const scenarios::task_tally& x) {
    const std::uint64_t done = x.completed + x.failed + x.escalated;
    return boost::json::object{
        {"completed", x.completed},
        {"succeeded", x.succeeded},
        {"failed", x.failed},
        {"escalated", x.escalated},
        {"success_rate", done > 0 ? static_cast<double>(x.succeeded) / double(done) : 0.0},
        {"cost", x.cost}};
  };
  boost::json::object families;
  for (std::size_t i = 0; i < s.work.families.size() && i < t.families.size(); ++i) {
    const auto& f = t.families[i];
    auto fam = counts(f.all);
    fam["arrived"] = f.all.arrived;
    boost::json::object paths;
    for (const auto& [path, x] : f.by_path) paths[path] = counts(x);
    fam["by_path"] = std::move(paths);
    families[s.work.families[i].name] = std::move(fam);
  }
  o["by_family"] = std::move(families);
  o["kernel"] = {{"messages_delivered", t.kernel.delivered},
                 {"messages_sent", t.kernel.sent},
                 {"dead_letters", t.kernel.dead_letters},
                 {"windows", t.kernel.windows},
                 {"events", t.kernel.events},
                 {"agents_alive", t.kernel.alive}};
  if (const auto& l = t.library) {
    boost::json::object tiers;
    for (std::size_t i = 0; i < agents::library_tier_count; ++i) {
      tiers[to_string(static_cast<agents::library_tier>(i))] = l->tiers[i];
    }
    o["library"] = {{"entries", l->entries},
                    {"deprecated", l->deprecated},
                    {"queries", l->queries},
                    {"searches", l->searches},
                    {"tasks", l->reports},
                    {"hit_rate", hit_rate(*l)},
                    {"tiers", std::move(tiers)},
                    {"mean_similarity",
                     l->reports > 0 ? l->similarity_sum / static_cast<double>(l->reports) : 0.0},
                    {"cost_saved", l->saved},
                    {"stored", l->stored},
                    {"forked", l->forked},
                    {"synthesized", l->synthesized},
                    {"superseded", l->superseded},
                    {"retired", l->retired},
                    {"reviewed", l->reviewed},
                    {"rejected", l->rejected},
                    {"review_cost", l->review_cost}};
  }
  if (!t.stores.empty()) {
    boost::json::object stores;
    for (const auto& [locale, c] : t.stores) {
      stores[locale] = {{"rows", c.rows},
                        {"transactions", c.flushes},
                        {"lookups", c.lookups},
                        {"hits", c.hits},
                        {"foreign_reads", c.foreign_reads},
                        {"external_lookups", c.externals},
                        {"writes_refused", c.writes_refused},
                        {"grants", c.granted},
                        {"denials", c.denied},
                        {"tables", c.tables},
                        {"archived", c.archived},
                        {"recalls", c.recalls},
                        {"hits_by_agent", {}}};
      auto& by = stores[locale].as_object()["hits_by_agent"].emplace_object();
      for (const auto& [agent, n] : c.hits_by) by[agent] = n;
    }
    o["stores"] = std::move(stores);
  }
  o["wall_seconds"] = wall_seconds;
  o["tasks_per_wall_second"] =
      wall_seconds > 0 ? static_cast<double>(t.tasks.arrived) / wall_seconds : 0.0;
  return o;
}

boost::json::object topology_json(const scenarios::scenario& s, const std::vector<node>& nodes) {
  boost::json::array agents, edges, backends;
  for (const auto& b : s.backends) {
    backends.push_back({{"name", b.name}, {"concurrency", b.concurrency}});
  }
  for (const auto& n : nodes) {
    boost::json::array links;
    for (const auto& l : n.links) {
      links.push_back(boost::json::value(l));
      edges.push_back({{"from", n.name}, {"to", l}, {"kind", "link"}});
    }
    if (!n.backend.empty())
      edges.push_back({{"from", n.name}, {"to", n.backend}, {"kind", "calls"}});
    agents.push_back({{"id", broker::raw(n.id)},
                      {"name", n.name},
                      {"kind", n.kind},
                      {"locale", n.locale},
                      {"backend", n.backend},
                      {"links", std::move(links)}});
  }
  return {{"entry", s.work.entry},
          {"agents", std::move(agents)},
          {"backends", std::move(backends)},
          {"edges", std::move(edges)}};
}

std::string topology_dot(const scenarios::scenario& s, const std::vector<node>& nodes) {
  auto quoted = [](const std::string& x) { return boost::json::serialize(boost::json::value(x)); };
  std::ostringstream dot;
  dot << "digraph " << quoted(s.name) << " {\n  rankdir=LR;\n  node [shape=box];\n";
  dot << "  \"workload\" [shape=oval];\n  \"workload\" -> " << quoted(s.work.entry) << ";\n";
  for (const auto& b : s.backends) {
    dot << "  " << quoted("backend:" + b.name) << " [shape=cylinder];\n";
  }
  for (const auto& n : nodes) {
    dot << "  " << quoted(n.name) << " [label=" << quoted(n.name + "\n" + n.kind) << "];\n";
    for (const auto& l : n.links) dot << "  " << quoted(n.name) << " -> " << quoted(l) << ";\n";
    if (!n.backend.empty()) {
      dot << "  " << quoted(n.name) << " -> " << quoted("backend:" + n.backend)
          << " [style=dashed];\n";
    }
  }
  dot << "}\n";
  return dot.str();
}

namespace {

// Where two texts first differ: "line N" (1-based), or "length" when one is a prefix.
std::string first_difference(std::string_view a, std::string_view b) {
  const auto at = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  const auto offset = static_cast<std::size_t>(at.first - a.begin());
  if (offset == std::min(a.size(), b.size())) {
    return "one ends at byte " + std::to_string(offset) + ", the other goes on";
  }
  const auto line =
      1 + std::count(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(offset), '\n');
  return "first at line " + std::to_string(line);
}

}  // namespace

result<bool> compare_outputs(const std::filesystem::path& a, const std::filesystem::path& b,
                             std::ostream& out) {
  bool same = true;
  const auto show = [&](std::string_view file, std::string_view verdict) {
    out << "  " << file << std::string(file.size() < 16 ? 16 - file.size() : 1, ' ') << verdict
        << '\n';
  };
  for (const char* file : {"events.jsonl", "metrics.csv", "topology.jsonl", "topology.json",
                           "topology.dot", "scenario.json", "library.faiss", "library.sqlite"}) {
    const auto x = read_file(a / file);
    const auto y = read_file(b / file);
    if (!x && !y) continue;
    if (!x || !y) {
      same = false;
      show(file, std::string("differs: only in ") + (x ? a : b).string());
    } else if (*x == *y) {
      show(file, "identical (" + std::to_string(x->size()) + " bytes)");
    } else {
      same = false;
      show(file, "differs: " + first_difference(*x, *y));
    }
  }
  // The summary, without what depends on the machine.
  std::optional<boost::json::object> sums[2];
  for (int i = 0; i < 2; ++i) {
    const auto path = (i == 0 ? a : b) / "summary.json";
    const auto text = read_file(path);
    if (!text) continue;
    boost::json::error_code ec;
    auto v = boost::json::parse(*text, ec);
    if (ec || !v.is_object()) {
      return fail(errc::bad_input, path.string() + ": not a JSON object");
    }
    sums[i] = std::move(v.as_object());
    for (const char* k : {"wall_seconds", "tasks_per_wall_second", "peak_rss_bytes"}) {
      sums[i]->erase(k);
    }
  }
  if (sums[0] || sums[1]) {
    if (sums[0] && sums[1] && *sums[0] == *sums[1]) {
      show("summary.json", "identical (but for wall time and memory)");
    } else {
      same = false;
      show("summary.json", sums[0] && sums[1] ? "differs" : "differs: only in one run");
    }
  }
  out << (same ? "outputs identical\n" : "outputs DIFFER\n");
  return same;
}

}  // namespace colony::cli
