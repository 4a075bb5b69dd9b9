#pragma once
/// Failures as values: `result<T>` carries either a T or an `error`.
#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace colony {

/// What went wrong, coarsely; `error::message` says the rest.
enum class errc {
  invalid_argument = 1,  ///< a caller passed something the operation cannot take
  unknown_agent,         ///< no agent has that id (never spawned, or already gone)
  agent_stopped,         ///< the agent exists but has stopped
  run_failed,            ///< an agent's failure policy stopped the run
  io_error,              ///< a file could not be read or written
  bad_input,             ///< a scenario, flag or file failed validation
  permission_denied,     ///< the caller may not do that (a write through a read-only grant)
};

/// Short name of an error code ("unknown_agent").
[[nodiscard]] std::string_view to_string(errc code) noexcept;

/// An error code and a human-readable message naming the thing that failed.
struct error {
  errc code;            ///< the kind of failure
  std::string message;  ///< what failed, where, and if possible how to fix it
};

/// Thrown only when `result::value()` is called on an error: a programming bug at the call site.
class error_exception : public std::runtime_error {
 public:
  explicit error_exception(const error& e);
  errc code;  ///< the code of the error that was not handled
};

/// Hook for boost::system::result<T, error>::value().
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

/// A T or an error. Inside the engine, failures are values of this type.
template <class T>
using result = boost::system::result<T, error>;

/// Shorthand for returning a failure: `return fail(errc::unknown_agent, "agent 7 ...")`.
[[nodiscard]] inline error fail(errc code, std::string message) {
  return error{code, std::move(message)};
}

}  // namespace colony
