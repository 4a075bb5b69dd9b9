// The solution library as agents use it: the scenario's `library` section and the path a
// similarity picks, then the librarian actor driven in a SimRuntime by a client that sends it
// queries and reports at chosen times, with stub reviewers where a test needs peer review. The
// tests judge the answers the client gets, the events the run logs, the librarian's counters and
// the library itself (saved and reopened) between runs.
#include "colony/agents/library.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "colony/agents/builtin.hpp"
#include "colony/base/assert.hpp"
#include "colony/base/time.hpp"
#include "colony/engine/sim_runtime.hpp"
#include "colony/memory/solution_library.hpp"
#include "colony/scenarios/loader.hpp"
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
using memory::solution_id;
using memory::solution_relative;

constexpr sim_time link = 1 * msec;  // the runtime's link latency (lookahead)
constexpr std::size_t dimension = 128;
constexpr std::int32_t right_answer = 2;  // what every successful report answered

// --- the policy ---------------------------------------------------------------------------------

/// The `library` object the loader fills in for a minimal scenario whose `library` is `given`
/// ("": the scenario has none).
object filled_library(std::string_view given) {
  register_builtin_kinds();
  std::string text = R"({"agents": [{"kind": "specialist", "name": "a", "backend": "m"}],
"backends": [{"name": "m"}],
"workload": {"entry": "a", "families": [{"name": "f", "domain": "d", "templates": ["t"]}]})";
  if (!given.empty()) text += ", \"library\": " + std::string(given);
  text += "}";
  const auto r = scenarios::parse_scenario(text, "library.json");
  EXPECT_TRUE(r) << (r.problems.empty() ? "" : r.problems.front().format());
  return r ? r.value->library : object{};
}

/// The documented defaults of every field but `enabled`.
void expect_defaults(const library_policy& p) {
  EXPECT_EQ(p.index.dimension, 256u);
  EXPECT_EQ(p.index.factory, "Flat");
  EXPECT_EQ(p.index.parameters, "");
  EXPECT_EQ(p.index.candidates, 3u);
  EXPECT_EQ(p.index.batch_window, 1 * msec);
  const std::array<double, library_tier_count> thresholds = {0.95, 0.85, 0.70, 0.60, 0.0};
  const std::array<double, library_tier_count> factors = {0.15, 0.35, 0.60, 0.85, 1.0};
  const std::array<double, library_tier_count> bonuses = {0.30, 0.20, 0.10, 0.05, 0.0};
  for (std::size_t i = 0; i < library_tier_count; ++i) {
    const auto& t = p.tiers[i];
    EXPECT_EQ(t.min_similarity, thresholds[i]) << i;
    EXPECT_EQ(t.latency, factors[i]) << i;
    EXPECT_EQ(t.cost, factors[i]) << i;
    EXPECT_EQ(t.skill_bonus, bonuses[i]) << i;
  }
  EXPECT_EQ(p.upkeep.every, 1 * day);
  EXPECT_EQ(p.upkeep.checkpoint, 0);
  EXPECT_TRUE(p.supersede.enabled);
  EXPECT_EQ(p.supersede.window, 7 * day);
  EXPECT_EQ(p.supersede.min_uses, 5u);
  EXPECT_EQ(p.supersede.margin, 0.05);
  EXPECT_TRUE(p.deprecate.enabled);
  EXPECT_EQ(p.deprecate.idle, 60 * day);
  EXPECT_TRUE(p.synthesize.enabled);
  EXPECT_EQ(p.synthesize.min_versions, 4u);
  EXPECT_EQ(p.synthesize.max_parents, 16u);
  EXPECT_TRUE(p.review.reviewers.empty());
  EXPECT_EQ(p.review.required, 1u);
  EXPECT_EQ(p.review.timeout, 10 * minute);
}

TEST(LibraryPolicy, AnEmptyObjectMeansNoLibrary) {
  EXPECT_FALSE(library_policy::from_json({}).enabled);
  const auto none = filled_library("");
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(library_policy::from_json(none).enabled);
  EXPECT_FALSE(library_policy::from_json(filled_library(R"({"enabled": false})")).enabled);
}

TEST(LibraryPolicy, AnEnabledObjectTakesTheDocumentedDefaults) {
  // As the loader fills it in (every section from library_sections()), and as code writes it.
  for (const auto& given :
       {filled_library("{}"), filled_library(R"({"enabled": true})"), object{{"enabled", true}}}) {
    const auto p = library_policy::from_json(given);
    EXPECT_TRUE(p.enabled) << given;
    expect_defaults(p);
  }
}

TEST(LibraryPolicy, GivenValuesReplaceTheDefaults) {
  const auto p = library_policy::from_json(filled_library(R"({
    "index": {"dimension": 64, "factory": "HNSW32", "parameters": "efSearch=64",
              "candidates": 5, "batch_window": "5ms"},
    "reuse": {"min_similarity": 0.9, "cost": 0.1},
    "adapt_logic": {"min_similarity": 0.75, "latency": 0.5, "skill_bonus": 0.2},
    "generate": {"cost": 1.5},
    "upkeep": {"every": "6h", "checkpoint": "30d"},
    "supersede": {"enabled": false, "window": "2d", "min_uses": 9, "margin": 0.2},
    "deprecate": {"enabled": false, "idle": "3d"},
    "synthesize": {"enabled": false, "min_versions": 3, "max_parents": 5},
    "review": {"reviewers": ["a"], "required": 1, "timeout": "2min"}})"));
  EXPECT_TRUE(p.enabled);
  EXPECT_EQ(p.index.dimension, 64u);
  EXPECT_EQ(p.index.factory, "HNSW32");
  EXPECT_EQ(p.index.parameters, "efSearch=64");
  EXPECT_EQ(p.index.candidates, 5u);
  EXPECT_EQ(p.index.batch_window, 5 * msec);
  EXPECT_EQ(p.factors(library_tier::reuse).min_similarity, 0.9);
  EXPECT_EQ(p.factors(library_tier::reuse).cost, 0.1);
  EXPECT_EQ(p.factors(library_tier::reuse).latency, 0.15);
  EXPECT_EQ(p.factors(library_tier::adapt_logic).min_similarity, 0.75);
  EXPECT_EQ(p.factors(library_tier::adapt_logic).latency, 0.5);
  EXPECT_EQ(p.factors(library_tier::adapt_logic).skill_bonus, 0.2);
  EXPECT_EQ(p.factors(library_tier::generate).cost, 1.5);
  EXPECT_EQ(p.upkeep.every, 6 * hour);
  EXPECT_EQ(p.upkeep.checkpoint, 30 * day);
  EXPECT_FALSE(p.supersede.enabled);
  EXPECT_EQ(p.supersede.window, 2 * day);
  EXPECT_EQ(p.supersede.min_uses, 9u);
  EXPECT_EQ(p.supersede.margin, 0.2);
  EXPECT_FALSE(p.deprecate.enabled);
  EXPECT_EQ(p.deprecate.idle, 3 * day);
  EXPECT_FALSE(p.synthesize.enabled);
  EXPECT_EQ(p.synthesize.min_versions, 3u);
  EXPECT_EQ(p.synthesize.max_parents, 5u);
  EXPECT_EQ(p.review.reviewers, std::vector<std::string>{"a"});
  EXPECT_EQ(p.review.timeout, 2 * minute);
}

