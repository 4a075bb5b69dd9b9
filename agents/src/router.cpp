// The router and the other kinds that hand a task on to their links and relay what comes back:
// router (keyword, tiers, capability, bandit, cascade), aggregator, validator, pipeline.
#include "router.hpp"

#include <algorithm>
#include <cctype>

namespace colony::agents::detail {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::size_t link_index(const std::vector<std::string>& names, std::string_view name) {
  return static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin());
}

}  // namespace

// --- relay ------------------------------------------------------------------------------------

relay::relay(const agent_config& c, sim_time timeout)
    : links_(c.links), timeout_(timeout), sent_(c.links.size(), 0) {}

void relay::edges(std::vector<edge_count>& out) const {
  for (std::size_t l = 0; l < links_.size(); ++l) out.push_back({links_[l], "link", sent_[l]});
}

void relay::handle(broker::envelope& env, engine::context& ctx) {
  broker::visit(broker::overloaded{
                    [&](msg::task_request&) {
                      const std::uint64_t id = ++next_job_;
                      jobs_[id].request = std::move(env);
                      start(id, ctx);
                    },
                    [&](msg::task_result& r) { settle(env.correlation, &r, ctx); },
                    [&](msg::llm_reply& r) { settle_check(env.correlation, &r, ctx); },
                    [&](msg::timeout& t) {
                      if (checks_.count(broker::raw(t.request)) != 0) {
                        settle_check(t.request, nullptr, ctx);
                      } else {
                        settle(t.request, nullptr, ctx);
                      }
                    },
                    [](msg::tick&) {}, [](msg::ping&) {}, [](msg::pong&) {}, [](msg::token&) {},
                    [](msg::spawned&) {}, [](msg::stopped&) {}, [](msg::dead_letter&) {},
                    [](msg::llm_call&) {}, [](msg::library_query&) {}, [](msg::library_answer&) {},
                    [](msg::library_report&) {}, [](msg::store_request&) {},
                    [](msg::store_reply&) {}, [](msg::db_announce&) {}},
                env.payload);
}

void relay::forward(std::uint64_t id, std::size_t link, engine::context& ctx,
                    const msg::task_request* altered) {
  task_job& j = jobs_.at(id);
  msg::task_request t = altered != nullptr ? *altered : j.task();
  const auto corr = ctx.request(links_.at(link), std::move(t), timeout_);
  pending_.emplace(broker::raw(corr), std::pair{id, link});
  ++sent_[link];
}

void relay::settle(broker::correlation_id corr, const msg::task_result* r, engine::context& ctx) {
  auto it = pending_.find(broker::raw(corr));
  if (it == pending_.end()) return;
  const auto [id, link] = it->second;
  pending_.erase(it);
  task_job& j = jobs_.at(id);
  if (r != nullptr) j.charge(*r);
  msg::task_result none;
  none.error = "no answer from " + std::to_string(broker::raw(links_.at(link))) + " in time";
  on_result(id, link, r != nullptr ? *r : none, ctx);
}

void relay::settle_check(broker::correlation_id corr, const msg::llm_reply* r,
                         engine::context& ctx) {
  auto it = checks_.find(broker::raw(corr));
  if (it == checks_.end()) return;
  const std::uint64_t id = it->second;
  checks_.erase(it);
  if (r != nullptr) jobs_.at(id).charge(*r);
  on_check(id, r, ctx);
}

void relay::finish(std::uint64_t id, engine::context& ctx, bool ok, std::int32_t answer,
                   double confidence, std::string error, std::string via) {
  jobs_.at(id).answer(ctx, ok, answer, confidence, std::move(error), std::move(via));
  jobs_.erase(id);
}

void relay::on_check(std::uint64_t, const msg::llm_reply*, engine::context&) {}

// --- router -----------------------------------------------------------------------------------

router::router(const agent_config& c)
    : relay(c, integer(c.params, "forward_timeout")),
      names_(c.link_names),
      strategy_(text(c.params, "strategy")),
      history_weight_(number(c.params, "history_weight")),
      quality_target_(number(c.params, "quality_target")),
      epsilon_(number(c.params, "epsilon")),
      min_trials_(static_cast<std::uint64_t>(integer(c.params, "min_trials"))),
      accept_confidence_(number(c.params, "accept_confidence")) {
  for (const auto& rule : c.params.at("rules").as_array()) {
    keyword_rule kr;
    for (const auto& k : rule.at("keywords").as_array())
      kr.keywords.push_back(lower(std::string(k.as_string())));
    kr.link = link_index(names_, rule.at("to").as_string());
    rules_.push_back(std::move(kr));
  }
  const auto& fallback = c.params.at("default").as_string();
  default_link_ = fallback.empty() ? 0 : link_index(names_, fallback);
  for (const auto& tier : c.params.at("tiers").as_array()) {
    tiers_.emplace_back(tier.at("max_complexity").to_number<double>(),
                        link_index(names_, tier.at("to").as_string()));
  }
  std::sort(tiers_.begin(), tiers_.end());
  for (const auto& [type, dims] : c.params.at("weights").as_object()) {
    auto& w = weights_[std::string(type)];
    for (const auto& [dimension, weight] : dims.as_object()) {
      w.emplace_back(std::string(dimension), weight.to_number<double>());
    }
  }
  for (const auto& [link, domains] : c.params.at("capabilities").as_object()) {
    for (const auto& [domain, score] : domains.as_object()) {
      capability_[{link_index(names_, link), std::string(domain)}] = score.to_number<double>();
    }
  }
}

