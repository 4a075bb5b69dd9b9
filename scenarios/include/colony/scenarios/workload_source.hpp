#pragma once
/// The workload as an actor: generates tasks, sends each to the entry agent as a request, and
/// scores what comes back. It is where every task's fate is counted, so the accounting identity
/// arrived = completed + failed + escalated + in_flight holds by construction.
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "colony/engine/actor.hpp"
#include "colony/engine/context.hpp"
#include "colony/scenarios/scenario.hpp"

namespace colony::scenarios {

/// Counts over a span of simulated time (one metrics bucket, or the whole run).
struct task_tally {
  std::uint64_t arrived = 0;
  std::uint64_t completed = 0;  ///< answered (right or wrong)
  std::uint64_t succeeded = 0;  ///< answered with the correct option
  std::uint64_t failed = 0;     ///< ended in an error or got no answer in time
  std::uint64_t escalated = 0;  ///< handed to humans
  double cost = 0;              ///< money spent on the tasks that ended in the span
  std::uint64_t tokens_in = 0;
  std::uint64_t tokens_out = 0;
  std::vector<sim_time> latencies;  ///< of the tasks that ended in the span

  void add(const task_tally& other);
};

/// Counts of one task family over the whole run, and by the path that answered (the result's
/// `via`: "committee", or "single" for everything else).
struct family_tally {
  task_tally all;
  std::map<std::string, task_tally> by_path;
};

/// The rate of a scenario's arrivals at time t (tasks per second): base rate times every burst
/// active at t.
[[nodiscard]] double arrival_rate(const arrivals& a, sim_time t);

/// The share of each family at time t, phases applied (not normalized).
[[nodiscard]] std::vector<double> family_shares(const workload& w, sim_time t);

/// Fills `text`'s {slot} placeholders with draws from `slots`. With `values`, a slot that has a
/// value there keeps it (a slot used twice, or in a task and then in its solution, reads the
/// same), and each value drawn is recorded there.
[[nodiscard]] std::string fill_template(const std::string& text,
                                        const std::map<std::string, slot_spec>& slots,
                                        engine::rng& r,
                                        std::map<std::string, std::string>* values = nullptr);

/// Draws from a distribution, clamped to its bounds.
[[nodiscard]] double draw(const distribution& d, engine::rng& r);

class workload_source final : public engine::actor {
 public:
  /// `entry` is the agent every task is sent to; tasks stop arriving at `until`, and a task
  /// with no result `answer_timeout` after it arrived counts as failed.
  workload_source(workload w, broker::agent_id entry, sim_time until, sim_time answer_timeout);

  void on_start(engine::context& ctx) override;
  void handle(broker::envelope& env, engine::context& ctx) override;

  /// Everything since the start (without latencies: take_bucket() has them).
  [[nodiscard]] const task_tally& total() const noexcept { return total_; }
  [[nodiscard]] std::uint64_t in_flight() const noexcept { return open_.size(); }
  /// Per family, in the scenario's order of families (without latencies).
  [[nodiscard]] const std::vector<family_tally>& families() const noexcept { return families_; }
  /// The counts since the previous call; starts a new bucket.
  [[nodiscard]] task_tally take_bucket();

 private:
  void schedule_next(engine::context& ctx);
  void arrive(engine::context& ctx);
  void settle(broker::correlation_id c, const broker::msg::task_result* r, engine::context& ctx);

  workload work_;
  broker::agent_id entry_;
  sim_time until_;
  sim_time answer_timeout_;
  double peak_rate_ = 0;
  std::uint64_t next_task_ = 0;
  struct open_task {
    std::int32_t truth;
    sim_time arrived;
    std::uint32_t family;
  };
  std::vector<family_tally> families_;
  std::unordered_map<std::uint64_t, open_task> open_;  // by correlation id
  task_tally total_;
  task_tally bucket_;
};

}  // namespace colony::scenarios
