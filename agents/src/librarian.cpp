// The librarian: the one actor that owns the run's solution library. Queries that arrive within
// a batch window are searched together; reports store, fork and count; every upkeep.every it
// supersedes, deprecates and synthesizes. docs/library.md describes it, docs/model.md gives the
// formulas.
#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <unordered_map>

#include "colony/agents/library.hpp"
#include "colony/agents/probe.hpp"
#include "colony/base/assert.hpp"
#include "colony/base/log.hpp"
#include "colony/engine/actor.hpp"
#include "colony/engine/context.hpp"
#include "colony/memory/embedder.hpp"
#include "task_job.hpp"

namespace colony::agents {
namespace {

namespace msg = broker::msg;
using memory::solution_id;

constexpr std::uint32_t flush_tick = 1;
constexpr std::uint32_t upkeep_tick = 2;

constexpr std::string_view family_tag = "family:";
constexpr std::string_view domain_tag = "domain:";
constexpr std::string_view param_tag = "param:";
constexpr std::string_view general_tag = "general";

std::uint64_t raw(solution_id id) {
  return static_cast<std::uint64_t>(id);
}

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// `text` with each whole-word occurrence of a parameter's value replaced by {name}: the general
// form of a solution written for those values. One pass over the original text, trying longer
// values first at each word start ("100" before "10"), so a placeholder once written is never
// searched again.
std::string generalize(const std::string& text, const std::map<std::string, std::string>& params) {
  std::vector<std::pair<std::string, std::string>> by_length;
  for (const auto& [name, value] : params) {
    if (!value.empty()) by_length.emplace_back(name, value);
  }
  std::stable_sort(by_length.begin(), by_length.end(),
                   [](const auto& a, const auto& b) { return a.second.size() > b.second.size(); });
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const bool starts = pos == 0 || !word_char(text[pos - 1]);
    const std::pair<std::string, std::string>* match = nullptr;
    if (starts) {
      for (const auto& p : by_length) {
        const std::size_t end = pos + p.second.size();
        if (text.compare(pos, p.second.size(), p.second) == 0 &&
            (end == text.size() || !word_char(text[end]))) {
          match = &p;
          break;
        }
      }
    }
    if (match != nullptr) {
      out += "{" + match->first + "}";
      pos += match->second.size();
    } else {
      out += text[pos++];
    }
  }
  return out;
}

// What the librarian keeps in memory of each entry (the library holds the rest).
struct entry_state {
  std::string family, domain, solution;
  std::map<std::string, std::string> params;
  std::vector<std::uint64_t> parents;
  std::uint64_t root = 0;  // the first entry of its lineage (first parents followed back)
  double quality = 0;
  std::uint32_t version = 1;
  std::uint64_t uses = 0, successes = 0;
  sim_time last_used = 0;                      // or stored
  std::deque<std::pair<sim_time, bool>> used;  // uses within the supersede window
  bool deprecated = false;
  bool general = false;      // a synthesis
  bool synthesized = false;  // already a parent of a synthesis
};

// A new entry waiting for its reviewers.
struct review {
  msg::library_report report;
  std::size_t asked = 0, answered = 0, accepted = 0;
};

class librarian final : public engine::actor, public library_probe {
 public:
  librarian(library_policy policy, memory::solution_library library,
            std::vector<broker::agent_id> reviewers)
      : policy_(std::move(policy)),
        library_(std::move(library)),
        embedder_(memory::hashing_options{.dimension = library_.dimension()}),
        reviewers_(std::move(reviewers)) {
    load_existing();
  }

  void on_start(engine::context& ctx) override {
    ctx.schedule(policy_.upkeep.every, msg::tick{0, upkeep_tick});
  }

