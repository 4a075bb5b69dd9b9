// Sweep files (colony/scenarios/sweep_file.hpp): read with the scenario's checker, so that
// problems are located and worded as a scenario's are.
#include <algorithm>
#include <boost/json/serialize.hpp>
#include <set>

#include "checker.hpp"
#include "colony/memory/solution_library.hpp"
#include "colony/scenarios/sweep_file.hpp"
#include "json_pointer.hpp"
#include "source_text.hpp"

namespace colony::scenarios {
namespace {

// The most seeds a sweep may have (and, in colony sweep, the most runs).
constexpr std::int64_t max_seeds = 100000;

// A value written into results.csv's rows must not break them.
void check_value(checker& c, const json::value& v, const std::string& pointer) {
  if (const auto* text = v.if_string()) {
    if (std::any_of(text->begin(), text->end(),
                    [](char ch) { return static_cast<unsigned char>(ch) < 0x20; })) {
      c.report(pointer, "a swept value may not hold a line break or another control character",
               "results.csv writes each run on one line");
    }
  }
}

const std::vector<std::string> sweep_keys = {
    "$schema", "name",       "description", "scenario", "set",     "grid",   "points",
    "seeds",   "first_seed", "threads",     "until",    "metrics", "library"};

// An override path: dotted or a JSON pointer, never empty, no '='.
bool valid_path(checker& c, std::string_view path, const std::string& pointer) {
  if (path.empty() || path.find('=') != std::string_view::npos) {
    c.report(problem{pointer, "\"" + std::string(path) + "\" is not an override path",
                     "write it as a --set path: \"run.duration\", \"agents.router.params.k\"",
                     anchor::key});
    return false;
  }
  return true;
}

// "set" and each of "points": an object of path -> value.
std::vector<sweep_value> read_values(checker& c, const json::value& v, const std::string& pointer) {
  std::vector<sweep_value> out;
  const auto* o = c.object(v, pointer);
  if (o == nullptr) return out;
  for (const auto& [k, x] : *o) {
    const auto at = pointer_to(pointer, k);
    if (!valid_path(c, k, at)) continue;
    check_value(c, x, at);
    out.emplace_back(std::string(k), x);
  }
  return out;
}

std::vector<sweep_value> read_grid(checker& c, const json::value& v,
                                   std::vector<sweep_value>& axes) {
  const auto* o = c.object(v, "/grid");
  if (o == nullptr) return axes;
  for (const auto& [k, x] : *o) {
    const auto at = pointer_to("/grid", k);
    if (!valid_path(c, k, at)) continue;
    const auto* values = c.array(x, at, true);
    if (values == nullptr) continue;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < values->size(); ++i) {
      check_value(c, (*values)[i], pointer_to(at, i));
      if (!seen.insert(json::serialize((*values)[i])).second) {
        c.report(pointer_to(at, i),
                 "the value " + json::serialize((*values)[i]) + " is listed twice",
                 "list each value once");
      }
    }
    axes.emplace_back(std::string(k), x);
  }
  return axes;
}

std::vector<std::uint64_t> read_seeds(checker& c, const section& s) {
  std::vector<std::uint64_t> out;
  const auto* v = c.require(s, "seeds", "a count (\"seeds\": 10) or a list (\"seeds\": [1, 2, 3])");
  if (v == nullptr) return out;
  std::uint64_t first = 1;
  if (const auto* f = s.find("first_seed")) {
    if (auto n = c.integer(*f, s.at("first_seed"), at_least(0)))
      first = static_cast<std::uint64_t>(*n);
  }
  if (v->is_array()) {
    if (s.find("first_seed") != nullptr) {
      c.report(problem{s.at("first_seed"), "first_seed goes with a count of seeds, not a list",
                       "remove it, or give \"seeds\" as a count", anchor::key});
    }
    std::set<std::uint64_t> seen;
    const auto& list = v->as_array();
    if (list.empty()) c.report(s.at("seeds"), "the list of seeds is empty", "give at least one");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto at = pointer_to(s.at("seeds"), i);
      auto n = c.integer(list[i], at, at_least(0));
      if (!n) continue;
      if (!seen.insert(static_cast<std::uint64_t>(*n)).second) {
        c.report(at, "seed " + std::to_string(*n) + " is listed twice", "list each seed once");
        continue;
      }
      out.push_back(static_cast<std::uint64_t>(*n));
    }
    return out;
  }
  if (auto n = c.integer(*v, s.at("seeds"), at_least(1))) {
    if (*n > max_seeds) {
      c.report(s.at("seeds"), std::to_string(*n) + " seeds is more than a sweep can hold",
               "at most " + std::to_string(max_seeds) + "; split the sweep");
      return out;
    }
    for (std::int64_t i = 0; i < *n; ++i) out.push_back(first + static_cast<std::uint64_t>(i));
  }
  return out;
}

}  // namespace

