#pragma once
/// The event log (`events.jsonl`): data for researchers, one JSON object a line.
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "colony/base/error.hpp"
#include "colony/base/time.hpp"

namespace colony::engine {

/// Buffered writer of event lines, to a file or to memory. Owned and written by the runtime's
/// coordinating thread only; lines arrive already in their final order.
///
/// A file log flushes when its buffer passes a size or when `maybe_flush` finds that
/// `flush_interval` of wall time has gone by, so a killed run keeps what came before.
class event_log {
 public:
  /// A log kept in memory (tests, tools); read it with contents().
  event_log() = default;
  event_log(event_log&&) noexcept = default;
  event_log& operator=(event_log&&) noexcept = default;
  ~event_log();

  /// A log appended to `path` (created or truncated). Fails with errc::io_error.
  [[nodiscard]] static result<event_log> open(const std::filesystem::path& path);

  /// The line for one event: `{"t":t,"type":type,"agent":agent,...fields}`, keys in that order.
  [[nodiscard]] static std::string format(sim_time t, std::string_view type, std::uint64_t agent,
                                          boost::json::object&& fields);

  /// Appends one line (a newline is added).
  void write(std::string_view line);
  /// Flushes if the buffer is large or the flush interval has passed (looked at every 1,024th
  /// call). Cheap to call often.
  void maybe_flush();
  /// Writes the buffer out to the file (no-op for a memory log). Fails with errc::io_error.
  [[nodiscard]] result<void> flush();

  /// Lines written so far.
  [[nodiscard]] std::uint64_t lines() const noexcept { return lines_; }
  /// Everything written, for a memory log; "" for a file log.
  [[nodiscard]] const std::string& contents() const noexcept { return buffer_; }

  std::size_t flush_bytes = 1 << 20;               ///< flush past this many bytes
  std::chrono::milliseconds flush_interval{2000};  ///< and at least this often

 private:
  struct file_closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, file_closer> file_;
  std::filesystem::path path_;
  std::string buffer_;
  std::uint64_t lines_ = 0;
  std::uint64_t calls_since_clock_ = 0;
  std::chrono::steady_clock::time_point last_flush_ = std::chrono::steady_clock::now();
};

}  // namespace colony::engine
