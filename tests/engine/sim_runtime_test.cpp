#include "colony/engine/sim_runtime.hpp"

#include <gtest/gtest.h>

#include "colony/broker/registry.hpp"
#include "test_actors.hpp"

namespace colony::engine {
namespace {

using broker::agent_id;
using broker::envelope;
using broker::raw;
namespace msg = broker::msg;
using testing::events;
using testing::script;
using testing::str;
using testing::u64;

constexpr sim_time L = 1 * msec;

struct SimRuntime : ::testing::Test {
  event_log log;
  sim_runtime rt{sim_config{.seed = 1, .threads = 1, .lookahead = L, .events = &log}};

  agent_id spawn(actor_factory f, spawn_options o = {}) {
    auto id = rt.spawn(std::move(f), std::move(o));
    EXPECT_TRUE(id) << id.error().message;
    return *id;
  }
  run_stats run(sim_time until = time_never) {
    auto r = rt.run(until);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : run_stats{};
  }
};

TEST_F(SimRuntime, DirectSendArrivesAfterTheLinkLatencyPlusDelay) {
  const agent_id b = spawn(script());
  spawn(script([b](context& ctx) {
    ctx.send(b, msg::ping{1});
    ctx.send(b, msg::ping{2}, {.delay = 5 * msec});
  }));
  const auto s = run();
  const auto got = events(log, "got");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(u64(got[0], "t"), L);
  EXPECT_EQ(u64(got[0], "agent"), raw(b));
  EXPECT_EQ(got[0].at("msg").at("value"), 1);
  EXPECT_EQ(u64(got[1], "t"), L + 5 * msec);
  EXPECT_EQ(s.delivered, 2u);
  EXPECT_EQ(s.sent, 2u);
  EXPECT_EQ(s.end_time, L + 5 * msec);
}

TEST_F(SimRuntime, SimultaneousMailIsOrderedByPriorityThenSenderThenSequence) {
  const agent_id sink = spawn(script());
  spawn(script([sink](context& ctx) {
    ctx.send(sink, msg::ping{1}, {.priority = 1});
    ctx.send(sink, msg::ping{2});
    ctx.send(sink, msg::ping{3}, {.priority = 5});
  }));
  spawn(script([sink](context& ctx) { ctx.send(sink, msg::ping{4}); }));
  run();
  std::vector<std::int64_t> order;
  for (const auto& e : events(log, "got")) order.push_back(e.at("msg").at("value").as_int64());
  EXPECT_EQ(order, (std::vector<std::int64_t>{3, 2, 4, 1}));
}

TEST_F(SimRuntime, PublishReachesSubscribersOnlyAndSubscriptionsChangeAtTheBarrier) {
  const agent_id a = spawn(script(), {.topics = {"prices"}});
  const agent_id b = spawn(script(), {.topics = {"prices"}});
  const agent_id outsider = spawn(script());
  // c subscribes from its own handler: the first publish (same window) misses it.
  const agent_id c = spawn(script([](context& ctx) { ctx.subscribe("prices"); }));
  spawn(script(
      [](context& ctx) {
        ctx.publish(broker::topic("prices"), msg::ping{1});
        ctx.schedule(3 * L, msg::ping{0});
      },
      [](envelope&, context& ctx) { ctx.publish(broker::topic("prices"), msg::ping{2}); }));
  run();
  std::vector<std::pair<std::uint64_t, std::int64_t>> got;
  for (const auto& e : events(log, "got"))
    got.emplace_back(u64(e, "agent"), e.at("msg").at("value").as_int64());
  using P = std::pair<std::uint64_t, std::int64_t>;
  EXPECT_EQ(got, (std::vector<P>{{raw(a), 1}, {raw(b), 1}, {raw(a), 2}, {raw(b), 2}, {raw(c), 2}}));
  (void)outsider;
}

TEST_F(SimRuntime, BroadcastReachesTheGroupButNotTheSender) {
  const agent_id a = spawn(script(), {.groups = {"harbor"}});
  const agent_id b = spawn(script(), {.groups = {"harbor"}});
  spawn(script(), {.groups = {"elsewhere"}});
  const agent_id sender =
      spawn(script([](context& ctx) { ctx.broadcast(broker::group("harbor"), msg::ping{9}); }),
            {.groups = {"harbor"}});
  run();
  std::vector<std::uint64_t> to;
  for (const auto& e : events(log, "got")) {
    to.push_back(u64(e, "agent"));
    EXPECT_EQ(u64(e, "from"), raw(sender));
  }
  EXPECT_EQ(to, (std::vector<std::uint64_t>{raw(a), raw(b)}));
}

// A responder answering after `delay`.
actor_factory echo(sim_time delay) {
  return script({}, [delay](envelope& e, context& ctx) {
    ctx.reply(e, msg::pong{broker::get<msg::ping>(e.payload).value}, {.delay = delay});
  });
}

TEST_F(SimRuntime, RequestGetsItsReplyAndNoTimeout) {
  const agent_id responder = spawn(echo(0));
  spawn(script([responder](context& ctx) { ctx.request(responder, msg::ping{5}, 10 * msec); }));
  const auto s = run();
  const auto got = events(log, "got");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(str(got[0], "kind"), "reply");
  EXPECT_EQ(got[0].at("msg").at("type"), "pong");
  EXPECT_EQ(u64(got[0], "t"), 2 * L);
  EXPECT_EQ(s.timeouts, 0u);
}

TEST_F(SimRuntime, SilentPeerYieldsOneTimeoutAndALateReplyIsADeadLetter) {
  const agent_id slow = spawn(echo(20 * msec));
  const agent_id requester =
      spawn(script([slow](context& ctx) { ctx.request(slow, msg::ping{5}, 4 * msec); }));
  const auto s = run();
  const auto got = events(log, "got");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].at("msg").at("type"), "timeout");
  EXPECT_EQ(u64(got[0], "t"), 4 * msec);
  EXPECT_EQ(got[0].at("msg").at("peer"), raw(slow));
  const auto dead = events(log, "dead_letter");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(str(dead[0], "reason"), "late reply");
  EXPECT_EQ(u64(dead[0], "agent"), raw(requester));
  EXPECT_EQ(u64(dead[0], "t"), 2 * L + 20 * msec);
  EXPECT_EQ(s.timeouts, 1u);
  EXPECT_EQ(s.dead_letters, 1u);
}

