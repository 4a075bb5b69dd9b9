#pragma once
/// The solution library: every solution agents produce, searchable by the embedding of its
/// problem, with its fork lineage and how it has fared. Vectors live in a FAISS index (inner
/// product), metadata in SQLite; a saved library is two files side by side, `library.faiss` and
/// `library.sqlite`.
///
/// Ownership and threads: one owner (the library actor) calls everything; nothing here locks.
/// FAISS may use OpenMP threads inside a search; adds and training run on one OpenMP thread so
/// that the index, and therefore every search, depends only on the order of the adds.
///
/// Determinism: the same adds in the same order give the same search results and byte-identical
/// saved files. Scores are recomputed from the stored vectors with memory::dot, so a query's
/// scores do not depend on how it was batched or on the number of threads (FAISS's batched exact
/// search uses BLAS, whose rounding differs from its one-query path and with the thread count).
/// HNSW's level generator is not saved, so a reopened HNSW library grows a different (but
/// equally reproducible) graph than one that was never saved.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "colony/base/error.hpp"
#include "colony/base/time.hpp"

namespace colony::memory {

/// Identifies an entry of one library: assigned by add() as 1, 2, 3, ... in order, never reused.
enum class solution_id : std::uint64_t {};

/// One entry: a solved problem, its solution, where it came from and how it has fared.
struct solution_entry {
  solution_id id{};                  ///< assigned by add(); ignored on input
  std::string problem;               ///< the task text the solution answers
  std::string solution;              ///< the solution text (code, answer, procedure)
  std::string author;                ///< the agent that wrote it
  std::vector<solution_id> parents;  ///< what it was derived from: one for a fork, several for a
                                     ///< synthesis; each must already be in the library
  std::uint32_t version = 0;         ///< 0 on input: 1, or 1 + the highest parent version
  sim_time created = 0;              ///< simulated time it was stored (µs)
  double quality = 0;                ///< judged quality, by convention in [0, 1]
  std::uint64_t uses = 0;            ///< times it was reused
  std::uint64_t successes = 0;       ///< reuses that succeeded
  std::uint64_t stars = 0;           ///< endorsements by agents
  bool deprecated = false;           ///< superseded or unused: hidden from search by default
  std::vector<std::string> tags;     ///< free labels (domain, family, ...), in order

  friend bool operator==(const solution_entry&, const solution_entry&) = default;
};

/// One search result: an entry and the inner product of its vector with the query.
struct solution_hit {
  solution_id id{};  ///< the entry
  float score = 0;   ///< inner product (cosine similarity for normalized vectors)

  friend bool operator==(const solution_hit&, const solution_hit&) = default;
};

/// A relative of an entry and how many generations away it is (1: parent or child).
struct solution_relative {
  solution_id id{};     ///< the relative
  int generations = 0;  ///< shortest distance in generations, >= 1

  friend bool operator==(const solution_relative&, const solution_relative&) = default;
};

/// An entry's family: everything it descends from and everything that descends from it, each
/// sorted by (generations, id).
struct solution_lineage {
  std::vector<solution_relative> ancestors;    ///< parents, grandparents, ...
  std::vector<solution_relative> descendants;  ///< forks, their forks, syntheses that used it
};

/// What top() ranks by (descending; ties go to the older entry, the smaller id).
enum class solution_rank { uses, quality, stars };

/// How a new library indexes its vectors.
struct library_options {
  /// A faiss::index_factory string, metric inner product: "Flat" (exact), "HNSW32",
  /// "IVF1024,Flat", ... The library wraps it in its own id map (so no "IDMap" here).
  std::string factory = "Flat";
  /// FAISS parameters set on the index once it exists, as faiss::ParameterSpace takes them:
  /// "efConstruction=80,efSearch=128" (HNSW), "nprobe=16" (IVF). Empty: FAISS's defaults.
  std::string parameters;
  /// For indexes that must be trained (IVF, PQ): how many vectors to collect first. Until
  /// then the vectors sit in an exact flat index and searches are exact; the add that reaches
  /// this size trains the index on all of them and moves them in. 0: 39 × nlist for IVF
  /// (FAISS's minimum for k-means without a warning), 9,984 otherwise. Training runs on one
  /// thread (for determinism): IVF1024 on its 39,936 vectors of dimension 256 takes seconds.
  std::size_t train_size = 0;
};

/// How open() gives access to a saved library. Opening never modifies the saved files.
struct open_options {
  /// false: read-only, straight from the saved files (the database opened immutable); changes
  /// fail with errc::invalid_argument. true: changes go to a private copy of the database.
  bool writable = false;
  /// Writable only: the directory that holds the copy (`library.working.sqlite`, which must not
  /// exist yet). Empty: the copy is in memory.
  std::filesystem::path working_dir;
};

/// A searchable, versioned store of solutions. Movable, not copyable; a moved-from library may
/// only be destroyed or assigned to.
class solution_library {
 public:
  static constexpr std::string_view index_file = "library.faiss";      ///< saved vectors
  static constexpr std::string_view database_file = "library.sqlite";  ///< saved metadata
  /// The live database of a library being built (WAL). Never a saved library: save() writes a
  /// consistent snapshot beside it, so a run that dies leaves no half-written library.
  static constexpr std::string_view working_file = "library.working.sqlite";
  static constexpr int schema_version = 1;  ///< PRAGMA user_version of library.sqlite

