#include "library_view.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <utility>

#include "colony/memory/embedder.hpp"
#include "events_view.hpp"

namespace colony::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using memory::solution_entry;
using memory::solution_id;

constexpr std::size_t problem_width = 80;  // characters of a problem on a one-line row

std::uint64_t raw(solution_id id) {
  return static_cast<std::uint64_t>(id);
}

std::string fixed3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

std::string plural(std::size_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out.empty() ? "-" : out;
}

std::string joined(const std::vector<solution_id>& ids) {
  std::vector<std::string> items;
  for (const auto id : ids) items.push_back(std::to_string(raw(id)));
  return joined(items);
}

// `text` on one line (control characters as spaces), cut to `width` characters with "..."; a
// multi-byte UTF-8 character is never split.
std::string one_line(std::string_view text, std::size_t width) {
  std::string out;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const bool continuation = (c & 0xC0) == 0x80;
    if (!continuation && ++chars > width) {
      out.erase(out.find_last_not_of(' ') + 1);
      return out + "...";
    }
    out.push_back(c < 0x20 || c == 0x7F ? ' ' : text[i]);
  }
  return out;
}

// `rows` as lines of columns two spaces apart, indented by two; the columns flagged in `right`
// are right-aligned, and a column empty in every row (a mark no entry has) is left out. No
// trailing spaces.
std::vector<std::string> aligned(const std::vector<std::vector<std::string>>& rows,
                                 const std::vector<bool>& right) {
  std::vector<std::size_t> width(right.size(), 0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::vector<std::string> lines;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (width[c] == 0) continue;
      const std::string pad(width[c] - row[c].size(), ' ');
      line += "  " + (right[c] ? pad + row[c] : row[c] + pad);
    }
    line.erase(line.find_last_not_of(' ') + 1);
    lines.push_back(std::move(line));
  }
  return lines;
}

// Prints `rows` (the first is the header) aligned; "(none)" without rows.
void print_table(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right,
                 std::ostream& out) {
  if (rows.size() == 1) {
    out << "  (none)\n";
    return;
  }
  for (const auto& line : aligned(rows, right)) out << line << '\n';
}

// Every line of `text`, indented by four spaces (blank lines stay empty).
void print_indented(std::string_view text, std::ostream& out) {
  if (text.empty()) {
    out << "    (empty)\n";
    return;
  }
  while (!text.empty()) {
    const auto end = text.find('\n');
    auto line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) out << "    " << line;
    out << '\n';
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

const char* deprecated_mark(const solution_entry& e) {
  return e.deprecated ? "deprecated" : "";
}

// The columns of an entry on a search or lineage header line, after any leading columns.
std::vector<std::string> entry_header() {
  return {"id",    "version", "quality", "uses", "successes",
          "stars", "",        "parents", "tags", "problem"};
}
std::vector<std::string> entry_cells(const solution_entry& e) {
  return {std::to_string(raw(e.id)),
          std::to_string(e.version),
          fixed3(e.quality),
          std::to_string(e.uses),
          std::to_string(e.successes),
          std::to_string(e.stars),
          deprecated_mark(e),
          joined(e.parents),
          joined(e.tags),
          one_line(e.problem, problem_width)};
}
const std::vector<bool> entry_right{true, true, true, true, true, true, false, false, false, false};

// Prints `rows` (header first) with the solution of `entries[i]` after row i + 1, a blank line
// between entries.
void print_entries_with_solutions(std::vector<std::vector<std::string>> rows,
                                  const std::vector<bool>& right,
                                  const std::vector<const solution_entry*>& entries,
                                  std::ostream& out) {
  const auto lines = aligned(rows, right);
  out << lines[0] << '\n';
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out << '\n';
    out << lines[i + 1] << '\n';
    print_indented(entries[i]->solution, out);
  }
}

json::object entry_json(const solution_entry& e) {
  json::array parents;
  for (const auto id : e.parents) parents.push_back(raw(id));
  return {{"id", raw(e.id)},
          {"version", e.version},
          {"quality", e.quality},
          {"uses", e.uses},
          {"successes", e.successes},
          {"stars", e.stars},
          {"deprecated", e.deprecated},
          {"parents", std::move(parents)},
          {"tags", json::value_from(e.tags)},
          {"author", e.author},
          {"created", e.created},
          {"problem", e.problem},
          {"solution", e.solution}};
}