TEST_F(SimRuntime, MailToAnUnknownAgentIsADeadLetter) {
  const agent_id sender = spawn(script([](context& ctx) { ctx.send(agent_id{999}, msg::ping{}); }));
  const auto s = run();
  const auto dead = events(log, "dead_letter");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(u64(dead[0], "from"), raw(sender));
  EXPECT_EQ(u64(dead[0], "to"), 999u);
  EXPECT_EQ(str(dead[0], "reason"), "unknown agent");
  EXPECT_EQ(str(dead[0], "message"), "ping");
  EXPECT_EQ(s.dead_letters, 1u);
}

TEST_F(SimRuntime, DeadLettersArePublishedToSubscribersOfTheDeadLetterTopic) {
  const agent_id monitor = spawn(script(), {.topics = {std::string(broker::dead_letter_topic)}});
  const agent_id sender = spawn(script([](context& ctx) { ctx.send(agent_id{999}, msg::ping{}); }));
  const auto s = run();
  const auto got = events(log, "got");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(u64(got[0], "agent"), raw(monitor));
  EXPECT_EQ(u64(got[0], "t"), 2 * L);
  const auto& notice = got[0].at("msg").as_object();
  EXPECT_EQ(str(notice, "type"), "dead_letter");
  EXPECT_EQ(u64(notice, "from"), raw(sender));
  EXPECT_EQ(u64(notice, "to"), 999u);
  EXPECT_EQ(str(notice, "message_type"), "ping");
  EXPECT_EQ(str(notice, "reason"), "unknown agent");
  EXPECT_EQ(s.dead_letters, 1u);
}

