#pragma once
/// The protocol: every message is a plain struct, and `message` is the variant of all of them.
/// Handlers visit it without a catch-all, so a new message is a compile error wherever it is not
/// handled. Every message converts to and from JSON (`{"type": "ping", ...fields}`) with
/// to_json and message_from_json.
#include <boost/describe/class.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "colony/base/error.hpp"
#include "colony/base/time.hpp"
#include "colony/broker/ids.hpp"

namespace colony::broker {

/// A message kept on the heap so that the `message` variant, and every envelope, stays small
/// (an envelope is copied and moved several times per delivery). Still a value: copying a box
/// copies what it holds. Handlers rarely see it: `broker::visit` and `broker::get` unbox.
template <class T>
class boxed {
 public:
  static constexpr std::string_view type = T::type;

  boxed(T value) : p_(std::make_unique<T>(std::move(value))) {}  // NOLINT: implicit by design
  boxed(const boxed& other) : p_(std::make_unique<T>(*other.p_)) {}
  boxed(boxed&&) noexcept = default;
  boxed& operator=(const boxed& other) {
    p_ = std::make_unique<T>(*other.p_);
    return *this;
  }
  boxed& operator=(boxed&&) noexcept = default;
  ~boxed() = default;

  T& operator*() noexcept { return *p_; }
  const T& operator*() const noexcept { return *p_; }
  T* operator->() noexcept { return p_.get(); }
  const T* operator->() const noexcept { return p_.get(); }

