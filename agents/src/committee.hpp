#pragma once
// A temporary committee for one complex task: members answer, discuss in rounds seeing each
// other's contributions, the chair synthesizes, a quality gate passes the result or sends it
// back for a revision round; then the committee answers and dissolves (stops itself).
#include <string>
#include <unordered_map>
#include <vector>

#include "colony/agents/organizer.hpp"
#include "colony/agents/probe.hpp"
#include "colony/engine/actor.hpp"
#include "task_job.hpp"

namespace colony::agents::detail {

struct committee_setup {
  std::vector<broker::agent_id> members;  ///< the chair first
  std::vector<std::string> names;         ///< same order
  std::string pattern;                    ///< the task's pattern, for the log
  decltype(organizer_policy::committee) policy;
  /// A standing committee of the pool: it answers task after task (one at a time) and is
  /// dissolved by its organizer; otherwise it dissolves after its one task.
  bool standing = false;
};

class committee final : public engine::actor, public topology_probe {
 public:
  explicit committee(committee_setup s);
  void handle(broker::envelope& env, engine::context& ctx) override;
  void on_stop(engine::context& ctx) override;
  void edges(std::vector<edge_count>& out) const override;

 private:
  struct contribution {
    bool ok = false;
    std::int32_t answer = -1;
    double confidence = 0;
  };

  void ask_all(engine::context& ctx);
  void settle(broker::correlation_id corr, const msg::task_result* r, engine::context& ctx);
  void conclude_round(engine::context& ctx);
  void dissolve(engine::context& ctx, bool ok, std::int32_t answer, double confidence,
                const std::string& outcome, double support);

  committee_setup setup_;
  task_job work_;
  bool busy_ = false;
  std::vector<contribution> said_;    // the latest contribution of each member
  std::vector<std::uint64_t> asked_;  // requests sent to each member
  std::unordered_map<std::uint64_t, std::size_t> pending_;  // correlation -> member
  std::uint32_t round_ = 0;  // 0: first answers; then discussion rounds
  std::uint32_t revisions_ = 0;
  std::uint64_t answered_ = 0;  // tasks answered (a standing committee's count)
};

}  // namespace colony::agents::detail
