#pragma once
// A problem found while loading, before it is located in the file or at an override.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace colony::scenarios {

/// Which position of a pointer a problem is about.
enum class anchor : std::uint8_t {
  value,  ///< the value (or, when it is missing, the nearest enclosing value)
  key,    ///< the member's key (unknown and duplicate keys)
};

struct problem {
  std::string pointer;  ///< JSON pointer of the offending value
  std::string message;
  std::string hint = {};
  anchor at = anchor::value;
  std::optional<std::size_t> override_index = {};  ///< set when the --set argument itself is bad
};

}  // namespace colony::scenarios
