#include "source_text.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <unordered_set>

#include "json_pointer.hpp"
#include "wording.hpp"

namespace colony::scenarios {
namespace {

namespace json = boost::json;

// Boost.JSON's basic_parser reports values, not where they are, and the string views it passes
// may point into its own buffer. The parser has already checked the syntax when a callback
// fires, and callbacks fire in document order, so a cursor that steps over the separators and
// then the token of each callback lands exactly on that token.
class position_cursor {
 public:
  explicit position_cursor(std::string_view text) : text_(text) {}

  // Moves to the next token and returns its offset.
  std::size_t next_token() {
    while (pos_ < text_.size() && is_separator(text_[pos_])) ++pos_;
    return pos_;
  }
  void skip(std::size_t n) { pos_ += n; }
  void skip_string() {
    ++pos_;  // the opening quote
    while (pos_ < text_.size() && text_[pos_] != '"') pos_ += text_[pos_] == '\\' ? 2 : 1;
    ++pos_;
  }
  void skip_number() {
    while (pos_ < text_.size() && is_number_char(text_[pos_])) ++pos_;
  }

 private:
  static bool is_separator(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ':';
  }
  static bool is_number_char(char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// The handler: builds the value like boost::json::parser does (with a value_stack) and records
// each value's pointer and offset.
class recording_handler {
 public:
  static constexpr std::size_t max_array_size = -1;
  static constexpr std::size_t max_object_size = -1;
  static constexpr std::size_t max_string_size = -1;
  static constexpr std::size_t max_key_size = -1;

  explicit recording_handler(std::string_view text) : cursor_(text) {}

  json::value_stack stack;
  source_positions positions;
  std::vector<problem> problems;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }

  bool on_object_begin(json::error_code&) {
    open_container(false);
    return true;
  }
  bool on_object_end(std::size_t n, json::error_code&) {
    close_container();
    stack.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) {
    open_container(true);
    return true;
  }
  bool on_array_end(std::size_t n, json::error_code&) {
    close_container();
    stack.push_array(n);
    return true;
  }

  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    stack.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    record_key();
    stack.push_key(s);
    return true;
  }

  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    record_value();
    cursor_.skip_string();
    end_value();
    stack.push_string(s);
    return true;
  }

  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    scalar_number();
    stack.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    scalar_number();
    stack.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view, json::error_code&) {
    scalar_number();
    stack.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    scalar_word(b ? 4 : 5);
    stack.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    scalar_word(4);
    stack.push_null();
    return true;
  }

  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  struct container {
    std::string pointer;
    bool is_array = false;
    std::size_t next_index = 0;            // arrays
    std::string key;                       // objects: the member being read
    std::unordered_set<std::string> keys;  // objects: keys seen so far
  };

  std::string value_pointer() const {
    if (open_.empty()) return {};
    const auto& c = open_.back();
    return c.is_array ? pointer_to(c.pointer, c.next_index) : pointer_to(c.pointer, c.key);
  }

  std::string record_value() {
    auto pointer = value_pointer();
    positions.values[pointer] = cursor_.next_token();
    return pointer;
  }

  void end_value() {
    if (!open_.empty() && open_.back().is_array) ++open_.back().next_index;
  }

  void open_container(bool is_array) {
    auto pointer = record_value();
    cursor_.skip(1);
    open_.push_back(container{std::move(pointer), is_array});
  }

  void close_container() {
    cursor_.next_token();
    cursor_.skip(1);
    open_.pop_back();
    end_value();
  }

  void record_key() {
    auto& c = open_.back();
    c.key = std::move(key_);
    key_.clear();
    const auto pointer = pointer_to(c.pointer, c.key);
    positions.keys[pointer] = cursor_.next_token();
    cursor_.skip_string();
    if (!c.keys.insert(c.key).second) {
      problems.push_back({pointer, "duplicate key " + quote(c.key),
                          "keys must be unique in an object; remove one", anchor::key});
    }
  }

  void scalar_number() {
    record_value();
    cursor_.skip_number();
    end_value();
  }

  void scalar_word(std::size_t length) {
    record_value();
    cursor_.skip(length);
    end_value();
  }

  position_cursor cursor_;
  std::vector<container> open_;
  std::string key_;
};

}  // namespace

std::size_t source_positions::locate(std::string_view pointer, anchor at) const {
  if (at == anchor::key) {
    if (auto it = keys.find(std::string(pointer)); it != keys.end()) return it->second;
  }
  for (;;) {
    if (auto it = values.find(std::string(pointer)); it != values.end()) return it->second;
    if (pointer.empty()) return 0;
    pointer = pointer_parent(pointer);
  }
}

source_document parse_source(std::string_view text) {
  json::basic_parser<recording_handler> parser(json::parse_options{}, text);
  parser.handler().stack.reset();
  json::error_code ec;
  const std::size_t consumed = parser.write_some(false, text.data(), text.size(), ec);
  source_document out;
  // write_some stops after one document; text after it is an error, as in json::parse.
  if (!ec && consumed < text.size()) ec = json::error::extra_data;
  if (ec) {
    out.error = syntax_error{consumed, ec.message()};
    return out;
  }
  auto& h = parser.handler();
  out.document = h.stack.release();
  out.positions = std::move(h.positions);
  out.problems = std::move(h.problems);
  return out;
}

text_position position_at(std::string_view text, std::size_t offset) {
  text_position at;
  offset = std::min(offset, text.size());
  for (std::size_t i = 0; i < offset; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++at.line;
      at.column = 1;
    } else if ((c & 0xC0) != 0x80) {  // not a UTF-8 continuation byte
      ++at.column;
    }
  }
  return at;
}

result<std::string> read_text_file(const std::filesystem::path& file) {
  const std::unique_ptr<std::FILE, decltype(&std::fclose)> in(std::fopen(file.c_str(), "rb"),
                                                              &std::fclose);
  if (!in) return fail(errc::io_error, std::strerror(errno));
  std::string text;
  char buffer[1 << 16];
  while (const auto n = std::fread(buffer, 1, sizeof buffer, in.get())) text.append(buffer, n);
  if (std::ferror(in.get()) != 0) return fail(errc::io_error, std::strerror(errno));
  return text;
}

}  // namespace colony::scenarios
