// Observers cost the dataflow nothing it can feel (issue 13): `zeroflow topic echo` processes
// attach a tap to the companion stream's output and are frozen (SIGSTOP), killed (SIGKILL) and
// reattached 100 times while the stream's own sink must see every message, gap-free and
// drop-free; then `topic hz` against the 1 kHz timer, `topic echo` of typed, text and bytes
// messages, and the errors of unknown dataflows and outputs.
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.hpp"

namespace zeroflow::fault_test {
namespace {

const fs::path kCli = ZEROFLOW_CLI_BINARY;
const fs::path kTestNode = ZEROFLOW_TEST_NODE;
const fs::path kObserveNode = ZEROFLOW_OBSERVE_NODE;
const fs::path kObserveFlows = ZEROFLOW_OBSERVE_FLOWS;
const fs::path kNodeJs = ZEROFLOW_NODEJS;
const fs::path kMcapJsDir = ZEROFLOW_MCAP_JS_DIR; ///< where `npm install @mcap/core` put it
const fs::path kReadMcap = ZEROFLOW_READ_MCAP;

std::string read_file(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/// Starts `zeroflow ARGS...` with stdout and stderr into files; returns its pid.
pid_t spawn_cli(const std::vector<std::string>& args, const fs::path& out, const fs::path& err) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(o, 1);
        ::dup2(e, 2);
        std::vector<std::string> words{kCli.string()};
        words.insert(words.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& w : words) {
            argv.push_back(w.data());
        }
        argv.push_back(nullptr);
        ::execv(kCli.c_str(), argv.data());
        ::_exit(127);
    }
    return pid;
}

struct Ran {
    int status = -1;
    std::string out;
    std::string err;
};

class ObserveTest : public FaultTest {
protected:
    /// Runs `zeroflow ARGS...` to its end (killed after `limit`).
    Ran cli(const std::vector<std::string>& args, std::chrono::milliseconds limit = 30s) {
        const auto out = root_ / "cli.out";
        const auto err = root_ / "cli.err";
        const pid_t pid = spawn_cli(args, out, err);
        int status = 0;
        if (!eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, limit)) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            ADD_FAILURE() << "zeroflow did not finish in time";
        }
        return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), read_file(out),
                read_file(err)};
    }

    std::string start_typed() { return start_flow("typed", {}); }

    /// Writes tests/observe/flows/NAME.yml as flows/AS.yml with @KEY@ placeholders replaced.
    fs::path render_flow(const std::string& name, std::map<std::string, std::string> extra,
                         const std::string& as) {
        auto text = read_file(kObserveFlows / (name + ".yml"));
        extra["@TEST_NODE@"] = kTestNode.string();
        extra["@OBSERVE_NODE@"] = kObserveNode.string();
        for (const auto& [from, to] : extra) {
            for (auto at = text.find(from); at != std::string::npos; at = text.find(from)) {
                text.replace(at, from.size(), to);
            }
        }
        const auto file = root_ / "flows" / (as + ".yml");
        std::ofstream(file) << text;
        return file;
    }

    /// Starts tests/observe/flows/NAME.yml (named NAME) with @KEY@ placeholders replaced.
    std::string start_flow(const std::string& name, std::map<std::string, std::string> extra) {
        const auto file = render_flow(name, std::move(extra), name);
        const auto reply = call({{"op", "start"}, {"path", file.string()}, {"name", name}}, 60s);
        EXPECT_TRUE(reply && reply->value("ok", false)) << (reply ? reply->dump() : "no reply");
        list();
        return reply ? reply->value("uuid", std::string()) : "";
    }

    /// Taps of the companion that an observer holds now (the daemon's `stats`).
    int attached_taps() {
        const auto reply = call({{"op", "stats"}, {"dataflow", companion_tag_}});
        int n = 0;
        if (reply && reply->value("ok", false)) {
            for (const auto& t : reply->at("taps")) {
                n += t.value("attached", false) ? 1 : 0;
            }
        }
        return n;
    }
};

