#include "colony/agents/kinds.hpp"

#include <gtest/gtest.h>

namespace colony::agents {
namespace {

TEST(Kinds, RegisterFindAndListSorted) {
  // The registry lives as long as the process: register once, even under --gtest_repeat.
  if (find_kind("kinds_test_a") == nullptr) {
    ASSERT_TRUE(register_kind({.name = "kinds_test_b", .doc = "b"}));
    ASSERT_TRUE(register_kind({.name = "kinds_test_a", .doc = "a"}));
  }
  auto again = register_kind({.name = "kinds_test_a"});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, "agent kind \"kinds_test_a\" is registered already");
  ASSERT_NE(find_kind("kinds_test_a"), nullptr);
  EXPECT_EQ(find_kind("kinds_test_a")->doc, "a");
  EXPECT_EQ(find_kind("nope"), nullptr);
  std::vector<std::string> names;
  for (const auto* k : all_kinds()) names.push_back(k->name);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

}  // namespace
}  // namespace colony::agents
