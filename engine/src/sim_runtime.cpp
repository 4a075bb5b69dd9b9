#include "colony/engine/sim_runtime.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/serialize.hpp>
#include <exception>
#include <map>
#include <string>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "colony/base/assert.hpp"
#include "colony/base/log.hpp"
#include "colony/broker/registry.hpp"
#include "dead_letters.hpp"

namespace colony::engine {
namespace {

using broker::envelope;
using broker::envelope_kind;
using broker::raw;

enum class slot_state : std::uint8_t { empty, starting, alive, stopped };

// Bookkeeping only agents that use requests, timers or restarts pay for.
// Hash containers: an agent may hold thousands of live timers and requests (a backend's call
// deadlines), and they are only ever looked up, never iterated, so their order cannot leak.
struct slot_extras {
  std::unordered_set<std::uint64_t> pending;  // correlation ids of requests awaiting a reply
  std::unordered_set<std::uint64_t> timers;   // timers not yet fired or cancelled
  actor_factory factory;                      // for failure_policy::restart
};

// One agent. Touched during a window only by the thread that owns the agent's shard.
struct slot {
  std::unique_ptr<actor> impl;
  std::unique_ptr<slot_extras> extras;
  rng random;
  std::uint64_t next_seq = 0;
  agent_id parent{};
  agent_id heir{};
  slot_state state = slot_state::empty;
  failure_policy policy = failure_policy::stop;

  slot_extras& more() {
    if (!extras) extras = std::make_unique<slot_extras>();
    return *extras;
  }
};

// A line of the event log with its sort key. Sorting by (t, agent, phase, seq) gives the same
// order whichever thread produced it: one agent's events in a window all come from one thread,
// in the order the agent logged them, and barrier-made events (phase 1) follow.
struct event_record {
  sim_time t;
  std::uint64_t agent;
  std::uint32_t phase;
  std::uint64_t seq;
  std::string line;

  auto key() const { return std::tie(t, agent, phase, seq); }
};

// A structural change asked for during a window, applied at the barrier in (t, agent, seq)
// order.
struct structural_op {
  enum class kind : std::uint8_t { spawn, subscribe, unsubscribe, join, leave, remove };
  sim_time t;
  agent_id agent;
  std::uint64_t seq;
  kind what;
  std::string name;       // topic or group name (subscribe, join)
  std::uint64_t id = 0;   // topic or group id (unsubscribe, leave)
  actor_factory make;     // spawn
  spawn_options options;  // spawn

  auto key() const { return std::tie(t, agent, seq); }
};

// The delivery order key. Start deliveries sort first so an agent starts before its first mail.
struct batch_entry {
  std::uint64_t to;
  sim_time t;
  std::uint8_t not_start;
  std::uint8_t inverse_priority;
  std::uint64_t from;
  std::uint64_t seq;
  envelope* env;

  static batch_entry of(envelope& e) {
    return {raw(e.to),
            e.deliver_time,
            static_cast<std::uint8_t>(e.kind == envelope_kind::start ? 0 : 1),
            static_cast<std::uint8_t>(broker::max_priority - e.priority),
            raw(e.from),
            e.seq,
            &e};
  }
  auto key() const { return std::tie(to, t, not_start, inverse_priority, from, seq); }
  friend bool operator<(const batch_entry& a, const batch_entry& b) { return a.key() < b.key(); }
};

// Same order for the self-deliveries an agent makes inside the window it is running in.
struct local_later {
  bool operator()(const envelope& a, const envelope& b) const {
    return std::tuple(a.deliver_time, broker::max_priority - a.priority, raw(a.from), a.seq) >
           std::tuple(b.deliver_time, broker::max_priority - b.priority, raw(b.from), b.seq);
  }
};

constexpr int max_forwards = 16;

// One shard's future mail, by window. A ring of buckets covers the next `span` windows (reused,
// so steady traffic allocates nothing); a two-level bitmap (a bit per bucket, and a bit per word
// of those) finds the next non-empty bucket in a few word reads however sparse the traffic; an
// ordered map holds windows beyond the ring (a deadline days away). Invariant: the ring holds
// exactly the windows in [base, base + span).
class calendar {
 public:
  static constexpr std::int64_t span = std::int64_t{1} << 16;

  calendar() : ring_(span), occupied_(span / 64, 0), summary_(span / 64 / 64, 0) {}

  void push(std::int64_t win, envelope&& e) {
    COLONY_ASSERT(win >= base_);
    if (win - base_ >= span) {
      far_[win].push_back(std::move(e));
      return;
    }
    const std::size_t slot = index(win);
    auto& b = ring_[slot];
    if (b.empty()) {
      occupied_[slot / 64] |= std::uint64_t{1} << (slot % 64);
      summary_[slot / 4096] |= std::uint64_t{1} << (slot / 64 % 64);
    }
    b.push_back(std::move(e));
  }

  /// The bucket of a window inside the ring. Call settle(win) after taking mail out of it.
  std::vector<envelope>& bucket(std::int64_t win) { return ring_[index(win)]; }
  void settle(std::int64_t win) {
    const std::size_t slot = index(win);
    if (!ring_[slot].empty()) return;
    auto& word = occupied_[slot / 64];
    word &= ~(std::uint64_t{1} << (slot % 64));
    if (word == 0) summary_[slot / 4096] &= ~(std::uint64_t{1} << (slot / 64 % 64));
  }

  /// Moves the ring's start to `win`, which must be the earliest window with mail or earlier,
  /// and pulls in the far mail that now falls inside the ring.
  void advance(std::int64_t win) {
    if (win <= base_) return;
    base_ = win;
    while (!far_.empty() && far_.begin()->first - base_ < span) {
      auto node = far_.extract(far_.begin());
      for (auto& e : node.mapped()) push(node.key(), std::move(e));
    }
  }

