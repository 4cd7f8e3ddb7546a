// Issue #9: nothing pulls the floor away. Sealed segments under truncate/grow/re-seal, the
// daemon's limits (each refused with its typed error, then a normal dataflow starts), a YAML
// alias bomb, out of memory under an address-space limit, process trees at stop and after a
// daemon SIGKILL, Stop before InputClosed, and bounded logs. The companion stream of every
// scenario must see zero gaps.
#include <cerrno>
#include <csignal>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zeroflow/node.hpp>

#include "harness.hpp"

namespace zeroflow::fault_test {
namespace {

std::vector<pid_t> pids_in(const fs::path& file) {
    std::ifstream in(file);
    std::string text;
    std::getline(in, text);
    std::vector<pid_t> out;
    std::istringstream parts(text);
    for (std::string p; std::getline(parts, p, ',');) {
        if (!p.empty()) {
            out.push_back(static_cast<pid_t>(std::stol(p)));
        }
    }
    return out;
}

/// The memfds of zeroflow segments that `pid` holds, opened anew through /proc/<pid>/fd.
std::vector<int> open_segments_of(pid_t pid) {
    std::vector<int> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        if (fs::read_symlink(e.path(), ec).string().starts_with("/memfd:zeroflow-")) {
            const int fd = ::open(e.path().c_str(), O_RDWR | O_CLOEXEC);
            if (fd >= 0) {
                out.push_back(fd);
            }
        }
    }
    return out;
}

std::uint64_t rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("VmRSS:")) {
            return std::stoull(line.substr(6));
        }
    }
    return 0;
}

std::uint64_t vm_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("VmSize:")) {
            return std::stoull(line.substr(7));
        }
    }
    return 0;
}

std::string limit_of(const std::optional<Json>& reply) {
    if (!reply || !reply->contains("error")) {
        return "";
    }
    return reply->at("error").value("limit", std::string());
}

class Bounds : public FaultTest {
protected:
    /// A fresh daemon with `args` (the companion restarts on it).
    void restart_with(std::vector<std::string> args, rlim_t address_space = 0,
                      bool companion = true) {
        finish_companion();
        const auto reply = call({{"op", "destroy"}, {"grace_s", 2.0}}, 30s);
        ASSERT_TRUE(reply && reply->value("ok", false));
        int status = 0;
        ASSERT_TRUE(eventually(
            [&] { return ::waitpid(daemon_pid_, &status, WNOHANG) == daemon_pid_; }, 20s));
        daemon_pid_ = -1;
        daemon_args_ = std::move(args);
        address_space_limit_ = address_space;
        ASSERT_NO_FATAL_FAILURE(start_daemon());
        if (companion) {
            ASSERT_NO_FATAL_FAILURE(start_companion());
        } else {
            companion_done_ = true; // nodes would inherit the daemon's address-space limit
        }
    }

    fs::path write_flow(const std::string& tag, const std::string& text) {
        const auto file = root_ / "flows" / (tag + ".yml");
        std::ofstream(file) << text;
        return file;
    }

    std::optional<Json> start_file(const fs::path& file, const std::string& name) {
        Json request{{"op", "start"}, {"path", file.string()}};
        if (!name.empty()) {
            request["name"] = name;
        }
        auto reply = call(request, 60s);
        if (reply && reply->value("ok", false)) {
            seen_uuids_.insert(reply->value("uuid", std::string()));
            list();
        }
        return reply;
    }

    std::string node_path() const { return ZEROFLOW_FAULT_NODE; }
};

