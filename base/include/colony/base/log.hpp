#pragma once
/// One named spdlog logger per module. Logging never throws.
#include <spdlog/spdlog.h>

#include <string_view>

namespace colony::log {

/// The logger named `module` ("engine", "broker", ...), created on first use with the shared
/// sink (stderr) and the current level. Thread-safe.
spdlog::logger& get(std::string_view module);

/// Sets the level of every module's logger, existing and future ("trace" .. "off").
/// Returns false, changing nothing, for an unknown level name.
bool set_level(std::string_view level);

}  // namespace colony::log
