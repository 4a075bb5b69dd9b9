#include "colony/engine/live_runtime.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <exception>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "colony/base/log.hpp"
#include "colony/broker/registry.hpp"
#include "dead_letters.hpp"

namespace colony::engine {
namespace {

using broker::envelope;
using broker::envelope_kind;
using broker::raw;
using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;
using timer_ptr = std::shared_ptr<boost::asio::steady_timer>;

enum class slot_state : std::uint8_t { starting, alive, stopped };

constexpr int max_forwards = 16;

// The agent table: 2^12 chunks of 2^12 slots (16M agents). Chunks never move, so a slot found
// once stays valid, and finding one takes two atomic loads and no lock.
constexpr std::uint64_t chunk_bits = 12;
constexpr std::uint64_t chunk_size = std::uint64_t{1} << chunk_bits;
constexpr std::uint64_t max_chunks = std::uint64_t{1} << 12;
constexpr std::uint64_t max_agents = chunk_size * max_chunks;

// Longest wall wait a timer is given; beyond it a delay means "not in this experiment".
constexpr double max_wall_ns = 1e17;

struct pending_request {
  agent_id peer;
  broker::conversation_id conversation;
  timer_ptr deadline;  // null at time_scale 0: the deadline then waits for quiescence
};

struct slot {
  // Written before `ready` is set, then never again: readable from any thread.
  agent_id id{};
  std::optional<strand_type> strand;
  agent_id parent{};
  std::string name;
  failure_policy policy = failure_policy::stop;
  bool notify_parent = false;
  std::uint64_t tag = 0;
  std::atomic<bool> ready{false};