TEST_F(ObserveTest, FrozenKilledAndReattachedObserversNeverDisturbTheStream) {
    const int rounds = scaled(100);
    int saw_messages = 0;
    std::vector<double> attach_ms;
    for (int round = 0; round < rounds; ++round) {
        const auto out = root_ / ("observer" + std::to_string(round) + ".out");
        const auto err = root_ / ("observer" + std::to_string(round) + ".err");
        const auto begin = Clock::now();
        const pid_t observer =
            spawn_cli({"topic", "echo", "src/out", "-d", companion_tag_, "--json"}, out, err);
        ASSERT_GT(observer, 0);
        // Attached once it prints its first message.
        const bool printing =
            eventually([&] { return fs::exists(out) && fs::file_size(out) > 0; }, 10s, 2ms);
        ASSERT_TRUE(printing) << "round " << round
                              << ": the observer saw nothing; stderr: " << read_file(err);
        attach_ms.push_back(ms_since(begin));
        ++saw_messages;
        switch (round % 3) {
        case 0: // frozen while the stream goes on, then killed while frozen
            ::kill(observer, SIGSTOP);
            std::this_thread::sleep_for(50ms); // 50 messages pass a frozen tap of 16
            ::kill(observer, SIGKILL);
            break;
        case 1: // killed while reading
            std::this_thread::sleep_for(5ms);
            ::kill(observer, SIGKILL);
            break;
        default: // frozen, thawed, then interrupted as a user would (Ctrl-C)
            ::kill(observer, SIGSTOP);
            std::this_thread::sleep_for(30ms);
            ::kill(observer, SIGCONT);
            std::this_thread::sleep_for(10ms);
            ::kill(observer, SIGINT);
            break;
        }
        int status = 0;
        ASSERT_TRUE(
            eventually([&] { return ::waitpid(observer, &status, WNOHANG) == observer; }, 10s));
        fs::remove(out);
        fs::remove(err);
        if (round % 3 == 2) {
            EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
                << "an interrupted observer exits 0; status " << status;
        }
    }
    EXPECT_EQ(saw_messages, rounds);
    print_timing("observer attach to first message", attach_ms);
    // Every killed observer's tap is taken back: none stays attached.
    EXPECT_TRUE(eventually([&] { return attached_taps() == 0; }, 10s));
    // And one more can attach and see the stream.
    const auto hz =
        cli({"topic", "hz", "src/out", "-d", companion_tag_, "--count", "50", "--json"});
    EXPECT_EQ(hz.status, 0) << hz.err;
    // TearDown's finish_companion(): the sink saw no gap and no drop, the source no send error.
}

TEST_F(ObserveTest, TopicHzMatchesTheTimerWithinFivePercent) {
    // The reference: the source's own `sent` counter (the daemon's stats) over the same time.
    const auto sent = [&] {
        const auto reply = call({{"op", "stats"}, {"dataflow", companion_tag_}});
        return std::pair{reply->at("outputs")[0].at("sent").get<double>(),
                         reply->at("monotonic_ns").get<double>()};
    };
    const auto before = sent();
    const auto r = cli({"topic", "hz", "src/out", "-d", companion_tag_, "--duration", "4s",
                        "--window", "100000", "--json"});
    const auto after = sent();
    ASSERT_EQ(r.status, 0) << r.err;
    const auto j = Json::parse(r.out);
    const double rate = j.at("rate_hz").get<double>();
    const double actual = (after.first - before.first) / ((after.second - before.second) * 1e-9);
    std::printf("[observe] topic hz of a 1 kHz timer: %.2f Hz (the source's counter: %.2f Hz), "
                "period mean %.6f s, std %.6f s, %d messages\n",
                rate, actual, j.at("period_mean_s").get<double>(),
                j.at("period_std_s").get<double>(), j.at("messages").get<int>());
    // Within 5 % of what the timer really delivers (on a loaded machine it may fall behind
    // 1 kHz; the timer coalesces ticks it missed), and of 1 kHz when the machine keeps up.
    EXPECT_NEAR(rate, actual, 0.05 * actual);
    if (actual > 950.0) {
        EXPECT_NEAR(rate, 1000.0, 50.0);
    }
    EXPECT_GT(j.at("messages").get<int>(), 1000);
    const auto bw_before = sent();
    const auto bw = cli({"topic", "bw", "src/out", "-d", companion_tag_, "--duration", "2s",
                         "--window", "100000", "--json"});
    const auto bw_after = sent();
    ASSERT_EQ(bw.status, 0) << bw.err;
    const auto b = Json::parse(bw.out);
    // The fault source sends its 8-byte sequence number per message: bw is 8 bytes times the
    // rate the source really sent at while bw measured (under a sanitizer or on a loaded machine
    // the 1 kHz timer falls behind, so the reference is the counter, not 8000).
    EXPECT_NEAR(b.at("mean_size").get<double>(), 8.0, 0.01);
    const double bw_rate =
        (bw_after.first - bw_before.first) / ((bw_after.second - bw_before.second) * 1e-9);
    std::printf("[observe] topic bw: %.1f B/s (the source's counter: %.1f B/s)\n",
                b.at("bytes_per_s").get<double>(), 8.0 * bw_rate);
    EXPECT_NEAR(b.at("bytes_per_s").get<double>(), 8.0 * bw_rate, 0.1 * 8.0 * bw_rate);
    if (bw_rate > 950.0) {
        EXPECT_NEAR(b.at("bytes_per_s").get<double>(), 8000.0, 800.0);
    }
}

