#pragma once
// JSON pointers (RFC 6901) as the loader builds and compares them.
#include <cstddef>
#include <string>
#include <string_view>

namespace colony::scenarios {

/// `base` followed by the member `key`, escaped ('~' as "~0", '/' as "~1").
[[nodiscard]] std::string pointer_to(std::string_view base, std::string_view key);

/// `base` followed by the array index `index`.
[[nodiscard]] std::string pointer_to(std::string_view base, std::size_t index);

/// Whether `pointer` is `base` or points inside it.
[[nodiscard]] bool pointer_within(std::string_view pointer, std::string_view base);

/// `pointer` without its last reference token ("" stays "").
[[nodiscard]] std::string_view pointer_parent(std::string_view pointer);

}  // namespace colony::scenarios
