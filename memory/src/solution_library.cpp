#include "colony/memory/solution_library.hpp"

#include <faiss/AutoTune.h>
#include <faiss/IVFlib.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <omp.h>

#include <optional>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <system_error>
#include <unordered_set>

#include "colony/base/assert.hpp"
#include "colony/base/log.hpp"
#include "colony/memory/embedder.hpp"
#include "sqlite.hpp"

namespace colony::memory {
namespace {

namespace fs = std::filesystem;
using faiss_id = faiss::Index::idx_t;
using std::to_string;

// "CoLb" in PRAGMA application_id: tells a library database from any other SQLite file.
constexpr std::int32_t application_id = 0x436f4c62;

constexpr std::string_view schema = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value NOT NULL) WITHOUT ROWID;
CREATE TABLE entries(
  id INTEGER PRIMARY KEY,
  problem TEXT NOT NULL,
  solution TEXT NOT NULL,
  author TEXT NOT NULL,
  version INTEGER NOT NULL,
  created INTEGER NOT NULL,
  quality REAL NOT NULL,
  uses INTEGER NOT NULL,
  successes INTEGER NOT NULL,
  stars INTEGER NOT NULL,
  deprecated INTEGER NOT NULL);
CREATE TABLE parents(
  child INTEGER NOT NULL REFERENCES entries(id),
  position INTEGER NOT NULL,
  parent INTEGER NOT NULL REFERENCES entries(id),
  PRIMARY KEY(child, position)) WITHOUT ROWID;
CREATE INDEX parents_by_parent ON parents(parent, child);
CREATE TABLE tags(
  entry INTEGER NOT NULL REFERENCES entries(id),
  position INTEGER NOT NULL,
  tag TEXT NOT NULL,
  PRIMARY KEY(entry, position)) WITHOUT ROWID;
CREATE INDEX tags_by_tag ON tags(tag);
)sql";

// FAISS's messages open with the function's signature and source location; keep the reason.
std::string faiss_reason(const std::exception& e) {
  std::string_view m = e.what();
  if (const auto at = m.find(".cpp:"); at != std::string_view::npos) {
    if (const auto colon = m.find(": ", at + 5); colon != std::string_view::npos) {
      m.remove_prefix(colon + 2);
    }
  }
  constexpr std::string_view failed = "' failed: ";
  if (m.starts_with("Error: '")) {
    if (const auto f = m.find(failed); f != std::string_view::npos)
      m.remove_prefix(f + failed.size());
  }
  return std::string(m);
}

// HNSW inserts in parallel in an order that depends on thread timing, so adds (and training,
// whose BLAS calls follow OpenMP's thread count) run on one thread: the index then depends only
// on the order of the adds.
// Batches smaller than this are searched on the calling thread only (FAISS's exact search
// switches to BLAS, which has its own threads, at 20 queries).
constexpr std::size_t small_batch = 20;

class one_omp_thread {
 public:
  one_omp_thread() : before_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~one_omp_thread() { omp_set_num_threads(before_); }
  one_omp_thread(const one_omp_thread&) = delete;
  one_omp_thread& operator=(const one_omp_thread&) = delete;

 private:
  int before_;
};

// A "file:" URI opening `path` read-only and immutable: SQLite then takes no locks and creates
// no -wal or -shm file beside it, so opening never touches the directory.
std::string immutable_uri(const fs::path& path) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string uri = "file:";
  for (const char c : fs::absolute(path).string()) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      uri.push_back(c);
    } else {
      uri += {'%', hex[u >> 4], hex[u & 15]};
    }
  }
  return uri + "?immutable=1";
}

// Removes a database file and its WAL companions (after a failed create or open).
void remove_database(const fs::path& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    fs::remove(fs::path(path.string() + suffix), ec);
  }
}

// An id map over the index `factory` describes, with `parameters` set.
result<std::unique_ptr<faiss::IndexIDMap2>> make_index(std::size_t dimension,
                                                       const std::string& factory,
                                                       const std::string& parameters) {
  std::unique_ptr<faiss::Index> sub;
  try {
    sub.reset(faiss::index_factory(static_cast<int>(dimension), factory.c_str(),
                                   faiss::METRIC_INNER_PRODUCT));
  } catch (const std::exception& e) {
    return fail(errc::invalid_argument, "index factory \"" + factory + "\": " + faiss_reason(e));
  }
  if (dynamic_cast<faiss::IndexIDMap*>(sub.get()) != nullptr) {
    return fail(errc::invalid_argument,
                "index factory \"" + factory + "\": leave out IDMap (the library adds its own)");
  }
  if (sub->metric_type != faiss::METRIC_INNER_PRODUCT) {
    return fail(errc::invalid_argument,
                "index factory \"" + factory + "\": the index does not use inner product");
  }
  auto index = std::make_unique<faiss::IndexIDMap2>(sub.get());
  sub.release();
  index->own_fields = true;
  if (!parameters.empty()) {
    try {
      faiss::ParameterSpace().set_index_parameters(index.get(), parameters.c_str());
    } catch (const std::exception& e) {
      return fail(errc::invalid_argument, "index parameters \"" + parameters + "\" for \"" +
                                              factory + "\": " + faiss_reason(e));
    }
  }
  return index;
}

std::size_t default_train_size(const faiss::Index& index) {
  if (const auto* ivf = faiss::ivflib::try_extract_index_ivf(&index)) return 39 * ivf->nlist;
  return 39 * 256;
}

}  // namespace

