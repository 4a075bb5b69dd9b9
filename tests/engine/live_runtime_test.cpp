#include "colony/engine/live_runtime.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json/parse.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace colony::engine {
namespace {

using broker::envelope;
using broker::envelope_kind;
using broker::raw;
namespace msg = broker::msg;

// An actor made of lambdas, so each test states its agents' behaviour where it is checked.
struct scripted final : actor {
  std::function<void(context&)> start;
  std::function<void(envelope&, context&)> on_mail;
  std::function<void(context&)> stop;

  void on_start(context& ctx) override {
    if (start) start(ctx);
  }
  void handle(envelope& e, context& ctx) override {
    if (on_mail) on_mail(e, ctx);
  }
  void on_stop(context& ctx) override {
    if (stop) stop(ctx);
  }
};

actor_factory agent(std::function<void(envelope&, context&)> on_mail,
                    std::function<void(context&)> start = {},
                    std::function<void(context&)> stop = {}) {
  return [=] {
    auto a = std::make_unique<scripted>();
    a->on_mail = on_mail;
    a->start = start;
    a->stop = stop;
    return a;
  };
}

// What handlers saw, written from whichever thread runs them.
template <class T>
struct journal {
  std::mutex m;
  std::vector<T> items;
  void add(T v) {
    std::lock_guard lock(m);
    items.push_back(std::move(v));
  }
  std::vector<T> all() {
    std::lock_guard lock(m);
    return items;
  }
};

spawn_options subscribed(std::vector<std::string> topics) {
  spawn_options o;
  o.topics = std::move(topics);
  return o;
}

spawn_options in_groups(std::vector<std::string> groups) {
  spawn_options o;
  o.groups = std::move(groups);
  return o;
}

spawn_options named(std::string name) {
  spawn_options o;
  o.name = std::move(name);
  return o;
}

spawn_options with_policy(failure_policy p) {
  spawn_options o;
  o.on_failure = p;
  return o;
}

stop_options stopping(std::string reason, agent_id heir = broker::no_agent) {
  stop_options o;
  o.reason = std::move(reason);
  o.heir = heir;
  return o;
}

std::vector<boost::json::object> events_of(const event_log& log, std::string_view type) {
  std::vector<boost::json::object> out;
  std::istringstream in(log.contents());
  for (std::string line; std::getline(in, line);) {
    auto v = boost::json::parse(line).as_object();
    if (v.at("type").as_string() == type) out.push_back(std::move(v));
  }
  return out;
}

std::uint64_t u64(const boost::json::value& v) {
  return v.to_number<std::uint64_t>();
}

live_config instant(unsigned threads, event_log* log = nullptr) {
  live_config c;
  c.threads = threads;
  c.time_scale = 0;
  c.events = log;
  return c;
}

TEST(LiveRuntime, SendAndRequestRoundTrip) {
  for (unsigned threads : {1u, 4u}) {
    SCOPED_TRACE(threads);
    live_runtime rt(instant(threads));
    auto b = rt.spawn(agent([](envelope& e, context& ctx) {
      const auto& p = broker::get<msg::ping>(e.payload);
      if (e.kind == envelope_kind::request) {
        ctx.reply(e, msg::pong{p.value + 1});
      } else {
        ctx.send(e.from, msg::pong{p.value * 10});
      }
    }));
    ASSERT_TRUE(b);
    std::atomic<std::uint64_t> corr{0};
    journal<std::pair<envelope_kind, std::uint64_t>> got;
    auto a = rt.spawn(agent(
        [&](envelope& e, context&) {
          const auto& p = broker::get<msg::pong>(e.payload);
          if (e.kind == envelope_kind::reply) {
            EXPECT_EQ(raw(e.correlation), corr.load());
          }
          EXPECT_EQ(e.from, *b);
          got.add({e.kind, p.value});
        },
        [&](context& ctx) {
          ctx.send(*b, msg::ping{1});
          corr = raw(ctx.request(*b, msg::ping{2}, 10 * sec));
        }));
    ASSERT_TRUE(a);

    auto stats = rt.run();
    ASSERT_TRUE(stats) << stats.error().message;
    auto seen = got.all();
    std::sort(seen.begin(), seen.end());
    const std::vector<std::pair<envelope_kind, std::uint64_t>> want{{envelope_kind::plain, 10},
                                                                    {envelope_kind::reply, 3}};
    EXPECT_EQ(seen, want);
    EXPECT_NE(corr.load(), 0u);
    EXPECT_EQ(stats->sent, 4u);
    EXPECT_EQ(stats->delivered, 4u);
    EXPECT_EQ(stats->timeouts, 0u);
    EXPECT_EQ(stats->dead_letters, 0u);
    EXPECT_EQ(stats->spawned, 2u);
    EXPECT_EQ(stats->alive, 2u);
  }
}

TEST(LiveRuntime, PublishReachesSubscribersOnly) {
  for (unsigned threads : {1u, 4u}) {
    SCOPED_TRACE(threads);
    live_runtime rt(instant(threads));
    std::atomic<int> hits[4] = {0, 0, 0, 0};
    auto counter = [&](int i) {
      return agent([&hits, i](envelope& e, context&) {
        EXPECT_TRUE(std::holds_alternative<msg::token>(e.payload));
        ++hits[i];
      });
    };
    ASSERT_TRUE(rt.spawn(counter(0), subscribed({"news"})));
    ASSERT_TRUE(rt.spawn(counter(1), subscribed({"news", "weather"})));
    ASSERT_TRUE(rt.spawn(counter(2), subscribed({"weather"})));
    ASSERT_TRUE(rt.spawn(agent([&hits](envelope&, context&) { ++hits[3]; },
                               [](context& ctx) {
                                 ctx.publish(broker::topic("news"), msg::token{7, 0, 0});
                               }),
                         subscribed({"news"})));

    auto stats = rt.run();
    ASSERT_TRUE(stats);
    EXPECT_EQ(hits[0], 1);
    EXPECT_EQ(hits[1], 1);
    EXPECT_EQ(hits[2], 0);
    EXPECT_EQ(hits[3], 1);  // the publisher is a subscriber too
    EXPECT_EQ(stats->sent, 3u);
    EXPECT_EQ(stats->delivered, 3u);
  }
}

TEST(LiveRuntime, SubscriptionTakesEffectAtOnce) {
  live_runtime rt(instant(4));
  std::atomic<int> heard{0};
  auto publisher = rt.spawn(
      agent([](envelope&, context& ctx) { ctx.publish(broker::topic("late"), msg::ping{1}); }));
  ASSERT_TRUE(publisher);
  ASSERT_TRUE(rt.spawn(agent(
      [&](envelope& e, context&) {
        if (std::holds_alternative<msg::ping>(e.payload)) ++heard;
      },
      [&](context& ctx) {
        ctx.subscribe("late");
        ctx.send(*publisher, msg::pong{});
      })));
  ASSERT_TRUE(rt.run());
  EXPECT_EQ(heard, 1);
}

TEST(LiveRuntime, BroadcastSkipsTheSender) {
  for (unsigned threads : {1u, 4u}) {
    SCOPED_TRACE(threads);
    live_runtime rt(instant(threads));
    std::atomic<int> hits[5] = {0, 0, 0, 0, 0};
    auto member = [&](int i, bool sender) {
      return agent([&hits, i](envelope&, context&) { ++hits[i]; },
                   [sender](context& ctx) {
                     if (sender) ctx.broadcast(broker::group("harbor"), msg::ping{3});
                   });
    };
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(rt.spawn(member(i, false), in_groups({"harbor"})));
    ASSERT_TRUE(rt.spawn(member(3, false), in_groups({"dock"})));
    ASSERT_TRUE(rt.spawn(member(4, true), in_groups({"harbor"})));

    auto stats = rt.run();
    ASSERT_TRUE(stats);
    EXPECT_EQ(hits[0], 1);
    EXPECT_EQ(hits[1], 1);
    EXPECT_EQ(hits[2], 1);
    EXPECT_EQ(hits[3], 0);
    EXPECT_EQ(hits[4], 0);
    EXPECT_EQ(stats->sent, 3u);
  }
}

// With time_scale 0 a deadline passes once nothing else can happen; the requester then pokes
// the silent peer, whose reply comes too late.
TEST(LiveRuntime, RequestTimesOutOnceAndLateReplyIsDeadLetter) {
  for (unsigned threads : {1u, 4u}) {
    SCOPED_TRACE(threads);
    event_log log;
    live_runtime rt(instant(threads, &log));
    auto held = std::make_shared<envelope>();
    auto b = rt.spawn(agent([held](envelope& e, context& ctx) {
      if (e.kind == envelope_kind::request) {
        *held = e;  // keep it, answer later
      } else {
        ctx.reply(*held, msg::pong{1});
      }
    }));
    ASSERT_TRUE(b);
    std::atomic<int> timeouts{0}, pongs{0};
    std::atomic<std::uint64_t> corr{0};
    auto a = rt.spawn(agent(
        [&](envelope& e, context& ctx) {
          if (auto* t = broker::get_if<msg::timeout>(&e.payload)) {
            EXPECT_EQ(e.kind, envelope_kind::timeout);
            EXPECT_EQ(raw(t->request), corr.load());
            EXPECT_EQ(t->peer, *b);
            ++timeouts;
            ctx.send(*b, msg::ping{0});
          } else {
            ++pongs;
          }
        },
        [&](context& ctx) { corr = raw(ctx.request(*b, msg::ping{9}, 50 * msec)); }));
    ASSERT_TRUE(a);

    auto stats = rt.run();
    ASSERT_TRUE(stats);
    EXPECT_EQ(timeouts, 1);
    EXPECT_EQ(pongs, 0);
    EXPECT_EQ(stats->timeouts, 1u);
    EXPECT_EQ(stats->dead_letters, 1u);
    auto dead = events_of(log, "dead_letter");
    ASSERT_EQ(dead.size(), 1u);
    EXPECT_EQ(dead[0].at("reason").as_string(), "late reply");
    EXPECT_EQ(dead[0].at("kind").as_string(), "reply");
    EXPECT_EQ(u64(dead[0].at("agent")), raw(*a));
    EXPECT_EQ(u64(dead[0].at("from")), raw(*b));
  }
}

// The same on the wall clock: the deadline is a steady_timer that beats a delayed reply.
TEST(LiveRuntime, RequestTimesOutOnTheWallClock) {
  event_log log;
  live_config c;
  c.threads = 2;
  c.time_scale = 1.0;
  c.events = &log;
  live_runtime rt(c);
  auto held = std::make_shared<envelope>();
  auto replier = rt.spawn(agent([held](envelope& e, context& ctx) {
    if (e.kind == envelope_kind::request) {
      *held = e;
      ctx.schedule(30 * msec, msg::ping{});
    } else {
      ctx.reply(*held, msg::pong{2});  // from its timer, long after the deadline
    }
  }));
  ASSERT_TRUE(replier);
  std::atomic<int> timeouts{0}, pongs{0};
  ASSERT_TRUE(rt.spawn(agent(
      [&](envelope& e, context&) {
        if (std::holds_alternative<msg::timeout>(e.payload)) {
          ++timeouts;
        } else {
          ++pongs;
        }
      },
      [&](context& ctx) { ctx.request(*replier, msg::ping{1}, 1 * msec); })));

  auto stats = rt.run();
  ASSERT_TRUE(stats);
  EXPECT_EQ(timeouts, 1);
  EXPECT_EQ(pongs, 0);
  EXPECT_EQ(stats->timeouts, 1u);
  EXPECT_EQ(stats->dead_letters, 1u);
  auto dead = events_of(log, "dead_letter");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].at("reason").as_string(), "late reply");
  EXPECT_GE(stats->end_time, 30 * msec);
}

