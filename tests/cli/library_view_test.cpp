// `colony library` on a small saved library: a fork, a synthesis, a fork of the synthesis and a
// deprecated near-twin, so that search, lineage and the rankings each have something to show.
#include "library_view.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <vector>

#include "cli_test_support.hpp"
#include "colony/memory/embedder.hpp"

namespace colony::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using colony::testing::colony;
using colony::testing::num;
using colony::testing::scratch;
using colony::testing::u64;
using memory::solution_entry;
using memory::solution_id;
using memory::solution_rank;

// Not the embedder's default: the CLI must embed queries with the library's dimension.
constexpr std::size_t dimension = 64;

const std::string sort_ascending = "sort a list of integers in ascending order";
const std::string sort_solution = "def sort(xs):\n    return sorted(xs)";
// Longer than a row shows (80 characters).
const std::string parse_date =
    "parse a date in ISO 8601 format, with or without a time zone offset, and return the number "
    "of seconds since the epoch";

solution_entry entry(std::string problem, std::string solution, std::vector<solution_id> parents,
                     double quality, std::uint64_t uses, std::uint64_t stars) {
  solution_entry e;
  e.problem = std::move(problem);
  e.solution = std::move(solution);
  e.author = "specialist";
  e.parents = std::move(parents);
  e.quality = quality;
  e.uses = uses;
  e.successes = uses / 2;
  e.stars = stars;
  e.tags = {"test"};
  return e;
}

// Saves the library into a fresh directory and returns it:
//   1 sort ascending            v1  quality 0.70  uses 12  stars 1
//   2 sort descending (fork 1)  v2  quality 0.90  uses  3  stars 5
//   3 parse a date              v1  quality 0.60  uses  7  stars 2
//   4 sort records (2 + 3)      v3  quality 0.95  uses  1  stars 0
//   5 sort ascending quickly    v2  deprecated, fork of 1, best at everything
//   6 sort log records (fork 4) v4  quality 0.50  uses  0  stars 0
fs::path saved_library(const std::string& tag) {
  const auto dir = scratch("library-" + tag);
  auto lib = memory::solution_library::create({}, dimension);
  EXPECT_TRUE(lib) << lib.error().message;
  const memory::hashing_embedder embedder(memory::hashing_options{.dimension = dimension});
  auto deprecated =
      entry("sort a list of integers in ascending order quickly",
            "def sort(xs):\n    xs.sort()\n    return xs", {solution_id{1}}, 1.0, 50, 9);
  deprecated.deprecated = true;
  const std::vector<solution_entry> entries{
      entry(sort_ascending, sort_solution, {}, 0.7, 12, 1),
      entry("sort a list of integers in descending order",
            "def sort(xs):\n    return sorted(xs, reverse=True)", {solution_id{1}}, 0.9, 3, 5),
      entry(parse_date, "datetime.fromisoformat(text).timestamp()", {}, 0.6, 7, 2),
      entry("sort records by their ISO 8601 dates", "records.sort(key=parse_date)",
            {solution_id{2}, solution_id{3}}, 0.95, 1, 0),
      deprecated,
      entry("sort log records by ISO 8601 timestamps", "logs.sort(key=parse_date)",
            {solution_id{4}}, 0.5, 0, 0)};
  for (const auto& e : entries) {
    const auto added = lib->add(e, embedder.embed(e.problem));
    EXPECT_TRUE(added) << added.error().message;
  }
  const auto saved = lib->save(dir);
  EXPECT_TRUE(saved) << saved.error().message;
  return dir;
}

// The saved library of one test, removed at its end.
class LibraryView : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = saved_library(::testing::UnitTest::GetInstance()->current_test_info()->name());
    auto opened = open_library(dir_);
    ASSERT_TRUE(opened) << opened.error().message;
    opened_ = std::make_unique<opened_library>(std::move(*opened));
  }
  void TearDown() override {
    opened_.reset();
    fs::remove_all(dir_);
  }
  const memory::solution_library& lib() const { return opened_->library; }

  fs::path dir_;
  std::unique_ptr<opened_library> opened_;
};

std::vector<std::uint64_t> ids(const std::vector<library_hit>& hits) {
  std::vector<std::uint64_t> out;
  for (const auto& h : hits) out.push_back(static_cast<std::uint64_t>(h.entry.id));
  return out;
}
std::vector<std::uint64_t> ids(const std::vector<solution_entry>& entries) {
  std::vector<std::uint64_t> out;
  for (const auto& e : entries) out.push_back(static_cast<std::uint64_t>(e.id));
  return out;
}
std::vector<std::pair<int, std::uint64_t>> generations(const std::vector<library_relative>& rs) {
  std::vector<std::pair<int, std::uint64_t>> out;
  for (const auto& r : rs) out.emplace_back(r.generations, static_cast<std::uint64_t>(r.entry.id));
  return out;
}

