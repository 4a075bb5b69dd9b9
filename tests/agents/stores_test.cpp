// The per-locale stores as agents use them: the scenario's `stores` section, then the store
// keeper of locale "finance" driven in a SimRuntime by clients of several locales that send it
// store_request operations at chosen times and listen for the tables it announces. The tests judge
// the replies the clients get, the events the run logs, the keeper's counters and the store itself
// (dumped after the run, reopened from the same pool).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "colony/agents/stores.hpp"
#include "colony/base/assert.hpp"
#include "colony/base/time.hpp"
#include "colony/engine/sim_runtime.hpp"
#include "colony/memory/locale_store.hpp"
#include "test_support.hpp"

namespace colony::agents {
namespace {

namespace fs = std::filesystem;
namespace msg = broker::msg;
using boost::json::array;
using boost::json::object;
using broker::agent_id;
using broker::envelope;
using broker::raw;

constexpr sim_time link = 1 * msec;  // the runtime's link latency (lookahead)
constexpr std::string_view home = "finance";

// The policy

TEST(StorePolicy, AnEmptyObjectMeansNoStores) {
  const auto p = store_policy::from_json({});
  EXPECT_FALSE(p.enabled);
  EXPECT_EQ(p.store.flush_every, 100 * msec);
  EXPECT_TRUE(p.access.trusted.empty());
}

TEST(StorePolicy, AFilledObjectGivesEveryField) {
  // As the loader fills it in: durations in µs.
  const auto p = store_policy::from_json(object{
      {"enabled", true},
      {"store",
       {{"flush_every", 50 * msec}, {"max_open", 4}, {"cache_kib", 64}, {"archive_idle", hour}}},
      {"memory",
       {{"short_keep", 6},
        {"summarize", 3},
        {"episode_threshold", 0.7},
        {"episode_bonus", 0.1},
        {"episodes_for_full", 2}}},
      {"shared", {{"create_after", 2}, {"ttl", 5 * minute}}},
      {"external", {{"latency", 2 * sec}, {"cost", 0.01}}},
      {"access",
       {{"trusted", {{"finance", array{"science", "law"}}}},
        {"max_level", "write"},
        {"expires", 2 * day},
        {"max_requests", 3},
        {"require_justification", false}}}});
  EXPECT_TRUE(p.enabled);
  EXPECT_EQ(p.store.flush_every, 50 * msec);
  EXPECT_EQ(p.store.max_open, 4u);
  EXPECT_EQ(p.store.cache_kib, 64u);
  EXPECT_EQ(p.store.archive_idle, hour);
  EXPECT_EQ(p.memory.short_keep, 6u);
  EXPECT_EQ(p.memory.summarize, 3u);
  EXPECT_EQ(p.memory.episode_threshold, 0.7);
  EXPECT_EQ(p.memory.episode_bonus, 0.1);
  EXPECT_EQ(p.memory.episodes_for_full, 2u);
  EXPECT_EQ(p.shared.create_after, 2u);
  EXPECT_EQ(p.shared.ttl, 5 * minute);
  EXPECT_EQ(p.external.latency, 2 * sec);
  EXPECT_EQ(p.external.cost, 0.01);
  const std::map<std::string, std::vector<std::string>> trusted = {{"finance", {"science", "law"}}};
  EXPECT_EQ(p.access.trusted, trusted);
  EXPECT_EQ(p.access.max_level, "write");
  EXPECT_EQ(p.access.expires, 2 * day);
  EXPECT_EQ(p.access.max_requests, 3u);
  EXPECT_FALSE(p.access.require_justification);
}

// What the clients send

/// One operation a client sends at `at`: as a request (its reply is recorded) or a plain send.
struct cue {
  sim_time at = 0;
  msg::store_request what;
  bool ask = true;
};
using script = std::vector<cue>;

cue ask(sim_time at, msg::store_request r) {
  return {at, std::move(r), true};
}
cue tell(sim_time at, msg::store_request r) {
  return {at, std::move(r), false};
}

msg::store_request create(std::string agent, std::string table, std::string reason,
                          std::string locale = std::string(home)) {
  return {.op = "create_table",
          .agent = std::move(agent),
          .locale = std::move(locale),
          .table = std::move(table),
          .text = std::move(reason)};
}
msg::store_request put(std::string agent, std::string key, std::string value,
                       std::string locale = std::string(home)) {
  return {.op = "put",
          .agent = std::move(agent),
          .locale = std::move(locale),
          .table = "fx",
          .key = std::move(key),
          .value = std::move(value)};
}
msg::store_request lookup(std::string agent, std::string key,
                          std::string locale = std::string(home), std::string table = "fx") {
  return {.op = "lookup",
          .agent = std::move(agent),
          .locale = std::move(locale),
          .table = std::move(table),
          .key = std::move(key)};
}
msg::store_request access(std::string agent, std::string locale, std::string level,
                          std::string justification, std::string table = "fx") {
  return {.op = "request_access",
          .agent = std::move(agent),
          .locale = std::move(locale),
          .table = std::move(table),
          .text = std::move(justification),
          .level = std::move(level)};
}
msg::store_request record(std::string agent, std::string family, double quality, std::string text,
                          std::uint64_t task) {
  return {.op = "record",
          .agent = std::move(agent),
          .locale = std::string(home),
          .family = std::move(family),
          .text = std::move(text),
          .task = broker::task_id{task},
          .answer = 1,
          .quality = quality};
}
msg::store_request recall(std::string agent, std::string family) {
  return {.op = "recall",
          .agent = std::move(agent),
          .locale = std::string(home),
          .family = std::move(family)};
}
msg::store_request merge(std::string from, std::string into) {
  return {.op = "merge",
          .agent = std::move(from),
          .locale = std::string(home),
          .value = std::move(into)};
}

const std::string why_fx = "fx tasks need EURUSD rows";

/// Agent "a" of finance makes table fx at 0 and writes EURUSD = 1.08 into it (arriving at 2 ms;
/// committed by the first flush).
script fx_table() {
  return {ask(0, create("a", "fx", "fetched EURUSD 3 times")),
          tell(1 * msec, put("a", "EURUSD", "1.08"))};
}

// The test actors

/// A reply a client got, to which of its cues, and when.
struct answer {
  sim_time t = 0;
  std::size_t cue = 0;
  msg::store_reply reply;
};

/// An announcement a client heard, from whom, and when.
struct heard {
  sim_time t = 0;
  agent_id from{};
  msg::db_announce what;
};

/// Plays its script to the keeper, keeps (and logs, as "answer") every reply and keeps (and
/// logs, as "heard") every table announced to it.
class client final : public engine::actor {
 public:
  client(agent_id keeper, script cues) : keeper_(keeper), cues_(std::move(cues)) {}