TEST(LiveRuntime, MailToUnknownAgentIsDeadLetter) {
  event_log log;
  live_runtime rt(instant(2, &log));
  ASSERT_TRUE(rt.spawn(agent({}, [](context& ctx) { ctx.send(agent_id{12345}, msg::pong{}); })));
  rt.post(agent_id{999}, msg::ping{4});
  rt.post(broker::no_agent, msg::ping{5});

  auto stats = rt.run();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->dead_letters, 3u);
  EXPECT_EQ(stats->delivered, 0u);
  auto dead = events_of(log, "dead_letter");
  ASSERT_EQ(dead.size(), 3u);
  std::vector<std::uint64_t> to;
  for (const auto& d : dead) {
    EXPECT_EQ(d.at("reason").as_string(), "unknown agent");
    EXPECT_EQ(d.at("kind").as_string(), "plain");
    EXPECT_EQ(u64(d.at("agent")), u64(d.at("to")));
    to.push_back(u64(d.at("to")));
    if (u64(d.at("to")) == 999) {
      EXPECT_EQ(d.at("message").as_string(), "ping");
      EXPECT_EQ(u64(d.at("from")), 0u);
    }
  }
  std::sort(to.begin(), to.end());
  EXPECT_EQ(to, (std::vector<std::uint64_t>{0, 999, 12345}));
  EXPECT_EQ(stats->events, log.lines());
}

