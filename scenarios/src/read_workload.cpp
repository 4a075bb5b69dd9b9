// The workload section: arrivals, bursts, phases and task families.
#include <algorithm>
#include <cctype>
#include <set>

#include "colony/memory/locale_store.hpp"
#include "sections.hpp"
#include "wording.hpp"

namespace colony::scenarios {
namespace {

// The {name} placeholders of a template, in order; braces around anything that is not a name
// (letters, digits, '_') are plain text.
std::vector<std::string> placeholders(std::string_view text) {
  std::vector<std::string> out;
  for (auto open = text.find('{'); open != std::string_view::npos;
       open = text.find('{', open + 1)) {
    const auto close = text.find('}', open);
    if (close == std::string_view::npos) break;
    const auto name = text.substr(open + 1, close - open - 1);
    const bool is_name = !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_';
    });
    if (is_name) out.emplace_back(name);
  }
  return out;
}

std::string read_word(checker& c, const json::value& v, const std::string& pointer) {
  return c.string(v, pointer).value_or("");
}

// A two-element array: [low, high], [mean, sd], [alpha, beta].
const json::array* pair_at(checker& c, const json::value& v, const std::string& pointer) {
  const auto* pair = c.array(v, pointer);
  if (pair != nullptr && pair->size() != 2) {
    c.report(pointer, "expected two numbers, got " + std::to_string(pair->size()));
    return nullptr;
  }
  return pair;
}

distribution read_shaped(checker& c, const json::key_value_pair& shape, const std::string& pointer,
                         distribution fallback) {
  const auto* pair = pair_at(c, shape.value(), pointer);
  if (pair == nullptr) return fallback;
  const auto first = pointer_to(pointer, 0);
  const auto second = pointer_to(pointer, 1);
  distribution d;
  std::optional<double> a;
  std::optional<double> b;
  if (shape.key() == "uniform") {
    d.shape = distribution::kind::uniform;
    a = c.number((*pair)[0], first, between(0, 1));
    b = c.number((*pair)[1], second, between(a.value_or(0), 1));
  } else if (shape.key() == "normal") {
    d.shape = distribution::kind::normal;
    a = c.number((*pair)[0], first);
    b = c.number((*pair)[1], second, at_least(0));
  } else {
    d.shape = distribution::kind::beta;
    a = c.number((*pair)[0], first, above(0));
    b = c.number((*pair)[1], second, above(0));
  }
  if (!a || !b) return fallback;
  d.a = *a;
  d.b = *b;
  return d;
}

// 0.5 | {"uniform": [a, b]} | {"normal": [mean, sd]} | {"beta": [alpha, beta]}.
distribution read_distribution(checker& c, const json::value& v, const std::string& pointer,
                               distribution fallback) {
  if (v.is_number()) {
    if (const auto x = c.number(v, pointer, between(0, 1))) fallback.a = *x;
    return fallback;
  }
  if (!v.is_object()) {
    c.report(pointer, "expected a number or a distribution, got " + std::string(type_phrase(v)),
             "e.g. 0.5, {\"uniform\": [0.2, 0.8]}, {\"normal\": [0.5, 0.1]}, {\"beta\": [2, 5]}");
    return fallback;
  }
  const auto* shape = c.one_member(v, pointer, {"uniform", "normal", "beta"});
  if (shape == nullptr) return fallback;
  return read_shaped(c, *shape, pointer_to(pointer, shape->key()), fallback);
}

// ["a", "b"] | {"int": [low, high]}.
slot_spec read_slot(checker& c, const json::value& v, const std::string& pointer) {
  slot_spec slot;
  if (v.is_array()) {
    slot.choices = read_each(c, v, pointer, read_word, true);
    return slot;
  }
  if (!v.is_object()) {
    c.report(pointer, "expected a list of words or {\"int\": [low, high]}, got " +
                          std::string(type_phrase(v)));
    return slot;
  }
  const auto s = c.open(v, pointer, {"int"});
  const auto* range = s ? c.require(*s, "int") : nullptr;
  const auto* pair = range != nullptr ? pair_at(c, *range, s->at("int")) : nullptr;
  if (pair == nullptr) return slot;
  const auto low = c.integer((*pair)[0], pointer_to(s->at("int"), 0));
  const auto high = c.integer((*pair)[1], pointer_to(s->at("int"), 1),
                              low ? at_least(static_cast<double>(*low)) : bounds{});
  slot.low = low.value_or(0);
  slot.high = high.value_or(slot.low);
  return slot;
}

// Every placeholder has a slot, and every slot is used.
void check_placeholders(checker& c, const task_family& f, const std::string& pointer) {
  std::vector<std::string> slot_names;
  for (const auto& [name, slot] : f.slots) slot_names.push_back(name);
  std::set<std::string, std::less<>> used;
  for (std::size_t i = 0; i < f.templates.size(); ++i) {
    for (auto& name : placeholders(f.templates[i])) {
      if (f.slots.count(name) == 0) {
        c.report(pointer_to(pointer_to(pointer, "templates"), i),
                 "placeholder {" + name + "} has no slot",
                 slot_names.empty() ? "define it in \"slots\""
                                    : name_hint(name, slot_names, list_known::always, "slots"));
      }
      used.insert(std::move(name));
    }
  }
  for (auto& name : placeholders(f.solution)) {
    if (f.slots.count(name) == 0) {
      c.report(pointer_to(pointer, "solution"), "placeholder {" + name + "} has no slot",
               slot_names.empty() ? "define it in \"slots\""
                                  : name_hint(name, slot_names, list_known::always, "slots"));
    }
    used.insert(std::move(name));
  }
  if (!f.lookup_slot.empty()) used.insert(f.lookup_slot);
  for (const auto& name : slot_names) {
    if (used.count(name) != 0) continue;
    c.report({pointer_to(pointer_to(pointer, "slots"), name),
              "slot " + quote(name) + " is not used by any template",
              "use {" + name + "} in a template or remove the slot", anchor::key});
  }
}

