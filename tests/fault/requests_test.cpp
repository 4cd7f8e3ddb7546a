// Scenarios (a) stale and unknown requests, (b) dynamic-node errors, (d) stop racing concurrent
// requests, and `start` naming files that are not regular files.
#include <atomic>
#include <csignal>
#include <random>
#include <set>
#include <thread>

#include <sys/stat.h>

#include <zeroflow/node.hpp>

#include "harness.hpp"

namespace zeroflow::fault_test {
namespace {

Json with_version(Json request) {
    request["protocol_version"] = protocol::kProtocolVersion;
    return request;
}

std::string random_uuid(std::mt19937_64& rng) {
    static const char* hex = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < 32; ++i) {
        if (i == 8 || i == 12 || i == 16 || i == 20) {
            s += '-';
        }
        s += hex[rng() % 16];
    }
    return s;
}

/// Waits until `uuid` reports a final status through `wait`.
std::optional<Json> wait_for(FaultTest& t, const fs::path& socket, const std::string& uuid) {
    (void)t;
    Raw raw(socket);
    return raw.call({{"op", "wait"}, {"dataflow", uuid}}, 30s);
}

using StaleRequests = FaultTest;
using DynamicErrors = FaultTest;
using StopRace = FaultTest;
using SpecialFiles = FaultTest;
using LateStart = FaultTest;

} // namespace

// (a) Every kind of request naming an unknown, finished or stopped dataflow gets its typed error.
TEST_F(StaleRequests, UnknownAndFinishedDataflows) {
    // A dataflow that finished by itself (its only spawned node exits) and one that was stopped.
    const auto finished = start("finite", "done", {{"COUNT", "5"}});
    ASSERT_FALSE(finished.empty());
    auto done = wait_for(*this, socket_, finished);
    ASSERT_TRUE(done && done->value("ok", false)) << (done ? done->dump() : "no reply");
    ASSERT_EQ(done->value("status", std::string()), "finished");
    const auto stopped = start("dynonly", "stopped");
    ASSERT_TRUE(stop(stopped).has_value());

    const int per_kind = scaled(10000);
    std::mt19937_64 rng(42);
    Raw raw(socket_);
    ASSERT_TRUE(raw.ok());
    std::map<std::string, int> counts;
    std::vector<double> latencies;
    const std::vector<std::string> stale = {finished, stopped, "done", "stopped"};
    const auto t0 = Clock::now();
    for (int i = 0; i < per_kind; ++i) {
        const bool unknown = (i % 2) == 0;
        const std::string key =
            unknown ? (i % 4 == 0 ? random_uuid(rng) : "no-such-name-" + std::to_string(i))
                    : stale[static_cast<std::size_t>(i / 2) % stale.size()];
        struct Case {
            std::string kind;
            Json request;
            std::string expect; ///< error kind; "" for ok
        };
        const std::vector<Case> cases = {
            {"stop", {{"op", "stop"}, {"dataflow", key}, {"grace_s", 0.5}}, "no_such_dataflow"},
            {"wait", {{"op", "wait"}, {"dataflow", key}}, unknown ? "no_such_dataflow" : ""},
            {"logs",
             {{"op", "logs"}, {"dataflow", key}, {"node", "src"}},
             unknown ? "no_such_dataflow" : ""},
            {"logs_node",
             {{"op", "logs"}, {"dataflow", key}, {"node", "ghost"}},
             unknown ? "no_such_dataflow" : "no_such_node"},
            {"register",
             with_version({{"op", "register"}, {"dataflow_id", key}, {"node_id", "src"}}),
             "no_such_dataflow"},
            {"connect_dynamic",
             with_version({{"op", "connect_dynamic"}, {"dataflow", key}, {"node_id", "dyn"}}),
             "no_such_dataflow"},
            {"connect_dynamic_any",
             with_version({{"op", "connect_dynamic"}, {"node_id", "ghost-" + std::to_string(i)}}),
             "no_such_node"},
        };
        for (const auto& c : cases) {
            if (c.kind == "logs" && (key == "stopped" || key == stopped)) {
                continue; // the dynamic-only dataflow has no node src
            }
            const auto sent = Clock::now();
            const auto reply = raw.call(c.request, 10s);
            latencies.push_back(ms_since(sent));
            ASSERT_TRUE(reply.has_value()) << c.kind << " " << key << ": no reply";
            if (c.expect.empty()) {
                ASSERT_TRUE(reply->value("ok", false))
                    << c.kind << " " << key << ": " << reply->dump();
            } else {
                ASSERT_EQ(error_kind(reply), c.expect)
                    << c.kind << " " << key << ": " << reply->dump();
                ASSERT_FALSE(reply->at("error").value("message", std::string()).empty());
            }
            ++counts[c.kind];
        }
    }
    const double total_ms = ms_since(t0);
    int total = 0;
    for (const auto& [kind, n] : counts) {
        total += n;
    }
    std::printf("[fault] (a) %d stale/unknown requests (%d per kind) in %.0f ms\n", total, per_kind,
                total_ms);
    print_timing("(a) error reply latency", latencies);
    EXPECT_TRUE(ping());
    const auto p = call({{"op", "ping"}});
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->value("internal_errors", -1), 0);
}

