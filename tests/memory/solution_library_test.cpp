#include "colony/memory/solution_library.hpp"

#include <gtest/gtest.h>
#include <omp.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <random>
#include <set>

#include "colony/memory/embedder.hpp"
#include "test_support.hpp"

namespace colony::memory {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed at the end.
class scratch_dir : public testing_support::scratch_dir {
 public:
  scratch_dir() : testing_support::scratch_dir("library_test") {}
};

std::vector<float> unit_vectors(std::size_t n, std::size_t d, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal;
  std::vector<float> v(n * d);
  for (std::size_t i = 0; i < n; ++i) {
    const std::span<float> row(v.data() + i * d, d);
    for (auto& x : row) x = normal(gen);
    const float norm = std::sqrt(dot(row, row));
    for (auto& x : row) x /= norm;
  }
  return v;
}

solution_entry entry(const std::string& name, std::vector<solution_id> parents = {}) {
  solution_entry e;
  e.problem = "problem " + name;
  e.solution = "solution " + name;
  e.author = "agent-" + name;
  e.parents = std::move(parents);
  e.created = 1000;
  e.quality = 0.5;
  e.tags = {"tag-" + name, "common"};
  return e;
}

// The library's entries are ids 1..n in the order of `data`'s rows.
std::vector<solution_id> add_all(solution_library& lib, const std::vector<float>& data) {
  const auto n = data.size() / lib.dimension();
  std::vector<solution_entry> entries;
  for (std::size_t i = 0; i < n; ++i) entries.push_back(entry(std::to_string(i)));
  auto ids = lib.add(entries, data);
  EXPECT_TRUE(ids) << ids.error().message;
  return ids ? *ids : std::vector<solution_id>{};
}

// Brute force over ids 1..n, skipping `skip`: what an exact search must return.
std::vector<solution_hit> nearest(const std::vector<float>& data, std::size_t d,
                                  std::span<const float> query, std::size_t k,
                                  const std::set<std::uint64_t>& skip = {}) {
  std::vector<solution_hit> all;
  for (std::size_t i = 0; i < data.size() / d; ++i) {
    if (skip.contains(i + 1)) continue;
    all.push_back({solution_id{i + 1}, dot(query, std::span(data.data() + i * d, d))});
  }
  std::sort(all.begin(), all.end(), [](const solution_hit& a, const solution_hit& b) {
    return a.score != b.score ? a.score > b.score : a.id < b.id;
  });
  all.resize(std::min(k, all.size()));
  return all;
}

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

solution_library make(std::size_t d, library_options o = {}, const fs::path& dir = {}) {
  auto lib = solution_library::create(dir, d, std::move(o));
  EXPECT_TRUE(lib) << lib.error().message;
  return std::move(*lib);
}

TEST(SolutionLibrary, SearchFindsTheNearestByInnerProductWithTheirScores) {
  const std::size_t d = 32;
  auto lib = make(d);
  const auto data = unit_vectors(300, d, 1);
  add_all(lib, data);
  ASSERT_EQ(lib.size(), 300u);
  const auto queries = unit_vectors(8, d, 2);
  const auto hits = lib.search(queries, 5);
  ASSERT_TRUE(hits) << hits.error().message;
  ASSERT_EQ(hits->size(), 8u);
  for (std::size_t q = 0; q < 8; ++q) {
    EXPECT_EQ((*hits)[q], nearest(data, d, std::span(queries).subspan(q * d, d), 5)) << q;
  }
  // A stored vector finds itself first with similarity 1.
  const auto self = lib.search(std::span(data).subspan(41 * d, d), 3);
  ASSERT_TRUE(self);
  EXPECT_EQ((*self)[0][0].id, solution_id{42});
  EXPECT_NEAR((*self)[0][0].score, 1.0f, 1e-5);
  // More than the library holds: everything, in order.
  auto small = make(d);
  add_all(small, unit_vectors(3, d, 3));
  EXPECT_EQ((*small.search(std::span(queries).first(d), 10))[0].size(), 3u);
  EXPECT_FALSE(lib.search(std::span(queries).first(d + 1), 5));  // not a whole vector
}

TEST(SolutionLibrary, BatchSearchEqualsOneQueryAtATime) {
  const std::size_t d = 64;
  auto lib = make(d);
  const auto data = unit_vectors(2000, d, 4);
  add_all(lib, data);
  // 40 queries: FAISS answers a batch this size with BLAS and a single query without.
  const auto queries = unit_vectors(40, d, 5);
  const auto batch = lib.search(queries, 7);
  ASSERT_TRUE(batch);
  for (std::size_t q = 0; q < 40; ++q) {
    const auto one = lib.search(std::span(queries).subspan(q * d, d), 7);
    ASSERT_TRUE(one);
    EXPECT_EQ((*batch)[q], (*one)[0]) << "query " << q;  // scores bit for bit
  }
}

TEST(SolutionLibrary, ExactSearchIsTheSameWithOneOrTwoThreads) {
  const std::size_t d = 64;
  auto lib = make(d);
  add_all(lib, unit_vectors(3000, d, 6));
  const auto queries = unit_vectors(64, d, 7);
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = lib.search(queries, 5);
  omp_set_num_threads(2);
  const auto two = lib.search(queries, 5);
  omp_set_num_threads(before);
  ASSERT_TRUE(one && two);
  EXPECT_EQ(*one, *two);
}

TEST(SolutionLibrary, DeprecatedEntriesAreLeftOutUnlessAskedFor) {
  const std::size_t d = 16;
  auto lib = make(d);
  const auto data = unit_vectors(100, d, 8);
  add_all(lib, data);
  const auto query = std::span(data).subspan(9 * d, d);  // entry 10's own vector
  const auto before = *lib.search(query, 5);
  ASSERT_EQ(before[0][0].id, solution_id{10});
  // Deprecate the five nearest: the next five take their place.
  std::set<std::uint64_t> gone;
  for (const auto& h : before[0]) {
    ASSERT_TRUE(lib.deprecate(h.id));
    gone.insert(static_cast<std::uint64_t>(h.id));
  }
  ASSERT_TRUE(lib.deprecate(solution_id{10}));  // again: no change
  EXPECT_EQ(lib.deprecated_count(), 5u);
  const auto after = *lib.search(query, 5);
  EXPECT_EQ(after[0], nearest(data, d, query, 5, gone));
  EXPECT_EQ((*lib.search(query, 5, true))[0], before[0]);
  EXPECT_TRUE(lib.get(solution_id{10})->deprecated);
  // Most of the library deprecated: the search widens until it finds k live entries.
  for (std::uint64_t id = 1; id <= 95; ++id) {
    ASSERT_TRUE(lib.deprecate(solution_id{id}));
    gone.insert(id);
  }
  const auto few = *lib.search(query, 4);
  EXPECT_EQ(few[0], nearest(data, d, query, 4, gone));
  ASSERT_EQ(few[0].size(), 4u);
  EXPECT_EQ((*lib.search(query, 10))[0].size(), 5u);  // only five are live
  EXPECT_FALSE(lib.deprecate(solution_id{101}));
}

TEST(SolutionLibrary, LineageOfAForkChain) {
  const std::size_t d = 8;
  auto lib = make(d);
  const auto v = unit_vectors(4, d, 9);
  const auto row = [&](std::size_t i) { return std::span(v).subspan(i * d, d); };
  const auto a = *lib.add(entry("a"), row(0));
  const auto b = *lib.add(entry("b", {a}), row(1));
  const auto c = *lib.add(entry("c", {b}), row(2));
  const auto e = *lib.add(entry("d", {c}), row(3));
  EXPECT_EQ(lib.get(a)->version, 1u);
  EXPECT_EQ(lib.get(e)->version, 4u);
  const auto l = lib.lineage(b);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->ancestors, (std::vector<solution_relative>{{a, 1}}));
  EXPECT_EQ(l->descendants, (std::vector<solution_relative>{{c, 1}, {e, 2}}));
  const auto root = *lib.lineage(a);
  EXPECT_TRUE(root.ancestors.empty());
  EXPECT_EQ(root.descendants, (std::vector<solution_relative>{{b, 1}, {c, 2}, {e, 3}}));
  EXPECT_FALSE(lib.lineage(solution_id{99}));
}

