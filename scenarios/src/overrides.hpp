#pragma once
// `--set PATH=VALUE` overrides, applied to the parsed document before validation.
#include <cstddef>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "problem.hpp"

namespace colony::scenarios {

/// An override that took effect: which one, and the pointer of the value it set.
struct applied_override {
  std::size_t index = 0;  ///< position in the list of overrides
  std::string pointer;
};

/// Applies each override to `document`, in order. One that cannot be applied (no '=', a path
/// that does not resolve) is reported in `problems`, tagged with its index, and skipped.
[[nodiscard]] std::vector<applied_override> apply_overrides(
    boost::json::value& document, const std::vector<std::string>& overrides,
    std::vector<problem>& problems);

}  // namespace colony::scenarios