  /// The mail waiting for window `win` (>= base), in the ring or beyond it; null when none.
  const std::vector<envelope>* waiting(std::int64_t win) const {
    if (win - base_ < span) return &ring_[index(win)];
    auto it = far_.find(win);
    return it == far_.end() ? nullptr : &it->second;
  }
  /// How many envelopes wait for window `win` (>= base).
  std::size_t count(std::int64_t win) const {
    const auto* w = waiting(win);
    return w == nullptr ? 0 : w->size();
  }

  /// The earliest window with mail, or INT64_MAX.
  std::int64_t next() const {
    const std::size_t start = index(base_);
    std::size_t slot = first_occupied(start, span);
    if (slot == npos) slot = first_occupied(0, start);  // the ring wraps around
    if (slot != npos) {
      return base_ + static_cast<std::int64_t>((slot + span - start) % span);
    }
    return far_.empty() ? std::numeric_limits<std::int64_t>::max() : far_.begin()->first;
  }

 private:
  static constexpr std::size_t npos = SIZE_MAX;

  static std::size_t index(std::int64_t win) { return static_cast<std::size_t>(win & (span - 1)); }

  // The first non-empty slot in [from, to), or npos.
  std::size_t first_occupied(std::size_t from, std::size_t to) const {
    while (from < to) {
      const std::size_t w = from / 64;
      const std::uint64_t bits = occupied_[w] & (~std::uint64_t{0} << (from % 64));
      if (bits != 0) {
        const std::size_t slot = w * 64 + static_cast<std::size_t>(__builtin_ctzll(bits));
        return slot < to ? slot : npos;
      }
      // Jump to the next non-empty word with the summary.
      const std::size_t next_word = w + 1;
      std::size_t s = next_word / 64;
      if (s >= summary_.size()) return npos;
      std::uint64_t sbits = summary_[s] & (~std::uint64_t{0} << (next_word % 64));
      while (sbits == 0) {
        if (++s >= summary_.size()) return npos;
        sbits = summary_[s];
      }
      from = (s * 64 + static_cast<std::size_t>(__builtin_ctzll(sbits))) * 64;
    }
    return npos;
  }

  std::vector<std::vector<envelope>> ring_;
  std::vector<std::uint64_t> occupied_;  // a bit per bucket
  std::vector<std::uint64_t> summary_;   // a bit per word of occupied_
  std::map<std::int64_t, std::vector<envelope>> far_;
  std::int64_t base_ = 0;
};

// Agents by id: O(1) lookup, addresses that never move, no per-element overhead. (A std::deque
// holds only six 80-byte slots per block and costs a division per lookup.)
class slot_table {
 public:
  static constexpr std::size_t chunk_bits = 12;
  static constexpr std::size_t chunk_size = std::size_t{1} << chunk_bits;

  std::size_t size() const noexcept { return size_; }
  slot& operator[](std::size_t i) noexcept {
    return chunks_[i >> chunk_bits][i & (chunk_size - 1)];
  }
  const slot& operator[](std::size_t i) const noexcept {
    return chunks_[i >> chunk_bits][i & (chunk_size - 1)];
  }
  slot& emplace_back() {
    if ((size_ & (chunk_size - 1)) == 0) chunks_.push_back(std::make_unique<slot[]>(chunk_size));
    return (*this)[size_++];
  }

 private:
  std::vector<std::unique_ptr<slot[]>> chunks_;
  std::size_t size_ = 0;
};

// The window barrier. Windows are short (tens of microseconds), so waiting threads spin for a
// while before sleeping: a futex wake-up per window would cost as much as the window's work.
// The last thread to arrive runs `completion` alone, then releases the others.
class window_barrier {
 public:
  explicit window_barrier(unsigned parties) : parties_(parties) {}

  template <class Completion>
  void arrive_and_wait(Completion&& completion) {
    const unsigned gen = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == parties_) {
      completion();
      arrived_.store(0, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
      generation_.notify_all();
      return;
    }
    for (int i = 0; i < spin_limit; ++i) {
      if (generation_.load(std::memory_order_acquire) != gen) return;
      __builtin_ia32_pause();
    }
    while (generation_.load(std::memory_order_acquire) == gen) {
      generation_.wait(gen, std::memory_order_acquire);
    }
  }

 private:
  static constexpr int spin_limit = 1 << 14;  // some microseconds
  const unsigned parties_;
  std::atomic<unsigned> arrived_{0};
  std::atomic<unsigned> generation_{0};
};

}  // namespace

struct sim_runtime::impl {
  class sim_context;

  // Everything one thread produces during a window. Index `threads` is the barrier's own.
  // Cache-line aligned: each thread writes its own worker on every message.
  struct alignas(64) worker {
    std::vector<std::vector<envelope>> out[2];  // [parity][destination shard]
    std::int64_t min_window_sent = std::numeric_limits<std::int64_t>::max();
    std::vector<event_record> events;
    std::vector<structural_op> ops;
    std::uint64_t event_seq = 0;
    std::uint64_t op_seq = 0;
    run_stats counters;
    sim_time last_delivery = 0;
    std::optional<std::tuple<sim_time, std::uint64_t, std::string>> run_failure;
    // Scratch for processing a shard.
    std::vector<batch_entry> batch;
    std::vector<std::size_t> runs;  // where each sorted run of `batch` begins
    std::vector<envelope> local;    // heap of self-deliveries due inside the current window
    std::unique_ptr<sim_context> ctx;
  };

  // The future mail of the agents whose id maps to it.
  struct alignas(64) shard {
    calendar future;
  };

