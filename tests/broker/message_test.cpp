#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "colony/broker/envelope.hpp"
#include "colony/broker/message.hpp"

namespace colony::broker {
namespace {

// Every alternative of the protocol survives a trip through JSON with its type name first.
TEST(Message, EveryTypeRoundTripsThroughJson) {
  std::vector<message> all = {
      msg::ping{7},
      msg::pong{8},
      msg::token{1, 2, 3},
      msg::tick{5, 1},
      msg::timeout{correlation_id{4}, agent_id{5}},
      msg::spawned{agent_id{6}, 9, "child"},
      msg::stopped{agent_id{6}, "pruned", agent_id{2}, {{"share", 0.004}}},
      msg::dead_letter{agent_id{1}, agent_id{99}, "ping", "unknown agent"},
      msg::task_request{task_id{11}, "stats", "finance", "mean of 1 2 3", 0.3, 0.8, 4, 1, 2, 5},
      msg::task_result{task_id{11}, true, 2, 0.9, 0.0125, 120, 40, ""},
      msg::llm_call{task_id{11}, "finance", 0.3, 4, 2, 1.5, 0.1},
      msg::llm_reply{task_id{11}, true, 2, 0.8, 0.002, 300, 120, 5000, 900000, ""},
      msg::library_query{task_id{11}, "mean of 1 2 3"},
      msg::library_answer{task_id{11}, {{7, 0.97, 0.9, "stats", "mean(xs)", {{"n", "3"}}}}},
      msg::library_report{task_id{11},
                          "stats_1",
                          "adapt_parameters",
                          0.9,
                          {7},
                          true,
                          0.8,
                          "stats",
                          "finance",
                          "mean of 1 2 3",
                          "mean(xs)",
                          {{"n", "3"}},
                          "n: 2 -> 3",
                          0.004,
                          0.3,
                          4,
                          2,
                          2},
      msg::store_request{"lookup", "fx", "finance", "market_data", "EUR/USD", "", "fx_quote", "",
                         "", task_id{11}, -1, 0},
      msg::store_reply{"lookup", true, true, "1.0842", 5000, 0, "", 0, ""},
      msg::db_announce{"finance", "market_data", "fx", agent_id{9}},
  };
  ASSERT_EQ(all.size(), std::variant_size_v<message>);
  for (const auto& m : all) {
    const auto v = to_json(m);
    EXPECT_EQ(v.as_object().begin()->key(), "type");
    EXPECT_EQ(v.at("type").as_string(), type_name(m));
    auto back = message_from_json(v);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(boost::json::serialize(to_json(*back)), boost::json::serialize(v));
  }
}

TEST(Message, SerializesFieldsByName) {
  const auto v = to_json(msg::token{3, 10, 99});
  EXPECT_EQ(boost::json::serialize(v), R"({"type":"token","id":3,"hops_left":10,"seed":99})");
}

TEST(Message, RejectsUnknownTypesAndBadFields) {
  auto unknown = message_from_json(boost::json::parse(R"({"type":"teleport"})"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "unknown message type \"teleport\"");
  auto no_type = message_from_json(boost::json::parse(R"({"value":1})"));
  ASSERT_FALSE(no_type);
  EXPECT_EQ(no_type.error().message, "a message needs a string field \"type\"");
  auto bad = message_from_json(boost::json::parse(R"({"type":"ping","value":"x"})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::bad_input);
}

TEST(Message, BoxedMessagesAreValuesAndUnboxOnAccess) {
  message a = msg::task_request{task_id{1}, "f", "finance", "text", 0.1, 0.2, 4, 0};
  message b = a;  // a deep copy
  get<msg::task_request>(b).text = "changed";
  EXPECT_EQ(get<msg::task_request>(a).text, "text");
  EXPECT_EQ(get<msg::task_request>(b).text, "changed");
  EXPECT_EQ(get_if<msg::spawned>(&a), nullptr);
  EXPECT_NE(get_if<msg::task_request>(&a), nullptr);
  message p = msg::ping{4};
  EXPECT_EQ(get<msg::ping>(p).value, 4u);
  EXPECT_THROW((void)get<msg::pong>(p), std::bad_variant_access);
  // visit hands the handler the plain struct, boxed or not.
  auto name = [](const message& m) {
    return visit(overloaded{[](const msg::task_request& r) { return "task:" + r.domain; },
                            [](const auto& other) { return std::string(other.type); }},
                 m);
  };
  EXPECT_EQ(name(a), "task:finance");
  EXPECT_EQ(name(p), "ping");
  EXPECT_EQ(type_name(a), "task_request");
}

TEST(Envelope, SerializesAddressesTimesAndPayload) {
  envelope e;
  e.from = agent_id{1};
  e.to = agent_id{2};
  e.send_time = 10;
  e.deliver_time = 1010;
  e.seq = 5;
  e.correlation = correlation_id{5};
  e.kind = envelope_kind::request;
  e.payload = msg::ping{1};
  EXPECT_EQ(boost::json::serialize(boost::json::value_from(e)),
            R"({"from":1,"to":2,"send_time":10,"deliver_time":1010,"seq":5,"correlation":5,)"
            R"("priority":3,"kind":"request","payload":{"type":"ping","value":1}})");
}

}  // namespace
}  // namespace colony::broker