  void on_start(engine::context& ctx) override {
    for (std::size_t i = 0; i < cues_.size(); ++i) ctx.schedule(cues_[i].at, msg::tick{i, 0});
  }

  void handle(envelope& e, engine::context& ctx) override {
    if (const auto* t = broker::get_if<msg::tick>(&e.payload)) {
      const auto& c = cues_.at(t->id);
      if (c.ask) {
        asked_.emplace(raw(ctx.request(keeper_, c.what, 1 * day)), t->id);
      } else {
        ctx.send(keeper_, c.what);
      }
    } else if (const auto* r = broker::get_if<msg::store_reply>(&e.payload)) {
      const auto i = asked_.at(raw(e.correlation));
      ctx.log_event("answer", {{"cue", i},
                               {"op", r->op},
                               {"ok", r->ok},
                               {"hit", r->hit},
                               {"value", r->value},
                               {"updated", r->updated},
                               {"count", r->count},
                               {"level", r->level},
                               {"expires", r->expires},
                               {"error", r->error}});
      answers_.push_back({ctx.now(), i, *r});
    } else if (const auto* a = broker::get_if<msg::db_announce>(&e.payload)) {
      ctx.log_event("heard", {{"from", raw(e.from)},
                              {"locale", a->locale},
                              {"table", a->table},
                              {"owner", a->owner},
                              {"store", raw(a->store)}});
      heard_.push_back({ctx.now(), e.from, *a});
    } else if (broker::get_if<msg::timeout>(&e.payload) != nullptr) {
      ctx.log_event("no_answer");
    }
  }

  [[nodiscard]] const std::vector<answer>& answers() const noexcept { return answers_; }
  [[nodiscard]] const std::vector<heard>& announcements() const noexcept { return heard_; }

 private:
  agent_id keeper_;
  script cues_;
  std::map<std::uint64_t, std::size_t> asked_;  // correlation -> cue
  std::vector<answer> answers_;
  std::vector<heard> heard_;
};

// The world

/// A directory under the system's temporary one, removed with this object.

/// Quick to follow: a flush every 100 ms, rows fresh for 10 minutes, four short-term memories
/// kept, finance trusting science with read grants for an hour.
store_policy test_policy() {
  store_policy p;
  p.enabled = true;
  p.store.flush_every = 100 * msec;
  p.store.archive_idle = 7 * day;
  p.memory.short_keep = 4;
  p.memory.summarize = 2;
  p.memory.episode_threshold = 0.8;
  p.shared.ttl = 10 * minute;
  p.access.trusted = {{"finance", {"science"}}};
  p.access.max_level = "read";
  p.access.expires = 1 * hour;
  p.access.max_requests = 20;
  p.access.require_justification = true;
  return p;
}

/// A client: its name, its script, and the groups (locales) and topics it joins.
struct client_spec {
  std::string name;
  script cues;
  std::vector<std::string> groups;
  std::vector<std::string> topics;
};

/// What a run is made of.
struct setup {
  store_policy policy = test_policy();
  std::vector<client_spec> clients;
  unsigned threads = 1;
};

/// The keeper of finance's store (opened from a pool on a scratch directory) and the clients,
/// in one SimRuntime that a test runs in stages (until()), looking at counters, replies and
/// events in between, and at the store itself once the run is over (finish()).
class store_run {
 public:
  explicit store_run(setup s)
      : scratch_("stores-test", testing::next_run_name()),
        pool_(scratch_.path()),
        rt_(std::make_unique<engine::sim_runtime>(engine::sim_config{
            .seed = 5, .threads = s.threads, .lookahead = link, .events = &log_})) {
    auto opened = pool_.open(home);
    COLONY_ASSERT(opened.has_value());
    auto store = std::make_shared<std::unique_ptr<memory::locale_store>>(std::move(*opened));
    keeper_ =
        spawn([policy = s.policy, store] { return make_store_keeper(policy, std::move(*store)); },
              {.name = "store:finance", .kind = "store"});
    for (auto& c : s.clients) {
      clients_.push_back(spawn(
          [to = keeper_, cues = std::move(c.cues)] { return std::make_unique<client>(to, cues); },
          {.name = c.name,
           .kind = "client",
           .groups = std::move(c.groups),
           .topics = std::move(c.topics)}));
    }
  }

  /// Runs up to `t` (exclusive) and reads the events logged so far.
  void until(sim_time t) {
    COLONY_ASSERT(rt_ != nullptr);
    const auto stats = rt_->run(t);
    ASSERT_TRUE(stats);
    EXPECT_EQ(stats->failures, 0u) << "a handler threw";
    end_ = t;
    parsed_.clear();
    const auto& text = log_.contents();
    for (std::size_t pos = 0; pos < text.size();) {
      const auto end = text.find('\n', pos);
      parsed_.push_back(
          boost::json::parse(std::string_view(text).substr(pos, end - pos)).as_object());
      pos = end + 1;
    }
  }

  [[nodiscard]] store_counters counters() { return probe().counters(); }
  /// The counters as finish() left them.
  [[nodiscard]] const store_counters& finished() const noexcept { return finished_; }

  /// Ends the run: the keeper commits what is queued and closes the store, the runtime (and
  /// the keeper with it) goes, and the store is opened again from the same pool.
  [[nodiscard]] std::unique_ptr<memory::locale_store> finish() {
    const auto closed = probe().finish(end_);
    EXPECT_TRUE(closed) << closed.error().message;
    finished_ = probe().counters();
    rt_.reset();
    auto reopened = pool_.open(home);
    COLONY_ASSERT(reopened.has_value());
    return std::move(*reopened);
  }

