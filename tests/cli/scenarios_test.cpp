// Each bundled scenario shows the behaviour it exists to show.
#include <gtest/gtest.h>

#include "cli_test_support.hpp"

namespace colony::testing {
namespace {

namespace fs = std::filesystem;

boost::json::object summary_of(const std::string& scenario, const std::string& extra,
                               const std::string& tag, std::string* events = nullptr) {
  const auto out = scratch(scenario + "-" + tag);
  const auto r = colony("run " + (examples() / (scenario + ".json")).string() + " --quiet --out " +
                        out.string() + " " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto s = read_json(out / "summary.json");
  if (events != nullptr) *events = read_file(out / "events.jsonl");
  fs::remove_all(out);
  return s;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

// The cascade answers most tasks on its cheap tiers, escalates the hard ones, and so costs far
// less than sending everything to the large model, for nearly the same success rate.
TEST(SupportDesk, CascadeIsCheaperThanTheLargeModelAloneAtSimilarSuccess) {
  std::string events;
  const auto cascade = summary_of("support_desk", "", "cascade", &events);
  const auto large_only =
      summary_of("support_desk", "--set 'agents.front.links=[\"large_model\"]'", "large");

  const auto& backends = cascade.at("backends").as_object();
  const auto faq = u64(backends.at("faq").as_object(), "calls");
  const auto small = u64(backends.at("small").as_object(), "calls");
  const auto large = u64(backends.at("large").as_object(), "calls");
  const auto arrived = u64(cascade, "arrived");
  EXPECT_GT(arrived, 1000u);
  EXPECT_GE(faq, arrived);  // every task starts at the FAQ tier
  EXPECT_LT(small, faq);    // the FAQ tier keeps some
  EXPECT_LT(large, small);  // the small model keeps more
  EXPECT_GT(count(events, "\"type\":\"escalated_tier\""), 0u);

  EXPECT_LT(num(cascade, "cost"), 0.5 * num(large_only, "cost"));
  EXPECT_GT(num(cascade, "success_rate"), num(large_only, "success_rate") - 0.1);
  EXPECT_EQ(u64(cascade, "arrived"), u64(cascade, "completed") + u64(cascade, "failed") +
                                         u64(cascade, "escalated") + u64(cascade, "in_flight"));
}

// Fallbacks to the single general model keep the flaky finance expert's failures from reaching
// users: without them, many more tasks fail.
TEST(ExpertRouter, FallbacksKeepFailuresLow) {
  std::string events;
  const auto with = summary_of("expert_router", "", "with", &events);
  const auto without = summary_of("expert_router", "--set agents.finance_expert.links=[]", "none");
  EXPECT_GT(count(events, "\"type\":\"fallback\""), 100u);
  EXPECT_GT(count(events, "\"type\":\"circuit_opened\""), 0u);
  const double failed_with = num(with, "failed") / num(with, "arrived");
  const double failed_without = num(without, "failed") / num(without, "arrived");
  EXPECT_LT(failed_with, 0.01);
  EXPECT_GT(failed_without, 2 * failed_with + 0.005);
}

// The validator sends disputed records back for correction and escalates the hopeless ones;
// what it lets through is right more often than the pipeline's raw output.
TEST(DataPipeline, ValidationLoopRaisesAccuracyAndEscalatesTheRest) {
  std::string events;
  const auto gated = summary_of("data_pipeline", "", "gated", &events);
  const auto raw = summary_of("data_pipeline", "--set workload.entry=flow", "raw");
  EXPECT_GT(u64(gated, "escalated"), 0u);
  EXPECT_GT(count(events, "\"type\":\"task_escalated\""), 0u);
  const double precision_gated = num(gated, "succeeded") / num(gated, "completed");
  const double precision_raw = num(raw, "succeeded") / num(raw, "completed");
  EXPECT_GT(precision_gated, precision_raw + 0.05);
  EXPECT_GT(num(gated, "cost"), num(raw, "cost"));  // checking and correcting cost something
}

// Three independent analysts merged beat any one of them.
TEST(ParallelMerge, MergedAnswersBeatASingleAnalyst) {
  const auto merged = summary_of("parallel_merge", "", "merged");
  const auto single =
      summary_of("parallel_merge", "--set 'agents.merge.links=[\"analyst_a\"]'", "single");
  EXPECT_GT(num(merged, "success_rate"), num(single, "success_rate") + 0.03);
  EXPECT_GT(num(merged, "cost"), 2.5 * num(single, "cost"));
}

// More samples: higher accuracy, at a cost that grows with the number of samples.
TEST(SelfConsistency, AccuracyAndCostGrowWithSamples) {
  double last_rate = 0, last_cost = 0;
  for (int k : {1, 3, 7}) {
    const auto s =
        summary_of("self_consistency", "--set agents.ensemble.params.samples=" + std::to_string(k),
                   "k" + std::to_string(k));
    EXPECT_GT(num(s, "success_rate"), last_rate + 0.02) << "samples=" << k;
    EXPECT_GT(num(s, "cost"), last_cost * 1.8) << "samples=" << k;
    last_rate = num(s, "success_rate");
    last_cost = num(s, "cost");
  }
}

}  // namespace
}  // namespace colony::testing