  explicit impl(sim_config c) : config(c) {
    COLONY_ASSERT(config.threads > 0);
    COLONY_ASSERT(config.lookahead > 0);
    workers.resize(config.threads + 1);
    for (auto& w : workers) {
      w.out[0].resize(config.threads);
      w.out[1].resize(config.threads);
    }
    shards.resize(config.threads);
    slots.emplace_back();  // id 0: the world outside
    for (auto& w : workers) w.ctx = std::make_unique<sim_context>(*this, w);
  }
  ~impl();

  // --- addressing ---------------------------------------------------------------------------

  std::int64_t window_of(sim_time t) const { return t / config.lookahead; }
  std::size_t shard_of(agent_id id) const {
    // Blocks of 64 consecutive ids share a shard: neighbours (rings, families spawned together)
    // stay on one thread, and shards stay balanced as agents are added.
    return static_cast<std::size_t>((raw(id) >> 6) % config.threads);
  }
  slot* find(agent_id id) {
    const auto i = raw(id);
    if (i == 0 || i >= slots.size()) return nullptr;
    return &slots[i];
  }

  // --- sending --------------------------------------------------------------------------------

  void enqueue(worker& w, envelope&& e) {
    w.min_window_sent = std::min(w.min_window_sent, window_of(e.deliver_time));
    w.out[1 - parity][shard_of(e.to)].push_back(std::move(e));
  }

  // Outside a run (set-up, post): straight into the calendar.
  void enqueue_outside(envelope&& e) {
    const auto win = window_of(e.deliver_time);
    shards[shard_of(e.to)].future.push(win, std::move(e));
  }

  // --- events ---------------------------------------------------------------------------------

  void log(worker& w, sim_time t, agent_id agent, std::uint32_t phase, std::string_view type,
           boost::json::object fields) {
    w.events.push_back({t, raw(agent), phase, w.event_seq++,
                        event_log::format(t, type, raw(agent), std::move(fields))});
  }

  void dead_letter(worker& w, const envelope& e, std::string_view reason) {
    ++w.counters.dead_letters;
    log(w, e.deliver_time, e.to, 0, "dead_letter", detail::dead_letter_fields(e, reason));
    const auto notice = detail::dead_letter_notice(e, reason);
    if (!notice) return;
    const auto subscribers = routes.subscribers(broker::topic(broker::dead_letter_topic));
    if (subscribers.empty()) return;
    // From the world outside, so the sequence number must be one no thread count can change:
    // derived from the dead envelope, which is unique.
    const std::uint64_t seq = mix(mix(raw(e.from), e.seq), raw(e.to));
    for (agent_id sub : subscribers) {
      envelope n;
      n.to = sub;
      n.send_time = e.deliver_time;
      n.deliver_time = e.deliver_time + config.lookahead;
      n.seq = seq;
      n.payload = *notice;
      ++w.counters.sent;
      enqueue(w, std::move(n));
    }
  }

  // --- processing a window --------------------------------------------------------------------

  void process_shard(std::size_t s);
  void process_agent(worker& w, agent_id id, std::size_t begin, std::size_t end);
  void deliver(worker& w, sim_context& ctx, agent_id id, envelope& e);
  void run_handler(worker& w, sim_context& ctx, slot& sl, agent_id id, envelope& e);
  void stop_agent(worker& w, sim_context& ctx, slot& sl, agent_id id, std::string reason,
                  agent_id heir, boost::json::object details);
  void handle_failure(worker& w, sim_context& ctx, slot& sl, agent_id id, std::string what);

  // --- the barrier ----------------------------------------------------------------------------

  void barrier();
  void apply(structural_op& op, worker& serial);
  agent_id create_agent(actor_factory make, spawn_options& o, agent_id parent, sim_time t,
                        worker& serial);
  // Writes events made outside a window (set-up), which are in order by construction.
  void write_serial_events() {
    worker& serial = workers.back();
    if (config.events != nullptr) {
      for (const auto& e : serial.events) config.events->write(e.line);
    }
    totals.events += serial.events.size();
    serial.events.clear();
  }
  // Whether shard `s` has mail to take in: due in the chosen window, or waiting in an outbox.
  bool has_mail(std::size_t s) const {
    if (shards[s].future.count(window) != 0) return true;
    for (const auto& w : workers) {
      if (!w.out[parity][s].empty()) return true;
    }
    return false;
  }
  // An upper bound on the mail of the chosen window: its calendar buckets plus every outbox.
  std::size_t mail_in_window() const {
    std::size_t n = 0;
    for (std::size_t s = 0; s < shards.size(); ++s) {
      n += shards[s].future.count(window);
      for (const auto& w : workers) n += w.out[parity][s].size();
    }
    return n;
  }
  // Chooses the next window; false when there is none before `until`.
  bool choose_next_window();

  sim_config config;
  broker::registry routes;
  slot_table slots;
  std::vector<worker> workers;
  std::vector<shard> shards;
  int parity = 0;              // outboxes read this window; sends go to the other
  std::int64_t window = 0;     // the window being or about to be processed
  std::int64_t processed = 0;  // the last window processed
  sim_time until = time_never;
  sim_time now_ = 0;  // earliest time outside input may be delivered at
  std::uint64_t outside_seq = 0;
  std::vector<structural_op> barrier_ops;    // reused at every barrier
  std::vector<event_record> barrier_events;  // reused at every barrier
  run_stats totals;
  std::optional<error> failure;
  bool done = false;
};

// The context handed to handlers, re-aimed at each agent in turn. One per worker thread.
class alignas(64) sim_runtime::impl::sim_context final : public context {
 public:
  sim_context(impl& rt, worker& w) : rt_(rt), w_(w) {}