struct solution_library::state {
  std::size_t dimension = 0;
  std::string factory;
  std::string parameters;
  std::size_t train_size = 0;
  bool writable = true;

  sqlite::connection db;
  // What searches use. While `untrained` waits for vectors, an exact flat index.
  std::unique_ptr<faiss::IndexIDMap2> index;
  // The factory's index before training; null once trained (or for indexes needing none).
  std::unique_ptr<faiss::IndexIDMap2> untrained;
  bool training_failed = false;

  std::vector<char> deprecated;  // by id (ids are dense: 1 .. next_id - 1)
  std::size_t deprecated_count = 0;
  std::int64_t next_id = 1;
  // Scores are recomputed from reconstructed vectors, unless the index cannot reconstruct.
  mutable bool rescore = true;

  sqlite::statement begin, commit, rollback;
  sqlite::statement insert_entry, insert_parent, insert_tag, version_of, set_meta;
  sqlite::statement get_entry, get_parents, get_tags, get_children;
  sqlite::statement use, add_star, quality, deprecate;
  sqlite::statement top_uses, top_quality, top_stars;

  [[nodiscard]] result<void> prepare();
  void idle() noexcept;
  [[nodiscard]] result<void> write_meta(std::string_view key, std::string_view value);
  [[nodiscard]] result<void> write_meta(std::string_view key, std::int64_t value);
  [[nodiscard]] result<void> insert(const solution_entry& e, std::int64_t id,
                                    std::uint32_t version);
  [[nodiscard]] result<void> train();
  [[nodiscard]] result<void> check_id(solution_id id) const;
  [[nodiscard]] result<void> update(sqlite::statement& s, solution_id id, std::string_view what);
  [[nodiscard]] error read_only(std::string_view what) const {
    return fail(
        errc::invalid_argument,
        std::string(what) + ": the library was opened read-only (open it writable to change it)");
  }
  [[nodiscard]] bool is_deprecated(faiss_id id) const {
    return id > 0 && static_cast<std::size_t>(id) < deprecated.size() &&
           deprecated[static_cast<std::size_t>(id)] != 0;
  }
};

result<void> solution_library::state::prepare() {
  struct item {
    sqlite::statement* s;
    std::string_view sql;
  };
  const item items[] = {
      {&begin, "BEGIN IMMEDIATE"},
      {&commit, "COMMIT"},
      {&rollback, "ROLLBACK"},
      {&insert_entry,
       "INSERT INTO entries(id, problem, solution, author, version, created, quality, uses, "
       "successes, stars, deprecated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"},
      {&insert_parent, "INSERT INTO parents(child, position, parent) VALUES (?1, ?2, ?3)"},
      {&insert_tag, "INSERT INTO tags(entry, position, tag) VALUES (?1, ?2, ?3)"},
      {&version_of, "SELECT version FROM entries WHERE id = ?1"},
      {&set_meta, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)"},
      {&get_entry,
       "SELECT problem, solution, author, version, created, quality, uses, successes, stars, "
       "deprecated FROM entries WHERE id = ?1"},
      {&get_parents, "SELECT parent FROM parents WHERE child = ?1 ORDER BY position"},
      {&get_tags, "SELECT tag FROM tags WHERE entry = ?1 ORDER BY position"},
      {&get_children, "SELECT child FROM parents WHERE parent = ?1 ORDER BY child"},
      {&use, "UPDATE entries SET uses = uses + 1, successes = successes + ?2 WHERE id = ?1"},
      {&add_star, "UPDATE entries SET stars = stars + 1 WHERE id = ?1"},
      {&quality, "UPDATE entries SET quality = ?2 WHERE id = ?1"},
      {&deprecate, "UPDATE entries SET deprecated = 1 WHERE id = ?1"},
      {&top_uses,
       "SELECT id FROM entries WHERE ?2 OR deprecated = 0 ORDER BY uses DESC, id LIMIT ?1"},
      {&top_quality,
       "SELECT id FROM entries WHERE ?2 OR deprecated = 0 ORDER BY quality DESC, id LIMIT ?1"},
      {&top_stars,
       "SELECT id FROM entries WHERE ?2 OR deprecated = 0 ORDER BY stars DESC, id LIMIT ?1"},
  };
  for (const auto& [s, sql] : items) {
    auto p = db.prepare(sql);
    if (!p) return p.error();
    *s = std::move(*p);
  }
  return {};
}

void solution_library::state::idle() noexcept {
  for (auto* s : {&version_of, &get_entry, &get_parents, &get_tags, &get_children, &top_uses,
                  &top_quality, &top_stars}) {
    s->reset();
  }
}

result<void> solution_library::state::write_meta(std::string_view key, std::string_view value) {
  set_meta.reset().bind_text(1, key).bind_text(2, value);
  return db.run(set_meta, "cannot write " + std::string(key));
}

result<void> solution_library::state::write_meta(std::string_view key, std::int64_t value) {
  set_meta.reset().bind_text(1, key).bind_int(2, value);
  return db.run(set_meta, "cannot write " + std::string(key));
}