  /// Ends the run (finish()) and dumps the store, checking it is sound.
  [[nodiscard]] std::string dump() {
    const auto store = finish();
    const auto sound = store->integrity_check();
    EXPECT_TRUE(sound && *sound == "ok");
    const auto d = store->dump();
    EXPECT_TRUE(d) << d.error().message;
    return d ? *d : "";
  }

  /// Events of `type`, in log order.
  [[nodiscard]] std::vector<object> events(std::string_view type) const {
    std::vector<object> out;
    for (const auto& e : parsed_) {
      if (e.at("type").as_string() == type) out.push_back(e);
    }
    return out;
  }

  /// The replies client `c` got, in order; its reply to cue `i`.
  [[nodiscard]] const std::vector<answer>& answers(std::size_t c) {
    return the_client(c).answers();
  }
  [[nodiscard]] answer answer_to(std::size_t c, std::size_t i) {
    for (const auto& a : answers(c)) {
      if (a.cue == i) return a;
    }
    ADD_FAILURE() << "client " << c << " got no reply to cue " << i;
    return {};
  }
  /// The tables announced to client `c`.
  [[nodiscard]] const std::vector<heard>& announcements(std::size_t c) {
    return the_client(c).announcements();
  }

  [[nodiscard]] agent_id keeper() const noexcept { return keeper_; }
  [[nodiscard]] const std::string& log_text() const noexcept { return log_.contents(); }
  [[nodiscard]] memory::pool_counts pool_counts() const { return pool_.counts(); }

 private:
  agent_id spawn(engine::actor_factory make, engine::spawn_options o) {
    const auto id = rt_->spawn(std::move(make), std::move(o));
    COLONY_ASSERT(id.has_value());
    return *id;
  }
  store_probe& probe() {
    COLONY_ASSERT(rt_ != nullptr);
    auto* p = dynamic_cast<store_probe*>(rt_->inspect(keeper_));
    COLONY_ASSERT(p != nullptr);
    return *p;
  }
  const client& the_client(std::size_t c) {
    COLONY_ASSERT(rt_ != nullptr);
    const auto* p = dynamic_cast<const client*>(rt_->inspect(clients_.at(c)));
    COLONY_ASSERT(p != nullptr);
    return *p;
  }

  testing::scratch_dir scratch_;
  memory::store_pool pool_;  // outlives the runtime, whose keeper holds a store of it
  engine::event_log log_;
  std::unique_ptr<engine::sim_runtime> rt_;
  agent_id keeper_{};
  std::vector<agent_id> clients_;
  std::vector<object> parsed_;
  sim_time end_ = 0;
  store_counters finished_;
};

std::uint64_t u64(const object& o, std::string_view key) {
  return o.at(key).to_number<std::uint64_t>();
}
std::int64_t i64(const object& o, std::string_view key) {
  return o.at(key).to_number<std::int64_t>();
}
std::string str(const object& o, std::string_view key) {
  return std::string(o.at(key).as_string());
}
bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

/// The rows the dump `d` lists for `table`, one line each.
std::vector<std::string> dumped_rows(const std::string& d, std::string_view table) {
  std::vector<std::string> out;
  std::istringstream lines(d);
  bool in = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("table ")) {
      in = line.starts_with("table " + std::string(table) + " (");
    } else if (in) {
      out.push_back(line);
    }
  }
  return out;
}

/// Field `i` (from 0) of a dumped row.
std::string field(const std::string& row, std::size_t i) {
  std::size_t begin = 0;
  for (std::size_t k = 0; k < i; ++k) begin = row.find('|', begin) + 1;
  return row.substr(begin, row.find('|', begin) - begin);
}

// Batching

TEST(StoreKeeper, WritesAreSeenOnlyAfterTheNextFlush) {
  script s = fx_table();
  s.push_back(ask(20 * msec, lookup("b", "EURUSD")));   // 2: same window as the put
  s.push_back(ask(150 * msec, lookup("b", "EURUSD")));  // 3: after the flush at 101 ms
  s.push_back(tell(450 * msec, record("a", "fx", 0.9, "note", 1)));
  store_run run({.clients = {{.name = "desk", .cues = s}}});

  // The first write (the table, at 1 ms + the link) is committed flush_every later: 101 ms.
  run.until(101 * msec);
  EXPECT_EQ(run.counters().flushes, 0u);
  EXPECT_EQ(run.counters().rows, 0u);
  const auto early = run.answer_to(0, 2);
  EXPECT_TRUE(early.reply.ok) << early.reply.error;
  EXPECT_FALSE(early.reply.hit) << "the put is still queued";

  run.until(101 * msec + 1);
  const auto first = run.counters();
  EXPECT_EQ(first.flushes, 1u);
  EXPECT_GT(first.rows, 0u);

  run.until(1 * sec);
  const auto late = run.answer_to(0, 3);
  EXPECT_TRUE(late.reply.ok) << late.reply.error;
  EXPECT_TRUE(late.reply.hit);
  EXPECT_EQ(late.reply.value, "1.08");
  EXPECT_EQ(late.reply.updated, 1 * msec + link);
  const auto c = run.counters();
  // Then the hit's use of fx (at 151 ms, committed at 251) and the record (451 -> 551): a
  // commit only where something was written.
  EXPECT_EQ(c.flushes, 3u);
  EXPECT_GT(c.rows, first.rows);

  const auto d = run.dump();
  std::vector<sim_time> times;
  std::uint64_t rows = 0;
  for (const auto& row : dumped_rows(d, "commits")) {
    times.push_back(std::stoll(field(row, 1)));
    rows += std::stoull(field(row, 2));
  }
  EXPECT_EQ(times, (std::vector<sim_time>{101 * msec, 251 * msec, 551 * msec})) << d;
  EXPECT_EQ(rows, c.rows) << "the counters count what the commits wrote";
}

TEST(StoreKeeper, FinishingCommitsWhatIsQueuedAndCountsTheTransaction) {
  store_run run({.clients = {{.name = "desk", .cues = fx_table()}}});
  run.until(50 * msec);
  EXPECT_EQ(run.counters().flushes, 0u);
  const auto d = run.dump();
  const auto commits = dumped_rows(d, "commits");
  ASSERT_EQ(commits.size(), 1u) << d;
  EXPECT_EQ(field(commits[0], 1), std::to_string(50 * msec));
  EXPECT_EQ(dumped_rows(d, "shared__fx"),
            std::vector<std::string>{"\"EURUSD\"|\"1.08\"|\"a\"|2000"});
  EXPECT_EQ(run.finished().rows, std::stoull(field(commits[0], 2)));
  EXPECT_EQ(run.finished().flushes, commits.size()) << "flushes counts transactions";
}

