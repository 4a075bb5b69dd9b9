#include "colony/base/error.hpp"

namespace colony {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::unknown_agent:
      return "unknown_agent";
    case errc::agent_stopped:
      return "agent_stopped";
    case errc::run_failed:
      return "run_failed";
    case errc::io_error:
      return "io_error";
    case errc::bad_input:
      return "bad_input";
    case errc::permission_denied:
      return "permission_denied";
  }
  return "unknown_error";
}

error_exception::error_exception(const error& e)
    : std::runtime_error(std::string(to_string(e.code)) + ": " + e.message), code(e.code) {}

void throw_exception_from_error(const error& e, const boost::source_location&) {
  throw error_exception(e);
}

}  // namespace colony