TEST(LibraryPolicy, TierForTakesTheFirstPathWhoseThresholdTheSimilarityReaches) {
  const auto p = library_policy::from_json({{"enabled", true}});
  const std::vector<std::pair<double, library_tier>> cases = {
      {1.0, library_tier::reuse},
      {0.95, library_tier::reuse},
      {0.9499, library_tier::adapt_parameters},
      {0.85, library_tier::adapt_parameters},
      {0.8499, library_tier::adapt_logic},
      {0.70, library_tier::adapt_logic},
      {0.6999, library_tier::combine},
      {0.60, library_tier::combine},
      {0.5999, library_tier::generate},
      {0.0, library_tier::generate},
      {-0.3, library_tier::generate},
  };
  for (const auto& [similarity, tier] : cases) {
    EXPECT_EQ(p.tier_for(similarity), tier) << similarity;
  }
}

TEST(LibraryPolicy, TierNamesRoundTripAndAnUnknownNameIsGenerate) {
  const std::vector<std::pair<library_tier, std::string_view>> names = {
      {library_tier::reuse, "reuse"},
      {library_tier::adapt_parameters, "adapt_parameters"},
      {library_tier::adapt_logic, "adapt_logic"},
      {library_tier::combine, "combine"},
      {library_tier::generate, "generate"}};
  for (const auto& [tier, name] : names) {
    EXPECT_EQ(to_string(tier), name);
    EXPECT_EQ(tier_from_string(name), tier) << name;
  }
  EXPECT_EQ(tier_from_string("Reuse"), library_tier::generate);
  EXPECT_EQ(tier_from_string(""), library_tier::generate);
}

// --- what the client sends ----------------------------------------------------------------------

/// A task of the test family: its text, the solution a model writes and the template's values.
struct solved {
  std::string problem, solution;
  std::map<std::string, std::string> params;
};

solved stats(const std::string& metric, const std::string& source, const std::string& n) {
  return {"Compute the " + metric + " of the " + source + " sample with " + n + " observations",
          metric + "(load(\"" + source + "\")[:" + n + "])",
          {{"metric", metric}, {"source", source}, {"n", n}}};
}

const solved mean_sales = stats("mean", "sales", "120");
const solved lease = {"Review the lease contract for clauses on tenant liability",
                      "find_clauses(contract, topic=\"tenant liability\")",
                      {{"topic", "tenant liability"}}};

// A similarity typical of each path (what a specialist would report having found).
double similarity_of(library_tier tier) {
  constexpr std::array<double, library_tier_count> typical = {0.97, 0.9, 0.75, 0.65, 0.2};
  return typical[static_cast<std::size_t>(tier)];
}

/// What a specialist reports after task `task` took `tier`, building on the entries `used`.
msg::library_report report(std::uint64_t task, library_tier tier, const solved& s,
                           std::vector<std::uint64_t> used = {}, bool ok = true) {
  msg::library_report r;
  r.task = broker::task_id{task};
  r.author = "coder";
  r.tier = std::string(to_string(tier));
  r.similarity = similarity_of(tier);
  r.used = std::move(used);
  r.ok = ok;
  r.quality = 0.8;
  r.family = "stats";
  r.domain = "data";
  r.problem = s.problem;
  r.solution = s.solution;
  r.params = s.params;
  r.difficulty = 0.5;
  r.options = 4;
  r.truth = right_answer;
  r.answer = ok ? right_answer : -1;
  return r;
}

/// One message the client sends at `at`: a library_query as a request (its answer is recorded),
/// anything else as a plain send.
struct cue {
  sim_time at = 0;
  broker::message what;
};
using script = std::vector<cue>;

cue query(sim_time at, std::uint64_t task, const std::string& text) {
  return {at, msg::library_query{broker::task_id{task}, text}};
}

/// `ok + failed` reuse reports of entry `id`, the first `ok` of them successes, all sent at `at`
/// (tasks `first_task` on).
script reuses(sim_time at, std::uint64_t first_task, std::uint64_t id, int ok, int failed) {
  script out;
  for (int i = 0; i < ok + failed; ++i) {
    out.push_back({at, report(first_task + static_cast<std::uint64_t>(i), library_tier::reuse,
                              mean_sales, {id}, i < ok)});
  }
  return out;
}

void append(script& to, const script& more) {
  to.insert(to.end(), more.begin(), more.end());
}

// --- test actors --------------------------------------------------------------------------------

/// An answer the client got, and when.
struct answer {
  sim_time t = 0;
  msg::library_answer reply;
};

std::vector<std::uint64_t> ids(const answer& a) {
  std::vector<std::uint64_t> out;
  for (const auto& h : a.reply.hits) out.push_back(h.id);
  return out;
}

/// Plays its script to the librarian and keeps (and logs, as "answer") every answer.
class client final : public engine::actor {
 public:
  client(agent_id librarian, script cues) : librarian_(librarian), cues_(std::move(cues)) {}

  void on_start(engine::context& ctx) override {
    for (std::size_t i = 0; i < cues_.size(); ++i) ctx.schedule(cues_[i].at, msg::tick{i, 0});
  }

  void handle(envelope& e, engine::context& ctx) override {
    if (const auto* t = broker::get_if<msg::tick>(&e.payload)) {
      const auto& m = cues_.at(t->id).what;
      if (broker::get_if<msg::library_query>(&m) != nullptr) {
        ctx.request(librarian_, m, 1 * hour);
      } else {
        ctx.send(librarian_, m);
      }
    } else if (const auto* a = broker::get_if<msg::library_answer>(&e.payload)) {
      array hits;
      for (const auto& h : a->hits) hits.push_back({h.id, h.similarity});
      ctx.log_event("answer", {{"task", raw(a->task)}, {"hits", std::move(hits)}});
      answers_.push_back({ctx.now(), *a});
    } else if (broker::get_if<msg::timeout>(&e.payload) != nullptr) {
      ctx.log_event("no_answer");
    }
  }

  [[nodiscard]] const std::vector<answer>& answers() const noexcept { return answers_; }

 private:
  agent_id librarian_;
  script cues_;
  std::vector<answer> answers_;
};

constexpr double review_price = 0.25;

/// How a stub reviewer answers every review.
struct verdict {
  std::int32_t answer = right_answer;
  bool ok = true;  ///< false: a failed result (with `answer` all the same)
};

/// A reviewer that answers every review at once by its verdict (for review_price), or never
/// when it has none. Logs each review it is asked for ("review_asked").
class reviewer final : public engine::actor {
 public:
  explicit reviewer(std::optional<verdict> v) : verdict_(v) {}

  void handle(envelope& e, engine::context& ctx) override {
    const auto* t = broker::get_if<msg::task_request>(&e.payload);
    if (t == nullptr) return;
    ctx.log_event("review_asked", {{"task", raw(t->task)},
                                   {"text", t->text},
                                   {"truth", t->truth},
                                   {"solution", t->solution}});
    if (!verdict_) return;
    msg::task_result r;
    r.task = t->task;
    r.ok = verdict_->ok;
    r.answer = verdict_->answer;
    r.cost = review_price;
    ctx.reply(e, std::move(r));
  }

 private:
  std::optional<verdict> verdict_;
};

const verdict agrees{};
const verdict disagrees{right_answer + 1};
const verdict fails{right_answer, false};
constexpr std::nullopt_t silent = std::nullopt;

// --- the world ----------------------------------------------------------------------------------

/// A directory under the system's temporary one, removed with this object.

/// Small and quick to follow: a 10 ms batch window, upkeep every hour, and supersede,
/// deprecate and synthesize off (a test turns on the one it is about).
library_policy test_policy() {
  library_policy p;
  p.enabled = true;
  p.index.dimension = dimension;
  p.index.batch_window = 10 * msec;
  p.upkeep.every = hour;
  p.supersede.enabled = false;
  p.deprecate.enabled = false;
  p.synthesize.enabled = false;
  return p;
}

