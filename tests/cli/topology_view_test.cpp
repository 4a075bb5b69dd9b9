// The topology views (`colony inspect`, `colony export`), on a hand-written run: three snapshots
// with a spawn, a prune and a merge between them, and a spawn just before the last. As in real
// runs, the last snapshot keeps front's link to the merged-away billing, with its final count.
#include "topology_view.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "cli_test_support.hpp"

namespace colony::cli {
namespace {

namespace fs = std::filesystem;
using broker::agent_id;
using colony::testing::read_file;
using colony::testing::scratch;

// Times of the fixture, tests/cli/fixtures/topology_run.
constexpr sim_time refund_desk_spawned = 30 * minute;
constexpr sim_time tech_pruned = 90 * minute;
constexpr sim_time billing_merged = 105 * minute;
constexpr sim_time password_desk_spawned = 110 * minute;

fs::path fixture() {
  return fs::path(COLONY_SOURCE_DIR) / "tests/cli/fixtures/topology_run";
}

std::vector<std::string> names(const snapshot& s) {
  std::vector<std::string> out;
  for (const auto& a : s.agents) out.push_back(a.name);
  std::sort(out.begin(), out.end());
  return out;
}

const topology_agent* agent_named(const snapshot& s, const std::string& name) {
  for (const auto& a : s.agents) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

const topology_pattern& pattern_named(const snapshot& s, const std::string& name) {
  return *std::find_if(s.patterns.begin(), s.patterns.end(),
                       [&](const auto& p) { return p.name == name; });
}

snapshot at(sim_time t) {
  auto s = topology_at(fixture(), t);
  EXPECT_TRUE(s) << s.error().message;
  return s ? *s : snapshot{};
}

// A run directory holding `lines` as its topology.jsonl (and an empty events.jsonl).
fs::path run_with_topology(const std::string& tag, const std::vector<std::string>& lines) {
  const auto dir = scratch("topology-" + tag);
  fs::create_directories(dir);
  std::ofstream(dir / "events.jsonl");
  std::ofstream out(dir / "topology.jsonl");
  for (const auto& l : lines) out << l << '\n';
  return dir;
}

std::string first_fixture_line() {
  std::ifstream in(fixture() / "topology.jsonl");
  std::string line;
  std::getline(in, line);
  return line;
}

// The message read_snapshots gives for a run whose topology.jsonl is `lines`.
std::string read_error(const std::string& tag, const std::vector<std::string>& lines) {
  const auto dir = run_with_topology(tag, lines);
  auto read = read_snapshots(dir);
  fs::remove_all(dir);
  EXPECT_FALSE(read) << tag << " was read without error";
  return read ? std::string() : read.error().message;
}

// A minimal XML check: every tag opened is closed, in order. Skips the declaration and comments.
bool balanced_xml(const std::string& xml) {
  std::vector<std::string> open;
  for (auto p = xml.find('<'); p != std::string::npos; p = xml.find('<', p + 1)) {
    if (xml.compare(p, 2, "<?") == 0 || xml.compare(p, 4, "<!--") == 0) continue;
    const auto end = xml.find('>', p);
    if (end == std::string::npos) return false;
    const std::string tag = xml.substr(p + 1, end - p - 1);
    if (tag.front() == '/') {
      if (open.empty() || open.back() != tag.substr(1)) return false;
      open.pop_back();
    } else if (tag.back() != '/') {
      open.push_back(tag.substr(0, tag.find(' ')));
    }
  }
  return open.empty();
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST(TopologyView, ReadsTheSnapshotsOfARun) {
  const auto snapshots = read_snapshots(fixture());
  ASSERT_TRUE(snapshots) << snapshots.error().message;
  ASSERT_EQ(snapshots->size(), 3u);
  EXPECT_EQ((*snapshots)[1].t, hour);
  EXPECT_EQ((*snapshots)[2].at, "end");
  const auto* refund = agent_named((*snapshots)[1], "refund_desk");
  ASSERT_NE(refund, nullptr);
  EXPECT_EQ(refund->id, agent_id{8});
  EXPECT_EQ(refund->parent, agent_id{6});
  EXPECT_EQ(refund->born, refund_desk_spawned);
  EXPECT_EQ(refund->backend, "small");
  EXPECT_EQ(refund->patterns, std::vector<std::string>{"refund"});
  EXPECT_EQ(agent_named((*snapshots)[0], "front")->parent, std::nullopt);
  EXPECT_EQ(
      (*snapshots)[1].edges[2],
      (topology_edge{.from = agent_id{3}, .to = agent_id{8}, .kind = "route", .requests = 10}));
  EXPECT_EQ(pattern_named((*snapshots)[1], "refund").covered_by,
            (std::vector{agent_id{4}, agent_id{8}}));
}

TEST(TopologyView, ReadsOnlySpawnsAndStopsFromTheEventLog) {
  const auto events = read_structural_events(fixture());
  ASSERT_TRUE(events) << events.error().message;
  // Seven agents of the scenario, two spawned by the organizer, one pruned and one merged away.
  ASSERT_EQ(events->size(), 11u);
  const auto& password = (*events)[10];
  EXPECT_EQ(password.t, password_desk_spawned);
  EXPECT_EQ(password.what, structural_event::change::spawned);
  EXPECT_EQ(password.agent.name, "password_desk");
  EXPECT_EQ(password.agent.backend, "large");
  EXPECT_EQ(password.agent.patterns, std::vector<std::string>{"password"});
  EXPECT_EQ(password.agent.parent, agent_id{6});
  EXPECT_EQ((*events)[0].agent.parent, std::nullopt) << "parent 0 is the world outside";
  EXPECT_EQ((*events)[9].what, structural_event::change::stopped);
  EXPECT_EQ((*events)[9].agent.id, agent_id{4});
}

TEST(TopologyAt, BetweenSnapshotsHasTheSpawnedAgentAndNotTheStoppedOnes) {
  const auto s = at(2 * hour);
  EXPECT_EQ(s.t, 2 * hour);
  EXPECT_EQ(names(s), (std::vector<std::string>{"backend:large", "backend:small", "front",
                                                "organizer", "password_desk", "refund_desk"}));
  const auto* password = agent_named(s, "password_desk");
  ASSERT_NE(password, nullptr);
  EXPECT_EQ(password->kind, "specialist");
  EXPECT_EQ(password->born, password_desk_spawned);
  EXPECT_EQ(password->backend, "large");
  // The stopped agents' edges go with them; the spawned agent has none until a snapshot says so.
  EXPECT_EQ(s.edges, (std::vector<topology_edge>{{agent_id{3}, agent_id{8}, "route", 10},
                                                 {agent_id{8}, agent_id{1}, "backend", 10}}));
  EXPECT_EQ(pattern_named(s, "refund").covered_by, std::vector{agent_id{8}});
  EXPECT_EQ(pattern_named(s, "password").covered_by, std::vector{agent_id{9}});
}

TEST(TopologyAt, AppliesEventsUpToAndIncludingTheTime) {
  const auto snapshots = read_snapshots(fixture());
  ASSERT_TRUE(snapshots);
  // On a snapshot's time, the snapshot itself.
  EXPECT_EQ(at(0), (*snapshots)[0]);
  EXPECT_EQ(at(hour), (*snapshots)[1]);
  EXPECT_EQ(at(3 * hour), (*snapshots)[2]);

  EXPECT_EQ(agent_named(at(refund_desk_spawned - 1), "refund_desk"), nullptr);
  EXPECT_EQ(agent_named(at(refund_desk_spawned - 1), "workload"), nullptr)
      << "the snapshots leave the workload source out";
  const auto spawned = at(refund_desk_spawned);
  ASSERT_NE(agent_named(spawned, "refund_desk"), nullptr);
  EXPECT_EQ(pattern_named(spawned, "refund").covered_by, (std::vector{agent_id{4}, agent_id{8}}));

  EXPECT_NE(agent_named(at(tech_pruned - 1), "tech"), nullptr);
  EXPECT_EQ(agent_named(at(tech_pruned), "tech"), nullptr);
  EXPECT_NE(agent_named(at(billing_merged - 1), "billing"), nullptr);
  EXPECT_EQ(agent_named(at(billing_merged), "billing"), nullptr);

  // After the last snapshot: the last one, at the time asked.
  auto later = at(10 * hour);
  EXPECT_EQ(later.t, 10 * hour);
  later.t = 3 * hour;
  EXPECT_EQ(later, (*snapshots)[2]);
}

TEST(TopologyAt, BeforeTheFirstSnapshotUsesTheFirst) {
  const std::vector<snapshot> snapshots{{.t = hour, .at = "start"}, {.t = 2 * hour, .at = "end"}};
  EXPECT_EQ(snapshot_before(snapshots, 0).t, hour);
  EXPECT_EQ(snapshot_before(snapshots, 90 * minute).t, hour);
  EXPECT_EQ(snapshot_before(snapshots, 2 * hour).t, 2 * hour);
  const std::vector<structural_event> spawn{{.t = 30 * minute,
                                             .what = structural_event::change::spawned,
                                             .agent = {.id = agent_id{1}, .parent = agent_id{9}}}};
  const auto early = replay(snapshot_before(snapshots, 0), spawn, 0);
  EXPECT_EQ(early.t, 0);
  EXPECT_TRUE(early.agents.empty()) << "an event before the snapshot is already in it";
}

TEST(TopologyView, MalformedSnapshotsNameTheLineAndTheField) {
  const auto good = first_fixture_line();
  EXPECT_NE(read_error("json", {good, "{\"t\": 5, "}).find("topology.jsonl:2: error: not JSON"),
            std::string::npos);
  auto no_born = good;
  no_born.replace(no_born.find(",\"born\":0"), 9, "");
  EXPECT_NE(read_error("field", {good, good, no_born})
                .find("topology.jsonl:3: error: /agents/0: missing \"born\""),
            std::string::npos);
  auto typo = good;
  typo.replace(typo.find("\"requests\":0"), 12, "\"requests\":\"0\"");
  EXPECT_NE(read_error("type", {typo}).find(":1: error: /edges/0/requests: not a non-negative"),
            std::string::npos);
  auto twice = good;
  twice.replace(twice.find("{\"id\":2,"), 8, "{\"id\":1,");
  EXPECT_NE(read_error("twice", {twice}).find(":1: error: /agents: agent 1 is listed twice"),
            std::string::npos);
  auto reason = good;
  reason.replace(reason.find("\"start\""), 7, "\"begin\"");
  EXPECT_NE(read_error("reason", {reason}).find("/at: unknown reason \"begin\""),
            std::string::npos);
  auto later = good;
  later.replace(0, 6, "{\"t\":9");
  EXPECT_NE(read_error("order", {later, good}).find(":2: error: /t: goes back in time"),
            std::string::npos);
  EXPECT_NE(read_error("empty", {}).find("topology.jsonl: error: no snapshot"), std::string::npos);
}

TEST(TopologyView, AMissingTopologyFileSaysWhy) {
  const auto old_run = run_with_topology("old", {});
  fs::remove(old_run / "topology.jsonl");
  const auto read = read_snapshots(old_run);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, errc::bad_input);
  EXPECT_NE(read.error().message.find((old_run / "topology.jsonl").string() +
                                      ": error: the run has no topology.jsonl"),
            std::string::npos)
      << read.error().message;
  fs::remove_all(old_run);

  const auto nowhere = read_snapshots("/nonexistent-run");
  ASSERT_FALSE(nowhere);
  EXPECT_NE(nowhere.error().message.find("is /nonexistent-run a run directory"), std::string::npos);
}

TEST(TopologyView, AnEdgeToAStoppedAgentShowsItsId) {
  const auto snapshots = read_snapshots(fixture());
  ASSERT_TRUE(snapshots) << snapshots.error().message;
  const auto& end = (*snapshots)[2];
  ASSERT_EQ(end.edges[0], (topology_edge{agent_id{3}, agent_id{4}, "link", 50}));
  std::ostringstream text;
  print_topology(end, end.t, text);
  EXPECT_NE(text.str().find("  front          ->  #4             link           50\n"),
            std::string::npos)
      << text.str();
  const auto dot = snapshot_dot(end);
  EXPECT_NE(dot.find("a4 [label=\"#4\", style=dotted];"), std::string::npos) << dot;
  EXPECT_EQ(occurrences(dot, "  a4 ["), 1u) << dot;
  // Without the events that tell its story, the GEXF still declares every edge's ends.
  const auto gexf = evolution_gexf({end}, {});
  EXPECT_NE(gexf.find(R"(<node id="4" label="#4" start="10800">)"), std::string::npos) << gexf;
}

TEST(TopologyView, JsonLinesReadBackEqual) {
  const auto snapshots = read_snapshots(fixture());
  ASSERT_TRUE(snapshots);
  std::vector<std::string> lines;
  for (const auto& s : *snapshots) lines.push_back(snapshot_json(s));
  const auto dir = run_with_topology("json", lines);
  const auto again = read_snapshots(dir);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, *snapshots);
  fs::remove_all(dir);
}

TEST(TopologyView, PrintsAlignedTables) {
  const auto snapshots = read_snapshots(fixture());
  ASSERT_TRUE(snapshots);
  std::ostringstream out;
  print_topology(at(2 * hour), hour, out);
  const auto text = out.str();
  EXPECT_EQ(text.rfind("topology at 0d 02:00:00.000 (snapshot at 0d 01:00:00.000, 6 agents, "
                       "2 edges)\n",
                       0),
            0u)
      << text;
  // Every agent's kind starts under the header's "kind"; parents are named.
  std::istringstream lines(text.substr(text.find("\nagents\n") + 8));
  std::string header, row;
  std::getline(lines, header);
  const auto kind = header.find("kind");
  ASSERT_NE(kind, std::string::npos);
  std::size_t rows = 0;
  while (std::getline(lines, row) && !row.empty()) {
    ++rows;
    EXPECT_EQ(row[kind - 1], ' ') << row;
    EXPECT_NE(row[kind], ' ') << row;
    EXPECT_EQ(row.back() == ' ', false) << "trailing space: " << row;
  }
  EXPECT_EQ(rows, 6u);
  EXPECT_NE(
      text.find(
          "password_desk  specialist  -         large    organizer  0d 01:50:00.000  password\n"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("  front        ->  refund_desk    route          10\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("  password    15  password_desk\n"), std::string::npos) << text;
}

TEST(TopologyView, DotEscapesNamesAndDashesBackendEdges) {
  snapshot s{.t = hour};
  s.agents = {{.id = agent_id{1}, .name = "say \"hi\" \\o/", .kind = "specialist"},
              {.id = agent_id{2}, .name = "backend:small", .kind = "backend"}};
  s.edges = {{agent_id{1}, agent_id{2}, "backend", 999}};
  const auto dot = snapshot_dot(s);
  EXPECT_EQ(dot.rfind("digraph topology {\n", 0), 0u);
  EXPECT_NE(dot.find(R"(a1 [label="say \"hi\" \\o/\nspecialist"];)"), std::string::npos) << dot;
  EXPECT_NE(dot.find(R"(a2 [label="backend:small\nbackend", shape=cylinder];)"), std::string::npos)
      << dot;
  EXPECT_NE(dot.find(R"(a1 -> a2 [label="999", penwidth=4.00, style=dashed];)"), std::string::npos)
      << dot;
}

TEST(TopologyView, GexfGivesEachAgentItsLifetime) {
  const auto snapshots = read_snapshots(fixture());
  const auto events = read_structural_events(fixture());
  ASSERT_TRUE(snapshots && events);
  const auto gexf = evolution_gexf(*snapshots, *events);
  EXPECT_NE(gexf.find(R"(<gexf xmlns="http://gexf.net/1.3" version="1.3">)"), std::string::npos);
  EXPECT_NE(gexf.find(R"(<graph mode="dynamic" defaultedgetype="directed" timeformat="double">)"),
            std::string::npos);
  EXPECT_TRUE(balanced_xml(gexf)) << gexf;
  EXPECT_EQ(occurrences(gexf, "<node "), 8u);
  EXPECT_EQ(occurrences(gexf, "</node>"), 8u);
  EXPECT_EQ(occurrences(gexf, "<edge "), 8u);
  EXPECT_EQ(occurrences(gexf, "</edge>"), 8u);
  // Seconds of simulated time: pruned at 1h30, merged away at 1h45, spawned at 1h50.
  EXPECT_NE(gexf.find(R"(<node id="5" label="tech" start="0" end="5400">)"), std::string::npos);
  EXPECT_NE(gexf.find(R"(<node id="4" label="billing" start="0" end="6300">)"), std::string::npos);
  EXPECT_NE(gexf.find(R"(<node id="9" label="password_desk" start="6600">)"), std::string::npos);
  EXPECT_NE(gexf.find(R"(<attvalue for="kind" value="specialist"/>)"), std::string::npos);
  // An edge ends with its agent, though the next snapshot is at 3h; its requests change at 1h.
  const auto edge = gexf.find(R"(<edge id="3-5-link" source="3" target="5" kind="link" )"
                              R"(start="0" end="5400">)");
  ASSERT_NE(edge, std::string::npos) << gexf;
  const auto body = gexf.substr(edge, gexf.find("</edge>", edge) - edge);
  EXPECT_NE(body.find(R"(<attvalue for="requests" value="0" start="0" end="3600"/>)"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find(R"(<attvalue for="requests" value="30" start="3600" end="5400"/>)"),
            std::string::npos)
      << body;
  EXPECT_NE(gexf.find(R"(<edge id="3-8-route" source="3" target="8" kind="route" start="3600">)"),
            std::string::npos);
  // The last snapshot's link to billing, merged away at 1h45, does not bring it back.
  EXPECT_NE(gexf.find(R"(<edge id="3-4-link" source="3" target="4" kind="link" )"
                      R"(start="0" end="6300">)"),
            std::string::npos);
}

TEST(TopologyView, GexfEscapesTextAndGivesAReturningEdgeTwoSpells) {
  const topology_agent odd{.id = agent_id{1}, .name = "a<b & \"c\"", .kind = "x'y"};
  const topology_agent other{.id = agent_id{2}, .name = "b"};
  const topology_edge link{agent_id{1}, agent_id{2}, "link", 1};
  const std::vector<snapshot> snapshots{
      {.t = 0, .at = "start", .agents = {odd, other}, .edges = {link}},
      {.t = sec, .at = "bucket", .agents = {odd, other}},
      {.t = 2 * sec, .at = "end", .agents = {odd, other}, .edges = {link}}};
  const auto gexf = evolution_gexf(snapshots, {});
  EXPECT_TRUE(balanced_xml(gexf)) << gexf;
  EXPECT_NE(gexf.find(R"(label="a&lt;b &amp; &quot;c&quot;")"), std::string::npos) << gexf;
  EXPECT_NE(gexf.find(R"(value="x&apos;y")"), std::string::npos) << gexf;
  EXPECT_NE(gexf.find(R"(<spell start="0" end="1"/>)"), std::string::npos) << gexf;
  EXPECT_NE(gexf.find(R"(<spell start="2"/>)"), std::string::npos) << gexf;
}

TEST(TopologyView, WritesOneDotFilePerSnapshot) {
  const auto dir = scratch("topology-dots");
  const auto written = write_dot_snapshots(fixture(), dir);
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(*written, 3u);
  for (const char* name :
       {"topology-0000-0.dot", "topology-0001-3600.dot", "topology-0002-10800.dot"}) {
    EXPECT_EQ(read_file(dir / name).rfind("digraph topology {", 0), 0u) << name;
  }
  fs::remove_all(dir);
}

TEST(Inspect, PrintsTheNetworkAtATime) {
  const auto r = colony::testing::colony("inspect " + fixture().string() + " --at 2h");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* name : {"front", "refund_desk", "password_desk", "organizer"}) {
    EXPECT_NE(r.output.find(name), std::string::npos) << name << "\n" << r.output;
  }
  EXPECT_EQ(r.output.find("billing"), std::string::npos) << r.output;

  const auto json = colony::testing::colony("inspect " + fixture().string() + " --json");
  ASSERT_EQ(json.exit_code, 0) << json.output;
  const auto end = boost::json::parse(json.output).as_object();
  EXPECT_EQ(end.at("t").to_number<sim_time>(), 3 * hour);
  EXPECT_EQ(end.at("agents").as_array().size(), 6u);

  const auto dot = colony::testing::colony("inspect " + fixture().string() + " --at 45min --dot");
  ASSERT_EQ(dot.exit_code, 0) << dot.output;
  EXPECT_NE(dot.output.find("refund_desk\\nspecialist"), std::string::npos) << dot.output;
}

TEST(Inspect, BadInputExitsTwoNamingTheProblem) {
  const auto missing = colony::testing::colony("inspect /nonexistent");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("/nonexistent/topology.jsonl: error: cannot read"),
            std::string::npos)
      << missing.output;
  const auto when = colony::testing::colony("inspect " + fixture().string() + " --at soon");
  EXPECT_EQ(when.exit_code, 2);
  EXPECT_NE(when.output.find("--at soon: error: not a duration"), std::string::npos) << when.output;
}

TEST(Export, WritesGexfAndDotFiles) {
  const auto out = scratch("topology-export");
  const auto r = colony::testing::colony("export " + fixture().string() + " --gexf " +
                                         (out.string() + ".gexf") + " --dot " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(balanced_xml(read_file(out.string() + ".gexf")));
  EXPECT_TRUE(fs::exists(out / "topology-0002-10800.dot"));
  fs::remove_all(out);
  fs::remove(out.string() + ".gexf");

  const auto nothing = colony::testing::colony("export " + fixture().string());
  EXPECT_EQ(nothing.exit_code, 2);
  EXPECT_NE(nothing.output.find("nothing to export"), std::string::npos) << nothing.output;
}

}  // namespace
}  // namespace colony::cli
