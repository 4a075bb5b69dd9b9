#include "colony/broker/registry.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace colony::broker {
namespace {

std::vector<agent_id> ids(std::span<const agent_id> s) {
  return {s.begin(), s.end()};
}

TEST(Registry, NamesResolveBothWays) {
  registry r;
  ASSERT_TRUE(r.name_agent(agent_id{3}, "router"));
  EXPECT_EQ(r.lookup("router"), agent_id{3});
  EXPECT_EQ(r.name_of(agent_id{3}), "router");
  EXPECT_FALSE(r.lookup("nobody").has_value());
  EXPECT_EQ(r.name_of(agent_id{9}), "");
}

TEST(Registry, RefusesATakenName) {
  registry r;
  ASSERT_TRUE(r.name_agent(agent_id{1}, "a"));
  auto second = r.name_agent(agent_id{2}, "a");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, errc::invalid_argument);
  EXPECT_EQ(second.error().message, "the name \"a\" is taken by agent 1");
}

TEST(Registry, GroupsKeepMembersSortedAndUnique) {
  registry r;
  r.join("harbor", agent_id{5});
  r.join("harbor", agent_id{2});
  r.join("harbor", agent_id{9});
  r.join("harbor", agent_id{5});
  EXPECT_EQ(ids(r.members(group("harbor"))),
            (std::vector<agent_id>{agent_id{2}, agent_id{5}, agent_id{9}}));
  EXPECT_EQ(r.group_name(group("harbor")), "harbor");
  r.leave(group("harbor"), agent_id{5});
  EXPECT_EQ(ids(r.members(group("harbor"))), (std::vector<agent_id>{agent_id{2}, agent_id{9}}));
  EXPECT_TRUE(r.members(group("elsewhere")).empty());
}

TEST(Registry, SubscribeAndUnsubscribe) {
  registry r;
  r.subscribe("prices", agent_id{4});
  r.subscribe("prices", agent_id{1});
  EXPECT_EQ(ids(r.subscribers(topic("prices"))), (std::vector<agent_id>{agent_id{1}, agent_id{4}}));
  r.unsubscribe(topic("prices"), agent_id{1});
  EXPECT_EQ(ids(r.subscribers(topic("prices"))), (std::vector<agent_id>{agent_id{4}}));
}

TEST(Registry, RemoveForgetsAnAgentEverywhere) {
  registry r;
  ASSERT_TRUE(r.name_agent(agent_id{7}, "seven"));
  r.join("g", agent_id{7});
  r.join("g", agent_id{8});
  r.subscribe("t", agent_id{7});
  r.remove(agent_id{7});
  EXPECT_FALSE(r.lookup("seven"));
  EXPECT_EQ(ids(r.members(group("g"))), (std::vector<agent_id>{agent_id{8}}));
  EXPECT_TRUE(r.subscribers(topic("t")).empty());
  // The name is free again.
  EXPECT_TRUE(r.name_agent(agent_id{10}, "seven"));
}

TEST(Ids, NamesHashStably) {
  // FNV-1a of "" and "a": fixed values, so ids are the same on every machine.
  EXPECT_EQ(stable_hash(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(stable_hash("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_NE(topic("a"), topic("b"));
}

}  // namespace
}  // namespace colony::broker
