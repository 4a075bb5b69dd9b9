#include "colony/scenarios/loader.hpp"

#include <algorithm>
#include <tuple>

#include "checker.hpp"
#include "colony/base/error.hpp"
#include "json_pointer.hpp"
#include "overrides.hpp"
#include "sections.hpp"
#include "source_text.hpp"

namespace colony::scenarios {
namespace {

// A diagnostic with the key that sorts it: file positions in document order, then overrides in
// the order given.
struct located {
  bool at_override = false;
  std::size_t order = 0;  // byte offset or override index
  diagnostic d;
};

class locator {
 public:
  locator(std::string_view text, const std::string& file, const source_positions& positions,
          const std::vector<std::string>& overrides, const std::vector<applied_override>& applied)
      : text_(text), file_(file), positions_(positions), overrides_(overrides), applied_(applied) {}

  located locate(problem p) const {
    located out;
    out.d = diagnostic{{}, std::move(p.pointer), std::move(p.message), std::move(p.hint)};
    if (auto index = p.override_index ? p.override_index : covering_override(out.d.pointer)) {
      out.at_override = true;
      out.order = *index;
      out.d.where = "--set " + overrides_[*index];
      return out;
    }
    out.order = positions_.locate(out.d.pointer, p.at);
    const auto at = position_at(text_, out.order);
    out.d.where = file_ + ':' + std::to_string(at.line) + ':' + std::to_string(at.column);
    return out;
  }

 private:
  // The last override that set `pointer` or a value containing it.
  std::optional<std::size_t> covering_override(std::string_view pointer) const {
    for (auto it = applied_.rbegin(); it != applied_.rend(); ++it) {
      if (pointer_within(pointer, it->pointer)) return it->index;
    }
    return std::nullopt;
  }

  std::string_view text_;
  const std::string& file_;
  const source_positions& positions_;
  const std::vector<std::string>& overrides_;
  const std::vector<applied_override>& applied_;
};

std::vector<diagnostic> in_order(const locator& where, std::vector<problem> problems) {
  std::vector<located> all;
  all.reserve(problems.size());
  for (auto& p : problems) all.push_back(where.locate(std::move(p)));
  std::stable_sort(all.begin(), all.end(), [](const located& a, const located& b) {
    return std::tie(a.at_override, a.order) < std::tie(b.at_override, b.order);
  });
  std::vector<diagnostic> out;
  out.reserve(all.size());
  for (auto& l : all) out.push_back(std::move(l.d));
  return out;
}

}  // namespace

std::string diagnostic::format() const {
  std::string out = where + ": error: ";
  if (!pointer.empty()) out += pointer + ": ";
  out += message;
  if (!hint.empty()) out += " (" + hint + ")";
  return out;
}

load_result load_scenario(const std::filesystem::path& file,
                          const std::vector<std::string>& overrides) {
  auto text = read_text_file(file);
  if (!text) {
    return {std::nullopt, {diagnostic{file.string(), "", "cannot read: " + text.error().message}}};
  }
  return parse_scenario(*text, file.string(), overrides);
}

load_result parse_scenario(std::string_view text, std::string file_label,
                           const std::vector<std::string>& overrides) {
  auto source = parse_source(text);
  if (source.error) {
    const auto at = position_at(text, source.error->offset);
    return {
        std::nullopt,
        {diagnostic{file_label + ':' + std::to_string(at.line) + ':' + std::to_string(at.column),
                    "", source.error->message}}};
  }
  auto problems = std::move(source.problems);
  const auto applied = apply_overrides(source.document, overrides, problems);
  checker c;
  auto sc = read_scenario(c, source.document, std::filesystem::path(file_label).stem().string());
  for (auto& p : c.take_problems()) problems.push_back(std::move(p));

  const locator where(text, file_label, source.positions, overrides, applied);
  load_result out;
  out.problems = in_order(where, std::move(problems));
  if (out.problems.empty()) {
    sc.source = file_label;
    sc.as_run = std::move(source.document);
    out.value = std::move(sc);
  }
  return out;
}

}  // namespace colony::scenarios