/// What a run is made of.
struct setup {
  library_policy policy = test_policy();
  script cues;
  /// One stub reviewer each, by how it answers (silent: never).
  std::vector<std::optional<verdict>> reviewers;
  std::optional<memory::solution_library> library;  ///< a new, empty one when unset
  unsigned threads = 1;
};

memory::solution_library empty_library() {
  auto lib = memory::solution_library::create({}, dimension);
  COLONY_ASSERT(lib.has_value());
  return std::move(*lib);
}

/// A librarian, its reviewers and a client playing the script, in one SimRuntime that a test
/// runs in stages (until()) to look at counters and the library in between.
class library_run {
 public:
  explicit library_run(setup s)
      : rt_({.seed = 11, .threads = s.threads, .lookahead = link, .events = &log_}),
        scratch_("library-test", testing::next_run_name()) {
    std::vector<agent_id> reviewers;
    for (const auto v : s.reviewers) {
      reviewers.push_back(spawn([v] { return std::make_unique<reviewer>(v); }));
    }
    auto shared = std::make_shared<memory::solution_library>(s.library ? std::move(*s.library)
                                                                       : empty_library());
    librarian_ = spawn([policy = s.policy, shared, reviewers] {
      return make_librarian(policy, std::move(*shared), reviewers);
    });
    client_ = spawn(
        [to = librarian_, cues = std::move(s.cues)] { return std::make_unique<client>(to, cues); });
  }

  /// Runs up to `t` (exclusive) and reads the events logged so far.
  void until(sim_time t) {
    const auto stats = rt_.run(t);
    ASSERT_TRUE(stats);
    EXPECT_EQ(stats->failures, 0u) << "a handler threw";
    parsed_.clear();
    const auto& text = log_.contents();
    for (std::size_t pos = 0; pos < text.size();) {
      const auto end = text.find('\n', pos);
      parsed_.push_back(
          boost::json::parse(std::string_view(text).substr(pos, end - pos)).as_object());
      pos = end + 1;
    }
  }

  [[nodiscard]] library_probe& probe() {
    auto* p = dynamic_cast<library_probe*>(rt_.inspect(librarian_));
    COLONY_ASSERT(p != nullptr);
    return *p;
  }
  [[nodiscard]] library_counters counters() { return probe().counters(); }

  /// The library as it is now: saved, and reopened read-only.
  [[nodiscard]] memory::solution_library snapshot() {
    const auto dir = scratch_.path() / ("snapshot" + std::to_string(++snapshots_));
    const auto saved = probe().save(dir);
    EXPECT_TRUE(saved) << saved.error().message;
    auto lib = memory::solution_library::open(dir);
    COLONY_ASSERT(lib.has_value());
    return std::move(*lib);
  }

  /// Events of `type`, in log order.
  [[nodiscard]] std::vector<object> events(std::string_view type) const {
    std::vector<object> out;
    for (const auto& e : parsed_) {
      if (e.at("type").as_string() == type) out.push_back(e);
    }
    return out;
  }
  /// The event types in log order, those of the runtime itself left out.
  [[nodiscard]] std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (const auto& e : parsed_) {
      const std::string type(e.at("type").as_string());
      if (!type.starts_with("agent_")) out.push_back(type);
    }
    return out;
  }

  /// Every answer the client got, in order; the answer to task `task`.
  [[nodiscard]] const std::vector<answer>& answers() {
    const auto* c = dynamic_cast<const client*>(rt_.inspect(client_));
    COLONY_ASSERT(c != nullptr);
    return c->answers();
  }
  [[nodiscard]] answer answer_to(std::uint64_t task) {
    for (const auto& a : answers()) {
      if (raw(a.reply.task) == task) return a;
    }
    ADD_FAILURE() << "no answer to task " << task;
    return {};
  }

  [[nodiscard]] agent_id librarian() const noexcept { return librarian_; }
  [[nodiscard]] const std::string& log_text() const noexcept { return log_.contents(); }

 private:
  agent_id spawn(engine::actor_factory make) {
    const auto id = rt_.spawn(std::move(make));
    COLONY_ASSERT(id.has_value());
    return *id;
  }

  engine::event_log log_;
  engine::sim_runtime rt_;
  testing::scratch_dir scratch_;
  agent_id librarian_{}, client_{};
  std::vector<object> parsed_;
  int snapshots_ = 0;
};

std::uint64_t u64(const object& o, std::string_view key) {
  return o.at(key).to_number<std::uint64_t>();
}
double num(const object& o, std::string_view key) {
  return o.at(key).to_number<double>();
}
std::vector<std::uint64_t> u64s(const object& o, std::string_view key) {
  std::vector<std::uint64_t> out;
  for (const auto& v : o.at(key).as_array()) out.push_back(v.to_number<std::uint64_t>());
  return out;
}
std::vector<std::uint64_t> raw_ids(const std::vector<solution_id>& v) {
  std::vector<std::uint64_t> out;
  for (const auto id : v) out.push_back(static_cast<std::uint64_t>(id));
  return out;
}
/// The ids the events of a type name, in log order.
std::vector<std::uint64_t> ids_of(const std::vector<object>& events) {
  std::vector<std::uint64_t> out;
  for (const auto& e : events) out.push_back(u64(e, "id"));
  return out;
}

// --- batching and answers -----------------------------------------------------------------------

TEST(Librarian, QueriesOfOneBatchWindowShareOneSearch) {
  const solved median_sensor = stats("median", "sensor", "37");
  library_run run({.cues = {
                       {0, report(1, library_tier::generate, mean_sales)},
                       {0, report(2, library_tier::generate, lease)},
                       {0, report(3, library_tier::generate, median_sensor)},
                       // Within one 10 ms window of the first one's arrival.
                       query(100 * msec, 11, mean_sales.problem),
                       query(103 * msec, 12, median_sensor.problem),
                       query(106 * msec, 13, lease.problem),
                       // A window of its own.
                       query(200 * msec, 14, mean_sales.problem),
                   }});
  run.until(50 * msec);
  EXPECT_EQ(run.counters().entries, 3u);
  EXPECT_EQ(run.counters().searches, 0u) << "reports alone need no search";

  run.until(150 * msec);
  EXPECT_EQ(run.counters().queries, 3u);
  EXPECT_EQ(run.counters().searches, 1u);
  // Every query waited for the window opened by the first one.
  const sim_time answered = 100 * msec + link + 10 * msec + link;
  ASSERT_EQ(run.answers().size(), 3u);
  for (const auto& a : run.answers()) EXPECT_EQ(a.t, answered) << raw(a.reply.task);

  run.until(300 * msec);
  EXPECT_EQ(run.counters().queries, 4u);
  EXPECT_EQ(run.counters().searches, 2u);
  EXPECT_EQ(run.answer_to(14).t, 200 * msec + link + 10 * msec + link);
}