TEST_F(SimRuntime, MailToAStoppedAgentGoesToItsHeirOrIsDeadLettered) {
  const agent_id heir = spawn(script());
  const agent_id merged = spawn(script());
  const agent_id gone = spawn(script());
  spawn(script(
      [=](context& ctx) {
        ctx.stop(merged, {.heir = heir, .reason = "merged into heir"});
        ctx.stop(gone, {.reason = "pruned"});
        ctx.schedule(5 * L, msg::ping{});
      },
      [=](envelope&, context& ctx) {
        ctx.send(merged, msg::ping{1});
        ctx.send(gone, msg::ping{2});
      }));
  const auto s = run();
  const auto got = events(log, "got");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(u64(got[0], "agent"), raw(heir));
  EXPECT_EQ(got[0].at("msg").at("value"), 1);
  EXPECT_EQ(u64(got[0], "t"), 6 * L + L);  // one more link latency for the forward
  const auto stopped = events(log, "agent_stopped");
  ASSERT_EQ(stopped.size(), 2u);
  EXPECT_EQ(str(stopped[0], "reason"), "merged into heir");
  EXPECT_EQ(u64(stopped[0], "heir"), raw(heir));
  EXPECT_EQ(str(stopped[1], "reason"), "pruned");
  const auto dead = events(log, "dead_letter");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(str(dead[0], "reason"), "agent stopped");
  EXPECT_EQ(s.forwarded, 1u);
  EXPECT_EQ(s.stopped, 2u);
  EXPECT_FALSE(rt.alive(merged));
  EXPECT_TRUE(rt.alive(heir));
}

// Regression: a reply to a stopped agent was forwarded to its heir, which matched it by
// correlation id (per requester, so equal by chance) against its own unanswered request.
TEST_F(SimRuntime, RepliesAreNotForwardedToAnHeir) {
  const agent_id sink = spawn(script([](context&) {}, [](envelope&, context&) {}));
  const agent_id echoer = spawn(echo(0));
  const agent_id heir = spawn(script([sink](context& ctx) {
    ctx.request(sink, msg::ping{1}, 5 * msec);  // its correlation id is 1
  }));
  spawn(script([echoer, heir](context& ctx) {
    ctx.request(echoer, msg::ping{42}, 5 * msec);  // correlation id 1 as well
    ctx.stop(ctx.self(), {.heir = heir, .reason = "merged"});
  }));
  const auto s = run();
  const auto got = events(log, "got");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(u64(got[0], "agent"), raw(heir));
  EXPECT_EQ(got[0].at("msg").at("type"), "timeout");  // not the echoer's pong
  const auto dead = events(log, "dead_letter");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(str(dead[0], "kind"), "reply");
  EXPECT_EQ(str(dead[0], "reason"), "agent stopped");
  EXPECT_EQ(s.forwarded, 0u);
}

TEST_F(SimRuntime, TimersFireInOrderAndCancelledOnesDoNot) {
  spawn(script([](context& ctx) {
    ctx.schedule(300, msg::ping{3});
    const auto cancelled = ctx.schedule(200, msg::ping{2});
    ctx.schedule(0, msg::ping{0});  // same instant, still after on_start
    ctx.schedule(5 * msec, msg::ping{5});
    ctx.cancel(cancelled);
  }));
  const auto s = run();
  std::vector<std::pair<std::int64_t, std::int64_t>> got;
  for (const auto& e : events(log, "got")) {
    EXPECT_EQ(str(e, "kind"), "timer");
    got.emplace_back(e.at("t").as_int64(), e.at("msg").at("value").as_int64());
  }
  using P = std::pair<std::int64_t, std::int64_t>;
  EXPECT_EQ(got, (std::vector<P>{{0, 0}, {300, 3}, {5000, 5}}));
  EXPECT_EQ(s.delivered, 3u);
}

TEST_F(SimRuntime, SpawnFromAHandlerGivesTheParentTheChildsIdAndTag) {
  const agent_id parent = spawn(script([](context& ctx) {
    ctx.spawn(script([](context& c) { c.log_event("child_started"); }),
              {.name = "kid", .kind = "specialist", .tag = 7, .reason = "pattern seen 12 times"});
  }));
  run();
  const auto spawned = events(log, "agent_spawned");
  ASSERT_EQ(spawned.size(), 2u);
  EXPECT_EQ(u64(spawned[1], "parent"), raw(parent));
  EXPECT_EQ(str(spawned[1], "name"), "kid");
  EXPECT_EQ(str(spawned[1], "kind"), "specialist");
  EXPECT_EQ(str(spawned[1], "reason"), "pattern seen 12 times");
  const std::uint64_t child = u64(spawned[1], "agent");
  const auto started = events(log, "child_started");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(u64(started[0], "agent"), child);
  EXPECT_EQ(u64(started[0], "t"), L);
  const auto got = events(log, "got");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].at("msg").at("type"), "spawned");
  EXPECT_EQ(got[0].at("msg").at("child"), child);
  EXPECT_EQ(got[0].at("msg").at("tag"), 7);
  EXPECT_EQ(rt.routes().lookup("kid"), agent_id{child});
}

