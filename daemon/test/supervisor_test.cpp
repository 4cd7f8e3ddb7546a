// Unit tests of the supervisor without processes: a fake spawner (pids, exits and signals the
// test decides), a fake clock (the test advances it) and a fake replier (every reply recorded).
// The dataflow file, its segment and the runtime directory are real. Each test takes
// milliseconds: time passes only when the test says so.
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <zeroflow/protocol/protocol.hpp>

#include "../src/supervisor.hpp"

namespace zeroflow::daemon {
namespace {

using namespace std::chrono_literals;

/// Wait statuses as waitpid writes them.
int exited(int code) {
    return code << 8;
}
int killed(int signal) {
    return signal;
}

class FakeClock final : public ClockSource {
public:
    Clock::time_point now() const override { return now_; }
    void advance(Clock::duration d) { now_ += d; }

private:
    Clock::time_point now_ = Clock::time_point{} + 1000h;
};

/// Processes are records: the test ends them (exit), the supervisor signals them. A SIGKILL
/// ends a process; a SIGTERM ends it only when the test says the node heeds SIGTERM.
class FakeSpawner final : public Spawner {
public:
    struct Spawn {
        Clock::time_point at;
        std::string node;
        pid_t pid;
    };
    struct Signal {
        Clock::time_point at;
        pid_t pid;
        int signal;
        bool operator==(const Signal&) const = default;
    };

    explicit FakeSpawner(const FakeClock& clock) : clock_(clock) {}

    std::expected<Spawned, std::string> spawn(const SpawnRequest& request) override {
        const pid_t pid = next_pid_++;
        spawns.push_back({clock_.now(), request.node->id, pid});
        processes_[pid] = Process{request.node->id, std::nullopt, false};
        // A descriptor the supervisor may watch and close, as it does a pidfd.
        return Spawned{pid, ::eventfd(0, EFD_CLOEXEC), -1, false};
    }
    std::size_t signal_tree(const NodeIdentity& node, int signal) override {
        auto it = processes_.find(node.pid);
        if (it == processes_.end() || it->second.status) {
            return 0; // nothing of it is alive
        }
        signals.push_back({clock_.now(), node.pid, signal});
        if (signal == SIGKILL || (signal == SIGTERM && heeds_sigterm)) {
            it->second.status = killed(signal);
        }
        return 1;
    }
    std::optional<int> wait(pid_t pid, bool block) override {
        auto& p = processes_.at(pid);
        if (!p.status && block) {
            p.status = killed(SIGKILL);
        }
        if (!p.status || p.reaped) {
            return p.reaped ? std::optional<int>(0) : std::nullopt;
        }
        p.reaped = true;
        return p.status;
    }
    std::vector<std::pair<pid_t, int>> reap() override {
        std::vector<std::pair<pid_t, int>> out;
        for (auto& [pid, p] : processes_) {
            if (p.status && !p.reaped) {
                p.reaped = true;
                out.emplace_back(pid, *p.status);
            }
        }
        return out;
    }
    std::filesystem::path cgroup_base() const override { return {}; }

    /// The process ends with `status` (the supervisor sees it at its next tick).
    void exit(pid_t pid, int status) { processes_.at(pid).status = status; }
    /// The newest process of `node`.
    pid_t pid_of(const std::string& node) const {
        for (auto it = spawns.rbegin(); it != spawns.rend(); ++it) {
            if (it->node == node) {
                return it->pid;
            }
        }
        ADD_FAILURE() << "node " << node << " was never spawned";
        return -1;
    }
    std::size_t spawns_of(const std::string& node) const {
        return static_cast<std::size_t>(std::count_if(
            spawns.begin(), spawns.end(), [&](const Spawn& s) { return s.node == node; }));
    }

    std::vector<Spawn> spawns;
    std::vector<Signal> signals; ///< delivered to live processes only
    bool heeds_sigterm = false;

private:
    struct Process {
        std::string node;
        std::optional<int> status;
        bool reaped = false;
    };
    const FakeClock& clock_;
    pid_t next_pid_ = 4000;
    std::map<pid_t, Process> processes_;
};

class FakeReplier final : public Replier {
public:
    struct Reply {
        ConnId conn;
        Json message;
        bool with_fd;
    };
    void reply(ConnId conn, const Json& message) override {
        replies.push_back({conn, message, false});
    }
    bool reply_with_fd(ConnId conn, const Json& message, int fd) override {
        EXPECT_GE(fd, 0);
        replies.push_back({conn, message, true});
        return true;
    }
    void reply_encoded(ConnId conn, std::string_view frame) noexcept override {
        replies.push_back({conn, Json{{"encoded", std::string(frame)}}, false});
    }
    void close_connection(ConnId conn) override { closed.push_back(conn); }

