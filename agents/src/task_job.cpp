#include "task_job.hpp"

#include <cstdio>

#include <algorithm>

namespace colony::agents::detail {

vote_result vote(const std::vector<std::pair<std::int32_t, double>>& answers, bool weighted) {
  std::map<std::int32_t, std::pair<double, double>> tally;  // answer -> (weight, confidence sum)
  double total = 0;
  for (const auto& [answer, confidence] : answers) {
    const double w = weighted ? confidence : 1.0;
    tally[answer].first += w;
    tally[answer].second += confidence;
    total += w;
  }
  vote_result best;
  double best_weight = -1;
  std::size_t best_count = 0;
  for (const auto& [answer, wc] : tally) {  // ascending answers: ties go to the lower one
    if (wc.first > best_weight) {
      best_weight = wc.first;
      best.answer = answer;
      best_count = static_cast<std::size_t>(std::count_if(
          answers.begin(), answers.end(), [&](const auto& a) { return a.first == answer; }));
      best.confidence = wc.second / static_cast<double>(best_count);
    }
  }
  best.support = total > 0 ? best_weight / total : 0;
  return best;
}

double number(const boost::json::object& p, std::string_view key) {
  return p.at(key).to_number<double>();
}
std::int64_t integer(const boost::json::object& p, std::string_view key) {
  return p.at(key).to_number<std::int64_t>();
}
std::string text(const boost::json::object& p, std::string_view key) {
  return std::string(p.at(key).as_string());
}

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

}  // namespace colony::agents::detail