// Creating tables

TEST(StoreKeeper, CreatingATableAnnouncesItToTheLocaleAndToEveryLocaleOnce) {
  store_run run({.clients = {{.name = "maker",
                              .cues = {ask(0, create("a", "fx", "fetched EURUSD 3 times")),
                                       ask(10 * msec, create("b", "fx", "fetched GBPUSD 3 times")),
                                       ask(20 * msec, create("s1", "rates", "mine", "science"))}},
                             {.name = "neighbour", .groups = {"finance"}},
                             {.name = "listener",
                              .groups = {"science"},
                              .topics = {std::string(broker::stores_topic)}},
                             {.name = "stranger", .groups = {"science"}}}});
  run.until(1 * sec);

  const auto created = run.events("db_created");
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(u64(created[0], "agent"), raw(run.keeper()));
  EXPECT_EQ(i64(created[0], "t"), link);
  EXPECT_EQ(str(created[0], "locale"), "finance");
  EXPECT_EQ(str(created[0], "table"), "fx");
  EXPECT_EQ(str(created[0], "owner"), "a");
  EXPECT_EQ(str(created[0], "reason"), "fetched EURUSD 3 times");
  EXPECT_EQ(run.counters().tables, 1u);

  EXPECT_TRUE(run.answer_to(0, 0).reply.ok);
  EXPECT_TRUE(run.answer_to(0, 1).reply.ok) << "a table that exists is used";
  const auto foreign = run.answer_to(0, 2).reply;
  EXPECT_FALSE(foreign.ok);
  EXPECT_TRUE(contains(foreign.error, "is for agents of finance")) << foreign.error;

  // Broadcast to finance and published on stores_topic: once each, never to others.
  for (const std::size_t c : {1, 2}) {
    const auto& got = run.announcements(c);
    ASSERT_EQ(got.size(), 1u) << "client " << c;
    EXPECT_EQ(got[0].t, link + link);
    EXPECT_EQ(got[0].from, run.keeper());
    EXPECT_EQ(got[0].what.locale, "finance");
    EXPECT_EQ(got[0].what.table, "fx");
    EXPECT_EQ(got[0].what.owner, "a");
    EXPECT_EQ(got[0].what.store, run.keeper());
  }
  EXPECT_TRUE(run.announcements(0).empty()) << "the maker is in no group and not subscribed";
  EXPECT_TRUE(run.announcements(3).empty()) << "science hears of it on the topic only";

  const auto store = run.finish();
  const auto tables = store->shared_tables();
  ASSERT_TRUE(tables);
  ASSERT_EQ(tables->size(), 1u);
  EXPECT_EQ((*tables)[0].name, "fx");
  EXPECT_EQ((*tables)[0].owner, "a");
  EXPECT_EQ((*tables)[0].created, link);
}

// Lookups

TEST(StoreKeeper, LookupsHitFreshRowsAndMissStaleOrUnknownOnes) {
  const auto ttl = test_policy().shared.ttl;
  constexpr sim_time written = 1 * msec + link;
  script s = fx_table();
  s.push_back(ask(1 * sec, lookup("b", "EURUSD")));                      // 2
  s.push_back(ask(2 * sec, lookup("b", "EURUSD")));                      // 3
  s.push_back(ask(3 * sec, lookup("c", "EURUSD")));                      // 4
  s.push_back(ask(4 * sec, lookup("b", "GBPUSD")));                      // 5: no such key
  s.push_back(ask(5 * sec, lookup("b", "EURUSD", "finance", "bonds")));  // 6: no such table
  s.push_back(ask(written + ttl - 2 * link, lookup("c", "EURUSD")));     // 7: ttl - 1 ms old
  s.push_back(ask(written + ttl - link, lookup("c", "EURUSD")));         // 8: exactly ttl old
  s.push_back(ask(written + ttl, lookup("b", "EURUSD")));                // 9: ttl + 1 ms old
  s.push_back(tell(6 * sec, {.op = "external", .agent = "b", .locale = "finance"}));
  store_run run({.clients = {{.name = "desk", .cues = s}}});
  run.until(written + ttl + 1 * sec);

  for (const std::size_t i : {2, 3, 4, 7, 8}) {
    const auto a = run.answer_to(0, i);
    EXPECT_TRUE(a.reply.ok) << i << ": " << a.reply.error;
    EXPECT_TRUE(a.reply.hit) << i;
    EXPECT_EQ(a.reply.value, "1.08") << i;
    EXPECT_EQ(a.reply.updated, written) << i;
  }
  for (const std::size_t i : {5, 9}) {
    const auto a = run.answer_to(0, i);
    EXPECT_TRUE(a.reply.ok) << i << ": " << a.reply.error;
    EXPECT_FALSE(a.reply.hit) << i;
    EXPECT_EQ(a.reply.value, "") << i;
  }
  const auto unknown = run.answer_to(0, 6).reply;
  EXPECT_FALSE(unknown.ok);
  EXPECT_EQ(unknown.error, "no shared table \"bonds\" in finance");

  const auto c = run.counters();
  EXPECT_EQ(c.lookups, 8u) << "every lookup asked, the unknown table's included";
  EXPECT_EQ(c.hits, 5u);
  EXPECT_EQ(c.hits_by, (std::map<std::string, std::uint64_t>{{"b", 2}, {"c", 3}}));
  EXPECT_EQ(c.foreign_reads, 0u);
  EXPECT_EQ(c.externals, 1u);

  // Each hit counted a use of the table.
  const auto store = run.finish();
  const auto tables = store->shared_tables();
  ASSERT_TRUE(tables);
  ASSERT_EQ(tables->size(), 1u);
  EXPECT_EQ((*tables)[0].hits, 5);
  EXPECT_EQ((*tables)[0].last_used, written + ttl) << "the last hit's time";
}

// Access between locales

