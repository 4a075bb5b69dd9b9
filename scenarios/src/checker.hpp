#pragma once
// Reading a parsed scenario while collecting problems: typed reads that report what is wrong
// and carry on, so that one pass finds every problem.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "colony/base/time.hpp"
#include "json_pointer.hpp"
#include "problem.hpp"

namespace colony::scenarios {

namespace json = boost::json;

/// The range a number must lie in: both ends inclusive, except the lower one when `above_min`.
struct bounds {
  std::optional<double> min;
  std::optional<double> max;
  bool above_min = false;
};
[[nodiscard]] inline bounds at_least(double min) {
  return {min, std::nullopt, false};
}
[[nodiscard]] inline bounds above(double min) {
  return {min, std::nullopt, true};
}
[[nodiscard]] inline bounds between(double min, double max) {
  return {min, max, false};
}

/// How the ends of a range are shown in a hint.
enum class unit : std::uint8_t { plain, duration };

/// An object being read, and where it is.
struct section {
  const json::object* members = nullptr;
  std::string pointer;

  /// The member `key`, or null.
  [[nodiscard]] const json::value* find(std::string_view key) const;
  /// The pointer of the member `key`.
  [[nodiscard]] std::string at(std::string_view key) const;
};

/// Names declared in one place and referred to in others.
enum class name_kind : std::uint8_t { backend, locale, agent, family };

/// Collects problems while the readers walk the document. Every typed read returns nothing after
/// reporting, so a reader keeps its default and goes on.
class checker {
 public:
  void report(problem p);
  void report(std::string pointer, std::string message, std::string hint = {});
  [[nodiscard]] std::size_t count() const noexcept { return problems_.size(); }
  [[nodiscard]] std::vector<problem> take_problems() { return std::move(problems_); }

  /// `v` as an object whose keys are all in `known` (unknown ones are reported with a
  /// did-you-mean); nothing if it is not an object.
  [[nodiscard]] std::optional<section> open(const json::value& v, std::string pointer,
                                            const std::vector<std::string>& known);
  /// The member `key`, reported as missing when absent.
  [[nodiscard]] const json::value* require(const section& s, std::string_view key,
                                           std::string hint = {});
  /// `v` as an object.
  [[nodiscard]] const json::object* object(const json::value& v, const std::string& pointer);
  /// The single member of `v`, an object whose one key names a shape in `shapes`
  /// ({"lognormal": {...}}); null after reporting anything else.
  [[nodiscard]] const json::key_value_pair* one_member(const json::value& v,
                                                       const std::string& pointer,
                                                       const std::vector<std::string>& shapes);
  /// `v` as an array (with at least one element when `non_empty`).
  [[nodiscard]] const json::array* array(const json::value& v, const std::string& pointer,
                                         bool non_empty = false);

  [[nodiscard]] std::optional<std::string> string(const json::value& v, const std::string& pointer);
  [[nodiscard]] std::optional<bool> boolean(const json::value& v, const std::string& pointer);
  [[nodiscard]] std::optional<double> number(const json::value& v, const std::string& pointer,
                                             const bounds& b = {});
  /// An integer; a number with a zero fraction counts as one, as in JSON Schema.
  [[nodiscard]] std::optional<std::int64_t> integer(const json::value& v,
                                                    const std::string& pointer,
                                                    const bounds& b = {});
  /// "250ms", "1.5h", "30d" or a plain number of seconds, in microseconds; `b` in microseconds.
  [[nodiscard]] std::optional<sim_time> duration(const json::value& v, const std::string& pointer,
                                                 const bounds& b = at_least(0));
  /// "120/min", "2/s", "50/h", "1000/d" or a plain number per second, >= 0, per second.
  [[nodiscard]] std::optional<double> rate(const json::value& v, const std::string& pointer);
  /// Whether `x` (written as `value` in the document) lies in `b`; reports it when not.
  bool in_bounds(double x, const json::value& value, const std::string& pointer, const bounds& b,
                 unit u = unit::plain);

  /// Optional members: `out` keeps its default when the key is absent or its value is bad.
  void read_string(const section& s, std::string_view key, std::string& out);
  void read_number(const section& s, std::string_view key, double& out, const bounds& b = {});
  void read_count(const section& s, std::string_view key, std::uint32_t& out, std::int64_t min = 0);
  void read_count(const section& s, std::string_view key, std::uint64_t& out, std::int64_t min = 0);
  void read_duration(const section& s, std::string_view key, sim_time& out,
                     const bounds& b = at_least(0));
  /// A required string member.
  [[nodiscard]] std::optional<std::string> required_string(const section& s, std::string_view key);

  /// Declares a name; a second declaration of the same name is reported at `pointer`.
  void declare(name_kind kind, const std::string& name, const std::string& pointer);
  /// Notes a use of a name, checked by resolve_references once everything is declared.
  void refer(name_kind kind, std::string name, std::string pointer);
  /// Reports every reference to a name that was never declared.
  void resolve_references();

 private:
  template <class Count>
  void read_count_into(const section& s, std::string_view key, Count& out, std::int64_t min);

  struct declared {
    std::vector<std::string> names;                      // in declaration order
    std::unordered_map<std::string, std::string> where;  // name -> pointer of the first
  };
  struct reference {
    name_kind kind;
    std::string name;
    std::string pointer;
  };

  std::vector<problem> problems_;
  std::array<declared, 4> declared_;
  std::vector<reference> references_;
};

/// Reads each element of the array `v` with `read(c, element, its pointer)`.
template <class Read>
auto read_each(checker& c, const json::value& v, const std::string& pointer, Read read,
               bool non_empty = false) {
  std::vector<decltype(read(c, v, pointer))> out;
  if (const auto* elements = c.array(v, pointer, non_empty)) {
    for (std::size_t i = 0; i < elements->size(); ++i) {
      out.push_back(read(c, (*elements)[i], pointer_to(pointer, i)));
    }
  }
  return out;
}

}  // namespace colony::scenarios
