#pragma once
// What both runtimes write and publish for a dead letter.
#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "colony/broker/envelope.hpp"

namespace colony::engine::detail {

/// The fields of the `dead_letter` event for undeliverable `e`.
inline boost::json::object dead_letter_fields(const broker::envelope& e, std::string_view reason) {
  return {{"from", broker::raw(e.from)},
          {"to", broker::raw(e.to)},
          {"message", broker::type_name(e.payload)},
          {"kind", broker::to_string(e.kind)},
          {"reason", reason}};
}

/// The notice published on the dead-letter topic, or nothing when `e` is itself a notice: an
/// undeliverable notice makes no further notice.
inline std::optional<broker::msg::dead_letter> dead_letter_notice(const broker::envelope& e,
                                                                  std::string_view reason) {
  if (broker::get_if<broker::msg::dead_letter>(&e.payload) != nullptr) return std::nullopt;
  return broker::msg::dead_letter{e.from, e.to, std::string(broker::type_name(e.payload)),
                                  std::string(reason)};
}

}  // namespace colony::engine::detail
