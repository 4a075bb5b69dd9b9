#include "compare.hpp"

namespace colony::cli {

result<void> compare_runs(const std::filesystem::path& a, const std::filesystem::path&,
                          const compare_options&, std::ostream&) {
  return fail(errc::bad_input, a.string() + ": compare: not built yet");
}

}  // namespace colony::cli
