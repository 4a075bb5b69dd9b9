#pragma once
// `colony library`: a saved solution library, opened read-only, searched by the text of a
// problem, its entries' lineage, and its best entries.
#include <boost/json/object.hpp>
#include <cstddef>
#include <filesystem>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "colony/base/error.hpp"
#include "colony/memory/solution_library.hpp"

namespace colony::cli {

/// A saved library and where it was found.
struct opened_library {
  std::filesystem::path dir;         ///< the directory of library.faiss and library.sqlite
  memory::solution_library library;  ///< opened read-only
};

/// Finds the library at `path` (see solution_library::locate) and opens it read-only. Fails with
/// errc::bad_input naming the path and what is missing, or with open()'s error, which names the
/// file at fault.
[[nodiscard]] result<opened_library> open_library(const std::filesystem::path& path);

/// One search result: its place, the similarity of its problem to the query, and the entry.
struct library_hit {
  std::size_t rank = 0;  ///< 1 for the best
  float similarity = 0;  ///< cosine similarity of the embeddings, in [-1, 1]
  memory::solution_entry entry;
};

/// The `k` entries whose problems are most like `text`, best first: `text` embedded as a run
/// embeds problems (the hashing embedder with default options and the library's dimension).
/// Deprecated entries are left out unless `include_deprecated`. Fails with errc::bad_input for
/// a `k` of 0 or a query with nothing to embed (no letters or digits).
[[nodiscard]] result<std::vector<library_hit>> search_library(const memory::solution_library& lib,
                                                              std::string_view text, std::size_t k,
                                                              bool include_deprecated);

/// A relative in a lineage, with the entry it names.
struct library_relative {
  int generations = 0;  ///< 1: parent or child, 2: grandparent or grandchild, ...
  memory::solution_entry entry;
};

/// An entry and its family, each side sorted by (generations, id).
struct library_family {
  memory::solution_entry entry;
  std::vector<library_relative> ancestors;
  std::vector<library_relative> descendants;
};

/// The entry `id` with its ancestors and descendants. Fails with errc::bad_input for an id the
/// library does not hold, naming it and how many entries there are.
[[nodiscard]] result<library_family> library_lineage(const memory::solution_library& lib,
                                                     memory::solution_id id);

/// Up to `n` entries ranked by `by`, descending (ties to the older entry), deprecated ones left
/// out unless `include_deprecated`. Fails with errc::bad_input for an `n` of 0.
[[nodiscard]] result<std::vector<memory::solution_entry>> library_top(
    const memory::solution_library& lib, memory::solution_rank by, std::size_t n,
    bool include_deprecated);

/// "uses", "quality" or "stars".
[[nodiscard]] std::string_view rank_name(memory::solution_rank by);

/// Prints where the library is and what it holds: entries, deprecated ones, dimension, factory,
/// and the paths of its two files.
void print_library_info(const opened_library& l, std::ostream& out);
/// The same as one JSON object.
[[nodiscard]] boost::json::object library_info_json(const opened_library& l);

/// Prints a line naming the query, then per hit an aligned line (rank, id, similarity to 3
/// decimals, version, quality, uses, successes, stars, a "deprecated" mark, parents, tags and the
/// problem, shortened to one line of 80 characters) followed by the whole solution, indented by
/// 4 spaces.
void print_hits(std::string_view query, const std::vector<library_hit>& hits, std::ostream& out);
/// The hits as one JSON object, texts in full: {"query", "hits": [{"rank", "similarity" (rounded
/// to 3 decimals), "id", "version", ..., "problem", "solution"}]}.
[[nodiscard]] boost::json::object hits_json(std::string_view query,
                                            const std::vector<library_hit>& hits);

/// Prints a line naming the entry, its author and when it was created, the entry as print_hits
/// does (without rank and similarity), then a table of its ancestors and one of its descendants:
/// generations, id, version, quality, a "deprecated" mark and the problem.
void print_family(const library_family& f, std::ostream& out);
/// The family as one JSON object: {"entry", "ancestors", "descendants"}, texts in full.
[[nodiscard]] boost::json::object family_json(const library_family& f);

/// Prints a line naming the ranking, then the entries as aligned rows: rank, id, version,
/// quality, uses, successes, stars, a "deprecated" mark and the problem.
void print_top(memory::solution_rank by, const std::vector<memory::solution_entry>& entries,
               std::ostream& out);
/// The ranking as one JSON object: {"by", "entries": [{"rank", ...entry}]}, texts in full.
[[nodiscard]] boost::json::object top_json(memory::solution_rank by,
                                           const std::vector<memory::solution_entry>& entries);

}  // namespace colony::cli