TEST(StoreKeeper, ATrustedLocaleIsGrantedReadAccessUntilAccessExpires) {
  store_run run({.clients = {{.name = "desk", .cues = fx_table()},
                             {.name = "lab",
                              .cues = {ask(1 * sec, access("s1", "science", "read", why_fx))},
                              .groups = {"science"}}}});
  run.until(2 * sec);

  constexpr sim_time asked = 1 * sec + link;
  const sim_time expires = asked + test_policy().access.expires;
  const auto a = run.answer_to(1, 0).reply;
  EXPECT_TRUE(a.ok) << a.error;
  EXPECT_EQ(a.level, "read");
  EXPECT_EQ(a.expires, expires);

  const auto granted = run.events("access_granted");
  ASSERT_EQ(granted.size(), 1u);
  EXPECT_EQ(i64(granted[0], "t"), asked);
  EXPECT_EQ(str(granted[0], "locale"), "finance");
  EXPECT_EQ(str(granted[0], "table"), "fx");
  EXPECT_EQ(str(granted[0], "to"), "s1");
  EXPECT_EQ(str(granted[0], "to_locale"), "science");
  EXPECT_EQ(str(granted[0], "level"), "read");
  EXPECT_EQ(i64(granted[0], "expires"), expires);
  EXPECT_EQ(u64(granted[0], "grant"), 1u);
  EXPECT_EQ(str(granted[0], "justification"), why_fx);
  EXPECT_EQ(str(granted[0], "reason"), "science is trusted by finance");
  EXPECT_TRUE(run.events("access_denied").empty());
  EXPECT_EQ(run.counters().granted, 1u);
  EXPECT_EQ(run.counters().denied, 0u);

  const auto store = run.finish();
  const auto grants = store->active_grants("science", "s1", "fx", asked);
  ASSERT_TRUE(grants);
  ASSERT_EQ(grants->size(), 1u);
  EXPECT_EQ((*grants)[0].level, memory::access_level::read);
  EXPECT_EQ((*grants)[0].expires, expires);
  EXPECT_EQ((*grants)[0].justification, why_fx);
}

TEST(StoreKeeper, AccessIsDeniedForEachReasonOfThePolicy) {
  auto p = test_policy();
  p.store.flush_every = 1 * minute;  // the run lasts a day
  p.access.max_requests = 3;
  store_run run(
      {.policy = p,
       .clients = {{.name = "desk", .cues = fx_table()},
                   {.name = "lab",
                    .cues = {ask(1 * sec, access("s1", "science", "write", why_fx)),
                             ask(2 * sec, access("s1", "science", "read", "")),
                             ask(3 * sec, access("s1", "science", "read", why_fx, "bonds")),
                             ask(4 * sec, access("s1", "science", "read", why_fx)),
                             ask(day + 1 * sec, access("s1", "science", "read", why_fx))},
                    .groups = {"science"}},
                   {.name = "firm",
                    .cues = {ask(5 * sec, access("l1", "law", "read", why_fx))},
                    .groups = {"law"}}}});
  run.until(day + 2 * sec);

  const std::vector<std::string> reasons = {"write access is not given (max_level read)",
                                            "no justification given", "no shared table \"bonds\"",
                                            "more than 3 requests from science today"};
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    const auto a = run.answer_to(1, i).reply;
    EXPECT_FALSE(a.ok) << i;
    EXPECT_EQ(a.error, reasons[i]) << i;
    EXPECT_EQ(a.level, "") << i;
  }
  const auto law = run.answer_to(2, 0).reply;
  EXPECT_FALSE(law.ok);
  EXPECT_EQ(law.error, "finance does not trust law");
  const auto next_day = run.answer_to(1, 4).reply;
  EXPECT_TRUE(next_day.ok) << "a new day, a new count: " << next_day.error;

  const auto denied = run.events("access_denied");
  ASSERT_EQ(denied.size(), 5u);
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    EXPECT_EQ(str(denied[i], "reason"), reasons[i]);
    EXPECT_EQ(str(denied[i], "to"), "s1");
    EXPECT_EQ(str(denied[i], "to_locale"), "science");
    EXPECT_EQ(str(denied[i], "locale"), "finance");
  }
  EXPECT_EQ(str(denied[0], "level"), "write");
  EXPECT_EQ(str(denied[1], "justification"), "");
  EXPECT_EQ(str(denied[2], "table"), "bonds");
  EXPECT_EQ(str(denied[4], "reason"), "finance does not trust law");
  EXPECT_EQ(str(denied[4], "to"), "l1");
  EXPECT_EQ(str(denied[4], "to_locale"), "law");
  ASSERT_EQ(run.events("access_granted").size(), 1u);
  EXPECT_EQ(i64(run.events("access_granted")[0], "t"), day + 1 * sec + link);
  EXPECT_EQ(run.counters().denied, 5u);
  EXPECT_EQ(run.counters().granted, 1u);

  // Nothing denied was recorded.
  const auto store = run.finish();
  const auto grants = store->active_grants("science", "s1", "fx", day + 1 * sec + link);
  ASSERT_TRUE(grants);
  EXPECT_EQ(grants->size(), 1u);
  const auto law_grants = store->active_grants("law", "l1", "fx", 5 * sec + link);
  ASSERT_TRUE(law_grants);
  EXPECT_TRUE(law_grants->empty());
}

