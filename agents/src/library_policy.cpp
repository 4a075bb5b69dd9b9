// The scenario's `library` section: its parameters, how it is read, and the path a similarity
// picks. docs/model.md ("The solution library") explains the defaults.
#include "colony/agents/library.hpp"
#include "params.hpp"

namespace colony::agents {
namespace {

using namespace detail;
using boost::json::object;

constexpr std::array<std::string_view, library_tier_count> tier_names = {
    "reuse", "adapt_parameters", "adapt_logic", "combine", "generate"};

// Defaults per path: {min_similarity, latency, cost, skill_bonus}.
constexpr std::array<tier_factors, library_tier_count> tier_defaults = {{
    {0.95, 0.15, 0.15, 0.30},
    {0.85, 0.35, 0.35, 0.20},
    {0.70, 0.60, 0.60, 0.10},
    {0.60, 0.85, 0.85, 0.05},
    {0.00, 1.00, 1.00, 0.00},
}};

constexpr std::array<std::string_view, library_tier_count> tier_docs = {
    "the stored solution applied as it is",
    "the stored solution re-instantiated with the task's own values",
    "a related solution whose logic is changed",
    "two related solutions combined into one",
    "no usable entry: the solution is written from scratch",
};

kind_spec tier_section(library_tier t) {
  const auto i = static_cast<std::size_t>(t);
  const auto& d = tier_defaults[i];
  kind_spec s{
      .name = std::string(tier_names[i]),
      .doc = "The " + std::string(tier_names[i]) + " path: " + std::string(tier_docs[i]) + "."};
  if (t != library_tier::generate) {
    s.params.push_back(number_param("min_similarity", d.min_similarity, 0, 1,
                                    "best similarity from which this path is taken"));
  }
  s.params.push_back(
      number_param("latency", d.latency, 0, 100, "multiplies the backend's service time"));
  s.params.push_back(number_param("cost", d.cost, 0, 100,
                                  "multiplies the tokens of each call, in and out (so the price)"));
  s.params.push_back(number_param("skill_bonus", d.skill_bonus, -1, 1,
                                  "added to the skill, times the quality of the entry used"));
  return s;
}

}  // namespace

std::array<tier_factors, library_tier_count> default_tiers() noexcept {
  return tier_defaults;
}

std::string_view to_string(library_tier t) noexcept {
  return tier_names[static_cast<std::size_t>(t)];
}

library_tier tier_from_string(std::string_view name) noexcept {
  for (std::size_t i = 0; i < library_tier_count; ++i) {
    if (tier_names[i] == name) return static_cast<library_tier>(i);
  }
  return library_tier::generate;
}

const std::vector<kind_spec>& library_sections() {
  static const std::vector<kind_spec> sections = [] {
    std::vector<kind_spec> s;
    s.push_back(
        {.name = "index",
         .doc = "How solutions are embedded, indexed and searched.",
         .params = {
             integer_param("dimension", 256, 8, 65536,
                           "length of the feature-hashing embedding of a problem text"),
             {"factory",
              param_type::string,
              "Flat",
              {},
              {},
              {},
              "FAISS index factory string, inner product: \"Flat\" (exact), \"HNSW32\", "
              "\"IVF1024,Flat\""},
             {"parameters",
              param_type::string,
              "",
              {},
              {},
              {},
              "FAISS search parameters: \"efSearch=128\" (HNSW), \"nprobe=16\" (IVF)"},
             integer_param("candidates", 3, 2, 100, "entries returned per query, best first"),
             positive_duration_param("batch_window", "1ms",
                                     "queries arriving within this window are searched in "
                                     "one batch (and wait for it)")}});
    for (std::size_t i = 0; i < library_tier_count; ++i) {
      s.push_back(tier_section(static_cast<library_tier>(i)));
    }
    s.push_back(
        {.name = "upkeep",
         .doc = "When the library is tended and written to disk.",
         .params = {positive_duration_param("every", "1d",
                                            "supersede, deprecate and synthesize are judged "
                                            "this often"),
                    duration_param("checkpoint", "0s",
                                   "library files written this often (0: at the end "
                                   "only)")}});
    s.push_back({.name = "supersede",
                 .doc = "A fork that does better than its parent replaces it.",
                 .params = {bool_param("enabled", true, "deprecate parents their forks outperform"),
                            positive_duration_param("window", "7d",
                                                    "success rates are compared over "
                                                    "this window"),
                            integer_param("min_uses", 5, 1, 1e9,
                                          "uses of the fork and of its parent within the window"),
                            number_param("margin", 0.05, 0, 1,
                                         "how much higher the fork's success rate must be")}});
    s.push_back({.name = "deprecate",
                 .doc = "Entries no agent uses any more are hidden from search.",
                 .params = {bool_param("enabled", true, "deprecate unused entries"),
                            positive_duration_param("idle", "60d",
                                                    "an entry neither used nor stored this "
                                                    "long is deprecated")}});
    s.push_back(
        {.name = "synthesize",
         .doc = "Several versions of a solution (entries of one lineage) become one general "
                "entry.",
         .params = {bool_param("enabled", true, "synthesize general entries"),
                    integer_param("min_versions", 4, 2, 1e6,
                                  "live versions of one lineage not yet synthesized, at least"),
                    integer_param("max_parents", 16, 2, 1e6,
                                  "the most-used versions taken as parents, at most")},
         .check = [](const object& p, const std::vector<std::string>&) {
           std::vector<param_problem> out;
           if (p.at("max_parents").to_number<std::int64_t>() <
               p.at("min_versions").to_number<std::int64_t>()) {
             out.push_back({"/max_parents", "max_parents is smaller than min_versions",
                            "a synthesis takes at least min_versions parents"});
           }
           return out;
         }});
    s.push_back(
        {.name = "review",
         .doc = "Peer review: a new entry becomes searchable only once reviewers accept it.",
         .params = {{"reviewers",
                     param_type::string_list,
                     boost::json::array(),
                     {},
                     {},
                     {},
                     "agents (with a backend) that review new entries (empty: no review)"},
                    integer_param("required", 1, 1, 100, "acceptances a new entry needs"),
                    positive_duration_param("timeout", "10min",
                                            "a reviewer silent this long counts as a "
                                            "rejection")}});
    return s;
  }();
  return sections;
}

library_counters& library_counters::operator-=(const library_counters& o) {
  for (auto [x, y] : {std::pair{&queries, o.queries}, std::pair{&searches, o.searches},
                      std::pair{&reports, o.reports}, std::pair{&stored, o.stored},
                      std::pair{&forked, o.forked}, std::pair{&synthesized, o.synthesized},
                      std::pair{&superseded, o.superseded}, std::pair{&retired, o.retired},
                      std::pair{&reviewed, o.reviewed}, std::pair{&rejected, o.rejected}}) {
    *x -= y;
  }
  for (std::size_t i = 0; i < tiers.size(); ++i) tiers[i] -= o.tiers[i];
  similarity_sum -= o.similarity_sum;
  saved -= o.saved;
  review_cost -= o.review_cost;
  return *this;
}

library_policy library_policy::from_json(const object& library) {
  library_policy p;
  if (library.empty()) return p;
  p.enabled = flag(library, "enabled", true);
  const auto& ix = section(library, "index");
  p.index.dimension = static_cast<std::size_t>(whole(ix, "dimension", 256));
  p.index.factory = word(ix, "factory", p.index.factory);
  p.index.parameters = word(ix, "parameters", "");
  p.index.candidates = static_cast<std::size_t>(whole(ix, "candidates", 3));
  p.index.batch_window = whole(ix, "batch_window", p.index.batch_window);
  for (std::size_t i = 0; i < library_tier_count; ++i) {
    const auto& t = section(library, tier_names[i]);
    const auto& d = tier_defaults[i];
    p.tiers[i] = {num(t, "min_similarity", d.min_similarity), num(t, "latency", d.latency),
                  num(t, "cost", d.cost), num(t, "skill_bonus", d.skill_bonus)};
  }
  const auto& up = section(library, "upkeep");
  p.upkeep.every = whole(up, "every", p.upkeep.every);
  p.upkeep.checkpoint = whole(up, "checkpoint", 0);
  const auto& su = section(library, "supersede");
  p.supersede.enabled = flag(su, "enabled", true);
  p.supersede.window = whole(su, "window", p.supersede.window);
  p.supersede.min_uses = static_cast<std::uint64_t>(whole(su, "min_uses", 5));
  p.supersede.margin = num(su, "margin", p.supersede.margin);
  const auto& de = section(library, "deprecate");
  p.deprecate.enabled = flag(de, "enabled", true);
  p.deprecate.idle = whole(de, "idle", p.deprecate.idle);
  const auto& sy = section(library, "synthesize");
  p.synthesize.enabled = flag(sy, "enabled", true);
  p.synthesize.min_versions = static_cast<std::size_t>(whole(sy, "min_versions", 4));
  p.synthesize.max_parents = static_cast<std::size_t>(whole(sy, "max_parents", 16));
  const auto& rv = section(library, "review");
  if (const auto* r = rv.if_contains("reviewers"); r != nullptr && r->is_array()) {
    for (const auto& name : r->as_array()) {
      if (name.is_string()) p.review.reviewers.emplace_back(name.as_string());
    }
  }
  p.review.required = static_cast<std::size_t>(whole(rv, "required", 1));
  p.review.timeout = whole(rv, "timeout", p.review.timeout);
  return p;
}

library_tier library_policy::tier_for(double similarity) const noexcept {
  for (std::size_t i = 0; i + 1 < library_tier_count; ++i) {
    if (similarity >= tiers[i].min_similarity) return static_cast<library_tier>(i);
  }
  return library_tier::generate;
}

}  // namespace colony::agents