// A process of the same user takes a node's segment from /proc/<pid>/fd and tries to shrink,
// grow and re-seal it: every attempt fails with EPERM, the size stays, nothing crashes.
TEST_F(Bounds, SealedSegmentCannotBeTruncatedGrownOrResealed) {
    const auto pid = pids(companion_).at("sink");
    const int rounds = scaled(50);
    int attempts = 0;
    for (int round = 0; round < rounds; ++round) {
        for (const pid_t holder : {pid, daemon_pid_}) {
            const auto fds = open_segments_of(holder);
            ASSERT_FALSE(fds.empty()) << "process " << holder << " holds no segment";
            for (const int fd : fds) {
                struct stat before {};
                ASSERT_EQ(::fstat(fd, &before), 0);
                EXPECT_NE(::ftruncate(fd, 4096), 0);
                EXPECT_EQ(errno, EPERM);
                EXPECT_NE(::ftruncate(fd, 0), 0);
                EXPECT_NE(::ftruncate(fd, before.st_size * 2), 0);
                EXPECT_EQ(errno, EPERM);
                EXPECT_NE(::fallocate(fd, 0, before.st_size, 1 << 20), 0);
                EXPECT_NE(::fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
                EXPECT_NE(::fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), 0);
                struct stat after {};
                ASSERT_EQ(::fstat(fd, &after), 0);
                EXPECT_EQ(after.st_size, before.st_size);
                ::close(fd);
                attempts += 6;
            }
        }
    }
    EXPECT_TRUE(ping());
    EXPECT_TRUE(process_alive(pid));
    std::printf("[fault] sealed: %d truncate/grow/re-seal attempts over %d rounds, all refused\n",
                attempts, rounds);
}

// The daemon maps only control areas: ten dataflows with ~80 GB of sparse pools each cost it
// no address space.
TEST_F(Bounds, HugePoolsCostTheDaemonNoAddressSpace) {
    const auto before = vm_kib(daemon_pid_);
    std::vector<std::string> uuids;
    for (int i = 0; i < 10; ++i) {
        const auto text = "nodes:\n  - id: src\n    path: " + node_path() + "\n    args: idle " +
                          (root_ / "reports" / "big").string() + "_" + std::to_string(i) +
                          ".txt\n    outputs: [out]\n  - id: sink\n    path: " + node_path() +
                          "\n    args: idle " + (root_ / "reports" / "bigs").string() + "_" +
                          std::to_string(i) +
                          ".txt\n    inputs:\n      in: {source: src/out, queue_size: 4}\n"
                          "shm:\n  src/out: {max_message_size: 1 GiB, chunks: 64}\n";
        const auto reply =
            start_file(write_flow("big" + std::to_string(i), text), "big" + std::to_string(i));
        ASSERT_TRUE(reply && reply->value("ok", false)) << (reply ? reply->dump() : "none");
        uuids.push_back(reply->value("uuid", std::string()));
    }
    const auto after = vm_kib(daemon_pid_);
    std::printf("[fault] 10 dataflows of ~80 GB pools: daemon VmSize %llu -> %llu KiB\n",
                static_cast<unsigned long long>(before), static_cast<unsigned long long>(after));
    EXPECT_LT(after, before + 256 * 1024) << "the daemon maps the pools";
    for (const auto& u : uuids) {
        const auto s = stop(u);
        EXPECT_TRUE(s && s->value("ok", false));
    }
}

