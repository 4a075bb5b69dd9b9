#pragma once
// A randomized world that exercises every kernel feature at once: thousands of agents passing
// tokens with direct sends, requests (answered, and to a silent peer that never answers),
// publishes, broadcasts, timers, spawned children, dynamic subscriptions, stops with and without
// heirs, and mail to unknown agents.
//
// What a token does next is drawn from randomness the token carries (its seed and hop count),
// so the *number* of hops, requests, timeouts, spawns... is the same whatever order mail arrives
// in: that lets LiveRuntime be checked against SimRuntime. Delays and priorities come from each
// agent's own stream, which makes the arrival order, and so the event log, depend on the seed.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "colony/engine/context.hpp"
#include "colony/engine/runtime.hpp"

namespace colony::engine::testing {

struct stress_config {
  std::uint64_t walkers = 3000;
  std::uint64_t listeners = 300;
  std::uint64_t tokens = 400;
  std::uint64_t hops = 40;
  int topics = 4;
  int groups = 8;
  sim_time answer_timeout = 1 * hour;   // answered requests never time out
  sim_time silent_timeout = 20 * msec;  // requests to the silent peer always do
};

// Counts that must not depend on delivery order.
struct stress_counts {
  std::atomic<std::uint64_t> hops{0}, finished{0}, requests{0}, answered{0}, timeouts{0},
      publishes{0}, broadcasts{0}, timers{0}, spawns{0}, unknown_sends{0}, stops{0};

  std::string summary() const {
    return "hops=" + std::to_string(hops) + " finished=" + std::to_string(finished) +
           " requests=" + std::to_string(requests) + " answered=" + std::to_string(answered) +
           " timeouts=" + std::to_string(timeouts) + " publishes=" + std::to_string(publishes) +
           " broadcasts=" + std::to_string(broadcasts) + " timers=" + std::to_string(timers) +
           " spawns=" + std::to_string(spawns) + " unknown_sends=" + std::to_string(unknown_sends) +
           " stops=" + std::to_string(stops);
  }
};

struct stress_world {
  stress_config config;
  std::shared_ptr<stress_counts> counts = std::make_shared<stress_counts>();
  std::vector<agent_id> walkers;
  std::vector<agent_id> listeners;
  agent_id silent{};
};

namespace stress_detail {

inline std::uint64_t draw(const broker::msg::token& t, std::uint64_t salt) {
  return mix(t.seed ^ salt, t.hops_left);
}

// Listens on topics and its group; never holds tokens, so stopping it loses none.
class listener final : public actor {
 public:
  void handle(broker::envelope& e, context& ctx) override {
    ctx.log_event("heard", {{"from", broker::raw(e.from)}, {"msg", broker::type_name(e.payload)}});
  }
};

// Never answers.
class silent final : public actor {
 public:
  void handle(broker::envelope&, context&) override {}
};

// A short-lived child that carries a token one hop and stops.
class courier final : public actor {
 public:
  courier(broker::msg::token t, agent_id next) : token_(t), next_(next) {}
  void on_start(context& ctx) override {
    ctx.send(next_, token_);
    ctx.stop(ctx.self(), {.reason = "delivered"});
  }
  void handle(broker::envelope&, context&) override {}

 private:
  broker::msg::token token_;
  agent_id next_;
};

class walker final : public actor {
 public:
  explicit walker(const stress_world* world) : w_(world) {}

  void handle(broker::envelope& e, context& ctx) override {
    broker::visit(
        broker::overloaded{[&](broker::msg::token& t) {
                             if (e.kind == broker::envelope_kind::timer) {
                               forward(t, ctx);
                             } else {
                               on_token(t, ctx);
                             }
                           },
                           [&](broker::msg::ping& p) {
                             if (e.kind == broker::envelope_kind::request) {
                               ctx.reply(e, broker::msg::pong{p.value});
                             }
                           },
                           [&](broker::msg::pong&) {
                             w_->counts->answered++;
                             resume(e.correlation, ctx);
                           },
                           [&](broker::msg::timeout& t) {
                             w_->counts->timeouts++;
                             resume(t.request, ctx);
                           },
                           [&](broker::msg::spawned&) {}, [&](broker::msg::stopped&) {},
                           [&](broker::msg::dead_letter&) {}, [&](broker::msg::tick&) {},
                           [&](broker::msg::task_request&) {}, [&](broker::msg::task_result&) {},
                           [&](broker::msg::llm_call&) {}, [&](broker::msg::llm_reply&) {},
                           [](broker::msg::library_query&) {}, [](broker::msg::library_answer&) {},
                           [](broker::msg::library_report&) {}, [](broker::msg::store_request&) {},
                           [](broker::msg::store_reply&) {}, [](broker::msg::db_announce&) {}},
        e.payload);
  }

 private:
  const stress_config& cfg() const { return w_->config; }