TEST_F(ObserveTest, TopicEchoPrintsTypedTextAndBytesAsSent) {
    const auto uuid = start_typed();
    ASSERT_FALSE(uuid.empty());
    const auto r = cli({"topic", "echo", "typed/out", "-d", "typed", "--count", "9", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    std::istringstream lines(r.out);
    int typed = 0;
    int bytes = 0;
    int rgb = 0;
    for (std::string line; std::getline(lines, line);) {
        const auto m = Json::parse(line);
        const auto k = m.at("sequence").get<std::uint64_t>();
        EXPECT_EQ(m.at("output"), "typed/out");
        if (k % 3 == 1) { // bytes: 15 bytes, the first 8 are k little-endian
            ++bytes;
            EXPECT_EQ(m.at("dtype"), "bytes");
            EXPECT_EQ(m.at("size"), 15);
            char expect[8];
            std::snprintf(expect, sizeof(expect), "%02x %02x", static_cast<unsigned>(k & 255),
                          static_cast<unsigned>((k >> 8) & 255));
            EXPECT_TRUE(m.at("hex").get<std::string>().starts_with(expect)) << line;
        } else if (k % 3 == 2) { // u8 {4,5,3} rgb8, values (k + i) % 256
            ++rgb;
            EXPECT_EQ(m.at("dtype"), "u8");
            EXPECT_EQ(m.at("shape"), Json::array({4, 5, 3}));
            EXPECT_EQ(m.at("encoding"), "rgb8");
            EXPECT_EQ(m.at("parameters").at("frame"), k);
            EXPECT_EQ(m.at("parameters").at("camera"), "front");
            const auto& values = m.at("values");
            ASSERT_EQ(values.size(), 32U) << "truncated to 32 of 60 values";
            EXPECT_TRUE(m.at("truncated").get<bool>());
            for (std::size_t i = 0; i < values.size(); ++i) {
                EXPECT_EQ(values[i].get<std::uint64_t>(), (k + i) % 256);
            }
        } else { // f32 {2,3,4}, values k*100 + i, every parameter kind
            ++typed;
            EXPECT_EQ(m.at("dtype"), "f32");
            EXPECT_EQ(m.at("shape"), Json::array({2, 3, 4}));
            const auto& values = m.at("values");
            ASSERT_EQ(values.size(), 24U);
            EXPECT_FALSE(m.at("truncated").get<bool>());
            for (std::size_t i = 0; i < values.size(); ++i) {
                EXPECT_EQ(values[i].get<double>(), static_cast<double>(k * 100 + i));
            }
            const auto& p = m.at("parameters");
            EXPECT_EQ(p.at("frame"), k);
            EXPECT_EQ(p.at("flag"), k % 2 == 0);
            EXPECT_EQ(p.at("scale"), static_cast<double>(k) * 0.5);
            EXPECT_EQ(p.at("name"), "f" + std::to_string(k));
            EXPECT_EQ(p.at("dims"), Json::array({2, 3, 4}));
            EXPECT_EQ(p.at("gains"),
                      Json::array({static_cast<double>(k), -0.25 * static_cast<double>(k)}));
            EXPECT_EQ(p.at("tags"), Json::array({"a", "b" + std::to_string(k)}));
        }
    }
    EXPECT_EQ(bytes + rgb + typed, 9);
    EXPECT_GE(bytes, 2);
    EXPECT_GE(rgb, 2);
    EXPECT_GE(typed, 2);
    // Text: the utf-8 encoding prints as text (multi-byte characters intact).
    const auto t = cli({"topic", "echo", "text/out", "-d", "typed", "--count", "3"});
    ASSERT_EQ(t.status, 0) << t.err;
    EXPECT_NE(t.out.find("encoding: utf-8"), std::string::npos) << t.out;
    EXPECT_NE(t.out.find(" \xc3\xa9t\xc3\xa9\n"), std::string::npos) << t.out;
    EXPECT_NE(t.out.find("text: hello "), std::string::npos) << t.out;
    // list and info name what runs.
    const auto l = cli({"topic", "list", "typed", "--json"});
    ASSERT_EQ(l.status, 0) << l.err;
    const auto lj = Json::parse(l.out);
    ASSERT_EQ(lj.at("outputs").size(), 2U);
    EXPECT_EQ(lj.at("outputs")[0].at("output"), "typed/out");
    EXPECT_EQ(lj.at("outputs")[1].at("output"), "text/out");
    const auto info = cli({"topic", "info", "typed/out", "-d", "typed", "--json"});
    ASSERT_EQ(info.status, 0) << info.err;
    const auto ij = Json::parse(info.out);
    EXPECT_GT(ij.at("sent").get<std::uint64_t>(), 0U);
    EXPECT_TRUE(ij.contains("last_seen")) << info.out;
    stop(uuid);
}

TEST_F(ObserveTest, UnknownDataflowOrOutputIsAClearErrorWithExitStatusOne) {
    auto r = cli({"topic", "hz", "src/out", "-d", "no-such-flow", "--count", "1"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("no running dataflow with ID, ID prefix or name 'no-such-flow'"),
              std::string::npos)
        << r.err;
    r = cli({"topic", "echo", "src/nope", "-d", companion_tag_, "--count", "1"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("has no output 'src/nope'; its outputs are:\n  src/out"),
              std::string::npos)
        << r.err;
    r = cli({"topic", "info", "src/nope", "-d", companion_tag_});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("has no output 'src/nope'"), std::string::npos) << r.err;
    r = cli({"topic", "list", "no-such-flow"});
    EXPECT_EQ(r.status, 1);
    r = cli({"topic", "echo", "nodeonly", "-d", companion_tag_});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("write NODE/OUTPUT"), std::string::npos) << r.err;
    r = cli({"topic", "frobnicate"});
    EXPECT_EQ(r.status, 2);
}

TEST_F(ObserveTest, TopOnceJsonNamesEveryNodeWithPlausibleRates) {
    const auto r = cli({"top", companion_tag_, "--once", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    const auto j = Json::parse(r.out);
    const auto expected_pids = pids(companion_);
    std::map<std::string, Json> nodes;
    for (const auto& n : j.at("nodes")) {
        nodes[n.at("id").get<std::string>()] = n;
    }
    ASSERT_EQ(nodes.size(), 2U) << r.out;
    for (const auto& id : {"src", "sink"}) {
        const auto& n = nodes.at(id);
        EXPECT_EQ(n.at("pid").get<pid_t>(), expected_pids.at(id));
        EXPECT_EQ(n.at("status"), "running");
        EXPECT_GE(n.at("cpu_percent").get<double>(), 0.0);
        EXPECT_LT(n.at("cpu_percent").get<double>(), 200.0);
        EXPECT_GT(n.at("rss_bytes").get<double>(), 1e5);
        EXPECT_EQ(n.at("restarts"), 0);
    }
    std::map<std::string, Json> outputs;
    for (const auto& o : j.at("outputs")) {
        outputs[o.at("name").get<std::string>()] = o;
    }
    // The 1 kHz timer and the source that forwards it: ~1000 msg/s (a loaded machine may lag).
    for (const auto& name : {"src/out", "zeroflow/timer/millis/1"}) {
        const auto rate = outputs.at(name).at("msgs_per_s").get<double>();
        EXPECT_GT(rate, 300.0) << name;
        EXPECT_LT(rate, 1100.0) << name;
    }
    // 8 bytes a message.
    EXPECT_NEAR(outputs.at("src/out").at("mb_per_s").get<double>(),
                outputs.at("src/out").at("msgs_per_s").get<double>() * 8e-6, 2e-3);
    bool sink_in = false;
    for (const auto& in : j.at("inputs")) {
        if (in.at("node") == "sink") {
            sink_in = true;
            EXPECT_EQ(in.at("source"), "src/out");
            EXPECT_EQ(in.at("queue_size"), 1024);
            EXPECT_EQ(in.at("dropped"), 0);
        }
    }
    EXPECT_TRUE(sink_in);
    const auto text = cli({"top", companion_tag_, "--once", "--interval", "200ms"});
    ASSERT_EQ(text.status, 0) << text.err;
    EXPECT_NE(text.out.find("src/out"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("NODE"), std::string::npos) << text.out;
    EXPECT_EQ(cli({"top", "--json"}).status, 2);
    EXPECT_EQ(cli({"top", "no-such-flow", "--once"}).status, 1);
}

/// `node read_mcap.js FILE --pattern`: @mcap/core's view of a recording, as JSON.
Json read_back(const fs::path& file, const fs::path& scratch) {
    const auto out = scratch / "read_mcap.json";
    const auto cmd = "NODE_PATH='" + (kMcapJsDir / "node_modules").string() + "' '" +
                     kNodeJs.string() + "' '" + kReadMcap.string() + "' '" + file.string() +
                     "' --pattern > '" + out.string() + "'";
    const int status = std::system(cmd.c_str());
    EXPECT_EQ(status, 0) << cmd << "\n" << read_file(out).substr(0, 2000);
    try {
        return Json::parse(read_file(out));
    } catch (const std::exception& e) {
        ADD_FAILURE() << "read_mcap.js printed no JSON: " << e.what();
        return Json::object();
    }
}

TEST_F(ObserveTest, RecordingsReadBackByteIdenticalWithMcapCore) {
    if (!fs::exists(kMcapJsDir / "node_modules" / "@mcap" / "core")) {
        GTEST_FAIL() << "@mcap/core is not installed: run `npm install --prefix " << kMcapJsDir
                     << " @mcap/core` (tools/install-deps.sh says how)";
    }
    const auto uuid = start_flow("pattern", {{"@PERIOD_US@", "1000"}, {"@SIZE@", "3000"}});
    ASSERT_FALSE(uuid.empty());
    for (const std::string compression : {"zstd", "lz4", "none"}) {
        SCOPED_TRACE(compression);
        const auto file = root_ / ("run-" + compression + ".mcap");
        const auto r = cli({"record", "pattern", "-o", file.string(), "--compression", compression,
                            "--duration", "2s", "--json"});
        ASSERT_EQ(r.status, 0) << r.err;
        const auto summary = Json::parse(r.out);
        std::printf("[observe] record %s: %s\n", compression.c_str(), summary.dump().c_str());
        // None dropped normally; on a machine loaded far past its cores the recorder may be
        // descheduled for longer than its tap's 64 messages: then a few, all reported.
        const auto dropped = summary.at("tap_dropped").get<std::uint64_t>() +
                             summary.at("recorder_dropped").get<std::uint64_t>();
        EXPECT_LE(dropped * 50, summary.at("messages").get<std::uint64_t>());
        const auto j = read_back(file, root_);
        ASSERT_TRUE(j.value("ok", false)) << j.dump().substr(0, 2000);
        EXPECT_TRUE(j.at("summary_present").get<bool>());
        EXPECT_TRUE(j.at("summary_crc_ok").get<bool>());
        EXPECT_TRUE(j.at("data_crc_ok").get<bool>());
        EXPECT_TRUE(j.at("stream_done").get<bool>());
        EXPECT_GE(j.at("chunks").get<int>(), 1);
        EXPECT_EQ(j.at("compression"), Json::array({compression == "none" ? "" : compression}));
        const auto& messages = j.at("messages");
        ASSERT_GT(messages.size(), 500U) << "2 s of a 1 kHz stream";
        EXPECT_EQ(j.at("indexed_messages").get<std::size_t>(), messages.size());
        EXPECT_EQ(j.at("statistics").at("messages").get<std::size_t>(), messages.size());
        EXPECT_EQ(summary.at("messages").get<std::size_t>(), messages.size());
        ASSERT_EQ(j.at("channels").size(), 1U);
        EXPECT_EQ(j.at("channels")[0].at("topic"), "pattern/out");
        EXPECT_EQ(j.at("channels")[0].at("message_encoding"), "protobuf");
        EXPECT_EQ(j.at("channels")[0].at("schema"), "zeroflow.Message");
        std::uint64_t previous = 0;
        std::uint64_t gaps = 0;
        std::size_t bad = 0;
        for (const auto& m : messages) {
            const auto k = m.at("sequence").get<std::uint64_t>();
            if (previous != 0) {
                EXPECT_GT(k, previous) << "in order";
                gaps += k - previous - 1;
            }
            previous = k;
            bad += m.at("pattern_ok").get<bool>() ? 0 : 1;
            EXPECT_EQ(m.at("log_time").get<std::string>(), m.at("wall_time_ns").get<std::string>());
            EXPECT_EQ(m.at("size"), 3000 + k % 7);
        }
        EXPECT_EQ(bad, 0U) << "payloads, dtype, shape, encoding or parameters differ";
        // What is missing is exactly what the recorder says it dropped (none, normally).
        EXPECT_EQ(gaps, summary.at("tap_dropped").get<std::uint64_t>() +
                            summary.at("recorder_dropped").get<std::uint64_t>());
    }
    stop(uuid);
}

TEST_F(ObserveTest, ReplayGivesDownstreamByteIdenticalMessagesAndRefusesTruncatedFiles) {
    // Record the pattern source of a running flow.
    const auto live = start_flow("replay", {{"@REPORT@", (root_ / "reports" / "live").string()}});
    ASSERT_FALSE(live.empty());
    const auto file = root_ / "replay.mcap";
    const auto rec = cli({"record", "replay", "-o", file.string(), "--outputs", "pattern/out",
                          "--duration", "1500ms", "--json"});
    ASSERT_EQ(rec.status, 0) << rec.err;
    const auto recorded = Json::parse(rec.out);
    const auto messages = recorded.at("messages").get<std::uint64_t>();
    ASSERT_GT(messages, 300U);
    const auto dropped = recorded.at("tap_dropped").get<std::uint64_t>() +
                         recorded.at("recorder_dropped").get<std::uint64_t>();
    ASSERT_LE(dropped * 50, messages); // see RecordingsReadBack...: none, or a few on overload
    stop(live);
    // Replay it into the same flow: `pattern` is replaced, `check` verifies what it gets.
    const auto report = root_ / "reports" / "replayed";
    const auto flow = render_flow("replay", {{"@REPORT@", report.string()}}, "replay-again");
    const auto begin = Clock::now();
    const auto r = cli({"replay", file.string(), "--dataflow", flow.string(), "--json"}, 60s);
    const double took = ms_since(begin) / 1000.0;
    ASSERT_EQ(r.status, 0) << r.err;
    const auto summary = Json::parse(r.out);
    EXPECT_EQ(summary.at("messages").get<std::uint64_t>(), messages);
    EXPECT_EQ(summary.at("failed"), 0);
    // Original timing: about the 1.5 s the recording spans.
    EXPECT_GT(summary.at("seconds").get<double>(), 1.2);
    EXPECT_LT(took, 20.0);
    const auto check = read_report(report);
    EXPECT_EQ(number(check, "done"), 1U);
    EXPECT_EQ(number(check, "received"), messages) << "downstream got every recorded message";
    EXPECT_EQ(number(check, "ok"), messages) << "payload, dtype, shape, encoding, parameters";
    EXPECT_EQ(number(check, "bad"), 0U);
    // In the recorded order: no gap but where the recording itself has one.
    EXPECT_LE(number(check, "gaps"), dropped) << "in the recorded order";
    std::printf("[observe] replay: %llu messages in %.2f s, downstream ok=%llu\n",
                static_cast<unsigned long long>(messages), summary.at("seconds").get<double>(),
                static_cast<unsigned long long>(number(check, "ok")));
    // --rate 0: as fast as it can, every message still sent and none of them altered.
    const auto fast_report = root_ / "reports" / "replayed-fast";
    const auto fast_flow =
        render_flow("replay", {{"@REPORT@", fast_report.string()}}, "replay-fast");
    const auto fast = cli(
        {"replay", file.string(), "--dataflow", fast_flow.string(), "--rate", "0", "--json"}, 60s);
    ASSERT_EQ(fast.status, 0) << fast.err;
    const auto fast_summary = Json::parse(fast.out);
    EXPECT_EQ(fast_summary.at("messages").get<std::uint64_t>(), messages);
    EXPECT_EQ(fast_summary.at("failed"), 0);
    EXPECT_LT(fast_summary.at("seconds").get<double>(), 1.0) << "not paced by the recording";
    const auto fast_check = read_report(fast_report);
    EXPECT_GT(number(fast_check, "received"), 0U);
    EXPECT_EQ(number(fast_check, "bad"), 0U);
    // --loop: starts the recording over until interrupted (Ctrl-C), then ends its dataflow.
    const auto loop_report = root_ / "reports" / "replayed-loop";
    const auto loop_flow =
        render_flow("replay", {{"@REPORT@", loop_report.string()}}, "replay-loop");
    const auto loop_out = root_ / "loop.out";
    const auto loop_err = root_ / "loop.err";
    const pid_t looper = spawn_cli({"replay", file.string(), "--dataflow", loop_flow.string(),
                                    "--rate", "4", "--loop", "--json"},
                                   loop_out, loop_err);
    // More than two recordings' worth downstream: it went round at least twice.
    EXPECT_TRUE(eventually(
        [&] { return number(read_report(loop_report), "received") > 2 * messages; }, 30s))
        << "received " << number(read_report(loop_report), "received") << " of a " << messages
        << "-message recording";
    ::kill(looper, SIGINT);
    int loop_status = 0;
    ASSERT_TRUE(
        eventually([&] { return ::waitpid(looper, &loop_status, WNOHANG) == looper; }, 20s));
    EXPECT_TRUE(WIFEXITED(loop_status) && WEXITSTATUS(loop_status) == 0)
        << "status " << loop_status << ": " << read_file(loop_err);
    const auto loop_summary = Json::parse(read_file(loop_out));
    EXPECT_GT(loop_summary.at("messages").get<std::uint64_t>(), 2 * messages);
    EXPECT_EQ(loop_summary.at("recorded").get<std::uint64_t>(), messages);
    EXPECT_EQ(loop_summary.at("failed"), 0);
    const auto loop_check = read_report(loop_report);
    EXPECT_EQ(number(loop_check, "done"), 1U) << "the interrupted replay ended its dataflow";
    EXPECT_EQ(number(loop_check, "bad"), 0U);
    EXPECT_LE(number(loop_check, "received"), loop_summary.at("messages").get<std::uint64_t>());
    // Truncated and foreign files: a clear error, exit status 1, nothing started.
    const auto bytes = read_file(file);
    const auto before = list().size();
    for (const std::size_t keep : {bytes.size() / 2, std::size_t{20}, std::size_t{3}}) {
        const auto cut = root_ / ("cut" + std::to_string(keep) + ".mcap");
        std::ofstream(cut, std::ios::binary) << bytes.substr(0, keep);
        const auto t = cli({"replay", cut.string(), "--dataflow", flow.string()});
        EXPECT_EQ(t.status, 1) << keep << ": " << t.err;
        EXPECT_TRUE(t.err.find("truncated") != std::string::npos ||
                    t.err.find("not an MCAP file") != std::string::npos)
            << t.err;
    }
    EXPECT_EQ(list().size(), before) << "no dataflow was started for a bad file";
    const auto missing =
        cli({"replay", (root_ / "nope.mcap").string(), "--dataflow", flow.string()});
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.err.find("cannot read"), std::string::npos) << missing.err;
}

} // namespace
} // namespace zeroflow::fault_test