TEST(Librarian, AnswersAreTheNearestEntriesBestFirst) {
  const solved median_sensor = stats("median", "sensor", "37");
  library_run run({.cues = {
                       {0, report(1, library_tier::generate, mean_sales)},
                       {0, report(2, library_tier::generate, lease)},
                       {0, report(3, library_tier::generate, median_sensor)},
                       query(100 * msec, 11, mean_sales.problem),
                       query(100 * msec, 12, lease.problem),
                   }});
  run.until(hour);

  const auto a = run.answer_to(11);
  // The same template before the unrelated legal text.
  EXPECT_EQ(ids(a), (std::vector<std::uint64_t>{1, 3, 2}));
  ASSERT_EQ(a.reply.hits.size(), 3u);
  EXPECT_NEAR(a.reply.hits[0].similarity, 1.0, 1e-5);
  EXPECT_GT(a.reply.hits[0].similarity, a.reply.hits[1].similarity);
  EXPECT_GT(a.reply.hits[1].similarity, a.reply.hits[2].similarity);
  const auto& best = a.reply.hits[0];
  EXPECT_EQ(best.solution, mean_sales.solution);
  EXPECT_EQ(best.params, mean_sales.params);
  EXPECT_EQ(best.family, "stats");
  EXPECT_DOUBLE_EQ(best.quality, 0.8);

  const auto b = run.answer_to(12);
  ASSERT_FALSE(b.reply.hits.empty());
  EXPECT_EQ(b.reply.hits[0].id, 2u);
  EXPECT_NEAR(b.reply.hits[0].similarity, 1.0, 1e-5);
}

TEST(Librarian, AQueryFindsWhatAReportOfTheSameWindowStored) {
  library_run run({.cues = {{0, report(1, library_tier::generate, mean_sales)},
                            query(2 * msec, 2, mean_sales.problem)}});
  run.until(hour);
  EXPECT_EQ(run.counters().searches, 1u);
  EXPECT_EQ(ids(run.answer_to(2)), std::vector<std::uint64_t>{1});
}

TEST(Librarian, AnEmptyLibraryAnswersWithNoHits) {
  library_run run({.cues = {query(0, 1, mean_sales.problem)}});
  run.until(hour);
  ASSERT_EQ(run.answers().size(), 1u);
  EXPECT_TRUE(run.answers()[0].reply.hits.empty());
  EXPECT_TRUE(run.events("no_answer").empty());
}

// --- store, fork and count ----------------------------------------------------------------------

TEST(Librarian, StoresOnlySuccessesOnAPathThatWroteASolution) {
  library_run run({.cues = {
                       {0, report(1, library_tier::generate, mean_sales)},
                       {1 * minute, report(2, library_tier::generate, lease, {}, false)},
                       {2 * minute, report(3, library_tier::reuse, mean_sales, {1})},
                       {3 * minute, report(4, library_tier::adapt_parameters,
                                           stats("mean", "sales", "37"), {1}, false)},
                   }});
  run.until(hour);

  const auto stored = run.events("solution_stored");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(u64(stored[0], "id"), 1u);
  EXPECT_EQ(u64(stored[0], "task"), 1u);
  EXPECT_EQ(stored[0].at("tier").as_string(), "generate");
  EXPECT_EQ(u64(stored[0], "version"), 1u);
  EXPECT_TRUE(stored[0].at("parents").as_array().empty());
  EXPECT_TRUE(run.events("solution_forked").empty());

  const auto c = run.counters();
  EXPECT_EQ(c.entries, 1u);
  EXPECT_EQ(c.stored, 1u);
  EXPECT_EQ(c.forked, 0u);
  EXPECT_EQ(c.reports, 4u);
  EXPECT_EQ(c.tiers, (std::array<std::uint64_t, library_tier_count>{1, 1, 0, 0, 2}));

  const auto lib = run.snapshot();
  const auto e = lib.get(solution_id{1});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->problem, mean_sales.problem);
  EXPECT_EQ(e->solution, mean_sales.solution);
  EXPECT_EQ(e->author, "coder");
  EXPECT_EQ(e->version, 1u);
  EXPECT_EQ(e->tags, (std::vector<std::string>{"family:stats", "domain:data", "param:metric=mean",
                                               "param:n=120", "param:source=sales"}));
  // The reuse succeeded, the adaptation built on it failed.
  EXPECT_EQ(e->uses, 2u);
  EXPECT_EQ(e->successes, 1u);
}

TEST(Librarian, AForkKeepsItsParentAndWhatItChanged) {
  auto fork = report(2, library_tier::adapt_parameters, stats("mean", "sales", "37"), {1});
  fork.changes = "n: 120 -> 37";
  auto again = report(3, library_tier::adapt_logic, stats("median", "sales", "37"), {2});
  again.changes = "logic of stats reworked; metric: mean -> median";
  auto both = report(4, library_tier::combine, stats("max", "sales", "37"), {2, 1});
  library_run run({.cues = {{0, report(1, library_tier::generate, mean_sales)},
                            {1 * minute, fork},
                            {2 * minute, again},
                            {3 * minute, both}}});
  run.until(hour);

  const auto forked = run.events("solution_forked");
  ASSERT_EQ(forked.size(), 3u);
  EXPECT_EQ(u64(forked[0], "id"), 2u);
  EXPECT_EQ(u64s(forked[0], "parents"), std::vector<std::uint64_t>{1});
  EXPECT_EQ(forked[0].at("tier").as_string(), "adapt_parameters");
  EXPECT_DOUBLE_EQ(num(forked[0], "similarity"), 0.9);
  EXPECT_EQ(forked[0].at("changes").as_string(), "n: 120 -> 37");
  EXPECT_EQ(u64(forked[1], "id"), 3u);
  EXPECT_EQ(u64s(forked[1], "parents"), std::vector<std::uint64_t>{2});
  EXPECT_EQ(forked[1].at("changes").as_string(), again.changes);
  // A combination keeps both entries, in the order used.
  EXPECT_EQ(u64s(forked[2], "parents"), (std::vector<std::uint64_t>{2, 1}));

  const auto stored = run.events("solution_stored");
  ASSERT_EQ(stored.size(), 4u);
  EXPECT_EQ(u64(stored[1], "version"), 2u);
  EXPECT_EQ(u64(stored[2], "version"), 3u);
  EXPECT_EQ(u64(stored[3], "version"), 3u) << "1 + the highest parent version";
  const auto c = run.counters();
  EXPECT_EQ(c.stored, 4u);
  EXPECT_EQ(c.forked, 3u);

  const auto lib = run.snapshot();
  const auto e = lib.get(solution_id{2});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->version, 2u);
  EXPECT_EQ(raw_ids(e->parents), std::vector<std::uint64_t>{1});
  EXPECT_EQ(lib.lineage(solution_id{2})->ancestors,
            (std::vector<solution_relative>{{solution_id{1}, 1}}));
  EXPECT_EQ(lib.lineage(solution_id{3})->ancestors,
            (std::vector<solution_relative>{{solution_id{2}, 1}, {solution_id{1}, 2}}));
  // Building on an entry counts as using it.
  EXPECT_EQ(lib.get(solution_id{1})->uses, 2u);
  EXPECT_EQ(lib.get(solution_id{1})->successes, 2u);
}

TEST(Librarian, AReuseCountsAUseAndStoresNothing) {
  auto reuse = report(2, library_tier::reuse, mean_sales, {1});
  reuse.saved = 0.5;
  library_run run({.cues = {{0, report(1, library_tier::generate, mean_sales)},
                            {1 * minute, reuse},
                            {2 * hour, report(3, library_tier::reuse, mean_sales, {1}, false)}}});
  run.until(hour);
  EXPECT_EQ(run.counters().entries, 1u);
  EXPECT_EQ(run.events("solution_stored").size(), 1u);
  auto reused = run.events("solution_reused");
  ASSERT_EQ(reused.size(), 1u);
  EXPECT_EQ(u64(reused[0], "id"), 1u);
  EXPECT_EQ(u64(reused[0], "task"), 2u);
  EXPECT_EQ(reused[0].at("tier").as_string(), "reuse");
  EXPECT_DOUBLE_EQ(num(reused[0], "similarity"), 0.97);
  EXPECT_TRUE(reused[0].at("ok").as_bool());
  EXPECT_DOUBLE_EQ(num(reused[0], "saved"), 0.5);
  EXPECT_DOUBLE_EQ(run.counters().saved, 0.5);
  {
    const auto lib = run.snapshot();
    EXPECT_EQ(lib.get(solution_id{1})->uses, 1u);
    EXPECT_EQ(lib.get(solution_id{1})->successes, 1u);
  }

  // A failed reuse is a use too, without a success.
  run.until(3 * hour);
  reused = run.events("solution_reused");
  ASSERT_EQ(reused.size(), 2u);
  EXPECT_FALSE(reused[1].at("ok").as_bool());
  const auto lib = run.snapshot();
  EXPECT_EQ(lib.get(solution_id{1})->uses, 2u);
  EXPECT_EQ(lib.get(solution_id{1})->successes, 1u);
  EXPECT_EQ(run.counters().entries, 1u);
}

