#include "colony/base/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace colony::log {
namespace {

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

spdlog::level::level_enum& current_level() {
  static spdlog::level::level_enum level = spdlog::level::warn;
  return level;
}

}  // namespace

spdlog::logger& get(std::string_view module) {
  const std::string name = "colony." + std::string(module);
  std::lock_guard lock(registry_mutex());
  if (auto existing = spdlog::get(name)) return *existing;
  auto logger = spdlog::stderr_color_mt(name);
  logger->set_level(current_level());
  logger->set_pattern("%^[%H:%M:%S.%e] %n %l:%$ %v");
  return *logger;
}

bool set_level(std::string_view level) {
  const auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") return false;
  std::lock_guard lock(registry_mutex());
  current_level() = parsed;
  spdlog::apply_all([parsed](const std::shared_ptr<spdlog::logger>& l) { l->set_level(parsed); });
  return true;
}

}  // namespace colony::log
