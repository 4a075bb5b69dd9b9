#pragma once
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "colony/agents/probe.hpp"
#include "colony/engine/actor.hpp"
#include "task_job.hpp"

namespace colony::agents::detail {

// Base of the kinds that hand a task to their links and answer from what comes back.
class relay : public engine::actor, public topology_probe {
 public:
  relay(const agent_config& c, sim_time timeout);
  void handle(broker::envelope& env, engine::context& ctx) final;
  void edges(std::vector<edge_count>& out) const override;

 protected:
  virtual void start(std::uint64_t id, engine::context& ctx) = 0;
  virtual void on_result(std::uint64_t id, std::size_t link, const msg::task_result& r,
                         engine::context& ctx) = 0;
  virtual void on_check(std::uint64_t id, const msg::llm_reply* r, engine::context& ctx);

  // Sends the job's task (or `altered`) to links_[link]; its result comes to on_result.
  void forward(std::uint64_t id, std::size_t link, engine::context& ctx,
               const msg::task_request* altered = nullptr);
  void finish(std::uint64_t id, engine::context& ctx, bool ok, std::int32_t answer,
              double confidence, std::string error = {}, std::string via = {});

  std::vector<broker::agent_id> links_;
  sim_time timeout_;
  std::unordered_map<std::uint64_t, task_job> jobs_;
  std::unordered_map<std::uint64_t, std::uint64_t>
      checks_;  // correlation -> job, for backend checks

 private:
  void settle(broker::correlation_id corr, const msg::task_result* r, engine::context& ctx);
  void settle_check(broker::correlation_id corr, const msg::llm_reply* r, engine::context& ctx);

  std::uint64_t next_job_ = 0;
  std::vector<std::uint64_t> sent_;  // requests per link
  std::unordered_map<std::uint64_t, std::pair<std::uint64_t, std::size_t>>
      pending_;  // corr -> job, link
};

class router final : public relay {
 public:
  explicit router(const agent_config& c);

 private:
  struct keyword_rule {
    std::vector<std::string> keywords;
    std::size_t link = 0;
  };
  struct observed {
    std::uint64_t n = 0;
    double quality = 0;  // sum of result confidences (failures count 0)
    double cost = 0;     // sum of result costs
  };

  void start(std::uint64_t id, engine::context& ctx) override;
  void on_result(std::uint64_t id, std::size_t link, const msg::task_result& r,
                 engine::context& ctx) override;
  std::size_t choose(const msg::task_request& t, engine::context& ctx);
  std::size_t bandit_choice(const msg::task_request& t, engine::context& ctx);
  double prior_score(std::size_t link, const msg::task_request& t) const;

  std::vector<std::string> names_;
  std::string strategy_;
  double history_weight_;
  double quality_target_;
  double epsilon_;
  std::uint64_t min_trials_;
  double accept_confidence_;
  std::vector<keyword_rule> rules_;
  std::size_t default_link_ = 0;
  std::vector<std::pair<double, std::size_t>> tiers_;  // (max complexity, link), ascending
  std::map<std::pair<std::size_t, std::string>, double> capability_;            // (link, dimension)
  std::map<std::string, std::vector<std::pair<std::string, double>>> weights_;  // by task type
  std::map<std::pair<std::size_t, std::string>, observed> history_;             // (link, domain)
  std::map<std::string, std::size_t> preferred_;  // bandit: domain -> link + 1 (0: none yet)
};

class aggregator final : public relay {
 public:
  explicit aggregator(const agent_config& c);

 private:
  struct gathering {
    std::vector<std::pair<std::int32_t, double>> answers;
    std::size_t outstanding = 0;
  };
  void start(std::uint64_t id, engine::context& ctx) override;
  void on_result(std::uint64_t id, std::size_t link, const msg::task_result& r,
                 engine::context& ctx) override;

  bool weighted_;
  std::unordered_map<std::uint64_t, gathering> gathered_;
};

class validator final : public relay {
 public:
  explicit validator(const agent_config& c);
  void edges(std::vector<edge_count>& out) const override;

 private:
  struct review {
    std::int32_t answer = -1;
    double confidence = 0;
    std::uint32_t corrections = 0;
    std::string via;
  };
  void start(std::uint64_t id, engine::context& ctx) override;
  void on_result(std::uint64_t id, std::size_t link, const msg::task_result& r,
                 engine::context& ctx) override;
  void on_check(std::uint64_t id, const msg::llm_reply* r, engine::context& ctx) override;
  void reject(std::uint64_t id, engine::context& ctx, const std::string& why);

  broker::agent_id backend_;
  std::uint64_t checks_made_ = 0;  // calls to its own backend
  std::uint32_t max_corrections_;
  double min_confidence_;
  std::unordered_map<std::uint64_t, review> state_;
};

class pipeline final : public relay {
 public:
  explicit pipeline(const agent_config& c);

 private:
  void start(std::uint64_t id, engine::context& ctx) override;
  void on_result(std::uint64_t id, std::size_t stage, const msg::task_result& r,
                 engine::context& ctx) override;

  double degradation_;
  std::unordered_map<std::uint64_t, double> input_difficulty_;  // of the stage running, by job
};

}  // namespace colony::agents::detail