// --- supersede ----------------------------------------------------------------------------------

/// A policy with supersede on: success rates over `window`, 3 uses each at least, a margin of 0.1.
library_policy supersede_policy(sim_time window = day) {
  auto p = test_policy();
  p.supersede = {.enabled = true, .window = window, .min_uses = 3, .margin = 0.1};
  return p;
}

/// Entry 1 and its fork, entry 2 (which counts one success of 1), then reuses of 1
/// (`parent_ok` successes, `parent_failed` failures) at 2 minutes and of 2 at `fork_at`.
script contest(int parent_ok, int parent_failed, int fork_ok, int fork_failed,
               sim_time fork_at = 2 * minute) {
  script s = {
      {0, report(1, library_tier::generate, mean_sales)},
      {1 * minute, report(2, library_tier::adapt_parameters, stats("mean", "sales", "37"), {1})}};
  append(s, reuses(2 * minute, 100, 1, parent_ok, parent_failed));
  append(s, reuses(fork_at, 200, 2, fork_ok, fork_failed));
  return s;
}

TEST(Librarian, AForkThatDoesBetterByTheMarginSupersedesItsParent) {
  // Parent 1 of 4 (0.25), fork 3 of 3.
  library_run run({.policy = supersede_policy(), .cues = contest(0, 3, 3, 0)});
  run.until(hour);
  EXPECT_TRUE(run.events("solution_deprecated").empty()) << "judged at upkeep only";

  run.until(hour + 1);
  const auto deprecated = run.events("solution_deprecated");
  ASSERT_EQ(deprecated.size(), 1u);
  const auto& d = deprecated[0];
  EXPECT_EQ(u64(d, "t"), static_cast<std::uint64_t>(hour));
  EXPECT_EQ(u64(d, "id"), 1u);
  EXPECT_EQ(u64(d, "superseded_by"), 2u);
  EXPECT_DOUBLE_EQ(num(d, "success"), 0.25);
  EXPECT_DOUBLE_EQ(num(d, "successor_success"), 1.0);
  EXPECT_EQ(d.at("family").as_string(), "stats");
  EXPECT_TRUE(d.at("reason").as_string().starts_with("superseded by #2")) << d.at("reason");
  const auto c = run.counters();
  EXPECT_EQ(c.superseded, 1u);
  EXPECT_EQ(c.deprecated, 1u);
  EXPECT_TRUE(run.snapshot().get(solution_id{1})->deprecated);
}

TEST(Librarian, AForkExactlyTheMarginBetterSupersedesItsParent) {
  // Parent 1 of 4 (0.25), fork 3 of 4 (0.75): rates and margin exact in binary.
  auto p = supersede_policy();
  p.supersede.margin = 0.5;
  library_run run({.policy = p, .cues = contest(0, 3, 3, 1)});
  run.until(hour + 1);
  EXPECT_EQ(ids_of(run.events("solution_deprecated")), std::vector<std::uint64_t>{1});

  p.supersede.margin = 0.5001;
  library_run short_of_it({.policy = p, .cues = contest(0, 3, 3, 1)});
  short_of_it.until(hour + 1);
  EXPECT_TRUE(short_of_it.events("solution_deprecated").empty());
}

TEST(Librarian, AParentIsSupersededOnceByItsFirstForkThatQualifies) {
  script s = {
      {0, report(1, library_tier::generate, mean_sales)},
      {1 * minute, report(2, library_tier::adapt_parameters, stats("mean", "sales", "37"), {1})},
      {1 * minute, report(3, library_tier::adapt_parameters, stats("mean", "sales", "9"), {1})}};
  // Parent 2 of 6 (its forks' adaptations, then four failures); each fork 3 of 3.
  append(s, reuses(2 * minute, 100, 1, 0, 4));
  append(s, reuses(2 * minute, 200, 2, 3, 0));
  append(s, reuses(2 * minute, 300, 3, 3, 0));
  library_run run({.policy = supersede_policy(), .cues = s});
  run.until(2 * hour + 1);
  const auto deprecated = run.events("solution_deprecated");
  ASSERT_EQ(deprecated.size(), 1u);
  EXPECT_EQ(u64(deprecated[0], "id"), 1u);
  EXPECT_EQ(u64(deprecated[0], "superseded_by"), 2u);
  EXPECT_EQ(run.counters().superseded, 1u);
}

TEST(Librarian, AForkWithTooFewUsesSupersedesNothing) {
  // Parent 1 of 4, fork 2 of 2: the fork has fewer than min_uses.
  library_run run({.policy = supersede_policy(), .cues = contest(0, 3, 2, 0)});
  run.until(3 * hour + 1);
  EXPECT_TRUE(run.events("solution_deprecated").empty());
  EXPECT_EQ(run.counters().superseded, 0u);
}

TEST(Librarian, AForkWithinTheMarginSupersedesNothing) {
  // Parent 3 of 4 (0.75), fork 4 of 5 (0.8): better, but by less than 0.1.
  library_run run({.policy = supersede_policy(), .cues = contest(2, 1, 4, 1)});
  run.until(3 * hour + 1);
  EXPECT_TRUE(run.events("solution_deprecated").empty());
  EXPECT_EQ(run.counters().superseded, 0u);
}

TEST(Librarian, UsesOlderThanTheSupersedeWindowDoNotCount) {
  // The fork's successes come at 2.5 h; the parent's failures at 2 min. At the 3 h upkeep they
  // are within a day of each other, but not within 2 h.
  const auto cues = contest(0, 3, 3, 0, 150 * minute);
  library_run wide({.policy = supersede_policy(day), .cues = cues});
  wide.until(3 * hour + 1);
  EXPECT_EQ(ids_of(wide.events("solution_deprecated")), std::vector<std::uint64_t>{1});

  library_run narrow({.policy = supersede_policy(2 * hour), .cues = cues});
  narrow.until(3 * hour + 1);
  EXPECT_TRUE(narrow.events("solution_deprecated").empty());
}

// --- deprecate ----------------------------------------------------------------------------------

