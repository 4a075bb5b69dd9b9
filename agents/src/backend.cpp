#include "colony/agents/backend.hpp"

#include <algorithm>
#include <cmath>

namespace colony::agents {
namespace {

namespace msg = broker::msg;

// What a backend's self-timers are for.
constexpr std::uint32_t service_done = 1;
constexpr std::uint32_t deadline = 2;

// z of the standard normal's 95th percentile: lognormal sigma = ln(p95 / median) / z95.
constexpr double z95 = 1.6448536269514722;

std::uint32_t scaled(std::uint32_t tokens, double scale) {
  return static_cast<std::uint32_t>(
      std::llround(static_cast<double>(tokens) * std::max(scale, 0.0)));
}

}  // namespace

std::string_view to_string(latency_kind k) noexcept {
  switch (k) {
    case latency_kind::constant:
      return "constant";
    case latency_kind::exponential:
      return "exponential";
    case latency_kind::lognormal:
      return "lognormal";
  }
  return "unknown";
}

double skill_in(const backend_profile& p, std::string_view domain) {
  if (auto it = p.skill.find(std::string(domain)); it != p.skill.end()) return it->second;
  return p.default_skill;
}

double correct_probability(const backend_profile& p, const msg::llm_call& c) {
  const double guess = c.options >= 2 ? 1.0 / c.options : 1.0;
  const double theta = std::clamp(skill_in(p, c.domain) + c.skill_bonus, 0.0, 1.0);
  const double logistic = 1.0 / (1.0 + std::exp(-p.discrimination * (theta - c.difficulty)));
  return guess + (1.0 - guess) * logistic;
}

sim_time draw_latency(const latency_model& m, engine::rng& r) {
  switch (m.kind) {
    case latency_kind::constant:
      return m.value;
    case latency_kind::exponential:
      return static_cast<sim_time>(std::llround(r.exponential(static_cast<double>(m.value))));
    case latency_kind::lognormal: {
      const double median = static_cast<double>(std::max<sim_time>(m.value, 1));
      const double p95 = std::max(static_cast<double>(m.p95), median);
      const double sigma = std::log(p95 / median) / z95;
      return static_cast<sim_time>(std::llround(r.lognormal(std::log(median), sigma)));
    }
  }
  return m.value;
}

call_outcome simulate_call(const backend_profile& p, const msg::llm_call& c, engine::rng& r) {
  // Every draw is made whatever the outcome, in a fixed order, so that one call's result never
  // shifts the stream for the next.
  call_outcome out;
  out.service = draw_latency(p.latency, r);
  if (c.latency_scale != 1.0) {
    out.service = static_cast<sim_time>(
        std::llround(static_cast<double>(out.service) * std::max(c.latency_scale, 0.0)));
  }
  const bool fails = r.bernoulli(p.failure_rate);
  const double p_correct = correct_probability(p, c);
  out.correct = r.bernoulli(p_correct);
  const std::uint64_t wrong_pick = c.options >= 2 ? r.below(c.options - 1) : 0;
  const double noise = r.normal(0.0, p.confidence_noise);

  out.tokens_in = scaled(p.tokens_in, c.tokens_scale);
  if (fails) {
    out.ok = false;
    out.error = "failure";
    out.correct = false;
    out.cost = out.tokens_in / 1000.0 * p.price_in;  // a failed call pays for its prompt
    return out;
  }
  out.ok = true;
  out.tokens_out = scaled(p.tokens_out, c.output_scale);
  out.cost = out.tokens_in / 1000.0 * p.price_in + out.tokens_out / 1000.0 * p.price_out;
  if (out.correct || c.options < 2 || c.truth < 0) {
    out.answer = c.truth;
  } else {
    // One of the other options, uniformly: skip over the truth.
    const auto pick = static_cast<std::int32_t>(wrong_pick);
    out.answer = pick >= c.truth ? pick + 1 : pick;
  }
  const double gap = out.correct ? p.confidence_gap : -p.confidence_gap;
  out.confidence = std::clamp(p_correct + gap + noise, 0.0, 1.0);
  return out;
}

backend_actor::backend_actor(backend_profile profile) : profile_(std::move(profile)) {}

void backend_actor::handle(broker::envelope& env, engine::context& ctx) {
  broker::visit(
      broker::overloaded{
          [&](msg::llm_call&) { accept(env, ctx); },
          [&](msg::tick& t) {
            if (t.what == service_done) {
              finish(t.id, ctx);
            } else if (t.what == deadline) {
              expire(t.id, ctx);
            }
          },
          // Nothing else is addressed to a backend; what arrives anyway is ignored.
          [](msg::ping&) {}, [](msg::pong&) {}, [](msg::token&) {}, [](msg::timeout&) {},
          [](msg::spawned&) {}, [](msg::stopped&) {}, [](msg::dead_letter&) {},
          [](msg::task_request&) {}, [](msg::task_result&) {}, [](msg::llm_reply&) {},
          [](msg::library_query&) {}, [](msg::library_answer&) {}, [](msg::library_report&) {},
          [](msg::store_request&) {}, [](msg::store_reply&) {}, [](msg::db_announce&) {}},
      env.payload);
}

void backend_actor::accept(broker::envelope& env, engine::context& ctx) {
  const std::uint64_t id = ++next_call_;
  call& c = calls_[id];
  c.request = std::move(env);
  c.arrived = ctx.now();
  ++totals_.calls;
  c.deadline = ctx.schedule(profile_.timeout, msg::tick{id, deadline});
  if (profile_.concurrency == 0 || in_flight_ < profile_.concurrency) {
    start(id, ctx);
  } else {
    queue_.push_back(id);
    totals_.max_queue = std::max<std::uint64_t>(totals_.max_queue, queue_.size());
  }
}

void backend_actor::start(std::uint64_t id, engine::context& ctx) {
  call& c = calls_.at(id);
  c.serving = true;
  c.started = ctx.now();
  c.outcome = simulate_call(profile_, broker::get<msg::llm_call>(c.request.payload), ctx.random());
  ++in_flight_;
  ctx.schedule(c.outcome.service, msg::tick{id, service_done});
}

void backend_actor::finish(std::uint64_t id, engine::context& ctx) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  call& c = it->second;
  if (!c.replied) {
    reply(c, ctx, c.outcome.ok ? std::string() : c.outcome.error, c.outcome);
    ctx.cancel(c.deadline);
  }
  calls_.erase(it);
  --in_flight_;
  // The freed slot goes to the oldest waiting call.
  if (!queue_.empty()) {
    const auto next = queue_.front();
    queue_.pop_front();
    start(next, ctx);
  }
}