  void handle(broker::envelope& env, engine::context& ctx) override {
    broker::visit(
        broker::overloaded{[&](msg::library_query&) { hold(std::move(env), ctx); },
                           [&](msg::library_report&) { hold(std::move(env), ctx); },
                           [&](msg::tick& t) {
                             if (t.what == flush_tick) flush(ctx);
                             if (t.what == upkeep_tick) upkeep(ctx);
                           },
                           [&](msg::task_result& r) { reviewed(env.correlation, &r, ctx); },
                           [&](msg::timeout& t) { reviewed(t.request, nullptr, ctx); },
                           [](msg::ping&) {}, [](msg::pong&) {}, [](msg::token&) {},
                           [](msg::spawned&) {}, [](msg::stopped&) {}, [](msg::dead_letter&) {},
                           [](msg::task_request&) {}, [](msg::llm_call&) {}, [](msg::llm_reply&) {},
                           [](msg::library_answer&) {}, [](msg::store_request&) {},
                           [](msg::store_reply&) {}, [](msg::db_announce&) {}},
        env.payload);
  }

  [[nodiscard]] library_counters counters() const override {
    library_counters c = counters_;
    c.entries = library_.size();
    c.deprecated = library_.deprecated_count();
    return c;
  }

  [[nodiscard]] result<void> save(const std::filesystem::path& dir) const override {
    return library_.save(dir);
  }