  void aim(slot& sl, agent_id id, const envelope* current, sim_time now) {
    slot_ = &sl;
    id_ = id;
    current_ = current;
    now_ = now;
  }
  bool take_stop_request(stop_options& out) {
    if (!stop_requested_) return false;
    stop_requested_ = false;
    out = std::move(stop_);
    return true;
  }

  agent_id self() const noexcept override { return id_; }
  sim_time now() const noexcept override { return now_; }
  rng& random() noexcept override { return slot_->random; }

  void send(agent_id to, message m, send_options o) override {
    ++w_.counters.sent;
    rt_.enqueue(w_, make(to, envelope_kind::plain, std::move(m), o));
  }

  void publish(topic_id t, message m, send_options o) override {
    fan_out(rt_.routes.subscribers(t), std::move(m), o, false);
  }

  void broadcast(group_id g, message m, send_options o) override {
    fan_out(rt_.routes.members(g), std::move(m), o, true);
  }

  correlation_id request(agent_id to, message m, sim_time timeout, send_options o) override {
    envelope e = make(to, envelope_kind::request, std::move(m), o);
    const correlation_id corr{e.seq};
    e.correlation = corr;
    ++w_.counters.sent;
    rt_.enqueue(w_, std::move(e));
    slot_->more().pending.insert(raw(corr));
    envelope deadline = make(id_, envelope_kind::timeout, broker::msg::timeout{corr, to}, {});
    deadline.deliver_time = now_ + std::max<sim_time>(timeout, 0);
    deadline.correlation = corr;
    to_self(std::move(deadline));
    return corr;
  }

  void reply(const envelope& req, message m, send_options o) override {
    const bool is_request = req.kind == envelope_kind::request;
    envelope e =
        make(req.from, is_request ? envelope_kind::reply : envelope_kind::plain, std::move(m), o);
    if (is_request) e.correlation = req.correlation;
    ++w_.counters.sent;
    rt_.enqueue(w_, std::move(e));
  }

  timer_id schedule(sim_time delay, message m) override {
    envelope e = make(id_, envelope_kind::timer, std::move(m), {});
    e.deliver_time = now_ + std::max<sim_time>(delay, 0);
    const timer_id id{e.seq};
    slot_->more().timers.insert(raw(id));
    to_self(std::move(e));
    return id;
  }

  void cancel(timer_id t) override {
    if (slot_->extras) slot_->extras->timers.erase(raw(t));
  }

  void spawn(actor_factory make_actor, spawn_options o) override {
    structural_op op{now_, id_, w_.op_seq++, structural_op::kind::spawn};
    op.make = std::move(make_actor);
    op.options = std::move(o);
    w_.ops.push_back(std::move(op));
  }

  void stop(agent_id target, stop_options o) override {
    if (target == id_) {
      stop_requested_ = true;
      stop_ = std::move(o);
      return;
    }
    broker::msg::stopped notice{target, std::move(o.reason), o.heir, std::move(o.details)};
    envelope e = make(target, envelope_kind::stop, std::move(notice), {});
    ++w_.counters.sent;
    rt_.enqueue(w_, std::move(e));
  }

  void subscribe(std::string_view name) override { op(structural_op::kind::subscribe, name, 0); }
  void unsubscribe(topic_id t) override { op(structural_op::kind::unsubscribe, {}, raw(t)); }
  void join(std::string_view name) override { op(structural_op::kind::join, name, 0); }
  void leave(group_id g) override { op(structural_op::kind::leave, {}, raw(g)); }

  std::optional<agent_id> lookup(std::string_view name) const override {
    return rt_.routes.lookup(name);
  }

  void log_event(std::string_view type, boost::json::object fields) override {
    rt_.log(w_, now_, id_, 0, type, std::move(fields));
  }

 private:
  envelope make(agent_id to, envelope_kind kind, message&& m, const send_options& o) {
    envelope e;
    e.from = id_;
    e.to = to;
    e.send_time = now_;
    e.deliver_time = now_ + rt_.config.lookahead + std::max<sim_time>(o.delay, 0);
    e.seq = ++slot_->next_seq;
    e.conversation =
        o.conversation.value_or(current_ ? current_->conversation : broker::conversation_id{});
    e.priority = std::clamp(o.priority, broker::min_priority, broker::max_priority);
    e.kind = kind;
    e.payload = std::move(m);
    return e;
  }

  // Self-deliveries due inside the running window are handled before the window ends.
  // Mail at or past `until` waits for a later run like any other.
  void to_self(envelope&& e) {
    if (rt_.window_of(e.deliver_time) == rt_.window && e.deliver_time < rt_.until) {
      w_.local.push_back(std::move(e));
      std::push_heap(w_.local.begin(), w_.local.end(), local_later{});
    } else {
      rt_.enqueue(w_, std::move(e));
    }
  }

  void fan_out(std::span<const agent_id> to, message&& m, const send_options& o, bool skip_self) {
    if (to.empty()) return;
    envelope proto = make(broker::no_agent, envelope_kind::plain, std::move(m), o);
    for (agent_id target : to) {
      if (skip_self && target == id_) continue;
      envelope e = proto;
      e.to = target;
      ++w_.counters.sent;
      rt_.enqueue(w_, std::move(e));
    }
  }

  void op(structural_op::kind what, std::string_view name, std::uint64_t id) {
    structural_op o{now_, id_, w_.op_seq++, what};
    o.name = name;
    o.id = id;
    w_.ops.push_back(std::move(o));
  }

