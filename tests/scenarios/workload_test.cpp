#include "colony/scenarios/workload_source.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>

#include "colony/engine/sim_runtime.hpp"

namespace colony::scenarios {
namespace {

namespace msg = broker::msg;

TEST(Workload, BurstsMultiplyTheRateWhileActive) {
  arrivals a;
  a.rate_per_sec = 2;
  a.bursts = {{.at = 10 * sec, .duration = 5 * sec, .multiplier = 3},
              {.at = 1 * hour, .duration = 10 * sec, .multiplier = 4, .every = 1 * hour}};
  EXPECT_DOUBLE_EQ(arrival_rate(a, 0), 2);
  EXPECT_DOUBLE_EQ(arrival_rate(a, 10 * sec), 6);
  EXPECT_DOUBLE_EQ(arrival_rate(a, 15 * sec), 2);  // ends exclusive
  EXPECT_DOUBLE_EQ(arrival_rate(a, 1 * hour + 5 * sec), 8);
  EXPECT_DOUBLE_EQ(arrival_rate(a, 3 * hour + 9 * sec), 8);  // periodic
  EXPECT_DOUBLE_EQ(arrival_rate(a, 3 * hour + 10 * sec), 2);
  EXPECT_DOUBLE_EQ(arrival_rate(a, 59 * minute), 2);  // not before its first start
}

TEST(Workload, PhasesSetAFamilysShareFromTheirTimeOn) {
  workload w;
  w.families = {{.name = "stats", .share = 0.9}, {.name = "legal", .share = 0}};
  w.arrival.phases = {{.at = 30 * day, .family = "legal", .share = 0.08},
                      {.at = 60 * day, .family = "legal", .share = 0.2}};
  EXPECT_EQ(family_shares(w, 0), (std::vector<double>{0.9, 0}));
  EXPECT_EQ(family_shares(w, 30 * day), (std::vector<double>{0.9, 0.08}));
  EXPECT_EQ(family_shares(w, 90 * day), (std::vector<double>{0.9, 0.2}));
}

TEST(Workload, TemplatesAreFilledFromTheirSlots) {
  std::map<std::string, slot_spec> slots{{"stat", {.choices = {"mean", "median"}}},
                                         {"n", {.low = 5, .high = 7}}};
  engine::rng r(1, 1);
  std::map<std::string, int> seen;
  for (int i = 0; i < 200; ++i) {
    const auto text = fill_template("the {stat} of {n} values", slots, r);
    ++seen[text];
    EXPECT_EQ(text.rfind("the m", 0), 0u) << text;
    EXPECT_NE(text.find(" values"), std::string::npos);
  }
  EXPECT_EQ(seen.size(), 6u);  // 2 words x 3 numbers, all drawn
  engine::rng a(9, 9), b(9, 9);
  EXPECT_EQ(fill_template("{stat} {n}", slots, a), fill_template("{stat} {n}", slots, b));
}

TEST(Workload, IntegerSlotsCoverHugeRangesWithoutOverflow) {
  engine::rng r(2, 2);
  const std::map<std::string, slot_spec> wide{
      {"n", {.low = -9'000'000'000'000'000'000, .high = 9'000'000'000'000'000'000}}};
  const std::map<std::string, slot_spec> full{{"n",
                                               {.low = std::numeric_limits<std::int64_t>::min(),
                                                .high = std::numeric_limits<std::int64_t>::max()}}};
  bool negative = false, positive = false;
  for (int i = 0; i < 100; ++i) {
    const auto v = std::stoll(fill_template("{n}", wide, r));
    EXPECT_GE(v, -9'000'000'000'000'000'000);
    EXPECT_LE(v, 9'000'000'000'000'000'000);
    negative |= v < 0;
    positive |= v > 0;
    (void)std::stoll(fill_template("{n}", full, r));  // any int64 is in range
  }
  EXPECT_TRUE(negative && positive);
}

TEST(Workload, DistributionsHaveTheirMeansAndStayInBounds) {
  engine::rng r(4, 4);
  const int n = 50000;
  auto mean = [&](const distribution& d) {
    double sum = 0;
    for (int i = 0; i < n; ++i) {
      const double x = draw(d, r);
      EXPECT_GE(x, d.min);
      EXPECT_LE(x, d.max);
      sum += x;
    }
    return sum / n;
  };
  EXPECT_DOUBLE_EQ(draw({.shape = distribution::kind::constant, .a = 0.3}, r), 0.3);
  EXPECT_NEAR(mean({.shape = distribution::kind::uniform, .a = 0.2, .b = 0.6}), 0.4, 0.005);
  EXPECT_NEAR(mean({.shape = distribution::kind::beta, .a = 2, .b = 6}), 0.25, 0.005);
  // A normal clamped to [0, 1] around 0.9 loses its upper tail: its mean falls below 0.9.
  const double clamped = mean({.shape = distribution::kind::normal, .a = 0.9, .b = 0.2});
  EXPECT_LT(clamped, 0.88);
  EXPECT_GT(clamped, 0.8);
}

// Answers every task at once: right for even task ids, wrong for odd ones.
class answerer final : public engine::actor {
 public:
  void handle(broker::envelope& e, engine::context& ctx) override {
    const auto& t = broker::get<msg::task_request>(e.payload);
    const bool right = broker::raw(t.task) % 2 == 0;
    msg::task_result r;
    r.task = t.task;
    r.ok = true;
    r.answer = right ? t.truth : (t.truth + 1) % static_cast<std::int32_t>(t.options);
    r.cost = 0.5;
    ctx.reply(e, std::move(r));
    ctx.log_event("task", {{"family", t.family}});
  }
};

workload two_families() {
  workload w;
  w.families = {{.name = "a", .domain = "x", .templates = {"task a"}, .options = 4, .share = 1},
                {.name = "b", .domain = "y", .templates = {"task b"}, .options = 4, .share = 0}};
  w.arrival.rate_per_sec = 10;
  w.arrival.phases = {{.at = 1 * hour, .family = "b", .share = 1}};
  return w;
}

TEST(WorkloadSource, ArrivesAtItsRateScoresResultsAndAppliesPhases) {
  engine::event_log log;
  engine::sim_runtime rt({.seed = 3, .threads = 1, .events = &log});
  const auto entry = *rt.spawn([] { return std::make_unique<answerer>(); });
  const auto src = *rt.spawn([entry] {
    return std::make_unique<workload_source>(two_families(), entry, 2 * hour, 1 * day);
  });
  ASSERT_TRUE(rt.run());
  auto* source = dynamic_cast<workload_source*>(rt.inspect(src));
  ASSERT_NE(source, nullptr);
  const auto& t = source->total();
  // Poisson: 72,000 expected, standard deviation about 268.
  EXPECT_NEAR(static_cast<double>(t.arrived), 72000, 5 * 268);
  EXPECT_EQ(t.arrived, t.completed + t.failed + t.escalated + source->in_flight());
  EXPECT_EQ(source->in_flight(), 0u);
  EXPECT_EQ(t.succeeded, t.completed / 2);  // even ids right, odd ids wrong
  EXPECT_DOUBLE_EQ(t.cost, 0.5 * static_cast<double>(t.completed));
  // Family b joins at 1h with the same share as a: a quarter of all tasks.
  std::size_t b = 0, all = 0;
  for (std::size_t pos = log.contents().find("\"type\":\"task\""); pos != std::string::npos;
       pos = log.contents().find("\"type\":\"task\"", pos + 1)) {
    ++all;
    b += log.contents().compare(log.contents().find("\"family\":", pos) + 10, 1, "b") == 0;
  }
  EXPECT_EQ(all, t.arrived);
  EXPECT_NEAR(static_cast<double>(b) / static_cast<double>(all), 0.25, 0.01);
}

TEST(WorkloadSource, StopsAtMaxTasksAndCountsUnansweredTasksAsFailed) {
  engine::sim_runtime rt({.seed = 3, .threads = 1});
  auto w = two_families();
  w.max_tasks = 50;
  // Nobody answers: agent 99 does not exist, so every task times out after 1 minute.
  const auto src = *rt.spawn([w] {
    return std::make_unique<workload_source>(w, broker::agent_id{99}, 1 * hour, 1 * minute);
  });
  ASSERT_TRUE(rt.run());
  auto* source = dynamic_cast<workload_source*>(rt.inspect(src));
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->total().arrived, 50u);
  EXPECT_EQ(source->total().failed, 50u);
  EXPECT_EQ(rt.stats().dead_letters, 50u);
}

}  // namespace
}  // namespace colony::scenarios
