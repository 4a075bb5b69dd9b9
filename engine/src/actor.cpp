#include "colony/engine/actor.hpp"

#include "colony/engine/context.hpp"

namespace colony::engine {

void actor::on_start(context&) {}
void actor::on_stop(context&) {}

std::string_view to_string(failure_policy p) noexcept {
  switch (p) {
    case failure_policy::stop:
      return "stop";
    case failure_policy::restart:
      return "restart";
    case failure_policy::stop_run:
      return "stop_run";
  }
  return "unknown";
}

}  // namespace colony::engine