    /// Every reply to `conn`, oldest first.
    std::vector<Reply> to(ConnId conn) const {
        std::vector<Reply> out;
        for (const auto& r : replies) {
            if (r.conn == conn) {
                out.push_back(r);
            }
        }
        return out;
    }

    std::vector<Reply> replies;
    std::vector<ConnId> closed;
};

constexpr ConnId kCli = 1;

class SupervisorTest : public ::testing::Test {
protected:
    SupervisorTest() {
        char pattern[] = "/tmp/zeroflow-supervisor-test-XXXXXX";
        dir_ = ::mkdtemp(pattern);
        options_.runtime_dir = dir_ / "run";
        std::filesystem::create_directories(options_.runtime_dir);
        options_.limits = Limits{}.resolved();
        options_.keep_runs = 0;
        spdlog::set_level(spdlog::level::err); // its info and warning lines would drown gtest's
        sut_.emplace(loop_, replier_, options_, spawner_, clock_);
    }
    ~SupervisorTest() override {
        sut_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    /// Writes `yaml` as the dataflow file and starts it; returns the start reply's conn.
    void start(const std::string& yaml) {
        const auto file = dir_ / "dataflow.yml";
        std::ofstream(file) << yaml;
        sut_->handle(kCli, Json{{"op", "start"}, {"path", file.string()}});
    }
    Json registration(const std::string& uuid, const std::string& node) {
        return Json{{"op", "register"},
                    {"protocol_version", protocol::kProtocolVersion},
                    {"dataflow_id", uuid},
                    {"node_id", node}};
    }
    /// The dataflow `list` shows first.
    Json listed() {
        const auto before = replier_.replies.size();
        sut_->handle(99, Json{{"op", "list"}});
        EXPECT_EQ(replier_.replies.size(), before + 1);
        const auto& list = replier_.replies.back().message.at("dataflows");
        return list.empty() ? Json() : list.front();
    }
    Json node_in(const Json& dataflow, const std::string& id) {
        for (const auto& n : dataflow.at("nodes")) {
            if (n.at("id") == id) {
                return n;
            }
        }
        ADD_FAILURE() << "no node " << id;
        return {};
    }
    /// Starts `yaml` and registers every node: returns the dataflow's uuid.
    std::string start_running(const std::string& yaml, const std::vector<std::string>& nodes) {
        start(yaml);
        const auto uuid = listed().at("uuid").get<std::string>();
        ConnId conn = 10;
        for (const auto& n : nodes) {
            sut_->handle(conn++, registration(uuid, n));
        }
        EXPECT_EQ(listed().at("status"), "running");
        return uuid;
    }
    void advance(Clock::duration d) {
        clock_.advance(d);
        sut_->tick();
    }

    std::filesystem::path dir_;
    Options options_;
    Loop loop_;
    FakeReplier replier_;
    FakeClock clock_;
    FakeSpawner spawner_{clock_};
    std::optional<Supervisor> sut_;
};

const std::string kPipeline = R"(nodes:
  - id: source
    path: /bin/true
    outputs: [out]
  - id: sink
    path: /bin/true
    inputs:
      in: source/out
)";

/// `source` restarts on failure: 1 s, doubling to a 4 s cap; `extra` adds its own keys.
std::string restarting_source(const std::string& extra) {
    return R"(nodes:
  - id: source
    path: /bin/true
    outputs: [out]
    restart_policy: on-failure
    restart_delay: 1s
    max_restart_delay: 4s
)" + extra +
           R"(  - id: sink
    path: /bin/true
    inputs:
      in: source/out
)";
}

