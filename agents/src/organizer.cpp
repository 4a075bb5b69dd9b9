// The organizer actor: carries out organizer_core's decisions and logs each with its reason.
#include "organizer.hpp"

#include <algorithm>
#include <utility>

#include "colony/agents/kinds.hpp"
#include "committee.hpp"

namespace colony::agents::detail {
namespace {

std::string join_links(const std::vector<std::string>& links) {
  std::string out;
  for (const auto& l : links) out += (out.empty() ? "" : ",") + l;
  return out;
}

}  // namespace

organizer::organizer(const agent_config& c)
    : locale_(c.locale),
      library_(c.library),
      library_rules_(c.library_rules),
      store_(c.store),
      store_rules_(c.store_rules),
      core_(organizer_policy::from_json(c.policies), c.backends),
      timeout_(integer(c.params, "forward_timeout")) {
  for (std::size_t i = 0; i < c.links.size(); ++i) {
    route r;
    r.id = c.links[i];
    r.name = c.link_names[i];
    r.general = true;
    if (i < c.link_refs.size()) {
      const auto& ref = c.link_refs[i];
      r.kind = ref.kind;
      r.backend = ref.backend;
      r.shared = ref.shared;
      r.signature = ref.kind + "|" + ref.backend + "|" + join_links(ref.links);
    }
    core_.add_route(std::move(r));
  }
}

void organizer::on_start(engine::context& ctx) {
  const auto& a = core_.policy().analysis;
  if (a.every > 0) ctx.schedule(a.every, msg::tick{0, analysis_tick});
}

void organizer::handle(broker::envelope& env, engine::context& ctx) {
  broker::visit(broker::overloaded{[&](msg::task_request&) { begin(env, ctx); },
                                   [&](msg::task_result& r) { settle(env.correlation, &r, ctx); },
                                   [&](msg::timeout& t) { settle(t.request, nullptr, ctx); },
                                   [&](msg::spawned& s) { on_spawned(s, ctx); },
                                   [&](msg::stopped& s) { on_stopped(s.who); },
                                   [&](msg::tick& t) { on_tick(t, ctx); }, [](msg::ping&) {},
                                   [](msg::pong&) {}, [](msg::token&) {}, [](msg::dead_letter&) {},
                                   [](msg::llm_call&) {}, [](msg::llm_reply&) {},
                                   [](msg::library_query&) {}, [](msg::library_answer&) {},
                                   [](msg::library_report&) {}, [](msg::store_request&) {},
                                   [](msg::store_reply&) {}, [](msg::db_announce&) {}},
                env.payload);
}

void organizer::on_stopped(broker::agent_id who) {
  made_.erase(who);
  sent_.erase(who);
  core_.remove(who);
  std::uint32_t pattern = 0;
  if (standing* st = find_standing(who, &pattern)) {
    auto& stands = pool_[pattern];
    stands.erase(stands.begin() + (st - stands.data()));
  }
}

void organizer::on_tick(const msg::tick& t, engine::context& ctx) {
  if (t.what == pool_tick) {
    std::uint32_t pattern = 0;
    standing* st = find_standing(broker::agent_id{t.id}, &pattern);
    const auto idle = core_.policy().committee.pool_idle;
    if (st != nullptr && !st->busy && ctx.now() - st->idle_since >= idle) {
      stand_down(pattern, static_cast<std::size_t>(st - pool_[pattern].data()),
                 "idle for " + format_duration(idle), ctx);
    }
    return;
  }
  if (t.what != analysis_tick) return;
  analyse(ctx);
  ctx.schedule(core_.policy().analysis.every, msg::tick{0, analysis_tick});
}

std::string organizer::pattern_name(std::uint32_t p) const {
  return core_.patterns().label(p);
}

void organizer::begin(broker::envelope& env, engine::context& ctx) {
  const std::uint64_t id = ++next_job_;
  job& j = jobs_[id];
  j.work.request = std::move(env);
  const auto& t = j.work.task();
  j.at = core_.observe(t.text, t.family, t.domain, ctx.now());
  announce_patterns(j.at, ctx);
  maybe_spawn(j.at, ctx);
  if (maybe_committee(id, ctx)) return;
  dispatch(id, ctx);
}

void organizer::announce_patterns(const pattern_book::placement& at, engine::context& ctx) {
  for (const auto p : {at.top, at.sub}) {
    const auto& pat = core_.patterns().at(p);
    if (!pat.detected || !announced_.insert(p).second) continue;
    const auto window = core_.policy().spawn.window;
    boost::json::object e{
        {"pattern", pat.name},
        {"pattern_id", p},
        {"seen", pat.recent.size()},
        {"window", window},
        {"domain", pat.main_domain()},
        {"family", pat.main_family()},
        {"reason", "pattern " + pat.name + " seen " + std::to_string(pat.recent.size()) +
                       " times in " + format_duration(window)}};
    if (pat.parent != 0) e["parent_pattern"] = pattern_name(pat.parent);
    ctx.log_event("pattern_detected", std::move(e));
  }
}

void organizer::maybe_spawn(const pattern_book::placement& at, engine::context& ctx) {
  // With analysis.apply off the organizer only observes and recommends.
  if (!core_.policy().analysis.apply) return;
  auto d = core_.consider_spawn(at.top, at.sub, ctx.now());
  if (!d) return;
  core_.spawn_pending(d->pattern);
  const auto& backend = core_.backends().at(d->backend);
  agent_config c;
  c.name = d->name;
  c.kind = "specialist";
  c.locale = locale_;
  c.backend = backend.id;
  c.backend_name = backend.name;
  c.library = library_;  // specialists it makes use the run's library like the others
  c.library_rules = library_rules_;
  c.store = store_;  // and remember in their locale's store
  c.store_rules = store_rules_;
  const kind_spec* kind = find_kind("specialist");
  c.params = with_defaults(*kind, core_.policy().spawn.specialist);
  const std::uint64_t tag = ++next_spawn_;
  engine::spawn_options o{.name = d->name,
                          .kind = "specialist",
                          .tag = tag,
                          .reason = d->reason,
                          .details = d->details};
  if (!locale_.empty()) o.groups.push_back(locale_);
  ctx.spawn([kind, c] { return kind->make(c); }, std::move(o));
  spawning_.emplace(tag, std::move(*d));
}

bool organizer::maybe_committee(std::uint64_t id, engine::context& ctx) {
  const auto& policy = core_.policy().committee;
  job& j = jobs_.at(id);
  const auto& t = j.work.task();
  if (!policy.enabled || t.complexity < policy.complexity) return false;
  auto members = core_.committee_for(j.at.top, t.domain);
  if (members.empty()) return false;
  // A control group of eligible tasks goes to a single route, so that a run can compare.
  if (policy.control_share > 0 && ctx.random().bernoulli(policy.control_share)) return false;
  if (policy.pool > 0 && use_pool(id, ctx)) return true;
  committee_setup setup;
  setup.members = members;
  core_.seat(members);  // no member is stopped while the committee may need it
  j.seats = members;
  for (const auto m : members) setup.names.push_back(core_.routes().at(m).name);
  setup.pattern = pattern_name(j.at.top);
  setup.policy = policy;
  if (policy.pool > 0 && pool_[j.at.top].size() < policy.pool) {
    // A new standing committee for this pattern; it takes this task first.
    setup.standing = true;
    pool_[j.at.top].push_back({broker::no_agent, members, true, 0});
    standing_spawns_[id] = j.at.top;
  }
  const std::string name = "committee_" + std::to_string(broker::raw(t.task));
  boost::json::array names;
  for (const auto& n : setup.names) names.emplace_back(n);
  ctx.spawn([setup] { return std::make_unique<committee>(setup); },
            {.name = name,
             .kind = "committee",
             .tag = committee_tag | id,
             .reason = "task " + std::to_string(broker::raw(t.task)) + " (complexity " +
                       fixed(t.complexity) + ") needs a committee",
             .details = {{"task", broker::raw(t.task)},
                         {"complexity", t.complexity},
                         {"threshold", policy.complexity},
                         {"members", std::move(names)}}});
  return true;
}

bool organizer::use_pool(std::uint64_t id, engine::context& ctx) {
  job& j = jobs_.at(id);
  auto& stands = pool_[j.at.top];
  for (std::size_t i = 0; i < stands.size(); ++i) {
    standing& st = stands[i];
    if (st.busy || st.id == broker::no_agent) continue;
    const bool intact = std::all_of(st.members.begin(), st.members.end(), [&](auto m) {
      const route* r = core_.find(m);
      return r != nullptr && !r->retiring;
    });
    if (!intact) {
      stand_down(j.at.top, i, "a member was retired", ctx);
      return use_pool(id, ctx);
    }
    st.busy = true;
    core_.seat(st.members);
    j.seats = st.members;
    j.route = st.id;
    send(id, st.id, ctx);
    return true;
  }
  return false;
}

void organizer::stand_down(std::uint32_t pattern, std::size_t at, const std::string& why,
                           engine::context& ctx) {
  auto& stands = pool_[pattern];
  const auto committee = stands[at].id;
  stands.erase(stands.begin() + static_cast<std::ptrdiff_t>(at));
  ctx.stop(committee, {.reason = "standing committee stood down: " + why});
}

organizer::standing* organizer::find_standing(broker::agent_id id, std::uint32_t* pattern) {
  if (id == broker::no_agent) return nullptr;
  for (auto& [p, stands] : pool_) {
    for (auto& st : stands) {
      if (st.id != id) continue;
      if (pattern != nullptr) *pattern = p;
      return &st;
    }
  }
  return nullptr;
}

void organizer::dispatch(std::uint64_t id, engine::context& ctx) {
  job& j = jobs_.at(id);
  std::uint32_t changed = 0;
  const auto to = core_.choose(j.at.top, j.at.sub, ctx.random(), changed);
  if (to == broker::no_agent) {
    j.work.answer(ctx, false, -1, 0, "no route");
    jobs_.erase(id);
    return;
  }
  if (changed != 0) {
    auto e = core_.preference(changed);
    e["reason"] = "the cheapest route meeting the quality target for " + pattern_name(changed) +
                  " (or the best if none does)";
    ctx.log_event("route_changed", std::move(e));
  }
  j.route = to;
  send(id, to, ctx);
}

void organizer::send(std::uint64_t id, broker::agent_id to, engine::context& ctx) {
  job& j = jobs_.at(id);
  j.sent = ctx.now();
  // A committee may take a round per member timeout: its first answers, its discussion rounds
  // and its revisions; the organizer waits for all of them (and one more round of slack).
  const auto& c = core_.policy().committee;
  const sim_time rounds = 2 + c.rounds + c.max_revisions;
  const sim_time committee_time =
      c.timeout > time_never / rounds ? time_never : rounds * c.timeout;  // no overflow
  const sim_time timeout = j.seats.empty() ? timeout_ : std::max(timeout_, committee_time);
  const auto corr = ctx.request(to, j.work.task(), timeout);
  pending_.emplace(broker::raw(corr), id);
  ++sent_[to];
}

void organizer::settle(broker::correlation_id corr, const msg::task_result* r,
                       engine::context& ctx) {
  const auto it = pending_.find(broker::raw(corr));
  if (it == pending_.end()) return;
  const std::uint64_t id = it->second;
  pending_.erase(it);
  job& j = jobs_.at(id);
  if (r != nullptr) j.work.charge(*r);
  const bool ok = r != nullptr && r->ok;
  if (j.seats.empty()) {
    core_.record(j.route, j.at.top, j.at.sub, ok, ok ? r->confidence : 0.0,
                 r != nullptr ? r->cost : 0.0, ctx.now() - j.sent);
  } else {
    core_.record_committee(j.seats, ok, ok ? r->confidence : 0.0, r != nullptr ? r->cost : 0.0,
                           ctx.now() - j.sent);
  }
  const auto seats = std::move(j.seats);
  msg::task_result out;
  out.task = j.work.task().task;
  out.ok = ok;
  out.answer = ok ? r->answer : -1;
  out.confidence = ok ? r->confidence : 0;
  out.cost = j.work.cost;
  out.tokens_in = j.work.tokens_in;
  out.tokens_out = j.work.tokens_out;
  out.error = r == nullptr ? "no answer in time" : r->error;
  out.via = !seats.empty() ? "committee" : r != nullptr ? r->via : "";
  ctx.reply(j.work.request, std::move(out));
  const auto route = j.route;
  jobs_.erase(id);
  std::uint32_t pattern = 0;
  if (standing* st = find_standing(route, &pattern); st != nullptr) {
    if (r == nullptr) {
      // It may still be working on the task it was given: it cannot take another.
      stand_down(pattern, static_cast<std::size_t>(st - pool_[pattern].data()),
                 "its task timed out at the organizer", ctx);
    } else {
      st->busy = false;
      st->idle_since = ctx.now();
      ctx.schedule(core_.policy().committee.pool_idle, msg::tick{broker::raw(route), pool_tick});
    }
  }
  retire_if_drained(route, ctx);
  for (const auto m : seats) retire_if_drained(m, ctx);
  const auto every = core_.policy().analysis.every_tasks;
  if (every > 0 && ++results_since_analysis_ >= every) analyse(ctx);
}

void organizer::on_spawned(const msg::spawned& s, engine::context& ctx) {
  if ((s.tag & committee_tag) != 0) {
    const std::uint64_t id = s.tag & ~committee_tag;
    if (jobs_.count(id) == 0) return;
    if (const auto sp = standing_spawns_.find(id); sp != standing_spawns_.end()) {
      auto& stands = pool_[sp->second];
      const auto it = std::find_if(stands.begin(), stands.end(),
                                   [](const standing& st) { return st.id == broker::no_agent; });
      if (it != stands.end()) {
        if (s.child == broker::no_agent) {
          stands.erase(it);
        } else {
          it->id = s.child;
        }
      }
      standing_spawns_.erase(sp);
    }
    if (s.child == broker::no_agent) {  // could not form: a single route takes it
      job& j = jobs_.at(id);
      core_.unseat(j.seats);
      for (const auto m : std::exchange(j.seats, {})) retire_if_drained(m, ctx);
      dispatch(id, ctx);
      return;
    }
    made_[s.child] = {s.child, s.name, "committee", "", ctx.self(), ctx.now(), {}};
    jobs_.at(id).route = s.child;
    send(id, s.child, ctx);
    return;
  }
  const auto it = spawning_.find(s.tag);
  if (it == spawning_.end()) return;
  const spawn_decision d = std::move(it->second);
  spawning_.erase(it);
  core_.spawned(d, s.child, ctx.now());
  if (s.child == broker::no_agent) return;
  made_[s.child] = {s.child,
                    d.name,
                    "specialist",
                    core_.backends().at(d.backend).name,
                    d.parent != broker::no_agent ? d.parent : ctx.self(),
                    ctx.now(),
                    {pattern_name(d.pattern)}};
}

void organizer::analyse(engine::context& ctx) {
  results_since_analysis_ = 0;
  auto rep = core_.analyze(ctx.now());
  const bool apply = core_.policy().analysis.apply;
  boost::json::array recs;
  for (const auto& r : rep.recommendations) {
    boost::json::object o{{"action", r.action}, {"reason", r.reason}};
    if (r.action == "spawn") {
      o["pattern"] = r.details.at("pattern");
    } else {
      o["target"] = broker::raw(r.target);
      o["target_name"] = core_.routes().at(r.target).name;
    }
    if (r.heir != broker::no_agent) {
      o["heir"] = broker::raw(r.heir);
      o["heir_name"] = core_.routes().at(r.heir).name;
    }
    recs.push_back(std::move(o));
  }
  std::size_t alive = 0;
  for (const auto& [id, r] : core_.routes()) alive += r.retiring ? 0 : 1;
  ctx.log_event(
      "analysis",
      {{"efficiency", rep.efficiency},
       {"quality", rep.quality},
       {"cost_per_task", rep.cost_per_task},
       {"utilization", rep.utilization},
       {"tasks", rep.tasks},
       {"routes", alive},
       {"specialists", core_.specialists()},
       {"patterns", std::count_if(core_.patterns().all().begin(), core_.patterns().all().end(),
                                  [](const pattern& p) { return p.detected; })},
       {"recommendations", std::move(recs)},
       {"applied", apply},
       {"reason", "efficiency = quality x utilization / (1 + cost per task / cost_scale)"}});
  if (!apply) return;
  for (auto& r : rep.recommendations) {
    if (r.action == "spawn") continue;  // spawns happen as tasks arrive (maybe_spawn)
    const auto& target = core_.routes().at(r.target);
    if (r.action == "merge") {
      const auto& heir = core_.routes().at(r.heir);
      boost::json::array moved;
      for (const auto p : target.covers) moved.emplace_back(pattern_name(p));
      ctx.log_event("agents_merged", {{"heir", broker::raw(r.heir)},
                                      {"heir_name", heir.name},
                                      {"absorbed", broker::raw(r.target)},
                                      {"absorbed_name", target.name},
                                      {"patterns", std::move(moved)},
                                      {"in_flight", target.in_flight},
                                      {"reason", r.reason},
                                      {"details", r.details}});
      if (store_ != broker::no_agent) {
        // Their stores merge too: the absorbed agent's memories become the heir's.
        msg::store_request m;
        m.op = "merge";
        m.agent = target.name;
        m.value = heir.name;
        m.locale = locale_;
        ctx.send(store_, std::move(m));
      }
    } else {
      ctx.log_event("agent_pruned", {{"target", broker::raw(r.target)},
                                     {"target_name", target.name},
                                     {"action", r.action},
                                     {"in_flight", target.in_flight},
                                     {"reason", r.reason},
                                     {"details", r.details}});
    }
    core_.retire(r.target, r.heir, r.reason, r.details, ctx.now());
    retire_if_drained(r.target, ctx);
  }
}

void organizer::retire_if_drained(broker::agent_id id, engine::context& ctx) {
  const route* r = core_.find(id);
  if (r == nullptr || !r->retiring || r->in_flight > 0) return;
  // Every task it had is answered: stop it; later mail goes to the heir or is a dead letter.
  ctx.stop(id, {.heir = r->heir, .reason = r->retire_reason, .details = r->retire_details});
  core_.remove(id);
  sent_.erase(id);
}

void organizer::edges(std::vector<edge_count>& out) const {
  for (const auto& [to, n] : sent_) {
    out.push_back(
        {to, made_.count(to) != 0 && made_.at(to).kind == "committee" ? "committee" : "route", n});
  }
}

std::vector<made_agent> organizer::made() const {
  std::vector<made_agent> out;
  for (const auto& [id, m] : made_) {
    made_agent a = m;
    if (m.kind == "specialist") a.patterns = covered(id);
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<pattern_view> organizer::patterns() const {
  std::vector<pattern_view> out;
  for (const auto& p : core_.patterns().all()) {
    if (!p.detected) continue;
    pattern_view v{p.id, p.name, p.seen, {}};
    for (const auto& [id, r] : core_.routes()) {
      if (!r.retiring && r.covers.count(p.id) != 0) v.covered_by.push_back(id);
    }
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<std::string> organizer::covered(broker::agent_id id) const {
  std::vector<std::string> out;
  const auto it = core_.routes().find(id);
  if (it == core_.routes().end()) return out;
  for (const auto p : it->second.covers) out.push_back(pattern_name(p));
  return out;
}

}  // namespace colony::agents::detail
