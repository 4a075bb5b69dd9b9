#include "colony/cli/scenario_run.hpp"

#include <algorithm>
#include <cmath>

#include "colony/agents/backend.hpp"
#include "colony/agents/builtin.hpp"
#include "colony/agents/kinds.hpp"
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
      until_(settings.until > 0 ? settings.until : s.run.duration) {}

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
        .params = a.params};
    for (const auto& l : a.links) config.links.push_back(agent_ids[l]);
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
  return run;
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
  for (sim_time start = 0; start < until_; start += bucket) {
    const sim_time end = std::min(start + bucket, until_);
    auto stepped = rt_.run(end);
    if (!stepped) return stepped.error();
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
    latencies.insert(latencies.end(), row.tasks.latencies.begin(), row.tasks.latencies.end());
    totals.tasks.add(row.tasks);
    on_bucket(row);
  }
  auto* source = dynamic_cast<scenarios::workload_source*>(rt_.inspect(workload_));
  COLONY_ASSERT(source != nullptr);
  totals.tasks.latencies = std::move(latencies);
  totals.in_flight = source->in_flight();
  totals.backends = backend_counts();
  totals.kernel = rt_.stats();
  totals.end_time = until_;
  return totals;
}

}  // namespace colony::cli