TEST(StoreKeeper, AReadGranteeReadsThroughTheReadOnlyConnectionAndCannotWrite) {
  store_run run({.clients = {{.name = "desk", .cues = fx_table()},
                             {.name = "lab",
                              .cues = {ask(1 * sec, lookup("s1", "EURUSD", "science")),
                                       ask(2 * sec, access("s1", "science", "read", why_fx)),
                                       ask(3 * sec, lookup("s1", "EURUSD", "science")),
                                       ask(4 * sec, put("s1", "EURUSD", "9.99", "science")),
                                       ask(5 * sec, lookup("s2", "EURUSD", "science")),
                                       ask(6 * sec, put("s2", "EURUSD", "7.77", "science"))},
                              .groups = {"science"}}}});
  run.until(10 * sec);

  const auto before = run.answer_to(1, 0).reply;
  EXPECT_FALSE(before.ok);
  EXPECT_EQ(before.error, "no access to finance/fx (ask with request_access)");
  EXPECT_TRUE(run.answer_to(1, 1).reply.ok);
  const auto read = run.answer_to(1, 2).reply;
  EXPECT_TRUE(read.ok) << read.error;
  EXPECT_TRUE(read.hit);
  EXPECT_EQ(read.value, "1.08");
  const auto write = run.answer_to(1, 3).reply;
  EXPECT_FALSE(write.ok);
  EXPECT_TRUE(contains(write.error, "readonly")) << write.error;
  EXPECT_FALSE(contains(write.error, ".sqlite")) << "no path: " << write.error;
  const auto other = run.answer_to(1, 4).reply;
  EXPECT_FALSE(other.ok) << "the grant is s1's, not science's";
  EXPECT_FALSE(run.answer_to(1, 5).reply.ok);

  const auto refused = run.events("write_refused");
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(i64(refused[0], "t"), 4 * sec + link);
  EXPECT_EQ(str(refused[0], "locale"), "finance");
  EXPECT_EQ(str(refused[0], "table"), "fx");
  EXPECT_EQ(str(refused[0], "key"), "EURUSD");
  EXPECT_EQ(str(refused[0], "by"), "s1");
  EXPECT_EQ(str(refused[0], "from_locale"), "science");
  EXPECT_EQ(str(refused[0], "grant"), "read");
  EXPECT_TRUE(contains(str(refused[0], "reason"), "readonly")) << refused[0];
  EXPECT_EQ(str(refused[0], "reason"), write.error);
  EXPECT_EQ(str(refused[1], "by"), "s2");
  EXPECT_EQ(str(refused[1], "grant"), "none");

  const auto c = run.counters();
  EXPECT_EQ(c.foreign_reads, 1u);
  EXPECT_EQ(c.hits, 1u);
  EXPECT_EQ(c.hits_by, (std::map<std::string, std::uint64_t>{{"s1", 1}}));
  EXPECT_EQ(c.writes_refused, 2u);
  EXPECT_EQ(c.granted, 1u);

  const auto d = run.dump();
  EXPECT_EQ(dumped_rows(d, "shared__fx"),
            std::vector<std::string>{"\"EURUSD\"|\"1.08\"|\"a\"|2000"})
      << d;
}

TEST(StoreKeeper, AWriteGranteeWritesIntoTheTable) {
  auto p = test_policy();
  p.access.max_level = "write";
  store_run run({.policy = p,
                 .clients = {{.name = "desk",
                              .cues =
                                  [] {
                                    auto s = fx_table();
                                    s.push_back(ask(3 * sec, lookup("a", "EURUSD")));  // 2
                                    return s;
                                  }()},
                             {.name = "lab",
                              .cues = {ask(1 * sec, access("s1", "science", "write", why_fx)),
                                       ask(2 * sec, put("s1", "EURUSD", "1.10", "science")),
                                       ask(2 * sec + 50 * msec, lookup("s1", "EURUSD", "science")),
                                       ask(3 * sec, lookup("s1", "EURUSD", "science"))},
                              .groups = {"science"}}}});
  run.until(4 * sec);

  const auto granted = run.answer_to(1, 0).reply;
  EXPECT_TRUE(granted.ok) << granted.error;
  EXPECT_EQ(granted.level, "write");
  const auto wrote = run.answer_to(1, 1).reply;
  EXPECT_TRUE(wrote.ok) << wrote.error;
  EXPECT_EQ(run.answer_to(1, 2).reply.value, "1.08") << "the write is queued until 2.1 s";
  EXPECT_EQ(run.answer_to(1, 3).reply.value, "1.10");
  const auto own = run.answer_to(0, 2).reply;
  EXPECT_TRUE(own.hit);
  EXPECT_EQ(own.value, "1.10");
  EXPECT_EQ(own.updated, 2 * sec + link);
  EXPECT_TRUE(run.events("write_refused").empty());
  EXPECT_EQ(run.counters().writes_refused, 0u);
  EXPECT_EQ(run.counters().foreign_reads, 2u);

  const auto d = run.dump();
  EXPECT_EQ(dumped_rows(d, "shared__fx"),
            std::vector<std::string>{"\"EURUSD\"|\"1.10\"|\"s1\"|2001000"})
      << d;
}

TEST(StoreKeeper, AGrantIsUsableAsSoonAsItIsGiven) {
  // The reply says the grant holds from now; the lookup comes before the next flush (1.1 s).
  store_run run({.clients = {{.name = "desk", .cues = fx_table()},
                             {.name = "lab",
                              .cues = {ask(1 * sec, access("s1", "science", "read", why_fx)),
                                       ask(1 * sec + 10 * msec, lookup("s1", "EURUSD", "science")),
                                       ask(2 * sec, lookup("s1", "EURUSD", "science"))},
                              .groups = {"science"}}}});
  run.until(3 * sec);
  const auto granted = run.answer_to(1, 0).reply;
  ASSERT_TRUE(granted.ok) << granted.error;
  const auto soon = run.answer_to(1, 1).reply;
  EXPECT_TRUE(soon.ok) << "granted at 1.001 s, asked at 1.011 s: " << soon.error;
  EXPECT_TRUE(soon.hit);
  const auto later = run.answer_to(1, 2).reply;
  EXPECT_TRUE(later.ok) << later.error;
  EXPECT_TRUE(later.hit);
}

TEST(StoreKeeper, AGrantEndsWhenItExpires) {
  auto p = test_policy();
  p.access.expires = 10 * minute;
  p.shared.ttl = 1 * hour;
  constexpr sim_time asked = 1 * sec + link;
  store_run run(
      {.policy = p,
       .clients = {{.name = "desk", .cues = fx_table()},
                   {.name = "lab",
                    .cues = {ask(1 * sec, access("s1", "science", "read", why_fx)),
                             ask(5 * minute, lookup("s1", "EURUSD", "science")),
                             ask(asked + 10 * minute - 2 * link, lookup("s1", "EURUSD", "science")),
                             ask(asked + 10 * minute - link, lookup("s1", "EURUSD", "science")),
                             ask(11 * minute, lookup("s1", "EURUSD", "science"))},
                    .groups = {"science"}}}});
  run.until(12 * minute);

  EXPECT_EQ(run.answer_to(1, 0).reply.expires, asked + 10 * minute);
  for (const std::size_t i : {1, 2}) {
    const auto a = run.answer_to(1, i).reply;
    EXPECT_TRUE(a.ok) << i << ": " << a.error;
    EXPECT_TRUE(a.hit) << i;
  }
  for (const std::size_t i : {3, 4}) {
    const auto a = run.answer_to(1, i).reply;
    EXPECT_FALSE(a.ok) << i << ": the grant ended at " << asked + 10 * minute;
    EXPECT_TRUE(contains(a.error, "no access")) << a.error;
  }
  EXPECT_EQ(run.counters().foreign_reads, 2u);
}

