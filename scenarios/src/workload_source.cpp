#include "colony/scenarios/workload_source.hpp"

#include <algorithm>
#include <cmath>

namespace colony::scenarios {
namespace {

namespace msg = broker::msg;
constexpr std::uint32_t next_arrival = 1;

bool active(const burst& b, sim_time t) {
  if (t < b.at) return false;
  if (b.every <= 0) return t < b.at + b.duration;
  return (t - b.at) % b.every < b.duration;
}

// Beta(a, b) from two gamma draws (Marsaglia-Tsang), written here so it is the same everywhere.
double gamma_draw(double shape, engine::rng& r) {
  if (shape < 1) return gamma_draw(shape + 1, r) * std::pow(r.uniform() + 1e-300, 1.0 / shape);
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  while (true) {
    double x = 0, v = 0;
    do {
      x = r.normal(0, 1);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = r.uniform();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1 - v + std::log(v))) return d * v;
  }
}

}  // namespace

void task_tally::add(const task_tally& o) {
  arrived += o.arrived;
  completed += o.completed;
  succeeded += o.succeeded;
  failed += o.failed;
  escalated += o.escalated;
  cost += o.cost;
  tokens_in += o.tokens_in;
  tokens_out += o.tokens_out;
  latencies.insert(latencies.end(), o.latencies.begin(), o.latencies.end());
}

double arrival_rate(const arrivals& a, sim_time t) {
  double rate = a.rate_per_sec;
  for (const auto& b : a.bursts) {
    if (active(b, t)) rate *= b.multiplier;
  }
  return rate;
}

std::vector<double> family_shares(const workload& w, sim_time t) {
  std::vector<double> shares;
  shares.reserve(w.families.size());
  for (const auto& f : w.families) {
    double share = f.share;
    // The latest phase of this family that has begun sets its share.
    sim_time latest = -1;
    for (const auto& p : w.arrival.phases) {
      if (p.family == f.name && p.at <= t && p.at >= latest) {
        share = p.share;
        latest = p.at;
      }
    }
    shares.push_back(share);
  }
  return shares;
}

std::string fill_template(const std::string& text, const std::map<std::string, slot_spec>& slots,
                          engine::rng& r, std::map<std::string, std::string>* values) {
  std::string out;
  out.reserve(text.size() + 16);
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto open = text.find('{', pos);
    const auto close = open == std::string::npos ? open : text.find('}', open);
    if (close == std::string::npos) {
      out.append(text, pos);
      break;
    }
    out.append(text, pos, open - pos);
    const auto it = slots.find(text.substr(open + 1, close - open - 1));
    const std::string* known = nullptr;
    if (values != nullptr && it != slots.end()) {
      const auto v = values->find(it->first);
      if (v != values->end()) known = &v->second;
    }
    const std::size_t start = out.size();
    if (it == slots.end()) {
      out.append(text, open, close - open + 1);  // the loader forbids this; keep it visible
    } else if (known != nullptr) {
      out += *known;
    } else if (!it->second.choices.empty()) {
      out += it->second.choices[r.below(it->second.choices.size())];
    } else {
      // In unsigned arithmetic: high - low may not fit in an int64_t, and the full range wraps
      // to a span of 0, where any 64 bits will do.
      const auto low = static_cast<std::uint64_t>(it->second.low);
      const std::uint64_t span = static_cast<std::uint64_t>(it->second.high) - low + 1;
      const std::uint64_t offset = span == 0 ? r() : r.below(span);
      out += std::to_string(static_cast<std::int64_t>(low + offset));
    }
    if (values != nullptr && it != slots.end() && known == nullptr) {
      values->emplace(it->first, out.substr(start));
    }
    pos = close + 1;
  }
  return out;
}

double draw(const distribution& d, engine::rng& r) {
  double v = d.a;
  switch (d.shape) {
    case distribution::kind::constant:
      break;
    case distribution::kind::uniform:
      v = r.uniform(d.a, d.b);
      break;
    case distribution::kind::normal:
      v = r.normal(d.a, d.b);
      break;
    case distribution::kind::beta: {
      const double x = gamma_draw(d.a, r);
      const double y = gamma_draw(d.b, r);
      v = x / (x + y);
      break;
    }
  }
  return std::clamp(v, d.min, d.max);
}

workload_source::workload_source(workload w, broker::agent_id entry, sim_time until,
                                 sim_time answer_timeout)
    : work_(std::move(w)),
      entry_(entry),
      until_(until),
      answer_timeout_(answer_timeout),
      families_(work_.families.size()) {
  // Thinning needs a rate no burst combination exceeds: the base times every multiplier > 1.
  peak_rate_ = work_.arrival.rate_per_sec;
  for (const auto& b : work_.arrival.bursts) peak_rate_ *= std::max(1.0, b.multiplier);
}

void workload_source::on_start(engine::context& ctx) {
  schedule_next(ctx);
}

