// The committee: see committee.hpp, and docs/model.md ("Committees") for the model.
#include "committee.hpp"

#include <algorithm>
#include <map>

namespace colony::agents::detail {

committee::committee(committee_setup s)
    : setup_(std::move(s)), said_(setup_.members.size()), asked_(setup_.members.size(), 0) {}

void committee::edges(std::vector<edge_count>& out) const {
  for (std::size_t i = 0; i < setup_.members.size(); ++i) {
    out.push_back({setup_.members[i], "member", asked_[i]});
  }
}

void committee::handle(broker::envelope& env, engine::context& ctx) {
  broker::visit(broker::overloaded{
                    [&](msg::task_request& t) {
                      if (busy_) {  // one task per committee: the organizer never sends a second
                        msg::task_result r;
                        r.task = t.task;
                        r.error = "committee busy";
                        ctx.reply(env, std::move(r));
                        return;
                      }
                      busy_ = true;
                      work_.request = std::move(env);
                      if (answered_ > 0) {  // a standing committee takes its next task
                        ask_all(ctx);
                        return;
                      }
                      const auto& task = work_.task();
                      boost::json::array members, names;
                      for (std::size_t i = 0; i < setup_.members.size(); ++i) {
                        members.emplace_back(broker::raw(setup_.members[i]));
                        names.emplace_back(setup_.names[i]);
                      }
                      ctx.log_event("committee_formed",
                                    {{"committee", broker::raw(ctx.self())},
                                     {"task", broker::raw(task.task)},
                                     {"pattern", setup_.pattern},
                                     {"complexity", task.complexity},
                                     {"threshold", setup_.policy.complexity},
                                     {"members", std::move(members)},
                                     {"member_names", std::move(names)},
                                     {"chair", setup_.names.front()},
                                     {"standing", setup_.standing},
                                     {"reason", "task " + std::to_string(broker::raw(task.task)) +
                                                    " has complexity at or above " +
                                                    fixed(setup_.policy.complexity)}});
                      ask_all(ctx);
                    },
                    [&](msg::task_result& r) { settle(env.correlation, &r, ctx); },
                    [&](msg::timeout& t) { settle(t.request, nullptr, ctx); }, [](msg::tick&) {},
                    [](msg::ping&) {}, [](msg::pong&) {}, [](msg::token&) {}, [](msg::spawned&) {},
                    [](msg::stopped&) {}, [](msg::dead_letter&) {}, [](msg::llm_call&) {},
                    [](msg::llm_reply&) {}, [](msg::library_query&) {}, [](msg::library_answer&) {},
                    [](msg::library_report&) {}, [](msg::store_request&) {},
                    [](msg::store_reply&) {}, [](msg::db_announce&) {}},
                env.payload);
}

void committee::ask_all(engine::context& ctx) {
  const auto& task = work_.task();
  for (std::size_t i = 0; i < setup_.members.size(); ++i) {
    msg::task_request t = task;
    t.attempt = task.attempt + round_;
    if (round_ > 0) {
      // Discussion: the member sees its peers' latest contributions. Right peers persuade and
      // wrong ones mislead: skill_bonus = gain x (2 x share of answering peers that were right
      // - 1). The simulator reads the truth here as the backends do; no decision uses it.
      std::size_t peers = 0, right = 0;
      for (std::size_t j = 0; j < said_.size(); ++j) {
        if (j == i || !said_[j].ok) continue;
        ++peers;
        if (said_[j].answer == task.truth) ++right;
      }
      if (peers > 0) {
        t.skill_bonus += setup_.policy.discussion_gain *
                         (2.0 * static_cast<double>(right) / static_cast<double>(peers) - 1.0);
      }
    }
    const auto corr = ctx.request(setup_.members[i], std::move(t), setup_.policy.timeout);
    pending_.emplace(broker::raw(corr), i);
    ++asked_[i];
  }
}

void committee::settle(broker::correlation_id corr, const msg::task_result* r,
                       engine::context& ctx) {
  const auto it = pending_.find(broker::raw(corr));
  if (it == pending_.end()) return;
  const std::size_t member = it->second;
  pending_.erase(it);
  if (r != nullptr) {
    work_.charge(*r);
    // A member that fails this round keeps its earlier contribution.
    if (r->ok) said_[member] = {true, r->answer, r->confidence};
  }
  if (pending_.empty()) conclude_round(ctx);
}

void committee::conclude_round(engine::context& ctx) {
  if (round_ < setup_.policy.rounds) {
    ++round_;
    ask_all(ctx);
    return;
  }
  // The chair's synthesis: a vote weighted by stated confidence; a tie goes to the chair's
  // answer if it is among the tied, else to the lower option.
  std::map<std::int32_t, double> weight;
  std::map<std::int32_t, std::pair<double, int>> confidence;
  double total = 0;
  for (const auto& c : said_) {
    if (!c.ok) continue;
    weight[c.answer] += c.confidence;
    confidence[c.answer].first += c.confidence;
    ++confidence[c.answer].second;
    total += c.confidence;
  }
  if (weight.empty()) {
    dissolve(ctx, false, -1, 0, "every member failed", 0);
    return;
  }
  std::int32_t winner = weight.begin()->first;
  for (const auto& [answer, w] : weight) {
    if (w > weight[winner]) winner = answer;
  }
  const auto& chair = said_.front();
  if (chair.ok && chair.answer != winner && weight[chair.answer] == weight[winner]) {
    winner = chair.answer;
  }
  const double support = total > 0 ? weight[winner] / total : 0;
  const double mean = confidence[winner].first / confidence[winner].second;
  if (support >= setup_.policy.gate) {
    dissolve(ctx, true, winner, support * mean, "passed", support);
    return;
  }
  if (revisions_ < setup_.policy.max_revisions) {
    ++revisions_;
    ++round_;
    ask_all(ctx);  // back for revision: one more discussion round
    return;
  }
  dissolve(ctx, false, winner, 0, "escalated", support);
}

void committee::dissolve(engine::context& ctx, bool ok, std::int32_t answer, double confidence,
                         const std::string& outcome, double support) {
  const auto& task = work_.task();
  // A standing committee reports each task as answered; a one-task committee dissolves with it.
  ctx.log_event(setup_.standing ? "committee_answered" : "committee_dissolved",
                {{"committee", broker::raw(ctx.self())},
                 {"task", broker::raw(task.task)},
                 {"outcome", outcome},
                 {"answer", answer},
                 {"support", support},
                 {"gate", setup_.policy.gate},
                 {"rounds", round_ + 1},
                 {"revisions", revisions_},
                 {"cost", work_.cost},
                 {"reason", outcome == "passed" ? "the synthesis passed the quality gate"
                            : outcome == "escalated"
                                ? "the synthesis failed the quality gate after " +
                                      std::to_string(revisions_) + " revisions; handed to humans"
                                : outcome}});
  if (outcome == "escalated") {
    // The queue for humans, as the validator writes it.
    ctx.log_event("task_escalated",
                  {{"task", broker::raw(task.task)},
                   {"family", task.family},
                   {"domain", task.domain},
                   {"text", task.text},
                   {"options", task.options},
                   {"last_answer", answer},
                   {"corrections", revisions_},
                   {"reason", "the committee's synthesis had support " + fixed(support) +
                                  " under the gate after " + std::to_string(revisions_) +
                                  " revisions; handed to humans"}});
  }
  msg::task_result r;
  r.task = task.task;
  r.ok = ok;
  r.answer = ok ? answer : -1;
  r.confidence = ok ? confidence : 0;
  r.cost = work_.cost;
  r.tokens_in = work_.tokens_in;
  r.tokens_out = work_.tokens_out;
  r.error = ok ? "" : outcome == "escalated" ? "escalated" : outcome;
  r.via = "committee";
  ctx.reply(work_.request, std::move(r));
  ++answered_;
  if (!setup_.standing) {
    ctx.stop(ctx.self(), {.reason = "dissolved: " + outcome});
    return;
  }
  // Ready for the next task.
  work_ = {};
  busy_ = false;
  std::fill(said_.begin(), said_.end(), contribution{});
  pending_.clear();
  round_ = 0;
  revisions_ = 0;
}

void committee::on_stop(engine::context& ctx) {
  if (!setup_.standing) return;
  ctx.log_event("committee_dissolved",
                {{"committee", broker::raw(ctx.self())},
                 {"outcome", "stood down"},
                 {"tasks", static_cast<std::uint64_t>(answered_)},
                 {"reason", "a standing committee stood down by its organizer after " +
                                std::to_string(answered_) + " tasks"}});
}

}  // namespace colony::agents::detail
