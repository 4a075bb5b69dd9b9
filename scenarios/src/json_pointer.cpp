#include "json_pointer.hpp"

namespace colony::scenarios {

std::string pointer_to(std::string_view base, std::string_view key) {
  std::string out(base);
  out += '/';
  for (const char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string pointer_to(std::string_view base, std::size_t index) {
  return std::string(base) + '/' + std::to_string(index);
}

bool pointer_within(std::string_view pointer, std::string_view base) {
  return pointer.starts_with(base) &&
         (pointer.size() == base.size() || pointer[base.size()] == '/');
}

std::string_view pointer_parent(std::string_view pointer) {
  const auto slash = pointer.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : pointer.substr(0, slash);
}

}  // namespace colony::scenarios
