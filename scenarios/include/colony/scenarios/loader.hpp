#pragma once
/// Loading a scenario file: parse, apply `--set` overrides, validate everything, and either
/// return the scenario or every problem found, each located in the file or at the override.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "colony/scenarios/scenario.hpp"

namespace colony::scenarios {

/// One problem in a scenario, located where the user can fix it.
struct diagnostic {
  std::string where;    ///< "FILE:LINE:COL" (1-based, columns in characters), "FILE" when the
                        ///< file itself is the problem, or "--set PATH=VALUE" for an override
  std::string pointer;  ///< JSON pointer (RFC 6901) of the offending value ("" for the document)
  std::string message;  ///< what is wrong
  std::string hint;     ///< how to fix it ("" if nothing to add)

  /// "WHERE: error: POINTER: MESSAGE (HINT)"; the pointer and hint parts are left out when empty.
  [[nodiscard]] std::string format() const;
};

/// A scenario, or the problems that kept it from loading.
struct load_result {
  std::optional<scenario> value;     ///< set exactly when `problems` is empty
  std::vector<diagnostic> problems;  ///< file positions first, in document order, then overrides

  explicit operator bool() const noexcept { return value.has_value(); }
};

/// Reads, overrides and validates the scenario file at `file`. Each override is
/// "PATH=VALUE" (see parse_scenario). Never throws on bad input: an unreadable file is one
/// diagnostic ("FILE: error: cannot read: REASON"), a JSON syntax error is one diagnostic at
/// its position, and otherwise every validation problem is reported in one pass.
[[nodiscard]] load_result load_scenario(const std::filesystem::path& file,
                                        const std::vector<std::string>& overrides = {});

/// Like load_scenario, on text already in memory; `file_label` names it in diagnostics and its
/// stem is the default scenario name.
///
/// An override "PATH=VALUE" replaces or adds one value before validation. PATH is dotted
/// ("run.duration", "agents.2.params.k") or a JSON pointer ("/run/duration"); an array element
/// is chosen by index or by its "name" ("agents.router.backend"). VALUE is parsed as JSON when
/// it parses ("7", "[\"a\",\"b\"]") and is taken as a string otherwise ("2d"). Missing object
/// keys along the path are created; a missing array element is a diagnostic.
[[nodiscard]] load_result parse_scenario(std::string_view text, std::string file_label,
                                         const std::vector<std::string>& overrides = {});

}  // namespace colony::scenarios
