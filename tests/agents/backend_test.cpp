#include "colony/agents/backend.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cmath>
#include <vector>

#include "colony/engine/sim_runtime.hpp"

namespace colony::agents {
namespace {

namespace msg = broker::msg;
using broker::agent_id;
using broker::envelope;

msg::llm_call call(double difficulty, std::uint32_t options = 4, std::int32_t truth = 1) {
  return msg::llm_call{broker::task_id{1}, "finance", difficulty, options, truth, 1.0, 0.0};
}

TEST(BackendModel, CorrectProbabilityIsThreeParameterLogistic) {
  backend_profile p;
  p.skill = {{"finance", 0.6}};
  p.default_skill = 0.2;
  p.discrimination = 10;
  // Skill equal to difficulty: halfway between guessing (1/4) and certainty.
  EXPECT_NEAR(correct_probability(p, call(0.6)), 0.25 + 0.75 * 0.5, 1e-12);
  // Far above: near certainty; far below: near guessing.
  EXPECT_NEAR(correct_probability(p, call(0.0)), 0.25 + 0.75 / (1 + std::exp(-6.0)), 1e-12);
  EXPECT_NEAR(correct_probability(p, call(1.0, 2)), 0.5 + 0.5 / (1 + std::exp(4.0)), 1e-12);
  // Another domain uses the default skill; a bonus adds to skill, capped at 1.
  auto legal = call(0.2);
  legal.domain = "legal";
  EXPECT_NEAR(correct_probability(p, legal), 0.25 + 0.75 * 0.5, 1e-12);
  auto boosted = call(0.6);
  boosted.skill_bonus = 0.9;
  EXPECT_NEAR(correct_probability(p, boosted), 0.25 + 0.75 / (1 + std::exp(-4.0)), 1e-12);
}

TEST(BackendModel, LatencyDistributionsHaveTheirParameters) {
  engine::rng r(3, 3);
  EXPECT_EQ(draw_latency({latency_kind::constant, 250 * msec, 0}, r), 250 * msec);
  const int n = 100000;
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    sum += static_cast<double>(draw_latency({latency_kind::exponential, 2 * sec, 0}, r));
  }
  EXPECT_NEAR(sum / n / sec, 2.0, 0.03);
  std::vector<sim_time> v;
  for (int i = 0; i < n; ++i)
    v.push_back(draw_latency({latency_kind::lognormal, 800 * msec, 2 * sec}, r));
  std::sort(v.begin(), v.end());
  EXPECT_NEAR(static_cast<double>(v[n / 2]) / msec, 800, 20);
  EXPECT_NEAR(static_cast<double>(v[n * 95 / 100]) / msec, 2000, 60);
}

TEST(BackendModel, AnswersAreRightAtTheModelledRateAndWrongOnesSpreadOverOtherOptions) {
  backend_profile p;
  p.default_skill = 0.5;
  p.tokens_in = 400;
  p.tokens_out = 100;
  p.price_in = 0.5;
  p.price_out = 1.5;
  engine::rng r(11, 1);
  const auto c = call(0.5, 4, 2);
  const double expected = correct_probability(p, c);
  const int n = 60000;
  int right = 0;
  std::vector<int> wrong(4, 0);
  for (int i = 0; i < n; ++i) {
    const auto o = simulate_call(p, c, r);
    ASSERT_TRUE(o.ok);
    EXPECT_EQ(o.correct, o.answer == 2);
    if (o.correct) {
      ++right;
    } else {
      ++wrong[o.answer];
    }
    ASSERT_GE(o.confidence, 0.0);
    ASSERT_LE(o.confidence, 1.0);
    ASSERT_DOUBLE_EQ(o.cost, 0.4 * 0.5 + 0.1 * 1.5);
  }
  EXPECT_NEAR(static_cast<double>(right) / n, expected, 0.01);
  EXPECT_EQ(wrong[2], 0);
  const int each = (n - right) / 3;
  for (int k : {0, 1, 3}) EXPECT_NEAR(wrong[k], each, each * 0.06);
}

TEST(BackendModel, FailuresHappenAtTheirRateAndPayOnlyForThePrompt) {
  backend_profile p;
  p.failure_rate = 0.2;
  p.tokens_in = 1000;
  p.price_in = 1.0;
  p.price_out = 5.0;
  engine::rng r(2, 2);
  auto c = call(0.1);
  c.tokens_scale = 1.5;
  int failed = 0;
  const int n = 50000;
  for (int i = 0; i < n; ++i) {
    const auto o = simulate_call(p, c, r);
    EXPECT_EQ(o.tokens_in, 1500u);
    if (!o.ok) {
      ++failed;
      EXPECT_EQ(o.error, "failure");
      EXPECT_EQ(o.tokens_out, 0u);
      EXPECT_DOUBLE_EQ(o.cost, 1.5);
    }
  }
  EXPECT_NEAR(static_cast<double>(failed) / n, 0.2, 0.01);
}

// A client that fires `n` calls at t=0 and logs each reply.
class client final : public engine::actor {
 public:
  client(agent_id backend, int n) : backend_(backend), n_(n) {}
  void on_start(engine::context& ctx) override {
    for (int i = 0; i < n_; ++i) {
      ctx.request(backend_, call(0.1), 1 * hour);
    }
  }
  void handle(envelope& e, engine::context& ctx) override {
    const auto& r = broker::get<msg::llm_reply>(e.payload);
    ctx.log_event("reply", {{"ok", r.ok},
                            {"error", r.error},
                            {"queued", r.queued},
                            {"latency", r.latency},
                            {"cost", r.cost}});
  }

