#pragma once
// The kernel benchmark workloads, shared by the benchmark program and its smoke test.
//   relay_ring: `agents` agents in a ring, `tokens` tokens circulating, each making `hops` hops.
//   fan_out:    one publisher, `subscribers` subscribers on a topic, `publishes` publishes.
#include <cstdint>
#include <memory>
#include <vector>

#include "colony/engine/runtime.hpp"

namespace colony::bench {

using engine::agent_id;

struct relay_config {
  std::uint64_t agents = 10'000;
  std::uint64_t tokens = 1'000;
  std::uint64_t hops = 10'000;  // per token: 10 million in all
};

class relay_node final : public engine::actor {
 public:
  relay_node(const std::vector<agent_id>* ring, std::size_t index) : ring_(ring), index_(index) {}
  void handle(broker::envelope& e, engine::context& ctx) override {
    auto& t = std::get<broker::msg::token>(e.payload);
    if (t.hops_left == 0) return;
    --t.hops_left;
    ctx.send((*ring_)[(index_ + 1) % ring_->size()], t);
  }

 private:
  const std::vector<agent_id>* ring_;  // filled before any token moves
  std::size_t index_;
};

/// Spawns the ring into `ring` (agent i forwards to agent i+1). Tokens are not injected yet.
inline void build_ring(engine::runtime& rt, const relay_config& c, std::vector<agent_id>& ring) {
  ring.clear();
  ring.reserve(c.agents);
  for (std::uint64_t i = 0; i < c.agents; ++i) {
    ring.push_back(*rt.spawn([&ring, i] { return std::make_unique<relay_node>(&ring, i); }));
  }
}

/// Injects the tokens: token j starts at agent j * (agents / tokens).
inline void inject_tokens(engine::runtime& rt, const std::vector<agent_id>& ring,
                          const relay_config& c) {
  const std::uint64_t stride = c.agents / c.tokens;
  for (std::uint64_t j = 0; j < c.tokens; ++j) {
    rt.post(ring[(j * stride) % ring.size()], broker::msg::token{j, c.hops, 0});
  }
}

struct fan_out_config {
  std::uint64_t subscribers = 10'000;
  std::uint64_t publishes = 1'000;
  sim_time period = 1 * msec;  ///< between publishes: SimRuntime's default lookahead
};

class subscriber final : public engine::actor {
 public:
  void handle(broker::envelope& e, engine::context&) override {
    received_ += std::get<broker::msg::ping>(e.payload).value != 0;
  }

 private:
  std::uint64_t received_ = 0;
};

// Publishes once per `period` until it has published `count` times. A period of one lookahead
// keeps 10,000 deliveries in flight, as a steady stream of market ticks would.
class publisher final : public engine::actor {
 public:
  publisher(std::uint64_t count, sim_time period) : left_(count), period_(period) {}
  void on_start(engine::context& ctx) override { ctx.schedule(period_, broker::msg::ping{}); }
  void handle(broker::envelope&, engine::context& ctx) override {
    ctx.publish(broker::topic("bench"), broker::msg::ping{left_});
    if (--left_ > 0) ctx.schedule(period_, broker::msg::ping{});
  }

 private:
  std::uint64_t left_;
  sim_time period_;
};

/// Spawns the subscribers (already subscribed) and the publisher.
inline void build_fan_out(engine::runtime& rt, const fan_out_config& c) {
  for (std::uint64_t i = 0; i < c.subscribers; ++i) {
    (void)rt.spawn([] { return std::make_unique<subscriber>(); }, {.topics = {"bench"}});
  }
  (void)rt.spawn([c] { return std::make_unique<publisher>(c.publishes, c.period); });
}

}  // namespace colony::bench