result<void> solution_library::state::insert(const solution_entry& e, std::int64_t id,
                                             std::uint32_t version) {
  insert_entry.reset()
      .bind_int(1, id)
      .bind_text(2, e.problem)
      .bind_text(3, e.solution)
      .bind_text(4, e.author)
      .bind_int(5, version)
      .bind_int(6, e.created)
      .bind_real(7, e.quality)
      .bind_int(8, static_cast<std::int64_t>(e.uses))
      .bind_int(9, static_cast<std::int64_t>(e.successes))
      .bind_int(10, static_cast<std::int64_t>(e.stars))
      .bind_int(11, e.deprecated ? 1 : 0);
  if (auto r = db.run(insert_entry, "cannot store solution " + to_string(id)); !r) return r;
  for (std::size_t i = 0; i < e.parents.size(); ++i) {
    insert_parent.reset()
        .bind_int(1, id)
        .bind_int(2, static_cast<std::int64_t>(i))
        .bind_int(3, static_cast<std::int64_t>(e.parents[i]));
    if (auto r = db.run(insert_parent, "cannot store a parent"); !r) return r;
  }
  for (std::size_t i = 0; i < e.tags.size(); ++i) {
    insert_tag.reset()
        .bind_int(1, id)
        .bind_int(2, static_cast<std::int64_t>(i))
        .bind_text(3, e.tags[i]);
    if (auto r = db.run(insert_tag, "cannot store a tag"); !r) return r;
  }
  return {};
}

// Trains the factory's index on every vector collected so far and moves them in, in id order.
result<void> solution_library::state::train() {
  const auto n = index->ntotal;
  const auto* flat = dynamic_cast<const faiss::IndexFlat*>(index->index);
  COLONY_ASSERT(flat != nullptr);
  try {
    one_omp_thread single;
    untrained->train(n, flat->get_xb());
    // IVF can only reconstruct (for rescoring) through a direct map, kept up to date by adds.
    if (auto* ivf = faiss::ivflib::try_extract_index_ivf(untrained.get()))
      ivf->make_direct_map(true);
    untrained->add_with_ids(n, flat->get_xb(), index->id_map.data());
  } catch (const std::exception& e) {
    auto fresh = make_index(dimension, factory, parameters);
    if (fresh) untrained = std::move(*fresh);
    return fail(errc::invalid_argument, "training index \"" + factory + "\" on " + to_string(n) +
                                            " vectors: " + faiss_reason(e));
  }
  if (auto r = write_meta("trained", 1); !r) {
    auto fresh = make_index(dimension, factory, parameters);  // the trained one holds vectors
    if (fresh) untrained = std::move(*fresh);
    return r;
  }
  index = std::move(untrained);
  return {};
}

result<void> solution_library::state::check_id(solution_id id) const {
  const auto raw = static_cast<std::int64_t>(id);
  if (raw < 1 || raw >= next_id) {
    return fail(errc::invalid_argument,
                "unknown solution " + to_string(static_cast<std::uint64_t>(id)));
  }
  return {};
}

result<void> solution_library::state::update(sqlite::statement& s, solution_id id,
                                             std::string_view what) {
  if (!writable) return read_only(what);
  if (auto r = check_id(id); !r) return r;
  return db.run(s, std::string(what) + " of solution " + to_string(static_cast<std::uint64_t>(id)));
}

solution_library::solution_library(std::unique_ptr<state> s) : s_(std::move(s)) {}
solution_library::solution_library(solution_library&&) noexcept = default;
solution_library& solution_library::operator=(solution_library&&) noexcept = default;
solution_library::~solution_library() = default;

result<void> solution_library::check_options(std::size_t dimension,
                                             const library_options& options) {
  if (dimension == 0 || dimension > 65536) {
    return fail(errc::invalid_argument,
                "solution library: dimension " + to_string(dimension) + " (expected 1..65536)");
  }
  auto index = make_index(dimension, options.factory, options.parameters);
  if (!index) return index.error();
  return {};
}