TEST(LiveRuntime, DeadLettersArePublishedToTheDeadLetterTopic) {
  event_log log;
  live_runtime rt(instant(2, &log));
  journal<msg::dead_letter> notices;
  ASSERT_TRUE(rt.spawn(
      agent([&](envelope& e, context&) { notices.add(broker::get<msg::dead_letter>(e.payload)); }),
      subscribed({std::string(broker::dead_letter_topic)})));
  rt.post(agent_id{999}, msg::ping{4});
  auto stats = rt.run();
  ASSERT_TRUE(stats);
  const auto got = notices.all();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].to, agent_id{999});
  EXPECT_EQ(got[0].message_type, "ping");
  EXPECT_EQ(got[0].reason, "unknown agent");
  EXPECT_EQ(stats->dead_letters, 1u);
}

TEST(LiveRuntime, StoppedAgentForwardsToItsHeir) {
  for (unsigned threads : {1u, 4u}) {
    SCOPED_TRACE(threads);
    event_log log;
    live_runtime rt(instant(threads, &log));
    journal<std::pair<std::uint64_t, int>> got;
    auto heir = rt.spawn(agent([&](envelope& e, context&) {
      got.add({broker::get<msg::ping>(e.payload).value, e.forwards});
    }));
    ASSERT_TRUE(heir);
    auto merged =
        rt.spawn(agent({}, [&](context& ctx) { ctx.stop(ctx.self(), stopping("merged", *heir)); }),
                 named("old"));
    ASSERT_TRUE(merged);
    auto gone = rt.spawn(agent({}, [](context& ctx) { ctx.stop(ctx.self()); }));
    ASSERT_TRUE(gone);
    rt.post(*merged, msg::ping{5});
    rt.post(*gone, msg::ping{6});

    auto stats = rt.run();
    ASSERT_TRUE(stats);
    EXPECT_EQ(got.all(), (std::vector<std::pair<std::uint64_t, int>>{{5, 1}}));
    EXPECT_EQ(stats->forwarded, 1u);
    EXPECT_EQ(stats->dead_letters, 1u);
    EXPECT_EQ(stats->stopped, 2u);
    EXPECT_EQ(stats->alive, 1u);
    auto stops = events_of(log, "agent_stopped");
    ASSERT_EQ(stops.size(), 2u);
    for (const auto& s : stops) {
      if (u64(s.at("agent")) == raw(*merged)) {
        EXPECT_EQ(s.at("reason").as_string(), "merged");
        EXPECT_EQ(s.at("name").as_string(), "old");
        EXPECT_EQ(u64(s.at("heir")), raw(*heir));
      } else {
        EXPECT_EQ(s.at("reason").as_string(), "stopped itself");
        EXPECT_FALSE(s.contains("heir"));
      }
    }
    auto dead = events_of(log, "dead_letter");
    ASSERT_EQ(dead.size(), 1u);
    EXPECT_EQ(dead[0].at("reason").as_string(), "agent stopped");
  }
}

