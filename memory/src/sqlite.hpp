#pragma once
// A thin owner of SQLite handles for the memory module: one connection, its prepared statements,
// and failures as values whose message names the database file.
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "colony/base/error.hpp"

namespace colony::memory::sqlite {

struct close_connection {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct finalize_statement {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};

// A prepared statement. Every use starts with reset(), which also clears the bindings.
class statement {
 public:
  statement() = default;
  explicit statement(sqlite3_stmt* s) : s_(s) {}

  statement& reset() noexcept;
  statement& bind_int(int i, std::int64_t v) noexcept;
  statement& bind_real(int i, double v) noexcept;
  statement& bind_text(int i, std::string_view v) noexcept;
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() noexcept { return sqlite3_step(s_.get()); }

  [[nodiscard]] std::int64_t int_at(int col) const noexcept;
  [[nodiscard]] double real_at(int col) const noexcept;
  [[nodiscard]] std::string text_at(int col) const;

  // Whether it holds a prepared statement (a default-constructed one does not).
  explicit operator bool() const noexcept { return s_ != nullptr; }
  [[nodiscard]] sqlite3_stmt* get() const noexcept { return s_.get(); }

 private:
  std::unique_ptr<sqlite3_stmt, finalize_statement> s_;
};

// One connection. `label` (the file's path, or "<memory>") starts every error message.
class connection {
 public:
  connection() = default;

  // sqlite3_open_v2 with `flags`; `name` may be a file path, a "file:" URI or ":memory:".
  [[nodiscard]] static result<connection> open(const std::string& name, int flags,
                                               std::string label);

  // Runs one or more statements that return no rows.
  [[nodiscard]] result<void> exec(std::string_view sql);
  [[nodiscard]] result<statement> prepare(std::string_view sql);
  // Steps `s` to completion (rows are discarded).
  [[nodiscard]] result<void> run(statement& s, std::string_view what);
  // The first column of the first row of `sql` as an integer.
  [[nodiscard]] result<std::int64_t> query_int(std::string_view sql);

  // "label: what: <SQLite's message>" with errc::io_error.
  [[nodiscard]] error failure(std::string_view what) const;
  [[nodiscard]] sqlite3* get() const noexcept { return db_.get(); }
  [[nodiscard]] const std::string& label() const noexcept { return label_; }

 private:
  std::unique_ptr<sqlite3, close_connection> db_;
  std::string label_;
};

}  // namespace colony::memory::sqlite