result<solution_library> solution_library::create(const fs::path& working_dir,
                                                  std::size_t dimension, library_options options) {
  if (dimension == 0 || dimension > 65536) {
    return fail(errc::invalid_argument,
                "solution library: dimension " + to_string(dimension) + " (expected 1..65536)");
  }
  auto s = std::make_unique<state>();
  s->dimension = dimension;
  s->factory = options.factory;
  s->parameters = options.parameters;
  auto index = make_index(dimension, options.factory, options.parameters);
  if (!index) return index.error();
  if (!(*index)->is_trained) {
    s->train_size = options.train_size != 0 ? options.train_size : default_train_size(**index);
    s->untrained = std::move(*index);
    auto flat = make_index(dimension, "Flat", "");
    if (!flat) return flat.error();
    s->index = std::move(*flat);
  } else {
    s->index = std::move(*index);
  }

  std::string name = ":memory:";
  std::string label = "<memory>";
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  if (!working_dir.empty()) {
    std::error_code ec;
    fs::create_directories(working_dir, ec);
    if (ec) return fail(errc::io_error, working_dir.string() + ": cannot create: " + ec.message());
    const auto path = working_dir / working_file;
    if (fs::exists(path, ec)) {
      return fail(errc::io_error, path.string() +
                                      ": already exists (a library is being built there, or "
                                      "one was left by a run that died; remove it)");
    }
    name = label = path.string();
  }
  const auto init = [&]() -> result<void> {
    auto db = sqlite::connection::open(name, flags, label);
    if (!db) return db.error();
    s->db = std::move(*db);
    if (!working_dir.empty()) {
      // WAL keeps the frequent small updates (uses, stars) cheap; synchronous=NORMAL because
      // the library that must survive is the one save() writes.
      if (auto r = s->db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"); !r) return r;
    }
    if (auto r = s->db.exec("BEGIN; " + std::string(schema) +
                            "PRAGMA application_id=" + to_string(application_id) +
                            "; PRAGMA user_version=" + to_string(schema_version) + ";");
        !r) {
      return r;
    }
    if (auto r = s->prepare(); !r) return r;
    for (const auto& r :
         {s->write_meta("dimension", static_cast<std::int64_t>(dimension)),
          s->write_meta("factory", s->factory), s->write_meta("metric", "inner_product"),
          s->write_meta("parameters", s->parameters),
          s->write_meta("train_size", static_cast<std::int64_t>(s->train_size)),
          s->write_meta("trained", s->untrained ? 0 : 1)}) {
      if (!r) return r;
    }
    return s->db.exec("COMMIT");
  }();
  if (!init) {
    s.reset();  // closes the database before its files go
    if (!working_dir.empty()) remove_database(working_dir / working_file);
    return init.error();
  }
  s->deprecated.assign(1, 0);
  return solution_library(std::move(s));
}

namespace {

// The text or integer value of `key` in the meta table.
result<std::string> meta_text(sqlite::connection& db, std::string_view key) {
  auto s = db.prepare("SELECT value FROM meta WHERE key = ?1");
  if (!s) return s.error();
  s->bind_text(1, key);
  const int rc = s->step();
  if (rc == SQLITE_ROW) return s->text_at(0);
  if (rc == SQLITE_DONE)
    return fail(errc::bad_input, db.label() + ": no \"" + std::string(key) + "\" in table meta");
  return db.failure("cannot read meta");
}

result<std::int64_t> meta_int(sqlite::connection& db, std::string_view key) {
  auto text = meta_text(db, key);
  if (!text) return text.error();
  std::int64_t v = 0;
  const auto* end = text->data() + text->size();
  if (text->empty() || std::from_chars(text->data(), end, v).ptr != end) {
    return fail(errc::bad_input, db.label() + ": meta \"" + std::string(key) + "\" is \"" + *text +
                                     "\", not an integer");
  }
  return v;
}

// Checks that `db` is a library database of this schema version.
result<void> check_database(sqlite::connection& db) {
  auto app = db.query_int("PRAGMA application_id");
  if (!app) {
    const int code = sqlite3_extended_errcode(db.get()) & 0xff;
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) {
      return fail(errc::bad_input, db.label() + ": " +
                                       (code == SQLITE_NOTADB ? "not a SQLite database ("
                                                              : "a damaged SQLite database (") +
                                       sqlite3_errmsg(db.get()) + ")");
    }
    return app.error();
  }
  if (*app != application_id) {
    return fail(errc::bad_input,
                db.label() +
                    ": a SQLite database, but not a Colony solution library (application_id " +
                    to_string(*app) + ", expected " + to_string(application_id) + ")");
  }
  auto version = db.query_int("PRAGMA user_version");
  if (!version) return version.error();
  if (*version != solution_library::schema_version) {
    return fail(errc::bad_input, db.label() + ": schema version " + to_string(*version) +
                                     ", but this Colony reads version " +
                                     to_string(solution_library::schema_version));
  }
  return {};
}

// Every id of the index has an entry and every entry a vector.
result<void> check_ids(const faiss::IndexIDMap2& index, sqlite::connection& db,
                       const std::string& index_label) {
  std::vector<faiss_id> in_index(index.id_map.begin(), index.id_map.end());
  std::sort(in_index.begin(), in_index.end());
  if (const auto dup = std::adjacent_find(in_index.begin(), in_index.end());
      dup != in_index.end()) {
    return fail(errc::bad_input, index_label + ": id " + to_string(*dup) + " appears twice");
  }
  auto s = db.prepare("SELECT id FROM entries ORDER BY id");
  if (!s) return s.error();
  std::size_t i = 0;
  int rc = SQLITE_ROW;
  while ((rc = s->step()) == SQLITE_ROW) {
    const auto id = s->int_at(0);
    if (i < in_index.size() && in_index[i] < id) break;
    if (i == in_index.size() || in_index[i] > id) {
      return fail(errc::bad_input,
                  db.label() + ": entry " + to_string(id) + " has no vector in " + index_label);
    }
    ++i;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db.failure("cannot read the entries");
  if (i < in_index.size()) {
    return fail(errc::bad_input, index_label + ": vector id " + to_string(in_index[i]) +
                                     " has no entry in " + db.label());
  }
  return {};
}

}  // namespace

result<solution_library> solution_library::open(const fs::path& dir, open_options options) {
  const auto index_path = dir / index_file;
  const auto db_path = dir / database_file;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return fail(errc::io_error, dir.string() + ": no such directory");
  for (const auto& p : {db_path, index_path}) {
    if (!fs::is_regular_file(p, ec)) {
      return fail(errc::io_error, p.string() + ": missing (a saved library is " +
                                      std::string(index_file) + " and " +
                                      std::string(database_file) + " side by side)");
    }
  }

  auto s = std::make_unique<state>();
  s->writable = options.writable;
  {
    auto db = sqlite::connection::open(immutable_uri(db_path),
                                       SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, db_path.string());
    if (!db) return db.error();
    s->db = std::move(*db);
  }
  if (auto r = check_database(s->db); !r) return r.error();
  auto dimension = meta_int(s->db, "dimension");
  if (!dimension) return dimension.error();
  auto factory = meta_text(s->db, "factory");
  if (!factory) return factory.error();
  auto metric = meta_text(s->db, "metric");
  if (!metric) return metric.error();
  auto parameters = meta_text(s->db, "parameters");
  if (!parameters) return parameters.error();
  auto train_size = meta_int(s->db, "train_size");
  if (!train_size) return train_size.error();
  auto trained = meta_int(s->db, "trained");
  if (!trained) return trained.error();
  if (*dimension < 1 || *dimension > 65536 || *metric != "inner_product" || *train_size < 0) {
    return fail(errc::bad_input, db_path.string() + ": bad meta (dimension " +
                                     to_string(*dimension) + ", metric \"" + *metric +
                                     "\", train_size " + to_string(*train_size) + ")");
  }
  s->dimension = static_cast<std::size_t>(*dimension);
  s->factory = *factory;
  s->parameters = *parameters;
  s->train_size = static_cast<std::size_t>(*train_size);

  std::unique_ptr<faiss::Index> read;
  try {
    read.reset(faiss::read_index(index_path.c_str()));
  } catch (const std::exception& e) {
    return fail(errc::bad_input,
                index_path.string() + ": not a readable FAISS index (" + faiss_reason(e) + ")");
  }
  auto* map = dynamic_cast<faiss::IndexIDMap2*>(read.get());
  if (map == nullptr) {
    return fail(
        errc::bad_input,
        index_path.string() + ": a FAISS index, but not a solution library's (no IndexIDMap2)");
  }
  read.release();
  s->index.reset(map);
  const auto& label = index_path.string();
  if (static_cast<std::int64_t>(map->d) != *dimension) {
    return fail(errc::bad_input, label + ": vectors of dimension " + to_string(map->d) + ", but " +
                                     db_path.string() + " records dimension " +
                                     to_string(*dimension));
  }
  if (map->metric_type != faiss::METRIC_INNER_PRODUCT) {
    return fail(errc::bad_input, label + ": the index does not use inner product");
  }
  if (*trained == 0) {
    if (dynamic_cast<const faiss::IndexFlat*>(map->index) == nullptr) {
      return fail(errc::bad_input, label + ": " + db_path.string() +
                                       " says the index awaits training, but it is not the flat "
                                       "index that collects vectors");
    }
    auto untrained = make_index(s->dimension, s->factory, s->parameters);
    if (!untrained)
      return fail(errc::bad_input, db_path.string() + ": " + untrained.error().message);
    s->untrained = std::move(*untrained);
  } else if (!map->is_trained) {
    return fail(errc::bad_input,
                label + ": the index is not trained, but " + db_path.string() + " says it is");
  }
  if (auto r = check_ids(*map, s->db, label); !r) return r.error();

  if (options.writable) {
    if (options.working_dir.empty()) {
      // A private copy in memory through the backup API; the source stays as it was.
      auto mem = sqlite::connection::open(":memory:", SQLITE_OPEN_READWRITE, "<memory>");
      if (!mem) return mem.error();
      sqlite3_backup* b = sqlite3_backup_init(mem->get(), "main", s->db.get(), "main");
      if (b == nullptr) return mem->failure("cannot copy " + db_path.string());
      const int rc = sqlite3_backup_step(b, -1);
      sqlite3_backup_finish(b);
      if (rc != SQLITE_DONE) return mem->failure("cannot copy " + db_path.string());
      s->db = std::move(*mem);
    } else {
      fs::create_directories(options.working_dir, ec);
      const auto copy = options.working_dir / working_file;
      if (ec || !fs::copy_file(db_path, copy, fs::copy_options::none, ec)) {
        return fail(errc::io_error, copy.string() + ": cannot copy " + db_path.string() +
                                        " here: " + (ec ? ec.message() : "it exists"));
      }
      auto db = sqlite::connection::open(copy.string(), SQLITE_OPEN_READWRITE, copy.string());
      auto wal = db ? db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL")
                    : result<void>(db.error());
      if (!wal) {
        db = sqlite::connection{};
        remove_database(copy);
        return wal.error();
      }
      s->db = std::move(*db);
    }
  }
  if (auto r = s->prepare(); !r) return r.error();

  auto next = s->db.query_int("SELECT COALESCE(MAX(id), 0) + 1 FROM entries");
  if (!next) return next.error();
  s->next_id = *next;
  s->deprecated.assign(static_cast<std::size_t>(s->next_id), 0);
  auto dep = s->db.prepare("SELECT id FROM entries WHERE deprecated != 0");
  if (!dep) return dep.error();
  while (dep->step() == SQLITE_ROW) {
    s->deprecated[static_cast<std::size_t>(dep->int_at(0))] = 1;
    ++s->deprecated_count;
  }
  return solution_library(std::move(s));
}

result<fs::path> solution_library::locate(const fs::path& path) {
  const std::string fix =
      "pass a run directory written by `colony run` with a library, or the "
      "directory of library.faiss and library.sqlite";
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) {
    return fail(errc::bad_input, path.string() + ": no such file or directory (" + fix + ")");
  }
  fs::path dir = path;
  if (!fs::is_directory(status)) {
    const auto name = path.filename().string();
    if (name == working_file) {
      const std::string what = ": the working database of a library being built, not a saved one";
      return fail(errc::bad_input, path.string() + what + " (" + fix + ")");
    }
    if (name != index_file && name != database_file) {
      return fail(errc::bad_input, path.string() + ": not a saved library (" + fix +
                                       ", or the path of either file)");
    }
    dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  }
  std::vector<std::string> missing;
  for (const auto file : {index_file, database_file}) {
    if (!fs::is_regular_file(dir / file, ec)) missing.emplace_back(file);
  }
  if (!missing.empty()) {
    const auto what = missing.size() == 2 ? missing[0] + " and no " + missing[1] : missing[0];
    return fail(errc::bad_input, dir.string() + " holds no " + what + ": " + fix);
  }
  return dir;
}