TEST_F(LibraryView, OpensTheLibraryFromItsDirectoryOrEitherFile) {
  for (const auto& given : {dir_, dir_ / "library.faiss", dir_ / "library.sqlite"}) {
    auto opened = open_library(given);
    ASSERT_TRUE(opened) << given << ": " << opened.error().message;
    EXPECT_EQ(opened->dir, dir_);
    EXPECT_EQ(opened->library.size(), 6u);
  }
  std::ostringstream out;
  print_library_info(*opened_, out);
  EXPECT_EQ(out.str(), "library " + dir_.string() +
                           "\n"
                           "  entries     6\n"
                           "  deprecated  1\n"
                           "  dimension   64\n"
                           "  factory     Flat\n"
                           "  index       " +
                           (dir_ / "library.faiss").string() +
                           "\n"
                           "  database    " +
                           (dir_ / "library.sqlite").string() + "\n");
  const auto info = library_info_json(*opened_);
  EXPECT_EQ(u64(info, "entries"), 6u);
  EXPECT_EQ(u64(info, "deprecated"), 1u);
  EXPECT_EQ(u64(info, "dimension"), dimension);
}

TEST_F(LibraryView, SearchFindsTheExactProblemFirstAndLeavesOutDeprecatedEntries) {
  const auto hits = search_library(lib(), sort_ascending, 5, false);
  ASSERT_TRUE(hits) << hits.error().message;
  ASSERT_EQ(hits->size(), 5u);
  EXPECT_EQ(hits->front().entry.id, solution_id{1});
  EXPECT_EQ(hits->front().rank, 1u);
  EXPECT_NEAR(hits->front().similarity, 1.0f, 1e-5);
  const auto found = ids(*hits);
  EXPECT_EQ(std::count(found.begin(), found.end(), 5u), 0);
  for (std::size_t i = 1; i < hits->size(); ++i) {
    EXPECT_EQ((*hits)[i].rank, i + 1);
    EXPECT_LE((*hits)[i].similarity, (*hits)[i - 1].similarity);
  }

  const auto all = search_library(lib(), sort_ascending, 2, true);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(ids(*all), (std::vector<std::uint64_t>{1, 5}));

  std::ostringstream out;
  print_hits(sort_ascending, *all, out);
  const auto text = out.str();
  EXPECT_EQ(text.rfind("2 hits for \"" + sort_ascending + "\"\n", 0), 0u) << text;
  // The exact hit's line, aligned with the deprecated one's, then its solution in full.
  EXPECT_NE(
      text.find("     1       1.000   1        1    0.700    12          6      1              "
                "-        test  " +
                sort_ascending + "\n    def sort(xs):\n        return sorted(xs)\n\n"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("  deprecated  1        test  " + sort_ascending +
                      " quickly\n"
                      "    def sort(xs):\n        xs.sort()\n        return xs\n"),
            std::string::npos)
      << text;

  const auto doc = json::parse(json::serialize(hits_json(sort_ascending, *all))).as_object();
  EXPECT_EQ(doc.at("query").as_string(), sort_ascending);
  const auto& first = doc.at("hits").as_array().at(0).as_object();
  EXPECT_EQ(u64(first, "rank"), 1u);
  EXPECT_EQ(u64(first, "id"), 1u);
  EXPECT_EQ(num(first, "similarity"), 1.0);
  EXPECT_EQ(first.at("solution").as_string(), sort_solution);
  EXPECT_TRUE(doc.at("hits").as_array().at(1).as_object().at("deprecated").as_bool());
}

TEST_F(LibraryView, SearchShowsLongProblemsInFullOnlyInJson) {
  const auto hits = search_library(lib(), "parse a date", 1, false);
  ASSERT_TRUE(hits) << hits.error().message;
  ASSERT_EQ(ids(*hits), std::vector<std::uint64_t>{3});
  std::ostringstream out;
  print_hits("parse a date", *hits, out);
  EXPECT_NE(out.str().find(parse_date.substr(0, 70)), std::string::npos);
  EXPECT_EQ(out.str().find(parse_date), std::string::npos);
  EXPECT_NE(out.str().find("...\n    datetime.fromisoformat(text).timestamp()\n"),
            std::string::npos)
      << out.str();
  const auto doc = hits_json("parse a date", *hits);
  EXPECT_EQ(doc.at("hits").as_array().at(0).as_object().at("problem").as_string(), parse_date);
}

TEST_F(LibraryView, SearchRejectsAZeroKAndAnEmptyQuery) {
  const auto zero = search_library(lib(), sort_ascending, 0, false);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, errc::bad_input);
  EXPECT_EQ(zero.error().message, "-k 0: error: must be at least 1");
  const auto empty = search_library(lib(), "  ", 5, false);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, errc::bad_input);
}

