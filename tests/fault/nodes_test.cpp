// Scenarios with processes dying: (e) SIGKILL a node of a streaming chain, (f) a dynamic node
// outliving its dataflow, (g) SIGKILL the daemon, and a dynamic node reconnecting.
#include <csignal>
#include <random>

#include <zeroflow/node.hpp>

#include "harness.hpp"

namespace zeroflow::fault_test {
namespace {

using NodeKill = FaultTest;
using DynamicAfterFinish = FaultTest;
using DaemonKill = FaultTest;
using DynamicReconnect = FaultTest;
using DynamicSenderAway = FaultTest;

std::string status_of(FaultTest& t, const Json& df) {
    (void)t;
    return df.is_object() ? df.value("status", std::string()) : std::string("gone");
}

} // namespace

// (e) SIGKILL a random node of a streaming src -> relay -> sink chain.
TEST_F(NodeKill, RandomNodeOfAStream) {
    const int rounds = scaled(100);
    std::mt19937 rng(7);
    const std::vector<std::string> ids = {"src", "relay", "sink"};
    std::map<std::string, std::vector<double>> detect; // victim -> time to downstream InputClosed
    std::vector<double> finish_ms;
    std::map<std::string, int> victims;
    for (int round = 0; round < rounds && !HasFailure(); ++round) {
        const auto tag = "chain" + std::to_string(round);
        const auto uuid = start("chain", tag);
        ASSERT_FALSE(uuid.empty());
        const auto sink = report(tag, "sink");
        const auto relay = report(tag, "relay");
        const auto src = report(tag, "src");
        ASSERT_TRUE(eventually([&] { return number(read_report(sink), "received") >= 5; }, 10s))
            << "round " << round << ": the chain does not flow";
        const auto pid = pids(uuid);
        ASSERT_EQ(pid.size(), 3U);
        const auto& victim = ids[rng() % ids.size()];
        ++victims[victim];
        const auto t0 = Clock::now();
        ASSERT_EQ(::kill(pid.at(victim), SIGKILL), 0);
        if (victim == "src" || victim == "relay") {
            // The next one downstream gets InputClosed after what was queued, then the stream ends.
            const auto& next = victim == "src" ? relay : sink;
            ASSERT_TRUE(
                eventually([&] { return number(read_report(next), "input_closed") == 1; }, 10s))
                << "round " << round << ": no InputClosed after killing " << victim;
            detect[victim].push_back(ms_since(t0));
            ASSERT_TRUE(eventually([&] { return number(read_report(sink), "done") == 1; }, 10s))
                << "round " << round << ": the sink hangs after killing " << victim;
            const auto r = read_report(sink);
            EXPECT_EQ(number(r, "all_closed"), 1U);
            EXPECT_EQ(number(r, "gaps"), 0U) << "round " << round;
        }
        if (victim == "src") {
            // Every spawned node exits: the dataflow finishes by itself.
            Raw raw(socket_);
            const auto w = raw.call({{"op", "wait"}, {"dataflow", uuid}}, 15s);
            ASSERT_TRUE(w && w->value("ok", false)) << "round " << round << ": did not finish";
            EXPECT_EQ(w->value("status", std::string()), "finished");
            EXPECT_FALSE(w->value("success", true));
            finish_ms.push_back(ms_since(t0));
        } else {
            // The source (and the relay when the sink died) keep running, as does the dataflow.
            ASSERT_TRUE(eventually([&] { return !process_alive(pid.at(victim)); }, 5s));
            if (victim == "sink") {
                detect[victim].push_back(ms_since(t0));
            }
            const auto sent = number(read_report(src), "sent");
            ASSERT_TRUE(eventually([&] { return number(read_report(src), "sent") > sent + 5; }, 5s))
                << "round " << round << ": the source stalled after killing " << victim;
            EXPECT_EQ(status_of(*this, dataflow(uuid)), "running");
            const auto s = stop(uuid, 2.0);
            ASSERT_TRUE(s && s->value("ok", false)) << "round " << round;
            finish_ms.push_back(ms_since(t0));
            for (const auto& [id, p] : pid) {
                EXPECT_FALSE(process_alive(p)) << id;
            }
            EXPECT_EQ(number(read_report(src), "done"), 1U) << "the source ignored Stop";
        }
        // The killed node shows as killed by SIGKILL.
        const auto df = dataflow(uuid);
        ASSERT_TRUE(df.is_object());
        for (const auto& n : df.at("nodes")) {
            if (n.value("id", std::string()) == victim) {
                EXPECT_EQ(n.value("signal", 0), SIGKILL);
            }
        }
    }
    for (const auto& [victim, n] : victims) {
        std::printf("[fault] (e) killed %s x%d\n", victim.c_str(), n);
    }
    print_timing("(e) kill src -> relay InputClosed", detect["src"]);
    print_timing("(e) kill relay -> sink InputClosed", detect["relay"]);
    print_timing("(e) kill sink -> exit seen", detect["sink"]);
    print_timing("(e) kill -> dataflow finished (by itself or stopped)", finish_ms);
    EXPECT_TRUE(ping());
}

// (f) dora #2742: a dynamic node goes on sending after the only spawned node exited and the
// dataflow finished: its sends fail with `closed`, next() ends with Stop, the daemon is fine.
TEST_F(DynamicAfterFinish, SendsFailWithClosed) {
    const int rounds = scaled(5);
    std::vector<double> detect;
    std::vector<double> stop_ms;
    for (int round = 0; round < rounds && !HasFailure(); ++round) {
        const auto tag = "finite" + std::to_string(round);
        // Even rounds: the spawned node finishes; odd rounds: the dataflow is stopped meanwhile.
        const bool stop_it = round % 2 == 1;
        const auto uuid = start("finite", tag, {{"COUNT", stop_it ? "100000" : "300"}});
        ASSERT_FALSE(uuid.empty());
        auto node = Node::connect_dynamic("dyn", uuid);
        std::thread stopper;
        if (stop_it) {
            stopper = std::thread([this, uuid] {
                std::this_thread::sleep_for(300ms);
                stop(uuid, 1.0);
            });
        }
        ASSERT_TRUE(node.has_value()) << node.error().message();
        const auto src = report(tag, "src");
        std::uint64_t sent = 0;
        std::uint64_t received = 0;
        std::optional<Clock::time_point> src_done;
        std::optional<Error> first_error;
        const auto deadline = Clock::now() + 20s;
        bool stopped = false;
        while (Clock::now() < deadline && !first_error) {
            const std::uint64_t seq = sent + 1;
            if (auto ok = node->send_output("out", std::as_bytes(std::span(&seq, 1))); ok) {
                sent = seq;
            } else {
                first_error = ok.error();
            }
            while (auto e = node->next(0ns)) {
                if (e->kind == EventKind::Input) {
                    ++received;
                } else if (e->kind == EventKind::Error) {
                    ADD_FAILURE() << "Error event though the daemon lives: " << e->message;
                } else if (e->kind == EventKind::Stop) {
                    stopped = true;
                    break;
                }
            }
            if (!src_done &&
                (number(read_report(src), "done") == 1 || number(read_report(src), "stop") == 1)) {
                src_done = Clock::now();
            }
            std::this_thread::sleep_for(1ms);
        }
        if (stopper.joinable()) {
            stopper.join();
        }
        ASSERT_TRUE(first_error.has_value()) << "sends still succeed 20 s later";
        EXPECT_EQ(first_error->kind(), ErrorKind::closed) << first_error->message();
        if (src_done) {
            detect.push_back(ms_since(*src_done));
        }
        EXPECT_GT(received, 0U);
        // Every later send fails the same way, without crashing anyone.
        for (int i = 0; i < 1000; ++i) {
            const std::uint64_t seq = 0;
            auto ok = node->send_output("out", std::as_bytes(std::span(&seq, 1)));
            ASSERT_FALSE(ok.has_value());
            ASSERT_EQ(ok.error().kind(), ErrorKind::closed) << ok.error().message();
        }
        const auto t0 = Clock::now();
        while (!stopped && Clock::now() - t0 < 10s) {
            auto e = node->next(100ms);
            EXPECT_FALSE(e && e->kind == EventKind::Error) << "Error event though the daemon lives";
            stopped = e && e->kind == EventKind::Stop;
        }
        ASSERT_TRUE(stopped) << "next() does not end with Stop";
        stop_ms.push_back(ms_since(t0));
        EXPECT_EQ(node->next().kind, EventKind::Stop);
        // The daemon: the dataflow finished; later requests naming it are typed errors.
        Raw raw(socket_);
        const auto w = raw.call({{"op", "wait"}, {"dataflow", uuid}});
        ASSERT_TRUE(w && w->value("ok", false));
        EXPECT_EQ(w->value("status", std::string()), "finished");
        EXPECT_EQ(error_kind(raw.call({{"op", "stop"}, {"dataflow", uuid}})), "no_such_dataflow");
        auto again = Node::connect_dynamic("dyn", uuid);
        ASSERT_FALSE(again.has_value());
        EXPECT_EQ(again.error().kind(), ErrorKind::no_such_dataflow);
        EXPECT_TRUE(ping());
    }
    print_timing("(f) spawned node done -> dynamic node's send returns closed", detect);
    print_timing("(f) first failed send -> Stop", stop_ms);
}

// (g) SIGKILL the daemon mid-stream: its nodes get Error then Stop and exit; a new daemon on the
// same runtime directory removes the leftovers and serves a new dataflow.
TEST_F(DaemonKill, NodesStopAndNextDaemonCleansUp) {
    const int rounds = scaled(3);
    std::vector<double> error_ms;
    std::vector<double> exit_ms;
    std::vector<double> restart_ms;
    std::vector<double> dyn_error_ms;
    // A neighbour: another daemon of this user on another runtime directory, streaming. Nothing
    // of it may be touched by the killed daemon's successor.
    const auto rt2 = root_ / "rt2";
    const auto socket2 = rt2 / "daemon.sock";
    const pid_t neighbour = ::fork();
    ASSERT_GE(neighbour, 0);
    if (neighbour == 0) {
        const auto log = (root_ / "daemon2.log").string();
        ::execl(ZEROFLOWD_BINARY, ZEROFLOWD_BINARY, "--runtime-dir", rt2.c_str(), "--log-file",
                log.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    // However this test ends, the neighbour does not outlive it.
    struct EndNeighbour {
        pid_t pid;
        ~EndNeighbour() {
            if (::waitpid(pid, nullptr, WNOHANG) == 0) {
                ::kill(pid, SIGTERM);
                if (!eventually([&] { return ::waitpid(pid, nullptr, WNOHANG) == pid; }, 5s)) {
                    ::kill(pid, SIGKILL);
                    ::waitpid(pid, nullptr, 0);
                }
            }
        }
    } end_neighbour{neighbour};
    ASSERT_TRUE(eventually([&] { return Raw(socket2).call({{"op", "ping"}}).has_value(); }, 20s));
    const auto neighbour_file = dataflow_file("stream", "neighbour");
    const auto started2 =
        Raw(socket2).call({{"op", "start"}, {"path", neighbour_file.string()}}, 60s);
    ASSERT_TRUE(started2 && started2->value("ok", false)) << (started2 ? started2->dump() : "none");
    const auto neighbour_uuid = started2->value("uuid", std::string());
    seen_uuids_.insert(neighbour_uuid);
    const auto listed2 = Raw(socket2).call({{"op", "list"}});
    ASSERT_TRUE(listed2.has_value());
    for (const auto& df : listed2->at("dataflows")) {
        for (const auto& n : df.at("nodes")) {
            seen_pids_.insert(n.at("pid").get<pid_t>());
        }
    }
    for (int round = 0; round < rounds && !HasFailure(); ++round) {
        const auto uuid = companion_;
        const auto tag = companion_tag_;
        const auto pid = pids(uuid);
        ASSERT_EQ(pid.size(), 2U);
        const auto sink = report(tag, "sink");
        const auto src = report(tag, "src");
        ASSERT_TRUE(segment_held(uuid));
        // A second daemon on a live daemon's directory is refused and touches nothing.
        const pid_t second = ::fork();
        ASSERT_GE(second, 0);
        if (second == 0) {
            ::execl(ZEROFLOWD_BINARY, ZEROFLOWD_BINARY, "--runtime-dir", rt_.c_str(),
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        int status = 0;
        ASSERT_TRUE(eventually([&] { return ::waitpid(second, &status, WNOHANG) == second; }, 10s));
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
        ASSERT_TRUE(ping()) << "a refused second daemon broke the live one";
        // A dynamic node (this process) attached to another dataflow of the daemon.
        const auto dyn_uuid = start("dynamic", "dyn" + std::to_string(round));
        auto dyn = Node::connect_dynamic("dyn", dyn_uuid);
        ASSERT_TRUE(dyn.has_value()) << dyn.error().message();
        const auto dyn_pids = pids(dyn_uuid);
        // A dataflow still starting: one node waits at the barrier, one has not registered yet.
        const auto slow_file =
            dataflow_file("slow", "slow" + std::to_string(round), {{"DELAY", "1000"}});
        Raw starter(socket_);
        ASSERT_TRUE(
            starter.write(protocol::encode_frame({{"op", "start"}, {"path", slow_file.string()}})));
        std::vector<pid_t> slow_pids;
        ASSERT_TRUE(eventually(
            [&] {
                slow_pids.clear();
                for (const auto& df : list()) {
                    if (df.value("path", std::string()) == slow_file.string()) {
                        for (const auto& n : df.at("nodes")) {
                            if (n.contains("pid")) {
                                slow_pids.push_back(n.at("pid").get<pid_t>());
                            }
                        }
                    }
                }
                return slow_pids.size() == 2;
            },
            5s));
        ASSERT_NO_FATAL_FAILURE(kill_daemon());
        const auto t0 = Clock::now();
        companion_done_ = true; // checked here, not by TearDown
        // The source sees the daemon gone (Error, then Stop) and ends, which closes its output:
        // the sink may take that close (all its inputs closed, so it ends) before it sees the
        // daemon gone itself. Either way it ends because of the daemon's death.
        ASSERT_TRUE(eventually(
            [&] {
                const auto sink_report = read_report(sink);
                return number(read_report(src), "error") == 1 &&
                       (number(sink_report, "error") == 1 ||
                        number(sink_report, "all_closed") == 1);
            },
            10s))
            << "the nodes got no Error event (nor, for the sink, the close of its input after "
               "the source's Error): "
            << describe_node(pid.at("sink"), sink) << " | " << describe_node(pid.at("src"), src);
        error_ms.push_back(ms_since(t0));
        ASSERT_TRUE(eventually(
            [&] {
                return std::none_of(pid.begin(), pid.end(),
                                    [](const auto& kv) { return process_alive(kv.second); });
            },
            10s))
            << "nodes of the dead daemon still run";
        exit_ms.push_back(ms_since(t0));
        // The dynamic node: Error (after what was queued), then Stop, and Stop for good.
        bool error = false;
        bool stopped = false;
        const auto t2 = Clock::now();
        while (!stopped && Clock::now() - t2 < 10s) {
            auto e = dyn->next(100ms);
            if (e && e->kind == EventKind::Error) {
                EXPECT_FALSE(error) << "two Error events";
                error = true;
                dyn_error_ms.push_back(ms_since(t0));
            }
            stopped = e && e->kind == EventKind::Stop;
        }
        EXPECT_TRUE(error) << "the dynamic node got no Error event";
        ASSERT_TRUE(stopped) << "the dynamic node's stream does not end";
        EXPECT_EQ(dyn->next().kind, EventKind::Stop);
        dyn = std::unexpected(Error{ErrorKind::closed, "dropped"});
        EXPECT_TRUE(eventually([&] { return !process_alive(dyn_pids.at("src")); }, 10s));
        EXPECT_TRUE(eventually(
            [&] { return std::none_of(slow_pids.begin(), slow_pids.end(), process_alive); }, 10s))
            << "nodes of a starting dataflow outlive the daemon";
        for (const auto& file : {sink, src}) {
            const auto r = read_report(file);
            EXPECT_EQ(number(r, "stop"), 1U) << file;
            EXPECT_EQ(number(r, "done"), 1U) << file;
        }
        EXPECT_EQ(number(read_report(sink), "gaps"), 0U);
        EXPECT_GT(number(read_report(sink), "received"), 0U);
        // What the dead daemon left: its socket, but no shared memory anywhere (sealed memfds
        // go with their last user: the nodes have left).
        EXPECT_FALSE(segment_held(uuid)) << "the dead daemon's segment is still held";
        EXPECT_FALSE(segment_held(dyn_uuid));
        EXPECT_TRUE(fs::exists(socket_));
        const auto t1 = Clock::now();
        ASSERT_NO_FATAL_FAILURE(start_daemon());
        restart_ms.push_back(ms_since(t1));
        ASSERT_NO_FATAL_FAILURE(start_companion()); // serves a new dataflow
    }
    // The neighbour streamed through all of it, and its segment is still there.
    EXPECT_TRUE(segment_held(neighbour_uuid)) << "the neighbour's segment was removed";
    const auto neighbour_sink = report("neighbour", "sink");
    const auto before = number(read_report(neighbour_sink), "received");
    EXPECT_TRUE(eventually(
        [&] { return number(read_report(neighbour_sink), "received") > before + 20; }, 10s));
    const auto stopped2 = Raw(socket2).call({{"op", "stop"}, {"dataflow", neighbour_uuid}}, 30s);
    EXPECT_TRUE(stopped2 && stopped2->value("ok", false));
    EXPECT_EQ(number(read_report(neighbour_sink), "gaps"), 0U);
    EXPECT_EQ(number(read_report(neighbour_sink), "dropped"), 0U);
    Raw(socket2).call({{"op", "destroy"}}, 30s);
    int status2 = 0;
    EXPECT_TRUE(
        eventually([&] { return ::waitpid(neighbour, &status2, WNOHANG) == neighbour; }, 20s));
    print_timing("(g) daemon SIGKILL -> Error event in both nodes", error_ms);
    print_timing("(g) daemon SIGKILL -> nodes exited", exit_ms);
    print_timing("(g) daemon SIGKILL -> Error event in a dynamic node", dyn_error_ms);
    print_timing("(g) new daemon answers (leftovers removed)", restart_ms);
}

// A dynamic node disconnects and connects again while its dataflow runs, and receives again.
TEST_F(DynamicReconnect, ReceivesAgain) {
    const auto uuid = start("dynamic", "reconnect");
    ASSERT_FALSE(uuid.empty());
    const int rounds = scaled(20);
    std::vector<double> reconnect_ms;
    std::uint64_t last_seq = 0;
    for (int round = 0; round < rounds && !HasFailure(); ++round) {
        const auto t0 = Clock::now();
        std::optional<Node> node;
        std::string why;
        ASSERT_TRUE(eventually(
            [&] {
                auto n = Node::connect_dynamic("dyn", uuid);
                if (n) {
                    node.emplace(std::move(*n));
                    return true;
                }
                why = n.error().message();
                return false;
            },
            10s, 10ms))
            << "round " << round << ": " << why;
        int received = 0;
        std::optional<double> first_ms;
        const auto deadline = Clock::now() + 10s;
        while (received < 20 && Clock::now() < deadline) {
            auto e = node->next(100ms);
            if (!e) {
                continue;
            }
            ASSERT_EQ(e->kind, EventKind::Input) << "round " << round;
            std::uint64_t seq = 0;
            std::memcpy(&seq, e->data.data(), sizeof(seq));
            EXPECT_GT(seq, last_seq) << "round " << round << ": old message after reconnect";
            last_seq = seq;
            if (!first_ms) {
                first_ms = ms_since(t0);
            }
            ++received;
        }
        ASSERT_EQ(received, 20) << "round " << round << ": does not receive after reconnecting";
        reconnect_ms.push_back(*first_ms);
        node.reset(); // disconnect
    }
    print_timing("(reconnect) connect_dynamic -> first message", reconnect_ms);
    EXPECT_EQ(status_of(*this, dataflow(uuid)), "running");
    const auto s = stop(uuid);
    ASSERT_TRUE(s && s->value("ok", false));
}

// A dynamic receiver that took a message connects again at once while its dynamic sender is away
// (it left without reclaiming the receiver's connection: it was idle when the receiver left), and
// after a new process of the sender attached. Before, connect_dynamic answered `busy` until the
// sender came back and then for good (a new sender did not acknowledge a dead connection).
TEST_F(DynamicSenderAway, ReceiverConnectsAgainAtOnce) {
    const auto uuid = start("dynpair", "pair");
    ASSERT_FALSE(uuid.empty());
    const auto node_status = [&](const std::string& id) {
        const auto df = dataflow(uuid);
        for (const auto& n : df.is_object() ? df.value("nodes", Json::array()) : Json::array()) {
            if (n.value("id", std::string()) == id) {
                return n.value("status", std::string());
            }
        }
        return std::string("gone");
    };
    const auto connect = [&](const char* id) {
        const auto t0 = Clock::now();
        auto n = Node::connect_dynamic(id, uuid);
        EXPECT_TRUE(n.has_value()) << id << ": " << (n ? std::string() : n.error().message());
        EXPECT_LT(ms_since(t0), 1000.0) << id << " connected only after retries";
        return n ? std::optional<Node>(std::move(*n)) : std::nullopt;
    };
    const auto leave = [&](std::optional<Node>& n, const char* id) {
        n.reset();
        ASSERT_TRUE(eventually([&] { return node_status(id) == "not connected"; }, 10s));
    };
    const auto flows = [&](std::optional<Node>& src, std::optional<Node>& dst) {
        const std::byte payload[8] = {};
        const auto deadline = Clock::now() + 10s;
        while (Clock::now() < deadline) {
            // A new sender waits (pool_exhausted) until what its predecessor sent is released.
            if (src->send_output("out", payload)) {
                if (auto e = dst->next(100ms); e && e->kind == EventKind::Input) {
                    return true;
                }
            } else {
                std::this_thread::sleep_for(5ms);
            }
        }
        return false;
    };
    for (int round = 0; round < scaled(5) && !HasFailure(); ++round) {
        auto src = connect("src");
        auto dst = connect("dst");
        ASSERT_TRUE(src && dst);
        ASSERT_TRUE(flows(src, dst)) << "round " << round;
        leave(dst, "dst");    // src idles: it does not reclaim dst's connection ...
        leave(src, "src");    // ... and leaves
        dst = connect("dst"); // src is away
        ASSERT_TRUE(dst);
        leave(dst, "dst");
        src = connect("src"); // attaches after dst's death, idles
        ASSERT_TRUE(src);
        dst = connect("dst");
        ASSERT_TRUE(dst);
        ASSERT_TRUE(flows(src, dst)) << "round " << round << ": no message after reconnecting";
    }
    const auto s = stop(uuid);
    ASSERT_TRUE(s && s->value("ok", false));
}

} // namespace zeroflow::fault_test