  /// A new, empty library of `dimension`-long vectors. Its working database is
  /// `working_dir/library.working.sqlite` (created with the directory; it must not exist yet),
  /// or in memory when `working_dir` is empty. Fails with errc::invalid_argument for a zero
  /// dimension, a factory string FAISS rejects or bad parameters; errc::io_error for the file.
  [[nodiscard]] static result<solution_library> create(const std::filesystem::path& working_dir,
                                                       std::size_t dimension,
                                                       library_options options = {});

  /// Whether create() would accept `dimension` and `options` (builds the index and discards it).
  /// Fails as create() does for them, with errc::invalid_argument naming what is wrong.
  [[nodiscard]] static result<void> check_options(std::size_t dimension,
                                                  const library_options& options);

  /// Opens the library saved in `dir` (see open_options), after checking it: both files exist,
  /// library.sqlite is a SQLite database with this schema version, library.faiss is a FAISS
  /// index of the recorded dimension and metric, and every vector's id has an entry and every
  /// entry a vector. Each failure is an error (errc::bad_input, or errc::io_error for a file that
  /// cannot be read or copied) whose message names the file and what is wrong.
  [[nodiscard]] static result<solution_library> open(const std::filesystem::path& dir,
                                                     open_options options = {});

  /// The directory of the library saved at `path`: `path` itself when it is a directory holding
  /// library.faiss and library.sqlite (a run directory, say), or the directory of `path` when it
  /// names one of those two files and the other is beside it. Looks only at names and file
  /// types, not at contents: open() checks those. Fails with errc::bad_input naming `path` and
  /// what is missing (a nonexistent path, a directory or file that is not a saved library).
  [[nodiscard]] static result<std::filesystem::path> locate(const std::filesystem::path& path);

  solution_library(solution_library&&) noexcept;
  solution_library& operator=(solution_library&&) noexcept;
  ~solution_library();

  [[nodiscard]] std::size_t dimension() const noexcept;  ///< length of every vector
  [[nodiscard]] std::size_t size() const noexcept;       ///< entries, deprecated ones included
  [[nodiscard]] std::size_t deprecated_count() const noexcept;  ///< deprecated entries
  [[nodiscard]] const std::string& factory() const noexcept;    ///< the index's factory string
  [[nodiscard]] bool trained() const noexcept;   ///< false while vectors wait for training
  [[nodiscard]] bool writable() const noexcept;  ///< false when opened read-only

  /// Stores `entry` (its id ignored) with `vector` (dimension() floats, ideally L2-normalized)
  /// and returns its new id. Fails with errc::invalid_argument for a vector of the wrong length
  /// or with non-finite values, an unknown or repeated parent, or a read-only library.
  [[nodiscard]] result<solution_id> add(const solution_entry& entry, std::span<const float> vector);
  /// Stores `entries` in one transaction, `vectors` holding their vectors back to back
  /// (entries.size() × dimension() floats). All or nothing; ids are consecutive.
  [[nodiscard]] result<std::vector<solution_id>> add(std::span<const solution_entry> entries,
                                                     std::span<const float> vectors);

  /// The `k` nearest entries by inner product for each of the queries in `queries` (n ×
  /// dimension() floats, back to back), best first, ties to the smaller id; fewer when the
  /// library holds fewer. One FAISS search serves the whole batch. Deprecated entries are left
  /// out unless `include_deprecated`: the search fetches extra candidates to make up for them
  /// (and searches again, fetching twice as many, for a query that still comes up short), so an
  /// exact index still returns the true k nearest live entries. Fails with
  /// errc::invalid_argument when `queries` is not a whole number of vectors.
  [[nodiscard]] result<std::vector<std::vector<solution_hit>>> search(
      std::span<const float> queries, std::size_t k, bool include_deprecated = false) const;

  /// The entry `id`. Fails with errc::invalid_argument for an unknown id.
  [[nodiscard]] result<solution_entry> get(solution_id id) const;
  /// The ancestors and descendants of `id` through `parents`.
  [[nodiscard]] result<solution_lineage> lineage(solution_id id) const;
  /// Up to `n` entries ranked by `by`, descending, ties to the smaller id. Scans the table: meant
  /// for reports, not for a hot path.
  [[nodiscard]] result<std::vector<solution_entry>> top(solution_rank by, std::size_t n,
                                                        bool include_deprecated = false) const;

  /// Counts one reuse of `id`, and one success if `success`.
  [[nodiscard]] result<void> record_use(solution_id id, bool success);
  /// Adds one star to `id`.
  [[nodiscard]] result<void> star(solution_id id);
  /// Sets the quality of `id` (a finite number).
  [[nodiscard]] result<void> set_quality(solution_id id, double quality);
  /// Hides `id` from searches that do not ask for deprecated entries. Idempotent.
  [[nodiscard]] result<void> deprecate(solution_id id);
  /// Sets FAISS search parameters ("efSearch=256", "nprobe=32") on the index in memory; a
  /// writable library records them, and save() writes them with the index.
  [[nodiscard]] result<void> set_parameters(std::string_view parameters);

  /// Writes `dir/library.faiss` and `dir/library.sqlite` (creating `dir`), each first to a
  /// temporary name and then renamed over any earlier one. The database is a compacted
  /// snapshot (VACUUM INTO) in rollback-journal mode; the working database is left as it is.
  [[nodiscard]] result<void> save(const std::filesystem::path& dir) const;

 private:
  struct state;
  explicit solution_library(std::unique_ptr<state> s);
  std::unique_ptr<state> s_;
};

}  // namespace colony::memory
