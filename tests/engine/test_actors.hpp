#pragma once
// Small actors for kernel tests: behaviour from lambdas, and a recorder that writes every
// delivery to the event log, so a test checks which message went from whom to whom, and when.
#include <boost/json.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "colony/engine/actor.hpp"
#include "colony/engine/context.hpp"
#include "colony/engine/event_log.hpp"

namespace colony::engine::testing {

/// Writes a "got" event for a delivery: from, kind, and the message.
inline void record(const broker::envelope& e, context& ctx) {
  ctx.log_event("got", {{"from", broker::raw(e.from)},
                        {"kind", broker::to_string(e.kind)},
                        {"msg", broker::to_json(e.payload)}});
}

/// An actor made of lambdas. Unset lambdas do nothing; the default handler records.
class scripted final : public actor {
 public:
  using start_fn = std::function<void(context&)>;
  using handle_fn = std::function<void(broker::envelope&, context&)>;

  scripted(start_fn start, handle_fn handle, start_fn stop = {})
      : start_(std::move(start)), handle_(std::move(handle)), stop_(std::move(stop)) {}

  void on_start(context& ctx) override {
    if (start_) start_(ctx);
  }
  void handle(broker::envelope& e, context& ctx) override {
    if (handle_) {
      handle_(e, ctx);
    } else {
      record(e, ctx);
    }
  }
  void on_stop(context& ctx) override {
    if (stop_) stop_(ctx);
  }

 private:
  start_fn start_;
  handle_fn handle_;
  start_fn stop_;
};

inline actor_factory script(scripted::start_fn start = {}, scripted::handle_fn handle = {},
                            scripted::start_fn stop = {}) {
  return [=] { return std::make_unique<scripted>(start, handle, stop); };
}

/// The event log's lines as JSON objects, optionally only those of one type.
inline std::vector<boost::json::object> events(const event_log& log, std::string_view type = {}) {
  std::vector<boost::json::object> out;
  const std::string& text = log.contents();
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto end = text.find('\n', pos);
    auto v = boost::json::parse(std::string_view(text).substr(pos, end - pos));
    if (type.empty() || v.at("type").as_string() == type) out.push_back(std::move(v.as_object()));
    pos = end + 1;
  }
  return out;
}

inline std::uint64_t u64(const boost::json::object& o, std::string_view key) {
  return boost::json::value_to<std::uint64_t>(o.at(key));
}
inline std::string str(const boost::json::object& o, std::string_view key) {
  return std::string(o.at(key).as_string());
}

}  // namespace colony::engine::testing