TEST(SolutionLibrary, LineageOfASynthesisWithSeveralParents) {
  const std::size_t d = 8;
  auto lib = make(d);
  const auto v = unit_vectors(6, d, 10);
  const auto row = [&](std::size_t i) { return std::span(v).subspan(i * d, d); };
  const auto a = *lib.add(entry("a"), row(0));
  const auto b = *lib.add(entry("b"), row(1));
  const auto c = *lib.add(entry("c"), row(2));
  const auto fork = *lib.add(entry("fork", {a}), row(3));
  const auto synth = *lib.add(entry("synth", {fork, b, c}), row(4));
  auto explicit_version = entry("later", {synth});
  explicit_version.version = 10;
  const auto later = *lib.add(explicit_version, row(5));
  EXPECT_EQ(lib.get(synth)->parents, (std::vector<solution_id>{fork, b, c}));  // in order
  EXPECT_EQ(lib.get(synth)->version, 3u);                                      // 1 + the fork's 2
  EXPECT_EQ(lib.get(later)->version, 10u);
  const auto l = *lib.lineage(synth);
  EXPECT_EQ(l.ancestors, (std::vector<solution_relative>{{b, 1}, {c, 1}, {fork, 1}, {a, 2}}));
  EXPECT_EQ(l.descendants, (std::vector<solution_relative>{{later, 1}}));
  EXPECT_EQ(lib.lineage(a)->descendants,
            (std::vector<solution_relative>{{fork, 1}, {synth, 2}, {later, 3}}));
  // A diamond: the shortest way counts, and each relative appears once.
  const auto top = *lib.add(entry("top", {synth, fork}), row(0));
  EXPECT_EQ(lib.lineage(top)->ancestors,
            (std::vector<solution_relative>{{fork, 1}, {synth, 1}, {a, 2}, {b, 2}, {c, 2}}));
}