void backend_actor::expire(std::uint64_t id, engine::context& ctx) {
  auto it = calls_.find(id);
  if (it == calls_.end() || it->second.replied) return;
  call& c = it->second;
  ++totals_.timeouts;
  call_outcome gave_up;
  gave_up.tokens_in =
      scaled(profile_.tokens_in, broker::get<msg::llm_call>(c.request.payload).tokens_scale);
  if (c.serving) {
    // The model was working on it: the prompt is paid for; the slot stays busy until it ends.
    gave_up.cost = gave_up.tokens_in / 1000.0 * profile_.price_in;
    reply(c, ctx, "timeout", gave_up);
    return;
  }
  // Still queued: the client gave up before the model saw it.
  gave_up.tokens_in = 0;
  reply(c, ctx, "timeout", gave_up);
  queue_.erase(std::find(queue_.begin(), queue_.end(), id));
  calls_.erase(it);
}

void backend_actor::reply(call& c, engine::context& ctx, std::string error, const call_outcome& o) {
  c.replied = true;
  const auto& req = broker::get<msg::llm_call>(c.request.payload);
  msg::llm_reply r;
  r.task = req.task;
  r.ok = error.empty();
  r.answer = r.ok ? o.answer : -1;
  r.confidence = r.ok ? o.confidence : 0;
  r.cost = o.cost;
  r.tokens_in = o.tokens_in;
  r.tokens_out = r.ok ? o.tokens_out : 0;
  r.queued = (c.serving ? c.started : ctx.now()) - c.arrived;
  r.latency = ctx.now() - c.arrived;
  r.error = std::move(error);
  if (!r.ok && r.error == "failure") ++totals_.failures;
  totals_.tokens_in += r.tokens_in;
  totals_.tokens_out += r.tokens_out;
  totals_.cost += r.cost;
  ctx.reply(c.request, std::move(r));
}

}  // namespace colony::agents
