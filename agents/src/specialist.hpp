#pragma once
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "colony/agents/library.hpp"
#include "colony/agents/probe.hpp"
#include "colony/agents/stores.hpp"
#include "colony/engine/actor.hpp"
#include "task_job.hpp"

namespace colony::agents::detail {

class specialist final : public engine::actor, public topology_probe {
 public:
  explicit specialist(const agent_config& c);
  void on_start(engine::context& ctx) override;
  void handle(broker::envelope& env, engine::context& ctx) override;
  void edges(std::vector<edge_count>& out) const override;

 private:
  static constexpr std::uint32_t retry_tick = 1;
  static constexpr std::uint32_t external_tick = 2;

  struct job {
    task_job work;
    std::vector<std::pair<std::int32_t, double>> answers;  // (answer, confidence) per sample
    std::uint32_t outstanding = 0;                         // samples not settled yet
    std::size_t next_link = 0;                             // next fallback to try
    // The library path, when the task consulted the library.
    bool consulted = false;
    library_tier tier = library_tier::generate;
    double similarity = 0;                        // best similarity found
    std::vector<broker::msg::solution_ref> used;  // the entries the path builds on
    double own_cost = 0;                          // spent on this agent's own backend calls
    // Before the calls: memory recalled and facts looked up (stores).
    std::uint32_t preparing = 0;  // store replies and external lookups still awaited
    double memory_bonus = 0;      // skill from recalled episodes
  };
  // A shared table the agent knows of, and where it lives.
  struct table_ref {
    broker::agent_id store{};
    std::string locale;
    bool requested = false;    // access asked for (another locale's)
    bool granted = false;      // access given (another locale's)
    sim_time retry_after = 0;  // no new request before this (one awaited, or denied)
  };
  enum class prep : std::uint8_t { recall, lookup, access };
  struct pending_call {
    std::uint64_t job;
    std::uint32_t attempt;
  };

  void begin(broker::envelope& env, engine::context& ctx);
  void prepare(std::uint64_t id, engine::context& ctx);
  void prepared(std::uint64_t id, engine::context& ctx);
  void on_store(broker::correlation_id corr, const broker::msg::store_reply* r,
                engine::context& ctx);
  void fetch_external(std::uint64_t id, engine::context& ctx);
  void fetched(std::uint64_t id, engine::context& ctx);
  void learn_table(const broker::msg::db_announce& a);
  void consult(std::uint64_t id, engine::context& ctx);
  void start(std::uint64_t id, engine::context& ctx);
  void on_library(broker::correlation_id corr, const broker::msg::library_answer* a,
                  engine::context& ctx);
  void finish(std::uint64_t id, engine::context& ctx, bool ok, std::int32_t answer,
              double confidence, std::string error, std::string via, bool own);
  void call(std::uint64_t id, std::uint32_t attempt, engine::context& ctx);
  void on_sample(broker::correlation_id corr, const msg::llm_reply* r, engine::context& ctx);
  void retry(std::uint64_t key, engine::context& ctx);
  void conclude(std::uint64_t id, engine::context& ctx);
  void fall_back(std::uint64_t id, engine::context& ctx, const std::string& why);
  void on_fallback(broker::correlation_id corr, const msg::task_result* r, engine::context& ctx);
  bool breaker_open(engine::context& ctx);
  void record_call(bool ok, engine::context& ctx);

  std::string name_;
  broker::agent_id backend_;
  std::string backend_name_;
  std::vector<broker::agent_id> links_;
  std::uint32_t samples_;
  std::string voting_;
  double agreement_;
  double min_confidence_;
  std::uint32_t max_retries_;
  sim_time backoff_;
  sim_time call_timeout_;
  std::uint32_t breaker_failures_;
  sim_time breaker_cooldown_;
  broker::agent_id library_;                             // no_agent: none, or not used
  std::shared_ptr<const library_policy> library_rules_;  // its thresholds and factors

  std::uint64_t next_job_ = 0;
  std::unordered_map<std::uint64_t, job> jobs_;
  std::unordered_map<std::uint64_t, pending_call> calls_;       // by correlation id
  std::unordered_map<std::uint64_t, std::uint64_t> fallbacks_;  // by correlation id -> job
  std::unordered_map<std::uint64_t, std::uint64_t> queries_;    // library queries -> job
  broker::agent_id store_;                                      // its locale's store (or none)
  std::shared_ptr<const store_policy> store_rules_;
  std::string locale_;
  std::map<std::string, table_ref> tables_;       // shared tables known, by name
  std::map<std::string, std::uint64_t> fetches_;  // external lookups per "table/key"
  std::unordered_map<std::uint64_t, std::pair<std::uint64_t, prep>> preps_;  // store requests
  std::uint64_t calls_made_ = 0;               // requests to the backend
  std::uint64_t queries_made_ = 0;             // queries to the library
  std::vector<std::uint64_t> fallbacks_made_;  // requests per link
  std::uint32_t consecutive_failures_ = 0;
  std::optional<sim_time> open_since_;
};

}  // namespace colony::agents::detail