TEST_F(LibraryView, LineageListsAncestorsAndDescendantsWithTheirGenerations) {
  using rows = std::vector<std::pair<int, std::uint64_t>>;
  const auto synthesis = library_lineage(lib(), solution_id{4});
  ASSERT_TRUE(synthesis) << synthesis.error().message;
  EXPECT_EQ(synthesis->entry.id, solution_id{4});
  EXPECT_EQ(synthesis->entry.version, 3u);
  EXPECT_EQ(generations(synthesis->ancestors), (rows{{1, 2}, {1, 3}, {2, 1}}));
  EXPECT_EQ(generations(synthesis->descendants), (rows{{1, 6}}));

  const auto root = library_lineage(lib(), solution_id{1});
  ASSERT_TRUE(root) << root.error().message;
  EXPECT_TRUE(root->ancestors.empty());
  EXPECT_EQ(generations(root->descendants), (rows{{1, 2}, {1, 5}, {2, 4}, {3, 6}}));

  std::ostringstream out;
  print_family(*root, out);
  const auto text = out.str();
  EXPECT_EQ(text.rfind("solution 1 by specialist, created at 0d 00:00:00.000\n", 0), 0u) << text;
  EXPECT_NE(text.find("\n    def sort(xs):\n        return sorted(xs)\n"), std::string::npos);
  EXPECT_NE(text.find("\nancestors\n  (none)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ndescendants\n"
                      "  generations  id  version  quality              problem\n"
                      "            1   2        2    0.900              sort a list of integers "
                      "in descending order\n"
                      "            1   5        2    1.000  deprecated  " +
                      sort_ascending + " quickly\n"),
            std::string::npos)
      << text;

  const auto doc = family_json(*synthesis);
  EXPECT_EQ(u64(doc.at("entry").as_object(), "id"), 4u);
  EXPECT_EQ(doc.at("entry").as_object().at("parents"), (json::array{2, 3}));
  const auto& grandparent = doc.at("ancestors").as_array().at(2).as_object();
  EXPECT_EQ(grandparent.at("generations").as_int64(), 2);
  EXPECT_EQ(u64(grandparent, "id"), 1u);
  EXPECT_EQ(grandparent.at("problem").as_string(), sort_ascending);
}

TEST_F(LibraryView, LineageOfAnUnknownIdNamesItAndTheSizeOfTheLibrary) {
  for (const std::uint64_t id : {0u, 7u, 99u}) {
    const auto l = library_lineage(lib(), solution_id{id});
    ASSERT_FALSE(l) << id;
    EXPECT_EQ(l.error().code, errc::bad_input);
    EXPECT_EQ(l.error().message, "solution " + std::to_string(id) +
                                     ": error: no such entry (the library has 6 entries)");
  }
}

TEST_F(LibraryView, TopRanksByUsesQualityAndStars) {
  using list = std::vector<std::uint64_t>;
  const auto top = [&](solution_rank by, std::size_t n, bool all) {
    auto r = library_top(lib(), by, n, all);
    EXPECT_TRUE(r) << r.error().message;
    return r ? ids(*r) : list{};
  };
  EXPECT_EQ(top(solution_rank::uses, 10, false), (list{1, 3, 2, 4, 6}));
  EXPECT_EQ(top(solution_rank::uses, 10, true), (list{5, 1, 3, 2, 4, 6}));
  EXPECT_EQ(top(solution_rank::quality, 3, false), (list{4, 2, 1}));
  EXPECT_EQ(top(solution_rank::stars, 10, false), (list{2, 3, 1, 4, 6}));  // 4 and 6: older first
  EXPECT_EQ(top(solution_rank::stars, 1, true), (list{5}));

  const auto zero = library_top(lib(), solution_rank::uses, 0, false);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().message, "-n 0: error: must be at least 1");

  const auto entries = library_top(lib(), solution_rank::uses, 2, false);
  ASSERT_TRUE(entries);
  std::ostringstream out;
  print_top(solution_rank::uses, *entries, out);
  EXPECT_EQ(out.str(),
            "top 2 by uses\n"
            "  rank  id  version  quality  uses  successes  stars  problem\n"
            "     1   1        1    0.700    12          6      1  " +
                sort_ascending +
                "\n"
                "     2   3        1    0.600     7          3      2  " +
                parse_date.substr(0, 79) + "...\n");
  const auto doc = top_json(solution_rank::uses, *entries);
  EXPECT_EQ(doc.at("by").as_string(), "uses");
  EXPECT_EQ(doc.at("entries").as_array().at(1).as_object().at("problem").as_string(), parse_date);
}