// (b) connect_dynamic for non-dynamic, unknown, duplicate and ambiguous ids: the library's typed
// ErrorKind and the raw replies.
TEST_F(DynamicErrors, TypedErrors) {
    const auto a = start("dynamic", "dynA");
    const auto b = start("dynamic", "dynB");
    ASSERT_FALSE(a.empty());
    ASSERT_FALSE(b.empty());
    auto expect_kind = [](std::expected<Node, Error> r, ErrorKind kind, const char* what) {
        ASSERT_FALSE(r.has_value()) << what << " connected";
        EXPECT_EQ(r.error().kind(), kind) << what << ": " << r.error().message();
        EXPECT_FALSE(r.error().message().empty());
    };
    std::vector<double> detect;
    auto timed = [&](auto fn) {
        const auto t0 = Clock::now();
        fn();
        detect.push_back(ms_since(t0));
    };
    timed([&] {
        expect_kind(Node::connect_dynamic("src", a), ErrorKind::node_not_dynamic, "src of A");
    });
    timed([&] {
        expect_kind(Node::connect_dynamic("src"), ErrorKind::node_not_dynamic,
                    "src (ambiguous static)");
    });
    timed([&] {
        expect_kind(Node::connect_dynamic("ghost", a), ErrorKind::no_such_node, "ghost of A");
    });
    timed([&] { expect_kind(Node::connect_dynamic("ghost"), ErrorKind::no_such_node, "ghost"); });
    timed([&] { expect_kind(Node::connect_dynamic("dyn"), ErrorKind::ambiguous_node, "dyn"); });
    timed([&] {
        expect_kind(Node::connect_dynamic("dyn", "no-such-flow"), ErrorKind::no_such_dataflow,
                    "dyn of ?");
    });

    auto first = Node::connect_dynamic("dyn", a);
    ASSERT_TRUE(first.has_value()) << first.error().message();
    timed([&] {
        expect_kind(Node::connect_dynamic("dyn", a), ErrorKind::node_already_connected,
                    "dyn of A again");
    });
    timed([&] {
        expect_kind(Node::connect_dynamic("dyn", "dynA"), ErrorKind::node_already_connected,
                    "dyn of dynA");
    });
    ::setenv("ZEROFLOW_DATAFLOW", a.c_str(), 1);
    timed([&] {
        expect_kind(Node::connect_dynamic("dyn"), ErrorKind::node_already_connected, "dyn, env A");
    });
    // A unique prefix of the UUID, as git takes commit ids.
    ::setenv("ZEROFLOW_DATAFLOW", a.substr(0, 8).c_str(), 1);
    timed([&] {
        expect_kind(Node::connect_dynamic("dyn"), ErrorKind::node_already_connected,
                    "dyn, env prefix of A");
    });
    ::unsetenv("ZEROFLOW_DATAFLOW");
    auto second = Node::connect_dynamic("dyn", "dynB"); // by name
    ASSERT_TRUE(second.has_value()) << second.error().message();

    // The same through raw frames, many times (the attached nodes keep receiving meanwhile).
    const int rounds = scaled(500);
    Raw raw(socket_);
    for (int i = 0; i < rounds; ++i) {
        struct Case {
            Json request;
            const char* expect;
        };
        const Case cases[] = {
            {{{"op", "connect_dynamic"}, {"node_id", "src"}, {"dataflow", a}}, "node_not_dynamic"},
            {{{"op", "connect_dynamic"}, {"node_id", "ghost"}, {"dataflow", b}}, "no_such_node"},
            {{{"op", "connect_dynamic"}, {"node_id", "ghost"}}, "no_such_node"},
            {{{"op", "connect_dynamic"}, {"node_id", "dyn"}, {"dataflow", a}},
             "node_already_connected"},
            {{{"op", "connect_dynamic"}, {"node_id", "dyn"}}, "ambiguous_node"},
            {{{"op", "register"}, {"node_id", "dyn"}, {"dataflow_id", a}}, "node_is_dynamic"},
            {{{"op", "register"}, {"node_id", "src"}, {"dataflow_id", a}},
             "node_already_connected"},
            {{{"op", "register"}, {"node_id", "ghost"}, {"dataflow_id", b}}, "no_such_node"},
        };
        for (const auto& c : cases) {
            const auto reply = raw.call(with_version(c.request));
            ASSERT_EQ(error_kind(reply), c.expect)
                << c.request.dump() << " -> " << (reply ? reply->dump() : "none");
        }
    }
    // Detached again, both can be taken by name.
    first = std::unexpected(Error{ErrorKind::closed, "dropped"});
    second = std::unexpected(Error{ErrorKind::closed, "dropped"});
    EXPECT_TRUE(eventually([&] { return Node::connect_dynamic("dyn", a).has_value(); }, 5s));
    print_timing("(b) typed error through Node::connect_dynamic", detect);
    EXPECT_TRUE(ping());
    stop(a);
    stop(b);
}

