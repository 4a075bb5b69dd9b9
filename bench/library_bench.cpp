// The solution library: search latency p50/p99 of exact search (Flat, inner product) and HNSW32
// at several library sizes (dimension 256), one query at a time and in batches; recall@5 of HNSW
// against exact, with efSearch raised until recall@5 reaches --recall; adds per second; and the
// hashing embedder's texts per second. One line per case:
//
//   library add n=100000 index=HNSW32 batch=1000 adds_per_s=...
//   library search n=100000 index=Flat batch=64 p50_us=... p99_us=... queries_per_s=...
//   library recall n=100000 index=HNSW32 efSearch=64 recall@5=0.97
//   library search n=100000 index=HNSW32 efSearch=64 batch=1 p50_us=... recall@5=0.97
//   library embed dim=256 texts_per_s=...
//
//   colony_library_bench [--sizes 10000,100000] [--million] [--data clustered|uniform]
//                        [--queries N] [--batch N] [--recall R] [--ef-construction N]
//
// Sizes default to 10k and 100k: 1M entries × 256 floats is 1 GB of vectors per index (the bench
// builds two, plus their metadata), so 1M is opt-in with --million (or --sizes 1000000).
// --data clustered (the default) draws vectors around n/50 random centres, as a library of
// recurring problems is; uniform draws them uniformly on the sphere, the worst case for HNSW.
// Queries are drawn the same way. Threads: FAISS and OpenBLAS follow OMP_NUM_THREADS (default:
// every core); adds run on one thread whatever it says (see solution_library.hpp).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "colony/memory/embedder.hpp"
#include "colony/memory/solution_library.hpp"

namespace {

using namespace colony::memory;
using clock_type = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr std::size_t dim = 256;
constexpr std::size_t chunk = 1000;  // entries per add() while building

struct settings {
  std::vector<std::size_t> sizes{10'000, 100'000};
  bool clustered = true;
  std::size_t queries = 500;  // single-query cases; the batched ones use 40 batches
  std::size_t batch = 64;
  double recall = 0.95;
  int ef_construction = 40;  // FAISS's default
};

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

void normalize(std::span<float> v) {
  const float n = std::sqrt(dot(v, v));
  for (auto& x : v) x /= n;
}

// Vectors drawn deterministically from (seed, index): around one of `clusters` centres, or
// uniformly on the sphere.
class vector_source {
 public:
  vector_source(std::size_t clusters, bool clustered) : clustered_(clustered) {
    std::mt19937_64 gen(7);
    std::normal_distribution<float> normal;
    centres_.resize(clusters * dim);
    for (auto& x : centres_) x = normal(gen);
    for (std::size_t c = 0; c < clusters; ++c) normalize(std::span(centres_).subspan(c * dim, dim));
  }

  std::vector<float> draw(std::size_t n, std::uint64_t seed) const {
    std::mt19937_64 gen(seed);
    std::normal_distribution<float> normal;
    std::uniform_int_distribution<std::size_t> pick(0, centres_.size() / dim - 1);
    // Noise of norm ~0.6: a member is ~0.86 from its centre, ~0.74 from another member.
    const float spread = 0.6f / std::sqrt(static_cast<float>(dim));
    std::vector<float> out(n * dim);
    for (std::size_t i = 0; i < n; ++i) {
      const auto row = std::span(out).subspan(i * dim, dim);
      if (clustered_) {
        const auto c = pick(gen);
        for (std::size_t j = 0; j < dim; ++j) row[j] = centres_[c * dim + j] + spread * normal(gen);
      } else {
        for (auto& x : row) x = normal(gen);
      }
      normalize(row);
    }
    return out;
  }

 private:
  bool clustered_;
  std::vector<float> centres_;
};

std::vector<solution_entry> entries_for(std::size_t first, std::size_t n) {
  std::vector<solution_entry> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto k = std::to_string(first + i);
    out[i].problem = "Compute the weekly rollup for account " + k + " across all regions";
    out[i].solution = "def rollup_" + k + "(rows): return sum(r.amount for r in rows if r.week)";
    out[i].author = "specialist-" + std::to_string((first + i) % 17);
    out[i].created = static_cast<colony::sim_time>(first + i) * colony::sec;
    out[i].quality = 0.8;
    out[i].tags = {"finance"};
  }
  return out;
}

