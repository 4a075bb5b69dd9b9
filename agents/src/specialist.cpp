// The specialist: answers a task with its backend, with self-consistency (k samples and a vote),
// retries with exponential backoff, a circuit breaker on its backend, and a fallback (or
// escalation) to its links when it cannot answer well enough.
#include "specialist.hpp"

#include <algorithm>
#include <cmath>

namespace colony::agents::detail {

specialist::specialist(const agent_config& c)
    : name_(c.name),
      backend_(c.backend),
      backend_name_(c.backend_name),
      links_(c.links),
      samples_(static_cast<std::uint32_t>(integer(c.params, "samples"))),
      voting_(text(c.params, "voting")),
      agreement_(number(c.params, "agreement")),
      min_confidence_(number(c.params, "min_confidence")),
      max_retries_(static_cast<std::uint32_t>(integer(c.params, "max_retries"))),
      backoff_(integer(c.params, "backoff")),
      call_timeout_(integer(c.params, "call_timeout")),
      breaker_failures_(static_cast<std::uint32_t>(integer(c.params, "breaker_failures"))),
      breaker_cooldown_(integer(c.params, "breaker_cooldown")),
      library_(c.library_rules != nullptr && c.library_rules->enabled &&
                       (!c.params.contains("use_library") || c.params.at("use_library").as_bool())
                   ? c.library
                   : broker::no_agent),
      library_rules_(c.library_rules),
      fallbacks_made_(c.links.size(), 0),
      store_(c.store_rules != nullptr && c.store_rules->enabled ? c.store : broker::no_agent),
      store_rules_(c.store_rules),
      locale_(c.locale) {}

void specialist::on_start(engine::context& ctx) {
  // Shared tables of other locales are announced on a topic; those of its own, to its locale.
  if (store_ != broker::no_agent) ctx.subscribe(broker::stores_topic);
}

void specialist::edges(std::vector<edge_count>& out) const {
  out.push_back({backend_, "backend", calls_made_});
  for (std::size_t l = 0; l < links_.size(); ++l) {
    out.push_back({links_[l], "link", fallbacks_made_[l]});
  }
  if (library_ != broker::no_agent) out.push_back({library_, "library", queries_made_});
}

void specialist::handle(broker::envelope& env, engine::context& ctx) {
  broker::visit(
      broker::overloaded{[&](msg::task_request&) { begin(env, ctx); },
                         [&](msg::llm_reply& r) { on_sample(env.correlation, &r, ctx); },
                         [&](msg::task_result& r) { on_fallback(env.correlation, &r, ctx); },
                         [&](msg::library_answer& a) { on_library(env.correlation, &a, ctx); },
                         [&](msg::store_reply& r) { on_store(env.correlation, &r, ctx); },
                         [&](msg::db_announce& a) { learn_table(a); },
                         [&](msg::timeout& t) {
                           if (calls_.count(broker::raw(t.request)) != 0) {
                             on_sample(t.request, nullptr, ctx);
                           } else if (queries_.count(broker::raw(t.request)) != 0) {
                             on_library(t.request, nullptr, ctx);
                           } else if (preps_.count(broker::raw(t.request)) != 0) {
                             on_store(t.request, nullptr, ctx);
                           } else {
                             on_fallback(t.request, nullptr, ctx);
                           }
                         },
                         [&](msg::tick& t) {
                           if (t.what == retry_tick) retry(t.id, ctx);
                           if (t.what == external_tick) fetched(t.id, ctx);
                         },
                         [](msg::ping&) {}, [](msg::pong&) {}, [](msg::token&) {},
                         [](msg::spawned&) {}, [](msg::stopped&) {}, [](msg::dead_letter&) {},
                         [](msg::llm_call&) {}, [](msg::library_query&) {},
                         [](msg::library_report&) {}, [](msg::store_request&) {}},
      env.payload);
}

void specialist::begin(broker::envelope& env, engine::context& ctx) {
  const std::uint64_t id = ++next_job_;
  job& j = jobs_[id];
  j.work.request = std::move(env);
  if (breaker_open(ctx)) {
    fall_back(id, ctx, "circuit open");
    return;
  }
  if (store_ != broker::no_agent) {
    prepare(id, ctx);
    if (jobs_.at(id).preparing > 0) return;
  }
  consult(id, ctx);
}

// After memory and lookups: the library, if the task can use it, then the calls.
void specialist::consult(std::uint64_t id, engine::context& ctx) {
  job& j = jobs_.at(id);
  const auto& t = j.work.task();
  if (library_ != broker::no_agent && !t.solution.empty()) {
    // Search first: the answer picks the path. A library that does not answer in time is
    // treated as empty.
    j.consulted = true;
    const auto corr = ctx.request(library_, msg::library_query{t.task, t.text}, call_timeout_);
    queries_.emplace(broker::raw(corr), id);
    ++queries_made_;
    return;
  }
  start(id, ctx);
}

void specialist::start(std::uint64_t id, engine::context& ctx) {
  job& j = jobs_.at(id);
  j.outstanding = samples_;
  for (std::uint32_t s = 0; s < samples_; ++s) call(id, 0, ctx);
}

void specialist::on_library(broker::correlation_id corr, const msg::library_answer* a,
                            engine::context& ctx) {
  auto it = queries_.find(broker::raw(corr));
  if (it == queries_.end()) return;
  const std::uint64_t id = it->second;
  queries_.erase(it);
  job& j = jobs_.at(id);
  if (a != nullptr && !a->hits.empty()) {
    j.similarity = a->hits.front().similarity;
    j.tier = library_rules_->tier_for(j.similarity);
    // Combining builds on the two best; the other paths on the best.
    const std::size_t n = j.tier == library_tier::combine ? 2 : 1;
    if (j.tier != library_tier::generate) {
      j.used.assign(a->hits.begin(), a->hits.begin() + std::min(n, a->hits.size()));
    }
  }
  start(id, ctx);
}

bool specialist::breaker_open(engine::context& ctx) {
  if (breaker_failures_ == 0 || !open_since_) return false;
  if (ctx.now() - *open_since_ < breaker_cooldown_) return true;
  // Half-open: calls go through again; the next failure re-opens, the next success closes.
  return false;
}

void specialist::record_call(bool ok, engine::context& ctx) {
  if (breaker_failures_ == 0) return;
  if (ok) {
    consecutive_failures_ = 0;
    if (open_since_) {
      open_since_.reset();
      ctx.log_event("circuit_closed",
                    {{"backend", broker::raw(backend_)}, {"backend_name", backend_name_}});
    }
    return;
  }
  ++consecutive_failures_;
  const bool half_open = open_since_ && ctx.now() - *open_since_ >= breaker_cooldown_;
  if (consecutive_failures_ >= breaker_failures_ && (!open_since_ || half_open)) {
    open_since_ = ctx.now();
    ctx.log_event("circuit_opened", {{"backend", broker::raw(backend_)},
                                     {"backend_name", backend_name_},
                                     {"consecutive_failures", consecutive_failures_},
                                     {"cooldown", breaker_cooldown_},
                                     {"reason", std::to_string(consecutive_failures_) +
                                                    " consecutive failed calls"}});
  }
}

void specialist::call(std::uint64_t id, std::uint32_t attempt, engine::context& ctx) {
  const job& j = jobs_.at(id);
  const auto& t = j.work.task();
  msg::llm_call c{t.task, t.domain, t.difficulty, t.options, t.truth, 1.0, t.skill_bonus};
  if (j.consulted) {
    // The path's factors (docs/model.md): shorter, cheaper and likelier right with a good entry.
    const auto& f = library_rules_->factors(j.tier);
    c.tokens_scale = f.cost;
    c.output_scale = f.cost;
    c.latency_scale = f.latency;
    if (!j.used.empty()) c.skill_bonus += f.skill_bonus * j.used.front().quality;
  }
  c.skill_bonus += j.memory_bonus;
  const auto corr = ctx.request(backend_, std::move(c), call_timeout_);
  calls_.emplace(broker::raw(corr), pending_call{id, attempt});
  ++calls_made_;
}

void specialist::on_sample(broker::correlation_id corr, const msg::llm_reply* r,
                           engine::context& ctx) {
  auto it = calls_.find(broker::raw(corr));
  if (it == calls_.end()) return;
  const pending_call pc = it->second;
  calls_.erase(it);
  job& j = jobs_.at(pc.job);
  if (r != nullptr) {
    j.work.charge(*r);
    j.own_cost += r->cost;
  }
  const bool ok = r != nullptr && r->ok;
  record_call(ok, ctx);
  if (ok) {
    j.answers.emplace_back(r->answer, r->confidence);
  } else if (pc.attempt < max_retries_ && !breaker_open(ctx)) {
    // Exponential backoff: backoff, 2 backoff, 4 backoff...
    const sim_time delay = backoff_ << std::min<std::uint32_t>(pc.attempt, 20);
    const std::uint64_t key = (pc.job << 8) | (pc.attempt + 1);
    ctx.schedule(delay, msg::tick{key, retry_tick});
    return;
  }
  if (--j.outstanding == 0) conclude(pc.job, ctx);
}

void specialist::retry(std::uint64_t key, engine::context& ctx) {
  const std::uint64_t id = key >> 8;
  const auto attempt = static_cast<std::uint32_t>(key & 0xff);
  if (jobs_.count(id) == 0) return;
  if (breaker_open(ctx)) {
    if (--jobs_.at(id).outstanding == 0) conclude(id, ctx);
    return;
  }
  call(id, attempt, ctx);
}

void specialist::conclude(std::uint64_t id, engine::context& ctx) {
  job& j = jobs_.at(id);
  if (j.answers.empty()) {
    fall_back(id, ctx, "no answer from the backend");
    return;
  }
  const bool weighted = voting_ == "weighted";
  const vote_result v = vote(j.answers, weighted);
  // One sample: its stated confidence. Several: agreement among them.
  const double confidence = j.answers.size() == 1 ? v.confidence : v.support;
  const bool gated = voting_ == "confidence_gated" && v.support < agreement_;
  if (gated || confidence < min_confidence_) {
    fall_back(id, ctx, gated ? "samples disagree" : "low confidence");
    return;
  }
  finish(id, ctx, true, v.answer, confidence, {}, {}, true);
}

void specialist::fall_back(std::uint64_t id, engine::context& ctx, const std::string& why) {
  job& j = jobs_.at(id);
  if (j.next_link < links_.size()) {
    ++fallbacks_made_[j.next_link];
    const auto corr = ctx.request(links_[j.next_link++], j.work.task(), call_timeout_ * 4);
    fallbacks_.emplace(broker::raw(corr), id);
    ctx.log_event("fallback", {{"task", broker::raw(j.work.task().task)},
                               {"to", broker::raw(links_[j.next_link - 1])},
                               {"reason", why}});
    return;
  }
  // Nowhere to go: disagreement escalates to humans; everything else is a failure.
  const bool escalate = why == "samples disagree" || why == "low confidence";
  finish(id, ctx, false, -1, 0, escalate ? "escalated" : why, {}, false);
}

void specialist::on_fallback(broker::correlation_id corr, const msg::task_result* r,
                             engine::context& ctx) {
  auto it = fallbacks_.find(broker::raw(corr));
  if (it == fallbacks_.end()) return;
  const std::uint64_t id = it->second;
  fallbacks_.erase(it);
  job& j = jobs_.at(id);
  if (r != nullptr) j.work.charge(*r);
  if (r != nullptr && (r->ok || r->error == "escalated")) {
    // Answered by a fallback: the library path did not produce this answer.
    finish(id, ctx, r->ok, r->answer, r->confidence, r->error, r->via, false);
    return;
  }
  fall_back(id, ctx, r == nullptr ? "fallback timed out" : r->error);
}

namespace {

// What an adaptation changed, in words: the values that differ, the logic, the entries combined.
std::string changes(library_tier tier, const std::vector<msg::solution_ref>& used,
                    const msg::task_request& t) {
  if (used.empty() || tier == library_tier::reuse || tier == library_tier::generate) return {};
  std::string out;
  const auto add = [&out](const std::string& s) { out += (out.empty() ? "" : "; ") + s; };
  const auto& base = used.front();
  if (tier == library_tier::combine) {
    std::string ids;
    for (const auto& u : used) ids += (ids.empty() ? "#" : " and #") + std::to_string(u.id);
    add("combined " + ids);
  }
  if (tier == library_tier::adapt_logic || tier == library_tier::combine) {
    add(base.family == t.family ? "logic of " + t.family + " reworked"
                                : "logic " + base.family + " -> " + t.family);
  }
  for (const auto& [k, v] : t.params) {
    const auto it = base.params.find(k);
    if (it == base.params.end()) {
      add(k + ": (none) -> " + v);
    } else if (it->second != v) {
      add(k + ": " + it->second + " -> " + v);
    }
  }
  return out;
}

}  // namespace

// Answers the task and, when it consulted the library, tells the library what came of it: the
// path, the entries used, and the solution written (stored on success unless reused as is).
void specialist::finish(std::uint64_t id, engine::context& ctx, bool ok, std::int32_t answer,
                        double confidence, std::string error, std::string via, bool own) {
  job& j = jobs_.at(id);
  if (j.consulted) {
    const auto& t = j.work.task();
    msg::library_report r;
    r.task = t.task;
    r.author = name_;
    r.tier = std::string(to_string(j.tier));
    r.similarity = j.similarity;
    for (const auto& u : j.used) r.used.push_back(u.id);
    // Only this agent's own answer counts: one a fallback gave did not come from the path.
    r.ok = ok && own;
    r.quality = confidence;
    r.family = t.family;
    r.domain = t.domain;
    r.problem = t.text;
    r.solution = t.solution;
    r.params = t.params;
    r.changes = changes(j.tier, j.used, t);
    // Generating would have cost own_cost / factor (docs/model.md).
    const double f = library_rules_->factors(j.tier).cost;
    r.saved = f > 0 ? j.own_cost / f - j.own_cost : 0;
    r.difficulty = t.difficulty;
    r.options = t.options;
    r.truth = t.truth;
    r.answer = answer;
    ctx.send(library_, std::move(r));
  }
  if (store_ != broker::no_agent && ok && own) {
    // Remembered: a short-term memory, and an episode if rated high enough.
    const auto& t = j.work.task();
    msg::store_request r;
    r.op = "record";
    r.agent = name_;
    r.locale = locale_;
    r.family = t.family;
    r.text = t.family + ": " + t.text + " -> " + std::to_string(answer);
    r.task = t.task;
    r.answer = answer;
    r.quality = confidence;
    ctx.send(store_, std::move(r));
  }
  j.work.answer(ctx, ok, answer, confidence, std::move(error), std::move(via));
  jobs_.erase(id);
}

// --- stores: memory and shared facts -----------------------------------------------------------

// Asks its store for episodes of the family, and looks up the fact the task needs: in a shared
// table it knows of (its locale's, or another's it may read), else from outside.
void specialist::prepare(std::uint64_t id, engine::context& ctx) {
  job& j = jobs_.at(id);
  const auto& t = j.work.task();
  const auto ask = [&](broker::agent_id to, msg::store_request r, prep what) {
    r.agent = name_;
    r.locale = locale_;
    r.task = t.task;
    const auto corr = ctx.request(to, std::move(r), call_timeout_);
    preps_.emplace(broker::raw(corr), std::make_pair(id, what));
    ++j.preparing;
  };
  msg::store_request recall;
  recall.op = "recall";
  recall.family = t.family;
  ask(store_, std::move(recall), prep::recall);
  if (t.lookup_table.empty()) return;
  auto it = tables_.find(t.lookup_table);
  if (it != tables_.end() && it->second.locale != locale_ && !it->second.granted &&
      (!it->second.requested || ctx.now() >= it->second.retry_after)) {
    // Another locale has it: ask its owner, with the reason, and fetch this one meanwhile. Not
    // again while the answer is awaited, nor for a day after a denial.
    it->second.requested = true;
    it->second.retry_after = ctx.now() + day;
    msg::store_request r;
    r.op = "request_access";
    r.table = t.lookup_table;
    r.level = "read";
    r.text = t.family + " tasks need " + t.lookup_table + " rows (" + t.lookup_key + "); " +
             std::to_string(fetches_[t.lookup_table]) + " fetched from outside so far";
    ask(it->second.store, std::move(r), prep::access);
  }
  if (it != tables_.end() && (it->second.locale == locale_ || it->second.granted)) {
    msg::store_request r;
    r.op = "lookup";
    r.table = t.lookup_table;
    r.key = t.lookup_key;
    ask(it->second.store, std::move(r), prep::lookup);
    return;
  }
  fetch_external(id, ctx);
}

void specialist::on_store(broker::correlation_id corr, const msg::store_reply* r,
                          engine::context& ctx) {
  auto it = preps_.find(broker::raw(corr));
  if (it == preps_.end()) return;
  const auto [id, what] = it->second;
  preps_.erase(it);
  if (jobs_.count(id) == 0) return;
  job& j = jobs_.at(id);
  const auto& t = j.work.task();
  switch (what) {
    case prep::recall:
      if (r != nullptr && r->ok) {
        const auto& m = store_rules_->memory;
        const double share =
            std::min(1.0, static_cast<double>(r->count) / static_cast<double>(m.episodes_for_full));
        j.memory_bonus = m.episode_bonus * share;
      }
      break;
    case prep::access:
      if (auto tb = tables_.find(t.lookup_table); tb != tables_.end()) {
        tb->second.granted = r != nullptr && r->ok;
        // Denied: asked again after a day (the owner counts requests per day).
        if (!tb->second.granted) tb->second.retry_after = ctx.now() + day;
      }
      break;
    case prep::lookup:
      if (r != nullptr && !r->ok) {
        // Refused (a grant that expired): ask again with the next task.
        if (auto tb = tables_.find(t.lookup_table);
            tb != tables_.end() && tb->second.locale != locale_) {
          tb->second.requested = tb->second.granted = false;
        }
      }
      if (r == nullptr || !r->ok || !r->hit) {
        fetch_external(id, ctx);  // a miss (or no answer): from outside
      }
      break;
  }
  if (--j.preparing == 0) consult(id, ctx);
}

void specialist::fetch_external(std::uint64_t id, engine::context& ctx) {
  ++jobs_.at(id).preparing;
  ctx.schedule(store_rules_->external.latency, msg::tick{id, external_tick});
}

// An external lookup came back: it is paid for, counted, and written where others can read it
// — into the shared table (made first, once the agent has fetched the same key create_after
// times and its locale has none).
void specialist::fetched(std::uint64_t id, engine::context& ctx) {
  if (jobs_.count(id) == 0) return;
  job& j = jobs_.at(id);
  const auto t = j.work.task();  // a copy: the job may end below
  j.work.cost += store_rules_->external.cost;
  msg::store_request note;
  note.op = "external";
  note.agent = name_;
  note.locale = locale_;
  note.table = t.lookup_table;
  note.key = t.lookup_key;
  ctx.send(store_, std::move(note));
  const auto fetches = ++fetches_[t.lookup_table + "/" + t.lookup_key];
  ++fetches_[t.lookup_table];
  auto known = tables_.find(t.lookup_table);
  // No table it may use (none known, or another locale's it has no grant for): after
  // create_after fetches of a key its locale makes its own.
  const bool usable =
      known != tables_.end() && (known->second.locale == locale_ || known->second.granted);
  if (!usable && fetches >= store_rules_->shared.create_after) {
    msg::store_request make;
    make.op = "create_table";
    make.agent = name_;
    make.locale = locale_;
    make.table = t.lookup_table;
    make.text = "fetched " + t.lookup_key + " " + std::to_string(fetches) + " times";
    ctx.send(store_, std::move(make));
    known = tables_.insert_or_assign(t.lookup_table, table_ref{store_, locale_}).first;
  }
  if (known != tables_.end() && (known->second.locale == locale_ || known->second.granted)) {
    // The value an outside source gives for the key (a stable number per key and hour).
    const auto hour_of = static_cast<std::uint64_t>(ctx.now() / hour);
    const auto h = broker::stable_hash(t.lookup_key + "@" + std::to_string(hour_of));
    msg::store_request put;
    put.op = "put";
    put.agent = name_;
    put.locale = locale_;
    put.table = t.lookup_table;
    put.key = t.lookup_key;
    put.value = fixed(0.5 + static_cast<double>(h % 10000) / 10000.0, 4);
    ctx.send(known->second.store, std::move(put));
  }
  if (--j.preparing == 0) consult(id, ctx);
}

void specialist::learn_table(const msg::db_announce& a) {
  if (store_ == broker::no_agent) return;
  auto [it, added] = tables_.emplace(a.table, table_ref{a.store, a.locale});
  // Its own locale's table takes precedence over another's of the same name.
  if (!added && a.locale == locale_ && it->second.locale != locale_) {
    it->second = table_ref{a.store, a.locale};
  }
}

}  // namespace colony::agents::detail