// Each limit, set low, refuses with resource_limit naming it; a normal dataflow starts after.
TEST_F(Bounds, EachLimitRefusedWithItsTypedErrorThenANormalDataflowStarts) {
    ASSERT_NO_FATAL_FAILURE(restart_with({"--max-dataflows",
                                          "3",
                                          "--max-nodes",
                                          "4",
                                          "--max-inputs",
                                          "3",
                                          "--max-timers",
                                          "1",
                                          "--max-dynamic-connections",
                                          "1",
                                          "--max-connections",
                                          "64",
                                          "--max-descriptor-bytes",
                                          "4096",
                                          "--max-yaml-nodes",
                                          "500",
                                          "--max-segment-bytes",
                                          "20000000000",
                                          "--max-total-segment-bytes",
                                          "30000000000"}));
    const auto node = node_path();
    const auto idle = [&](const std::string& id) {
        return "  - id: " + id + "\n    path: " + node + "\n    args: idle " +
               (root_ / "reports" / id).string() + ".txt\n";
    };
    std::vector<std::string> refused;
    auto expect_limit = [&](const std::optional<Json>& reply, const std::string& limit) {
        EXPECT_EQ(error_kind(reply), "resource_limit") << (reply ? reply->dump() : "none");
        EXPECT_EQ(limit_of(reply), limit) << (reply ? reply->dump() : "none");
        refused.push_back(limit);
        // A normal dataflow starts right after.
        const auto ok = start_file(write_flow("ok", "nodes:\n" + idle("fine")), "");
        ASSERT_TRUE(ok && ok->value("ok", false)) << limit << ": " << (ok ? ok->dump() : "none");
        const auto s = stop(ok->value("uuid", std::string()));
        EXPECT_TRUE(s && s->value("ok", false));
    };
    expect_limit(start_file(write_flow("nodes", "nodes:\n" + idle("a") + idle("b") + idle("c") +
                                                    idle("d") + idle("e")),
                            ""),
                 "max_nodes");
    expect_limit(start_file(write_flow("inputs", "nodes:\n  - id: a\n    path: " + node +
                                                     "\n    args: idle x\n    inputs:\n"
                                                     "      t1: zeroflow/timer/millis/5\n"
                                                     "      t2: zeroflow/timer/millis/5\n"
                                                     "      t3: zeroflow/timer/millis/5\n"
                                                     "      t4: zeroflow/timer/millis/5\n"),
                            ""),
                 "max_inputs");
    expect_limit(start_file(write_flow("timers", "nodes:\n  - id: a\n    path: " + node +
                                                     "\n    args: idle x\n    inputs:\n"
                                                     "      t1: zeroflow/timer/millis/5\n"
                                                     "      t2: zeroflow/timer/millis/7\n"),
                            ""),
                 "max_timers");
    expect_limit(
        start_file(write_flow("big", "# " + std::string(5000, 'x') + "\nnodes:\n" + idle("a")), ""),
        "max_descriptor_bytes");
    expect_limit(start_file(write_flow("laughs", "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                                                 "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                                                 "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                                                 "nodes:\n" +
                                                     idle("a")),
                            ""),
                 "max_yaml_nodes");
    expect_limit(start_file(write_flow("pool", "nodes:\n  - id: src\n    path: " + node +
                                                   "\n    args: idle x\n    outputs: [out]\n"
                                                   "  - id: sink\n    path: " +
                                                   node +
                                                   "\n    args: idle y\n    inputs:\n"
                                                   "      in: {source: src/out, queue_size: 4}\n"
                                                   "shm:\n  src/out: {max_message_size: 1 GiB, "
                                                   "chunks: 64}\n"),
                            ""),
                 "max_segment_bytes");
    // The companion's segment (~13 GB, sparse) and a second stream fit 30 GB; a third does not.
    const auto second = start("stream", "second");
    ASSERT_FALSE(second.empty());
    expect_limit(start_file(dataflow_file("stream", "third"), "third"), "max_total_segment_bytes");
    ASSERT_TRUE(stop(second));
    // Dataflows: the companion and two dynamic-only ones are live; a fourth is refused.
    const auto dyn_a = start("dynonly", "dyn_a");
    const auto dyn_b = start("dynonly", "dyn_b");
    ASSERT_FALSE(dyn_a.empty());
    ASSERT_FALSE(dyn_b.empty());
    {
        const auto reply = start_file(write_flow("fourth", "nodes:\n" + idle("x")), "");
        EXPECT_EQ(limit_of(reply), "max_dataflows") << (reply ? reply->dump() : "none");
        refused.push_back("max_dataflows");
    }
    // Dynamic connections: one is connected, the second is refused.
    {
        auto first = Node::connect_dynamic("lonely", dyn_a);
        ASSERT_TRUE(first) << first.error().message();
        auto second_node = Node::connect_dynamic("lonely", dyn_b);
        ASSERT_FALSE(second_node);
        EXPECT_NE(second_node.error().message().find("max_dynamic_connections"), std::string::npos)
            << second_node.error().message();
        refused.push_back("max_dynamic_connections");
    }
    ASSERT_TRUE(stop(dyn_a));
    ASSERT_TRUE(stop(dyn_b));
    // Control connections: past 64, a connection gets the typed error, then is closed.
    {
        std::vector<Raw> idle_conns;
        for (int i = 0; i < 70; ++i) {
            idle_conns.emplace_back(socket_);
        }
        const auto reply = idle_conns.back().read(5s);
        EXPECT_EQ(limit_of(reply), "max_connections") << (reply ? reply->dump() : "none");
        EXPECT_TRUE(idle_conns.back().closed_within(5s));
        refused.push_back("max_connections");
    }
    EXPECT_TRUE(eventually([&] { return ping(); }, 10s));
    const auto ok = start("stream", "after");
    ASSERT_FALSE(ok.empty());
    ASSERT_TRUE(stop(ok));
    std::printf("[fault] limits: %zu refused with resource_limit, each followed by a start\n",
                refused.size());
}

