// Plumbing of the daemon tests: running the `zeroflow` binary with a timeout, writing dataflow
// files that point at the test node, reading the nodes' reports, and the fixture that gives each
// test its own runtime and dataflow folders and checks that nothing of the test survives it.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/types.h>

#include "../segment_probe.hpp"
#include "../time_scale.hpp"

namespace zeroflow::daemon_test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Json = nlohmann::json;

/// Exit status, output and duration of one `zeroflow` run.
struct CliResult {
    int status = -1; ///< exit status; -1 when killed by a signal or timed out
    bool timed_out = false;
    std::string out;
    std::string err;
    std::chrono::milliseconds elapsed{0};
};

/// One node of a generated dataflow: the test node binary with `role` and `args`.
struct NodeSpec {
    std::string id;
    std::string role;
    std::vector<std::string> args;
    std::vector<std::pair<std::string, std::string>> inputs; ///< input id -> source
    std::vector<std::string> outputs;
    std::uint32_t queue_size = 0; ///< 0: the default
    /// The program: "" for the test node (role first in args), "dynamic" for a dynamic node,
    /// else a path (args only, no role, when `role` is empty).
    std::string path{};
    /// More keys of the node, each line indented by four spaces (e.g. "    max_restarts: 3\n").
    std::string yaml{};
};

/// A node's report file (key=value lines); empty when absent.
std::map<std::string, std::string> read_report(const fs::path& file);
std::uint64_t report_number(const std::map<std::string, std::string>& report,
                            const std::string& key);

/// Whether a sink's recorded events are those of a stopped dataflow: Stop, or, when its source
/// acted on its own Stop first (Stop reaches the nodes one after the other) and closed its
/// output, InputClosed, AllInputsClosed, then the end of the stream.
inline bool stopped_events(const std::string& events) {
    return events == "stop" || events == "closed:in,all_closed,stop";
}

/// True while `pid` exists and is not a zombie.
bool process_alive(pid_t pid);
/// Waits until `pred` holds, at most `limit` (times ZEROFLOW_TEST_TIME_SCALE); returns the last
/// value of `pred`.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + zeroflow::test::scaled_time(limit);
    for (;;) {
        if (pred()) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= end) {
            return false;
        }
        std::this_thread::sleep_for(20ms);
    }
}

using zeroflow::test::segment_held; // ../segment_probe.hpp

class DaemonTest : public ::testing::Test {
protected:
    void SetUp() override;
    /// Destroys the daemons the test started, asserts that none of its processes, segments or
    /// markers remain, then removes by force whatever did (so later tests start clean).
    void TearDown() override;

    /// A runtime directory of this test (`name` tells several apart).
    fs::path runtime_dir(const std::string& name = "rt") const;
    /// Runs `zeroflow ARGS` with ZEROFLOW_RUNTIME_DIR=`rt`; kills it after `limit`.
    CliResult zeroflow(const std::vector<std::string>& args, const fs::path& rt,
                       std::chrono::milliseconds limit = 60s);
    CliResult zeroflow(const std::vector<std::string>& args) {
        return zeroflow(args, runtime_dir());
    }
    /// `zeroflow up` on `rt`; returns the daemon's pid (asserts success).
    pid_t up(const fs::path& rt);
    /// `zeroflow list --json` on `rt`, parsed.
    Json list(const fs::path& rt);
    Json list() { return list(runtime_dir()); }
    /// One dataflow of `list` by UUID (null when absent).
    static Json find(const Json& dataflows, const std::string& uuid);

    /// Writes a dataflow file `name`.yml into this test's dataflow folder; `extra` is YAML
    /// appended at the top level (e.g. an `shm:` section).
    fs::path write_dataflow(const std::string& name, const std::vector<NodeSpec>& nodes,
                            const std::string& extra = "");
    /// Path of a report file in this test's folder.
    fs::path report(const std::string& name) const { return root_ / "reports" / name; }
    /// Pids of every test node run this test started (each leaves its pid in a folder).
    std::set<pid_t> node_pids() const;
    /// The first line of `text` (a UUID printed by `start`).
    static std::string first_line(const std::string& text);
    /// The UUID in "dataflow <uuid> running" of `zeroflow run`'s output.
    static std::string run_uuid(const std::string& out);

    fs::path root_;
    fs::path flows_;
    /// "KEY=value" entries added to every `zeroflow` run's environment (ZEROFLOW_* included).
    std::vector<std::string> extra_env_;

private:
    std::set<pid_t> daemon_pids_;
    std::set<fs::path> used_runtime_dirs_;
    int runs_ = 0;
};

} // namespace zeroflow::daemon_test