json::array relatives_json(const std::vector<library_relative>& relatives) {
  json::array out;
  for (const auto& r : relatives) {
    const auto& e = r.entry;
    out.push_back(json::object{{"generations", r.generations},
                               {"id", raw(e.id)},
                               {"version", e.version},
                               {"quality", e.quality},
                               {"deprecated", e.deprecated},
                               {"problem", e.problem}});
  }
  return out;
}

void print_relatives(const char* title, const std::vector<library_relative>& relatives,
                     std::ostream& out) {
  out << '\n' << title << '\n';
  std::vector<std::vector<std::string>> rows{
      {"generations", "id", "version", "quality", "", "problem"}};
  for (const auto& r : relatives) {
    const auto& e = r.entry;
    rows.push_back({std::to_string(r.generations), std::to_string(raw(e.id)),
                    std::to_string(e.version), fixed3(e.quality), deprecated_mark(e),
                    one_line(e.problem, problem_width)});
  }
  print_table(rows, {true, true, true, true, false, false}, out);
}

}  // namespace

result<opened_library> open_library(const fs::path& path) {
  auto dir = memory::solution_library::locate(path);
  if (!dir) return dir.error();
  auto lib = memory::solution_library::open(*dir);
  if (!lib) return lib.error();
  return opened_library{std::move(*dir), std::move(*lib)};
}

result<std::vector<library_hit>> search_library(const memory::solution_library& lib,
                                                std::string_view text, std::size_t k,
                                                bool include_deprecated) {
  if (k == 0) return fail(errc::bad_input, "-k 0: error: must be at least 1");
  const memory::hashing_embedder embedder(memory::hashing_options{.dimension = lib.dimension()});
  const auto query = embedder.embed(text);
  if (std::all_of(query.begin(), query.end(), [](float x) { return x == 0; })) {
    return fail(errc::bad_input, "search \"" + std::string(text) +
                                     "\": error: nothing to search by (give words of a problem)");
  }
  auto found = lib.search(query, k, include_deprecated);
  if (!found) return found.error();
  std::vector<library_hit> hits;
  for (const auto& h : found->front()) {
    auto e = lib.get(h.id);
    if (!e) return e.error();
    hits.push_back({.rank = hits.size() + 1, .similarity = h.score, .entry = std::move(*e)});
  }
  return hits;
}

result<library_family> library_lineage(const memory::solution_library& lib, solution_id id) {
  auto e = lib.get(id);
  if (!e) {
    if (e.error().code != errc::invalid_argument) return e.error();
    const auto n = lib.size();
    return fail(errc::bad_input, "solution " + std::to_string(raw(id)) +
                                     ": error: no such entry (the library has " +
                                     std::to_string(n) + (n == 1 ? " entry" : " entries") + ")");
  }
  auto l = lib.lineage(id);
  if (!l) return l.error();
  library_family f{.entry = std::move(*e)};
  for (const auto& [from, into] :
       {std::pair{&l->ancestors, &f.ancestors}, std::pair{&l->descendants, &f.descendants}}) {
    for (const auto& r : *from) {
      auto relative = lib.get(r.id);
      if (!relative) return relative.error();
      into->push_back({.generations = r.generations, .entry = std::move(*relative)});
    }
  }
  return f;
}

result<std::vector<solution_entry>> library_top(const memory::solution_library& lib,
                                                memory::solution_rank by, std::size_t n,
                                                bool include_deprecated) {
  if (n == 0) return fail(errc::bad_input, "-n 0: error: must be at least 1");
  return lib.top(by, n, include_deprecated);
}

std::string_view rank_name(memory::solution_rank by) {
  switch (by) {
    case memory::solution_rank::uses:
      return "uses";
    case memory::solution_rank::quality:
      return "quality";
    case memory::solution_rank::stars:
      return "stars";
  }
  return "uses";
}