// A billion laughs (82 KB, 10^9 nodes once expanded) is refused at once with the daemon's
// memory back under twice its idle size.
TEST_F(Bounds, YamlAliasBombRefusedQuickly) {
    std::string text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
    for (int level = 1; level < 9; ++level) {
        const auto prev = "*a" + std::to_string(level - 1);
        text += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
        for (int i = 0; i < 10; ++i) {
            text += (i ? ", " : "") + prev;
        }
        text += "]\n";
    }
    // Pad with more aliases to the attack's 82 KB.
    while (text.size() < 82 * 1024) {
        text += "# " + std::string(100, 'l') + "\n";
    }
    text += "nodes: *a8\n";
    const auto file = write_flow("laughs", text);
    const auto idle_rss = rss_kib(daemon_pid_);
    std::vector<double> ms;
    for (int round = 0; round < scaled(10); ++round) {
        const auto t0 = Clock::now();
        const auto reply = call({{"op", "start"}, {"path", file.string()}}, 30s);
        ms.push_back(ms_since(t0));
        EXPECT_EQ(error_kind(reply), "resource_limit") << (reply ? reply->dump() : "none");
        EXPECT_EQ(limit_of(reply), "max_yaml_nodes");
    }
    const auto after = rss_kib(daemon_pid_);
    std::printf("[fault] alias bomb: daemon RSS idle %llu KiB, after %llu KiB\n",
                static_cast<unsigned long long>(idle_rss), static_cast<unsigned long long>(after));
    print_timing("(bounds) alias bomb refused", ms);
    EXPECT_LT(after, 2 * idle_rss);
    EXPECT_LT(ms.back(), 2000.0);
}

#ifndef ZEROFLOW_FAULT_SANITIZED
// Out of memory (an address-space limit on the daemon): requests that need more than it has
// are answered, and the daemon serves the next ones, list included.
TEST_F(Bounds, OutOfMemoryIsAnsweredAndTheDaemonServesOn) {
    // 160 MiB of address space above what an idle daemon uses (its nodes would inherit the
    // limit: no companion while it holds).
    ASSERT_NO_FATAL_FAILURE(restart_with({}, 0, false));
    const auto base = vm_kib(daemon_pid_) * 1024;
    ASSERT_NO_FATAL_FAILURE(
        restart_with({"--max-yaml-nodes", "100000000", "--max-descriptor-bytes", "8000000"},
                     base + (160ULL << 20), false));
    // A flow-style list of 1.5 M scalars: yaml-cpp needs far more than 64 MiB for it.
    std::string text = "nodes: [";
    for (int i = 0; i < 1'500'000; ++i) {
        text += "a,";
    }
    text += "a]\n";
    const auto file = write_flow("huge", text);
    int answered = 0;
    for (int round = 0; round < 5; ++round) {
        const auto reply = call({{"op", "start"}, {"path", file.string()}}, 60s);
        ASSERT_TRUE(reply.has_value()) << "no answer: the daemon died";
        const auto kind = error_kind(reply);
        EXPECT_EQ(kind, "out_of_memory") << reply->dump();
        answered += kind == "out_of_memory" ? 1 : 0;
        const auto listed = call({{"op", "list"}});
        ASSERT_TRUE(listed && listed->value("ok", false)) << "list after out of memory";
        EXPECT_TRUE(ping());
    }
    EXPECT_GT(answered, 0) << "the limit did not bite: no out_of_memory";
    const auto p = call({{"op", "ping"}});
    ASSERT_TRUE(p.has_value());
    std::printf("[fault] out of memory: %d of 5 starts answered out_of_memory, daemon alive "
                "(out_of_memory_errors=%d)\n",
                answered, p->value("out_of_memory_errors", -1));
    // The next start is answered too (what the parser's heap kept may still fill the limit).
    const auto next =
        call({{"op", "start"},
              {"path", dataflow_file("finite", "after_oom", {{"COUNT", "5"}}).string()}},
             60s);
    ASSERT_TRUE(next.has_value()) << "no answer after out of memory";
    if (next->value("ok", false)) {
        seen_uuids_.insert(next->value("uuid", std::string()));
        stop(next->value("uuid", std::string()));
    }
    EXPECT_TRUE(ping());
    ASSERT_NO_FATAL_FAILURE(restart_with({}, 0, true));
}
#endif