void router::start(std::uint64_t id, engine::context& ctx) {
  if (strategy_ == "cascade") {
    forward(id, 0, ctx);
    return;
  }
  const std::size_t link = choose(jobs_.at(id).task(), ctx);
  forward(id, link, ctx);
}

std::size_t router::choose(const msg::task_request& t, engine::context& ctx) {
  if (strategy_ == "keyword") {
    const std::string body = lower(t.text);
    const std::string domain = lower(t.domain);
    for (const auto& rule : rules_) {
      for (const auto& k : rule.keywords) {
        if (k == domain || body.find(k) != std::string::npos) return rule.link;
      }
    }
    return default_link_;
  }
  if (strategy_ == "tiers") {
    for (const auto& [max_complexity, link] : tiers_) {
      if (t.complexity <= max_complexity) return link;
    }
    return tiers_.empty() ? default_link_ : tiers_.back().second;
  }
  if (strategy_ == "capability") {
    std::size_t best = 0;
    double best_score = -1;
    for (std::size_t l = 0; l < links_.size(); ++l) {
      const double prior = prior_score(l, t);
      const auto& h = history_[{l, t.domain}];
      const double seen = h.n > 0 ? h.quality / static_cast<double>(h.n) : prior;
      const double score = (1 - history_weight_) * prior + history_weight_ * seen;
      if (score > best_score) {
        best_score = score;
        best = l;
      }
    }
    return best;
  }
  return bandit_choice(t, ctx);
}

double router::prior_score(std::size_t link, const msg::task_request& t) const {
  auto capability = [&](const std::string& what) {
    const auto it = capability_.find({link, what});
    return it != capability_.end() ? it->second : 0.5;
  };
  // The task type's weights over capability dimensions, by family first, then by domain.
  auto w = weights_.find(t.family);
  if (w == weights_.end()) w = weights_.find(t.domain);
  if (w == weights_.end()) return capability(t.domain);
  double sum = 0, total = 0;
  for (const auto& [dimension, weight] : w->second) {
    sum += weight * capability(dimension);
    total += weight;
  }
  return total > 0 ? sum / total : capability(t.domain);
}

std::size_t router::bandit_choice(const msg::task_request& t, engine::context& ctx) {
  // Try every arm min_trials times; then, but for epsilon exploration, the cheapest arm whose
  // observed quality meets the target, or the best-quality arm if none does.
  for (std::size_t l = 0; l < links_.size(); ++l) {
    if (history_[{l, t.domain}].n < min_trials_) return l;
  }
  if (ctx.random().bernoulli(epsilon_)) return ctx.random().below(links_.size());
  std::size_t chosen = links_.size();
  double cheapest = 0, best_quality = -1;
  std::size_t best = 0;
  for (std::size_t l = 0; l < links_.size(); ++l) {
    const auto& h = history_[{l, t.domain}];
    const double quality = h.quality / static_cast<double>(h.n);
    const double cost = h.cost / static_cast<double>(h.n);
    if (quality >= quality_target_ && (chosen == links_.size() || cost < cheapest)) {
      chosen = l;
      cheapest = cost;
    }
    if (quality > best_quality) {
      best_quality = quality;
      best = l;
    }
  }
  if (chosen == links_.size()) chosen = best;
  auto& preferred = preferred_[t.domain];
  if (preferred != chosen + 1) {
    const auto& h = history_[{chosen, t.domain}];
    ctx.log_event("route_changed",
                  {{"cluster", t.domain},
                   {"to", broker::raw(links_[chosen])},
                   {"to_name", names_[chosen]},
                   {"observed_quality", h.quality / static_cast<double>(h.n)},
                   {"mean_cost", h.cost / static_cast<double>(h.n)},
                   {"quality_target", quality_target_},
                   {"reason", "cheapest route meeting the quality target for " + t.domain}});
    preferred = chosen + 1;
  }
  return chosen;
}

void router::on_result(std::uint64_t id, std::size_t link, const msg::task_result& r,
                       engine::context& ctx) {
  const auto& t = jobs_.at(id).task();
  auto& h = history_[{link, t.domain}];
  ++h.n;
  h.quality += r.ok ? r.confidence : 0.0;
  h.cost += r.cost;
  if (strategy_ == "cascade" && link + 1 < links_.size() &&
      (!r.ok || r.confidence < accept_confidence_)) {
    ctx.log_event("escalated_tier", {{"task", broker::raw(t.task)},
                                     {"from", names_[link]},
                                     {"to", names_[link + 1]},
                                     {"confidence", r.confidence},
                                     {"threshold", accept_confidence_}});
    forward(id, link + 1, ctx);
    return;
  }
  finish(id, ctx, r.ok, r.answer, r.confidence, r.error, r.via);
}