TEST_F(LibraryView, ACorruptLibraryIsAnErrorNamingTheFile) {
  const auto index = dir_ / "library.faiss";
  fs::resize_file(index, fs::file_size(index) / 2);
  const auto opened = open_library(dir_);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, errc::bad_input);
  EXPECT_EQ(opened.error().message.rfind(index.string() + ": not a readable FAISS index", 0), 0u)
      << opened.error().message;
}

// The binary: exit codes, and --json output that parses.
TEST_F(LibraryView, TheColonyBinaryPrintsJsonAndExitsWithTwoOnBadInput) {
  const auto run = [&](const std::string& args) { return colony("library " + args); };
  const auto parsed = [](const testing::command_result& r) {
    boost::system::error_code ec;
    auto v = json::parse(r.output, ec);
    EXPECT_FALSE(ec) << r.output;
    return ec || !v.is_object() ? json::object{} : v.as_object();
  };
  const auto d = dir_.string();

  const auto info = run(d);
  EXPECT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("  entries     6\n"), std::string::npos) << info.output;
  EXPECT_EQ(u64(parsed(run(d + "/library.sqlite info --json")), "entries"), 6u);

  const auto search = run(d + " search '" + sort_ascending + "' -k 3 --json");
  EXPECT_EQ(search.exit_code, 0) << search.output;
  const auto hits = parsed(search).at("hits").as_array();
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(u64(hits[0].as_object(), "id"), 1u);
  EXPECT_EQ(num(hits[0].as_object(), "similarity"), 1.0);
  // Unquoted words are one query.
  const auto words = run(d + " search sort a list of integers in ascending order -k 1");
  EXPECT_EQ(words.exit_code, 0) << words.output;
  EXPECT_NE(words.output.find("1 hit for \"" + sort_ascending + "\"\n"), std::string::npos)
      << words.output;
  EXPECT_NE(words.output.find("       1.000   1  "), std::string::npos) << words.output;

  const auto lineage = run(d + " lineage 4 --json");
  EXPECT_EQ(lineage.exit_code, 0) << lineage.output;
  EXPECT_EQ(parsed(lineage).at("ancestors").as_array().size(), 3u);

  const auto top = run(d + " top --by stars -n 2 --all --json");
  EXPECT_EQ(top.exit_code, 0) << top.output;
  const auto ranked = parsed(top).at("entries").as_array();
  ASSERT_EQ(ranked.size(), 2u);
  EXPECT_EQ(u64(ranked[0].as_object(), "id"), 5u);
  EXPECT_EQ(u64(ranked[1].as_object(), "id"), 2u);

  const auto unknown = run(d + " lineage 99");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.output, "solution 99: error: no such entry (the library has 6 entries)\n");
  const auto zero = run(d + " search sort -k 0");
  EXPECT_EQ(zero.exit_code, 2);
  EXPECT_EQ(zero.output, "-k 0: error: must be at least 1\n");
  const auto nowhere = run(d + "/nowhere search sort");
  EXPECT_EQ(nowhere.exit_code, 2);
  EXPECT_NE(nowhere.output.find(d + "/nowhere: no such file or directory"), std::string::npos)
      << nowhere.output;
  EXPECT_EQ(run(d + " top --by age").exit_code, 2);

  const auto index = dir_ / "library.faiss";
  fs::resize_file(index, fs::file_size(index) / 2);
  const auto corrupt = run(d + " search sort");
  EXPECT_EQ(corrupt.exit_code, 2);
  EXPECT_NE(corrupt.output.find(index.string() + ": not a readable FAISS index"), std::string::npos)
      << corrupt.output;
}

}  // namespace
}  // namespace colony::cli