TEST(Librarian, AnEntryIdleForTheDeprecateIdleTimeIsDeprecatedAndHidden) {
  auto p = test_policy();
  p.deprecate = {.enabled = true, .idle = 2 * hour};
  library_run run({.policy = p,
                   .cues = {{0, report(1, library_tier::generate, mean_sales)},
                            {0, report(2, library_tier::generate, lease)},
                            {150 * minute, report(3, library_tier::reuse, lease, {2})},
                            query(150 * minute, 20, mean_sales.problem),
                            query(210 * minute, 21, mean_sales.problem)}});
  // Stored at 11 ms: still short of 2 h idle at the 2 h upkeep.
  run.until(3 * hour);
  EXPECT_TRUE(run.events("solution_deprecated").empty());
  EXPECT_EQ(run.answer_to(20).reply.hits.front().id, 1u);

  run.until(4 * hour);
  const auto deprecated = run.events("solution_deprecated");
  ASSERT_EQ(deprecated.size(), 1u) << "entry 2 was used at 2.5 h";
  EXPECT_EQ(u64(deprecated[0], "id"), 1u);
  EXPECT_EQ(u64(deprecated[0], "t"), static_cast<std::uint64_t>(3 * hour));
  EXPECT_EQ(u64(deprecated[0], "last_used"), static_cast<std::uint64_t>(link + 10 * msec));
  EXPECT_TRUE(deprecated[0].at("reason").as_string().starts_with("unused for"));
  const auto c = run.counters();
  EXPECT_EQ(c.retired, 1u);
  EXPECT_EQ(c.deprecated, 1u);
  EXPECT_EQ(c.entries, 2u);
  // Hidden from search: only the live entry is left to answer with.
  EXPECT_EQ(ids(run.answer_to(21)), std::vector<std::uint64_t>{2});
}

TEST(Librarian, AnEntryIsIdleFromExactlyTheDeprecateIdleTime) {
  // Stored at 11 ms: idle for exactly 2 h - 11 ms at the 2 h upkeep.
  const sim_time stored_at = link + 10 * msec;
  const auto deprecated_at = [&](sim_time idle) {
    auto p = test_policy();
    p.deprecate = {.enabled = true, .idle = idle};
    library_run run({.policy = p, .cues = {{0, report(1, library_tier::generate, mean_sales)}}});
    run.until(4 * hour);
    const auto deprecated = run.events("solution_deprecated");
    return deprecated.empty() ? sim_time{0} : deprecated[0].at("t").to_number<sim_time>();
  };
  EXPECT_EQ(deprecated_at(2 * hour - stored_at), 2 * hour);
  EXPECT_EQ(deprecated_at(2 * hour - stored_at + 1), 3 * hour);
}

// --- synthesize ---------------------------------------------------------------------------------

library_policy synthesize_policy(std::size_t min_versions) {
  auto p = test_policy();
  p.synthesize = {.enabled = true, .min_versions = min_versions, .max_parents = 16};
  return p;
}