// --- aggregator -------------------------------------------------------------------------------

aggregator::aggregator(const agent_config& c)
    : relay(c, integer(c.params, "forward_timeout")),
      weighted_(text(c.params, "method") == "weighted") {}

void aggregator::start(std::uint64_t id, engine::context& ctx) {
  gathered_[id].outstanding = links_.size();
  for (std::size_t l = 0; l < links_.size(); ++l) forward(id, l, ctx);
}

void aggregator::on_result(std::uint64_t id, std::size_t, const msg::task_result& r,
                           engine::context& ctx) {
  auto& g = gathered_[id];
  if (r.ok) g.answers.emplace_back(r.answer, r.confidence);
  if (--g.outstanding > 0) return;
  if (g.answers.empty()) {
    finish(id, ctx, false, -1, 0, "every expert failed");
  } else {
    const vote_result v = vote(g.answers, weighted_);
    finish(id, ctx, true, v.answer, v.support * v.confidence);
  }
  gathered_.erase(id);
}

// --- validator --------------------------------------------------------------------------------

validator::validator(const agent_config& c)
    : relay(c, integer(c.params, "forward_timeout")),
      backend_(c.backend),
      max_corrections_(static_cast<std::uint32_t>(integer(c.params, "max_corrections"))),
      min_confidence_(number(c.params, "min_confidence")) {}

void validator::edges(std::vector<edge_count>& out) const {
  relay::edges(out);
  out.push_back({backend_, "backend", checks_made_});
}

void validator::start(std::uint64_t id, engine::context& ctx) {
  forward(id, 0, ctx);
}

void validator::on_result(std::uint64_t id, std::size_t, const msg::task_result& r,
                          engine::context& ctx) {
  auto& s = state_[id];
  if (!r.ok) {
    state_.erase(id);
    finish(id, ctx, false, -1, 0, r.error);
    return;
  }
  s.answer = r.answer;
  s.confidence = r.confidence;
  s.via = r.via;
  if (r.confidence < min_confidence_) {
    reject(id, ctx, "confidence below the gate");
    return;
  }
  // Check the answer with the validator's own model: it passes when both agree.
  const auto& t = jobs_.at(id).task();
  const auto corr = ctx.request(
      backend_, msg::llm_call{t.task, t.domain, t.difficulty, t.options, t.truth, 0.5, 0.0},
      timeout_);
  checks_.emplace(broker::raw(corr), id);
  ++checks_made_;
}

void validator::on_check(std::uint64_t id, const msg::llm_reply* r, engine::context& ctx) {
  auto& s = state_.at(id);
  if (r != nullptr && r->ok && r->answer == s.answer) {
    const std::int32_t answer = s.answer;
    const double confidence = s.confidence;
    std::string via = std::move(s.via);
    state_.erase(id);
    finish(id, ctx, true, answer, confidence, {}, std::move(via));
    return;
  }
  reject(id, ctx, r == nullptr || !r->ok ? "the check failed" : "the check disagrees");
}

void validator::reject(std::uint64_t id, engine::context& ctx, const std::string& why) {
  auto& s = state_.at(id);
  const auto& t = jobs_.at(id).task();
  if (s.corrections >= max_corrections_) {
    // The event is the queue for humans: it holds what a person needs to take the task on.
    ctx.log_event("task_escalated", {{"task", broker::raw(t.task)},
                                     {"family", t.family},
                                     {"domain", t.domain},
                                     {"text", t.text},
                                     {"options", t.options},
                                     {"last_answer", s.answer},
                                     {"corrections", s.corrections},
                                     {"reason", why + " after " + std::to_string(s.corrections) +
                                                    " corrections; handed to humans"}});
    state_.erase(id);
    finish(id, ctx, false, -1, 0, "escalated");
    return;
  }
  ++s.corrections;
  msg::task_request again = t;
  again.attempt = t.attempt + s.corrections;
  forward(id, 0, ctx, &again);
}

// --- pipeline ---------------------------------------------------------------------------------

pipeline::pipeline(const agent_config& c)
    : relay(c, integer(c.params, "forward_timeout")),
      degradation_(number(c.params, "degradation")) {}

void pipeline::start(std::uint64_t id, engine::context& ctx) {
  input_difficulty_[id] = jobs_.at(id).task().difficulty;
  forward(id, 0, ctx);
}

void pipeline::on_result(std::uint64_t id, std::size_t stage, const msg::task_result& r,
                         engine::context& ctx) {
  if (!r.ok || stage + 1 == links_.size()) {
    input_difficulty_.erase(id);
    finish(id, ctx, r.ok, r.answer, r.confidence, r.ok ? "" : r.error, r.via);
    return;
  }
  // The next stage works on this stage's output: the less sure this stage was, the harder its
  // input, and doubt adds up along the stages.
  double& difficulty = input_difficulty_.at(id);
  difficulty = std::min(1.0, difficulty + degradation_ * (1 - r.confidence));
  msg::task_request next = jobs_.at(id).task();
  next.difficulty = difficulty;
  forward(id, stage + 1, ctx, &next);
}

}  // namespace colony::agents::detail
