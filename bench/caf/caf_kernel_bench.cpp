// CAF 0.17 peer for the actor-kernel benchmarks.
//
// Workloads (10,000,000 messages each):
//   relay_ring: 10,000 event-based actors in a ring, 1,000 tokens in flight at once, each token
//               forwarded 10,000 times from one ring member to the next.
//   fan_out:    one publisher sends 1,000 messages to a local group with 10,000 subscribers.
//
// Build: g++ -O2 -std=c++20 caf_kernel_bench.cpp -o caf_kernel_bench -lcaf_core -pthread
// Usage: caf_kernel_bench [--threads N] [--workload relay_ring|fan_out|all]
//
// Prints one "<workload> caf msgs_per_s=<integer>" line per workload on stdout (best of 3 runs,
// each in a fresh actor_system); everything else goes to stderr.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <latch>
#include <string>
#include <vector>

#include <caf/all.hpp>

namespace {

using caf::actor;
using caf::actor_system;
using caf::actor_system_config;
using caf::behavior;
using caf::stateful_actor;
using clock_type = std::chrono::steady_clock;

using ack_atom = caf::atom_constant<caf::atom("ack")>;
using start_atom = caf::atom_constant<caf::atom("start")>;

constexpr int kRingSize = 10'000;
constexpr int kRingTokens = 1'000;
constexpr int32_t kHopsPerToken = 10'000;
constexpr int kSubscribers = 10'000;
constexpr int32_t kPublishes = 1'000;
constexpr double kMessagesPerRun = 10'000'000.0;
constexpr int kRuns = 3;

// -- relay_ring ----------------------------------------------------------------------------------

struct ring_node_state {
  actor next;
};

// A token is an int32_t holding the number of hops it still has to make. The initial injection
// from main() is not a hop; every forward between two ring members is. A node receiving a token
// with 0 hops left retires it.
behavior ring_node(stateful_actor<ring_node_state>* self, std::latch* tokens_done) {
  return {
      [=](actor next) -> ack_atom {
        self->state.next = std::move(next);
        return ack_atom::value;  // Lets setup wait for the wiring, keeping it out of the timing.
      },
      [=](int32_t hops_left) {
        if (hops_left == 0)
          tokens_done->count_down();
        else
          self->send(self->state.next, hops_left - 1);
      },
  };
}

double run_relay_ring(actor_system& system) {
  std::latch tokens_done{kRingTokens};
  std::vector<actor> ring;
  ring.reserve(kRingSize);
  for (int i = 0; i < kRingSize; ++i) ring.push_back(system.spawn(ring_node, &tokens_done));
  {
    caf::scoped_actor self{system};
    for (int i = 0; i < kRingSize; ++i) self->send(ring[i], ring[(i + 1) % kRingSize]);
    for (int i = 0; i < kRingSize; ++i) self->receive([](ack_atom) {});
  }

  constexpr int stride = kRingSize / kRingTokens;
  auto start = clock_type::now();
  for (int j = 0; j < kRingTokens; ++j) caf::anon_send(ring[j * stride], kHopsPerToken);
  tokens_done.wait();
  auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();

  // Nodes reference each other in a cycle, so they must be told to quit explicitly (this also
  // lets the actor_system destructor return).
  for (auto& node : ring) caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  return kMessagesPerRun / elapsed;
}

// -- fan_out -------------------------------------------------------------------------------------

struct subscriber_state {
  int32_t received = 0;
};

behavior subscriber(stateful_actor<subscriber_state>* self, std::latch* subscribers_done) {
  return {
      [=](int32_t) {
        if (++self->state.received == kPublishes) subscribers_done->count_down();
      },
  };
}

behavior publisher(caf::event_based_actor* self, caf::group topic) {
  return {
      [=](start_atom) {
        for (int32_t i = 0; i < kPublishes; ++i) self->send(topic, i);
      },
  };
}

double run_fan_out(actor_system& system) {
  std::latch subscribers_done{kSubscribers};
  auto topic = system.groups().get_local("topic");
  std::vector<actor> subscribers;
  subscribers.reserve(kSubscribers);
  // spawn_in_group joins the group in the actor's constructor, i.e. before spawn returns, so
  // every subscriber is registered before the first publish.
  for (int i = 0; i < kSubscribers; ++i)
    subscribers.push_back(system.spawn_in_group(topic, subscriber, &subscribers_done));
  auto pub = system.spawn(publisher, topic);

  auto start = clock_type::now();
  caf::anon_send(pub, start_atom::value);
  subscribers_done.wait();
  auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();

  caf::anon_send_exit(pub, caf::exit_reason::user_shutdown);
  for (auto& sub : subscribers) caf::anon_send_exit(sub, caf::exit_reason::user_shutdown);
  return kMessagesPerRun / elapsed;
}

// -- driver --------------------------------------------------------------------------------------

[[noreturn]] void usage_error(const char* program) {
  std::cerr << "usage: " << program << " [--threads N] [--workload relay_ring|fan_out|all]\n";
  std::exit(2);
}

template <class Run>
void bench(const char* name, int threads, Run run) {
  double best = 0.0;
  for (int i = 0; i < kRuns; ++i) {
    actor_system_config cfg;
    cfg.set("scheduler.max-threads", static_cast<size_t>(threads));
    actor_system system{cfg};
    double rate = run(system);
    std::cerr << name << " run " << (i + 1) << ": workers=" << system.scheduler().num_workers()
              << " msgs_per_s=" << static_cast<long long>(rate) << '\n';
    best = std::max(best, rate);
  }
  std::printf("%s caf msgs_per_s=%lld\n", name, static_cast<long long>(best));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  std::string workload = "all";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc) {
      char* end = nullptr;
      long value = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || value < 1 || value > 1024) usage_error(argv[0]);
      threads = static_cast<int>(value);
    } else if (arg == "--workload" && i + 1 < argc) {
      workload = argv[++i];
    } else {
      usage_error(argv[0]);
    }
  }
  if (workload != "all" && workload != "relay_ring" && workload != "fan_out") usage_error(argv[0]);

  if (workload == "all" || workload == "relay_ring") bench("relay_ring", threads, run_relay_ring);
  if (workload == "all" || workload == "fan_out") bench("fan_out", threads, run_fan_out);
  return 0;
}