std::size_t solution_library::dimension() const noexcept {
  return s_->dimension;
}
std::size_t solution_library::size() const noexcept {
  return static_cast<std::size_t>(s_->index->ntotal);
}
std::size_t solution_library::deprecated_count() const noexcept {
  return s_->deprecated_count;
}
const std::string& solution_library::factory() const noexcept {
  return s_->factory;
}
bool solution_library::trained() const noexcept {
  return s_->untrained == nullptr;
}
bool solution_library::writable() const noexcept {
  return s_->writable;
}

result<solution_id> solution_library::add(const solution_entry& entry,
                                          std::span<const float> vector) {
  auto ids = add(std::span(&entry, 1), vector);
  if (!ids) return ids.error();
  return ids->front();
}

result<std::vector<solution_id>> solution_library::add(std::span<const solution_entry> entries,
                                                       std::span<const float> vectors) {
  auto& s = *s_;
  if (!s.writable) return s.read_only("add");
  const auto n = entries.size();
  const auto d = s.dimension;
  if (vectors.size() != n * d) {
    return fail(errc::invalid_argument, "add: " + to_string(n) + " vectors of dimension " +
                                            to_string(d) + " take " + to_string(n * d) +
                                            " floats, not " + to_string(vectors.size()));
  }
  if (n == 0) return std::vector<solution_id>{};
  std::vector<std::uint32_t> versions(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& e = entries[i];
    const auto where = "add: entry " + to_string(i) + ": ";
    const auto v = vectors.subspan(i * d, d);
    if (!std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); })) {
      return fail(errc::invalid_argument, where + "the vector has a non-finite value");
    }
    if (!std::isfinite(e.quality))
      return fail(errc::invalid_argument, where + "quality is not finite");
    std::uint32_t highest = 0;
    for (std::size_t j = 0; j < e.parents.size(); ++j) {
      const auto p = e.parents[j];
      if (auto r = s.check_id(p); !r)
        return fail(errc::invalid_argument, where + "parent: " + r.error().message);
      if (std::find(e.parents.begin(), e.parents.begin() + static_cast<std::ptrdiff_t>(j), p) !=
          e.parents.begin() + static_cast<std::ptrdiff_t>(j)) {
        return fail(
            errc::invalid_argument,
            where + "parent " + to_string(static_cast<std::uint64_t>(p)) + " is listed twice");
      }
      s.version_of.reset().bind_int(1, static_cast<std::int64_t>(p));
      if (s.version_of.step() != SQLITE_ROW)
        return s.db.failure("cannot read the version of a parent");
      highest = std::max(highest, static_cast<std::uint32_t>(s.version_of.int_at(0)));
      s.version_of.reset();
    }
    versions[i] = e.version != 0 ? e.version : highest + 1;
  }

  const auto first = s.next_id;
  if (auto r = s.db.run(s.begin.reset(), "cannot begin a transaction"); !r) return r.error();
  for (std::size_t i = 0; i < n; ++i) {
    if (auto r = s.insert(entries[i], first + static_cast<std::int64_t>(i), versions[i]); !r) {
      (void)s.db.run(s.rollback.reset(), "rollback");
      return r.error();
    }
  }
  if (auto r = s.db.run(s.commit.reset(), "cannot commit"); !r) {
    (void)s.db.run(s.rollback.reset(), "rollback");
    return r.error();
  }
  std::vector<faiss_id> ids(n);
  std::iota(ids.begin(), ids.end(), first);
  try {
    one_omp_thread single;
    s.index->add_with_ids(static_cast<faiss_id>(n), vectors.data(), ids.data());
  } catch (const std::exception& e) {
    // Undo the rows so metadata and index agree again (only memory exhaustion gets here).
    (void)s.db.exec("DELETE FROM parents WHERE child >= " + to_string(first) +
                    "; DELETE FROM tags WHERE entry >= " + to_string(first) +
                    "; DELETE FROM entries WHERE id >= " + to_string(first));
    return fail(errc::io_error,
                "add: the index refused " + to_string(n) + " vectors: " + faiss_reason(e));
  }
  s.next_id = first + static_cast<std::int64_t>(n);
  s.deprecated.resize(static_cast<std::size_t>(s.next_id), 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (entries[i].deprecated) {
      s.deprecated[static_cast<std::size_t>(ids[i])] = 1;
      ++s.deprecated_count;
    }
  }
  if (s.untrained && !s.training_failed &&
      static_cast<std::size_t>(s.index->ntotal) >= s.train_size) {
    if (auto r = s.train(); !r) {
      // The entries are stored and searchable (exactly); only the faster index is missing.
      s.training_failed = true;
      log::get("memory").error("solution library: {}; searches stay exact", r.error().message);
    }
  }
  std::vector<solution_id> out(n);
  std::transform(ids.begin(), ids.end(), out.begin(),
                 [](faiss_id id) { return solution_id{static_cast<std::uint64_t>(id)}; });
  return out;
}

