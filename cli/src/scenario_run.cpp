#include "colony/cli/scenario_run.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <set>

#include "colony/agents/backend.hpp"
#include "colony/agents/builtin.hpp"
#include "colony/agents/kinds.hpp"
#include "colony/agents/organizer.hpp"
#include "colony/agents/probe.hpp"
#include "colony/base/assert.hpp"

namespace colony::cli {

sim_time percentile(std::vector<sim_time>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

scenario_run::scenario_run(const scenarios::scenario& s, const run_settings& settings)
    : scenario_(s),
      rt_({.seed = settings.seed,
           .threads = settings.threads,
           .lookahead = s.run.lookahead,
           .events = settings.events}),
      until_(settings.until > 0 ? settings.until : s.run.duration),
      settings_(settings) {}

result<std::unique_ptr<scenario_run>> scenario_run::build(const scenarios::scenario& s,
                                                          const run_settings& settings) {
  agents::register_builtin_kinds();
  std::unique_ptr<scenario_run> run(new scenario_run(s, settings));
  auto& rt = run->rt_;

  // Ids are dense and given in spawn order, so every agent's links are known before the first
  // is made: backends, then agents, then the workload.
  const std::uint64_t base = broker::raw(rt.next_agent_id());
  std::map<std::string, broker::agent_id> backend_ids, agent_ids;
  for (std::size_t i = 0; i < s.backends.size(); ++i) {
    backend_ids[s.backends[i].name] = broker::agent_id{base + i};
  }
  for (std::size_t i = 0; i < s.agents.size(); ++i) {
    agent_ids[s.agents[i].name] = broker::agent_id{base + s.backends.size() + i};
  }
  const broker::agent_id workload_id{base + s.backends.size() + s.agents.size()};
  // The library, when there is one, comes last, so that it shifts no other id.
  run->library_policy_ = agents::library_policy::from_json(s.library);
  const auto& lp = run->library_policy_;
  std::optional<memory::solution_library> library;
  if (!lp.enabled && !settings.library_from.empty()) {
    return fail(errc::bad_input, settings.library_from.string() +
                                     ": a library to start from, but the scenario has no "
                                     "library: add a \"library\" section (or leave out --library)");
  }
  if (lp.enabled) {
    auto made = open_library(lp, settings);
    if (!made) return made.error();
    library.emplace(std::move(*made));
    run->library_ = broker::agent_id{broker::raw(workload_id) + 1};
  }
  const auto rules = std::make_shared<const agents::library_policy>(lp);
  // The stores, one per locale, come after the library (or the workload).
  const auto sp = agents::store_policy::from_json(s.stores);
  const auto store_rules = std::make_shared<const agents::store_policy>(sp);
  std::map<std::string, broker::agent_id> store_ids;
  std::vector<std::unique_ptr<memory::locale_store>> opened;
  if (sp.enabled) {
    if (settings.store_dir.empty()) {
      return fail(errc::bad_input, "the scenario has stores, and the run no directory for them");
    }
    run->pool_ = std::make_shared<memory::store_pool>(
        settings.store_dir,
        memory::pool_limits{.max_open = sp.store.max_open, .cache_kib = sp.store.cache_kib});
    std::uint64_t next = broker::raw(workload_id) + (lp.enabled ? 2 : 1);
    for (const auto& l : s.locales) {
      auto store = run->pool_->open(l.name);
      if (!store) return store.error();
      opened.push_back(std::move(*store));
      store_ids[l.name] = broker::agent_id{next++};
    }
  }

  std::vector<agents::backend_ref> backend_refs;
  for (const auto& b : s.backends) backend_refs.push_back({b.name, backend_ids[b.name], b});
  // Who links to whom, so that an organizer knows which of its links others rely on.
  std::map<std::string, std::size_t> linked_by;
  std::map<std::string, const scenarios::agent_spec*> by_name;
  for (const auto& a : s.agents) {
    by_name[a.name] = &a;
    for (const auto& l : std::set<std::string>(a.links.begin(), a.links.end())) ++linked_by[l];
  }
  if (s.work.entry.size() > 0) ++linked_by[s.work.entry];

  for (const auto& b : s.backends) {
    auto id = rt.spawn([b] { return std::make_unique<agents::backend_actor>(b); },
                       {.name = "backend:" + b.name, .kind = "backend"});
    if (!id) return id.error();
    COLONY_ASSERT(*id == backend_ids[b.name]);
    run->backends_.push_back(*id);
  }
  for (const auto& a : s.agents) {
    const agents::kind_spec* kind = agents::find_kind(a.kind);
    if (kind == nullptr) {
      return fail(errc::bad_input, "agent \"" + a.name + "\": unknown kind \"" + a.kind + "\"");
    }
    agents::agent_config config{
        .name = a.name,
        .kind = a.kind,
        .locale = a.locale,
        .self = agent_ids[a.name],
        .backend = a.backend.empty() ? broker::no_agent : backend_ids[a.backend],
        .backend_name = a.backend,
        .links = {},
        .link_names = a.links,
        .params = a.params,
        .library = run->library_,
        .library_rules = rules,
        .store = store_ids.count(a.locale) != 0 ? store_ids.at(a.locale) : broker::no_agent,
        .store_rules = store_rules};
    for (const auto& l : a.links) {
      config.links.push_back(agent_ids[l]);
      const auto* target = by_name.at(l);
      config.link_refs.push_back({target->kind, target->backend, target->links, linked_by[l] > 1});
    }
    if (a.kind == "organizer") {
      config.backends = backend_refs;
      config.policies = s.policies;
      run->organizers_.push_back(agent_ids[a.name]);
      const auto policy = agents::organizer_policy::from_json(s.policies);
      run->analysis_every_ = policy.analysis.every;
    }
    engine::spawn_options o{.name = a.name, .kind = a.kind};
    if (!a.locale.empty()) o.groups.push_back(a.locale);
    auto id = rt.spawn([kind, config] { return kind->make(config); }, std::move(o));
    if (!id) return id.error();
    COLONY_ASSERT(*id == agent_ids[a.name]);
    run->nodes_.push_back({*id, a.name, a.kind, a.locale, a.backend, a.links});
  }
  const auto entry = agent_ids.at(s.work.entry);
  // A task unanswered for the whole run, or a day, whichever is longer, counts as failed.
  const sim_time answer_timeout = std::max<sim_time>(run->until_, 1 * day);
  auto w = rt.spawn(
      [&s, entry, until = run->until_, answer_timeout] {
        return std::make_unique<scenarios::workload_source>(s.work, entry, until, answer_timeout);
      },
      {.name = "workload", .kind = "workload"});
  if (!w) return w.error();
  COLONY_ASSERT(*w == workload_id);
  run->workload_ = *w;
  if (library) {
    std::vector<broker::agent_id> reviewers;
    for (const auto& name : lp.review.reviewers) reviewers.push_back(agent_ids.at(name));
    auto shared = std::make_shared<memory::solution_library>(std::move(*library));
    auto l =
        rt.spawn([lp, shared,
                  reviewers] { return agents::make_librarian(lp, std::move(*shared), reviewers); },
                 {.name = "library", .kind = "library"});
    if (!l) return l.error();
    COLONY_ASSERT(*l == run->library_);
  }
  for (std::size_t i = 0; i < opened.size(); ++i) {
    const auto& locale = s.locales[i].name;
    auto shared = std::make_shared<std::unique_ptr<memory::locale_store>>(std::move(opened[i]));
    auto k = rt.spawn([sp, shared] { return agents::make_store_keeper(sp, std::move(*shared)); },
                      {.name = "store:" + locale, .kind = "store"});
    if (!k) return k.error();
    COLONY_ASSERT(*k == store_ids.at(locale));
    run->stores_.emplace_back(locale, *k);
  }
  return run;
}

result<void> scenario_run::close_stores() {
  for (const auto& [locale, id] : stores_) {
    auto* probe = dynamic_cast<agents::store_probe*>(rt_.inspect(id));
    if (probe == nullptr) continue;
    if (auto closed = probe->finish(until_); !closed) return closed;
  }
  return {};
}

result<memory::solution_library> scenario_run::open_library(const agents::library_policy& lp,
                                                            const run_settings& settings) {
  namespace fs = std::filesystem;
  const fs::path& dir = settings.library_dir;
  if (!dir.empty()) {
    // A working database left by an earlier run into the same directory (--force) is stale.
    std::error_code ec;
    fs::remove(dir / memory::solution_library::working_file, ec);
  }
  if (settings.library_from.empty()) {
    return memory::solution_library::create(
        dir, lp.index.dimension, {.factory = lp.index.factory, .parameters = lp.index.parameters});
  }
  auto source = memory::solution_library::locate(settings.library_from);
  if (!source) return source.error();
  std::error_code ec;
  if (!dir.empty() && fs::exists(dir / memory::solution_library::index_file, ec) &&
      fs::equivalent(*source, dir, ec)) {
    return fail(errc::bad_input,
                settings.library_from.string() +
                    ": the library to start from is in the output directory, which the run "
                    "would overwrite: choose another --out");
  }
  auto opened = memory::solution_library::open(*source, {.writable = true, .working_dir = dir});
  if (!opened) return opened.error();
  if (opened->dimension() != lp.index.dimension) {
    return fail(errc::bad_input,
                (*source / memory::solution_library::index_file).string() + ": dimension " +
                    std::to_string(opened->dimension()) +
                    " does not match the scenario's library.index.dimension " +
                    std::to_string(lp.index.dimension) + ": set library.index.dimension to " +
                    std::to_string(opened->dimension()) + " (or start from an empty library)");
  }
  if (!lp.index.parameters.empty()) {
    if (auto set = opened->set_parameters(lp.index.parameters); !set) return set.error();
  }
  return opened;
}

agents::library_probe* scenario_run::library_probe() {
  if (library_ == broker::no_agent) return nullptr;
  return dynamic_cast<agents::library_probe*>(rt_.inspect(library_));
}

result<void> scenario_run::save_library() {
  auto* probe = library_probe();
  if (probe == nullptr || settings_.library_dir.empty()) return {};
  if (auto saved = probe->save(settings_.library_dir); !saved) return saved;
  return {};
}

std::vector<backend_tally> scenario_run::backend_counts() {
  std::vector<backend_tally> out;
  for (auto id : backends_) {
    backend_tally t;
    if (auto* b = dynamic_cast<agents::backend_actor*>(rt_.inspect(id))) {
      const auto& c = b->counts();
      t = {c.calls, c.failures, c.timeouts, c.tokens_in, c.tokens_out, c.cost, b->queue_length()};
    }
    out.push_back(t);
  }
  return out;
}

result<run_totals> scenario_run::run(const std::function<void(const bucket_row&)>& on_bucket) {
  run_totals totals;
  std::vector<backend_tally> before(backends_.size());
  std::uint64_t dead_before = 0;
  std::vector<sim_time> latencies;
  const sim_time bucket = std::max<sim_time>(scenario_.run.metrics_bucket, 1);
  const auto take = [&](std::string_view at, sim_time t) {
    if (settings_.snapshots == nullptr) return;
    *settings_.snapshots << boost::json::serialize(snapshot(at, t)) << '\n';
  };
  take("start", 0);
  sim_time next_analysis = analysis_every_ > 0 ? analysis_every_ : time_never;
  agents::library_counters library_before;
  agents::store_counters stores_before;
  const auto store_totals = [&] {
    agents::store_counters sum;
    for (const auto& [locale, id] : stores_) {
      const auto* probe = dynamic_cast<const agents::store_probe*>(rt_.inspect(id));
      if (probe == nullptr) continue;
      sum += probe->counters();
    }
    return sum;
  };
  const sim_time checkpoint = library_policy_.upkeep.checkpoint;
  sim_time next_checkpoint = checkpoint > 0 ? checkpoint : time_never;
  for (sim_time start = 0; start < until_; start += bucket) {
    const sim_time end = std::min(start + bucket, until_);
    // A snapshot at every analysis: the topology the analysis judged.
    while (next_analysis < end) {
      auto stepped = rt_.run(next_analysis);
      if (!stepped) return stepped.error();
      take("analysis", next_analysis);
      next_analysis += analysis_every_;
    }
    auto stepped = rt_.run(end);
    if (!stepped) return stepped.error();
    if (end < until_) take(next_analysis == end ? "analysis" : "bucket", end);
    if (next_analysis == end) next_analysis += analysis_every_;
    auto* source = dynamic_cast<scenarios::workload_source*>(rt_.inspect(workload_));
    COLONY_ASSERT(source != nullptr);

    bucket_row row;
    row.start = start;
    row.end = end;
    row.tasks = source->take_bucket();
    row.in_flight = source->in_flight();
    const auto now = backend_counts();
    for (std::size_t i = 0; i < now.size(); ++i) {
      backend_tally d = now[i];
      d.calls -= before[i].calls;
      d.failures -= before[i].failures;
      d.timeouts -= before[i].timeouts;
      d.tokens_in -= before[i].tokens_in;
      d.tokens_out -= before[i].tokens_out;
      d.cost -= before[i].cost;
      row.backends.push_back(d);
    }
    before = now;
    const auto k = rt_.stats();
    row.agents_alive = k.alive;
    row.dead_letters = k.dead_letters - dead_before;
    dead_before = k.dead_letters;
    if (auto* probe = library_probe()) {
      const auto now_counts = probe->counters();
      row.library = now_counts;
      *row.library -= library_before;
      library_before = now_counts;
      // Checkpoints at the first bucket end at or past each multiple of upkeep.checkpoint.
      if (end >= next_checkpoint && end < until_ && !settings_.library_dir.empty()) {
        if (auto saved = probe->save(settings_.library_dir); !saved) return saved.error();
        while (next_checkpoint <= end) next_checkpoint += checkpoint;
      }
    }
    if (!stores_.empty()) {
      const auto now_counts = store_totals();
      row.stores = now_counts;
      *row.stores -= stores_before;
      stores_before = now_counts;
    }
    latencies.insert(latencies.end(), row.tasks.latencies.begin(), row.tasks.latencies.end());
    totals.tasks.add(row.tasks);
    on_bucket(row);
  }
  auto* source = dynamic_cast<scenarios::workload_source*>(rt_.inspect(workload_));
  COLONY_ASSERT(source != nullptr);
  totals.tasks.latencies = std::move(latencies);
  totals.families = source->families();
  take("end", until_);
  totals.in_flight = source->in_flight();
  totals.backends = backend_counts();
  totals.kernel = rt_.stats();
  totals.end_time = until_;
  if (auto* probe = library_probe()) totals.library = probe->counters();
  // The stores commit what they still hold and close: each file then stands alone.
  if (auto closed = close_stores(); !closed) return closed.error();
  for (const auto& [locale, id] : stores_) {
    if (const auto* probe = dynamic_cast<const agents::store_probe*>(rt_.inspect(id))) {
      totals.stores[locale] = probe->counters();
    }
  }
  return totals;
}

}  // namespace colony::cli

namespace colony::cli {

boost::json::object scenario_run::snapshot(std::string_view at, sim_time t) {
  boost::json::array agents_out, edges_out, patterns_out;
  std::vector<agents::edge_count> edges;
  const auto add_edges = [&](broker::agent_id from) {
    const auto* probe = dynamic_cast<const agents::topology_probe*>(rt_.inspect(from));
    if (probe == nullptr) return;
    edges.clear();
    probe->edges(edges);
    for (const auto& e : edges) {
      if (!rt_.alive(e.to)) continue;  // edges end with the agents they lead to
      edges_out.push_back({{"from", broker::raw(from)},
                           {"to", broker::raw(e.to)},
                           {"kind", e.kind},
                           {"requests", e.requests}});
    }
  };
  std::map<broker::agent_id, std::vector<std::string>> covers;
  for (const auto org : organizers_) {
    const auto* probe = dynamic_cast<const agents::organizer_probe*>(rt_.inspect(org));
    if (probe == nullptr) continue;
    for (const auto& p : probe->patterns()) {
      boost::json::array by;
      for (const auto id : p.covered_by) {
        by.emplace_back(broker::raw(id));
        covers[id].push_back(p.name);
      }
      patterns_out.push_back({{"id", p.id},
                              {"name", p.name},
                              {"seen", p.seen},
                              {"covered_by", std::move(by)},
                              {"organizer", broker::raw(org)}});
    }
  }
  const auto names = [](const std::vector<std::string>& v) {
    return boost::json::array(v.begin(), v.end());
  };
  for (std::size_t i = 0; i < scenario_.backends.size(); ++i) {
    agents_out.push_back({{"id", broker::raw(backends_[i])},
                          {"name", "backend:" + scenario_.backends[i].name},
                          {"kind", "backend"},
                          {"locale", ""},
                          {"backend", ""},
                          {"parent", nullptr},
                          {"born", 0},
                          {"patterns", boost::json::array()}});
  }
  if (const auto* source =
          dynamic_cast<const scenarios::workload_source*>(rt_.inspect(workload_))) {
    agents_out.push_back({{"id", broker::raw(workload_)},
                          {"name", "workload"},
                          {"kind", "workload"},
                          {"locale", ""},
                          {"backend", ""},
                          {"parent", nullptr},
                          {"born", 0},
                          {"patterns", boost::json::array()}});
    const auto entry = std::find_if(nodes_.begin(), nodes_.end(),
                                    [&](const node& n) { return n.name == scenario_.work.entry; });
    if (entry != nodes_.end()) {
      edges_out.push_back({{"from", broker::raw(workload_)},
                           {"to", broker::raw(entry->id)},
                           {"kind", "link"},
                           {"requests", source->total().arrived}});
    }
  }
  for (const auto& [locale, id] : stores_) {
    agents_out.push_back({{"id", broker::raw(id)},
                          {"name", "store:" + locale},
                          {"kind", "store"},
                          {"locale", locale},
                          {"backend", ""},
                          {"parent", nullptr},
                          {"born", 0},
                          {"patterns", boost::json::array()}});
  }
  if (library_ != broker::no_agent) {
    agents_out.push_back({{"id", broker::raw(library_)},
                          {"name", "library"},
                          {"kind", "library"},
                          {"locale", ""},
                          {"backend", ""},
                          {"parent", nullptr},
                          {"born", 0},
                          {"patterns", boost::json::array()}});
  }
  for (const auto& n : nodes_) {
    if (!rt_.alive(n.id)) continue;
    agents_out.push_back({{"id", broker::raw(n.id)},
                          {"name", n.name},
                          {"kind", n.kind},
                          {"locale", n.locale},
                          {"backend", n.backend},
                          {"parent", nullptr},
                          {"born", 0},
                          {"patterns", names(covers[n.id])}});
    add_edges(n.id);
  }
  for (const auto org : organizers_) {
    const auto* probe = dynamic_cast<const agents::organizer_probe*>(rt_.inspect(org));
    if (probe == nullptr) continue;
    // What an organizer makes joins its locale.
    const auto maker =
        std::find_if(nodes_.begin(), nodes_.end(), [&](const node& n) { return n.id == org; });
    const std::string locale = maker != nodes_.end() ? maker->locale : "";
    for (const auto& m : probe->made()) {
      if (!rt_.alive(m.id)) continue;
      agents_out.push_back({{"id", broker::raw(m.id)},
                            {"name", m.name},
                            {"kind", m.kind},
                            {"locale", locale},
                            {"backend", m.backend},
                            {"parent", broker::raw(m.parent)},
                            {"born", m.born},
                            {"patterns", names(m.patterns)}});
      add_edges(m.id);
    }
  }
  return {{"t", t},
          {"at", at},
          {"agents", std::move(agents_out)},
          {"edges", std::move(edges_out)},
          {"patterns", std::move(patterns_out)}};
}

}  // namespace colony::cli
