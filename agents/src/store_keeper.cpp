// The store keeper: the one actor that owns a locale's store. It answers store_request
// operations, commits queued writes every store.flush_every, announces shared tables to its
// locale and to every locale, and decides on access requests from other locales. docs/stores.md
// describes it; docs/model.md gives the rules.
#include <algorithm>
#include <map>
#include <set>

#include "colony/agents/stores.hpp"
#include "colony/base/log.hpp"
#include "colony/engine/actor.hpp"
#include "colony/engine/context.hpp"
#include "params.hpp"
#include "task_job.hpp"

namespace colony::agents {
namespace {

namespace msg = broker::msg;
constexpr std::uint32_t flush_tick = 1;
constexpr std::uint32_t archive_tick = 2;

class store_keeper final : public engine::actor, public store_probe {
 public:
  store_keeper(store_policy policy, std::unique_ptr<memory::locale_store> store)
      : policy_(std::move(policy)), store_(std::move(store)), locale_(store_->locale()) {}

  void on_start(engine::context& ctx) override {
    if (auto tables = store_->shared_tables()) {
      for (const auto& t : *tables) tables_.insert(t.name);
    }
    ctx.schedule(policy_.store.archive_idle, msg::tick{0, archive_tick});
  }

  void handle(broker::envelope& env, engine::context& ctx) override {
    broker::visit(
        broker::overloaded{
            [&](msg::store_request& r) { serve(env, r, ctx); },
            [&](msg::tick& t) {
              if (t.what == flush_tick) flush(ctx);
              if (t.what == archive_tick) archive_if_idle(ctx);
            },
            [](msg::ping&) {}, [](msg::pong&) {}, [](msg::token&) {}, [](msg::timeout&) {},
            [](msg::spawned&) {}, [](msg::stopped&) {}, [](msg::dead_letter&) {},
            [](msg::task_request&) {}, [](msg::task_result&) {}, [](msg::llm_call&) {},
            [](msg::llm_reply&) {}, [](msg::library_query&) {}, [](msg::library_answer&) {},
            [](msg::library_report&) {}, [](msg::store_reply&) {}, [](msg::db_announce&) {}},
        env.payload);
  }

  [[nodiscard]] store_counters counters() const override { return counters_; }

  [[nodiscard]] result<void> finish(sim_time now) override {
    const bool queued = store_->pending() > 0;
    auto rows = store_->close(now);
    if (!rows) return rows.error();
    counters_.rows += *rows;
    counters_.flushes += queued ? 1 : 0;
    return {};
  }

 private:
  void reply(const broker::envelope& env, msg::store_reply r, engine::context& ctx) {
    if (env.kind == broker::envelope_kind::request) ctx.reply(env, std::move(r));
  }