TEST(SolutionLibrary, RejectsBadAddsAndStoresNothingOfAFailedBatch) {
  const std::size_t d = 8;
  auto lib = make(d);
  const auto v = unit_vectors(3, d, 11);
  const auto a = *lib.add(entry("a"), std::span(v).first(d));
  EXPECT_FALSE(lib.add(entry("b", {solution_id{7}}), std::span(v).first(d)));  // unknown parent
  EXPECT_FALSE(lib.add(entry("b", {a, a}), std::span(v).first(d)));            // repeated
  EXPECT_FALSE(lib.add(entry("b"), std::span(v).first(d - 1)));                // short vector
  auto nan = v;
  nan[3] = std::nanf("");
  EXPECT_FALSE(lib.add(entry("b"), std::span(nan).first(d)));
  const std::vector<solution_entry> batch{entry("ok"), entry("bad", {solution_id{9}})};
  const auto r = lib.add(batch, std::span(v).first(2 * d));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_NE(r.error().message.find("unknown solution 9"), std::string::npos) << r.error().message;
  EXPECT_EQ(lib.size(), 1u);
  EXPECT_FALSE(lib.get(solution_id{2}));
  // Ids stay consecutive after the failures.
  EXPECT_EQ(*lib.add(entry("c", {a}), std::span(v).subspan(d, d)), solution_id{2});
}

TEST(SolutionLibrary, RecordUseCountsUsesAndSuccesses) {
  const std::size_t d = 8;
  auto lib = make(d);
  add_all(lib, unit_vectors(2, d, 12));
  ASSERT_TRUE(lib.record_use(solution_id{2}, true));
  ASSERT_TRUE(lib.record_use(solution_id{2}, false));
  ASSERT_TRUE(lib.record_use(solution_id{2}, true));
  ASSERT_TRUE(lib.star(solution_id{1}));
  ASSERT_TRUE(lib.set_quality(solution_id{1}, 0.875));
  const auto e = *lib.get(solution_id{2});
  EXPECT_EQ(e.uses, 3u);
  EXPECT_EQ(e.successes, 2u);
  EXPECT_EQ(lib.get(solution_id{1})->uses, 0u);
  EXPECT_EQ(lib.get(solution_id{1})->stars, 1u);
  EXPECT_EQ(lib.get(solution_id{1})->quality, 0.875);
  EXPECT_FALSE(lib.record_use(solution_id{3}, true));
  EXPECT_FALSE(lib.set_quality(solution_id{1}, NAN));
}