void print_library_info(const opened_library& l, std::ostream& out) {
  const auto& lib = l.library;
  out << "library " << l.dir.string() << '\n';
  const auto lines =
      aligned({{"entries", std::to_string(lib.size())},
               {"deprecated", std::to_string(lib.deprecated_count())},
               {"dimension", std::to_string(lib.dimension())},
               {"factory", lib.factory()},
               {"index", (l.dir / memory::solution_library::index_file).string()},
               {"database", (l.dir / memory::solution_library::database_file).string()}},
              {false, false});
  for (const auto& line : lines) out << line << '\n';
}

json::object library_info_json(const opened_library& l) {
  const auto& lib = l.library;
  return {{"library", l.dir.string()},
          {"entries", lib.size()},
          {"deprecated", lib.deprecated_count()},
          {"dimension", lib.dimension()},
          {"factory", lib.factory()},
          {"trained", lib.trained()},
          {"index", (l.dir / memory::solution_library::index_file).string()},
          {"database", (l.dir / memory::solution_library::database_file).string()}};
}

void print_hits(std::string_view query, const std::vector<library_hit>& hits, std::ostream& out) {
  out << plural(hits.size(), "hit") << " for \"" << one_line(query, problem_width) << "\"\n";
  if (hits.empty()) return;
  auto header = entry_header();
  header.insert(header.begin(), {"rank", "similarity"});
  std::vector<std::vector<std::string>> rows{std::move(header)};
  std::vector<const solution_entry*> entries;
  for (const auto& h : hits) {
    auto cells = entry_cells(h.entry);
    cells.insert(cells.begin(), {std::to_string(h.rank), fixed3(h.similarity)});
    rows.push_back(std::move(cells));
    entries.push_back(&h.entry);
  }
  auto right = entry_right;
  right.insert(right.begin(), {true, true});
  print_entries_with_solutions(std::move(rows), right, entries, out);
}

json::object hits_json(std::string_view query, const std::vector<library_hit>& hits) {
  json::array out;
  for (const auto& h : hits) {
    json::object o{{"rank", h.rank},
                   {"similarity", std::round(static_cast<double>(h.similarity) * 1000) / 1000}};
    for (auto& [key, value] : entry_json(h.entry)) o[key] = std::move(value);
    out.push_back(std::move(o));
  }
  return {{"query", query}, {"hits", std::move(out)}};
}

void print_family(const library_family& f, std::ostream& out) {
  out << "solution " << raw(f.entry.id) << " by " << (f.entry.author.empty() ? "-" : f.entry.author)
      << ", created at " << format_clock(f.entry.created) << '\n';
  print_entries_with_solutions({entry_header(), entry_cells(f.entry)}, entry_right, {&f.entry},
                               out);
  print_relatives("ancestors", f.ancestors, out);
  print_relatives("descendants", f.descendants, out);
}

json::object family_json(const library_family& f) {
  return {{"entry", entry_json(f.entry)},
          {"ancestors", relatives_json(f.ancestors)},
          {"descendants", relatives_json(f.descendants)}};
}

void print_top(memory::solution_rank by, const std::vector<solution_entry>& entries,
               std::ostream& out) {
  out << "top " << entries.size() << " by " << rank_name(by) << '\n';
  std::vector<std::vector<std::string>> rows{
      {"rank", "id", "version", "quality", "uses", "successes", "stars", "", "problem"}};
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    rows.push_back({std::to_string(i + 1), std::to_string(raw(e.id)), std::to_string(e.version),
                    fixed3(e.quality), std::to_string(e.uses), std::to_string(e.successes),
                    std::to_string(e.stars), deprecated_mark(e),
                    one_line(e.problem, problem_width)});
  }
  print_table(rows, {true, true, true, true, true, true, true, false, false}, out);
}

json::object top_json(memory::solution_rank by, const std::vector<solution_entry>& entries) {
  json::array out;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    json::object o{{"rank", i + 1}};
    for (auto& [key, value] : entry_json(entries[i])) o[key] = std::move(value);
    out.push_back(std::move(o));
  }
  return {{"by", rank_name(by)}, {"entries", std::move(out)}};
}

}  // namespace colony::cli
