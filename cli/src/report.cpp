#include "report.hpp"

namespace colony::cli {

result<std::filesystem::path> write_report(const std::filesystem::path& dir,
                                           const std::filesystem::path&) {
  return fail(errc::bad_input, dir.string() + ": report: not built yet");
}

}  // namespace colony::cli
