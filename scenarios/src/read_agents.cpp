// The agents section: kinds, references, links and kind-specific parameters.
#include <algorithm>

#include "colony/base/assert.hpp"
#include "sections.hpp"
#include "wording.hpp"

namespace colony::scenarios {
namespace {

const agents::kind_spec* known_kind(checker& c, const std::string& name,
                                    const std::string& pointer) {
  if (const auto* kind = agents::find_kind(name)) return kind;
  std::vector<std::string> names;
  for (const auto* kind : agents::all_kinds()) names.push_back(kind->name);
  c.report(
      pointer, "unknown agent kind " + quote(name),
      names.empty() ? "no agent kinds are registered" : name_hint(name, names, list_known::always));
  return nullptr;
}

// "at least 1 link", "1 to 3 links", "exactly 2 links".
std::string link_range(const agents::kind_spec& kind) {
  const auto links = [](std::size_t n) {
    return std::to_string(n) + (n == 1 ? " link" : " links");
  };
  if (kind.max_links == SIZE_MAX) return "at least " + links(kind.min_links);
  if (kind.min_links == kind.max_links) return "exactly " + links(kind.max_links);
  if (kind.min_links == 0) return "at most " + links(kind.max_links);
  return std::to_string(kind.min_links) + " to " + links(kind.max_links);
}

void read_links(checker& c, const section& s, agent_spec& a, const agents::kind_spec* kind) {
  const auto pointer = s.at("links");
  if (const auto* v = s.find("links")) {
    a.links =
        read_each(c, *v, pointer, [&](checker& ch, const json::value& e, const std::string& at) {
          auto name = ch.string(e, at);
          if (!name) return std::string();
          if (*name == a.name) {
            ch.report(at, "agent " + quote(*name) + " links to itself");
          } else {
            ch.refer(name_kind::agent, *name, at);
          }
          return *name;
        });
  }
  if (kind != nullptr && (a.links.size() < kind->min_links || a.links.size() > kind->max_links)) {
    c.report(pointer, "kind " + quote(kind->name) + " takes " + link_range(*kind) + ", got " +
                          std::to_string(a.links.size()));
  }
}

std::optional<std::string> read_string_element(checker& c, const json::value& v,
                                               const std::string& pointer) {
  return c.string(v, pointer);
}

std::vector<std::string> param_names(const agents::kind_spec& kind) {
  std::vector<std::string> names;
  for (const auto& p : kind.params) names.push_back(p.name);
  return names;
}

bool is_choice(const agents::param_spec& p, std::string_view value) {
  return p.choices.empty() ||
         std::find(p.choices.begin(), p.choices.end(), value) != p.choices.end();
}

// Durations are kept as integer microseconds; a kind may write its default as "5s" too.
json::value default_of(const agents::param_spec& p) {
  if (p.type != agents::param_type::duration || !p.default_value.is_string()) {
    return p.default_value;
  }
  const auto us = parse_duration(p.default_value.get_string());
  COLONY_ASSERT(us.has_value());
  return json::value(*us);
}

// `v` checked against `p`; the value to keep (durations in microseconds), or nothing.
std::optional<json::value> read_param(checker& c, const agents::param_spec& p, const json::value& v,
                                      const std::string& pointer) {
  const bounds range{p.min, p.max};
  switch (p.type) {
    case agents::param_type::number:
      if (c.number(v, pointer, range)) return v;
      break;
    case agents::param_type::integer:
      if (const auto x = c.integer(v, pointer, range)) return json::value(*x);
      break;
    case agents::param_type::boolean:
      if (c.boolean(v, pointer)) return v;
      break;
    case agents::param_type::string:
      if (const auto x = c.string(v, pointer)) {
        if (is_choice(p, *x)) return v;
        c.report(pointer, quote(*x) + " is not one of the choices",
                 name_hint(*x, p.choices, list_known::always, "choices"));
      }
      break;
    case agents::param_type::duration:
      if (const auto x = c.duration(v, pointer, bounds{p.min.value_or(0), p.max})) {
        return json::value(*x);
      }
      break;
    case agents::param_type::string_list: {
      const auto before = c.count();
      (void)read_each(c, v, pointer, read_string_element);
      if (c.count() == before) return v;
      break;
    }
    case agents::param_type::array:
      if (c.array(v, pointer)) return v;
      break;
    case agents::param_type::object:
      if (c.object(v, pointer)) return v;
      break;
  }
  return std::nullopt;
}

}  // namespace

json::object read_params(checker& c, const agents::kind_spec& kind, const json::value* v,
                         const std::string& pointer, const std::vector<std::string>& link_names) {
  json::object filled;
  const json::value none = json::object();
  const auto before = c.count();
  const auto s = c.open(v != nullptr ? *v : none, pointer, param_names(kind));
  if (!s) return filled;
  for (const auto& p : kind.params) {
    if (const auto* given = s->find(p.name)) {
      if (auto x = read_param(c, p, *given, s->at(p.name))) filled[p.name] = std::move(*x);
    } else if (p.default_value.is_null()) {
      c.report(s->at(p.name), "missing required parameter " + quote(p.name), p.doc);
    } else {
      filled[p.name] = default_of(p);
    }
  }
  if (c.count() == before && kind.check) {
    for (auto& problem : kind.check(filled, link_names)) {
      c.report(pointer + problem.pointer, std::move(problem.message), std::move(problem.hint));
    }
  }
  return filled;
}

agent_spec read_agent(checker& c, const json::value& v, const std::string& pointer,
                      const std::vector<locale>& locales) {
  agent_spec a;
  if (!locales.empty()) a.locale = locales.front().name;
  const auto s = c.open(v, pointer, {"kind", "name", "locale", "backend", "links", "params"});
  if (!s) return a;
  const agents::kind_spec* kind = nullptr;
  if (auto k = c.required_string(*s, "kind")) {
    a.kind = std::move(*k);
    kind = known_kind(c, a.kind, s->at("kind"));
  }
  if (auto name = c.required_string(*s, "name")) {
    a.name = std::move(*name);
    c.declare(name_kind::agent, a.name, s->at("name"));
  }
  if (const auto* l = s->find("locale")) {
    if (auto name = c.string(*l, s->at("locale"))) {
      a.locale = std::move(*name);
      c.refer(name_kind::locale, a.locale, s->at("locale"));
    }
  }
  const bool needs_backend = kind != nullptr && kind->needs_backend;
  const auto* b = needs_backend ? c.require(*s, "backend",
                                            "agents of kind " + quote(a.kind) + " call a backend")
                                : s->find("backend");
  if (b != nullptr) {
    if (auto name = c.string(*b, s->at("backend"))) {
      a.backend = std::move(*name);
      c.refer(name_kind::backend, a.backend, s->at("backend"));
    }
  }
  read_links(c, *s, a, kind);
  if (kind != nullptr) {
    a.params = read_params(c, *kind, s->find("params"), s->at("params"), a.links);
  } else if (const auto* params = s->find("params")) {
    (void)c.object(*params, s->at("params"));
  }
  return a;
}

}  // namespace colony::scenarios