TEST_F(SupervisorTest, StartIsAnsweredOnceEveryNodeRegistered) {
    start(kPipeline);
    ASSERT_EQ(spawner_.spawns.size(), 2U);
    EXPECT_TRUE(replier_.to(kCli).empty()) << "held until the barrier";
    const auto uuid = listed().at("uuid").get<std::string>();
    EXPECT_EQ(listed().at("status"), "starting");

    sut_->handle(10, registration(uuid, "sink"));
    EXPECT_TRUE(replier_.to(10).empty());
    EXPECT_TRUE(replier_.to(kCli).empty());
    sut_->handle(11, registration(uuid, "source"));

    // Both nodes get their setup with the segment, then the CLI its answer.
    for (const auto& [conn, node] : {std::pair<ConnId, const char*>{10, "sink"}, {11, "source"}}) {
        const auto replies = replier_.to(conn);
        ASSERT_EQ(replies.size(), 1U) << node;
        EXPECT_TRUE(replies[0].with_fd);
        EXPECT_EQ(replies[0].message.at("ok"), true);
        EXPECT_EQ(replies[0].message.at("node_id"), node);
        EXPECT_EQ(replies[0].message.at("dataflow_id"), uuid);
    }
    EXPECT_EQ(replier_.to(10)[0].message.at("inputs").size(), 1U);
    EXPECT_EQ(replier_.to(11)[0].message.at("outputs").at(0).at("id"), "out");
    const auto cli = replier_.to(kCli);
    ASSERT_EQ(cli.size(), 1U);
    EXPECT_EQ(cli[0].message.at("ok"), true);
    EXPECT_EQ(cli[0].message.at("uuid"), uuid);
    const auto df = listed();
    EXPECT_EQ(df.at("status"), "running");
    EXPECT_EQ(df.at("nodes_running"), 2);
    EXPECT_EQ(node_in(df, "source").at("pid"), spawner_.pid_of("source"));
}

TEST_F(SupervisorTest, StartTimesOutNamingTheNodesThatNeverRegistered) {
    start(kPipeline);
    const auto uuid = listed().at("uuid").get<std::string>();
    sut_->handle(10, registration(uuid, "sink"));
    advance(59s);
    EXPECT_TRUE(replier_.to(kCli).empty());
    advance(1s); // the default start timeout: 60 s
    const auto cli = replier_.to(kCli);
    ASSERT_EQ(cli.size(), 1U);
    EXPECT_EQ(cli[0].message.at("error").at("kind"), "start_failed");
    const auto message = cli[0].message.at("error").at("message").get<std::string>();
    EXPECT_NE(message.find("within the start timeout: source ("), std::string::npos) << message;
    EXPECT_EQ(replier_.to(10).back().message.at("error").at("kind"), "start_failed");
}

TEST_F(SupervisorTest, OnFailureRestartsWithABackoffThatDoublesToItsCap) {
    start_running(restarting_source(""), {"source", "sink"});
    // Delays 1 s, 2 s, 4 s, then 4 s (the cap).
    for (const auto delay : {1000ms, 2000ms, 4000ms, 4000ms}) {
        const auto before = spawner_.spawns_of("source");
        spawner_.exit(spawner_.pid_of("source"), exited(3));
        sut_->tick();
        const auto crashed = clock_.now();
        EXPECT_EQ(node_in(listed(), "source").at("status"), "restarting");
        advance(delay - 1ms);
        EXPECT_EQ(spawner_.spawns_of("source"), before) << "in backoff";
        advance(1ms);
        ASSERT_EQ(spawner_.spawns_of("source"), before + 1);
        EXPECT_EQ(spawner_.spawns.back().at - crashed, delay);
    }
    const auto source = node_in(listed(), "source");
    EXPECT_EQ(source.at("restarts"), 4);
    EXPECT_EQ(source.at("last_exit").at("exit_code"), 3);
    EXPECT_EQ(source.at("status"), "starting"); // until it registers again
    EXPECT_EQ(spawner_.spawns_of("sink"), 1U) << "its neighbour is left alone";
    EXPECT_TRUE(spawner_.signals.empty());
}