solution_library build(const vector_source& src, std::size_t n, const library_options& o,
                       const fs::path& work, const char* label) {
  auto lib = solution_library::create(work, dim, o);
  if (!lib) {
    std::fprintf(stderr, "library_bench: %s\n", lib.error().message.c_str());
    std::exit(1);
  }
  const auto start = clock_type::now();
  for (std::size_t first = 0; first < n; first += chunk) {
    const auto m = std::min(chunk, n - first);
    const auto added = lib->add(entries_for(first, m), src.draw(m, 1000 + first / chunk));
    if (!added) {
      std::fprintf(stderr, "library_bench: %s\n", added.error().message.c_str());
      std::exit(1);
    }
  }
  std::printf("library add n=%zu index=%s batch=%zu adds_per_s=%.0f\n", n, label, chunk,
              static_cast<double>(n) / seconds_since(start));
  std::fflush(stdout);
  return std::move(*lib);
}

using hits = std::vector<std::vector<solution_hit>>;

hits search_or_die(const solution_library& lib, std::span<const float> q, std::size_t k) {
  auto r = lib.search(q, k);
  if (!r) {
    std::fprintf(stderr, "library_bench: %s\n", r.error().message.c_str());
    std::exit(1);
  }
  return std::move(*r);
}

struct latency {
  double p50_us, p99_us, queries_per_s;
};

// Times `batches` searches of `batch` queries each, taken in turn from `queries`.
latency time_search(const solution_library& lib, const std::vector<float>& queries,
                    std::size_t batch, std::size_t batches) {
  std::vector<double> us;
  const auto start = clock_type::now();
  for (std::size_t b = 0; b < batches; ++b) {
    const auto q = std::span(queries).subspan(b * batch * dim, batch * dim);
    const auto t = clock_type::now();
    const auto r = search_or_die(lib, q, 5);
    us.push_back(seconds_since(t) * 1e6);
  }
  const double total = seconds_since(start);
  std::sort(us.begin(), us.end());
  const auto at = [&](double p) {
    return us[std::min(us.size() - 1,
                       static_cast<std::size_t>(p * static_cast<double>(us.size())))];
  };
  return {at(0.5), at(0.99), static_cast<double>(batch * batches) / total};
}

double recall_at_5(const hits& truth, const hits& found) {
  std::size_t agree = 0;
  for (std::size_t q = 0; q < truth.size(); ++q) {
    for (const auto& h : found[q]) {
      agree += static_cast<std::size_t>(std::count_if(
          truth[q].begin(), truth[q].end(), [&](const solution_hit& t) { return t.id == h.id; }));
    }
  }
  return static_cast<double>(agree) / (5.0 * static_cast<double>(truth.size()));
}

void print(const char* index, std::size_t n, const std::string& extra, std::size_t batch,
           const latency& l) {
  std::printf(
      "library search n=%zu index=%s%s batch=%zu p50_us=%.0f p99_us=%.0f queries_per_s=%.0f\n", n,
      index, extra.c_str(), batch, l.p50_us, l.p99_us, l.queries_per_s);
  std::fflush(stdout);
}