result<std::vector<std::vector<solution_hit>>> solution_library::search(
    std::span<const float> queries, std::size_t k, bool include_deprecated) const {
  const auto& s = *s_;
  const auto d = s.dimension;
  if (queries.size() % d != 0) {
    return fail(errc::invalid_argument,
                "search: " + to_string(queries.size()) +
                    " floats are not a whole number of vectors of dimension " + to_string(d));
  }
  const auto n = queries.size() / d;
  std::vector<std::vector<solution_hit>> out(n);
  const auto total = static_cast<std::size_t>(s.index->ntotal);
  if (n == 0 || k == 0 || total == 0) return out;

  const std::size_t skipped = include_deprecated ? 0 : s.deprecated_count;
  std::size_t fetch = std::min(total, k + std::min(skipped, k));
  std::vector<std::size_t> todo(n);
  std::iota(todo.begin(), todo.end(), 0);
  std::vector<float> batch;
  std::vector<float> scores;
  std::vector<faiss_id> labels;
  while (!todo.empty()) {
    const float* x = queries.data();
    if (todo.size() != n) {
      batch.resize(todo.size() * d);
      for (std::size_t i = 0; i < todo.size(); ++i) {
        std::copy_n(queries.data() + todo[i] * d, d, batch.data() + i * d);
      }
      x = batch.data();
    }
    scores.resize(todo.size() * fetch);
    labels.resize(todo.size() * fetch);
    // A small batch is searched on this thread alone: FAISS would split it over queries anyway
    // (one per thread), and waking an OpenMP team for one query leaves its threads spinning,
    // which costs more than the search when the caller (a simulation) keeps the cores busy.
    std::optional<one_omp_thread> single;
    if (todo.size() < small_batch) single.emplace();
    try {
      s.index->search(static_cast<faiss_id>(todo.size()), x, static_cast<faiss_id>(fetch),
                      scores.data(), labels.data());
    } catch (const std::exception& e) {
      return fail(errc::invalid_argument, "search: " + faiss_reason(e));
    }
    std::vector<std::size_t> short_of_k;
    for (std::size_t i = 0; i < todo.size(); ++i) {
      auto& hits = out[todo[i]];
      hits.clear();
      std::size_t found = 0;
      for (std::size_t j = 0; j < fetch; ++j) {
        const auto label = labels[i * fetch + j];
        if (label < 0) continue;
        ++found;
        if (!include_deprecated && s.is_deprecated(label)) continue;
        hits.push_back({solution_id{static_cast<std::uint64_t>(label)}, scores[i * fetch + j]});
      }
      if (hits.size() < k && found == fetch && fetch < total) short_of_k.push_back(todo[i]);
    }
    todo = std::move(short_of_k);
    fetch = std::min(total, fetch * 2);
  }

  std::vector<float> stored(d);
  for (std::size_t q = 0; q < n; ++q) {
    auto& hits = out[q];
    if (s.rescore) {
      const auto query = queries.subspan(q * d, d);
      try {
        for (auto& h : hits) {
          s.index->reconstruct(static_cast<faiss_id>(h.id), stored.data());
          h.score = dot(query, stored);
        }
      } catch (const faiss::FaissException&) {
        s.rescore = false;  // this index type cannot reconstruct: FAISS's scores stand
      }
    }
    std::sort(hits.begin(), hits.end(), [](const solution_hit& a, const solution_hit& b) {
      return a.score != b.score ? a.score > b.score : a.id < b.id;
    });
    if (hits.size() > k) hits.resize(k);
  }
  return out;
}