TEST_F(SupervisorTest, MaxRestartsSpentTheNodeFailsAndSoDoesTheRun) {
    const auto uuid = start_running(restarting_source("    max_restarts: 2\n"), {"source", "sink"});
    for (int crash = 0; crash < 2; ++crash) {
        spawner_.exit(spawner_.pid_of("source"), exited(1));
        sut_->tick();
        advance(10s);
    }
    ASSERT_EQ(spawner_.spawns_of("source"), 3U);
    spawner_.exit(spawner_.pid_of("source"), exited(1));
    sut_->tick();
    advance(60s);
    EXPECT_EQ(spawner_.spawns_of("source"), 3U) << "no third restart";
    auto source = node_in(listed(), "source");
    EXPECT_EQ(source.at("status"), "exited");
    EXPECT_EQ(source.at("restarts"), 2);
    EXPECT_EQ(source.at("exit_code"), 1);
    // Its output is closed now (the sink sees InputClosed): the sink ends, so does the run.
    sut_->handle(50, Json{{"op", "stats"}, {"dataflow", uuid}});
    const auto stats = replier_.to(50).at(0).message;
    EXPECT_EQ(stats.at("outputs").at(0).at("name"), "source/out");
    EXPECT_EQ(stats.at("outputs").at(0).at("closed"), true);
    sut_->handle(51, Json{{"op", "wait"}, {"dataflow", uuid}});
    spawner_.exit(spawner_.pid_of("sink"), exited(0));
    sut_->tick();
    const auto waited = replier_.to(51);
    ASSERT_EQ(waited.size(), 1U);
    EXPECT_EQ(waited[0].message.at("status"), "finished");
    EXPECT_EQ(waited[0].message.at("success"), false);
    EXPECT_EQ(waited[0].message.at("failed_nodes"), Json::array({"source"}));
    EXPECT_FALSE(waited[0].message.contains("stop_requested")) << "it ended by itself";
}

TEST_F(SupervisorTest, RestartsOlderThanTheWindowNoLongerCount) {
    start_running(restarting_source("    max_restarts: 2\n    restart_window: 10s\n"),
                  {"source", "sink"});
    const auto window_start = clock_.now();
    spawner_.exit(spawner_.pid_of("source"), exited(1));
    sut_->tick();
    advance(1s); // restart 1
    spawner_.exit(spawner_.pid_of("source"), exited(1));
    sut_->tick();
    advance(2s); // restart 2: the window's budget is spent
    ASSERT_EQ(spawner_.spawns_of("source"), 3U);
    // 11 s after the window began, a third crash starts a new window: it is restarted, after
    // the first delay again.
    advance(window_start + 11s - clock_.now());
    spawner_.exit(spawner_.pid_of("source"), exited(1));
    sut_->tick();
    const auto crashed = clock_.now();
    EXPECT_EQ(node_in(listed(), "source").at("status"), "restarting");
    advance(1s);
    ASSERT_EQ(spawner_.spawns_of("source"), 4U);
    EXPECT_EQ(spawner_.spawns.back().at - crashed, 1s);
    EXPECT_EQ(node_in(listed(), "source").at("restarts"), 3);
}

TEST_F(SupervisorTest, AStopDuringTheBackoffRestartsNothing) {
    const auto uuid = start_running(restarting_source(""), {"source", "sink"});
    spawner_.exit(spawner_.pid_of("source"), killed(SIGSEGV));
    sut_->tick();
    ASSERT_EQ(node_in(listed(), "source").at("status"), "restarting");
    sut_->handle(2, Json{{"op", "stop"}, {"dataflow", uuid}, {"grace_s", 1}});
    auto source = node_in(listed(), "source");
    EXPECT_EQ(source.at("status"), "exited");
    EXPECT_EQ(source.at("signal"), SIGSEGV);
    spawner_.exit(spawner_.pid_of("sink"), exited(0)); // it heeds Stop
    advance(5s);
    EXPECT_EQ(spawner_.spawns_of("source"), 1U) << "the backoff ended with the stop";
    const auto stopped = replier_.to(2);
    ASSERT_EQ(stopped.size(), 1U);
    EXPECT_EQ(stopped[0].message.at("status"), "finished");
    EXPECT_EQ(node_in(stopped[0].message, "source").at("restarts"), 0);
    // What zeroflow-bridge reads to stop the other machines too (docs/design/machines.md).
    EXPECT_EQ(stopped[0].message.at("stop_requested"), true);
    EXPECT_TRUE(spawner_.signals.empty()) << "nobody needed a signal";
}

