#pragma once
// The organizer kind: the entry of a self-organizing network. It routes every task among its
// routes, clusters tasks into patterns, spawns specialists for patterns no route handles well,
// forms committees for complex tasks, and at each self-analysis prunes and merges routes. Every
// structural change is an event with its reason and the numbers behind it.
#include <map>
#include <set>
#include <unordered_map>

#include "colony/agents/organizer.hpp"
#include "colony/agents/probe.hpp"
#include "colony/engine/actor.hpp"
#include "task_job.hpp"

namespace colony::agents::detail {

class organizer final : public engine::actor, public organizer_probe {
 public:
  explicit organizer(const agent_config& c);
  void on_start(engine::context& ctx) override;
  void handle(broker::envelope& env, engine::context& ctx) override;

  void edges(std::vector<edge_count>& out) const override;
  [[nodiscard]] std::vector<made_agent> made() const override;
  [[nodiscard]] std::vector<pattern_view> patterns() const override;
  [[nodiscard]] std::vector<std::string> covered(broker::agent_id id) const override;

 private:
  static constexpr std::uint32_t analysis_tick = 1;
  static constexpr std::uint32_t pool_tick = 2;  // tick.id: the standing committee to check
  static constexpr std::uint64_t committee_tag = std::uint64_t{1} << 63;

  struct job {
    task_job work;
    pattern_book::placement at;
    broker::agent_id route = broker::no_agent;
    sim_time sent = 0;
    std::vector<broker::agent_id> seats;  // committee members, when a committee has it
  };

  // A standing committee of the pool (committee.pool > 0).
  struct standing {
    broker::agent_id id = broker::no_agent;  // no_agent while it is being spawned
    std::vector<broker::agent_id> members;
    bool busy = true;
    sim_time idle_since = 0;
  };

  void begin(broker::envelope& env, engine::context& ctx);
  void on_stopped(broker::agent_id who);
  void on_tick(const msg::tick& t, engine::context& ctx);
  bool use_pool(std::uint64_t id, engine::context& ctx);
  void stand_down(std::uint32_t pattern, std::size_t at, const std::string& why,
                  engine::context& ctx);
  standing* find_standing(broker::agent_id id, std::uint32_t* pattern = nullptr);
  void dispatch(std::uint64_t id, engine::context& ctx);
  void send(std::uint64_t id, broker::agent_id to, engine::context& ctx);
  void settle(broker::correlation_id corr, const msg::task_result* r, engine::context& ctx);
  void on_spawned(const msg::spawned& s, engine::context& ctx);
  void announce_patterns(const pattern_book::placement& at, engine::context& ctx);
  void maybe_spawn(const pattern_book::placement& at, engine::context& ctx);
  bool maybe_committee(std::uint64_t id, engine::context& ctx);
  void analyse(engine::context& ctx);
  void retire_if_drained(broker::agent_id id, engine::context& ctx);
  [[nodiscard]] std::string pattern_name(std::uint32_t p) const;

  std::string locale_;
  broker::agent_id library_;                             // the run's library (for spawns)
  std::shared_ptr<const library_policy> library_rules_;  // its policy
  broker::agent_id store_;                               // its locale's store (or none)
  std::shared_ptr<const store_policy> store_rules_;
  organizer_core core_;
  sim_time timeout_;
  std::uint64_t next_job_ = 0;
  std::unordered_map<std::uint64_t, job> jobs_;
  std::unordered_map<std::uint64_t, std::uint64_t> pending_;  // correlation -> job
  std::uint64_t next_spawn_ = 0;
  std::map<std::uint64_t, spawn_decision> spawning_;  // tag -> decision
  std::set<std::uint32_t> announced_;                 // patterns already logged as detected
  std::map<broker::agent_id, made_agent> made_;       // alive agents it made
  std::map<broker::agent_id, std::uint64_t> sent_;    // requests per route or committee
  std::uint64_t results_since_analysis_ = 0;
  std::map<std::uint32_t, std::vector<standing>> pool_;     // by pattern
  std::map<std::uint64_t, std::uint32_t> standing_spawns_;  // job -> pattern, while spawning
};

}  // namespace colony::agents::detail