TEST_F(SimRuntime, StoppingItselfNotifiesTheParentAndRunsOnStop) {
  spawn(script([](context& ctx) {
    ctx.spawn(script([](context& c) { c.stop(c.self(), {.reason = "done"}); }, {},
                     [](context& c) { c.log_event("child_on_stop"); }));
  }));
  const auto s = run();
  EXPECT_EQ(events(log, "child_on_stop").size(), 1u);
  std::vector<std::string> types;
  for (const auto& e : events(log, "got")) types.push_back(str(e.at("msg").as_object(), "type"));
  EXPECT_EQ(types, (std::vector<std::string>{"spawned", "stopped"}));
  EXPECT_EQ(s.stopped, 1u);
  EXPECT_EQ(s.alive, 1u);
}

struct failing final : actor {
  int handled = 0;
  void on_start(context& ctx) override { ctx.log_event("started"); }
  void handle(envelope&, context& ctx) override {
    ctx.log_event("handled", {{"count", ++handled}});
    if (handled == 2) throw std::runtime_error("boom");
  }
};

TEST_F(SimRuntime, StopPolicyStopsTheFailingAgent) {
  const agent_id f = spawn([] { return std::make_unique<failing>(); });
  for (int i = 0; i < 3; ++i) rt.post(f, msg::ping{}, i * msec);
  const auto s = run();
  const auto failed = events(log, "agent_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(str(failed[0], "error"), "boom");
  EXPECT_EQ(str(failed[0], "policy"), "stop");
  EXPECT_EQ(str(events(log, "agent_stopped").at(0), "reason"), "failed: boom");
  EXPECT_EQ(events(log, "dead_letter").size(), 1u);
  EXPECT_EQ(s.failures, 1u);
}

TEST_F(SimRuntime, RestartPolicyReplacesTheInstance) {
  const agent_id f =
      spawn([] { return std::make_unique<failing>(); }, {.on_failure = failure_policy::restart});
  for (int i = 0; i < 4; ++i) rt.post(f, msg::ping{}, i * msec);
  const auto s = run();
  // The second post fails the first instance, the fourth the second.
  EXPECT_EQ(events(log, "agent_restarted").size(), 2u);
  EXPECT_EQ(events(log, "started").size(), 3u);
  std::vector<std::int64_t> counts;
  for (const auto& e : events(log, "handled")) counts.push_back(e.at("count").as_int64());
  EXPECT_EQ(counts, (std::vector<std::int64_t>{1, 2, 1, 2}));  // fresh state after restart
  EXPECT_TRUE(rt.alive(f));
  EXPECT_EQ(s.failures, 2u);
}

TEST_F(SimRuntime, StopRunPolicyEndsTheRunWithAnError) {
  const agent_id f =
      spawn([] { return std::make_unique<failing>(); }, {.on_failure = failure_policy::stop_run});
  for (int i = 0; i < 5; ++i) rt.post(f, msg::ping{}, i * 10 * msec);
  auto r = rt.run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::run_failed);
  EXPECT_EQ(r.error().message, "agent 1 failed at t=10000us: boom");
  EXPECT_EQ(events(log, "handled").size(), 2u);  // nothing after the failing window
}

TEST_F(SimRuntime, RunUntilStopsShortAndALaterRunCarriesOn) {
  const agent_id b = spawn(script());
  for (int i = 1; i <= 4; ++i) rt.post(b, msg::ping{static_cast<std::uint64_t>(i)}, i * 10 * msec);
  auto first = run(25 * msec);
  EXPECT_EQ(first.delivered, 2u);
  EXPECT_EQ(rt.now(), 25 * msec);
  auto second = run();
  EXPECT_EQ(second.delivered, 4u);
  EXPECT_EQ(events(log, "got").size(), 4u);
}