  // Touched only on the strand.
  std::unique_ptr<actor> behaviour;
  actor_factory factory;
  rng random;
  std::uint64_t next_seq = 0;
  slot_state state = slot_state::starting;
  agent_id heir{};
  std::unordered_map<std::uint64_t, pending_request> pending;  // by correlation id
  std::unordered_map<std::uint64_t, timer_ptr> timers;         // by timer id; null at scale 0
};

struct chunk {
  std::array<slot, chunk_size> slots;
};

void count(std::atomic<std::uint64_t>& c) noexcept {
  c.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

struct live_runtime::impl {
  class agent_context;

  struct counters {
    std::atomic<std::uint64_t> delivered{0};
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> dead_letters{0};
    std::atomic<std::uint64_t> forwarded{0};
    std::atomic<std::uint64_t> timeouts{0};
    std::atomic<std::uint64_t> spawned{0};
    std::atomic<std::uint64_t> stopped{0};
    std::atomic<std::uint64_t> failures{0};
    std::atomic<std::uint64_t> events{0};
  };

  explicit impl(live_config c)
      : config(c), io(static_cast<int>(std::max(1u, c.threads))), until_timer(io) {}
  ~impl();

  sim_time now() const noexcept {
    const double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    return static_cast<sim_time>(config.time_scale > 0 ? us / config.time_scale : us);
  }

  // The wall time a simulated span takes.
  std::chrono::nanoseconds wall(sim_time span) const noexcept {
    if (span <= 0) return std::chrono::nanoseconds{0};
    const double scale = config.time_scale > 0 ? config.time_scale : 1.0;
    const double ns = std::min(static_cast<double>(span) * scale * 1000.0, max_wall_ns);
    return std::chrono::nanoseconds{static_cast<std::int64_t>(ns)};
  }

  bool immediate() const noexcept { return !(config.time_scale > 0); }

  slot* find(agent_id id) const noexcept {
    const std::uint64_t n = raw(id);
    if (n == 0 || n >= max_agents) return nullptr;
    chunk* c = chunks[n >> chunk_bits].load(std::memory_order_acquire);
    if (c == nullptr) return nullptr;
    slot& s = c->slots[n & (chunk_size - 1)];
    return s.ready.load(std::memory_order_acquire) ? &s : nullptr;
  }

  slot& slot_for(std::uint64_t n) {
    auto& entry = chunks[n >> chunk_bits];
    chunk* c = entry.load(std::memory_order_acquire);
    if (c == nullptr) {
      std::lock_guard lock(chunks_mutex);
      c = entry.load(std::memory_order_relaxed);
      if (c == nullptr) {
        c = new chunk;
        entry.store(c, std::memory_order_release);
      }
    }
    return c->slots[n & (chunk_size - 1)];
  }

  // Every queued delivery, armed timer and waiting deadline holds one unit; the run ends when
  // the last unit is released and no deadline waits for quiescence.
  void work_begins(std::int64_t n = 1) noexcept {
    outstanding.fetch_add(n, std::memory_order_relaxed);
  }
  void work_ends() {
    if (outstanding.fetch_sub(1, std::memory_order_acq_rel) == 1) on_idle();
  }

  void on_idle() {
    if (!wake_deadlines()) io.stop();
  }

  // At time_scale 0 a request's deadline cannot be a timer (it would beat every reply), so it
  // passes when nothing else is left to happen: then no reply can come any more.
  bool wake_deadlines() {
    std::vector<std::pair<slot*, std::uint64_t>> due;
    {
      std::lock_guard lock(deadlines_mutex);
      due.swap(quiescence_deadlines);
    }
    if (due.empty()) return false;
    work_begins(static_cast<std::int64_t>(due.size()));
    for (auto [s, corr] : due) {
      boost::asio::post(*s->strand, [this, s, corr] {
        deadline_passed(*s, corr);
        work_ends();
      });
    }
    return true;
  }

  // Runs `job` on `ex` after the simulated `delay`.
  template <class Executor, class Job>
  void after(const Executor& ex, sim_time delay, Job&& job) {
    if (delay <= 0 || immediate()) {
      boost::asio::post(ex, std::forward<Job>(job));
      return;
    }
    auto t = std::make_shared<boost::asio::steady_timer>(ex, wall(delay));
    t->async_wait(
        [t, job = std::forward<Job>(job)](const boost::system::error_code&) mutable { job(); });
  }

  // Sends `e` to its receiver's strand; mail for an id with no agent goes through the plain
  // executor, only to become a dead letter there.
  void deliver_later(envelope&& e, sim_time delay) {
    slot* target = find(e.to);
    work_begins();
    auto job = [this, target, e = std::move(e)]() mutable {
      receive(target, e);
      work_ends();
    };
    if (target != nullptr) {
      after(*target->strand, delay, std::move(job));
    } else {
      after(io.get_executor(), delay, std::move(job));
    }
  }

  void receive(slot* s, envelope& e);
  void run_handler(slot& s, agent_context& ctx, envelope& e);
  void settle(slot& s, agent_context& ctx);
  void start_agent(slot& s);
  void stop_agent(slot& s, std::string reason, agent_id heir, boost::json::object details);
  void handle_failure(slot& s, agent_context& ctx, const std::string& what);
  void deadline_passed(slot& s, std::uint64_t corr);
  void await_reply(slot& s, correlation_id corr, agent_id peer, broker::conversation_id conv,
                   sim_time timeout);
  timer_id arm_timer(slot& s, envelope&& e, sim_time delay);

  void dead_letter(const envelope& e, std::string_view reason) {
    count(totals.dead_letters);
    write_event(e.to, "dead_letter", detail::dead_letter_fields(e, reason));
    const auto notice = detail::dead_letter_notice(e, reason);
    if (!notice) return;
    for (agent_id sub : subscribers(broker::topic(broker::dead_letter_topic))) {
      envelope n;
      n.to = sub;
      n.send_time = now();
      n.deliver_time = n.send_time;
      n.payload = *notice;
      count(totals.sent);
      deliver_later(std::move(n), 0);
    }
  }

  result<agent_id> spawn_agent(actor_factory make, spawn_options& o, agent_id parent);

  void fail_run(std::string why) {
    {
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = error{errc::run_failed, std::move(why)};
    }
    io.stop();
  }

  std::vector<agent_id> subscribers(topic_id t) const {
    std::shared_lock lock(routes_mutex);
    auto s = routes.subscribers(t);
    return {s.begin(), s.end()};
  }
  std::vector<agent_id> members(group_id g) const {
    std::shared_lock lock(routes_mutex);
    auto s = routes.members(g);
    return {s.begin(), s.end()};
  }

  void write_event(agent_id agent, std::string_view type, boost::json::object fields) {
    const std::string line = event_log::format(now(), type, raw(agent), std::move(fields));
    count(totals.events);
    if (config.events == nullptr) return;
    std::lock_guard lock(events_mutex);
    config.events->write(line);
    config.events->maybe_flush();
  }

  void run_io() {
    try {
      io.run();
    } catch (const std::exception& e) {
      colony::log::get("engine").error("live runtime: io thread failed: {}", e.what());
      fail_run(std::string("internal error: ") + e.what());
    } catch (...) {
      colony::log::get("engine").error("live runtime: io thread failed: unknown exception");
      fail_run("internal error: unknown exception");
    }
  }

  live_config config;
  const std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  // Declared before everything holding strands or timers, so it is destroyed after them.
  boost::asio::io_context io;
  boost::asio::steady_timer until_timer;
  std::uint64_t run_generation = 0;

  std::array<std::atomic<chunk*>, max_chunks> chunks{};
  std::mutex chunks_mutex;
  std::atomic<std::uint64_t> next_id{1};

  mutable std::shared_mutex routes_mutex;
  broker::registry routes;

  std::mutex events_mutex;
  std::mutex deadlines_mutex;
  std::vector<std::pair<slot*, std::uint64_t>> quiescence_deadlines;
  std::mutex failure_mutex;
  std::optional<error> failure;

  counters totals;
  std::atomic<std::int64_t> alive{0};
  std::atomic<std::int64_t> outstanding{0};
  std::atomic<std::uint64_t> outside_seq{0};
};

// The context handed to an agent's on_start, handle or on_stop; lives for that one call.
class live_runtime::impl::agent_context final : public context {
 public:
  agent_context(impl& rt, slot& s, const envelope* current)
      : rt_(rt), slot_(s), current_(current) {}

  std::optional<stop_options> take_stop_request() {
    auto r = std::move(stop_);
    stop_.reset();
    return r;
  }

  agent_id self() const noexcept override { return slot_.id; }
  sim_time now() const noexcept override { return rt_.now(); }
  rng& random() noexcept override { return slot_.random; }

  void send(agent_id to, message m, send_options o) override {
    count(rt_.totals.sent);
    rt_.deliver_later(make(to, envelope_kind::plain, std::move(m), o), o.delay);
  }

  void publish(topic_id t, message m, send_options o) override {
    fan_out(rt_.subscribers(t), std::move(m), o, false);
  }

  void broadcast(group_id g, message m, send_options o) override {
    fan_out(rt_.members(g), std::move(m), o, true);
  }

  correlation_id request(agent_id to, message m, sim_time timeout, send_options o) override {
    envelope e = make(to, envelope_kind::request, std::move(m), o);
    const correlation_id corr{e.seq};
    e.correlation = corr;
    // The deadline is armed first: a reply can only run on this strand, after this handler.
    rt_.await_reply(slot_, corr, to, e.conversation, timeout);
    count(rt_.totals.sent);
    rt_.deliver_later(std::move(e), o.delay);
    return corr;
  }

  void reply(const envelope& req, message m, send_options o) override {
    const bool is_request = req.kind == envelope_kind::request;
    if (!o.conversation) o.conversation = req.conversation;
    envelope e =
        make(req.from, is_request ? envelope_kind::reply : envelope_kind::plain, std::move(m), o);
    if (is_request) e.correlation = req.correlation;
    count(rt_.totals.sent);
    rt_.deliver_later(std::move(e), o.delay);
  }

  timer_id schedule(sim_time delay, message m) override {
    envelope e = make(slot_.id, envelope_kind::timer, std::move(m), {});
    e.deliver_time = e.send_time + std::max<sim_time>(delay, 0);
    return rt_.arm_timer(slot_, std::move(e), delay);
  }

  void cancel(timer_id t) override {
    auto it = slot_.timers.find(raw(t));
    if (it == slot_.timers.end()) return;
    if (it->second) it->second->cancel();
    slot_.timers.erase(it);
  }

  void spawn(actor_factory make_actor, spawn_options o) override {
    if (auto child = rt_.spawn_agent(std::move(make_actor), o, slot_.id); !child) {
      rt_.write_event(slot_.id, "spawn_failed",
                      {{"name", o.name}, {"kind", o.kind}, {"error", child.error().message}});
    }
  }

  void stop(agent_id target, stop_options o) override {
    if (target == slot_.id) {
      stop_ = std::move(o);
      return;
    }
    broker::msg::stopped notice{target, std::move(o.reason), o.heir, std::move(o.details)};
    envelope e = make(target, envelope_kind::stop, std::move(notice), {});
    count(rt_.totals.sent);
    rt_.deliver_later(std::move(e), 0);
  }

  void subscribe(std::string_view name) override {
    std::unique_lock lock(rt_.routes_mutex);
    rt_.routes.subscribe(name, slot_.id);
  }
  void unsubscribe(topic_id t) override {
    std::unique_lock lock(rt_.routes_mutex);
    rt_.routes.unsubscribe(t, slot_.id);
  }
  void join(std::string_view name) override {
    std::unique_lock lock(rt_.routes_mutex);
    rt_.routes.join(name, slot_.id);
  }
  void leave(group_id g) override {
    std::unique_lock lock(rt_.routes_mutex);
    rt_.routes.leave(g, slot_.id);
  }

  std::optional<agent_id> lookup(std::string_view name) const override {
    std::shared_lock lock(rt_.routes_mutex);
    return rt_.routes.lookup(name);
  }

  void log_event(std::string_view type, boost::json::object fields) override {
    rt_.write_event(slot_.id, type, std::move(fields));
  }

 private:
  envelope make(agent_id to, envelope_kind kind, message&& m, const send_options& o) {
    envelope e;
    e.from = slot_.id;
    e.to = to;
    e.send_time = rt_.now();
    e.deliver_time = e.send_time + std::max<sim_time>(o.delay, 0);
    e.seq = ++slot_.next_seq;
    e.conversation =
        o.conversation.value_or(current_ ? current_->conversation : broker::conversation_id{});
    e.priority = std::clamp(o.priority, broker::min_priority, broker::max_priority);
    e.kind = kind;
    e.payload = std::move(m);
    return e;
  }

  void fan_out(const std::vector<agent_id>& to, message&& m, const send_options& o,
               bool skip_self) {
    if (to.empty()) return;
    const envelope proto = make(broker::no_agent, envelope_kind::plain, std::move(m), o);
    for (agent_id target : to) {
      if (skip_self && target == slot_.id) continue;
      envelope e = proto;
      e.to = target;
      count(rt_.totals.sent);
      rt_.deliver_later(std::move(e), o.delay);
    }
  }

  impl& rt_;
  slot& slot_;
  const envelope* current_;
  std::optional<stop_options> stop_;
};

live_runtime::impl::~impl() {
  io.stop();
  // Actors, strands and timers go while the io_context they belong to still exists.
  for (auto& entry : chunks) delete entry.load(std::memory_order_acquire);
}

void live_runtime::impl::receive(slot* s, envelope& e) {
  if (s == nullptr) {
    dead_letter(e, "unknown agent");
    return;
  }
  // Mail can reach a fresh agent's strand before its start job (an id learnt through a topic,
  // say): it starts first either way.
  if (s->state == slot_state::starting) start_agent(*s);
  if (s->state == slot_state::stopped) {
    // A stopped agent's own timers and deadlines vanish with it; mail goes to its heir if any.
    if (e.kind == envelope_kind::timer || e.kind == envelope_kind::timeout) return;
    if (e.kind == envelope_kind::stop) return;
    // Replies are not forwarded: they answer a request the heir never made, and correlation
    // ids are per requester, so the heir could take one for the answer to its own request.
    if (s->heir != broker::no_agent && e.kind != envelope_kind::reply) {
      if (e.forwards >= max_forwards) {
        dead_letter(e, "forwarding loop");
        return;
      }
      count(totals.forwarded);
      ++e.forwards;
      e.to = s->heir;
      deliver_later(std::move(e), 0);
      return;
    }
    dead_letter(e, "agent stopped");
    return;
  }

  agent_context ctx(*this, *s, &e);
  switch (e.kind) {
    case envelope_kind::stop: {
      auto& notice = broker::get<broker::msg::stopped>(e.payload);
      std::string reason = notice.reason.empty() ? "stopped by agent " + std::to_string(raw(e.from))
                                                 : std::move(notice.reason);
      stop_agent(*s, std::move(reason), notice.heir, std::move(notice.details));
      return;
    }
    case envelope_kind::timer:
      if (s->timers.erase(e.seq) == 0) return;  // cancelled
      run_handler(*s, ctx, e);
      break;
    case envelope_kind::reply: {
      auto it = s->pending.find(raw(e.correlation));
      if (it == s->pending.end()) {
        dead_letter(e, "late reply");
        return;
      }
      if (it->second.deadline) it->second.deadline->cancel();
      s->pending.erase(it);
      run_handler(*s, ctx, e);
      break;
    }
    case envelope_kind::start:
    case envelope_kind::timeout:
      // Neither travels as mail: starts and deadlines have their own jobs.
      return;
    case envelope_kind::plain:
    case envelope_kind::request:
      run_handler(*s, ctx, e);
      break;
  }
  settle(*s, ctx);
}

void live_runtime::impl::run_handler(slot& s, agent_context& ctx, envelope& e) {
  count(totals.delivered);
  try {
    s.behaviour->handle(e, ctx);
  } catch (const std::exception& ex) {
    handle_failure(s, ctx, ex.what());
  } catch (...) {
    handle_failure(s, ctx, "unknown exception");
  }
}

// A stop the agent asked for itself takes effect once its handler has returned.
void live_runtime::impl::settle(slot& s, agent_context& ctx) {
  if (auto request = ctx.take_stop_request(); request && s.state == slot_state::alive) {
    stop_agent(s, request->reason.empty() ? "stopped itself" : std::move(request->reason),
               request->heir, std::move(request->details));
  }
}

void live_runtime::impl::start_agent(slot& s) {
  s.state = slot_state::alive;
  agent_context ctx(*this, s, nullptr);
  std::optional<std::string> failed;
  try {
    s.behaviour->on_start(ctx);
  } catch (const std::exception& ex) {
    failed = ex.what();
  } catch (...) {
    failed = "unknown exception";
  }
  // The parent hears of the child once it has started, before anything its failure leads to.
  if (s.notify_parent) {
    envelope e;
    e.from = s.id;
    e.to = s.parent;
    e.send_time = now();
    e.deliver_time = e.send_time;
    e.seq = ++s.next_seq;
    e.payload = broker::msg::spawned{s.id, s.tag, s.name};
    count(totals.sent);
    deliver_later(std::move(e), 0);
  }
  if (failed) handle_failure(s, ctx, *failed);
  settle(s, ctx);
}

void live_runtime::impl::handle_failure(slot& s, agent_context& ctx, const std::string& what) {
  count(totals.failures);
  write_event(s.id, "agent_failed", {{"error", what}, {"policy", to_string(s.policy)}});
  ctx.take_stop_request();
  switch (s.policy) {
    case failure_policy::stop:
      stop_agent(s, "failed: " + what, broker::no_agent, {});
      break;
    case failure_policy::restart: {
      // A fresh instance keeps the id, stream, timers and pending requests of the agent.
      std::unique_ptr<actor> fresh;
      std::string why = " (no factory to restart from)";
      try {
        if (s.factory) fresh = s.factory();
      } catch (const std::exception& ex) {
        why = std::string(" (the factory threw: ") + ex.what() + ")";
      } catch (...) {
        why = " (the factory threw)";
      }
      if (!fresh) {
        stop_agent(s, "failed: " + what + why, broker::no_agent, {});
        break;
      }
      s.behaviour = std::move(fresh);
      write_event(s.id, "agent_restarted", {{"error", what}});
      try {
        s.behaviour->on_start(ctx);
      } catch (const std::exception& ex) {
        // Failing again at once would loop forever: stop instead.
        stop_agent(s, std::string("failed on restart: ") + ex.what(), broker::no_agent, {});
      } catch (...) {
        stop_agent(s, "failed on restart", broker::no_agent, {});
      }
      break;
    }
    case failure_policy::stop_run:
      fail_run("agent " + std::to_string(raw(s.id)) + " failed at t=" + std::to_string(now()) +
               "us: " + what);
      break;
  }
}

void live_runtime::impl::stop_agent(slot& s, std::string reason, agent_id heir,
                                    boost::json::object details) {
  if (s.state == slot_state::stopped) return;
  s.state = slot_state::stopped;  // first, so a throwing on_stop cannot stop it twice
  if (s.behaviour) {
    agent_context ctx(*this, s, nullptr);
    try {
      s.behaviour->on_stop(ctx);
    } catch (const std::exception& ex) {
      count(totals.failures);
      write_event(s.id, "agent_failed", {{"error", ex.what()}, {"policy", "stop"}});
    } catch (...) {
      count(totals.failures);
      write_event(s.id, "agent_failed", {{"error", "unknown exception"}, {"policy", "stop"}});
    }
  }
  // After on_stop, which may have armed more. The cancelled waits still release their work.
  for (auto& [id, t] : s.timers) {
    if (t) t->cancel();
  }
  s.timers.clear();
  for (auto& [corr, p] : s.pending) {
    if (p.deadline) p.deadline->cancel();
  }
  s.pending.clear();
  s.heir = heir;
  s.behaviour.reset();
  s.factory = nullptr;
  {
    std::unique_lock lock(routes_mutex);
    routes.remove(s.id);
  }
  alive.fetch_sub(1, std::memory_order_relaxed);
  count(totals.stopped);

  boost::json::object fields{{"reason", reason}};
  if (!s.name.empty()) fields["name"] = s.name;
  if (heir != broker::no_agent) fields["heir"] = raw(heir);
  if (!details.empty()) fields["details"] = std::move(details);
  write_event(s.id, "agent_stopped", std::move(fields));

  if (s.parent != broker::no_agent) {
    envelope e;
    e.from = s.id;
    e.to = s.parent;
    e.send_time = now();
    e.deliver_time = e.send_time;
    e.seq = ++s.next_seq;
    e.payload = broker::msg::stopped{s.id, std::move(reason), heir, {}};
    count(totals.sent);
    deliver_later(std::move(e), 0);
  }
}

void live_runtime::impl::await_reply(slot& s, correlation_id corr, agent_id peer,
                                     broker::conversation_id conv, sim_time timeout) {
  pending_request p{peer, conv, nullptr};
  if (immediate()) {
    std::lock_guard lock(deadlines_mutex);
    quiescence_deadlines.emplace_back(&s, raw(corr));
  } else {
    p.deadline = std::make_shared<boost::asio::steady_timer>(*s.strand, wall(timeout));
    work_begins();
    p.deadline->async_wait(
        [this, sp = &s, c = raw(corr), t = p.deadline](const boost::system::error_code&) {
          deadline_passed(*sp, c);
          work_ends();
        });
  }
  s.pending.emplace(raw(corr), std::move(p));
}

// Runs on the requester's strand. A deadline whose reply came (or whose agent stopped) is void.
void live_runtime::impl::deadline_passed(slot& s, std::uint64_t corr) {
  auto it = s.pending.find(corr);
  if (it == s.pending.end() || s.state != slot_state::alive) return;
  const agent_id peer = it->second.peer;
  envelope e;
  e.from = s.id;
  e.to = s.id;
  e.send_time = now();
  e.deliver_time = e.send_time;
  e.seq = ++s.next_seq;
  e.conversation = it->second.conversation;
  e.correlation = correlation_id{corr};
  e.kind = envelope_kind::timeout;
  e.payload = broker::msg::timeout{correlation_id{corr}, peer};
  s.pending.erase(it);
  count(totals.timeouts);
  agent_context ctx(*this, s, &e);
  run_handler(s, ctx, e);
  settle(s, ctx);
}

timer_id live_runtime::impl::arm_timer(slot& s, envelope&& e, sim_time delay) {
  const std::uint64_t id = e.seq;
  work_begins();
  if (delay <= 0 || immediate()) {
    s.timers.emplace(id, nullptr);
    boost::asio::post(*s.strand, [this, sp = &s, e = std::move(e)]() mutable {
      receive(sp, e);
      work_ends();
    });
  } else {
    auto t = std::make_shared<boost::asio::steady_timer>(*s.strand, wall(delay));
    s.timers.emplace(id, t);
    t->async_wait([this, sp = &s, t, e = std::move(e)](const boost::system::error_code&) mutable {
      receive(sp, e);
      work_ends();
    });
  }
  return timer_id{id};
}

result<agent_id> live_runtime::impl::spawn_agent(actor_factory make, spawn_options& o,
                                                 agent_id parent) {
  const std::string label = o.name.empty() ? "an unnamed agent" : "\"" + o.name + "\"";
  std::unique_ptr<actor> made;
  try {
    if (make) made = make();
  } catch (const std::exception& ex) {
    return fail(errc::invalid_argument,
                "the factory for " + label + " threw: " + std::string(ex.what()));
  } catch (...) {
    return fail(errc::invalid_argument, "the factory for " + label + " threw");
  }
  if (!made) return fail(errc::invalid_argument, "the factory for " + label + " made no actor");

  // One writer at a time: the name check, the id and the routes of a new agent go together, and
  // nobody can see its name or topics before its start job is queued on its strand.
  std::unique_lock lock(routes_mutex);
  if (!o.name.empty() && routes.lookup(o.name)) {
    return fail(errc::invalid_argument, "an agent called \"" + o.name + "\" exists already");
  }
  const std::uint64_t n = next_id.load(std::memory_order_relaxed);
  if (n >= max_agents) {
    return fail(errc::invalid_argument,
                "the live runtime holds at most " + std::to_string(max_agents - 1) + " agents");
  }
  next_id.store(n + 1, std::memory_order_relaxed);
  const agent_id id{n};

  slot& s = slot_for(n);
  s.id = id;
  s.strand.emplace(boost::asio::make_strand(io));
  s.parent = parent;
  s.name = o.name;
  s.policy = o.on_failure;
  s.notify_parent = parent != broker::no_agent;
  s.tag = o.tag;
  s.behaviour = std::move(made);
  if (o.on_failure == failure_policy::restart) s.factory = std::move(make);
  s.random.reseed(config.seed, n);
  s.state = slot_state::starting;

  if (!o.name.empty()) {
    if (auto named = routes.name_agent(id, o.name); !named) return named.error();
  }
  for (const auto& g : o.groups) routes.join(g, id);
  for (const auto& t : o.topics) routes.subscribe(t, id);
  count(totals.spawned);
  alive.fetch_add(1, std::memory_order_relaxed);

  boost::json::object fields;
  if (!o.name.empty()) fields["name"] = o.name;
  if (!o.kind.empty()) fields["kind"] = o.kind;
  fields["parent"] = raw(parent);
  if (!o.reason.empty()) fields["reason"] = o.reason;
  if (!o.details.empty()) fields["details"] = std::move(o.details);
  write_event(id, "agent_spawned", std::move(fields));

  s.ready.store(true, std::memory_order_release);
  work_begins();
  boost::asio::post(*s.strand, [this, sp = &s] {
    if (sp->state == slot_state::starting) start_agent(*sp);
    work_ends();
  });
  return id;
}

live_runtime::live_runtime(live_config config) : impl_(std::make_unique<impl>(config)) {}
live_runtime::~live_runtime() = default;

result<agent_id> live_runtime::spawn(actor_factory make, spawn_options o) {
  return impl_->spawn_agent(std::move(make), o, broker::no_agent);
}

void live_runtime::post(agent_id to, message m, sim_time delay) {
  auto& rt = *impl_;
  envelope e;
  e.to = to;
  e.send_time = rt.now();
  e.deliver_time = e.send_time + std::max<sim_time>(delay, 0);
  e.seq = rt.outside_seq.fetch_add(1, std::memory_order_relaxed) + 1;
  e.payload = std::move(m);
  rt.deliver_later(std::move(e), delay);
}

result<run_stats> live_runtime::run(sim_time until) {
  auto& rt = *impl_;
  {
    std::lock_guard lock(rt.failure_mutex);
    if (rt.failure) return *rt.failure;
  }
  if (rt.now() < until) {
    rt.io.restart();
    const bool work = rt.outstanding.load(std::memory_order_acquire) > 0 || rt.wake_deadlines();
    if (work) {
      const std::uint64_t generation = ++rt.run_generation;
      if (until != time_never) {
        rt.until_timer.expires_at(rt.start + rt.wall(until));
        // A wait left over from an earlier run may still be queued: only this run's counts.
        rt.until_timer.async_wait([&rt, generation](const boost::system::error_code& ec) {
          if (!ec && generation == rt.run_generation) rt.io.stop();
        });
      }
      const unsigned n = std::max(1u, rt.config.threads);
      std::vector<std::thread> pool;
      pool.reserve(n - 1);
      for (unsigned i = 1; i < n; ++i) pool.emplace_back([&rt] { rt.run_io(); });
      rt.run_io();
      for (auto& t : pool) t.join();
      rt.until_timer.cancel();
    }
  }
  if (rt.config.events != nullptr) {
    std::lock_guard lock(rt.events_mutex);
    if (auto flushed = rt.config.events->flush(); !flushed) return flushed.error();
  }
  {
    std::lock_guard lock(rt.failure_mutex);
    if (rt.failure) return *rt.failure;
  }
  return stats();
}

run_stats live_runtime::stats() const {
  const auto& t = impl_->totals;
  const auto get = [](const std::atomic<std::uint64_t>& c) {
    return c.load(std::memory_order_relaxed);
  };
  run_stats s;
  s.end_time = impl_->now();
  s.delivered = get(t.delivered);
  s.sent = get(t.sent);
  s.dead_letters = get(t.dead_letters);
  s.forwarded = get(t.forwarded);
  s.timeouts = get(t.timeouts);
  s.spawned = get(t.spawned);
  s.stopped = get(t.stopped);
  s.failures = get(t.failures);
  s.events = get(t.events);
  s.alive = static_cast<std::uint64_t>(
      std::max<std::int64_t>(impl_->alive.load(std::memory_order_relaxed), 0));
  return s;
}

sim_time live_runtime::now() const noexcept {
  return impl_->now();
}

}  // namespace colony::engine