void run_size(const settings& s, std::size_t n, const fs::path& work) {
  const vector_source src(std::max<std::size_t>(1, n / 50), s.clustered);
  const std::size_t batches = 40;
  const auto queries = src.draw(std::max(s.queries, s.batch * batches), 99);
  const auto singles = std::min(s.queries, queries.size() / dim);

  const auto flat = build(src, n, {}, work / ("flat-" + std::to_string(n)), "Flat");
  print("Flat", n, "", 1, time_search(flat, queries, 1, singles));
  print("Flat", n, "", s.batch, time_search(flat, queries, s.batch, batches));
  const auto truth = search_or_die(flat, std::span(queries).first(singles * dim), 5);

  const library_options hnsw_options{
      .factory = "HNSW32", .parameters = "efConstruction=" + std::to_string(s.ef_construction)};
  auto hnsw = build(src, n, hnsw_options, work / ("hnsw-" + std::to_string(n)), "HNSW32");
  int chosen = 0;
  double recall = 0;
  for (const int ef : {16, 32, 64, 128, 256, 512, 1024}) {
    if (!hnsw.set_parameters("efSearch=" + std::to_string(ef))) std::exit(1);
    recall = recall_at_5(truth, search_or_die(hnsw, std::span(queries).first(singles * dim), 5));
    std::printf("library recall n=%zu index=HNSW32 efSearch=%d recall@5=%.3f\n", n, ef, recall);
    chosen = ef;
    if (recall >= s.recall) break;
  }
  char extra[64];
  std::snprintf(extra, sizeof extra, " efSearch=%d recall@5=%.3f", chosen, recall);
  print("HNSW32", n, extra, 1, time_search(hnsw, queries, 1, singles));
  print("HNSW32", n, extra, s.batch, time_search(hnsw, queries, s.batch, batches));
}

void run_embedder() {
  const hashing_embedder e;
  std::vector<std::string> texts;
  const char* verbs[] = {"Compute", "Explain", "Summarize", "Translate", "Review", "Plan"};
  const char* things[] = {"the quarterly revenue",      "a rental contract clause",
                          "this stack trace",           "the weekly rollup",
                          "a short poem about the sea", "the test failures"};
  for (std::size_t i = 0; i < 50'000; ++i) {
    texts.push_back(std::string(verbs[i % 6]) + " " + things[(i / 6) % 6] + " for customer " +
                    std::to_string(i) + " in region " + std::to_string(i % 97) +
                    " before the deadline on day " + std::to_string(i % 365));
  }
  std::vector<float> out(e.dimension());
  float sink = 0;
  const auto start = clock_type::now();
  for (const auto& t : texts) {
    e.embed(t, out);
    sink += out[0];
  }
  std::printf("library embed dim=%zu texts_per_s=%.0f (checksum %.3f)\n", e.dimension(),
              static_cast<double>(texts.size()) / seconds_since(start), sink);
}

std::vector<std::size_t> parse_sizes(const std::string& text) {
  std::vector<std::size_t> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto comma = text.find(',', pos);
    out.push_back(std::stoul(text.substr(pos, comma - pos)));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "library_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--sizes") {
      s.sizes = parse_sizes(value());
    } else if (a == "--million") {
      s.sizes.push_back(1'000'000);
    } else if (a == "--data") {
      const auto d = value();
      if (d != "clustered" && d != "uniform") {
        std::fprintf(stderr, "library_bench: --data clustered|uniform, not %s\n", d.c_str());
        return 2;
      }
      s.clustered = d == "clustered";
    } else if (a == "--queries") {
      s.queries = std::stoul(value());
    } else if (a == "--batch") {
      s.batch = std::stoul(value());
    } else if (a == "--recall") {
      s.recall = std::stod(value());
    } else if (a == "--ef-construction") {
      s.ef_construction = std::stoi(value());
    } else {
      std::fprintf(stderr,
                   "usage: colony_library_bench [--sizes N,N...] [--million] [--data "
                   "clustered|uniform] [--queries N] [--batch N] [--recall R] "
                   "[--ef-construction N]\n");
      return 2;
    }
  }
  const char* omp = std::getenv("OMP_NUM_THREADS");
  std::printf("# dim=%zu data=%s cores=%u OMP_NUM_THREADS=%s efConstruction=%d\n", dim,
              s.clustered ? "clustered" : "uniform", std::thread::hardware_concurrency(),
              omp != nullptr ? omp : "unset", s.ef_construction);
  run_embedder();
  const auto work =
      fs::temp_directory_path() / ("colony_library_bench_" + std::to_string(::getpid()));
  for (const auto n : s.sizes) run_size(s, n, work);
  std::error_code ec;
  fs::remove_all(work, ec);
}