// Regression: a self-timer inside the running window but at or past `until` ran early, so the
// log depended on where runs were split.
TEST_F(SimRuntime, TimersPastUntilWaitForTheNextRun) {
  const agent_id a = spawn(script([](context& ctx) { ctx.schedule(600, msg::ping{6}); }));
  rt.post(a, msg::ping{5}, 550);
  run(500);
  EXPECT_TRUE(events(log, "got").empty());
  run();
  std::vector<std::pair<std::int64_t, std::int64_t>> got;
  for (const auto& e : events(log, "got")) {
    got.emplace_back(e.at("t").as_int64(), e.at("msg").at("value").as_int64());
  }
  using P = std::pair<std::int64_t, std::int64_t>;
  EXPECT_EQ(got, (std::vector<P>{{550, 5}, {600, 6}}));
}

// Regression: mail more than the calendar's ring ahead, in the window that holds `until`, was
// not seen and the run ended without it.
TEST_F(SimRuntime, FarFutureMailBeforeUntilIsDelivered) {
  spawn(script([](context& ctx) {
    ctx.schedule(2 * L, msg::ping{2});
    ctx.schedule(100'000 * L + 100, msg::ping{1});
  }));
  run(100'000 * L + 500);
  EXPECT_EQ(events(log, "got").size(), 2u);
  run();
  EXPECT_EQ(events(log, "got").size(), 2u);
}

// Regression: step() did not move the clock, and input posted after stepping was stamped in the
// past.
TEST_F(SimRuntime, StepMovesTheClockForLaterInput) {
  const agent_id a = spawn(script([](context& ctx) {
    ctx.schedule(1500, msg::ping{1});
    ctx.schedule(2500, msg::ping{2});
  }));
  ASSERT_TRUE(rt.step());
  ASSERT_TRUE(rt.step());
  EXPECT_EQ(rt.now(), 1500);
  rt.post(a, msg::ping{3}, 0);
  run();
  std::vector<std::int64_t> times;
  for (const auto& e : events(log, "got")) times.push_back(e.at("t").as_int64());
  EXPECT_EQ(times, (std::vector<std::int64_t>{1500, 1500, 2500}));
}

TEST_F(SimRuntime, StepRunsOneWindowAtATime) {
  const agent_id b = spawn(script());
  rt.post(b, msg::ping{1}, 0);
  rt.post(b, msg::ping{2}, 7 * msec);
  ASSERT_TRUE(rt.step());
  EXPECT_EQ(events(log, "got").size(), 1u);
  EXPECT_FALSE(rt.step());
  EXPECT_EQ(events(log, "got").size(), 2u);
}

TEST_F(SimRuntime, NamesAreUniqueAcrossSpawns) {
  spawn(script(), {.name = "router"});
  auto again = rt.spawn(script(), {.name = "router"});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, "an agent called \"router\" exists already");
  // From a handler, the parent gets a notice without a child and the log says why.
  spawn(script([](context& ctx) { ctx.spawn(script(), {.name = "router", .tag = 3}); }));
  run();
  const auto failed = events(log, "spawn_failed");
  ASSERT_EQ(failed.size(), 1u);
  const auto got = events(log, "got");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].at("msg").at("child"), 0);
  EXPECT_EQ(got[0].at("msg").at("tag"), 3);
}

TEST_F(SimRuntime, InspectGivesLiveActorsBetweenRuns) {
  EXPECT_EQ(rt.next_agent_id(), agent_id{1});
  const agent_id a = spawn(script());
  EXPECT_EQ(rt.next_agent_id(), agent_id{2});
  const agent_id b = spawn(script([](context& ctx) { ctx.stop(ctx.self()); }));
  run();
  EXPECT_NE(dynamic_cast<testing::scripted*>(rt.inspect(a)), nullptr);
  EXPECT_EQ(rt.inspect(b), nullptr);
  EXPECT_EQ(rt.inspect(agent_id{77}), nullptr);
}

TEST_F(SimRuntime, EachAgentHasItsOwnReproducibleStream) {
  auto draw = [] { return script([](context& c) { c.log_event("draw", {{"x", c.random()()}}); }); };
  spawn(draw());
  spawn(draw());
  run();
  const auto d = events(log, "draw");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(u64(d[0], "x"), rng(1, 1)());
  EXPECT_EQ(u64(d[1], "x"), rng(1, 2)());
}

}  // namespace
}  // namespace colony::engine