TEST(LiveRuntime, SpawnFromHandlerYieldsSpawnedWithTag) {
  for (unsigned threads : {1u, 4u}) {
    SCOPED_TRACE(threads);
    event_log log;
    live_runtime rt(instant(threads, &log));
    std::atomic<int> child_starts{0};
    journal<msg::spawned> notices;
    std::atomic<std::uint64_t> looked_up{0};
    auto child = agent({}, [&](context&) { ++child_starts; });
    auto parent = rt.spawn(agent(
        [&](envelope& e, context& ctx) {
          auto& n = broker::get<msg::spawned>(e.payload);
          notices.add(n);
          if (auto id = ctx.lookup("kid")) looked_up = raw(*id);
        },
        [&](context& ctx) {
          spawn_options o = named("kid");
          o.kind = "specialist";
          o.tag = 42;
          o.reason = "load";
          ctx.spawn(child, o);
          o.tag = 43;
          ctx.spawn(child, o);  // the name is taken: fails, no notice
        }));
    ASSERT_TRUE(parent);

    auto stats = rt.run();
    ASSERT_TRUE(stats);
    auto got = notices.all();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].tag, 42u);
    EXPECT_EQ(got[0].name, "kid");
    EXPECT_EQ(raw(got[0].child), 2u);
    EXPECT_EQ(looked_up.load(), 2u);
    EXPECT_EQ(child_starts, 1);
    EXPECT_EQ(stats->spawned, 2u);
    auto spawned = events_of(log, "agent_spawned");
    ASSERT_EQ(spawned.size(), 2u);
    EXPECT_EQ(u64(spawned[1].at("agent")), 2u);
    EXPECT_EQ(u64(spawned[1].at("parent")), raw(*parent));
    EXPECT_EQ(spawned[1].at("kind").as_string(), "specialist");
    EXPECT_EQ(spawned[1].at("reason").as_string(), "load");
    auto failed = events_of(log, "spawn_failed");
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(u64(failed[0].at("agent")), raw(*parent));

    auto again = rt.spawn(child, named("kid"));
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, errc::invalid_argument);
  }
}