TEST(SolutionLibrary, TopRanksByUsesQualityAndStarsWithTiesToTheOlder) {
  const std::size_t d = 8;
  auto lib = make(d);
  const auto v = unit_vectors(5, d, 13);
  std::vector<solution_entry> entries;
  const double quality[] = {0.2, 0.9, 0.9, 0.5, 0.95};
  const std::uint64_t uses[] = {4, 1, 7, 7, 0};
  const std::uint64_t stars[] = {0, 3, 1, 0, 2};
  for (std::size_t i = 0; i < 5; ++i) {
    auto e = entry(std::to_string(i));
    e.quality = quality[i];
    e.uses = uses[i];
    e.stars = stars[i];
    entries.push_back(e);
  }
  ASSERT_TRUE(lib.add(entries, v));
  const auto ids = [](const std::vector<solution_entry>& es) {
    std::vector<std::uint64_t> out;
    for (const auto& e : es) out.push_back(static_cast<std::uint64_t>(e.id));
    return out;
  };
  EXPECT_EQ(ids(*lib.top(solution_rank::uses, 3)), (std::vector<std::uint64_t>{3, 4, 1}));
  EXPECT_EQ(ids(*lib.top(solution_rank::quality, 5)), (std::vector<std::uint64_t>{5, 2, 3, 4, 1}));
  EXPECT_EQ(ids(*lib.top(solution_rank::stars, 2)), (std::vector<std::uint64_t>{2, 5}));
  ASSERT_TRUE(lib.deprecate(solution_id{3}));
  EXPECT_EQ(ids(*lib.top(solution_rank::uses, 2)), (std::vector<std::uint64_t>{4, 1}));
  EXPECT_EQ(ids(*lib.top(solution_rank::uses, 2, true)), (std::vector<std::uint64_t>{3, 4}));
  EXPECT_EQ(lib.top(solution_rank::uses, 1)->front(), *lib.get(solution_id{4}));  // whole entries
}

// A library with lineage, tags, uses, stars and a deprecated entry.
solution_library populated(std::size_t d, const std::vector<float>& data, const fs::path& dir = {},
                           library_options o = {}) {
  auto lib = make(d, std::move(o), dir);
  add_all(lib, std::vector<float>(data.begin(), data.end() - static_cast<std::ptrdiff_t>(2 * d)));
  return lib;
}

void grow(solution_library& lib, const std::vector<float>& data) {
  const auto d = lib.dimension();
  const auto n = data.size() / d;
  auto fork = entry("fork", {solution_id{1}});
  fork.tags = {"x", "y", "x"};
  EXPECT_TRUE(lib.add(fork, std::span(data).subspan((n - 2) * d, d)));
  EXPECT_TRUE(lib.add(entry("synth", {solution_id{2}, solution_id{3}, solution_id{n - 1}}),
                      std::span(data).subspan((n - 1) * d, d)));
  EXPECT_TRUE(lib.record_use(solution_id{1}, true));
  EXPECT_TRUE(lib.record_use(solution_id{1}, false));
  EXPECT_TRUE(lib.star(solution_id{n}));
  EXPECT_TRUE(lib.set_quality(solution_id{2}, 0.75));
  EXPECT_TRUE(lib.deprecate(solution_id{4}));
}