  void on_token(broker::msg::token& t, context& ctx) {
    w_->counts->hops++;
    ctx.log_event("hop", {{"token", t.id}, {"left", t.hops_left}});
    if (t.hops_left == 0) {
      w_->counts->finished++;
      ctx.log_event("token_done", {{"token", t.id}});
      return;
    }
    const std::uint64_t r = draw(t, 1) % 100;
    const std::uint64_t pick = draw(t, 2);
    if (r < 10) {
      w_->counts->requests++;
      const agent_id peer = w_->walkers[pick % w_->walkers.size()];
      pending_[broker::raw(ctx.request(peer, broker::msg::ping{t.id}, cfg().answer_timeout))] = t;
    } else if (r < 13) {
      w_->counts->requests++;
      pending_[broker::raw(
          ctx.request(w_->silent, broker::msg::ping{t.id}, cfg().silent_timeout))] = t;
    } else if (r < 23) {
      w_->counts->publishes++;
      const auto topic = "t" + std::to_string(pick % cfg().topics);
      ctx.publish(broker::topic(topic), broker::msg::ping{t.id});
      forward(t, ctx);
    } else if (r < 31) {
      w_->counts->broadcasts++;
      const auto group = "g" + std::to_string(broker::raw(ctx.self()) % cfg().groups);
      ctx.broadcast(broker::group(group), broker::msg::ping{t.id});
      forward(t, ctx);
    } else if (r < 41) {
      w_->counts->timers++;
      ctx.schedule(static_cast<sim_time>(ctx.random().below(3 * msec)),
                   t);  // forwarded when it fires
    } else if (r < 47) {
      w_->counts->spawns++;
      const auto next = advance(t);
      const agent_id to = w_->walkers[pick % w_->walkers.size()];
      ctx.spawn([next, to] { return std::make_unique<courier>(next, to); },
                {.kind = "courier", .tag = t.id});
    } else if (r < 51) {
      w_->counts->unknown_sends++;
      ctx.send(agent_id{(1ull << 40) + t.id}, broker::msg::ping{t.id});
      forward(t, ctx);
    } else if (r < 56) {
      const auto topic = "t" + std::to_string(pick % cfg().topics);
      if (pick & 1) {
        ctx.subscribe(topic);
      } else {
        ctx.unsubscribe(broker::topic(topic));
      }
      forward(t, ctx);
    } else if (r < 58) {
      w_->counts->stops++;
      // Stop a listener; half of the time its mail goes on to another listener.
      const auto& ls = w_->listeners;
      const agent_id victim = ls[pick % ls.size()];
      const agent_id heir = (pick >> 8) & 1 ? ls[(pick >> 16) % ls.size()] : broker::no_agent;
      ctx.stop(victim, {.heir = heir == victim ? broker::no_agent : heir, .reason = "stress"});
      forward(t, ctx);
    } else {
      forward(t, ctx);
    }
  }

  static broker::msg::token advance(broker::msg::token t) {
    --t.hops_left;
    return t;
  }

  void forward(const broker::msg::token& t, context& ctx) {
    const agent_id next = w_->walkers[draw(t, 3) % w_->walkers.size()];
    ctx.send(next, advance(t),
             {.delay = static_cast<sim_time>(ctx.random().below(5 * msec)),
              .priority = static_cast<std::uint8_t>(1 + ctx.random().below(5))});
  }

  void resume(correlation_id c, context& ctx) {
    auto it = pending_.find(broker::raw(c));
    if (it == pending_.end()) return;
    const auto t = it->second;
    pending_.erase(it);
    forward(t, ctx);
  }

  const stress_world* w_;
  std::map<std::uint64_t, broker::msg::token> pending_;
};

}  // namespace stress_detail

/// Spawns the world into `rt` and injects its tokens. `world` must outlive the run.
inline void build_stress_world(runtime& rt, stress_world& world, std::uint64_t token_seed) {
  const auto& c = world.config;
  for (std::uint64_t i = 0; i < c.walkers; ++i) {
    spawn_options o{.kind = "walker", .groups = {"g" + std::to_string((i + 1) % c.groups)}};
    if (i % 7 == 0) o.topics.push_back("t" + std::to_string(i % c.topics));
    world.walkers.push_back(*rt.spawn(
        [&world] { return std::make_unique<stress_detail::walker>(&world); }, std::move(o)));
  }
  for (std::uint64_t i = 0; i < c.listeners; ++i) {
    spawn_options o{.kind = "listener",
                    .groups = {"g" + std::to_string(i % c.groups)},
                    .topics = {"t" + std::to_string(i % c.topics)}};
    world.listeners.push_back(
        *rt.spawn([] { return std::make_unique<stress_detail::listener>(); }, std::move(o)));
  }
  world.silent = *rt.spawn([] { return std::make_unique<stress_detail::silent>(); },
                           {.name = "silent", .kind = "silent"});
  for (std::uint64_t i = 0; i < c.tokens; ++i) {
    const broker::msg::token t{i, c.hops, mix(token_seed, i)};
    rt.post(world.walkers[(i * 7919) % world.walkers.size()], t, 0);
  }
}

}  // namespace colony::engine::testing