// Memory

TEST(StoreKeeper, RecordsAboveTheThresholdBecomeEpisodesAndOldMemoriesAreSummarized) {
  const std::vector<std::pair<std::string, double>> done = {
      {"fx", 0.9}, {"fx", 0.85}, {"fx", 0.5},   {"fx", 0.95},
      {"fx", 0.7}, {"fx", 0.8},  {"bonds", 0.9}};
  script s;
  for (std::size_t i = 0; i < done.size(); ++i) {
    s.push_back(
        tell(static_cast<sim_time>(i + 1) * msec,
             record("a", done[i].first, done[i].second, "note " + std::to_string(i + 1), i + 1)));
  }
  const std::size_t first_recall = s.size();
  s.push_back(ask(10 * msec, recall("a", "fx")));  // before the flush
  s.push_back(ask(200 * msec, recall("a", "fx")));
  s.push_back(ask(200 * msec, recall("a", "bonds")));
  s.push_back(ask(200 * msec, recall("b", "fx")));
  store_run run({.clients = {{.name = "desk", .cues = s}}});
  run.until(1 * sec);

  EXPECT_EQ(run.answer_to(0, first_recall).reply.count, 0u) << "the records are still queued";
  EXPECT_EQ(run.answer_to(0, first_recall + 1).reply.count, 4u) << "0.9, 0.85, 0.95 and 0.8";
  EXPECT_EQ(run.answer_to(0, first_recall + 2).reply.count, 1u);
  EXPECT_EQ(run.answer_to(0, first_recall + 3).reply.count, 0u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(run.answer_to(0, first_recall + i).reply.ok);
    EXPECT_EQ(run.answer_to(0, first_recall + i).reply.op, "recall");
  }
  EXPECT_EQ(run.counters().recalls, 4u);

  const auto store = run.finish();
  const auto fx = store->episodes("a", "fx", 0);
  ASSERT_TRUE(fx);
  EXPECT_EQ(fx->count, 4u) << "only episodes at or above the threshold are kept";
  ASSERT_TRUE(fx->best);
  EXPECT_EQ(fx->best->quality, 0.95);
  EXPECT_EQ(fx->best->text, "note 4");
  EXPECT_EQ(fx->best->task, 4);

  // Seven short-term memories, four kept: the oldest were folded into summaries.
  const auto short_term = store->short_term("a");
  ASSERT_TRUE(short_term);
  const auto keep = test_policy().memory.short_keep;
  EXPECT_LE(short_term->size(), keep);
  ASSERT_FALSE(short_term->empty());
  EXPECT_EQ(short_term->back().text, "note 7");
  const auto long_term = store->recall("a", 100);
  ASSERT_TRUE(long_term);
  ASSERT_FALSE(long_term->empty());
  std::size_t summarized = 0;
  for (const auto& m : *long_term) {
    ASSERT_TRUE(m.text.starts_with("summary of ")) << m.text;
    summarized += std::stoul(m.text.substr(std::string_view("summary of ").size()));
  }
  EXPECT_EQ(summarized + short_term->size(), done.size());
}

TEST(StoreKeeper, AMergeGivesTheHeirTheMergedAgentsMemoriesAndEpisodes) {
  script s;
  for (std::uint64_t i = 1; i <= 3; ++i) {
    s.push_back(tell(static_cast<sim_time>(i) * msec,
                     record("a", "fx", 0.9, "note " + std::to_string(i), i)));
  }
  s.push_back(ask(150 * msec, recall("b", "fx")));  // 3
  s.push_back(tell(200 * msec, merge("a", "b")));
  s.push_back(ask(350 * msec, recall("b", "fx")));  // 5
  s.push_back(ask(350 * msec, recall("a", "fx")));  // 6
  store_run run({.clients = {{.name = "desk", .cues = s}}});
  run.until(1 * sec);

  EXPECT_EQ(run.answer_to(0, 3).reply.count, 0u);
  EXPECT_EQ(run.answer_to(0, 5).reply.count, 3u);
  EXPECT_EQ(run.answer_to(0, 6).reply.count, 0u);
  const auto merged = run.events("stores_merged");
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(i64(merged[0], "t"), 200 * msec + link);
  EXPECT_EQ(str(merged[0], "locale"), "finance");
  EXPECT_EQ(str(merged[0], "from"), "a");
  EXPECT_EQ(str(merged[0], "to"), "b");
  EXPECT_EQ(str(merged[0], "reason"), "a merged into b");

  const auto store = run.finish();
  const auto heir = store->short_term("b");
  ASSERT_TRUE(heir);
  EXPECT_EQ(heir->size(), 3u);
  const auto gone = store->export_agent("a");
  ASSERT_TRUE(gone);
  EXPECT_TRUE(gone->memories.empty());
  EXPECT_TRUE(gone->episodes.empty());
}

// Archiving