TEST(Librarian, VersionsOfOneLineageAreSynthesizedIntoAGeneralEntry) {
  library_run run(
      {.policy = synthesize_policy(3),
       .cues = {
           {0, report(1, library_tier::generate, mean_sales)},
           {1 * minute,
            report(2, library_tier::adapt_parameters, stats("median", "sales", "37"), {1})},
           {2 * minute,
            report(3, library_tier::adapt_parameters, stats("variance", "clinic", "4512"), {1})},
           // After the first synthesis: a fork of the general entry and one of version 2...
           {70 * minute, report(5, library_tier::adapt_parameters, stats("mean", "web", "9"), {4})},
           {71 * minute,
            report(6, library_tier::adapt_parameters, stats("median", "web", "9"), {2})},
           // ...and, after the 2 h upkeep, a third new version.
           {130 * minute, report(7, library_tier::adapt_logic, stats("max", "web", "9"), {1})},
       }});
  run.until(hour + 1);
  auto synthesized = run.events("solution_synthesized");
  ASSERT_EQ(synthesized.size(), 1u);
  EXPECT_EQ(u64(synthesized[0], "id"), 4u);
  EXPECT_EQ(u64(synthesized[0], "t"), static_cast<std::uint64_t>(hour));
  EXPECT_EQ(u64s(synthesized[0], "parents"), (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(u64(synthesized[0], "versions"), 3u);
  EXPECT_EQ(u64(synthesized[0], "version"), 3u);
  EXPECT_EQ(synthesized[0].at("family").as_string(), "stats");
  // Version 1 was built on twice, both successes; 2 and 3, unused, count their quality.
  EXPECT_DOUBLE_EQ(num(synthesized[0], "quality"), (1.0 + 0.8 + 0.8) / 3);
  {
    const auto lib = run.snapshot();
    const auto general = lib.get(solution_id{4});
    ASSERT_TRUE(general);
    EXPECT_EQ(raw_ids(general->parents), (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_NE(std::find(general->tags.begin(), general->tags.end(), "general"),
              general->tags.end());
    EXPECT_EQ(general->author, "library");
    // The most used version (1, built on twice) with its values as slots.
    EXPECT_EQ(general->solution, "{metric}(load(\"{source}\")[:{n}])");
    EXPECT_EQ(general->problem,
              "Compute the {metric} of the {source} sample with {n} observations");
  }

  // Two new versions are not enough at 2 h; the third makes a new synthesis at 3 h.
  run.until(2 * hour + 1);
  EXPECT_EQ(run.events("solution_synthesized").size(), 1u);
  run.until(3 * hour + 1);
  synthesized = run.events("solution_synthesized");
  ASSERT_EQ(synthesized.size(), 2u);
  EXPECT_EQ(u64(synthesized[1], "id"), 8u);
  // The new versions (5 forks the general entry: the same lineage) and the general it replaces.
  EXPECT_EQ(u64s(synthesized[1], "parents"), (std::vector<std::uint64_t>{5, 6, 7, 4}));
  EXPECT_EQ(u64(synthesized[1], "versions"), 3u);
  // Over the versions only: the previous general entry (one use, a success) does not count.
  EXPECT_DOUBLE_EQ(num(synthesized[1], "quality"), 0.8);
  const auto deprecated = run.events("solution_deprecated");
  ASSERT_EQ(deprecated.size(), 1u);
  EXPECT_EQ(u64(deprecated[0], "id"), 4u);
  EXPECT_EQ(u64(deprecated[0], "superseded_by"), 8u);
  const auto c = run.counters();
  EXPECT_EQ(c.synthesized, 2u);
  EXPECT_EQ(c.deprecated, 1u);
  EXPECT_EQ(c.entries, 8u);

  // Nothing new to synthesize afterwards.
  run.until(5 * hour);
  EXPECT_EQ(run.events("solution_synthesized").size(), 2u);
}

TEST(Librarian, ASynthesisOfFourVersionsNamesTheirFamily) {
  // Four versions, the default min_versions: adding the general entry, the fifth, grows the
  // librarian's table of entries, and the event must not read the family from the old one.
  library_run run({.policy = synthesize_policy(4),
                   .cues = {{0, report(1, library_tier::generate, mean_sales)},
                            {1 * minute, report(2, library_tier::adapt_parameters,
                                                stats("median", "sales", "37"), {1})},
                            {2 * minute, report(3, library_tier::adapt_parameters,
                                                stats("mean", "clinic", "37"), {1})},
                            {3 * minute, report(4, library_tier::adapt_parameters,
                                                stats("max", "web", "9"), {1})}}});
  run.until(hour + 1);
  const auto synthesized = run.events("solution_synthesized");
  ASSERT_EQ(synthesized.size(), 1u);
  EXPECT_EQ(u64(synthesized[0], "id"), 5u);
  EXPECT_EQ(synthesized[0].at("family").as_string(), "stats");
}

TEST(Librarian, ASynthesisLeavesItsOwnPlaceholdersAlone) {
  // The value of slot `unit` is "n", the name of the other slot: "{n}" must stay "{n}".
  const solved first = {
      "Sum 120 samples in n", "total(xs[:120], unit=\"n\")", {{"n", "120"}, {"unit", "n"}}};
  const solved second = {
      "Sum 37 samples in kg", "total(xs[:37], unit=\"kg\")", {{"n", "37"}, {"unit", "kg"}}};
  library_run run({.policy = synthesize_policy(2),
                   .cues = {{0, report(1, library_tier::generate, first)},
                            {1 * minute, report(2, library_tier::adapt_parameters, second, {1})}}});
  run.until(hour + 1);
  const auto lib = run.snapshot();
  const auto general = lib.get(solution_id{3});
  ASSERT_TRUE(general);
  EXPECT_EQ(general->problem, "Sum {n} samples in {unit}");
  EXPECT_EQ(general->solution, "total(xs[:{n}], unit=\"{unit}\")");
}

TEST(Librarian, ASynthesisTakesAtMostMaxParentsOfTheMostUsedVersions) {
  auto p = synthesize_policy(3);
  p.synthesize.max_parents = 3;
  script s = {{0, report(1, library_tier::generate, mean_sales)}};
  for (std::uint64_t v = 2; v <= 4; ++v) {
    s.push_back({1 * minute, report(v, library_tier::adapt_parameters,
                                    stats("mean", "sales", std::to_string(v)), {1})});
  }
  // Versions 3 and 4 are used once more; 2, the least used, is left for a later synthesis.
  append(s, reuses(2 * minute, 100, 3, 1, 0));
  append(s, reuses(2 * minute, 200, 4, 1, 0));
  library_run run({.policy = p, .cues = s});
  run.until(3 * hour);
  const auto synthesized = run.events("solution_synthesized");
  ASSERT_EQ(synthesized.size(), 1u) << "version 2 alone is not enough for another";
  EXPECT_EQ(u64s(synthesized[0], "parents"), (std::vector<std::uint64_t>{1, 3, 4}));
}

// --- review -------------------------------------------------------------------------------------

/// A policy whose new entries need `required` acceptances, a reviewer silent for 10 minutes
/// counting as a rejection.
library_policy review_policy(std::size_t required) {
  auto p = test_policy();
  p.review.reviewers = {"first", "second"};
  p.review.required = required;
  p.review.timeout = 10 * minute;
  return p;
}

/// A new solution, then a reuse of nothing yet stored (which needs no review).
script to_review() {
  return {{0, report(1, library_tier::generate, mean_sales)},
          {1 * minute, report(2, library_tier::reuse, mean_sales, {})}};
}

TEST(Librarian, ASolutionEnoughReviewersAgreeWithIsStored) {
  library_run run({.policy = review_policy(2), .cues = to_review(), .reviewers = {agrees, agrees}});
  run.until(hour);

  const auto asked = run.events("review_asked");
  ASSERT_EQ(asked.size(), 2u) << "one review per reviewer, and only for the new solution";
  for (const auto& a : asked) {
    EXPECT_EQ(u64(a, "task"), 1u);
    const auto text = std::string(a.at("text").as_string());
    EXPECT_NE(text.find(mean_sales.problem), std::string::npos) << text;
    EXPECT_NE(text.find(mean_sales.solution), std::string::npos) << text;
    EXPECT_EQ(a.at("truth").to_number<std::int32_t>(), right_answer);
    EXPECT_EQ(a.at("solution").as_string(), "") << "a review is not answered from the library";
  }
  const auto reviewed = run.events("solution_reviewed");
  ASSERT_EQ(reviewed.size(), 1u);
  EXPECT_TRUE(reviewed[0].at("accepted").as_bool());
  EXPECT_EQ(u64(reviewed[0], "acceptances"), 2u);
  EXPECT_EQ(u64(reviewed[0], "reviewers"), 2u);
  EXPECT_EQ(u64(reviewed[0], "required"), 2u);
  // Stored once accepted, not before.
  const auto types = run.types();
  const auto at = [&](std::string_view t) { return std::find(types.begin(), types.end(), t); };
  ASSERT_NE(at("solution_stored"), types.end());
  EXPECT_LT(at("solution_reviewed"), at("solution_stored"));
  const auto c = run.counters();
  EXPECT_EQ(c.entries, 1u);
  EXPECT_EQ(c.reviewed, 1u);
  EXPECT_EQ(c.rejected, 0u);
  EXPECT_DOUBLE_EQ(c.review_cost, 2 * review_price);
}

TEST(Librarian, ASolutionTooFewReviewersAgreeWithIsRejected) {
  library_run run(
      {.policy = review_policy(2), .cues = to_review(), .reviewers = {agrees, disagrees}});
  run.until(hour);

  const auto reviewed = run.events("solution_reviewed");
  ASSERT_EQ(reviewed.size(), 1u);
  EXPECT_FALSE(reviewed[0].at("accepted").as_bool());
  EXPECT_EQ(u64(reviewed[0], "acceptances"), 1u);
  EXPECT_TRUE(run.events("solution_stored").empty());
  const auto c = run.counters();
  EXPECT_EQ(c.entries, 0u);
  EXPECT_EQ(c.reviewed, 1u);
  EXPECT_EQ(c.rejected, 1u);
}

TEST(Librarian, AFailedReviewIsARejectionWhateverItsAnswer) {
  library_run run({.policy = review_policy(2), .cues = to_review(), .reviewers = {agrees, fails}});
  run.until(hour);
  const auto reviewed = run.events("solution_reviewed");
  ASSERT_EQ(reviewed.size(), 1u);
  EXPECT_EQ(u64(reviewed[0], "acceptances"), 1u);
  EXPECT_EQ(run.counters().entries, 0u);
  EXPECT_EQ(run.counters().rejected, 1u);
}

TEST(Librarian, OneAcceptanceIsEnoughWhenOneIsRequired) {
  library_run run(
      {.policy = review_policy(1), .cues = to_review(), .reviewers = {disagrees, agrees}});
  run.until(hour);
  EXPECT_EQ(run.counters().entries, 1u);
  EXPECT_EQ(run.counters().rejected, 0u);
}

TEST(Librarian, AReviewerThatNeverAnswersCountsAsARejection) {
  library_run run({.policy = review_policy(2), .cues = to_review(), .reviewers = {agrees, silent}});
  // The review waits for the silent reviewer's timeout (asked at 11 ms).
  run.until(10 * minute);
  EXPECT_EQ(run.counters().reviewed, 0u);
  EXPECT_TRUE(run.events("solution_reviewed").empty());

  run.until(hour);
  const auto reviewed = run.events("solution_reviewed");
  ASSERT_EQ(reviewed.size(), 1u);
  EXPECT_FALSE(reviewed[0].at("accepted").as_bool());
  EXPECT_EQ(u64(reviewed[0], "acceptances"), 1u);
  EXPECT_EQ(u64(reviewed[0], "t"), static_cast<std::uint64_t>(link + 10 * msec + 10 * minute));
  const auto c = run.counters();
  EXPECT_EQ(c.entries, 0u);
  EXPECT_EQ(c.rejected, 1u);
  EXPECT_DOUBLE_EQ(c.review_cost, review_price);
}

// --- the events' common fields ------------------------------------------------------------------

/// docs/events.md: `agent` is the integer id of the agent that wrote the event (the library);
/// the specialist behind a task's solution is its `author`.
void expect_logged_by_the_librarian(const library_run& run, std::string_view type) {
  const auto events = run.events(type);
  ASSERT_FALSE(events.empty()) << type;
  for (const auto& e : events) {
    ASSERT_TRUE(e.at("agent").is_number()) << e;
    EXPECT_EQ(u64(e, "agent"), raw(run.librarian())) << e;
    ASSERT_TRUE(e.contains("author")) << e;
    EXPECT_EQ(e.at("author").as_string(), "coder") << e;
  }
}

TEST(Librarian, ItsEventsAreLoggedUnderItsOwnAgentId) {
  library_run run({.cues = {{0, report(1, library_tier::generate, mean_sales)},
                            {1 * minute, report(2, library_tier::reuse, mean_sales, {1})}}});
  run.until(hour);
  expect_logged_by_the_librarian(run, "solution_stored");
  expect_logged_by_the_librarian(run, "solution_reused");

  library_run reviewed(
      {.policy = review_policy(1), .cues = to_review(), .reviewers = {agrees, agrees}});
  reviewed.until(hour);
  expect_logged_by_the_librarian(reviewed, "solution_reviewed");
}

// --- warm start ---------------------------------------------------------------------------------

/// Plays `cues` to a librarian for an hour, saves its library to `dir` and reopens it writable.
memory::solution_library saved_after(const fs::path& dir, script cues,
                                     library_policy policy = test_policy()) {
  library_run first({.policy = std::move(policy), .cues = std::move(cues)});
  first.until(hour + 1);
  const auto written = first.probe().save(dir);
  EXPECT_TRUE(written) << written.error().message;
  auto reopened = memory::solution_library::open(dir, {.writable = true});
  COLONY_ASSERT(reopened.has_value());
  return std::move(*reopened);
}

/// Entry 1 and its fork, entry 2.
script one_fork() {
  return {
      {0, report(1, library_tier::generate, mean_sales)},
      {1 * minute, report(2, library_tier::adapt_parameters, stats("mean", "sales", "37"), {1})}};
}

TEST(Librarian, AReopenedLibraryAnswersWithItsEntriesAndContinuesTheirIds) {
  const testing::scratch_dir saved("library-test", "warm-start");
  auto reopened = saved_after(saved.path(), one_fork());
  ASSERT_EQ(reopened.size(), 2u);

  library_run second({.cues = {query(0, 10, mean_sales.problem),
                               {1 * minute, report(11, library_tier::generate, lease)},
                               {2 * minute, report(12, library_tier::adapt_parameters,
                                                   stats("mean", "sales", "9"), {2})},
                               {2 * minute, report(13, library_tier::reuse, mean_sales, {1})}},
                      .library = std::move(reopened)});
  second.until(hour);

  const auto a = second.answer_to(10);
  ASSERT_FALSE(a.reply.hits.empty());
  const auto& best = a.reply.hits.front();
  EXPECT_EQ(best.id, 1u);
  EXPECT_NEAR(best.similarity, 1.0, 1e-5);
  EXPECT_EQ(best.solution, mean_sales.solution);
  EXPECT_EQ(best.family, "stats");
  EXPECT_EQ(best.params, mean_sales.params);
  EXPECT_DOUBLE_EQ(best.quality, 0.8);
  EXPECT_EQ(ids(a), (std::vector<std::uint64_t>{1, 2}));

  const auto stored = second.events("solution_stored");
  EXPECT_EQ(ids_of(stored), (std::vector<std::uint64_t>{3, 4}));
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(u64(stored[1], "version"), 3u) << "a fork of the saved version 2";
  EXPECT_EQ(second.counters().entries, 4u);
  EXPECT_EQ(second.counters().stored, 2u) << "this run's stores only";
  const auto lib = second.snapshot();
  // One use before the save (the fork), one after.
  EXPECT_EQ(lib.get(solution_id{1})->uses, 2u);
  EXPECT_EQ(lib.get(solution_id{4})->version, 3u);
}

TEST(Librarian, AReopenedLibrarysEntriesAreIdleFromTheStartOfTheRun) {
  const testing::scratch_dir saved("library-test", "warm-idle");
  auto p = test_policy();
  p.deprecate = {.enabled = true, .idle = 2 * hour};
  library_run second({.policy = p,
                      .cues = {{90 * minute, report(1, library_tier::reuse, mean_sales, {2})}},
                      .library = saved_after(saved.path(), one_fork())});
  second.until(2 * hour + 1);
  const auto deprecated = second.events("solution_deprecated");
  ASSERT_EQ(deprecated.size(), 1u) << "entry 2 was used at 1.5 h";
  EXPECT_EQ(u64(deprecated[0], "id"), 1u);
  EXPECT_EQ(u64(deprecated[0], "last_used"), 0u);
}

TEST(Librarian, AReopenedLibrarysSynthesizedVersionsAreNotSynthesizedAgain) {
  const testing::scratch_dir saved("library-test", "warm-synthesis");
  const auto p = synthesize_policy(3);
  script first = one_fork();
  first.push_back(
      {2 * minute, report(3, library_tier::adapt_parameters, stats("mean", "sales", "9"), {1})});
  auto reopened = saved_after(saved.path(), first, p);
  ASSERT_EQ(reopened.size(), 4u) << "three versions and their synthesis";

  script s;
  for (std::uint64_t v = 5; v <= 6; ++v) {
    s.push_back({70 * minute, report(v, library_tier::adapt_parameters,
                                     stats("max", "web", std::to_string(v)), {1})});
  }
  s.push_back(
      {130 * minute, report(7, library_tier::adapt_parameters, stats("max", "web", "7"), {4})});
  library_run second({.policy = p, .cues = s, .library = std::move(reopened)});
  second.until(2 * hour + 1);
  EXPECT_TRUE(second.events("solution_synthesized").empty()) << "only two new versions by 2 h";
  second.until(3 * hour + 1);
  const auto synthesized = second.events("solution_synthesized");
  ASSERT_EQ(synthesized.size(), 1u);
  EXPECT_EQ(u64(synthesized[0], "id"), 8u);
  EXPECT_EQ(u64s(synthesized[0], "parents"), (std::vector<std::uint64_t>{5, 6, 7, 4}));
  EXPECT_EQ(ids_of(second.events("solution_deprecated")), std::vector<std::uint64_t>{4});
}

// --- determinism --------------------------------------------------------------------------------

/// Every behaviour at once: reviewed stores, forks, reuses, queries, supersede, deprecation and
/// synthesis, over five hours.
std::string busy_log(unsigned threads) {
  auto p = review_policy(1);
  p.supersede = {.enabled = true, .window = day, .min_uses = 3, .margin = 0.1};
  p.deprecate = {.enabled = true, .idle = 3 * hour};
  p.synthesize = {.enabled = true, .min_versions = 3, .max_parents = 16};
  script s = {
      {0, report(1, library_tier::generate, mean_sales)},
      {0, report(2, library_tier::generate, lease)},
      query(20 * minute, 50, mean_sales.problem),
      {30 * minute, report(3, library_tier::adapt_parameters, stats("median", "sales", "37"), {1})},
      {31 * minute, report(4, library_tier::combine, stats("max", "web", "9"), {1, 2})},
      query(90 * minute, 51, stats("median", "sales", "38").problem),
      query(90 * minute, 52, lease.problem)};
  append(s, reuses(100 * minute, 100, 1, 0, 3));
  append(s, reuses(100 * minute, 200, 3, 3, 0));
  library_run run(
      {.policy = p, .cues = std::move(s), .reviewers = {agrees, silent}, .threads = threads});
  run.until(5 * hour);
  for (const auto type : {"answer", "solution_reviewed", "solution_stored", "solution_forked",
                          "solution_reused", "solution_deprecated", "solution_synthesized"}) {
    EXPECT_FALSE(run.events(type).empty()) << "no " << type << " with " << threads << " threads";
  }
  return run.log_text();
}

TEST(Librarian, EventLogsAreIdenticalWithOneAndTwoThreads) {
  const auto one = busy_log(1);
  const auto two = busy_log(2);
  EXPECT_FALSE(one.empty());
  EXPECT_EQ(testing::first_difference(one, two), "");
}

}  // namespace
}  // namespace colony::agents