// (d) `stop` racing 100 concurrent requests on the same dataflow.
TEST_F(StopRace, HundredConcurrentRequests) {
    const int rounds = scaled(100);
    const int clients = 100;
    std::vector<double> stop_ms;
    std::map<std::string, int> outcomes;
    std::mutex outcomes_mutex;
    for (int round = 0; round < rounds; ++round) {
        const auto uuid = start("dynamic", "race" + std::to_string(round));
        ASSERT_FALSE(uuid.empty());
        std::vector<Raw> conns;
        conns.reserve(clients);
        for (int c = 0; c < clients; ++c) {
            conns.emplace_back(socket_);
            ASSERT_TRUE(conns.back().ok());
        }
        std::atomic<int> ready{0};
        std::atomic<bool> go{false};
        std::vector<std::string> failures(clients);
        std::vector<std::thread> threads;
        double stop_latency = 0;
        for (int c = 0; c < clients; ++c) {
            threads.emplace_back([&, c] {
                std::mt19937 rng(static_cast<unsigned>(round * 1000 + c));
                const int kind = c == 0 ? 0 : static_cast<int>(rng() % 9);
                Json req;
                std::set<std::string> allowed;
                switch (kind) {
                case 0:
                case 1:
                    req = {{"op", "stop"}, {"dataflow", uuid}, {"grace_s", 1.0}};
                    allowed = {"", "no_such_dataflow"};
                    break;
                case 2:
                    req = {{"op", "wait"}, {"dataflow", uuid}};
                    allowed = {""};
                    break;
                case 3:
                    req = {{"op", "logs"}, {"dataflow", uuid}, {"node", "src"}};
                    allowed = {""};
                    break;
                case 4:
                    req = {{"op", "list"}};
                    allowed = {""};
                    break;
                case 5:
                    req = with_version(
                        {{"op", "connect_dynamic"}, {"dataflow", uuid}, {"node_id", "dyn"}});
                    allowed = {"", "node_already_connected", "dataflow_stopping",
                               "no_such_dataflow", "busy"};
                    break;
                case 6:
                    req = with_version(
                        {{"op", "register"}, {"dataflow_id", uuid}, {"node_id", "src"}});
                    allowed = {"node_already_connected", "no_such_dataflow", "dataflow_stopping"};
                    break;
                case 7:
                    req = with_version(
                        {{"op", "connect_dynamic"}, {"dataflow", uuid}, {"node_id", "src"}});
                    allowed = {"node_not_dynamic", "no_such_dataflow"};
                    break;
                default:
                    req = {{"op", "ping"}};
                    allowed = {""};
                    break;
                }
                ++ready;
                while (!go.load()) {
                    std::this_thread::yield();
                }
                const auto t0 = Clock::now();
                const auto reply = conns[static_cast<std::size_t>(c)].call(req, 20s);
                if (c == 0) {
                    stop_latency = ms_since(t0);
                }
                const auto kind_name = error_kind(reply);
                if (!reply) {
                    failures[static_cast<std::size_t>(c)] = req.dump() + ": no reply";
                } else if (!allowed.contains(kind_name)) {
                    failures[static_cast<std::size_t>(c)] = req.dump() + " -> " + reply->dump();
                }
                std::lock_guard lock(outcomes_mutex);
                ++outcomes[req.value("op", std::string()) + ":" +
                           (kind_name.empty() ? "ok" : kind_name)];
            });
        }
        while (ready.load() < clients) {
            std::this_thread::yield();
        }
        go = true;
        for (auto& t : threads) {
            t.join();
        }
        for (const auto& f : failures) {
            EXPECT_TRUE(f.empty()) << "round " << round << ": " << f;
        }
        stop_ms.push_back(stop_latency);
        const auto w = wait_for(*this, socket_, uuid);
        ASSERT_TRUE(w && w->value("ok", false)) << (w ? w->dump() : "no reply");
        EXPECT_EQ(w->value("status", std::string()), "finished");
        if (HasFailure()) {
            break;
        }
    }
    for (const auto& [k, n] : outcomes) {
        std::printf("[fault] (d) %s x%d\n", k.c_str(), n);
    }
    std::printf("[fault] (d) %d rounds x %d concurrent requests\n", rounds, clients);
    print_timing("(d) stop reply (dataflow finished) under 100 racing requests", stop_ms);
    EXPECT_TRUE(ping());
}