  impl& rt_;
  worker& w_;
  slot* slot_ = nullptr;
  agent_id id_{};
  const envelope* current_ = nullptr;
  sim_time now_ = 0;
  bool stop_requested_ = false;
  stop_options stop_;
};

void sim_runtime::impl::process_shard(std::size_t s) {
  worker& w = workers[s];
  shard& sh = shards[s];
  w.batch.clear();
  // Mins of the mail this thread sends from now on; what it sent before is drained below.
  w.min_window_sent = std::numeric_limits<std::int64_t>::max();

  // Take this window's mail from every outbox and the calendar; later mail goes to the calendar.
  // Outboxes are mostly in order already (a thread handles agents in id order, and their sends
  // tend to follow), so the batch is cut into its natural ascending runs, which are merged when
  // there are few, and sorted as a whole when there are many.
  const int read = parity;
  w.runs.clear();
  sh.future.advance(window);
  auto append = [&w](envelope& e) {
    w.batch.push_back(batch_entry::of(e));
    const auto n = w.batch.size();
    if (n == 1 || w.batch[n - 1] < w.batch[n - 2]) w.runs.push_back(n - 1);
  };
  for (auto& src : workers) {
    auto& inbox = src.out[read][s];
    for (auto& e : inbox) {
      const auto win = window_of(e.deliver_time);
      if (win == window && e.deliver_time < until) {
        append(e);
      } else {
        sh.future.push(win, std::move(e));
      }
    }
  }
  // Mail at or past `until` stays in the bucket for a later run.
  auto& current = sh.future.bucket(window);
  const auto due_end = std::partition(current.begin(), current.end(),
                                      [this](const envelope& e) { return e.deliver_time < until; });
  for (auto it = current.begin(); it != due_end; ++it) append(*it);
  constexpr std::size_t max_runs_to_merge = 8;
  if (w.runs.size() > max_runs_to_merge) {
    std::sort(w.batch.begin(), w.batch.end());
  } else {
    while (w.runs.size() > 1) {  // last two first
      const auto mid = w.runs.back();
      w.runs.pop_back();
      std::inplace_merge(w.batch.begin() + static_cast<std::ptrdiff_t>(w.runs.back()),
                         w.batch.begin() + static_cast<std::ptrdiff_t>(mid), w.batch.end());
    }
  }
  for (std::size_t i = 0; i < w.batch.size();) {
    std::size_t j = i + 1;
    while (j < w.batch.size() && w.batch[j].to == w.batch[i].to) ++j;
    process_agent(w, agent_id{w.batch[i].to}, i, j);
    i = j;
  }

  for (auto& src : workers) src.out[read][s].clear();
  current.erase(current.begin(), due_end);
  sh.future.settle(window);
}

void sim_runtime::impl::process_agent(worker& w, agent_id id, std::size_t begin, std::size_t end) {
  sim_context& ctx = *w.ctx;
  w.local.clear();
  std::size_t i = begin;
  // Merge the window's mail with self-deliveries the agent makes while it runs.
  while (i < end || !w.local.empty()) {
    const bool take_local =
        !w.local.empty() && (i == end || !local_later{}(w.local.front(), *w.batch[i].env));
    if (take_local) {
      std::pop_heap(w.local.begin(), w.local.end(), local_later{});
      envelope e = std::move(w.local.back());
      w.local.pop_back();
      deliver(w, ctx, id, e);
    } else {
      deliver(w, ctx, id, *w.batch[i].env);
      ++i;
    }
  }
}

void sim_runtime::impl::deliver(worker& w, sim_context& ctx, agent_id id, envelope& e) {
  slot* sl = find(id);
  w.last_delivery = std::max(w.last_delivery, e.deliver_time);
  if (sl == nullptr || sl->state == slot_state::empty) {
    dead_letter(w, e, "unknown agent");
    return;
  }
  if (sl->state == slot_state::stopped) {
    // A dead agent's own timers and deadlines vanish with it; mail goes to its heir if any.
    if (e.kind == envelope_kind::timer || e.kind == envelope_kind::timeout) return;
    // Replies are not forwarded: they answer a request the heir never made, and correlation
    // ids are per requester, so the heir could take one for the answer to its own request.
    if (sl->heir != broker::no_agent && e.kind != envelope_kind::stop &&
        e.kind != envelope_kind::reply) {
      if (e.forwards >= max_forwards) {
        dead_letter(w, e, "forwarding loop");
        return;
      }
      ++w.counters.forwarded;
      ++e.forwards;
      e.to = sl->heir;
      e.deliver_time += config.lookahead;
      enqueue(w, std::move(e));
      return;
    }
    dead_letter(w, e, "agent stopped");
    return;
  }
  if (sl->state == slot_state::starting && e.kind != envelope_kind::start) {
    dead_letter(w, e, "agent not started");
    return;
  }

  ctx.aim(*sl, id, &e, e.deliver_time);
  switch (e.kind) {
    case envelope_kind::start:
      sl->state = slot_state::alive;
      try {
        sl->impl->on_start(ctx);
      } catch (const std::exception& ex) {
        handle_failure(w, ctx, *sl, id, ex.what());
      } catch (...) {
        handle_failure(w, ctx, *sl, id, "unknown exception");
      }
      break;
    case envelope_kind::stop: {
      auto& notice = broker::get<broker::msg::stopped>(e.payload);
      std::string reason = notice.reason.empty() ? "stopped by agent " + std::to_string(raw(e.from))
                                                 : std::move(notice.reason);
      stop_agent(w, ctx, *sl, id, std::move(reason), notice.heir, std::move(notice.details));
      return;
    }
    case envelope_kind::timer: {
      if (!sl->extras || sl->extras->timers.erase(e.seq) == 0) return;  // cancelled
      run_handler(w, ctx, *sl, id, e);
      break;
    }
    case envelope_kind::timeout:
    case envelope_kind::reply: {
      if (!sl->extras || sl->extras->pending.erase(raw(e.correlation)) == 0) {
        // A deadline whose reply came is simply void; a reply after its deadline is mail
        // nobody waits for.
        if (e.kind == envelope_kind::reply) dead_letter(w, e, "late reply");
        return;
      }
      if (e.kind == envelope_kind::timeout) ++w.counters.timeouts;
      run_handler(w, ctx, *sl, id, e);
      break;
    }
    case envelope_kind::plain:
    case envelope_kind::request:
      run_handler(w, ctx, *sl, id, e);
      break;
  }
  stop_options request;
  if (ctx.take_stop_request(request) && sl->state == slot_state::alive) {
    stop_agent(w, ctx, *sl, id, request.reason.empty() ? "stopped itself" : request.reason,
               request.heir, std::move(request.details));
  }
}

void sim_runtime::impl::run_handler(worker& w, sim_context& ctx, slot& sl, agent_id id,
                                    envelope& e) {
  ++w.counters.delivered;
  try {
    sl.impl->handle(e, ctx);
  } catch (const std::exception& ex) {
    handle_failure(w, ctx, sl, id, ex.what());
  } catch (...) {
    handle_failure(w, ctx, sl, id, "unknown exception");
  }
}

void sim_runtime::impl::handle_failure(worker& w, sim_context& ctx, slot& sl, agent_id id,
                                       std::string what) {
  ++w.counters.failures;
  log(w, ctx.now(), id, 0, "agent_failed", {{"error", what}, {"policy", to_string(sl.policy)}});
  stop_options ignored;
  ctx.take_stop_request(ignored);
  switch (sl.policy) {
    case failure_policy::stop:
      stop_agent(w, ctx, sl, id, "failed: " + what, broker::no_agent, {});
      break;
    case failure_policy::restart: {
      // A fresh instance keeps the id, stream and pending bookkeeping of the agent.
      sl.impl = sl.extras && sl.extras->factory ? sl.extras->factory() : nullptr;
      if (!sl.impl) {
        stop_agent(w, ctx, sl, id, "failed: " + what + " (no factory to restart from)",
                   broker::no_agent, {});
        break;
      }
      log(w, ctx.now(), id, 0, "agent_restarted", {{"error", what}});
      try {
        sl.impl->on_start(ctx);
      } catch (const std::exception& ex) {
        // Failing again at once would loop forever: stop instead.
        stop_agent(w, ctx, sl, id, std::string("failed on restart: ") + ex.what(), broker::no_agent,
                   {});
      } catch (...) {
        stop_agent(w, ctx, sl, id, "failed on restart", broker::no_agent, {});
      }
      break;
    }
    case failure_policy::stop_run: {
      auto mine = std::tuple(ctx.now(), raw(id),
                             "agent " + std::to_string(raw(id)) +
                                 " failed at t=" + std::to_string(ctx.now()) + "us: " + what);
      if (!w.run_failure || std::tie(std::get<0>(mine), std::get<1>(mine)) <
                                std::tie(std::get<0>(*w.run_failure), std::get<1>(*w.run_failure)))
        w.run_failure = std::move(mine);
      break;
    }
  }
}

void sim_runtime::impl::stop_agent(worker& w, sim_context& ctx, slot& sl, agent_id id,
                                   std::string reason, agent_id heir, boost::json::object details) {
  if (sl.state != slot_state::alive && sl.state != slot_state::starting) return;
  sl.state = slot_state::stopped;  // first, so a throwing on_stop cannot stop it twice
  if (sl.impl) {
    try {
      sl.impl->on_stop(ctx);
    } catch (const std::exception& ex) {
      ++w.counters.failures;
      log(w, ctx.now(), id, 0, "agent_failed", {{"error", ex.what()}, {"policy", "stop"}});
    } catch (...) {
      ++w.counters.failures;
      log(w, ctx.now(), id, 0, "agent_failed",
          {{"error", "unknown exception"}, {"policy", "stop"}});
    }
  }
  stop_options ignored;
  ctx.take_stop_request(ignored);
  sl.heir = heir;
  sl.impl.reset();
  sl.extras.reset();
  ++w.counters.stopped;

  boost::json::object fields{{"reason", reason}};
  if (auto name = routes.name_of(id); !name.empty()) fields["name"] = name;
  if (heir != broker::no_agent) fields["heir"] = raw(heir);
  if (!details.empty()) fields["details"] = std::move(details);
  log(w, ctx.now(), id, 0, "agent_stopped", std::move(fields));

  if (sl.parent != broker::no_agent) {
    envelope e;
    e.from = id;
    e.to = sl.parent;
    e.send_time = ctx.now();
    e.deliver_time = ctx.now() + config.lookahead;
    e.seq = ++sl.next_seq;
    e.payload = broker::msg::stopped{id, std::move(reason), heir, {}};
    ++w.counters.sent;
    enqueue(w, std::move(e));
  }
  structural_op op{ctx.now(), id, w.op_seq++, structural_op::kind::remove};
  w.ops.push_back(std::move(op));
}

agent_id sim_runtime::impl::create_agent(actor_factory make, spawn_options& o, agent_id parent,
                                         sim_time t, worker& serial) {
  const agent_id id{slots.size()};
  if (!o.name.empty()) {
    if (auto named = routes.name_agent(id, o.name); !named) {
      log(serial, t, parent, 1, "spawn_failed",
          {{"name", o.name}, {"kind", o.kind}, {"error", named.error().message}});
      return broker::no_agent;
    }
  }
  slot& sl = slots.emplace_back();
  sl.impl = make ? make() : nullptr;
  if (!sl.impl) {
    routes.remove(id);
    sl.state = slot_state::stopped;
    log(serial, t, parent, 1, "spawn_failed",
        {{"name", o.name}, {"kind", o.kind}, {"error", "the factory made no actor"}});
    return broker::no_agent;
  }
  sl.random.reseed(config.seed, raw(id));
  sl.parent = parent;
  sl.policy = o.on_failure;
  sl.state = slot_state::starting;
  if (o.on_failure == failure_policy::restart) sl.more().factory = std::move(make);
  for (const auto& g : o.groups) routes.join(g, id);
  for (const auto& tp : o.topics) routes.subscribe(tp, id);
  ++serial.counters.spawned;

  boost::json::object fields;
  if (!o.name.empty()) fields["name"] = o.name;
  if (!o.kind.empty()) fields["kind"] = o.kind;
  fields["parent"] = raw(parent);
  if (!o.reason.empty()) fields["reason"] = o.reason;
  if (!o.details.empty()) fields["details"] = std::move(o.details);
  log(serial, t, id, 1, "agent_spawned", std::move(fields));
  return id;
}

void sim_runtime::impl::apply(structural_op& op, worker& serial) {
  using k = structural_op::kind;
  switch (op.what) {
    case k::spawn: {
      const agent_id child = create_agent(std::move(op.make), op.options, op.agent, op.t, serial);
      if (child == broker::no_agent) {
        // The parent learns of the failure as a notice without a child.
        envelope notice;
        notice.from = op.agent;
        notice.to = op.agent;
        notice.send_time = op.t;
        notice.deliver_time = op.t + config.lookahead;
        notice.seq = ++slots[raw(op.agent)].next_seq;
        notice.payload = broker::msg::spawned{broker::no_agent, op.options.tag, op.options.name};
        enqueue(serial, std::move(notice));
        return;
      }
      envelope start;
      start.from = op.agent;
      start.to = child;
      start.send_time = op.t;
      start.deliver_time = op.t + config.lookahead;
      start.kind = envelope_kind::start;
      enqueue(serial, std::move(start));
      envelope notice;
      notice.from = child;
      notice.to = op.agent;
      notice.send_time = op.t;
      notice.deliver_time = op.t + config.lookahead;
      notice.seq = ++slots[raw(child)].next_seq;
      notice.payload = broker::msg::spawned{child, op.options.tag, op.options.name};
      ++serial.counters.sent;
      enqueue(serial, std::move(notice));
      return;
    }
    case k::subscribe:
      routes.subscribe(op.name, op.agent);
      return;
    case k::unsubscribe:
      routes.unsubscribe(topic_id{op.id}, op.agent);
      return;
    case k::join:
      routes.join(op.name, op.agent);
      return;
    case k::leave:
      routes.leave(group_id{op.id}, op.agent);
      return;
    case k::remove:
      routes.remove(op.agent);
      return;
  }
}

void sim_runtime::impl::barrier() {
  processed = window;
  worker& serial = workers.back();
  // The barrier's own mail was drained by the window that just ran.
  serial.min_window_sent = std::numeric_limits<std::int64_t>::max();
  // Structural changes, in an order no thread count can change.
  auto& ops = barrier_ops;
  ops.clear();
  for (auto& w : workers) {
    std::move(w.ops.begin(), w.ops.end(), std::back_inserter(ops));
    w.ops.clear();
  }
  std::sort(ops.begin(), ops.end(),
            [](const structural_op& a, const structural_op& b) { return a.key() < b.key(); });
  for (auto& op : ops) apply(op, serial);

  // Events of the window, in their total order.
  auto& events = barrier_events;
  events.clear();
  for (auto& w : workers) {
    std::move(w.events.begin(), w.events.end(), std::back_inserter(events));
    w.events.clear();
  }
  std::sort(events.begin(), events.end(),
            [](const event_record& a, const event_record& b) { return a.key() < b.key(); });
  if (config.events != nullptr) {
    for (const auto& e : events) config.events->write(e.line);
    config.events->maybe_flush();
  }
  totals.events += events.size();

  for (auto& w : workers) {
    if (w.run_failure && !failure) {
      // Earliest failure by (t, agent) across threads, so the message is deterministic.
      const auto* first = &*w.run_failure;
      for (auto& other : workers)
        if (other.run_failure &&
            std::tie(std::get<0>(*other.run_failure), std::get<1>(*other.run_failure)) <
                std::tie(std::get<0>(*first), std::get<1>(*first)))
          first = &*other.run_failure;
      failure = error{errc::run_failed, std::get<2>(*first)};
    }
  }
  for (auto& w : workers) w.run_failure.reset();
  ++totals.windows;

  parity = 1 - parity;
  if (failure || !choose_next_window()) done = true;
}

sim_runtime::impl::~impl() = default;

bool sim_runtime::impl::choose_next_window() {
  std::int64_t next = std::numeric_limits<std::int64_t>::max();
  for (auto& w : workers) next = std::min(next, w.min_window_sent);
  for (auto& sh : shards) {
    // Nothing before the last window run can hold mail (outside input arrives at now(), which
    // is not earlier): start every shard's scan there, not where the shard last had mail.
    sh.future.advance(processed);
    const std::int64_t win = sh.future.next();
    if (win == std::numeric_limits<std::int64_t>::max() || win * config.lookahead >= until) {
      continue;
    }
    // Only the window holding `until` can hold mail both before and after it; if all of it is
    // after, so is everything later.
    const auto* bucket = sh.future.waiting(win);  // the window may be beyond the ring
    const bool any_due = (win + 1) * config.lookahead <= until ||
                         (bucket != nullptr &&
                          std::any_of(bucket->begin(), bucket->end(), [this](const envelope& e) {
                            return e.deliver_time < until;
                          }));
    if (any_due) next = std::min(next, win);
  }
  if (next == std::numeric_limits<std::int64_t>::max() || next * config.lookahead >= until) {
    return false;
  }
  window = next;
  return true;
}

sim_runtime::sim_runtime(sim_config config) : impl_(std::make_unique<impl>(config)) {}
sim_runtime::~sim_runtime() = default;

result<agent_id> sim_runtime::spawn(actor_factory make, spawn_options o) {
  auto& rt = *impl_;
  impl::worker& serial = rt.workers.back();
  if (!o.name.empty() && rt.routes.lookup(o.name)) {
    return fail(errc::invalid_argument, "an agent called \"" + o.name + "\" exists already");
  }
  const agent_id id = rt.create_agent(std::move(make), o, broker::no_agent, rt.now_, serial);
  if (id == broker::no_agent) {
    return fail(errc::invalid_argument, "the factory for \"" + o.name + "\" made no actor");
  }
  // Everything before now_ is written already, so set-up events can go out at once.
  rt.write_serial_events();
  envelope start;
  start.to = id;
  start.send_time = rt.now_;
  start.deliver_time = rt.now_;
  start.kind = broker::envelope_kind::start;
  rt.enqueue_outside(std::move(start));
  return id;
}

void sim_runtime::post(agent_id to, message m, sim_time delay) {
  auto& rt = *impl_;
  envelope e;
  e.to = to;
  e.send_time = rt.now_;
  e.deliver_time = rt.now_ + std::max<sim_time>(delay, 0);
  e.seq = ++rt.outside_seq;
  e.payload = std::move(m);
  rt.enqueue_outside(std::move(e));
}

bool sim_runtime::step(sim_time until) {
  auto& rt = *impl_;
  rt.until = until;
  if (rt.failure) return false;
  rt.done = false;
  if (!rt.choose_next_window()) return false;
  for (std::size_t s = 0; s < rt.shards.size(); ++s) rt.process_shard(s);
  rt.barrier();
  // As after a run: outside input goes in no earlier than the last delivery.
  for (const auto& w : rt.workers) rt.now_ = std::max(rt.now_, w.last_delivery);
  return !rt.done;
}

result<run_stats> sim_runtime::run(sim_time until) {
  auto& rt = *impl_;
  rt.until = until;
  rt.done = false;
  if (rt.failure) return *rt.failure;
  if (rt.choose_next_window()) {
    if (rt.config.threads == 1) {
      while (!rt.done) {
        rt.process_shard(0);
        rt.barrier();
      }
    } else {
      const unsigned n = rt.config.threads;
      window_barrier sync(n);
      // Windows with little mail are not worth waking the other threads for: the thread that
      // completes the barrier runs them alone, every shard in turn, until a busy one comes.
      // Which thread runs a shard changes nothing in the output.
      constexpr std::size_t parallel_from = 256;
      auto at_barrier = [&rt]() noexcept {
        try {
          rt.barrier();
          while (!rt.done && rt.mail_in_window() < parallel_from) {
            for (std::size_t s = 0; s < rt.shards.size(); ++s) {
              if (rt.has_mail(s)) {
                rt.process_shard(s);
              } else {
                rt.workers[s].min_window_sent = std::numeric_limits<std::int64_t>::max();
              }
            }
            rt.barrier();
          }
        } catch (const std::exception& e) {
          rt.failure = error{errc::run_failed, std::string("kernel barrier: ") + e.what()};
          rt.done = true;
        }
      };
      auto loop = [&rt, &sync, &at_barrier](std::size_t s) {
        while (true) {
          rt.process_shard(s);
          sync.arrive_and_wait(at_barrier);
          if (rt.done) break;
        }
      };
      boost::asio::thread_pool pool(n - 1);
      for (std::size_t s = 1; s < n; ++s) boost::asio::post(pool, [&loop, s] { loop(s); });
      loop(0);
      pool.join();
    }
  }
  if (rt.config.events != nullptr) {
    if (auto flushed = rt.config.events->flush(); !flushed) return flushed.error();
  }
  // The clock reaches `until`, or the last delivery when the run ends by running dry.
  sim_time last = 0;
  for (const auto& w : rt.workers) last = std::max(last, w.last_delivery);
  rt.now_ = std::max(rt.now_, until != time_never ? until : last);
  if (rt.failure) return *rt.failure;
  return stats();
}

run_stats sim_runtime::stats() const {
  const auto& rt = *impl_;
  run_stats s = rt.totals;
  for (const auto& w : rt.workers) {
    s.delivered += w.counters.delivered;
    s.sent += w.counters.sent;
    s.dead_letters += w.counters.dead_letters;
    s.forwarded += w.counters.forwarded;
    s.timeouts += w.counters.timeouts;
    s.spawned += w.counters.spawned;
    s.stopped += w.counters.stopped;
    s.failures += w.counters.failures;
  }
  s.end_time = rt.now_;
  for (const auto& w : rt.workers) s.end_time = std::max(s.end_time, w.last_delivery);
  s.alive = s.spawned - s.stopped;
  return s;
}

sim_time sim_runtime::now() const noexcept {
  return impl_->now_;
}

const broker::registry& sim_runtime::routes() const noexcept {
  return impl_->routes;
}

bool sim_runtime::alive(agent_id id) const noexcept {
  const auto i = raw(id);
  if (i == 0 || i >= impl_->slots.size()) return false;
  const auto state = impl_->slots[i].state;
  return state == slot_state::alive || state == slot_state::starting;
}

}  // namespace colony::engine

namespace colony::engine {

actor* sim_runtime::inspect(agent_id id) noexcept {
  if (!alive(id)) return nullptr;
  return impl_->slots[raw(id)].impl.get();
}

agent_id sim_runtime::next_agent_id() const noexcept {
  return agent_id{impl_->slots.size()};
}

}  // namespace colony::engine