result<solution_entry> solution_library::get(solution_id id) const {
  auto& s = *s_;
  if (auto r = s.check_id(id); !r) return r.error();
  const auto raw = static_cast<std::int64_t>(id);
  auto& g = s.get_entry;
  g.reset().bind_int(1, raw);
  const int rc = g.step();
  if (rc == SQLITE_DONE) return fail(errc::invalid_argument, "unknown solution " + to_string(raw));
  if (rc != SQLITE_ROW) return s.db.failure("cannot read solution " + to_string(raw));
  solution_entry e;
  e.id = id;
  e.problem = g.text_at(0);
  e.solution = g.text_at(1);
  e.author = g.text_at(2);
  e.version = static_cast<std::uint32_t>(g.int_at(3));
  e.created = g.int_at(4);
  e.quality = g.real_at(5);
  e.uses = static_cast<std::uint64_t>(g.int_at(6));
  e.successes = static_cast<std::uint64_t>(g.int_at(7));
  e.stars = static_cast<std::uint64_t>(g.int_at(8));
  e.deprecated = g.int_at(9) != 0;
  g.reset();
  s.get_parents.reset().bind_int(1, raw);
  while (s.get_parents.step() == SQLITE_ROW) {
    e.parents.push_back(solution_id{static_cast<std::uint64_t>(s.get_parents.int_at(0))});
  }
  s.get_tags.reset().bind_int(1, raw);
  while (s.get_tags.step() == SQLITE_ROW) e.tags.push_back(s.get_tags.text_at(0));
  return e;
}

