#include "sqlite.hpp"

namespace colony::memory::sqlite {

statement& statement::reset() noexcept {
  sqlite3_reset(s_.get());
  sqlite3_clear_bindings(s_.get());
  return *this;
}

statement& statement::bind_int(int i, std::int64_t v) noexcept {
  sqlite3_bind_int64(s_.get(), i, v);
  return *this;
}

statement& statement::bind_real(int i, double v) noexcept {
  sqlite3_bind_double(s_.get(), i, v);
  return *this;
}

statement& statement::bind_text(int i, std::string_view v) noexcept {
  sqlite3_bind_text64(s_.get(), i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

std::int64_t statement::int_at(int col) const noexcept {
  return sqlite3_column_int64(s_.get(), col);
}

double statement::real_at(int col) const noexcept {
  return sqlite3_column_double(s_.get(), col);
}

std::string statement::text_at(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_.get(), col));
  const auto n = static_cast<std::size_t>(sqlite3_column_bytes(s_.get(), col));
  return p != nullptr ? std::string(p, n) : std::string();
}

result<connection> connection::open(const std::string& name, int flags, std::string label) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(name.c_str(), &raw, flags, nullptr);
  connection c;
  c.db_.reset(raw);  // sqlite3_open_v2 may return a handle even when it fails
  c.label_ = std::move(label);
  if (rc != SQLITE_OK) {
    return fail(errc::io_error, c.label_ + ": cannot open: " +
                                    (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  return c;
}

result<void> connection::exec(std::string_view sql) {
  const std::string text(sql);
  if (sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return failure("cannot run \"" + text.substr(0, 60) + "\"");
  }
  return {};
}

result<statement> connection::prepare(std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                         SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
    return failure("cannot prepare \"" + std::string(sql.substr(0, 60)) + "\"");
  }
  return statement(s);
}

result<void> connection::run(statement& s, std::string_view what) {
  int rc = SQLITE_ROW;
  while (rc == SQLITE_ROW) rc = s.step();
  if (rc != SQLITE_DONE) return failure(what);
  return {};
}

result<std::int64_t> connection::query_int(std::string_view sql) {
  auto s = prepare(sql);
  if (!s) return s.error();
  const int rc = s->step();
  if (rc == SQLITE_ROW) return s->int_at(0);
  if (rc == SQLITE_DONE)
    return fail(errc::bad_input, label_ + ": no result for " + std::string(sql));
  return failure(sql);
}

error connection::failure(std::string_view what) const {
  return fail(errc::io_error, label_ + ": " + std::string(what) + ": " + sqlite3_errmsg(db_.get()));
}

}  // namespace colony::memory::sqlite
