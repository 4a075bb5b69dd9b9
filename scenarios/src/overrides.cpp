#include "overrides.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>

#include <boost/json/parse.hpp>

#include "json_pointer.hpp"
#include "wording.hpp"

namespace colony::scenarios {
namespace {

namespace json = boost::json;

// "/a/b~1c" -> {"a", "b/c"}; "a.b.0" -> {"a", "b", "0"}. Nothing when a dotted path has an
// empty segment.
std::optional<std::vector<std::string>> split_path(std::string_view path) {
  std::vector<std::string> segments;
  if (path.starts_with('/')) {
    for (std::size_t start = 1;;) {
      const auto end = std::min(path.find('/', start), path.size());
      std::string segment;
      for (auto i = start; i < end; ++i) {
        if (path[i] == '~' && i + 1 < end && (path[i + 1] == '0' || path[i + 1] == '1')) {
          segment += path[++i] == '0' ? '~' : '/';
        } else {
          segment += path[i];
        }
      }
      segments.push_back(std::move(segment));
      if (end == path.size()) return segments;
      start = end + 1;
    }
  }
  for (std::size_t start = 0;;) {
    const auto end = std::min(path.find('.', start), path.size());
    if (end == start) return std::nullopt;
    segments.emplace_back(path.substr(start, end - start));
    if (end == path.size()) return segments;
    start = end + 1;
  }
}

// The text as JSON when it parses, else as a string: "7" is a number, "2d" a string.
json::value parse_value(std::string_view text) {
  json::error_code ec;
  auto v = json::parse(text, ec);
  return ec ? json::value(json::string(text)) : v;
}

bool is_index(std::string_view segment) {
  return !segment.empty() && std::all_of(segment.begin(), segment.end(),
                                         [](char ch) { return ch >= '0' && ch <= '9'; });
}

// Walks (and where an object lacks a key, builds) the path to the value an override replaces.
class path_walker {
 public:
  path_walker(json::value& document, std::size_t index, std::vector<problem>& problems)
      : at_(&document), index_(index), problems_(problems) {}

  // Steps into `segment`. A missing object member is created: an object on the way (so that
  // "run.seed" works on a file without "run"), null at the end. False after reporting.
  bool step(const std::string& segment, bool last) {
    if (auto* members = at_->if_object()) {
      pointer_ = pointer_to(pointer_, segment);
      auto it = members->find(segment);
      if (it == members->end()) {
        it = members->emplace(segment, last ? json::value() : json::value(json::object())).first;
      }
      at_ = &it->value();
      return true;
    }
    if (auto* elements = at_->if_array()) return step_into(*elements, segment);
    fail(pointer_, "cannot set inside " + std::string(type_phrase(*at_)),
         "only objects and arrays have members");
    return false;
  }

  json::value& target() { return *at_; }
  const std::string& pointer() const { return pointer_; }

 private:
  bool step_into(json::array& elements, const std::string& segment) {
    if (is_index(segment)) {
      std::size_t i = 0;
      const auto [end, ec] = std::from_chars(segment.data(), segment.data() + segment.size(), i);
      if (ec != std::errc{} || i >= elements.size()) {
        fail(pointer_,
             "no element " + segment + " (the array has " + std::to_string(elements.size()) + ")");
        return false;
      }
      return enter(elements, i);
    }
    std::vector<std::string> names;
    for (std::size_t i = 0; i < elements.size(); ++i) {
      const auto name = name_of(elements[i]);
      if (name == segment) return enter(elements, i);
      if (!name.empty()) names.emplace_back(name);
    }
    fail(pointer_, "no element named " + quote(segment),
         name_hint(segment, names, list_known::always));
    return false;
  }

  // An element's name: its "name" member, or the string itself (locales may be plain names).
  static std::string_view name_of(const json::value& element) {
    if (const auto* s = element.if_string()) return *s;
    if (const auto* members = element.if_object()) {
      if (const auto* name = members->if_contains("name"); name != nullptr && name->is_string()) {
        return name->get_string();
      }
    }
    return {};
  }

  bool enter(json::array& elements, std::size_t i) {
    pointer_ = pointer_to(pointer_, i);
    at_ = &elements[i];
    return true;
  }

  void fail(std::string pointer, std::string message, std::string hint = {}) {
    problems_.push_back(
        {std::move(pointer), std::move(message), std::move(hint), anchor::value, index_});
  }

  json::value* at_;
  std::string pointer_;
  std::size_t index_;
  std::vector<problem>& problems_;
};

}  // namespace

std::vector<applied_override> apply_overrides(json::value& document,
                                              const std::vector<std::string>& overrides,
                                              std::vector<problem>& problems) {
  std::vector<applied_override> applied;
  for (std::size_t i = 0; i < overrides.size(); ++i) {
    const std::string_view text = overrides[i];
    const auto equals = text.find('=');
    const auto segments = split_path(text.substr(0, equals));
    if (equals == std::string_view::npos || !segments) {
      problems.push_back({"", "expected PATH=VALUE",
                          "PATH is dotted (run.seed, agents.router.backend) or a JSON pointer "
                          "(/run/seed)",
                          anchor::value, i});
      continue;
    }
    path_walker walker(document, i, problems);
    const auto resolves = [&] {
      for (std::size_t k = 0; k < segments->size(); ++k) {
        if (!walker.step((*segments)[k], k + 1 == segments->size())) return false;
      }
      return true;
    };
    if (!resolves()) continue;
    walker.target() = parse_value(text.substr(equals + 1));
    applied.push_back({i, walker.pointer()});
  }
  return applied;
}

}  // namespace colony::scenarios