TEST(LiveRuntime, StopByAnotherAgentNotifiesTheParent) {
  live_runtime rt(instant(4));
  journal<msg::stopped> stops;
  std::atomic<int> child_stops{0};
  ASSERT_TRUE(rt.spawn(agent(
      [&](envelope& e, context& ctx) {
        if (auto* s = broker::get_if<msg::spawned>(&e.payload)) {
          ctx.stop(s->child, stopping("not needed"));
        } else if (auto* st = broker::get_if<msg::stopped>(&e.payload)) {
          stops.add(*st);
        }
      },
      [&](context& ctx) { ctx.spawn(agent({}, {}, [&](context&) { ++child_stops; })); })));
  auto stats = rt.run();
  ASSERT_TRUE(stats);
  auto got = stops.all();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(raw(got[0].who), 2u);
  EXPECT_EQ(got[0].reason, "not needed");
  EXPECT_EQ(child_stops, 1);
  EXPECT_EQ(stats->stopped, 1u);
  EXPECT_EQ(stats->alive, 1u);
}

TEST(LiveRuntime, TimersFireAndCancelWorks) {
  for (double scale : {0.0, 1.0}) {
    SCOPED_TRACE(scale);
    live_config c;
    c.threads = 2;
    c.time_scale = scale;
    live_runtime rt(c);
    journal<std::uint64_t> fired;
    ASSERT_TRUE(rt.spawn(agent(
        [&](envelope& e, context&) {
          EXPECT_EQ(e.kind, envelope_kind::timer);
          fired.add(broker::get<msg::ping>(e.payload).value);
        },
        [](context& ctx) {
          ctx.schedule(2 * msec, msg::ping{1});
          const timer_id dropped = ctx.schedule(2 * msec, msg::ping{2});
          ctx.schedule(0, msg::ping{3});
          ctx.cancel(dropped);
          ctx.cancel(dropped);  // twice is a no-op
        })));
    // A stopped agent's timers deliver nothing, not even dead letters.
    ASSERT_TRUE(rt.spawn(agent([&](envelope&, context&) { fired.add(99); },
                               [](context& ctx) {
                                 ctx.schedule(1 * msec, msg::ping{99});
                                 ctx.stop(ctx.self());
                               })));

    auto stats = rt.run();
    ASSERT_TRUE(stats);
    auto got = fired.all();
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::uint64_t>{1, 3}));
    EXPECT_EQ(stats->delivered, 2u);
    EXPECT_EQ(stats->dead_letters, 0u);
    EXPECT_EQ(stats->sent, 0u);
  }
}