 private:
  agent_id backend_;
  int n_;
};

struct BackendActor : ::testing::Test {
  engine::event_log log;
  engine::sim_runtime rt{{.seed = 1, .threads = 1, .lookahead = 1 * msec, .events = &log}};

  std::vector<boost::json::object> replies() {
    std::vector<boost::json::object> out;
    std::size_t pos = 0;
    const auto& text = log.contents();
    while (pos < text.size()) {
      const auto end = text.find('\n', pos);
      auto v = boost::json::parse(std::string_view(text).substr(pos, end - pos)).as_object();
      if (v.at("type") == "reply") out.push_back(std::move(v));
      pos = end + 1;
    }
    return out;
  }
};

TEST_F(BackendActor, ConcurrencyLimitQueuesCallsFirstInFirstOut) {
  backend_profile p;
  p.latency = {latency_kind::constant, 1 * sec, 0};
  p.concurrency = 2;
  const agent_id b = *rt.spawn([p] { return std::make_unique<backend_actor>(p); });
  ASSERT_TRUE(rt.spawn([b] { return std::make_unique<client>(b, 5); }));
  ASSERT_TRUE(rt.run());
  const auto r = replies();
  ASSERT_EQ(r.size(), 5u);
  // Two served at once: queueing of 0, 0, 1s, 1s, 2s, and latency includes it.
  const sim_time queued[] = {0, 0, 1 * sec, 1 * sec, 2 * sec};
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_TRUE(r[i].at("ok").as_bool());
    EXPECT_EQ(r[i].at("queued").as_int64(), queued[i]) << i;
    EXPECT_EQ(r[i].at("latency").as_int64(), queued[i] + 1 * sec) << i;
    // Sent at t=0, one link latency to the backend and one back.
    EXPECT_EQ(r[i].at("t").as_int64(), queued[i] + 1 * sec + 2 * msec) << i;
  }
}

TEST_F(BackendActor, CallsThatWaitOrRunPastTheTimeoutFailWithTimeout) {
  backend_profile p;
  p.latency = {latency_kind::constant, 3 * sec, 0};
  p.concurrency = 1;
  p.timeout = 4 * sec;
  p.tokens_in = 1000;
  p.price_in = 1.0;
  const agent_id b = *rt.spawn([p] { return std::make_unique<backend_actor>(p); });
  ASSERT_TRUE(rt.spawn([b] { return std::make_unique<client>(b, 3); }));
  ASSERT_TRUE(rt.run());
  const auto r = replies();
  ASSERT_EQ(r.size(), 3u);
  // First: served in 3s. Second: starts at 3s, still running at its 4s deadline: timeout, the
  // prompt is paid. Third: still queued at 4s: timeout, nothing paid.
  EXPECT_TRUE(r[0].at("ok").as_bool());
  EXPECT_EQ(r[0].at("latency").as_int64(), 3 * sec);
  for (int i : {1, 2}) {
    EXPECT_FALSE(r[i].at("ok").as_bool());
    EXPECT_EQ(r[i].at("error").as_string(), "timeout");
    EXPECT_EQ(r[i].at("latency").as_int64(), 4 * sec);
  }
  EXPECT_DOUBLE_EQ(r[1].at("cost").as_double(), 1.0);
  EXPECT_DOUBLE_EQ(r[2].at("cost").as_double(), 0.0);
  EXPECT_EQ(r[1].at("queued").as_int64(), 3 * sec);
  EXPECT_EQ(r[2].at("queued").as_int64(), 4 * sec);
}

}  // namespace
}  // namespace colony::agents
