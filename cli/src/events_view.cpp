#include "events_view.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <map>

namespace colony::cli {
namespace {

std::string value_text(const boost::json::value& v) {
  if (const auto* s = v.if_string()) return std::string(*s);
  if (v.is_double()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v.get_double());
    return buf;
  }
  return boost::json::serialize(v);
}

}  // namespace

std::string format_clock(sim_time t) {
  const sim_time days = t / day;
  t %= day;
  char buf[64];
  const sim_time h = t / hour, m = t % hour / minute, s = t % minute / sec, us = t % sec;
  if (us % msec == 0) {
    std::snprintf(buf, sizeof buf, "%lldd %02lld:%02lld:%02lld.%03lld",
                  static_cast<long long>(days), static_cast<long long>(h),
                  static_cast<long long>(m), static_cast<long long>(s),
                  static_cast<long long>(us / msec));
  } else {
    std::snprintf(buf, sizeof buf, "%lldd %02lld:%02lld:%02lld.%06lld",
                  static_cast<long long>(days), static_cast<long long>(h),
                  static_cast<long long>(m), static_cast<long long>(s), static_cast<long long>(us));
  }
  return buf;
}

result<std::size_t> print_events(const std::filesystem::path& run, const event_filter& f,
                                 std::ostream& out) {
  const auto path = run / "events.jsonl";
  std::ifstream in(path);
  if (!in) {
    return fail(errc::bad_input, path.string() + ": cannot read (is " + run.string() +
                                     " a run directory written by colony run?)");
  }
  std::map<std::uint64_t, std::string> names;  // from agent_spawned events, as the log goes
  std::string line;
  std::size_t number = 0, printed = 0;
  while (std::getline(in, line)) {
    ++number;
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object() || !v.as_object().contains("t") || !v.as_object().contains("type")) {
      return fail(errc::bad_input,
                  path.string() + ":" + std::to_string(number) + ": not an event line");
    }
    const auto& o = v.as_object();
    const auto t = o.at("t").to_number<sim_time>();
    const std::string type(o.at("type").as_string());
    const auto agent = o.contains("agent") ? o.at("agent").to_number<std::uint64_t>() : 0;
    if (type == "agent_spawned" && o.contains("name")) names[agent] = value_text(o.at("name"));
    const std::string who = names.count(agent) != 0 ? names[agent] : "#" + std::to_string(agent);

    if (t < f.since || t >= f.until) continue;
    if (!f.types.empty() && std::find(f.types.begin(), f.types.end(), type) == f.types.end()) {
      continue;
    }
    if (!f.agents.empty() &&
        std::none_of(f.agents.begin(), f.agents.end(), [&](const std::string& a) {
          return a == who || a == std::to_string(agent);
        })) {
      continue;
    }
    out << format_clock(t) << "  " << type << "  " << who;
    for (const auto& [key, value] : o) {
      if (key == "t" || key == "type" || key == "agent") continue;
      out << "  " << std::string_view(key) << '=' << value_text(value);
    }
    out << '\n';
    ++printed;
  }
  return printed;
}

}  // namespace colony::cli