result<solution_lineage> solution_library::lineage(solution_id id) const {
  auto& s = *s_;
  if (auto r = s.check_id(id); !r) return r.error();
  // Breadth first, so each relative is reached first by its shortest path; ids only ever point
  // to older entries, so there are no cycles.
  const auto walk = [&](sqlite::statement& next) {
    std::vector<solution_relative> out;
    std::unordered_set<std::int64_t> seen{static_cast<std::int64_t>(id)};
    std::vector<std::int64_t> frontier{static_cast<std::int64_t>(id)};
    for (int generation = 1; !frontier.empty(); ++generation) {
      std::vector<std::int64_t> following;
      for (const auto f : frontier) {
        next.reset().bind_int(1, f);
        while (next.step() == SQLITE_ROW) {
          const auto r = next.int_at(0);
          if (seen.insert(r).second) {
            following.push_back(r);
            out.push_back({solution_id{static_cast<std::uint64_t>(r)}, generation});
          }
        }
      }
      frontier = std::move(following);
    }
    std::sort(out.begin(), out.end(), [](const solution_relative& a, const solution_relative& b) {
      return a.generations != b.generations ? a.generations < b.generations : a.id < b.id;
    });
    return out;
  };
  solution_lineage l;
  l.ancestors = walk(s.get_parents);
  l.descendants = walk(s.get_children);
  return l;
}

result<std::vector<solution_entry>> solution_library::top(solution_rank by, std::size_t n,
                                                          bool include_deprecated) const {
  auto& s = *s_;
  auto& q = by == solution_rank::uses      ? s.top_uses
            : by == solution_rank::quality ? s.top_quality
                                           : s.top_stars;
  q.reset()
      .bind_int(1, static_cast<std::int64_t>(std::min<std::size_t>(n, INT64_MAX)))
      .bind_int(2, include_deprecated ? 1 : 0);
  std::vector<solution_id> ids;
  int rc = SQLITE_ROW;
  while ((rc = q.step()) == SQLITE_ROW)
    ids.push_back(solution_id{static_cast<std::uint64_t>(q.int_at(0))});
  if (rc != SQLITE_DONE) return s.db.failure("cannot rank the entries");
  std::vector<solution_entry> out;
  out.reserve(ids.size());
  for (const auto id : ids) {
    auto e = get(id);
    if (!e) return e.error();
    out.push_back(std::move(*e));
  }
  return out;
}

result<void> solution_library::record_use(solution_id id, bool success) {
  s_->use.reset().bind_int(1, static_cast<std::int64_t>(id)).bind_int(2, success ? 1 : 0);
  return s_->update(s_->use, id, "record_use");
}

result<void> solution_library::star(solution_id id) {
  s_->add_star.reset().bind_int(1, static_cast<std::int64_t>(id));
  return s_->update(s_->add_star, id, "star");
}

result<void> solution_library::set_quality(solution_id id, double quality) {
  if (!std::isfinite(quality))
    return fail(errc::invalid_argument, "set_quality: not a finite number");
  s_->quality.reset().bind_int(1, static_cast<std::int64_t>(id)).bind_real(2, quality);
  return s_->update(s_->quality, id, "set_quality");
}

result<void> solution_library::deprecate(solution_id id) {
  auto& s = *s_;
  s.deprecate.reset().bind_int(1, static_cast<std::int64_t>(id));
  if (auto r = s.update(s.deprecate, id, "deprecate"); !r) return r;
  auto& flag = s.deprecated[static_cast<std::size_t>(id)];
  if (flag == 0) {
    flag = 1;
    ++s.deprecated_count;
  }
  return {};
}

result<void> solution_library::set_parameters(std::string_view parameters) {
  auto& s = *s_;
  if (parameters.empty()) return {};
  const std::string text(parameters);
  try {
    // While vectors wait for training, searches go to a flat index that has no parameters.
    faiss::ParameterSpace().set_index_parameters(s.untrained ? s.untrained.get() : s.index.get(),
                                                 text.c_str());
  } catch (const std::exception& e) {
    return fail(errc::invalid_argument,
                "index parameters \"" + text + "\" for \"" + s.factory + "\": " + faiss_reason(e));
  }
  s.parameters = s.parameters.empty() ? text : s.parameters + "," + text;
  if (s.writable) return s.write_meta("parameters", s.parameters);
  return {};
}

result<void> solution_library::save(const fs::path& dir) const {
  auto& s = *s_;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(errc::io_error, dir.string() + ": cannot create: " + ec.message());
  const auto index_path = dir / index_file;
  const auto db_path = dir / database_file;
  auto index_tmp = index_path;
  index_tmp += ".tmp";
  auto db_tmp = db_path;
  db_tmp += ".tmp";
  try {
    faiss::write_index(s.index.get(), index_tmp.c_str());
  } catch (const std::exception& e) {
    fs::remove(index_tmp, ec);
    return fail(errc::io_error, index_path.string() + ": cannot write: " + faiss_reason(e));
  }
  fs::remove(db_tmp, ec);
  // VACUUM refuses to run while a statement is part-way through its rows.
  s.idle();
  auto vacuum = s.db.prepare("VACUUM INTO ?1");
  if (!vacuum) return vacuum.error();
  vacuum->bind_text(1, db_tmp.string());
  if (auto r = s.db.run(*vacuum, "cannot write " + db_path.string()); !r) {
    fs::remove(index_tmp, ec);
    fs::remove(db_tmp, ec);
    return r;
  }
  for (const auto& [from, to] : {std::pair{index_tmp, index_path}, std::pair{db_tmp, db_path}}) {
    fs::rename(from, to, ec);
    if (ec) return fail(errc::io_error, to.string() + ": cannot write: " + ec.message());
  }
  return {};
}

}  // namespace colony::memory