TEST(LiveRuntime, FailurePolicyStopStopsTheAgent) {
  event_log log;
  live_runtime rt(instant(2, &log));
  auto a = rt.spawn(agent([](envelope&, context&) { throw std::runtime_error("boom"); }));
  ASSERT_TRUE(a);
  rt.post(*a, msg::ping{1});
  rt.post(*a, msg::ping{2});

  auto stats = rt.run();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->failures, 1u);
  EXPECT_EQ(stats->stopped, 1u);
  EXPECT_EQ(stats->alive, 0u);
  EXPECT_EQ(stats->dead_letters, 1u);
  auto failed = events_of(log, "agent_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].at("error").as_string(), "boom");
  EXPECT_EQ(failed[0].at("policy").as_string(), "stop");
  auto stopped = events_of(log, "agent_stopped");
  ASSERT_EQ(stopped.size(), 1u);
  EXPECT_EQ(stopped[0].at("reason").as_string(), "failed: boom");
}

TEST(LiveRuntime, FailurePolicyRestartMakesAFreshInstance) {
  event_log log;
  live_runtime rt(instant(4, &log));
  std::atomic<int> starts{0}, handled{0};
  auto make = [&]() -> std::unique_ptr<actor> {
    const int instance = ++starts;  // counted at construction: one per on_start here
    auto a = std::make_unique<scripted>();
    a->on_mail = [&, instance](envelope&, context&) {
      if (instance == 1) throw std::runtime_error("first instance breaks");
      ++handled;
    };
    return a;
  };
  auto a = rt.spawn(make, with_policy(failure_policy::restart));
  ASSERT_TRUE(a);
  rt.post(*a, msg::ping{1});
  rt.post(*a, msg::ping{2});

  auto stats = rt.run();
  ASSERT_TRUE(stats);
  EXPECT_EQ(starts, 2);
  EXPECT_EQ(handled, 1);
  EXPECT_EQ(stats->failures, 1u);
  EXPECT_EQ(stats->stopped, 0u);
  EXPECT_EQ(stats->alive, 1u);
  EXPECT_EQ(events_of(log, "agent_restarted").size(), 1u);
  auto failed = events_of(log, "agent_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].at("policy").as_string(), "restart");
}

TEST(LiveRuntime, FailurePolicyStopRunEndsTheRun) {
  live_runtime rt(instant(4));
  // Endless chatter that only the failure can end.
  auto echo = rt.spawn(agent([](envelope& e, context& ctx) { ctx.send(e.from, msg::ping{}); }));
  ASSERT_TRUE(echo);
  auto a = rt.spawn(agent(
                        [](envelope&, context& ctx) {
                          if (ctx.random().below(100) == 0) throw std::logic_error("bad luck");
                          ctx.send(agent_id{1}, msg::ping{});
                        },
                        [](context& ctx) { ctx.send(agent_id{1}, msg::ping{}); }),
                    with_policy(failure_policy::stop_run));
  ASSERT_TRUE(a);

  auto run = rt.run();
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().code, errc::run_failed);
  EXPECT_NE(run.error().message.find("agent 2 failed"), std::string::npos) << run.error().message;
  EXPECT_NE(run.error().message.find("bad luck"), std::string::npos);
  EXPECT_EQ(rt.stats().failures, 1u);
}

