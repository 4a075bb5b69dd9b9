#pragma once
// What the agents tests share: a temporary directory for one test's files, removed with it; a
// name per run of a test; and where two texts (event logs, dumps) first differ.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <system_error>

namespace colony::testing {

/// `temp/colony-<prefix>-<tag>-<pid>`, emptied when made and removed when destroyed.
class scratch_dir {
 public:
  scratch_dir(const std::string& prefix, const std::string& tag)
      : path_(std::filesystem::temp_directory_path() /
              ("colony-" + prefix + "-" + tag + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

/// A name for the scratch directory of the next run: the current test's, numbered.
inline std::string next_run_name() {
  static int runs = 0;
  return std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
         std::to_string(++runs);
}

/// "" when `a` and `b` are the same text, else their first differing line in each.
inline std::string first_difference(const std::string& a, const std::string& b) {
  std::istringstream x(a), y(b);
  std::string l, r;
  for (std::size_t line = 1;; ++line) {
    const bool more_x = static_cast<bool>(std::getline(x, l));
    const bool more_y = static_cast<bool>(std::getline(y, r));
    if (!more_x && !more_y) return "";
    if (more_x != more_y || l != r) {
      return "line " + std::to_string(line) + ":\n  " + (more_x ? l : "(end)") + "\n  " +
             (more_y ? r : "(end)");
    }
  }
}

}  // namespace colony::testing