TEST_F(SupervisorTest, StopEscalatesToSigtermAfterTheGraceThenSigkill) {
    const auto uuid = start_running(kPipeline, {"source", "sink"});
    const auto stop_at = clock_.now();
    sut_->handle(2, Json{{"op", "stop"}, {"dataflow", uuid}, {"grace_s", 1.5}});
    EXPECT_EQ(listed().at("status"), "stopping");
    advance(500ms);
    spawner_.exit(spawner_.pid_of("source"), exited(0)); // the source heeds Stop
    advance(999ms);
    EXPECT_TRUE(spawner_.signals.empty()) << "within the grace";
    advance(1ms);
    const auto sink = spawner_.pid_of("sink");
    ASSERT_EQ(spawner_.signals.size(), 1U);
    EXPECT_EQ(spawner_.signals[0], (FakeSpawner::Signal{stop_at + 1500ms, sink, SIGTERM}));
    advance(1999ms); // it ignores SIGTERM
    EXPECT_EQ(spawner_.signals.size(), 1U);
    EXPECT_TRUE(replier_.to(2).empty());
    advance(1ms);
    ASSERT_EQ(spawner_.signals.size(), 2U);
    EXPECT_EQ(spawner_.signals[1], (FakeSpawner::Signal{stop_at + 3500ms, sink, SIGKILL}));
    sut_->tick(); // reaps it
    const auto stopped = replier_.to(2);
    ASSERT_EQ(stopped.size(), 1U);
    EXPECT_EQ(stopped[0].message.at("ok"), true);
    const auto s = node_in(stopped[0].message, "sink");
    EXPECT_EQ(s.at("signal"), SIGKILL);
    EXPECT_EQ(s.at("stopped_by_daemon"), true);
    EXPECT_EQ(node_in(stopped[0].message, "source").at("stopped_by_daemon"), false);
    EXPECT_EQ(stopped[0].message.at("failed_nodes"), Json::array({"sink"}));
}

/// A `remote_parts` request as zeroflow-bridge sends it: machine a runs `nodes`, in `state`.
Json remote_parts(const std::string& uuid, const std::string& state,
                  const std::vector<std::string>& nodes,
                  const std::vector<std::string>& stand_ins) {
    return Json{
        {"op", "remote_parts"},
        {"dataflow", uuid},
        {"machines", Json::array({Json{{"machine", "a"}, {"state", state}, {"nodes", nodes}}})},
        {"stand_ins", stand_ins}};
}