 private:
  std::unique_ptr<T> p_;
};

namespace msg {

/// A probe: health checks, request/response round trips, tests.
struct ping {
  static constexpr std::string_view type = "ping";
  std::uint64_t value = 0;  ///< echoed back in the pong
};
BOOST_DESCRIBE_STRUCT(ping, (), (value))

/// The answer to a ping.
struct pong {
  static constexpr std::string_view type = "pong";
  std::uint64_t value = 0;  ///< the ping's value
};
BOOST_DESCRIBE_STRUCT(pong, (), (value))

/// A token passed from agent to agent (relay rings, load generators, the kernel stress world).
struct token {
  static constexpr std::string_view type = "token";
  std::uint64_t id = 0;         ///< which token
  std::uint64_t hops_left = 0;  ///< forwards still to make
  std::uint64_t seed = 0;       ///< randomness carried by the token, independent of arrival order
};
BOOST_DESCRIBE_STRUCT(token, (), (id, hops_left, seed))

/// A self-timer's payload: which of the agent's timers fired and what for.
struct tick {
  static constexpr std::string_view type = "tick";
  std::uint64_t id = 0;    ///< agent-defined: the call, task or cycle it concerns
  std::uint32_t what = 0;  ///< agent-defined: the kind of timer
};
BOOST_DESCRIBE_STRUCT(tick, (), (id, what))

/// Delivered to a requester when no reply came within the request's timeout.
struct timeout {
  static constexpr std::string_view type = "timeout";
  correlation_id request{};  ///< the request that got no reply
  agent_id peer{};           ///< whom it was sent to
};
BOOST_DESCRIBE_STRUCT(timeout, (), (request, peer))

/// Delivered to a parent when the agent it asked for exists (child == no_agent: the spawn failed,
/// and a spawn_failed event says why).
struct spawned {
  static constexpr std::string_view type = "spawned";
  agent_id child{};     ///< the new agent's id
  std::uint64_t tag{};  ///< the tag the parent gave in spawn_options
  std::string name;     ///< the new agent's name ("" if none)
};
BOOST_DESCRIBE_STRUCT(spawned, (), (child, tag, name))

/// Delivered to a parent when one of its children has stopped.
struct stopped {
  static constexpr std::string_view type = "stopped";
  agent_id who{};               ///< the agent that stopped
  std::string reason;           ///< why: "stopped by 12", "failed: ...", ...
  agent_id heir{};              ///< where its mail now goes (no_agent: dead-lettered)
  boost::json::object details;  ///< the numbers behind the decision (may be empty)
};
BOOST_DESCRIBE_STRUCT(stopped, (), (who, reason, heir, details))

/// Mail that could not be delivered, published on `dead_letter_topic` to whoever subscribed
/// (a monitor, a queue for humans). Every dead letter is also a `dead_letter` event.
struct dead_letter {
  static constexpr std::string_view type = "dead_letter";
  agent_id from{};           ///< who sent the undeliverable mail
  agent_id to{};             ///< whom it was for
  std::string message_type;  ///< its type name ("task_request")
  std::string reason;        ///< "unknown agent", "agent stopped", "late reply", ...
};
BOOST_DESCRIBE_STRUCT(dead_letter, (), (from, to, message_type, reason))

/// A unit of work from the workload.
struct task_request {
  static constexpr std::string_view type = "task_request";
  task_id task{};             ///< the task's id, unique in the run
  std::string family;         ///< the task family it was drawn from
  std::string domain;         ///< its domain ("finance", "legal", ...)
  std::string text;           ///< the task's text
  double difficulty = 0;      ///< 0..1, lowers the chance of a correct answer
  double complexity = 0;      ///< 0..1, drives routing tiers and committees
  std::uint32_t options = 0;  ///< number of answer options
  std::uint32_t attempt = 0;  ///< 0 for the first try, then retries and corrections
  /// Ground truth: the correct option. Read only by simulated backends (to draw right or wrong
  /// answers) and by the workload's scorer; agents must not route or decide on it.
  std::int32_t truth = -1;
  sim_time arrived = 0;  ///< when the task entered the system
  /// Added to the skill of whoever answers it: the modelled effect of the context the sender
  /// gives with the task (a committee's discussion; later memory and library hits).
  double skill_bonus = 0;
  /// The values the task's template slots were filled with ({"from": "USD", ...}).
  std::map<std::string, std::string> params;
  /// What a model writes when it solves the task: the family's solution template filled with
  /// `params` ("" when the family has none, and then the task does not use the library). Like
  /// `truth`, written by the workload for the simulated model; agents store and adapt it.
  std::string solution;
  /// A fact the task needs looked up first (its family's `lookup`): the shared table that would
  /// hold it and its key ("" when the task needs none).
  std::string lookup_table;
  std::string lookup_key;
};
BOOST_DESCRIBE_STRUCT(task_request, (),
                      (task, family, domain, text, difficulty, complexity, options, attempt, truth,
                       arrived, skill_bonus, params, solution, lookup_table, lookup_key))

/// A call to an LLM backend, sent by an agent to the backend's actor.
struct llm_call {
  static constexpr std::string_view type = "llm_call";
  task_id task{};              ///< the task this call works on
  std::string domain;          ///< the task's domain (skill is per domain)
  double difficulty = 0;       ///< 0..1
  std::uint32_t options = 0;   ///< number of answer options
  std::int32_t truth = -1;     ///< ground truth, for the simulated model only
  double tokens_scale = 1.0;   ///< multiplies the profile's token counts (prompt size)
  double skill_bonus = 0;      ///< added to the backend's skill (context, memory, library hits)
  double latency_scale = 1.0;  ///< multiplies the service time drawn (a shorter or longer job)
  double output_scale = 1.0;   ///< multiplies the profile's completion tokens (a shorter answer)
};
BOOST_DESCRIBE_STRUCT(llm_call, (),
                      (task, domain, difficulty, options, truth, tokens_scale, skill_bonus,
                       latency_scale, output_scale))

/// A backend's answer to an llm_call (sent as the reply to the request).
struct llm_reply {
  static constexpr std::string_view type = "llm_reply";
  task_id task{};                ///< the task the call worked on
  bool ok = false;               ///< false: the call failed (error says why)
  std::int32_t answer = -1;      ///< the option chosen
  double confidence = 0;         ///< the model's stated confidence, 0..1
  double cost = 0;               ///< price of the call
  std::uint32_t tokens_in = 0;   ///< prompt tokens
  std::uint32_t tokens_out = 0;  ///< completion tokens
  sim_time queued = 0;           ///< time spent waiting for a concurrency slot
  sim_time latency = 0;          ///< total time from call to reply, queueing included
  std::string error;             ///< "failure", "timeout", ... when !ok
};
BOOST_DESCRIBE_STRUCT(llm_reply, (),
                      (task, ok, answer, confidence, cost, tokens_in, tokens_out, queued, latency,
                       error))

/// The outcome of a task request.
struct task_result {
  static constexpr std::string_view type = "task_result";
  task_id task{};                ///< the task answered
  bool ok = false;               ///< false when the work failed (error says why)
  std::int32_t answer = -1;      ///< the chosen option, -1 when none
  double confidence = 0;         ///< the answerer's confidence, 0..1
  double cost = 0;               ///< money spent on this answer
  std::uint32_t tokens_in = 0;   ///< prompt tokens spent
  std::uint32_t tokens_out = 0;  ///< completion tokens spent
  std::string error;             ///< what went wrong when !ok
  std::string via;               ///< the structure that answered ("committee"; "" for the rest)
};
BOOST_DESCRIBE_STRUCT(task_result, (),
                      (task, ok, answer, confidence, cost, tokens_in, tokens_out, error, via))

/// A solution the library found for a query.
struct solution_ref {
  std::uint64_t id = 0;                       ///< the library entry
  double similarity = 0;                      ///< cosine similarity of its problem to the query
  double quality = 0;                         ///< the entry's quality, 0..1
  std::string family;                         ///< the task family it was written for ("" if none)
  std::string solution;                       ///< its text
  std::map<std::string, std::string> params;  ///< the parameters it was written for
};
BOOST_DESCRIBE_STRUCT(solution_ref, (), (id, similarity, quality, family, solution, params))

/// Asks the solution library for the entries nearest to a task's text (a request).
struct library_query {
  static constexpr std::string_view type = "library_query";
  task_id task{};    ///< the task it is for
  std::string text;  ///< the task's text, embedded by the library
};
BOOST_DESCRIBE_STRUCT(library_query, (), (task, text))

/// The library's reply to a library_query: the nearest live entries, best first (none when the
/// library is empty).
struct library_answer {
  static constexpr std::string_view type = "library_answer";
  task_id task{};
  std::vector<solution_ref> hits;
};
BOOST_DESCRIBE_STRUCT(library_answer, (), (task, hits))

/// What came of a task that consulted the library, sent to it when the task is answered: the
/// path taken, the entries used (their uses and successes are counted) and, for a success on a
/// path that wrote a solution, the solution to store.
struct library_report {
  static constexpr std::string_view type = "library_report";
  task_id task{};
  std::string author;               ///< the agent that answered
  std::string tier;                 ///< "reuse", "adapt_parameters", ... "generate"
  double similarity = 0;            ///< the best similarity found
  std::vector<std::uint64_t> used;  ///< entries used, best first (parents of a store)
  bool ok = false;                  ///< the task was answered
  double quality = 0;               ///< the answer's confidence
  std::string family, domain, problem, solution;
  std::map<std::string, std::string> params;  ///< the task's parameters
  std::string changes;                        ///< what an adaptation changed ("" if nothing)
  double saved = 0;                           ///< cost saved against generating from scratch
  /// For peer review: the task's difficulty, options and truth (read only by the simulated
  /// model of the reviewers' backends) and the answer given.
  double difficulty = 0;
  std::uint32_t options = 0;
  std::int32_t truth = -1;
  std::int32_t answer = -1;
};
BOOST_DESCRIBE_STRUCT(library_report, (),
                      (task, author, tier, similarity, used, ok, quality, family, domain, problem,
                       solution, params, changes, saved, difficulty, options, truth, answer))

/// An operation on a locale's store, sent to the store's owner: "recall", "lookup" and
/// "request_access" as requests (a store_reply answers); "record", "put", "create_table",
/// "external" and "merge" usually sent without one. docs/stores.md lists them with their fields.
struct store_request {
  static constexpr std::string_view type = "store_request";
  std::string op;      ///< "recall", "record", "lookup", "put", "create_table", "request_access",
                       ///< "external", "merge"
  std::string agent;   ///< the agent asking (by name)
  std::string locale;  ///< the asking agent's locale
  std::string table;   ///< a shared table
  std::string key;     ///< a row's key
  std::string value;   ///< a row's value; "merge": the heir's name
  std::string family;  ///< the task's family ("recall", "record")
  std::string text;    ///< what to remember ("record"); the justification ("request_access")
  std::string level;   ///< "read" or "write" ("request_access")
  task_id task{};      ///< the task it is for
  std::int32_t answer = -1;  ///< the answer given ("record")
  double quality = 0;        ///< the answer's confidence ("record")
};
BOOST_DESCRIBE_STRUCT(store_request, (),
                      (op, agent, locale, table, key, value, family, text, level, task, answer,
                       quality))

/// The reply to a store_request.
struct store_reply {
  static constexpr std::string_view type = "store_reply";
  std::string op;           ///< the operation answered
  bool ok = false;          ///< done (a refused access or write: false, `error` says why)
  bool hit = false;         ///< "lookup": the key was there and fresh
  std::string value;        ///< "lookup": its value
  sim_time updated = 0;     ///< "lookup": when it was written
  std::uint64_t count = 0;  ///< "recall": episodes of the family at or above the threshold
  std::string level;        ///< "request_access": the level granted
  sim_time expires = 0;     ///< "request_access": when the grant ends
  std::string error;        ///< why not
};
BOOST_DESCRIBE_STRUCT(store_reply, (), (op, ok, hit, value, updated, count, level, expires, error))

/// A shared table now exists: broadcast by a store's owner to its locale, and published on
/// `stores_topic` for other locales to discover.
struct db_announce {
  static constexpr std::string_view type = "db_announce";
  std::string locale;  ///< where the table lives
  std::string table;   ///< its name
  std::string owner;   ///< the agent that created it
  agent_id store{};    ///< the store's owner, to send operations to
};
BOOST_DESCRIBE_STRUCT(db_announce, (), (locale, table, owner, store))

}  // namespace msg

/// Every message of the protocol. Messages larger than a few words travel boxed; construct
/// them from the plain struct (`ctx.send(to, msg::task_request{...})`) and read them with
/// broker::visit or broker::get, which unbox.
using message =
    std::variant<msg::ping, msg::pong, msg::token, msg::tick, msg::timeout, boxed<msg::spawned>,
                 boxed<msg::stopped>, boxed<msg::dead_letter>, boxed<msg::task_request>,
                 boxed<msg::task_result>, boxed<msg::llm_call>, boxed<msg::llm_reply>,
                 boxed<msg::library_query>, boxed<msg::library_answer>, boxed<msg::library_report>,
                 boxed<msg::store_request>, boxed<msg::store_reply>, boxed<msg::db_announce>>;

/// The topic on which stores announce their shared tables to every locale.
inline constexpr std::string_view stores_topic = "colony.stores";

/// The topic on which the runtimes publish msg::dead_letter notices.
inline constexpr std::string_view dead_letter_topic = "colony.dead_letters";

namespace detail {
template <class T>
struct is_boxed : std::false_type {};
template <class T>
struct is_boxed<boxed<T>> : std::true_type {};
template <class T, class V>
struct holds_alternative_type;
template <class T, class... Ts>
struct holds_alternative_type<T, std::variant<Ts...>>
    : std::bool_constant<(std::is_same_v<T, Ts> || ...)> {};
/// How `message` stores a T: boxed<T> or T.
template <class T>
using stored = std::conditional_t<holds_alternative_type<boxed<T>, message>::value, boxed<T>, T>;
}  // namespace detail

/// Calls `f` with the message itself (unboxed), like std::visit: `f` needs an overload for
/// every message type, so a new message is a compile error where it is not handled.
template <class F, class M>
requires std::is_same_v<std::remove_cvref_t<M>, message>
decltype(auto) visit(F&& f, M&& m) {
  return std::visit(
      [&f](auto&& x) -> decltype(auto) {
        if constexpr (detail::is_boxed<std::remove_cvref_t<decltype(x)>>::value) {
          return f(*x);
        } else {
          return f(x);
        }
      },
      std::forward<M>(m));
}

/// The T in `m`; throws std::bad_variant_access when `m` holds another type.
template <class T>
T& get(message& m) {
  if constexpr (detail::is_boxed<detail::stored<T>>::value) {
    return *std::get<detail::stored<T>>(m);
  } else {
    return std::get<T>(m);
  }
}
template <class T>
const T& get(const message& m) {
  if constexpr (detail::is_boxed<detail::stored<T>>::value) {
    return *std::get<detail::stored<T>>(m);
  } else {
    return std::get<T>(m);
  }
}
/// The T in `m`, or null when `m` holds another type.
template <class T>
const T* get_if(const message* m) {
  auto* p = std::get_if<detail::stored<T>>(m);
  if constexpr (detail::is_boxed<detail::stored<T>>::value) {
    return p ? &**p : nullptr;
  } else {
    return p;
  }
}
template <class T>
T* get_if(message* m) {
  auto* p = std::get_if<detail::stored<T>>(m);
  if constexpr (detail::is_boxed<detail::stored<T>>::value) {
    return p ? &**p : nullptr;
  } else {
    return p;
  }
}

/// The message's type name, as written in JSON ("task_request").
[[nodiscard]] std::string_view type_name(const message& m) noexcept;

/// `{"type": "<name>", ...fields}`. Use this, not boost::json::value_from: Boost.JSON's own
/// std::variant conversion would write the alternative without its type name.
[[nodiscard]] boost::json::value to_json(const message& m);

/// Reads a message written by value_from. Fails with errc::bad_input naming the problem.
[[nodiscard]] result<message> message_from_json(const boost::json::value& v);

/// Helper for visiting a message with one lambda per type.
template <class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

}  // namespace colony::broker
