// The run, backend and locale sections.
#include <algorithm>
#include <cctype>

#include "sections.hpp"
#include "wording.hpp"

namespace colony::scenarios {
namespace {

constexpr std::size_t longest_locale_name = 64;

// A locale name becomes a file name: no separators, no "." or "..", nothing hidden.
bool safe_file_name(std::string_view name) {
  const auto allowed = [](char ch, bool first) {
    const auto u = static_cast<unsigned char>(ch);
    return std::isalnum(u) != 0 || ch == '_' || (!first && (ch == '.' || ch == '-'));
  };
  if (name.empty() || name.size() > longest_locale_name || !allowed(name.front(), true)) {
    return false;
  }
  return std::all_of(name.begin() + 1, name.end(), [&](char ch) { return allowed(ch, false); });
}

agents::latency_model read_lognormal(checker& c, const json::value& v, const std::string& pointer) {
  agents::latency_model m{agents::latency_kind::lognormal};
  const auto s = c.open(v, pointer, {"median", "p95"});
  if (!s) return m;
  std::optional<sim_time> median;
  if (const auto* v_median = c.require(*s, "median")) {
    median = c.duration(*v_median, s->at("median"), above(0));
  }
  m.value = median.value_or(m.value);
  if (const auto* p95 = c.require(*s, "p95")) {
    const auto past = above(median ? static_cast<double>(*median) : 0);
    m.p95 = c.duration(*p95, s->at("p95"), past).value_or(0);
  }
  return m;
}

// "500ms" | {"constant": "500ms"} | {"exponential": "1s"} | {"lognormal": {...}}.
agents::latency_model read_latency(checker& c, const json::value& v, const std::string& pointer) {
  agents::latency_model m;
  if (!v.is_object()) {
    m.value = c.duration(v, pointer).value_or(m.value);
    return m;
  }
  const auto* shape = c.one_member(v, pointer, {"constant", "exponential", "lognormal"});
  if (shape == nullptr) return m;
  const auto at = pointer_to(pointer, shape->key());
  if (shape->key() == "lognormal") return read_lognormal(c, shape->value(), at);
  m.kind = shape->key() == "constant" ? agents::latency_kind::constant
                                      : agents::latency_kind::exponential;
  const auto smallest = m.kind == agents::latency_kind::constant ? at_least(0) : above(0);
  m.value = c.duration(shape->value(), at, smallest).value_or(m.value);
  return m;
}

void read_tokens(checker& c, const json::value& v, const std::string& pointer,
                 agents::backend_profile& b) {
  if (const auto s = c.open(v, pointer, {"in", "out"})) {
    c.read_count(*s, "in", b.tokens_in);
    c.read_count(*s, "out", b.tokens_out);
  }
}

void read_price(checker& c, const json::value& v, const std::string& pointer,
                agents::backend_profile& b) {
  if (const auto s = c.open(v, pointer, {"in", "out"})) {
    c.read_number(*s, "in", b.price_in, at_least(0));
    c.read_number(*s, "out", b.price_out, at_least(0));
  }
}

// domain -> 0..1; the key "default" sets the skill in every other domain.
void read_skill(checker& c, const json::value& v, const std::string& pointer,
                agents::backend_profile& b) {
  const auto* domains = c.object(v, pointer);
  if (domains == nullptr) return;
  for (const auto& [domain, level] : *domains) {
    const auto x = c.number(level, pointer_to(pointer, domain), between(0, 1));
    if (!x) continue;
    if (domain == "default") {
      b.default_skill = *x;
    } else {
      b.skill[std::string(domain)] = *x;
    }
  }
}

}  // namespace

run_section read_run(checker& c, const json::value* v) {
  run_section run;
  if (v == nullptr) return run;
  const auto s = c.open(*v, "/run", {"duration", "seed", "metrics_bucket", "lookahead"});
  if (!s) return run;
  c.read_duration(*s, "duration", run.duration);
  c.read_count(*s, "seed", run.seed);
  const auto before = c.count();
  c.read_duration(*s, "metrics_bucket", run.metrics_bucket, above(0));
  bounds lookahead = above(0);
  if (c.count() == before) lookahead.max = static_cast<double>(run.metrics_bucket);
  c.read_duration(*s, "lookahead", run.lookahead, lookahead);
  return run;
}

agents::backend_profile read_backend(checker& c, const json::value& v, const std::string& pointer) {
  agents::backend_profile b;
  const auto s =
      c.open(v, pointer,
             {"name", "latency", "tokens", "price", "skill", "discrimination", "confidence_gap",
              "confidence_noise", "failure_rate", "timeout", "concurrency"});
  if (!s) return b;
  if (auto name = c.required_string(*s, "name")) {
    b.name = std::move(*name);
    c.declare(name_kind::backend, b.name, s->at("name"));
  }
  if (const auto* l = s->find("latency")) b.latency = read_latency(c, *l, s->at("latency"));
  if (const auto* t = s->find("tokens")) read_tokens(c, *t, s->at("tokens"), b);
  if (const auto* p = s->find("price")) read_price(c, *p, s->at("price"), b);
  if (const auto* k = s->find("skill")) read_skill(c, *k, s->at("skill"), b);
  c.read_number(*s, "discrimination", b.discrimination, above(0));
  c.read_number(*s, "confidence_gap", b.confidence_gap, between(0, 1));
  c.read_number(*s, "confidence_noise", b.confidence_noise, between(0, 1));
  c.read_number(*s, "failure_rate", b.failure_rate, between(0, 1));
  c.read_duration(*s, "timeout", b.timeout, above(0));
  c.read_count(*s, "concurrency", b.concurrency);
  return b;
}

locale read_locale(checker& c, const json::value& v, const std::string& pointer) {
  locale l;
  std::string at = pointer;
  std::optional<std::string> name;
  if (v.is_object()) {
    const auto s = c.open(v, pointer, {"name"});
    if (!s) return l;
    at = s->at("name");
    name = c.required_string(*s, "name");
  } else {
    name = c.string(v, pointer);
  }
  if (!name) return l;
  if (!safe_file_name(*name)) {
    c.report(at, quote(*name) + " is not a safe file name",
             "a locale name becomes a file name: at most 64 letters, digits, '_', '-' or '.', "
             "starting with a letter, digit or '_'");
  }
  // Declared even when unsafe, so that agents in it are not reported a second time.
  c.declare(name_kind::locale, *name, at);
  l.name = std::move(*name);
  return l;
}

}  // namespace colony::scenarios