// setsid and double-forked children of a node are gone when `stop` answers.
TEST_F(Bounds, SetsidAndDoubleForkedChildrenGoneAfterStop) {
    for (int round = 0; round < scaled(10) && !HasFailure(); ++round) {
        const auto tag = "tree" + std::to_string(round);
        const auto uuid = start("tree", tag);
        ASSERT_FALSE(uuid.empty());
        const auto children_file = fs::path(report(tag, "tree").string() + ".children");
        ASSERT_TRUE(eventually([&] { return pids_in(children_file).size() == 4; }, 10s));
        const auto children = pids_in(children_file);
        for (const pid_t c : children) {
            EXPECT_TRUE(process_alive(c));
        }
        const auto df = dataflow(uuid);
        EXPECT_EQ(df.value("nodes_running", 0), 1);
        const auto s = stop(uuid, 1.0);
        ASSERT_TRUE(s && s->value("ok", false));
        for (const pid_t c : children) {
            EXPECT_FALSE(process_alive(c)) << "child " << c << " survived stop, round " << round;
        }
    }
}

// A node's children (in its group, setsid, double-forked) are gone after a daemon SIGKILL once
// the next daemon of the directory starts.
TEST_F(Bounds, NodeChildrenGoneAfterDaemonSigkill) {
    const auto uuid = start("tree", "killed");
    ASSERT_FALSE(uuid.empty());
    const auto children_file = fs::path(report("killed", "tree").string() + ".children");
    ASSERT_TRUE(eventually([&] { return pids_in(children_file).size() == 4; }, 10s));
    const auto children = pids_in(children_file);
    ASSERT_NO_FATAL_FAILURE(kill_daemon());
    ASSERT_NO_FATAL_FAILURE(start_daemon());
    for (const pid_t c : children) {
        EXPECT_TRUE(eventually([&] { return !process_alive(c); }, 5s))
            << "child " << c << " outlived its daemon";
    }
    ASSERT_NO_FATAL_FAILURE(start_companion());
}

// Stop comes before any InputClosed at `zeroflow stop`: 100 stops of a timer-driven stream.
TEST_F(Bounds, StopBeforeInputClosedAtEveryStop) {
    const int rounds = scaled(100);
    int bad = 0;
    for (int round = 0; round < rounds && !HasFailure(); ++round) {
        const auto tag = "order" + std::to_string(round);
        const auto uuid = start("stream", tag);
        ASSERT_FALSE(uuid.empty());
        const auto s = stop(uuid);
        ASSERT_TRUE(s && s->value("ok", false));
        for (const auto& who : {"src", "sink"}) {
            const auto r = read_report(report(tag, who));
            EXPECT_EQ(number(r, "stop"), 1U) << tag << " " << who;
            const bool closed_first = number(r, "input_closed") > 0 || number(r, "all_closed") > 0;
            EXPECT_FALSE(closed_first) << tag << " " << who << ": InputClosed before Stop";
            bad += closed_first ? 1 : 0;
        }
    }
    std::printf("[fault] stop order: %d stops, %d nodes saw InputClosed before Stop\n", rounds,
                bad);
}

// 200 MB on stdout leaves at most 2 x max_log_size on disk, and `logs` (the files) hold the
// newest output.
TEST_F(Bounds, LogsStayWithinTwiceMaxLogSize) {
    const auto uuid = start("spew", "spew", {{"MIB", "200"}, {"MAX_LOG", "8MiB"}});
    ASSERT_FALSE(uuid.empty());
    const auto spewed = fs::path(report("spew", "spew").string() + ".spewed");
    ASSERT_TRUE(eventually([&] { return fs::exists(spewed); }, 120s));
    const auto logs = root_ / "flows" / "out" / uuid;
    std::uint64_t total = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(logs, ec)) {
        total += fs::file_size(e.path(), ec);
    }
    std::printf("[fault] logs: 200 MiB written, %llu bytes on disk (max_log_size 8 MiB)\n",
                static_cast<unsigned long long>(total));
    EXPECT_LE(total, 2ULL * (8ULL << 20));
    EXPECT_TRUE(fs::exists(logs / "log_spew.txt.1"));
    EXPECT_TRUE(ping());
    ASSERT_TRUE(stop(uuid));
}

} // namespace
} // namespace zeroflow::fault_test