task_family read_family(checker& c, const json::value& v, const std::string& pointer) {
  task_family f;
  f.difficulty.a = 0.5;
  f.complexity.a = 0.3;
  const auto s = c.open(v, pointer,
                        {"name", "domain", "templates", "slots", "solution", "lookup", "difficulty",
                         "complexity", "options", "share"});
  if (!s) return f;
  if (auto name = c.required_string(*s, "name")) {
    f.name = std::move(*name);
    c.declare(name_kind::family, f.name, s->at("name"));
  }
  f.domain = c.required_string(*s, "domain").value_or("");
  const auto before = c.count();
  if (const auto* t = c.require(*s, "templates")) {
    f.templates = read_each(c, *t, s->at("templates"), read_word, true);
  }
  if (const auto* slots = s->find("slots")) {
    if (const auto* members = c.object(*slots, s->at("slots"))) {
      for (const auto& [name, slot] : *members) {
        f.slots[std::string(name)] = read_slot(c, slot, pointer_to(s->at("slots"), name));
      }
    }
  }
  c.read_string(*s, "solution", f.solution);
  if (const auto* l = s->find("lookup")) {
    if (const auto o = c.open(*l, s->at("lookup"), {"slot", "table"})) {
      f.lookup_slot = c.required_string(*o, "slot").value_or("");
      f.lookup_table = c.required_string(*o, "table").value_or("");
      // Table names are case-insensitive in a store; kept in lower case.
      std::transform(f.lookup_table.begin(), f.lookup_table.end(), f.lookup_table.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      if (!f.lookup_slot.empty() && c.count() == before && f.slots.count(f.lookup_slot) == 0) {
        c.report(o->at("slot"), "slot " + quote(f.lookup_slot) + " is not a slot of the family",
                 "the key of the lookup is one of \"slots\"");
      }
      if (!f.lookup_table.empty() && !memory::safe_table_name(f.lookup_table)) {
        c.report(o->at("table"), quote(f.lookup_table) + " is not a table name",
                 "letters, digits and '_', at most 64");
      }
    }
  }
  // Placeholders are only compared once templates and slots are readable, to report each
  // mistake once.
  if (c.count() == before) check_placeholders(c, f, pointer);
  if (const auto* d = s->find("difficulty")) {
    f.difficulty = read_distribution(c, *d, s->at("difficulty"), f.difficulty);
  }
  if (const auto* d = s->find("complexity")) {
    f.complexity = read_distribution(c, *d, s->at("complexity"), f.complexity);
  }
  c.read_count(*s, "options", f.options, 2);
  c.read_number(*s, "share", f.share, at_least(0));
  return f;
}

burst read_burst(checker& c, const json::value& v, const std::string& pointer) {
  burst b;
  const auto s = c.open(v, pointer, {"at", "duration", "multiplier", "every"});
  if (!s) return b;
  if (const auto* at = c.require(*s, "at")) b.at = c.duration(*at, s->at("at")).value_or(0);
  if (const auto* d = c.require(*s, "duration")) {
    b.duration = c.duration(*d, s->at("duration"), above(0)).value_or(0);
  }
  if (const auto* m = c.require(*s, "multiplier")) {
    b.multiplier = c.number(*m, s->at("multiplier"), above(0)).value_or(1);
  }
  c.read_duration(*s, "every", b.every, at_least(static_cast<double>(b.duration)));
  return b;
}

phase read_phase(checker& c, const json::value& v, const std::string& pointer) {
  phase p;
  const auto s = c.open(v, pointer, {"at", "family", "share"});
  if (!s) return p;
  if (const auto* at = c.require(*s, "at")) p.at = c.duration(*at, s->at("at")).value_or(0);
  if (auto family = c.required_string(*s, "family")) {
    p.family = std::move(*family);
    c.refer(name_kind::family, p.family, s->at("family"));
  }
  c.read_number(*s, "share", p.share, at_least(0));
  return p;
}

}  // namespace

workload read_workload(checker& c, const json::value& v, const std::string& pointer) {
  workload w;
  const auto s = c.open(v, pointer, {"entry", "rate", "max_tasks", "bursts", "phases", "families"});
  if (!s) return w;
  if (auto entry = c.required_string(*s, "entry")) {
    w.entry = std::move(*entry);
    c.refer(name_kind::agent, w.entry, s->at("entry"));
  }
  if (const auto* r = s->find("rate")) {
    w.arrival.rate_per_sec = c.rate(*r, s->at("rate")).value_or(w.arrival.rate_per_sec);
  }
  c.read_count(*s, "max_tasks", w.max_tasks);
  if (const auto* b = s->find("bursts")) {
    w.arrival.bursts = read_each(c, *b, s->at("bursts"), read_burst);
  }
  if (const auto* p = s->find("phases")) {
    w.arrival.phases = read_each(c, *p, s->at("phases"), read_phase);
  }
  if (const auto* f = c.require(*s, "families")) {
    w.families = read_each(c, *f, s->at("families"), read_family, true);
  }
  return w;
}

}  // namespace colony::scenarios
