#pragma once
/// Simulated LLM backends: a profile, the model that draws one call's outcome from it, and the
/// actor that serves calls with a concurrency limit. Every formula is in docs/model.md.
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include "colony/base/time.hpp"
#include "colony/broker/message.hpp"
#include "colony/engine/actor.hpp"
#include "colony/engine/context.hpp"
#include "colony/engine/rng.hpp"

namespace colony::agents {

/// Shape of a backend's service time.
enum class latency_kind : std::uint8_t {
  constant,     ///< always `value`
  exponential,  ///< exponential with mean `value`
  lognormal,    ///< lognormal with median `value` and 95th percentile `p95`
};

[[nodiscard]] std::string_view to_string(latency_kind k) noexcept;

/// A service-time distribution.
struct latency_model {
  latency_kind kind = latency_kind::constant;
  sim_time value = 1 * sec;  ///< constant: the latency; exponential: the mean; lognormal: median
  sim_time p95 = 0;          ///< lognormal only: the 95th percentile, > value
};

/// What a scenario says about one backend (`backends[i]` in the scenario file).
struct backend_profile {
  std::string name;                     ///< unique; agents name it
  latency_model latency;                ///< service time of one call
  std::uint32_t tokens_in = 500;        ///< prompt tokens of a call (times llm_call::tokens_scale)
  std::uint32_t tokens_out = 200;       ///< completion tokens of a call
  double price_in = 0;                  ///< price per 1,000 prompt tokens
  double price_out = 0;                 ///< price per 1,000 completion tokens
  std::map<std::string, double> skill;  ///< ability per domain, 0..1
  double default_skill = 0.5;           ///< ability in a domain not listed
  double discrimination = 10;     ///< how sharply correctness falls as difficulty passes skill
  double confidence_gap = 0.15;   ///< stated confidence is this much higher when right
  double confidence_noise = 0.1;  ///< standard deviation of the stated confidence's noise
  double failure_rate = 0;        ///< chance a call fails outright, 0..1
  sim_time timeout = 60 * sec;    ///< a call not answered by then fails with "timeout"
  std::uint32_t concurrency = 0;  ///< calls served at once (0: unlimited); the rest queue FIFO
};

/// A backend as agents that choose among backends see it: its name, its actor, and its
/// declared profile (the model card: price, skill per domain).
struct backend_ref {
  std::string name;
  broker::agent_id id{};
  backend_profile profile;
  /// The declared price of one plain call: tokens.in / 1000 x price.in + tokens.out / 1000 x
  /// price.out.
  [[nodiscard]] double call_cost() const {
    return profile.tokens_in / 1000.0 * profile.price_in +
           profile.tokens_out / 1000.0 * profile.price_out;
  }
};

/// One call's outcome drawn from a profile; `queued` is filled by the backend actor.
struct call_outcome {
  bool ok = false;
  std::string error;         ///< "failure" or "timeout" when !ok
  std::int32_t answer = -1;  ///< the option chosen (ok only)
  bool correct = false;      ///< whether it is the truth (for tests and metrics)
  double confidence = 0;     ///< stated confidence, 0..1
  sim_time service = 0;      ///< service time drawn from the latency model
  std::uint32_t tokens_in = 0;
  std::uint32_t tokens_out = 0;
  double cost = 0;
};

/// The skill a profile has in `domain`.
[[nodiscard]] double skill_in(const backend_profile& p, std::string_view domain);

/// The chance a call is answered correctly, given it does not fail (3PL item response model):
/// c + (1 - c) / (1 + exp(-a (theta - b))), theta = skill + bonus, b = difficulty, c = 1/options.
[[nodiscard]] double correct_probability(const backend_profile& p, const broker::msg::llm_call& c);

/// Draws a service time from `m`.
[[nodiscard]] sim_time draw_latency(const latency_model& m, engine::rng& r);

/// Draws the outcome of one call. Pure given the stream: the same stream state gives the same
/// outcome.
[[nodiscard]] call_outcome simulate_call(const backend_profile& p, const broker::msg::llm_call& c,
                                         engine::rng& r);

/// Serves llm_call requests with a profile: at most `concurrency` at a time, the rest waiting
/// in FIFO order. Each call is answered with an llm_reply when its service ends, or with error
/// "timeout" at `timeout` after it arrived, queued or not. A timed-out call being served keeps
/// its slot until its service ends (the model does not know the client gave up).
class backend_actor final : public engine::actor {
 public:
  explicit backend_actor(backend_profile profile);

  void handle(broker::envelope& env, engine::context& ctx) override;

  /// Totals since the start, for metrics.
  struct totals {
    std::uint64_t calls = 0;     ///< calls received
    std::uint64_t failures = 0;  ///< calls that failed outright
    std::uint64_t timeouts = 0;  ///< calls answered with "timeout"
    std::uint64_t tokens_in = 0, tokens_out = 0;
    double cost = 0;
    std::uint64_t max_queue = 0;  ///< longest the FIFO queue has been
  };
  [[nodiscard]] const totals& counts() const noexcept { return totals_; }
  /// Calls waiting for a slot now.
  [[nodiscard]] std::size_t queue_length() const noexcept { return queue_.size(); }
  /// Calls being served now.
  [[nodiscard]] std::uint32_t in_flight() const noexcept { return in_flight_; }

 private:
  struct call {
    broker::envelope request;  // kept to reply to it
    sim_time arrived = 0;
    sim_time started = 0;
    bool serving = false;
    bool replied = false;
    broker::timer_id deadline{};
    call_outcome outcome;
  };
  void accept(broker::envelope& env, engine::context& ctx);
  void start(std::uint64_t id, engine::context& ctx);
  void finish(std::uint64_t id, engine::context& ctx);
  void expire(std::uint64_t id, engine::context& ctx);
  void reply(call& c, engine::context& ctx, std::string error, const call_outcome& o);

  backend_profile profile_;
  std::unordered_map<std::uint64_t, call> calls_;  // received and not yet finished, by call number
  std::deque<std::uint64_t> queue_;                // waiting for a slot, oldest first
  std::uint64_t next_call_ = 0;
  std::uint32_t in_flight_ = 0;
  totals totals_;
};

}  // namespace colony::agents
