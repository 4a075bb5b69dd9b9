#pragma once
// What the memory tests share: asserting that a result holds a value, and a scratch directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

/// Asserts (or expects) that a result holds a value, printing its error otherwise.
#define ASSERT_OK(expr)                      \
  do {                                       \
    const auto& ok_ = (expr);                \
    ASSERT_TRUE(ok_) << ok_.error().message; \
  } while (false)

#define EXPECT_OK(expr)                      \
  do {                                       \
    const auto& ok_ = (expr);                \
    EXPECT_TRUE(ok_) << ok_.error().message; \
  } while (false)

namespace colony::memory::testing_support {

/// A fresh directory for the current test, `temp/colony_<prefix>_<pid>_<test>`, removed at the
/// end.
class scratch_dir {
 public:
  explicit scratch_dir(const std::string& prefix) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("colony_" + prefix + "_" + std::to_string(::getpid()) + "_" + info->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const {
    return path_ / name;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace colony::memory::testing_support