// A ring of agents passing tokens: the run ends by itself, with exact totals.
TEST(LiveRuntime, QuiescentRunHasExactCounters) {
  for (unsigned threads : {1u, 4u}) {
    SCOPED_TRACE(threads);
    event_log log;
    live_runtime rt(instant(threads, &log));
    constexpr std::uint64_t agents = 8, tokens = 4, hops = 500;
    std::atomic<std::uint64_t> arrivals{0};
    for (std::uint64_t i = 1; i <= agents; ++i) {
      auto id = rt.spawn(agent([&arrivals, i](envelope& e, context& ctx) {
        ++arrivals;
        auto t = broker::get<msg::token>(e.payload);
        if (t.hops_left == 0) return;
        --t.hops_left;
        ctx.send(agent_id{i % agents + 1}, t);
      }));
      ASSERT_TRUE(id);
      EXPECT_EQ(raw(*id), i);
    }
    for (std::uint64_t k = 0; k < tokens; ++k) rt.post(agent_id{k + 1}, msg::token{k, hops, k});

    auto stats = rt.run();
    ASSERT_TRUE(stats) << stats.error().message;
    EXPECT_EQ(arrivals.load(), tokens * (hops + 1));
    EXPECT_EQ(stats->delivered, tokens * (hops + 1));
    EXPECT_EQ(stats->sent, tokens * hops);
    EXPECT_EQ(stats->spawned, agents);
    EXPECT_EQ(stats->alive, agents);
    EXPECT_EQ(stats->dead_letters, 0u);
    EXPECT_EQ(stats->events, agents);  // one agent_spawned each
    EXPECT_EQ(log.lines(), agents);
    // A second run with nothing to do returns at once.
    auto idle = rt.run();
    ASSERT_TRUE(idle);
    EXPECT_EQ(idle->delivered, stats->delivered);
  }
}

// Ids stay dense past the first chunk of the agent table, and mail crosses the boundary.
TEST(LiveRuntime, IdsStayDenseAcrossTableChunks) {
  live_runtime rt(instant(4));
  constexpr std::uint64_t agents = 5000;
  std::atomic<std::uint64_t> last{0};
  for (std::uint64_t i = 1; i <= agents; ++i) {
    auto id = rt.spawn(agent([&last, i](envelope& e, context& ctx) {
      last = i;
      if (i < agents) ctx.send(agent_id{i + 1}, e.payload);
    }));
    ASSERT_TRUE(id);
    ASSERT_EQ(raw(*id), i);
  }
  rt.post(agent_id{1}, msg::token{});
  auto stats = rt.run();
  ASSERT_TRUE(stats);
  EXPECT_EQ(last.load(), agents);
  EXPECT_EQ(stats->delivered, agents);
  EXPECT_EQ(stats->alive, agents);
}

TEST(LiveRuntime, RunStopsAtUntilAndResumes) {
  live_config c;
  c.threads = 2;
  c.time_scale = 1.0;
  live_runtime rt(c);
  std::atomic<int> ticks{0};
  ASSERT_TRUE(rt.spawn(agent(
      [&](envelope&, context& ctx) {
        ++ticks;
        ctx.schedule(1 * msec, msg::ping{});
      },
      [](context& ctx) { ctx.schedule(1 * msec, msg::ping{}); })));

  auto first = rt.run(10 * msec);
  ASSERT_TRUE(first);
  EXPECT_GE(first->end_time, 10 * msec);
  const int after_first = ticks;
  EXPECT_GT(after_first, 0);
  auto second = rt.run(rt.now() + 5 * msec);
  ASSERT_TRUE(second);
  EXPECT_GT(ticks.load(), after_first);
}

TEST(LiveRuntime, LogEventWritesTimeTypeAgentThenFields) {
  event_log log;
  live_runtime rt(instant(1, &log));
  ASSERT_TRUE(rt.spawn(agent({}, [](context& ctx) {
    ctx.log_event("note", {{"x", 1}, {"why", "test"}});
  })));
  auto stats = rt.run();
  ASSERT_TRUE(stats);
  auto notes = events_of(log, "note");
  ASSERT_EQ(notes.size(), 1u);
  const std::string& all = log.contents();
  const auto at = all.find("\"type\":\"note\"");
  ASSERT_NE(at, std::string::npos);
  const auto line_start = all.rfind('\n', at) == std::string::npos ? 0 : all.rfind('\n', at) + 1;
  const std::string line = all.substr(line_start, all.find('\n', at) - line_start);
  EXPECT_EQ(line.rfind("{\"t\":", 0), 0u) << line;
  EXPECT_NE(line.find("\"type\":\"note\",\"agent\":1,\"x\":1,\"why\":\"test\"}"), std::string::npos)
      << line;
  EXPECT_EQ(stats->events, 2u);
}

}  // namespace
}  // namespace colony::engine
