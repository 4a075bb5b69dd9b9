#include <boost/json.hpp>
#include <exception>
#include <string>

#include "colony/broker/envelope.hpp"
#include "colony/broker/message.hpp"

namespace colony::broker {

std::string_view type_name(const message& m) noexcept {
  return std::visit([](const auto& x) { return std::decay_t<decltype(x)>::type; }, m);
}

boost::json::value to_json(const message& m) {
  boost::json::value v;
  visit(
      [&v](const auto& x) {
        v = boost::json::value_from(x);
        // "type" first, so a line of the event log reads naturally.
        boost::json::object out;
        out["type"] = std::decay_t<decltype(x)>::type;
        for (auto& kv : v.as_object()) out[kv.key()] = std::move(kv.value());
        v = std::move(out);
      },
      m);
  return v;
}

namespace {

template <std::size_t I = 0>
result<message> from_json_at(std::string_view type, const boost::json::value& v) {
  if constexpr (I == std::variant_size_v<message>) {
    return fail(errc::bad_input, "unknown message type \"" + std::string(type) + "\"");
  } else {
    using T = std::variant_alternative_t<I, message>;
    if (T::type == type) {
      try {
        boost::json::object fields = v.as_object();
        fields.erase("type");
        using plain = std::remove_cvref_t<decltype(*std::declval<T*>())>;
        if constexpr (detail::is_boxed<T>::value) {
          using inner = std::remove_cvref_t<decltype(*std::declval<T&>())>;
          return message{T{boost::json::value_to<inner>(boost::json::value(std::move(fields)))}};
        } else {
          return message{boost::json::value_to<plain>(boost::json::value(std::move(fields)))};
        }
      } catch (const std::exception& e) {
        return fail(errc::bad_input,
                    "message \"" + std::string(type) + "\" has a bad field: " + e.what());
      }
    }
    return from_json_at<I + 1>(type, v);
  }
}

}  // namespace

result<message> message_from_json(const boost::json::value& v) {
  const auto* obj = v.if_object();
  if (obj == nullptr) return fail(errc::bad_input, "a message must be a JSON object");
  const auto* type = obj->if_contains("type");
  if (type == nullptr || !type->is_string()) {
    return fail(errc::bad_input, "a message needs a string field \"type\"");
  }
  return from_json_at(std::string_view(type->as_string()), v);
}

std::string_view to_string(envelope_kind k) noexcept {
  switch (k) {
    case envelope_kind::plain:
      return "plain";
    case envelope_kind::request:
      return "request";
    case envelope_kind::reply:
      return "reply";
    case envelope_kind::timer:
      return "timer";
    case envelope_kind::timeout:
      return "timeout";
    case envelope_kind::start:
      return "start";
    case envelope_kind::stop:
      return "stop";
  }
  return "unknown";
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const envelope& e) {
  boost::json::object o;
  o["from"] = raw(e.from);
  o["to"] = raw(e.to);
  o["send_time"] = e.send_time;
  o["deliver_time"] = e.deliver_time;
  o["seq"] = e.seq;
  if (raw(e.conversation) != 0) o["conversation"] = raw(e.conversation);
  if (raw(e.correlation) != 0) o["correlation"] = raw(e.correlation);
  o["priority"] = e.priority;
  o["kind"] = to_string(e.kind);
  if (e.forwards != 0) o["forwards"] = e.forwards;
  o["payload"] = to_json(e.payload);
  v = std::move(o);
}

}  // namespace colony::broker