void workload_source::schedule_next(engine::context& ctx) {
  if (peak_rate_ <= 0) return;
  if (work_.max_tasks != 0 && next_task_ >= work_.max_tasks) return;
  const double gap_s = ctx.random().exponential(1.0 / peak_rate_);
  const auto gap = static_cast<sim_time>(std::llround(gap_s * static_cast<double>(sec)));
  if (ctx.now() + gap >= until_) return;
  ctx.schedule(gap, msg::tick{0, next_arrival});
}

void workload_source::arrive(engine::context& ctx) {
  auto& r = ctx.random();
  // Thinning: a candidate arrival at the peak rate is kept with probability rate(t) / peak.
  const bool keep = r.uniform() * peak_rate_ < arrival_rate(work_.arrival, ctx.now());
  const auto shares = family_shares(work_, ctx.now());
  double sum = 0;
  for (double s : shares) sum += s;
  if (keep && sum > 0) {
    double pick = r.uniform() * sum;
    std::size_t f = 0;
    while (f + 1 < shares.size() && pick >= shares[f]) pick -= shares[f++];
    const auto& fam = work_.families[f];

    msg::task_request t;
    t.task = broker::task_id{++next_task_};
    t.family = fam.name;
    t.domain = fam.domain;
    const auto& text = fam.templates[r.below(fam.templates.size())];
    if (fam.solution.empty() && fam.lookup_table.empty()) {
      t.text = fill_template(text, fam.slots, r);
    } else {
      // Only families with a solution or a lookup record their values: the rest draw exactly as
      // before.
      t.text = fill_template(text, fam.slots, r, &t.params);
      if (!fam.solution.empty()) t.solution = fill_template(fam.solution, fam.slots, r, &t.params);
      if (!fam.lookup_table.empty()) {
        t.lookup_table = fam.lookup_table;
        const auto key = t.params.find(fam.lookup_slot);
        // A slot the template does not use is drawn for the lookup alone.
        t.lookup_key = key != t.params.end()
                           ? key->second
                           : fill_template("{" + fam.lookup_slot + "}", fam.slots, r, &t.params);
      }
    }
    t.difficulty = draw(fam.difficulty, r);
    t.complexity = draw(fam.complexity, r);
    t.options = fam.options;
    t.truth = static_cast<std::int32_t>(r.below(fam.options));
    t.arrived = ctx.now();
    const auto truth = t.truth;
    const auto c = ctx.request(entry_, std::move(t), answer_timeout_,
                               {.conversation = broker::conversation_id{next_task_}});
    open_.emplace(broker::raw(c), open_task{truth, ctx.now(), static_cast<std::uint32_t>(f)});
    ++families_[f].all.arrived;
    ++total_.arrived;
    ++bucket_.arrived;
  }
  schedule_next(ctx);
}

void workload_source::settle(broker::correlation_id c, const msg::task_result* r,
                             engine::context& ctx) {
  auto it = open_.find(broker::raw(c));
  if (it == open_.end()) return;
  const open_task task = it->second;
  open_.erase(it);
  task_tally one;
  if (r == nullptr) {
    one.failed = 1;  // no answer in time
  } else if (r->ok) {
    one.completed = 1;
    one.succeeded = r->answer == task.truth ? 1 : 0;
  } else if (r->error == "escalated") {
    one.escalated = 1;
  } else {
    one.failed = 1;
  }
  if (r != nullptr) {
    one.cost = r->cost;
    one.tokens_in = r->tokens_in;
    one.tokens_out = r->tokens_out;
  }
  total_.add(one);  // without latencies: the run's percentiles come from the buckets
  auto& fam = families_[task.family];
  fam.all.add(one);
  fam.by_path[r != nullptr && !r->via.empty() ? r->via : "single"].add(one);
  one.latencies.push_back(ctx.now() - task.arrived);
  bucket_.add(one);
}

void workload_source::handle(broker::envelope& env, engine::context& ctx) {
  broker::visit(broker::overloaded{
                    [&](msg::tick& t) {
                      if (t.what == next_arrival) arrive(ctx);
                    },
                    [&](msg::task_result& r) { settle(env.correlation, &r, ctx); },
                    [&](msg::timeout& t) { settle(t.request, nullptr, ctx); },
                    // Nothing else is addressed to the workload.
                    [](msg::ping&) {}, [](msg::pong&) {}, [](msg::token&) {}, [](msg::spawned&) {},
                    [](msg::stopped&) {}, [](msg::dead_letter&) {}, [](msg::task_request&) {},
                    [](msg::llm_call&) {}, [](msg::llm_reply&) {}, [](msg::library_query&) {},
                    [](msg::library_answer&) {}, [](msg::library_report&) {},
                    [](msg::store_request&) {}, [](msg::store_reply&) {}, [](msg::db_announce&) {}},
                env.payload);
}

task_tally workload_source::take_bucket() {
  task_tally out = std::move(bucket_);
  bucket_ = task_tally{};
  return out;
}

}  // namespace colony::scenarios