// `start` must not block or exhaust the daemon on a path that is no regular file.
TEST_F(SpecialFiles, StartOnFifoAndDevices) {
    const auto fifo = root_ / "flows" / "fifo.yml";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    for (const std::string& path :
         {fifo.string(), std::string("/dev/zero"), std::string("/dev/null"),
          (root_ / "flows").string(), std::string("/nonexistent/x.yml")}) {
        const auto t0 = Clock::now();
        const auto reply = call({{"op", "start"}, {"path", path}}, 10s);
        ASSERT_TRUE(reply.has_value())
            << "start " << path << ": no reply within 10 s (daemon blocked?)";
        EXPECT_EQ(error_kind(reply), "bad_dataflow") << path << ": " << reply->dump();
        std::printf("[fault] start %s: %s in %.1f ms\n", path.c_str(), error_kind(reply).c_str(),
                    ms_since(t0));
        EXPECT_TRUE(ping());
    }
}

// A dataflow stopped, or one of whose nodes is killed, while it is still starting: the `start`
// request gets its (error) reply, nothing waits forever, nothing is left.
TEST_F(LateStart, StopOrKillWhileStarting) {
    const int rounds = scaled(10);
    std::vector<double> reply_ms;
    for (int round = 0; round < rounds && !HasFailure(); ++round) {
        const bool kill_node = round % 2 == 1;
        const auto tag = "slow" + std::to_string(round);
        const auto file = dataflow_file("slow", tag, {{"DELAY", "1000"}});
        Raw starter(socket_);
        ASSERT_TRUE(starter.write(
            protocol::encode_frame({{"op", "start"}, {"path", file.string()}, {"name", tag}})));
        std::string uuid;
        ASSERT_TRUE(eventually(
            [&] {
                for (const auto& df : list()) {
                    if (df.value("name", std::string()) == tag) {
                        uuid = df.value("uuid", std::string());
                        return df.value("status", std::string()) == "starting" &&
                               !pids(uuid).empty();
                    }
                }
                return false;
            },
            5s));
        const auto t0 = Clock::now();
        Raw stopper(socket_);
        if (kill_node) {
            ASSERT_EQ(::kill(pids(uuid).at("late"), SIGKILL), 0);
        } else {
            ASSERT_TRUE(stopper.write(
                protocol::encode_frame({{"op", "stop"}, {"dataflow", uuid}, {"grace_s", 5.0}})));
        }
        const auto started = starter.read(10s);
        ASSERT_TRUE(started.has_value()) << "round " << round << (kill_node ? " (kill)" : " (stop)")
                                         << ": the start request never got a reply";
        reply_ms.push_back(ms_since(t0));
        if (!kill_node) {
            // `early` waited at the barrier: it is told at once and exits, long before SIGTERM.
            const auto stopped = stopper.read(10s);
            ASSERT_TRUE(stopped && stopped->value("ok", false))
                << (stopped ? stopped->dump() : "no reply");
            EXPECT_LT(ms_since(t0), 4000) << "a node waited for the barrier until SIGTERM";
            for (const auto& n : stopped->at("nodes")) {
                EXPECT_FALSE(n.contains("signal")) << n.dump();
            }
        }
        EXPECT_EQ(error_kind(started), "start_failed") << started->dump();
        const auto w = wait_for(*this, socket_, uuid);
        ASSERT_TRUE(w && w->value("ok", false));
        EXPECT_TRUE(ping());
    }
    print_timing("(late start) stop/kill while starting -> start's reply", reply_ms);
}

} // namespace zeroflow::fault_test