 private:
  // An opened library's entries: known, unused so far in this run.
  void load_existing() {
    for (std::uint64_t id = 1; id <= library_.size(); ++id) {
      auto e = library_.get(solution_id{id});
      COLONY_ASSERT(e.has_value());
      entry_state s;
      s.solution = e->solution;
      s.quality = e->quality;
      s.version = e->version;
      s.uses = e->uses;
      s.successes = e->successes;
      s.deprecated = e->deprecated;
      for (auto p : e->parents) s.parents.push_back(raw(p));
      for (const auto& tag : e->tags) {
        if (tag.starts_with(family_tag)) s.family = tag.substr(family_tag.size());
        if (tag.starts_with(domain_tag)) s.domain = tag.substr(domain_tag.size());
        if (tag == general_tag) s.general = true;
        if (tag.starts_with(param_tag)) {
          const auto kv = tag.substr(param_tag.size());
          const auto eq = kv.find('=');
          if (eq != std::string::npos) s.params[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
      }
      add_state(std::move(s));
    }
    // A version that is a parent of a synthesis is not synthesized again.
    for (const auto& e : entries_) {
      if (!e.general) continue;
      for (auto p : e.parents) entries_[p - 1].synthesized = true;
    }
  }

  void hold(broker::envelope env, engine::context& ctx) {
    held_.push_back(std::move(env));
    if (!flush_pending_) {
      flush_pending_ = true;
      ctx.schedule(policy_.index.batch_window, msg::tick{0, flush_tick});
    }
  }

  // Everything held: reports first (in arrival order), then every query in one search.
  void flush(engine::context& ctx) {
    flush_pending_ = false;
    std::vector<broker::envelope> held;
    held.swap(held_);
    std::vector<const msg::library_report*> to_store;
    for (auto& env : held) {
      if (const auto* r = broker::get_if<msg::library_report>(&env.payload)) {
        if (account(*r, ctx)) to_store.push_back(r);
      }
    }
    if (reviewers_.empty()) {
      store(to_store, ctx);
    } else {
      for (const auto* r : to_store) ask_reviewers(*r, ctx);
    }
    answer(held, ctx);
  }

  // Counts a report and the uses it made; true when it brings a solution to store.
  bool account(const msg::library_report& r, engine::context& ctx) {
    const library_tier tier = tier_from_string(r.tier);
    ++counters_.reports;
    ++counters_.tiers[static_cast<std::size_t>(tier)];
    counters_.similarity_sum += r.similarity;
    counters_.saved += r.saved;
    for (const auto id : r.used) {
      if (id == 0 || id > entries_.size()) continue;
      auto& e = entries_[id - 1];
      if (!library_.record_use(solution_id{id}, r.ok)) continue;
      ++e.uses;
      e.successes += r.ok ? 1 : 0;
      e.last_used = ctx.now();
      e.used.emplace_back(ctx.now(), r.ok);
    }
    if (tier != library_tier::generate && !r.used.empty()) {
      ctx.log_event("solution_reused", {{"task", broker::raw(r.task)},
                                        {"author", r.author},
                                        {"id", r.used.front()},
                                        {"tier", r.tier},
                                        {"similarity", r.similarity},
                                        {"ok", r.ok},
                                        {"saved", r.saved}});
    }
    return r.ok && tier != library_tier::reuse && !r.solution.empty();
  }

  std::vector<std::string> tags_of(const std::string& family, const std::string& domain,
                                   const std::map<std::string, std::string>& params) const {
    std::vector<std::string> tags;
    if (!family.empty()) tags.push_back(std::string(family_tag) + family);
    if (!domain.empty()) tags.push_back(std::string(domain_tag) + domain);
    for (const auto& [k, v] : params) tags.push_back(std::string(param_tag) + k + "=" + v);
    return tags;
  }

  // Adds the reports' solutions in one transaction, each with the entries it used as parents.
  void store(const std::vector<const msg::library_report*>& reports, engine::context& ctx) {
    if (reports.empty()) return;
    const std::size_t dim = library_.dimension();
    std::vector<memory::solution_entry> batch;
    std::vector<float> vectors(reports.size() * dim);
    for (std::size_t i = 0; i < reports.size(); ++i) {
      const auto& r = *reports[i];
      memory::solution_entry e;
      e.problem = r.problem;
      e.solution = r.solution;
      e.author = r.author;
      for (const auto id : r.used) {
        const solution_id p{id};
        if (id == 0 || id > entries_.size()) continue;
        if (std::find(e.parents.begin(), e.parents.end(), p) == e.parents.end()) {
          e.parents.push_back(p);
        }
      }
      e.created = ctx.now();
      e.quality = r.quality;
      e.tags = tags_of(r.family, r.domain, r.params);
      embedder_.embed(r.problem, std::span<float>(vectors).subspan(i * dim, dim));
      batch.push_back(std::move(e));
    }
    auto ids = library_.add(batch, vectors);
    if (!ids) {
      log::get("library").error("could not store {} solutions: {}", batch.size(),
                                ids.error().message);
      return;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      remember(batch[i], (*ids)[i], *reports[i], ctx);
    }
  }

  void remember(const memory::solution_entry& e, solution_id id, const msg::library_report& r,
                engine::context& ctx) {
    entry_state s;
    s.family = r.family;
    s.domain = r.domain;
    s.solution = e.solution;
    s.params = r.params;
    s.quality = e.quality;
    s.last_used = ctx.now();
    s.version = version_of(e.parents);
    boost::json::array parents;
    for (auto p : e.parents) {
      s.parents.push_back(raw(p));
      parents.push_back(raw(p));
    }
    const auto version = s.version;
    add_state(std::move(s));
    COLONY_ASSERT(entries_.size() == raw(id));
    ++counters_.stored;
    ctx.log_event("solution_stored", {{"id", raw(id)},
                                      {"task", broker::raw(r.task)},
                                      {"author", r.author},
                                      {"family", r.family},
                                      {"tier", r.tier},
                                      {"version", version},
                                      {"parents", parents},
                                      {"quality", e.quality}});
    if (!e.parents.empty()) {
      ++counters_.forked;
      ctx.log_event("solution_forked", {{"id", raw(id)},
                                        {"parents", std::move(parents)},
                                        {"tier", r.tier},
                                        {"similarity", r.similarity},
                                        {"changes", r.changes}});
    }
  }

  // As the library numbers versions: 1, or 1 + the highest parent's.
  std::uint32_t version_of(const std::vector<solution_id>& parents) const {
    std::uint32_t v = 0;
    for (auto p : parents) v = std::max(v, entries_[raw(p) - 1].version);
    return v + 1;
  }

  // One search for every query held; each is answered with its nearest live entries.
  void answer(std::vector<broker::envelope>& held, engine::context& ctx) {
    std::vector<const broker::envelope*> queries;
    for (const auto& env : held) {
      if (broker::get_if<msg::library_query>(&env.payload) != nullptr) queries.push_back(&env);
    }
    if (queries.empty()) return;
    const std::size_t dim = library_.dimension();
    std::vector<float> vectors(queries.size() * dim);
    for (std::size_t i = 0; i < queries.size(); ++i) {
      const auto& q = broker::get<msg::library_query>(queries[i]->payload);
      embedder_.embed(q.text, std::span<float>(vectors).subspan(i * dim, dim));
    }
    auto found = library_.search(vectors, policy_.index.candidates);
    ++counters_.searches;
    for (std::size_t i = 0; i < queries.size(); ++i) {
      msg::library_answer a;
      a.task = broker::get<msg::library_query>(queries[i]->payload).task;
      if (found) {
        for (const auto& h : (*found)[i]) {
          const auto& e = entries_[raw(h.id) - 1];
          a.hits.push_back(
              {raw(h.id), static_cast<double>(h.score), e.quality, e.family, e.solution, e.params});
        }
      }
      ++counters_.queries;
      ctx.reply(*queries[i], std::move(a));
    }
  }

  // --- peer review -------------------------------------------------------------------------

  void ask_reviewers(const msg::library_report& r, engine::context& ctx) {
    const std::uint64_t id = ++next_review_;
    review& rv = reviews_[id];
    rv.report = r;
    for (const auto who : reviewers_) {
      msg::task_request t;
      t.task = r.task;
      t.family = r.family;
      t.domain = r.domain;
      t.text = "Review this solution to \"" + r.problem + "\":\n" + r.solution;
      t.difficulty = r.difficulty;
      t.options = r.options;
      t.truth = r.truth;
      t.arrived = ctx.now();
      // No solution: a review is answered by the reviewer's model, not from the library.
      const auto corr = ctx.request(who, std::move(t), policy_.review.timeout);
      review_of_.emplace(broker::raw(corr), id);
      ++rv.asked;
    }
  }

  // A reviewer accepts when it reaches the answer the author gave.
  void reviewed(broker::correlation_id corr, const msg::task_result* r, engine::context& ctx) {
    auto it = review_of_.find(broker::raw(corr));
    if (it == review_of_.end()) return;
    const std::uint64_t id = it->second;
    review_of_.erase(it);
    review& rv = reviews_.at(id);
    ++rv.answered;
    if (r != nullptr) {
      counters_.review_cost += r->cost;
      if (r->ok && r->answer == rv.report.answer) ++rv.accepted;
    }
    if (rv.answered < rv.asked) return;
    const bool accepted = rv.accepted >= policy_.review.required;
    ++counters_.reviewed;
    counters_.rejected += accepted ? 0 : 1;
    ctx.log_event("solution_reviewed", {{"task", broker::raw(rv.report.task)},
                                        {"author", rv.report.author},
                                        {"accepted", accepted},
                                        {"acceptances", rv.accepted},
                                        {"reviewers", rv.asked},
                                        {"required", policy_.review.required}});
    if (accepted) store({&rv.report}, ctx);
    reviews_.erase(id);
  }

  // --- upkeep: supersede, deprecate, synthesize ----------------------------------------------

  void upkeep(engine::context& ctx) {
    // Uses older than the supersede window no longer count (and need not be kept).
    for (auto& e : entries_) {
      while (!e.used.empty() && e.used.front().first < ctx.now() - policy_.supersede.window) {
        e.used.pop_front();
      }
    }
    if (policy_.supersede.enabled) supersede(ctx);
    if (policy_.deprecate.enabled) retire_idle(ctx);
    if (policy_.synthesize.enabled) synthesize(ctx);
    ctx.schedule(policy_.upkeep.every, msg::tick{0, upkeep_tick});
  }

  static double rate(const entry_state& e) {
    std::uint64_t ok = 0;
    for (const auto& [t, success] : e.used) ok += success ? 1 : 0;
    return e.used.empty() ? 0 : static_cast<double>(ok) / static_cast<double>(e.used.size());
  }

  // Deprecates `id` and logs why; false when it already was (or the library refused).
  bool deprecate(std::uint64_t id, const std::string& reason, boost::json::object details,
                 engine::context& ctx) {
    auto& e = entries_[id - 1];
    if (e.deprecated || !library_.deprecate(solution_id{id})) return false;
    e.deprecated = true;
    details["id"] = id;
    details["family"] = e.family;
    details["reason"] = reason;
    ctx.log_event("solution_deprecated", std::move(details));
    return true;
  }

  // A fork whose success rate over the window beats its (only) parent's by the margin
  // supersedes it.
  void supersede(engine::context& ctx) {
    const auto& p = policy_.supersede;
    for (std::uint64_t id = 1; id <= entries_.size(); ++id) {
      const auto& fork = entries_[id - 1];
      if (fork.deprecated || fork.general || fork.parents.size() != 1) continue;
      const auto parent = fork.parents.front();
      const auto& base = entries_[parent - 1];
      if (base.deprecated || fork.used.size() < p.min_uses || base.used.size() < p.min_uses) {
        continue;
      }
      const double ours = rate(fork), theirs = rate(base);
      if (ours < theirs + p.margin) continue;
      counters_.superseded +=
          deprecate(parent,
                    "superseded by #" + std::to_string(id) + ": success " + detail::fixed(ours) +
                        " vs " + detail::fixed(theirs) + " over " + format_duration(p.window),
                    {{"superseded_by", id},
                     {"success", theirs},
                     {"successor_success", ours},
                     {"window", p.window}},
                    ctx)
              ? 1
              : 0;
    }
  }

  void retire_idle(engine::context& ctx) {
    const sim_time idle = policy_.deprecate.idle;
    for (std::uint64_t id = 1; id <= entries_.size(); ++id) {
      const auto& e = entries_[id - 1];
      if (e.deprecated || ctx.now() - e.last_used < idle) continue;
      if (deprecate(id, "unused for " + format_duration(ctx.now() - e.last_used),
                    {{"last_used", e.last_used}}, ctx)) {
        ++counters_.retired;
      }
    }
  }

  // Adds the state of entry `entries_.size() + 1`, its lineage root worked out from its first
  // parent's (entries are added after their parents).
  void add_state(entry_state s) {
    s.root = s.parents.empty() ? entries_.size() + 1 : entries_[s.parents.front() - 1].root;
    entries_.push_back(std::move(s));
  }

  // A solution with min_versions live versions not yet synthesized (entries of one lineage:
  // the same root) gets one general entry whose parents are the most used of them, and the
  // lineage's previous general entry, which it supersedes.
  void synthesize(engine::context& ctx) {
    const auto& p = policy_.synthesize;
    std::map<std::uint64_t, std::vector<std::uint64_t>> versions;  // by root
    std::map<std::uint64_t, std::uint64_t> general;                // by root
    for (std::uint64_t id = 1; id <= entries_.size(); ++id) {
      const auto& e = entries_[id - 1];
      if (e.deprecated) continue;
      if (e.general) {
        general[e.root] = id;
      } else if (!e.synthesized) {
        versions[e.root].push_back(id);
      }
    }
    for (auto& [lineage, ids] : versions) {
      if (ids.size() < p.min_versions) continue;
      std::stable_sort(ids.begin(), ids.end(),
                       [&](auto a, auto b) { return entries_[a - 1].uses > entries_[b - 1].uses; });
      if (ids.size() > p.max_parents) ids.resize(p.max_parents);
      std::sort(ids.begin(), ids.end());
      const auto previous = general.find(lineage);
      synthesize(ids, previous == general.end() ? 0 : previous->second, ctx);
    }
  }

  // The general entry: the most used version's texts with its values as {slot} placeholders,
  // its vector the normalized mean of the versions' problems, its quality their mean success
  // rate; the previous general entry is a parent too (the lineage of generalizations).
  void synthesize(const std::vector<std::uint64_t>& ids, std::uint64_t previous,
                  engine::context& ctx) {
    const std::size_t dim = library_.dimension();
    // The most used version (the first of the equals) is the model of the general text.
    std::uint64_t model = ids.front();
    for (auto id : ids) {
      if (entries_[id - 1].uses > entries_[model - 1].uses) model = id;
    }
    auto model_entry = library_.get(solution_id{model});
    if (!model_entry) return;
    const auto& m = entries_[model - 1];
    const std::string family = m.family;
    memory::solution_entry e;
    e.problem = generalize(model_entry->problem, m.params);
    e.solution = generalize(m.solution, m.params);
    e.author = "library";
    e.created = ctx.now();
    std::vector<float> sum(dim, 0.0f), one(dim);
    double quality = 0;
    for (auto id : ids) {
      auto pe = library_.get(solution_id{id});
      if (!pe) return;
      embedder_.embed(pe->problem, one);
      for (std::size_t i = 0; i < dim; ++i) sum[i] += one[i];
      const auto& s = entries_[id - 1];
      quality +=
          s.uses > 0 ? static_cast<double>(s.successes) / static_cast<double>(s.uses) : s.quality;
    }
    e.quality = quality / static_cast<double>(ids.size());
    std::vector<std::uint64_t> parents = ids;
    if (previous != 0) parents.push_back(previous);
    for (auto id : parents) e.parents.push_back(solution_id{id});
    const float norm = std::sqrt(memory::dot(sum, sum));
    if (norm > 0) {
      for (auto& x : sum) x /= norm;
    }
    e.tags = tags_of(family, m.domain, {});
    e.tags.emplace_back(general_tag);
    auto id = library_.add(e, sum);
    if (!id) {
      log::get("library").error("could not synthesize {}: {}", family, id.error().message);
      return;
    }
    entry_state s;
    s.family = family;
    s.domain = m.domain;
    s.solution = e.solution;
    s.parents = parents;
    s.quality = e.quality;
    s.version = version_of(e.parents);
    s.last_used = ctx.now();
    s.general = true;
    add_state(std::move(s));
    for (auto p : ids) entries_[p - 1].synthesized = true;
    ++counters_.synthesized;
    boost::json::array parent_ids;
    for (auto p : parents) parent_ids.push_back(p);
    ctx.log_event("solution_synthesized", {{"id", raw(*id)},
                                           {"family", family},
                                           {"parents", std::move(parent_ids)},
                                           {"versions", ids.size()},
                                           {"version", entries_.back().version},
                                           {"quality", e.quality}});
    if (previous != 0) {
      deprecate(previous, "superseded by synthesis #" + std::to_string(raw(*id)),
                {{"superseded_by", raw(*id)}}, ctx);
    }
  }

  library_policy policy_;
  memory::solution_library library_;
  memory::hashing_embedder embedder_;
  std::vector<broker::agent_id> reviewers_;
  std::vector<entry_state> entries_;  // by id - 1
  std::vector<broker::envelope> held_;
  bool flush_pending_ = false;
  std::uint64_t next_review_ = 0;
  std::map<std::uint64_t, review> reviews_;
  std::unordered_map<std::uint64_t, std::uint64_t> review_of_;  // correlation id -> review
  library_counters counters_;
};

}  // namespace

std::unique_ptr<engine::actor> make_librarian(library_policy policy,
                                              memory::solution_library library,
                                              std::vector<broker::agent_id> reviewers) {
  return std::make_unique<librarian>(std::move(policy), std::move(library), std::move(reviewers));
}

}  // namespace colony::agents