TEST_F(SupervisorTest, RemotePartsAreValidatedAndListedAndTheirNodesGetRemoteNode) {
    options_.machine_id = "b";
    sut_.emplace(loop_, replier_, options_, spawner_, clock_);
    // Machine b's part: `source` stands in for machine a's node of that id.
    const auto uuid = start_running(kPipeline, {"source", "sink"});
    EXPECT_FALSE(listed().contains("remote_nodes")) << "a dataflow of one machine lists as before";
    ConnId conn = 100;
    auto reply_to = [&](const Json& request) {
        sut_->handle(++conn, request);
        const auto replies = replier_.to(conn);
        EXPECT_EQ(replies.size(), 1U) << request.dump();
        return replies.empty() ? Json() : replies.back().message;
    };
    auto kind_of = [&](const Json& request) {
        const auto reply = reply_to(request);
        return reply.contains("error") ? reply["error"].value("kind", "") : std::string("ok");
    };
    const auto good = remote_parts(uuid, "running", {"source", "camera"}, {"source"});
    // Bad shapes: each a bad_request, nothing changed.
    for (const auto& [field, value] : std::vector<std::pair<std::string, Json>>{
             {"dataflow", 7},
             {"dataflow", ""},
             {"machines", "a"},
             {"machines", Json::array({1})},
             {"machines", Json::array({Json{{"state", "running"}, {"nodes", Json::array()}}})},
             {"machines",
              Json::array({Json{{"machine", "a"}, {"state", "flying"}, {"nodes", {}}}})},
             {"machines", Json::array({Json{{"machine", "a"}, {"state", "running"}}})},
             {"machines",
              Json::array({Json{{"machine", "a"}, {"state", "running"}, {"nodes", {1}}}})},
             {"machines",
              Json::array({Json{{"machine", "a"}, {"state", "running"}, {"nodes", {""}}}})},
             {"machines",
              Json::array({Json{{"machine", "a"}, {"state", "lost"}, {"nodes", {"x"}}},
                           Json{{"machine", "a"}, {"state", "lost"}, {"nodes", {"y"}}}})},
             {"machines",
              Json::array({Json{{"machine", "a"}, {"state", "lost"}, {"nodes", {"x"}}},
                           Json{{"machine", "c"}, {"state", "lost"}, {"nodes", {"x"}}}})},
             {"stand_ins", "source"},
             {"stand_ins", Json::array({"ghost"})}, // not a remote node
         }) {
        auto request = good;
        request[field] = value;
        EXPECT_EQ(kind_of(request), "bad_request") << request.dump();
    }
    auto without_dataflow = good;
    without_dataflow.erase("dataflow");
    EXPECT_EQ(kind_of(without_dataflow), "bad_request");
    EXPECT_EQ(kind_of(Json{{"op", "remote_parts"}}), "bad_request");
    // What it names: an unknown dataflow, a clash with a local node that is not its stand-in,
    // a stand-in that is no local node, this daemon's own machine.
    EXPECT_EQ(
        kind_of(remote_parts("00000000-0000-4000-8000-000000000000", "running", {"camera"}, {})),
        "no_such_dataflow");
    const auto clash = reply_to(remote_parts(uuid, "running", {"sink"}, {}));
    EXPECT_EQ(clash["error"].value("kind", ""), "bad_request");
    EXPECT_NE(clash["error"].value("message", "").find("clashes with the local node 'sink'"),
              std::string::npos)
        << clash.dump();
    EXPECT_EQ(kind_of(remote_parts(uuid, "running", {"camera"}, {"camera"})), "bad_request");
    auto own = good;
    own["machines"][0]["machine"] = "b";
    EXPECT_EQ(kind_of(own), "bad_request");
    EXPECT_FALSE(listed().contains("remote_nodes")) << "a refused request changes nothing";

    // Accepted: list shows the remote nodes, their machine and state; requests naming them
    // get remote_node, the local ones are served as before.
    EXPECT_EQ(kind_of(good), "ok");
    auto df = listed();
    EXPECT_EQ(df.at("machine"), "b");
    EXPECT_EQ(df.at("spans_machines"), Json::array({"a", "b"}));
    EXPECT_EQ(df.at("remote_nodes"),
              Json::parse(R"([{"id": "source", "machine": "a", "state": "running"},
                              {"id": "camera", "machine": "a", "state": "running"}])"));
    EXPECT_EQ(node_in(df, "source").at("stand_in_for"), "a");
    EXPECT_FALSE(node_in(df, "sink").contains("stand_in_for"));
    const auto logs = reply_to(Json{{"op", "logs"}, {"dataflow", uuid}, {"node", "camera"}});
    EXPECT_EQ(logs["error"].value("kind", ""), "remote_node");
    EXPECT_NE(logs["error"]
                  .value("message", "")
                  .find("node 'camera' of dataflow " + uuid +
                        " runs on machine 'a' (state: running), "
                        "not here (machine 'b')"),
              std::string::npos)
        << logs.dump();
    EXPECT_EQ(kind_of(Json{{"op", "logs"}, {"dataflow", uuid}, {"node", "source"}}), "remote_node");
    EXPECT_EQ(kind_of(Json{{"op", "logs"}, {"dataflow", uuid}, {"node", "sink"}}), "ok");
    EXPECT_EQ(kind_of(Json{{"op", "logs"}, {"dataflow", uuid}, {"node", "ghost"}}), "no_such_node");
    EXPECT_EQ(kind_of(Json{{"op", "connect_dynamic"},
                           {"protocol_version", protocol::kProtocolVersion},
                           {"node_id", "camera"}}),
              "remote_node");
    EXPECT_EQ(kind_of(Json{{"op", "connect_dynamic"},
                           {"protocol_version", protocol::kProtocolVersion},
                           {"node_id", "camera"},
                           {"dataflow", uuid}}),
              "remote_node");
    // An output of a remote node no local node reads (nothing stands in for it here).
    EXPECT_EQ(kind_of(Json{{"op", "attach_tap"},
                           {"protocol_version", protocol::kProtocolVersion},
                           {"dataflow", uuid},
                           {"outputs", Json::array({"camera/image"})}}),
              "remote_node");
    EXPECT_EQ(kind_of(Json{{"op", "attach_tap"},
                           {"protocol_version", protocol::kProtocolVersion},
                           {"dataflow", uuid},
                           {"outputs", Json::array({"sink/none"})}}),
              "no_such_output");
    // Machine a lost: the next update says so.
    EXPECT_EQ(kind_of(remote_parts(uuid, "lost", {"source", "camera"}, {"source"})), "ok");
    EXPECT_EQ(listed().at("remote_machines").at(0).at("state"), "lost");
    const auto lost = reply_to(Json{{"op", "logs"}, {"dataflow", uuid}, {"node", "camera"}});
    EXPECT_NE(lost["error"].value("message", "").find("(state: lost)"), std::string::npos);
    sut_->handle(2, Json{{"op", "ping"}});
    EXPECT_EQ(replier_.to(2).at(0).message.at("internal_errors"), 0);
}

const std::string kAcrossMachines = R"(nodes:
  - id: source
    path: /bin/true
    outputs: [out]
    deploy: {machine: a}
  - id: sink
    path: /bin/true
    inputs:
      in: source/out
    deploy: {machine: b}
)";

