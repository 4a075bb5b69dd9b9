#pragma once
// Running the `colony` binary from tests, and reading what it wrote.
#include <sys/wait.h>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace colony::testing {

inline const std::filesystem::path& colony_binary() {
  static const std::filesystem::path p = COLONY_BINARY;
  return p;
}
inline std::filesystem::path examples() {
  return std::filesystem::path(COLONY_SOURCE_DIR) / "scenarios/examples";
}

struct command_result {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

/// Runs `colony ARGS` and captures its output and exit code.
inline command_result colony(const std::string& args) {
  const std::string cmd = colony_binary().string() + " " + args + " 2>&1";
  command_result r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) r.output += buf;
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

inline boost::json::object read_json(const std::filesystem::path& p) {
  return boost::json::parse(read_file(p)).as_object();
}

/// The lines of a file, without their newlines.
inline std::vector<std::string> lines_of(const std::filesystem::path& p) {
  std::vector<std::string> out;
  std::istringstream in(read_file(p));
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

/// The events of `type` in `run`/events.jsonl, in order.
inline std::vector<boost::json::object> events_of(const std::filesystem::path& run,
                                                  std::string_view type) {
  std::vector<boost::json::object> out;
  for (const auto& l : lines_of(run / "events.jsonl")) {
    if (l.find(type) == std::string::npos) continue;
    auto e = boost::json::parse(l).as_object();
    if (e.at("type").as_string() == type) out.push_back(std::move(e));
  }
  return out;
}

/// A fresh, empty directory under the test's temporary folder.
inline std::filesystem::path scratch(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("colony-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

inline std::uint64_t u64(const boost::json::object& o, std::string_view k) {
  return boost::json::value_to<std::uint64_t>(o.at(k));
}
inline double num(const boost::json::object& o, std::string_view k) {
  return o.at(k).to_number<double>();
}

}  // namespace colony::testing