TEST(SolutionLibrary, SaveAndOpenRoundTripKeepsSearchesAndMetadata) {
  const scratch_dir dir;
  const std::size_t d = 32;
  const auto data = unit_vectors(200, d, 14);
  auto lib = make(d, {}, dir / "work");
  add_all(lib, std::vector<float>(data.begin(), data.end() - static_cast<std::ptrdiff_t>(2 * d)));
  grow(lib, data);
  ASSERT_OK(lib.save(dir / "saved"));
  EXPECT_TRUE(fs::exists(dir / "saved" / "library.faiss"));
  EXPECT_TRUE(fs::exists(dir / "saved" / "library.sqlite"));

  auto opened = solution_library::open(dir / "saved");
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_FALSE(opened->writable());
  EXPECT_EQ(opened->size(), lib.size());
  EXPECT_EQ(opened->dimension(), d);
  EXPECT_EQ(opened->deprecated_count(), 1u);
  const auto queries = unit_vectors(30, d, 15);
  EXPECT_EQ(*opened->search(queries, 6), *lib.search(queries, 6));
  EXPECT_EQ(*opened->search(queries, 6, true), *lib.search(queries, 6, true));
  for (std::uint64_t id = 1; id <= lib.size(); ++id) {
    EXPECT_EQ(*opened->get(solution_id{id}), *lib.get(solution_id{id})) << id;
  }
  EXPECT_EQ(opened->get(solution_id{199})->tags, (std::vector<std::string>{"x", "y", "x"}));
  EXPECT_EQ(opened->lineage(solution_id{1})->descendants, lib.lineage(solution_id{1})->descendants);
  EXPECT_EQ(*opened->top(solution_rank::uses, 3), *lib.top(solution_rank::uses, 3));
  // Read-only: changes are refused.
  const auto refused = opened->record_use(solution_id{1}, true);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("read-only"), std::string::npos);
  EXPECT_FALSE(opened->add(entry("new"), std::span(data).first(d)));

  // Writable, in memory: it grows on from where the saved one ended.
  auto copy = solution_library::open(dir / "saved", {.writable = true});
  ASSERT_TRUE(copy) << copy.error().message;
  EXPECT_EQ(*copy->add(entry("next"), std::span(data).first(d)), solution_id{201});
  EXPECT_TRUE(copy->record_use(solution_id{1}, true));
  EXPECT_EQ(copy->get(solution_id{1})->uses, 3u);
  EXPECT_EQ(opened->get(solution_id{1})->uses, 2u);
}

TEST(SolutionLibrary, SameAddsGiveIdenticalSearchesAndIdenticalSavedFiles) {
  const scratch_dir dir;
  const std::size_t d = 16;
  const auto data = unit_vectors(500, d, 16);
  const auto queries = unit_vectors(50, d, 17);
  for (const std::string factory : {"Flat", "HNSW16"}) {
    // One in memory, one with a working database on disk: the same saved bytes.
    auto a = make(d, {.factory = factory});
    auto b = make(d, {.factory = factory}, dir / (factory + "-work"));
    for (auto* lib : {&a, &b}) {
      add_all(*lib,
              std::vector<float>(data.begin(), data.end() - static_cast<std::ptrdiff_t>(2 * d)));
      grow(*lib, data);
    }
    EXPECT_EQ(*a.search(queries, 5), *b.search(queries, 5)) << factory;
    ASSERT_OK(a.save(dir / (factory + "-a")));
    ASSERT_OK(b.save(dir / (factory + "-b")));
    for (const auto* file : {"library.faiss", "library.sqlite"}) {
      const auto x = bytes_of(dir / (factory + "-a") / file);
      EXPECT_FALSE(x.empty());
      EXPECT_TRUE(x == bytes_of(dir / (factory + "-b") / file)) << factory << " " << file;
    }
  }
}