TEST_F(SupervisorTest, AStartAcrossMachinesGoesToTheMachineAgentWhoseResultAnswersIt) {
    // Without a machine id: refused, naming the other machine and what to run.
    start(kAcrossMachines);
    ASSERT_EQ(replier_.to(kCli).size(), 1U);
    const auto refused = replier_.to(kCli)[0].message;
    EXPECT_EQ(refused.at("error").at("kind"), "start_failed");
    EXPECT_NE(refused.at("error").at("message").get<std::string>().find("machine 'b' (nodes sink)"),
              std::string::npos);
    EXPECT_NE(refused.at("error").at("message").get<std::string>().find("--machine-id"),
              std::string::npos);
    replier_.replies.clear();

    options_.machine_id = "a";
    sut_.emplace(loop_, replier_, options_, spawner_, clock_);
    constexpr ConnId kAgent = 50;
    // An agent of another machine is refused; this machine's waits.
    sut_->handle(kAgent, Json{{"op", "machine_agent"}, {"machine", "b"}});
    EXPECT_EQ(replier_.to(kAgent).at(0).message.at("error").at("kind"), "bad_request");
    replier_.replies.clear();
    sut_->handle(kAgent, Json{{"op", "machine_agent"}, {"machine", "a"}});
    EXPECT_TRUE(replier_.to(kAgent).empty()) << "held until a start comes";

    start(kAcrossMachines);
    EXPECT_TRUE(spawner_.spawns.empty()) << "nothing runs here before the agent's bridges";
    EXPECT_TRUE(replier_.to(kCli).empty()) << "held until the agent reports";
    ASSERT_EQ(replier_.to(kAgent).size(), 1U);
    const auto handed = replier_.to(kAgent)[0].message.at("start");
    EXPECT_EQ(handed.at("path"), (dir_ / "dataflow.yml").string());
    const auto ticket = handed.at("ticket").get<std::uint64_t>();

    // A stale or malformed result is refused; the real one answers the start.
    sut_->handle(60, Json{{"op", "machine_agent_result"}, {"ticket", ticket + 1}, {"uuid", "x"}});
    EXPECT_EQ(replier_.to(60).at(0).message.at("error").at("kind"), "bad_request");
    sut_->handle(61, Json{{"op", "machine_agent_result"}, {"ticket", ticket}});
    EXPECT_EQ(replier_.to(61).at(0).message.at("error").at("kind"), "bad_request");
    EXPECT_TRUE(replier_.to(kCli).empty());
    sut_->handle(62, Json{{"op", "machine_agent_result"},
                          {"ticket", ticket},
                          {"uuid", "11111111-2222-3333-4444-555555555555"},
                          {"name", "flow"}});
    EXPECT_EQ(replier_.to(62).at(0).message.at("ok"), true);
    ASSERT_EQ(replier_.to(kCli).size(), 1U);
    EXPECT_EQ(replier_.to(kCli)[0].message.at("uuid"), "11111111-2222-3333-4444-555555555555");

    // With no agent waiting, a start waits 5 s for one, then fails saying what is missing.
    replier_.replies.clear();
    start(kAcrossMachines);
    advance(std::chrono::seconds(4));
    EXPECT_TRUE(replier_.to(kCli).empty());
    advance(std::chrono::seconds(2));
    ASSERT_EQ(replier_.to(kCli).size(), 1U);
    EXPECT_EQ(replier_.to(kCli)[0].message.at("error").at("kind"), "start_failed");
    EXPECT_NE(replier_.to(kCli)[0].message.dump().find("no machine agent"), std::string::npos);

    // An agent whose waiting request closes took its starts with it: they fail, not hang.
    replier_.replies.clear();
    sut_->handle(kAgent + 1, Json{{"op", "machine_agent"}, {"machine", "a"}});
    start(kAcrossMachines);
    ASSERT_EQ(replier_.to(kAgent + 1).size(), 1U);
    sut_->handle(kAgent + 2, Json{{"op", "machine_agent"}, {"machine", "a"}});
    sut_->on_disconnect(kAgent + 2);
    ASSERT_EQ(replier_.to(kCli).size(), 1U);
    EXPECT_EQ(replier_.to(kCli)[0].message.at("error").at("kind"), "start_failed");
}

