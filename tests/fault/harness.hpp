// Plumbing of the fault tests: a zeroflowd child per test on its own runtime directory, raw and
// library clients, dataflows from the YAML templates in flows/, the 1 kHz companion stream that
// must see zero gaps through every scenario, and the after-test checks (daemon answers, no orphan
// process, no segment still mapped or held anywhere).
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
#include <sys/resource.h>
#include <sys/types.h>

#include <zeroflow/protocol/protocol.hpp>

#include "../segment_probe.hpp"
#include "../time_scale.hpp"

namespace zeroflow::fault_test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Json = protocol::Json;
using Clock = std::chrono::steady_clock;

/// `full` scaled by ZEROFLOW_FAULT_SCALE (percent; default 100, 20 in sanitizer builds), >= 1.
int scaled(int full);

/// key=value lines of a node report (empty when absent).
std::map<std::string, std::string> read_report(const fs::path& file);
std::uint64_t number(const std::map<std::string, std::string>& report, const std::string& key);

/// True while `pid` exists and is not a zombie.
bool process_alive(pid_t pid);
/// For a failure message: `pid`'s state and where it sleeps, its unix sockets and which
/// processes hold their other ends (`ss -xpn`), and its report.
std::string describe_node(pid_t pid, const fs::path& report);
using zeroflow::test::segment_held; // ../segment_probe.hpp

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit, std::chrono::milliseconds step = 5ms) {
    const auto end = Clock::now() + zeroflow::test::scaled_time(limit); // qemu: slower
    for (;;) {
        if (pred()) {
            return true;
        }
        if (Clock::now() >= end) {
            return false;
        }
        std::this_thread::sleep_for(step);
    }
}

double ms_since(Clock::time_point start);
/// Prints "[fault timing] <what>: median X ms, max Y ms over N" (the report's numbers).
void print_timing(const std::string& what, std::vector<double> samples);

/// A blocking raw connection to the daemon socket (frames written and read by hand).
class Raw {
public:
    explicit Raw(const fs::path& socket);
    Raw(Raw&& other) noexcept;
    Raw& operator=(Raw&&) = delete;
    ~Raw();
    bool ok() const { return fd_ >= 0; }
    int fd() const { return fd_; }
    /// Writes all of `bytes`; false when the peer is gone.
    bool write(std::string_view bytes);
    /// Reads one reply frame; nullopt on EOF, error or timeout.
    std::optional<Json> read(std::chrono::milliseconds timeout = 10s);
    /// True when the daemon closed the connection (EOF or reset) within `timeout`.
    bool closed_within(std::chrono::milliseconds timeout);
    /// Sends one request and reads its reply.
    std::optional<Json> call(const Json& request, std::chrono::milliseconds timeout = 10s);
    void close();

private:
    int fd_ = -1;
    std::string buffer_;
};

std::string frame_bytes(std::string_view body);
std::string error_kind(const std::optional<Json>& reply); ///< "" when ok or absent

class FaultTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    /// Starts zeroflowd on `rt_` (asserts that it answers ping).
    void start_daemon();
    /// SIGKILLs the daemon (its nodes live on).
    void kill_daemon();
    /// `ping` on a fresh connection: the daemon is alive and answers.
    bool ping();
    std::optional<Json> call(const Json& request, std::chrono::milliseconds timeout = 10s);

    /// Writes flows/<name>.yml from the template with @NODE@, @REPORT@ (reports/<tag>) and
    /// `extra` substituted; returns its path.
    fs::path dataflow_file(const std::string& name, const std::string& tag,
                           const std::map<std::string, std::string>& extra = {});
    /// Starts a dataflow from a template; returns its UUID (asserts success).
    std::string start(const std::string& name, const std::string& tag,
                      const std::map<std::string, std::string>& extra = {});
    /// `list`; records every pid it shows.
    Json list();
    Json dataflow(const std::string& uuid); ///< null when not listed
    std::map<std::string, pid_t> pids(const std::string& uuid);
    /// `stop` and the finish reply.
    std::optional<Json> stop(const std::string& uuid, double grace_s = 2.0);
    fs::path report(const std::string& tag, const std::string& node) const {
        return root_ / "reports" / (tag + "_" + node + ".txt");
    }

    /// Starts the companion stream (tag "companion<N>") and waits until its sink receives.
    void start_companion();
    /// Stops the companion and asserts that its sink saw no gap and no drop.
    void finish_companion();

    std::vector<std::string> daemon_args_; ///< extra zeroflowd arguments (limits)
    rlim_t address_space_limit_ = 0;       ///< RLIMIT_AS of the next daemon; 0: none
    fs::path root_;
    fs::path rt_;
    fs::path socket_;
    pid_t daemon_pid_ = -1;
    std::string companion_;
    std::string companion_tag_;
    std::set<pid_t> seen_pids_;
    std::set<std::string> seen_uuids_;
    std::vector<pid_t> dead_daemons_;
    int companions_ = 0;
    bool companion_done_ = false;
};

} // namespace zeroflow::fault_test
