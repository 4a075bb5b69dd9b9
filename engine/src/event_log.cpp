#include "colony/engine/event_log.hpp"

#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>

#include "colony/base/log.hpp"

namespace colony::engine {

event_log::~event_log() {
  if (file_ && !buffer_.empty()) {
    if (auto r = flush(); !r) log::get("engine").error("event log: {}", r.error().message);
  }
}

result<event_log> event_log::open(const std::filesystem::path& path) {
  event_log log;
  log.file_.reset(std::fopen(path.c_str(), "wb"));
  if (!log.file_) {
    return fail(errc::io_error,
                path.string() + ": cannot create the event log: " + std::strerror(errno));
  }
  log.path_ = path;
  return log;
}

std::string event_log::format(sim_time t, std::string_view type, std::uint64_t agent,
                              boost::json::object&& fields) {
  boost::json::object o;
  o.reserve(fields.size() + 3);
  o["t"] = t;
  o["type"] = type;
  o["agent"] = agent;
  for (auto& kv : fields) o[kv.key()] = std::move(kv.value());
  return boost::json::serialize(o);
}

void event_log::write(std::string_view line) {
  buffer_.append(line);
  buffer_.push_back('\n');
  ++lines_;
}

void event_log::maybe_flush() {
  if (!file_) return;
  // Called at every window barrier, millions of times a run: read the clock now and then only.
  if (buffer_.size() < flush_bytes && (++calls_since_clock_ & 1023) != 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (buffer_.size() >= flush_bytes || now - last_flush_ >= flush_interval) {
    if (auto r = flush(); !r) log::get("engine").error("event log: {}", r.error().message);
  }
}

result<void> event_log::flush() {
  last_flush_ = std::chrono::steady_clock::now();
  if (!file_) return {};
  if (!buffer_.empty() &&
      std::fwrite(buffer_.data(), 1, buffer_.size(), file_.get()) != buffer_.size()) {
    return fail(errc::io_error, path_.string() + ": write failed: " + std::strerror(errno));
  }
  buffer_.clear();
  if (std::fflush(file_.get()) != 0) {
    return fail(errc::io_error, path_.string() + ": flush failed: " + std::strerror(errno));
  }
  return {};
}

}  // namespace colony::engine