TEST(StoreKeeper, AnIdleStoreIsArchivedAndReopensOnTheNextRequest) {
  auto p = test_policy();
  p.store.archive_idle = 1 * sec;
  script s = fx_table();
  s.push_back(ask(5 * sec, lookup("b", "EURUSD")));  // 2
  store_run run({.policy = p, .clients = {{.name = "desk", .cues = s}}});

  run.until(1 * sec);
  EXPECT_TRUE(run.events("db_archived").empty());
  EXPECT_GT(run.pool_counts().open, 0u);

  // Last used at 2 ms (the put): archived once idle for exactly a second.
  run.until(5 * sec);
  auto archived = run.events("db_archived");
  ASSERT_EQ(archived.size(), 1u) << "once, however long it stays idle";
  EXPECT_EQ(i64(archived[0], "t"), 1002 * msec);
  EXPECT_EQ(str(archived[0], "locale"), "finance");
  EXPECT_EQ(i64(archived[0], "idle"), 1 * sec);
  EXPECT_TRUE(str(archived[0], "reason").starts_with("unused for ")) << archived[0];
  EXPECT_EQ(run.counters().archived, 1u);
  EXPECT_EQ(run.pool_counts().open, 0u) << "its connections are closed";

  run.until(5500 * msec);
  const auto a = run.answer_to(0, 2).reply;
  EXPECT_TRUE(a.ok) << a.error;
  EXPECT_TRUE(a.hit);
  EXPECT_EQ(a.value, "1.08");
  EXPECT_EQ(a.updated, 2 * msec);
  EXPECT_GT(run.pool_counts().open, 0u) << "reopened by the lookup";

  run.until(7 * sec);
  archived = run.events("db_archived");
  ASSERT_EQ(archived.size(), 2u);
  EXPECT_EQ(i64(archived[1], "t"), 6001 * msec);  // a second after the lookup at 5.001 s
  EXPECT_EQ(run.counters().archived, 2u);

  const auto d = run.dump();
  EXPECT_EQ(dumped_rows(d, "shared__fx"),
            std::vector<std::string>{"\"EURUSD\"|\"1.08\"|\"a\"|2000"});
}

TEST(StoreKeeper, AnArchivedStoreServesAGranteeThroughAReopenedReadOnlyConnection) {
  auto p = test_policy();
  p.store.archive_idle = 1 * sec;
  store_run run({.policy = p,
                 .clients = {{.name = "desk", .cues = fx_table()},
                             {.name = "lab",
                              .cues = {ask(200 * msec, access("s1", "science", "read", why_fx)),
                                       ask(350 * msec, lookup("s1", "EURUSD", "science")),
                                       ask(3 * sec, lookup("s1", "EURUSD", "science")),
                                       ask(3 * sec, put("s1", "EURUSD", "9.99", "science"))},
                              .groups = {"science"}}}});
  run.until(3 * sec);
  const auto archived = run.events("db_archived");
  ASSERT_EQ(archived.size(), 1u);
  EXPECT_EQ(i64(archived[0], "t"), 1351 * msec) << "last used at 351 ms";
  EXPECT_EQ(run.pool_counts().open, 0u);

  run.until(4 * sec);
  const auto read = run.answer_to(1, 2).reply;
  EXPECT_TRUE(read.ok) << read.error;
  EXPECT_TRUE(read.hit);
  EXPECT_EQ(read.value, "1.08");
  const auto write = run.answer_to(1, 3).reply;
  EXPECT_FALSE(write.ok);
  EXPECT_TRUE(contains(write.error, "readonly")) << write.error;
  EXPECT_EQ(run.counters().writes_refused, 1u);
  EXPECT_EQ(run.counters().foreign_reads, 2u) << "the one at 351 ms and the one at 3 s";
}

// Determinism

/// Every operation at once, from three locales, over a minute, with archiving: the event log
/// and the store's dump.
std::pair<std::string, std::string> busy_run(unsigned threads) {
  auto p = test_policy();
  p.store.archive_idle = 20 * sec;
  p.access.max_level = "write";
  script desk = fx_table();
  for (std::uint64_t i = 1; i <= 9; ++i) {
    desk.push_back(
        tell(static_cast<sim_time>(i) * 300 * msec,
             record(i % 2 == 0 ? "a" : "b", i % 3 == 0 ? "bonds" : "fx",
                    0.6 + 0.05 * static_cast<double>(i), "note " + std::to_string(i), i)));
  }
  desk.push_back(ask(2 * sec, recall("a", "fx")));
  desk.push_back(tell(3 * sec, put("a", "GBPUSD", "1.27")));
  desk.push_back(ask(3 * sec, create("b", "rates", "fetched LIBOR 3 times")));
  desk.push_back(tell(4 * sec, merge("b", "a")));
  desk.push_back(ask(5 * sec, recall("a", "fx")));
  desk.push_back(ask(5 * sec, lookup("c", "GBPUSD")));
  desk.push_back(ask(50 * sec, lookup("c", "EURUSD")));
  script lab = {ask(1 * sec, lookup("s1", "EURUSD", "science")),
                ask(1 * sec, access("s1", "science", "read", why_fx)),
                ask(2 * sec, lookup("s1", "EURUSD", "science")),
                ask(2 * sec, put("s1", "EURUSD", "9.99", "science")),
                ask(3 * sec, access("s2", "science", "write", why_fx)),
                ask(4 * sec, put("s2", "EURUSD", "1.11", "science")),
                ask(5 * sec, lookup("s1", "EURUSD", "science"))};
  script firm = {ask(1 * sec, access("l1", "law", "read", why_fx)),
                 ask(1 * sec, lookup("l1", "EURUSD", "law"))};
  store_run run({.policy = p,
                 .clients = {{.name = "desk", .cues = desk, .groups = {"finance"}},
                             {.name = "lab",
                              .cues = lab,
                              .groups = {"science"},
                              .topics = {std::string(broker::stores_topic)}},
                             {.name = "firm", .cues = firm, .groups = {"law"}}},
                 .threads = threads});
  run.until(1 * minute);
  for (const auto type : {"answer", "heard", "db_created", "access_granted", "access_denied",
                          "write_refused", "stores_merged", "db_archived"}) {
    EXPECT_FALSE(run.events(type).empty()) << "no " << type << " with " << threads << " threads";
  }
  auto log = run.log_text();
  return {std::move(log), run.dump()};
}

TEST(StoreKeeper, RunsAreIdenticalWithOneAndTwoThreads) {
  const auto [log1, dump1] = busy_run(1);
  const auto [log2, dump2] = busy_run(2);
  EXPECT_FALSE(log1.empty());
  EXPECT_EQ(testing::first_difference(log1, log2), "");
  EXPECT_FALSE(dumped_rows(dump1, "episodes").empty());
  EXPECT_EQ(testing::first_difference(dump1, dump2), "");
}

}  // namespace
}  // namespace colony::agents