  void serve(const broker::envelope& env, const msg::store_request& in, engine::context& ctx) {
    last_use_ = ctx.now();
    if (!archive_watch_) {
      archive_watch_ = true;
      ctx.schedule(policy_.store.archive_idle, msg::tick{0, archive_tick});
    }
    msg::store_request r = in;
    // Table names are case-insensitive, as in the store.
    std::transform(r.table.begin(), r.table.end(), r.table.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    msg::store_reply out;
    out.op = r.op;
    out.ok = true;
    const bool own_only = r.op == "recall" || r.op == "record" || r.op == "merge" ||
                          r.op == "external" || r.op == "create_table";
    if (own_only && foreign(r)) {
      // An agent's memory, and what happens to it, stay in its own locale's store.
      out.ok = false;
      out.error = "\"" + r.op + "\" is for agents of " + locale_;
    } else if (r.op == "recall") {
      ++counters_.recalls;
      // Counted only as far as the bonus needs (episodes_for_full).
      auto n = store_->episode_count(r.agent, r.family, policy_.memory.episode_threshold,
                                     policy_.memory.episodes_for_full);
      out.count = n ? *n : 0;
    } else if (r.op == "record") {
      record(r, ctx);
    } else if (r.op == "lookup") {
      lookup(r, out, ctx);
    } else if (r.op == "put") {
      put(r, out, ctx);
    } else if (r.op == "create_table") {
      create_table(r, out, ctx);
    } else if (r.op == "request_access") {
      decide_access(r, out, ctx);
    } else if (r.op == "external") {
      ++counters_.externals;
    } else if (r.op == "merge") {
      store_->reassign_agent(r.agent, r.value);
      ctx.log_event("stores_merged", {{"locale", locale_},
                                      {"from", r.agent},
                                      {"to", r.value},
                                      {"reason", r.agent + " merged into " + r.value}});
    } else {
      out.ok = false;
      out.error = "unknown operation \"" + r.op + "\"";
    }
    reply(env, std::move(out), ctx);
    // Writes wait for the next flush, flush_every after the first of them.
    if (!flush_scheduled_ && store_->pending() > 0) {
      flush_scheduled_ = true;
      ctx.schedule(policy_.store.flush_every, msg::tick{0, flush_tick});
    }
  }

  void record(const msg::store_request& r, engine::context& ctx) {
    const memory::short_term_limit limit{.keep = policy_.memory.short_keep,
                                         .summarize = policy_.memory.summarize};
    (void)store_->add_short_term(r.agent, r.text, r.quality, ctx.now(), limit);
    memory::episode_record e{.agent = r.agent,
                             .task = static_cast<std::int64_t>(broker::raw(r.task)),
                             .family = r.family,
                             .text = r.text,
                             .answer = r.answer,
                             .quality = r.quality,
                             .created = ctx.now()};
    (void)store_->add_episode(e, policy_.memory.episode_threshold);
  }

  bool foreign(const msg::store_request& r) const { return r.locale != locale_; }

  // The grant an agent of another locale holds on `table` now, the strongest first.
  std::optional<memory::access_grant> grant_of(const msg::store_request& r, sim_time now) {
    auto grants = store_->active_grants(r.locale, r.agent, r.table, now);
    if (!grants || grants->empty()) return std::nullopt;
    auto best = grants->front();
    for (const auto& g : *grants) {
      if (g.level == memory::access_level::write) best = g;
    }
    return best;
  }

  void lookup(const msg::store_request& r, msg::store_reply& out, engine::context& ctx) {
    ++counters_.lookups;
    if (tables_.count(r.table) == 0) {
      out.ok = false;
      out.error = "no shared table \"" + r.table + "\" in " + locale_;
      return;
    }
    std::optional<memory::shared_row> row;
    if (foreign(r)) {
      if (!grant_of(r, ctx.now())) {
        out.ok = false;
        out.error = "no access to " + locale_ + "/" + r.table + " (ask with request_access)";
        return;
      }
      // A grantee reads through the read-only connection, whatever its level.
      ++counters_.foreign_reads;
      auto got = store_->get_as_reader(r.table, r.key);
      if (got) row = *got;
    } else {
      auto got = store_->get_shared(r.table, r.key);
      if (got) row = *got;
    }
    // Fresh: written at most ttl ago (and not in this run's future: a row of an older run).
    if (row && row->updated <= ctx.now() && ctx.now() - row->updated <= policy_.shared.ttl) {
      ++counters_.hits;
      ++counters_.hits_by[r.agent];
      out.hit = true;
      out.value = row->value;
      out.updated = row->updated;
      (void)store_->mark_shared_used(r.table, ctx.now());
    }
  }

  void put(const msg::store_request& r, msg::store_reply& out, engine::context& ctx) {
    if (tables_.count(r.table) == 0) {
      out.ok = false;
      out.error = "no shared table \"" + r.table + "\" in " + locale_;
      return;
    }
    if (foreign(r)) {
      const auto grant = grant_of(r, ctx.now());
      if (!grant || grant->level != memory::access_level::write) {
        // Through the read-only connection: SQLite itself refuses the write.
        auto tried = store_->put_as_reader(r.table, r.key, r.value, r.agent, ctx.now());
        out.ok = false;
        // SQLite's own words, without the file's path (which names the run directory).
        const std::string said = tried ? "" : tried.error().message;
        const auto from = said.find("attempt to write");
        out.error =
            tried ? "write accepted through a read-only connection"
                  : "refused by SQLite: " + (from != std::string::npos ? said.substr(from) : said);
        ++counters_.writes_refused;
        ctx.log_event("write_refused", {{"locale", locale_},
                                        {"table", r.table},
                                        {"key", r.key},
                                        {"by", r.agent},
                                        {"from_locale", r.locale},
                                        {"grant", grant ? "read" : "none"},
                                        {"reason", out.error}});
        return;
      }
    }
    if (auto put = store_->put_shared(r.table, r.key, r.value, r.agent, ctx.now()); !put) {
      out.ok = false;
      out.error = put.error().message;
    }
  }

  void create_table(const msg::store_request& r, msg::store_reply& out, engine::context& ctx) {
    if (!tables_.insert(r.table).second) return;  // there already: use it
    if (auto made = store_->create_shared_table(r.table, r.agent, ctx.now()); !made) {
      tables_.erase(r.table);
      out.ok = false;
      out.error = made.error().message;
      return;
    }
    ++counters_.tables;
    ctx.log_event(
        "db_created",
        {{"locale", locale_}, {"table", r.table}, {"owner", r.agent}, {"reason", r.text}});
    msg::db_announce a{locale_, r.table, r.agent, ctx.self()};
    ctx.broadcast(broker::group(locale_), a);
    ctx.publish(broker::topic(broker::stores_topic), std::move(a));
  }

  // The owner's policy: a trusted locale, a level no higher than max_level, a justification if
  // required, and at most max_requests requests per grantee locale per day.
  void decide_access(const msg::store_request& r, msg::store_reply& out, engine::context& ctx) {
    const auto& p = policy_.access;
    const std::int64_t today = ctx.now() / day;
    auto& asked = requests_[{r.locale, today}];
    ++asked;
    std::string why;
    const auto trusted = p.trusted.find(locale_);
    const bool trusts = trusted != p.trusted.end() &&
                        std::find(trusted->second.begin(), trusted->second.end(), r.locale) !=
                            trusted->second.end();
    if (!trusts) {
      why = locale_ + " does not trust " + r.locale;
    } else if (r.level != "read" && r.level != "write") {
      why = "unknown level \"" + r.level + "\" (read or write)";
    } else if (r.level == "write" && p.max_level != "write") {
      why = "write access is not given (max_level " + p.max_level + ")";
    } else if (p.require_justification && r.text.empty()) {
      why = "no justification given";
    } else if (asked > p.max_requests) {
      why = "more than " + std::to_string(p.max_requests) + " requests from " + r.locale + " today";
    } else if (tables_.count(r.table) == 0) {
      why = "no shared table \"" + r.table + "\"";
    }
    if (!why.empty()) {
      ++counters_.denied;
      out.ok = false;
      out.error = why;
      ctx.log_event("access_denied", {{"locale", locale_},
                                      {"table", r.table},
                                      {"to", r.agent},
                                      {"to_locale", r.locale},
                                      {"level", r.level},
                                      {"justification", r.text},
                                      {"reason", why}});
      return;
    }
    memory::access_grant g;
    g.grantee_locale = r.locale;
    g.grantee_agent = r.agent;
    g.table = r.table;
    g.level = r.level == "write" ? memory::access_level::write : memory::access_level::read;
    g.justification = r.text;
    g.granted = ctx.now();
    g.expires = ctx.now() + p.expires;
    auto id = store_->record_grant(g);
    if (!id) {
      out.ok = false;
      out.error = id.error().message;
      return;
    }
    // Committed at once: the grant holds from now, and reads see committed data only.
    if (auto rows = store_->flush(ctx.now()); rows) {
      counters_.rows += *rows;
      ++counters_.flushes;
    }
    ++counters_.granted;
    out.level = r.level;
    out.expires = g.expires;
    ctx.log_event("access_granted", {{"locale", locale_},
                                     {"table", r.table},
                                     {"to", r.agent},
                                     {"to_locale", r.locale},
                                     {"level", r.level},
                                     {"expires", g.expires},
                                     {"grant", *id},
                                     {"justification", r.text},
                                     {"reason", r.locale + " is trusted by " + locale_}});
  }

  // Commits what is queued, flush_every after the first write since the last commit.
  void flush(engine::context& ctx) {
    flush_scheduled_ = false;
    if (store_->pending() == 0) return;
    auto rows = store_->flush(ctx.now());
    if (rows) {
      counters_.rows += *rows;
      ++counters_.flushes;
    } else {
      log::get("stores").error("{}: flush failed: {}", locale_, rows.error().message);
    }
  }

  // Closes the store once unused for archive_idle; otherwise looks again when it could be.
  void archive_if_idle(engine::context& ctx) {
    const sim_time idle = ctx.now() - last_use_;
    if (idle < policy_.store.archive_idle) {
      ctx.schedule(policy_.store.archive_idle - idle, msg::tick{0, archive_tick});
      return;
    }
    if (!store_->archived() && store_->close(ctx.now())) {
      ++counters_.archived;
      ctx.log_event(
          "db_archived",
          {{"locale", locale_}, {"idle", idle}, {"reason", "unused for " + format_duration(idle)}});
    }
    // Archived: the next request reopens it, and the watch starts again from there.
    archive_watch_ = false;
  }

  store_policy policy_;
  std::unique_ptr<memory::locale_store> store_;
  std::string locale_;
  std::set<std::string> tables_;
  std::map<std::pair<std::string, std::int64_t>, std::uint64_t> requests_;  // (locale, day)
  sim_time last_use_ = 0;
  bool flush_scheduled_ = false;
  bool archive_watch_ = true;  // an archive tick is pending
  store_counters counters_;
};

}  // namespace

std::unique_ptr<engine::actor> make_store_keeper(store_policy policy,
                                                 std::unique_ptr<memory::locale_store> store) {
  return std::make_unique<store_keeper>(std::move(policy), std::move(store));
}

}  // namespace colony::agents