TEST_F(SupervisorTest, AForwardGoesToTheAgentAndItsReplyPassesAsItIs) {
    auto error_of = [&](ConnId conn, const Json& request) {
        sut_->handle(conn, request);
        const auto replies = replier_.to(conn);
        EXPECT_EQ(replies.size(), 1U) << request.dump();
        return replies.empty() ? std::string() : replies.back().message.dump();
    };
    const Json list{{"op", "list"}};
    // No machine id: nowhere to send it.
    EXPECT_NE(error_of(20, Json{{"op", "forward"}, {"machine", "b"}, {"request", list}})
                  .find("no machine id"),
              std::string::npos);
    options_.machine_id = "a";
    sut_.emplace(loop_, replier_, options_, spawner_, clock_);
    EXPECT_NE(error_of(21, Json{{"op", "forward"}, {"machine", "a"}, {"request", list}})
                  .find("this daemon's own"),
              std::string::npos);
    // Requests that pass descriptors or hold for long are not forwarded.
    for (const auto* op : {"attach_tap", "connect_dynamic", "register", "start", "forward"}) {
        EXPECT_NE(error_of(22, Json{{"op", "forward"}, {"machine", "b"}, {"request", {{"op", op}}}})
                      .find("cannot be sent to another machine"),
                  std::string::npos)
            << op;
        replier_.replies.clear();
    }
    constexpr ConnId kAgent = 50;
    sut_->handle(kAgent, Json{{"op", "machine_agent"}, {"machine", "a"}});
    sut_->handle(kCli, Json{{"op", "forward"}, {"machine", "b"}, {"request", list}});
    ASSERT_EQ(replier_.to(kAgent).size(), 1U);
    const auto handed = replier_.to(kAgent)[0].message.at("forward");
    EXPECT_EQ(handed.at("machine"), "b");
    EXPECT_EQ(handed.at("request"), list);
    EXPECT_TRUE(replier_.to(kCli).empty()) << "held until b answers";
    // b's daemon's reply, an error here, reaches the client as b wrote it.
    const Json from_b{{"ok", false},
                      {"error", {{"kind", "no_such_dataflow"}, {"message", "on b"}}}};
    sut_->handle(
        60,
        Json{{"op", "machine_agent_result"}, {"ticket", handed.at("ticket")}, {"reply", from_b}});
    ASSERT_EQ(replier_.to(kCli).size(), 1U);
    EXPECT_EQ(replier_.to(kCli)[0].message, from_b);
}

TEST_F(SupervisorTest, StaleRequestsGetTheirTypedError) {
    const auto uuid = start_running(kPipeline, {"source", "sink"});
    auto kind_of = [&](ConnId conn, const Json& request) {
        sut_->handle(conn, request);
        const auto replies = replier_.to(conn);
        EXPECT_EQ(replies.size(), 1U) << request.dump();
        return replies.empty() ? std::string()
                               : replies.back().message.at("error").at("kind").get<std::string>();
    };
    const std::string gone = "00000000-0000-4000-8000-000000000000";
    EXPECT_EQ(kind_of(20, registration(gone, "source")), "no_such_dataflow");
    EXPECT_EQ(kind_of(21, registration(uuid, "camera")), "no_such_node");
    EXPECT_EQ(kind_of(22, registration(uuid, "source")), "node_already_connected");
    EXPECT_EQ(kind_of(23, Json{{"op", "stop"}, {"dataflow", gone}}), "no_such_dataflow");
    EXPECT_EQ(kind_of(24, Json{{"op", "logs"}, {"dataflow", uuid}, {"node", "camera"}}),
              "no_such_node");
    EXPECT_EQ(kind_of(25, Json{{"op", "teleport"}}), "unknown_op");
    // Once it finished, a late node of it is told the dataflow is gone.
    sut_->handle(2, Json{{"op", "stop"}, {"dataflow", uuid}, {"grace_s", 0}});
    spawner_.exit(spawner_.pid_of("source"), exited(0));
    spawner_.exit(spawner_.pid_of("sink"), exited(0));
    sut_->tick();
    ASSERT_EQ(listed().at("status"), "finished");
    EXPECT_EQ(kind_of(26, registration(uuid, "sink")), "no_such_dataflow");
    EXPECT_EQ(kind_of(27, Json{{"op", "stop"}}), "no_such_dataflow");
    // The daemon serves on.
    sut_->handle(28, Json{{"op", "ping"}});
    EXPECT_EQ(replier_.to(28).at(0).message.at("internal_errors"), 0);
}

} // namespace
} // namespace zeroflow::daemon
