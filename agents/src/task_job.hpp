#pragma once
// What every task-handling kind keeps per task: the request to answer and what the task has cost
// so far, and how to answer it.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "colony/agents/kinds.hpp"
#include "colony/broker/envelope.hpp"
#include "colony/engine/context.hpp"

namespace colony::agents::detail {

namespace msg = broker::msg;

struct task_job {
  broker::envelope request;  // the task_request to reply to
  double cost = 0;
  std::uint32_t tokens_in = 0;
  std::uint32_t tokens_out = 0;

  const msg::task_request& task() const { return broker::get<msg::task_request>(request.payload); }

  void charge(const msg::llm_reply& r) {
    cost += r.cost;
    tokens_in += r.tokens_in;
    tokens_out += r.tokens_out;
  }
  void charge(const msg::task_result& r) {
    cost += r.cost;
    tokens_in += r.tokens_in;
    tokens_out += r.tokens_out;
  }

  /// Replies to the request with everything spent on it.
  /// `via` names the structure that answered ("committee"), passed on from the result relayed.
  void answer(engine::context& ctx, bool ok, std::int32_t answer, double confidence,
              std::string error = {}, std::string via = {}) const {
    msg::task_result r;
    r.task = task().task;
    r.ok = ok;
    r.answer = ok ? answer : -1;
    r.confidence = ok ? confidence : 0;
    r.cost = cost;
    r.tokens_in = tokens_in;
    r.tokens_out = tokens_out;
    r.error = std::move(error);
    r.via = std::move(via);
    ctx.reply(request, std::move(r));
  }
};

/// The winner of a vote among answers, and its support.
struct vote_result {
  std::int32_t answer = -1;
  double support = 0;     ///< winner's share of the votes (or of the weight), 0..1
  double confidence = 0;  ///< mean stated confidence of the winner's votes
};

/// Majority (each vote counts 1) or weighted (each vote counts its confidence). Ties go to the
/// lower option, so the result never depends on arrival order.
vote_result vote(const std::vector<std::pair<std::int32_t, double>>& answers, bool weighted);

/// `x` rounded to `digits` decimals ("0.75"), for reasons written to the event log.
std::string fixed(double x, int digits = 2);

/// Reads a typed parameter that the loader has checked and filled in.
double number(const boost::json::object& p, std::string_view key);
std::int64_t integer(const boost::json::object& p, std::string_view key);
std::string text(const boost::json::object& p, std::string_view key);

}  // namespace colony::agents::detail