// The state of every file in a directory: name, bytes, modification time.
std::vector<std::tuple<std::string, std::string, fs::file_time_type>> snapshot(const fs::path& p) {
  std::vector<std::tuple<std::string, std::string, fs::file_time_type>> out;
  for (const auto& f : fs::directory_iterator(p)) {
    out.emplace_back(f.path().filename().string(), bytes_of(f.path()),
                     fs::last_write_time(f.path()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SolutionLibrary, OpeningNeverModifiesTheSavedFiles) {
  const scratch_dir dir;
  const std::size_t d = 16;
  const auto data = unit_vectors(60, d, 18);
  {
    auto lib = populated(d, data);
    grow(lib, data);
    ASSERT_OK(lib.save(dir / "saved"));
  }
  const auto before = snapshot(dir / "saved");
  ASSERT_EQ(before.size(), 2u);
  {
    auto ro = solution_library::open(dir / "saved");
    ASSERT_TRUE(ro);
    ASSERT_TRUE(ro->search(std::span(data).first(d), 5));
    ASSERT_TRUE(ro->top(solution_rank::uses, 5));
    ASSERT_TRUE(ro->set_parameters(""));
    EXPECT_EQ(snapshot(dir / "saved"), before);  // no -wal or -shm beside it either
    ASSERT_TRUE(ro->save(dir / "elsewhere"));
  }
  {
    auto rw =
        solution_library::open(dir / "saved", {.writable = true, .working_dir = dir / "work"});
    ASSERT_TRUE(rw) << rw.error().message;
    EXPECT_TRUE(fs::exists(dir / "work" / "library.working.sqlite"));
    ASSERT_TRUE(rw->add(entry("new"), std::span(data).first(d)));
    ASSERT_TRUE(rw->record_use(solution_id{1}, true));
    ASSERT_TRUE(rw->deprecate(solution_id{2}));
    ASSERT_TRUE(rw->save(dir / "grown"));
    EXPECT_EQ(rw->size(), 61u);
  }
  EXPECT_EQ(snapshot(dir / "saved"), before);
  // The working copy exists now, so a second writable open there is refused, not overwritten.
  EXPECT_FALSE(
      solution_library::open(dir / "saved", {.writable = true, .working_dir = dir / "work"}));
  EXPECT_EQ(solution_library::open(dir / "grown")->size(), 61u);
}

// Opens `dir`, expects a failure, and returns its message.
std::string open_error(const fs::path& dir) {
  auto lib = solution_library::open(dir);
  EXPECT_FALSE(lib) << dir;
  return lib ? std::string() : lib.error().message;
}

void save_library(const fs::path& dir, std::size_t d, std::size_t n, unsigned seed) {
  auto lib = make(d);
  add_all(lib, unit_vectors(n, d, seed));
  ASSERT_OK(lib.save(dir));
}

void run_sql(const fs::path& db, const std::string& sql) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(raw);
  sqlite3_close(raw);
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(SolutionLibrary, OpenNamesTheFileAndTheFaultOfACorruptLibrary) {
  const scratch_dir dir;
  const auto copy_good = [&](const std::string& name) {
    fs::copy(dir / "good", dir / name, fs::copy_options::recursive);
    return dir / name;
  };
  save_library(dir / "good", 256, 20, 19);
  ASSERT_TRUE(solution_library::open(dir / "good"));

  const auto garbage_index = copy_good("garbage_index");
  std::ofstream(garbage_index / "library.faiss") << "this is not an index, only some text\n";
  auto m = open_error(garbage_index);
  EXPECT_TRUE(has(m, (garbage_index / "library.faiss").string()) &&
              has(m, "not a readable FAISS index"))
      << m;

  const auto garbage_db = copy_good("garbage_db");
  std::ofstream(garbage_db / "library.sqlite") << std::string(4096, 'x');
  m = open_error(garbage_db);
  EXPECT_TRUE(has(m, (garbage_db / "library.sqlite").string()) && has(m, "not a SQLite database"))
      << m;

  const auto empty_db = copy_good("empty_db");
  std::ofstream(empty_db / "library.sqlite", std::ios::trunc).flush();
  m = open_error(empty_db);
  EXPECT_TRUE(has(m, "library.sqlite") && has(m, "not a Colony solution library")) << m;

  const auto version = copy_good("version");
  run_sql(version / "library.sqlite", "PRAGMA user_version = 7");
  m = open_error(version);
  EXPECT_TRUE(has(m, "library.sqlite") && has(m, "schema version 7")) << m;

  // A 128-dimensional index beside a database that records 256.
  save_library(dir / "small", 128, 20, 20);
  const auto mismatch = copy_good("mismatch");
  fs::copy_file(dir / "small" / "library.faiss", mismatch / "library.faiss",
                fs::copy_options::overwrite_existing);
  m = open_error(mismatch);
  EXPECT_TRUE(has(m, "library.faiss") && has(m, "dimension 128") && has(m, "records dimension 256"))
      << m;

  const auto no_entry = copy_good("no_entry");
  run_sql(no_entry / "library.sqlite", "DELETE FROM entries WHERE id = 7");
  m = open_error(no_entry);
  EXPECT_TRUE(has(m, "library.faiss") && has(m, "vector id 7 has no entry")) << m;

  // The other way round: an index of 19 vectors beside 20 entries.
  save_library(dir / "fewer", 256, 19, 21);
  const auto no_vector = copy_good("no_vector");
  fs::copy_file(dir / "fewer" / "library.faiss", no_vector / "library.faiss",
                fs::copy_options::overwrite_existing);
  m = open_error(no_vector);
  EXPECT_TRUE(has(m, "library.sqlite") && has(m, "entry 20 has no vector")) << m;

  const auto missing = copy_good("missing");
  fs::remove(missing / "library.faiss");
  m = open_error(missing);
  EXPECT_TRUE(has(m, (missing / "library.faiss").string()) && has(m, "missing")) << m;
  m = open_error(dir / "nowhere");
  EXPECT_TRUE(has(m, "nowhere") && has(m, "no such directory")) << m;
}

TEST(SolutionLibrary, CreateRejectsBadOptions) {
  const scratch_dir dir;
  EXPECT_FALSE(solution_library::create({}, 0));
  const auto bad = solution_library::create({}, 16, {.factory = "Nonsense42"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::invalid_argument);
  EXPECT_TRUE(has(bad.error().message, "Nonsense42")) << bad.error().message;
  EXPECT_FALSE(solution_library::create({}, 16, {.factory = "IDMap,Flat"}));
  EXPECT_FALSE(solution_library::create({}, 16, {.factory = "Flat", .parameters = "efSearch=64"}));
  EXPECT_TRUE(solution_library::create({}, 16, {.factory = "HNSW8", .parameters = "efSearch=64"}));
  ASSERT_TRUE(solution_library::create(dir / "w", 16));
  EXPECT_FALSE(solution_library::create(dir / "w", 16));  // its working database exists
}

TEST(SolutionLibrary, HnswRecallAtFiveAgainstExactIsHigh) {
  const std::size_t d = 256;  // uniform on the sphere: HNSW's hardest case
  const auto data = unit_vectors(2000, d, 22);
  const auto queries = unit_vectors(100, d, 23);
  auto exact = make(d);
  auto hnsw = make(d, {.factory = "HNSW32", .parameters = "efSearch=64"});
  add_all(exact, data);
  add_all(hnsw, data);
  const auto truth = *exact.search(queries, 5);
  const auto found = *hnsw.search(queries, 5);
  std::size_t agree = 0;
  for (std::size_t q = 0; q < truth.size(); ++q) {
    for (const auto& h : found[q]) {
      agree += std::count_if(truth[q].begin(), truth[q].end(),
                             [&](const solution_hit& t) { return t.id == h.id; });
    }
  }
  const double recall = static_cast<double>(agree) / (5.0 * truth.size());
  EXPECT_GE(recall, 0.9);
  // Built on one thread, the graph depends only on the adds: a second build answers the same.
  auto again = make(d, {.factory = "HNSW32", .parameters = "efSearch=64"});
  add_all(again, data);
  EXPECT_EQ(*again.search(queries, 5), found);
}

TEST(SolutionLibrary, IvfTrainsOnceEnoughVectorsArriveAndSearchesExactlyUntilThen) {
  const scratch_dir dir;
  const std::size_t d = 16;
  const auto data = unit_vectors(500, d, 24);
  const auto queries = unit_vectors(20, d, 25);
  const library_options ivf{.factory = "IVF8,Flat", .parameters = "nprobe=8", .train_size = 400};
  auto lib = make(d, ivf);
  const std::vector<float> first(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(300 * d));
  add_all(lib, first);
  EXPECT_FALSE(lib.trained());
  const auto early = *lib.search(queries, 5);
  for (std::size_t q = 0; q < 20; ++q) {
    EXPECT_EQ(early[q], nearest(first, d, std::span(queries).subspan(q * d, d), 5));
  }
  // Saved and reopened while waiting: it goes on collecting, then trains.
  ASSERT_OK(lib.save(dir / "waiting"));
  auto reopened = solution_library::open(dir / "waiting", {.writable = true});
  ASSERT_TRUE(reopened) << reopened.error().message;
  EXPECT_FALSE(reopened->trained());
  for (auto* l : {&lib, &*reopened}) {
    std::vector<solution_entry> rest;
    for (std::size_t i = 300; i < 500; ++i) rest.push_back(entry(std::to_string(i)));
    ASSERT_TRUE(l->add(rest, std::span(data).subspan(300 * d)));
    EXPECT_TRUE(l->trained());
    EXPECT_EQ(l->size(), 500u);
  }
  // nprobe = nlist: every list is searched, so the answers are exact.
  const auto late = *lib.search(queries, 5);
  for (std::size_t q = 0; q < 20; ++q) {
    EXPECT_EQ(late[q], nearest(data, d, std::span(queries).subspan(q * d, d), 5));
  }
  EXPECT_EQ(*reopened->search(queries, 5), late);
  ASSERT_OK(lib.save(dir / "trained"));
  auto trained = solution_library::open(dir / "trained");
  ASSERT_TRUE(trained) << trained.error().message;
  EXPECT_TRUE(trained->trained());
  EXPECT_EQ(*trained->search(queries, 5), late);
}

// A saved library of one entry in `dir`.
void save_one(const fs::path& dir) {
  auto lib = make(8);
  add_all(lib, unit_vectors(1, 8, 26));
  ASSERT_OK(lib.save(dir));
}

TEST(SolutionLibrary, LocateFindsTheLibraryFromItsDirectoryOrEitherFile) {
  const scratch_dir dir;
  const auto run = dir / "run";
  save_one(run);
  for (const auto& given : {run, run / "library.faiss", run / "library.sqlite"}) {
    const auto found = solution_library::locate(given);
    ASSERT_TRUE(found) << given << ": " << found.error().message;
    EXPECT_EQ(*found, run) << given;
    EXPECT_TRUE(solution_library::open(*found)) << given;
  }
  // A bare file name is in the current directory.
  const auto before = fs::current_path();
  fs::current_path(run);
  const auto here = solution_library::locate("library.faiss");
  fs::current_path(before);
  ASSERT_TRUE(here) << here.error().message;
  EXPECT_EQ(*here, fs::path("."));
}

TEST(SolutionLibrary, LocateNamesThePathAndWhatIsMissing) {
  const scratch_dir dir;
  const auto message = [](const fs::path& p) {
    const auto found = solution_library::locate(p);
    EXPECT_FALSE(found) << p << " was located";
    if (found) return std::string();
    EXPECT_EQ(found.error().code, errc::bad_input) << p;
    return found.error().message;
  };
  const std::string fix =
      "pass a run directory written by `colony run` with a library, or the directory of "
      "library.faiss and library.sqlite";

  EXPECT_EQ(message(dir / "nowhere"),
            (dir / "nowhere").string() + ": no such file or directory (" + fix + ")");

  fs::create_directories(dir / "empty");
  EXPECT_EQ(message(dir / "empty"),
            (dir / "empty").string() + " holds no library.faiss and no library.sqlite: " + fix);

  save_one(dir / "half");
  fs::remove(dir / "half" / "library.faiss");
  EXPECT_EQ(message(dir / "half"), (dir / "half").string() + " holds no library.faiss: " + fix);
  // Given the file that is there, the one that is not is named.
  EXPECT_EQ(message(dir / "half" / "library.sqlite"),
            (dir / "half").string() + " holds no library.faiss: " + fix);

  save_one(dir / "other_half");
  fs::remove(dir / "other_half" / "library.sqlite");
  EXPECT_EQ(message(dir / "other_half" / "library.faiss"),
            (dir / "other_half").string() + " holds no library.sqlite: " + fix);

  std::ofstream(dir / "notes.txt") << "not a library\n";
  EXPECT_NE(message(dir / "notes.txt").find((dir / "notes.txt").string() + ": not a saved library"),
            std::string::npos);

  // The working database of a library being built is not a saved library.
  auto building = make(8, {}, dir / "building");
  EXPECT_NE(message(dir / "building" / "library.working.sqlite")
                .find("the working database of a library being built"),
            std::string::npos);
}

}  // namespace
}  // namespace colony::memory