sweep_load_result load_sweep_file(const std::filesystem::path& file) {
  const std::string label = file.string();
  auto text = read_text_file(file);
  if (!text) return {std::nullopt, {diagnostic{label, "", "cannot read: " + text.error().message}}};
  auto source = parse_source(*text);
  const auto where = [&](std::size_t offset) {
    const auto at = position_at(*text, offset);
    return label + ':' + std::to_string(at.line) + ':' + std::to_string(at.column);
  };
  if (source.error) {
    return {std::nullopt, {diagnostic{where(source.error->offset), "", source.error->message}}};
  }
  checker c;
  for (auto& p : source.problems) c.report(std::move(p));
  sweep_file out;
  out.name = file.stem().string();
  if (const auto s = c.open(source.document, "", sweep_keys)) {
    c.read_string(*s, "name", out.name);
    // The name is a directory's (sweeps/<name>): one plain path component.
    if (s->find("name") != nullptr && (out.name.empty() || out.name.front() == '.' ||
                                       out.name.find_first_of("/\\") != std::string::npos ||
                                       std::any_of(out.name.begin(), out.name.end(), [](char ch) {
                                         return static_cast<unsigned char>(ch) < 0x20;
                                       }))) {
      c.report(s->at("name"), "\"" + out.name + "\" cannot name a directory",
               "use letters, digits, '_', '-' and '.', not first");
    }
    c.read_string(*s, "description", out.description);
    if (auto scenario = c.required_string(*s, "scenario")) {
      out.scenario = std::filesystem::path(*scenario).is_absolute()
                         ? std::filesystem::path(*scenario)
                         : file.parent_path() / *scenario;
      std::error_code ec;
      if (!std::filesystem::is_regular_file(out.scenario, ec)) {
        c.report(s->at("scenario"), "no scenario file at " + out.scenario.string(),
                 "the path is relative to the sweep file's directory");
      }
    }
    if (const auto* v = s->find("set")) out.set = read_values(c, *v, s->at("set"));
    if (const auto* v = s->find("grid")) read_grid(c, *v, out.grid);
    if (const auto* v = s->find("points")) {
      out.points = read_each(
          c, *v, s->at("points"),
          [](checker& cc, const json::value& p, const std::string& at) {
            return read_values(cc, p, at);
          },
          true);
    }
    out.seeds = read_seeds(c, *s);
    if (const auto* v = s->find("threads")) {
      if (auto n = c.integer(*v, s->at("threads"), between(1, 256))) {
        out.threads = static_cast<unsigned>(*n);
      }
    }
    if (const auto* v = s->find("until")) {
      if (c.duration(*v, s->at("until"), above(0))) {
        out.until = v->is_string() ? std::string(v->as_string()) : json::serialize(*v) + "s";
      }
    }
    if (const auto* v = s->find("library")) {
      if (auto path = c.string(*v, s->at("library"))) {
        out.library = std::filesystem::path(*path).is_absolute() ? std::filesystem::path(*path)
                                                                 : file.parent_path() / *path;
        if (auto found = memory::solution_library::locate(out.library); !found) {
          c.report(s->at("library"), found.error().message,
                   "the path is relative to the sweep file's directory");
        }
      }
    }
    if (const auto* v = s->find("metrics")) {
      if (const auto* list = c.array(*v, s->at("metrics"), true)) {
        for (std::size_t i = 0; i < list->size(); ++i) {
          const auto at = pointer_to(s->at("metrics"), i);
          if (auto m = c.string((*list)[i], at)) {
            out.metrics.push_back(*m);
            out.metric_where.push_back(where(source.positions.locate(at, anchor::value)));
          }
        }
      }
    }
    // A path both fixed and swept, or swept twice, would be ambiguous.
    std::set<std::string> fixed;
    for (const auto& [path, v] : out.set) fixed.insert(path);
    for (const auto& [path, v] : out.grid) {
      if (fixed.count(path) != 0) {
        c.report(problem{pointer_to("/grid", path),
                         "\"" + path + "\" is both fixed (\"set\") and swept",
                         "remove it from one of them", anchor::key});
      }
    }
    for (std::size_t i = 0; i < out.points.size(); ++i) {
      for (const auto& [path, v] : out.points[i]) {
        const auto at = pointer_to(pointer_to("/points", i), path);
        if (fixed.count(path) != 0) {
          c.report(problem{at, "\"" + path + "\" is both fixed (\"set\") and swept",
                           "remove it from one of them", anchor::key});
        }
        if (std::any_of(out.grid.begin(), out.grid.end(),
                        [&](const sweep_value& g) { return g.first == path; })) {
          c.report(problem{at, "\"" + path + "\" is both in a point and in the grid",
                           "sweep it in one of them", anchor::key});
        }
      }
    }
  }
  auto problems = c.take_problems();
  std::vector<std::pair<std::size_t, diagnostic>> located;
  for (auto& p : problems) {
    const auto offset = source.positions.locate(p.pointer, p.at);
    located.emplace_back(offset, diagnostic{where(offset), std::move(p.pointer),
                                            std::move(p.message), std::move(p.hint)});
  }
  std::stable_sort(located.begin(), located.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  sweep_load_result result;
  for (auto& [offset, d] : located) result.problems.push_back(std::move(d));
  if (result.problems.empty()) result.value = std::move(out);
  return result;
}

}  // namespace colony::scenarios
