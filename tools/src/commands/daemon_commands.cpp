// up, destroy, daemon, start, stop, list, logs, build: thin clients of the daemon's requests,
// with dataflows named as users name them and failures said in words.
#include "daemon_commands.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zeroflow/daemon/daemon.hpp>
#include <zeroflow/daemon/exec_strings.hpp>
#include <zeroflow/dataflow/descriptor.hpp>
#include <zeroflow/dataflow/suggest.hpp>
#include <zeroflow/protocol/machine_agent.hpp>
#include <zeroflow/runtime/wire.hpp>

#include "client.hpp"
#include "commands.hpp"

namespace zeroflow::cli {

using protocol::Json;
using namespace std::chrono_literals;

namespace {
std::string& target_machine_slot() {
    static std::string machine;
    return machine;
}
} // namespace

void set_target_machine(std::string machine) {
    target_machine_slot() = std::move(machine);
}

const std::string& target_machine() {
    return target_machine_slot();
}

std::expected<Json, DaemonError> daemon_call(const Json& given, std::chrono::milliseconds timeout) {
    Json request = given;
    if (!target_machine().empty() && given.value("op", std::string()) != protocol::kForwardOp) {
        request =
            Json{{"op", protocol::kForwardOp}, {"machine", target_machine()}, {"request", given}};
        // The other machine's agent and daemon, and this one's hold of the forward.
        timeout = std::max(timeout + 12s, std::chrono::duration_cast<std::chrono::milliseconds>(
                                              protocol::forward_timeout(given) + 22s));
    }
    const auto socket = protocol::socket_path(protocol::runtime_dir());
    auto client = protocol::Client::connect(socket, 2s);
    if (!client) {
        if (client.error().code == protocol::ErrorCode::peer_refused) {
            return std::unexpected(DaemonError{
                std::nullopt, "no zeroflow daemon is running for " +
                                  protocol::runtime_dir().string() +
                                  "; start one with `zeroflow up` (or use `zeroflow run`)"});
        }
        return std::unexpected(DaemonError{std::nullopt, "cannot reach the zeroflow daemon: " +
                                                             client.error().message});
    }
    auto reply = client->request(request, timeout);
    if (!reply) {
        return std::unexpected(DaemonError{std::nullopt, "the zeroflow daemon did not answer: " +
                                                             reply.error().message});
    }
    auto body = protocol::unwrap_reply(*reply);
    if (!body) {
        return std::unexpected(DaemonError{protocol::parse_daemon_error_kind(body.error().kind),
                                           body.error().message});
    }
    return *body;
}

std::expected<Json, std::string> daemon_request(const Json& request,
                                                std::chrono::milliseconds timeout) {
    auto reply = daemon_call(request, timeout);
    if (!reply) {
        return std::unexpected(reply.error().message);
    }
    return *reply;
}

bool daemon_running() {
    return daemon_request(Json{{"op", "ping"}}, 2s).has_value();
}

bool is_uuid(const std::string& name) {
    // The form the daemon names run folders with: wire's lower-case text, nothing else.
    const auto uuid = wire::parse_uuid(name);
    return uuid && wire::to_string(*uuid) == name;
}

namespace {

bool is_live_status(const std::string& status) {
    return status == "starting" || status == "running" || status == "stopping";
}

std::string entry_line(const Json& df) {
    const auto name = df.value("name", std::string());
    return "  " + df.value("uuid", std::string()) + (name.empty() ? "" : "  " + name) + "  " +
           df.value("status", std::string());
}

/// The last non-empty line of a node's captured output.
std::string last_line(const std::string& text) {
    std::string last;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (!line.empty()) {
            last = line;
        }
    }
    return last;
}

} // namespace

std::string describe_running(const Json& dataflows) {
    std::string text;
    for (const auto& df : dataflows) {
        if (is_live_status(df.value("status", std::string()))) {
            text += (text.empty() ? "" : "\n") + entry_line(df);
        }
    }
    return text.empty() ? "no dataflow is running" : "running dataflows:\n" + text;
}

std::expected<std::string, std::string> resolve_dataflow(const std::string& key,
                                                         bool running_only) {
    auto reply = daemon_request(Json{{"op", "list"}}, 10s);
    if (!reply) {
        return std::unexpected(reply.error());
    }
    const auto& dataflows = (*reply)["dataflows"];
    std::vector<const Json*> prefixed;
    std::vector<std::string> names;
    for (const auto& df : dataflows) {
        if (running_only && !is_live_status(df.value("status", std::string()))) {
            continue;
        }
        const auto uuid = df.value("uuid", std::string());
        const auto name = df.value("name", std::string());
        if (uuid == key || (!name.empty() && name == key)) {
            return key; // the daemon resolves names (a live one first) and full UUIDs
        }
        if (!key.empty() && uuid.starts_with(key)) {
            prefixed.push_back(&df);
        }
        if (!name.empty()) {
            names.push_back(name);
        }
    }
    if (prefixed.size() == 1) {
        return (*prefixed.front())["uuid"].get<std::string>();
    }
    if (prefixed.size() > 1) {
        std::string list;
        for (const auto* df : prefixed) {
            list += "\n" + entry_line(*df);
        }
        return std::unexpected("'" + key + "' is the start of several dataflows' UUIDs; give " +
                               "more of it:" + list);
    }
    std::string message = "no " + std::string(running_only ? "running " : "") +
                          "dataflow with UUID, UUID prefix or name '" + key + "'";
    if (auto near = dataflow::suggest(key, names)) {
        message += " (did you mean '" + *near + "'?)";
    }
    return std::unexpected(message + "\n" + describe_running(dataflows));
}

std::string node_outcome(const Json& n, bool dataflow_live) {
    if (n.contains("exit_code")) {
        const int code = n["exit_code"].get<int>();
        return code == 0 ? "succeeded (exit status 0)"
                         : "failed: exited with status " + std::to_string(code);
    }
    if (n.contains("signal")) {
        const auto result = n.value("result", std::string("was killed by a signal"));
        // "was killed by signal 6 (Aborted)" -> "killed by signal 6 (Aborted)"
        const auto what = result.starts_with("was ") ? result.substr(4) : result;
        if (n.value("stopped_by_daemon", false)) {
            return "stopped: " + what + " (it did not end on Stop within the grace period)";
        }
        return "crashed: " + what;
    }
    if (n.contains("result")) {
        return n["result"].get<std::string>();
    }
    const auto status = n.value("status", std::string());
    if (!dataflow_live && (status == "starting" || status.empty())) {
        return n.contains("pid") ? "stopped before it registered" : "not started";
    }
    return status;
}

namespace {

/// Warnings about the inputs of a node that ran to the end: messages that reached an input the
/// node never took (it did not read its events), and an input its code never named while it
/// named others with node.input() (a typo in the dataflow or the node, e.g. `imgae:`).
void warn_untaken_inputs(const Json& node, std::ostream& err) {
    const auto id = node.value("id", std::string());
    const auto inputs = node.value("inputs", Json::array());
    std::string named;
    for (const auto& in : inputs) {
        if (in.value("asked", false)) {
            named += (named.empty() ? "`" : ", `") + in.value("id", std::string()) + "`";
        }
    }
    for (const auto& in : inputs) {
        const auto input = in.value("id", std::string());
        const auto from = in.value("from", std::string());
        const auto received = in.value("received", std::uint64_t{0});
        if (received == 0) {
            continue;
        }
        if (in.value("taken", std::uint64_t{0}) == 0) {
            err << "warning: node `" << id << "` never took any of the " << received
                << " messages that reached its input `" << input << "` (from " << from
                << "): it did not read its events before it exited\n";
        } else if (!named.empty() && !in.value("asked", false)) {
            err << "warning: node `" << id << "` named its inputs " << named
                << " with node.input() but never `" << input << "`, which received " << received
                << " messages from " << from
                << ": check that name in the dataflow against the node's code\n";
        }
    }
}

} // namespace

int report_result(const Json& result, std::ostream& out, std::ostream& err, bool show_output) {
    const auto uuid = result.value("uuid", std::string());
    bool ok = result.value("success", false);
    for (const auto& n : result.value("nodes", Json::array())) {
        const auto id = n.value("id", std::string());
        if (n.value("dynamic", false)) {
            continue;
        }
        const auto text = n.value("result", std::string("did not run"));
        const bool node_ok = n.contains("exit_code") && n["exit_code"] == 0;
        (node_ok ? out : err) << "  " << id << ": " << text << "\n";
        if (node_ok) {
            warn_untaken_inputs(n, err);
        }
        if (!node_ok && show_output) {
            const auto tail = n.value("last_stderr", std::string());
            if (!tail.empty()) {
                err << "    last output of " << id << ":\n";
                std::istringstream lines(tail);
                for (std::string line; std::getline(lines, line);) {
                    err << "      " << line << "\n";
                }
            }
        }
    }
    if (result.contains("failure")) {
        err << "dataflow " << uuid << " failed: " << result["failure"].get<std::string>() << "\n";
        ok = false;
    }
    if (!ok) {
        std::string failed;
        for (const auto& f : result.value("failed_nodes", Json::array())) {
            failed += (failed.empty() ? "" : ", ") + f.get<std::string>();
        }
        if (!failed.empty()) {
            err << "dataflow " << uuid << " finished with failed nodes: " << failed << "\n";
        }
        return kExitFailure;
    }
    out << "dataflow " << uuid << " finished: every node exited 0\n";
    return kExitOk;
}

int run_up(std::ostream& out, std::ostream& err, const std::string& machine_id,
           std::uint32_t dds_domain) {
    if (auto ping = daemon_request(Json{{"op", "ping"}}, 2s)) {
        out << "zeroflow daemon already running (pid " << (*ping)["pid"] << ") on "
            << protocol::socket_path(protocol::runtime_dir()).string() << "\n";
        return kExitOk;
    }
    const auto dir = protocol::runtime_dir();
    if (auto ok = protocol::ensure_runtime_dir(dir); !ok) {
        err << "zeroflow: error: " << ok.error().message << "\n";
        return kExitFailure;
    }
    const auto log_file = protocol::daemon_log_path(dir).string();
    std::string self = "/proc/self/exe";
    daemon::ExecStrings argv{"zeroflow", "daemon", "--log-file", log_file};
    if (!machine_id.empty()) {
        argv.push_back("--machine-id");
        argv.push_back(machine_id);
        argv.push_back("--dds-domain");
        argv.push_back(std::to_string(dds_domain));
    }
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0600);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
    pid_t pid = -1;
    auto env = daemon::ExecStrings::current_environment();
    const int rc = ::posix_spawn(&pid, self.c_str(), &actions, &attr, argv.data(), env.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        err << "zeroflow: error: cannot start the daemon: " << std::strerror(rc) << "\n";
        return kExitFailure;
    }
    for (int i = 0; i < 100; ++i) {
        if (auto ping = daemon_request(Json{{"op", "ping"}}, 1s)) {
            out << "zeroflow daemon started (pid " << pid << "), log: " << log_file << "\n";
            return kExitOk;
        }
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            // Another `up` may have won the race for the lock: fine if a daemon answers.
            if (daemon_running()) {
                out << "zeroflow daemon already running\n";
                return kExitOk;
            }
            err << "zeroflow: error: the daemon exited at start; see " << log_file << "\n";
            return kExitFailure;
        }
        std::this_thread::sleep_for(50ms);
    }
    err << "zeroflow: error: the daemon did not answer within 5 s; see " << log_file << "\n";
    return kExitFailure;
}

int run_destroy(double grace_s, std::ostream& out, std::ostream& err) {
    auto ping = daemon_request(Json{{"op", "ping"}}, 2s);
    if (!ping) {
        out << "no zeroflow daemon is running\n";
        return kExitOk;
    }
    const auto timeout =
        std::chrono::milliseconds(static_cast<std::int64_t>(grace_s * 1000) + 30000);
    auto reply = daemon_request(Json{{"op", "destroy"}, {"grace_s", grace_s}}, timeout);
    if (!reply) {
        err << "zeroflow: error: " << reply.error() << "\n";
        return kExitFailure;
    }
    // Wait for the process to be gone so that a following `up` finds the lock free.
    const pid_t pid = (*ping)["pid"].get<pid_t>();
    // `up` left the daemon to init, which may reap it late (slowly in some containers); as a
    // zombie it holds no lock any more, so it counts as gone.
    auto alive = [pid] {
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        std::getline(stat, line);
        const auto paren = line.rfind(')');
        return ::kill(pid, 0) == 0 &&
               (paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'Z');
    };
    for (int i = 0; i < 200 && alive(); ++i) {
        std::this_thread::sleep_for(25ms);
    }
    out << "zeroflow daemon stopped\n";
    return kExitOk;
}

namespace {

/// The machine agent of `zeroflow daemon --machine-id`: zeroflow-bridge --agent, beside this
/// executable (or ZEROFLOW_BRIDGE), started once the daemon listens and ended with it. It takes
/// this daemon's starts across machines and those other machines hand this one over DDS
/// (docs/design/machines.md). Its output goes to agent.log in the runtime directory.
class MachineAgent {
public:
    MachineAgent(const DaemonOptions& options, const std::filesystem::path& runtime_dir,
                 std::ostream& err) {
        std::error_code ec;
        const char* named = std::getenv("ZEROFLOW_BRIDGE");
        const auto bridge =
            named != nullptr && *named != '\0'
                ? std::filesystem::path(named)
                : std::filesystem::read_symlink("/proc/self/exe", ec).parent_path() /
                      "zeroflow-bridge";
        if (::access(bridge.c_str(), X_OK) != 0) {
            err << "zeroflow: warning: no machine agent: " << bridge.string()
                << " is not an executable (" << std::strerror(errno)
                << "); this daemon cannot start dataflows across machines (install "
                   "zeroflow-bridge beside zeroflow, or set ZEROFLOW_BRIDGE)\n";
            return;
        }
        const auto log_file = (runtime_dir / "agent.log").string();
        daemon::ExecStrings argv{bridge.string(), "--agent",
                                 "--machine",     options.machine_id,
                                 "--dds-domain",  std::to_string(options.dds_domain),
                                 "--parent",      std::to_string(::getpid())};
        auto env = daemon::ExecStrings::current_environment();
        env.set(protocol::kRuntimeDirEnv, runtime_dir.string());
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, log_file.c_str(),
                                         O_WRONLY | O_CREAT | O_APPEND, 0600);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        // The daemon's threads block SIGINT and SIGTERM (its signal thread waits for them): the
        // agent must get them, and its bridges after it.
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t none;
        sigemptyset(&none);
        posix_spawnattr_setsigmask(&attr, &none);
        sigset_t defaults;
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGINT);
        sigaddset(&defaults, SIGTERM);
        sigaddset(&defaults, SIGPIPE);
        posix_spawnattr_setsigdefault(&attr, &defaults);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        const int rc =
            ::posix_spawn(&pid_, bridge.c_str(), &actions, &attr, argv.data(), env.data());
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) {
            err << "zeroflow: warning: no machine agent: cannot start " << bridge.string() << ": "
                << std::strerror(rc) << "\n";
            pid_ = -1;
            return;
        }
        pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
        err << "zeroflow: machine agent " << pid_ << " for machine '" << options.machine_id
            << "' on DDS domain " << options.dds_domain << " (log: " << log_file << ")\n";
    }
    MachineAgent(const MachineAgent&) = delete;
    MachineAgent& operator=(const MachineAgent&) = delete;
    /// Ends it: SIGTERM (it ends the bridges it runs), SIGKILL after 15 s. The daemon may have
    /// reaped it already (it reaps every child); its pidfd says when it is gone either way.
    ~MachineAgent() {
        if (pidfd_ < 0) {
            return;
        }
        auto gone = [this](int ms) {
            pollfd p{pidfd_, POLLIN, 0};
            return ::poll(&p, 1, ms) > 0;
        };
        if (!gone(0)) {
            ::syscall(SYS_pidfd_send_signal, pidfd_, SIGTERM, nullptr, 0);
            if (!gone(15000)) {
                ::syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
                gone(5000);
            }
        }
        ::waitpid(pid_, nullptr, WNOHANG);
        ::close(pidfd_);
    }

private:
    pid_t pid_ = -1;
    int pidfd_ = -1;
};

} // namespace

int run_daemon_foreground(const DaemonOptions& options, std::ostream& out, std::ostream& err) {
    if (options.run_dataflow) {
        if (auto failed = preflight(*options.run_dataflow, err)) {
            return *failed;
        }
    }
    try {
        daemon::setup_logging(options.log_file, "info");
    } catch (const std::exception& e) {
        err << "zeroflow: error: cannot open the daemon log: " << e.what() << "\n";
        return kExitFailure;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    daemon::Options daemon_options;
    daemon_options.runtime_dir = protocol::runtime_dir();
    daemon_options.machine_id = options.machine_id;
    if (options.run_dataflow) {
        // SIGTERM (systemctl stop) gives the dataflow the grace period `zeroflow stop` gives.
        daemon_options.shutdown_grace = 10s;
    }
    auto created = daemon::Daemon::create(daemon_options);
    if (!created) {
        err << "zeroflow: error: " << created.error() << "\n";
        return kExitFailure;
    }
    auto& d = **created;
    std::optional<MachineAgent> agent;
    if (!options.machine_id.empty()) {
        agent.emplace(options, daemon_options.runtime_dir, err);
    }
    std::thread signals([&d, set] {
        int sig = 0;
        sigwait(&set, &sig);
        d.request_shutdown();
    });
    auto stop_signals = [&] {
        // Unblock the signal thread if run() ended through `destroy` or the dataflow's end.
        pthread_kill(signals.native_handle(), SIGTERM);
        signals.join();
    };
    if (!options.run_dataflow) {
        const int rc = d.run();
        stop_signals();
        created->reset(); // socket and lock go first: a next daemon may start at once
        agent.reset();
        return rc;
    }
    // A daemon for one dataflow (a board's service): it serves as usual, so that the CLI sees
    // it, while a client thread starts the dataflow, waits for its end and ends the daemon.
    std::atomic<int> rc{kExitFailure};
    std::mutex alive_mutex; // held while the client may reach the daemon object
    bool alive = true;
    std::thread client([&] {
        std::error_code ec;
        const auto path = std::filesystem::absolute(*options.run_dataflow, ec);
        auto started =
            daemon_call(Json{{"op", "start"}, {"path", path.string()}}, std::chrono::minutes(2));
        if (!started) {
            print_daemon_error(started.error(), err);
        } else {
            const auto uuid = (*started)["uuid"].get<std::string>();
            out << "dataflow " << uuid << " running; node logs in "
                << protocol::run_log_dir(path.parent_path(), uuid).string() << "\n"
                << std::flush;
            auto result = daemon_request(Json{{"op", "wait"}, {"dataflow", uuid}},
                                         std::chrono::hours(24 * 365));
            if (!result) {
                err << "zeroflow: error: " << result.error() << "\n";
            } else {
                rc = report_result(*result, out, err);
            }
        }
        const std::lock_guard lock(alive_mutex);
        if (alive) {
            d.request_shutdown();
        }
    });
    d.run();
    stop_signals();
    {
        // A signal before the start was answered: closing the daemon's sockets ends the request.
        const std::lock_guard lock(alive_mutex);
        alive = false;
        created->reset();
    }
    client.join();
    return rc;
}

namespace {

bool is_executable(const std::filesystem::path& path) {
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0;
}

} // namespace

std::optional<int> preflight(const std::filesystem::path& file, std::ostream& err) {
    const auto parsed = dataflow::parse_file(file);
    if (!parsed.ok()) {
        return report_invalid(parsed, file, err);
    }
    err << parsed.format(); // warnings, as `check` prints them
    std::vector<std::string> unbuilt;
    for (const auto& node : parsed.descriptor->nodes) {
        if (!node.dynamic && node.build && !is_executable(node.executable)) {
            unbuilt.push_back(node.id);
        }
    }
    if (unbuilt.empty()) {
        return std::nullopt;
    }
    std::string list;
    for (const auto& id : unbuilt) {
        list += (list.empty() ? "'" : ", '") + id + "'";
    }
    err << "zeroflow: error: node" << (unbuilt.size() == 1 ? " " : "s ") << list
        << (unbuilt.size() == 1 ? " is" : " are") << " not built yet; build "
        << (unbuilt.size() == 1 ? "it" : "them") << " with `zeroflow build " << file.string()
        << "`\n";
    return kExitFailure;
}

void print_daemon_error(const DaemonError& error, std::ostream& err) {
    if (error.kind == protocol::DaemonErrorKind::bad_dataflow) {
        // Diagnostics, `file:line:col: error: ...` lines as `check` prints them: as they are.
        err << error.message << (error.message.ends_with('\n') ? "" : "\n");
        return;
    }
    err << "zeroflow: error: " << error.message << "\n";
}

int run_start(const StartOptions& options, std::ostream& out, std::ostream& err) {
    if (auto failed = preflight(options.file, err)) {
        return *failed;
    }
    std::error_code ec;
    const auto path = std::filesystem::absolute(options.file, ec);
    Json request{
        {"op", "start"}, {"path", path.string()}, {"start_timeout_s", options.start_timeout_s}};
    if (options.name) {
        request["name"] = *options.name;
    }
    const auto timeout = std::chrono::milliseconds(
        static_cast<std::int64_t>(options.start_timeout_s * 1000) + 30000);
    auto reply = daemon_call(request, timeout);
    if (!reply) {
        print_daemon_error(reply.error(), err);
        return kExitFailure;
    }
    const auto uuid = (*reply)["uuid"].get<std::string>();
    out << uuid << "\n" << std::flush;
    if (!options.attach) {
        return kExitOk;
    }
    auto result =
        daemon_request(Json{{"op", "wait"}, {"dataflow", uuid}}, std::chrono::hours(24 * 365));
    if (!result) {
        err << "zeroflow: error: " << result.error() << "\n";
        return kExitFailure;
    }
    return report_result(*result, out, err);
}

int run_stop(const StopOptions& options, std::ostream& out, std::ostream& err) {
    Json request{{"op", "stop"}, {"grace_s", options.grace_s}};
    if (options.dataflow) {
        auto resolved = resolve_dataflow(*options.dataflow, true);
        if (!resolved) {
            err << "zeroflow: error: " << resolved.error() << "\n";
            return kExitFailure;
        }
        request["dataflow"] = *resolved;
    }
    const auto timeout =
        std::chrono::milliseconds(static_cast<std::int64_t>(options.grace_s * 1000) + 30000);
    auto reply = daemon_request(request, timeout);
    if (!reply) {
        err << "zeroflow: error: " << reply.error() << "\n";
        return kExitFailure;
    }
    out << "dataflow " << (*reply)["uuid"].get<std::string>() << " stopped\n";
    return kExitOk;
}

namespace {

/// STATUS of the text view: a finished dataflow succeeded or failed.
std::string status_word(const Json& df) {
    const auto status = df.value("status", std::string());
    if (status == "finished") {
        return df.value("success", false) ? "succeeded" : "failed";
    }
    return status;
}

/// The first line of a dataflow's failure, without the node output that follows it.
std::string failure_reason(const std::string& failure) {
    auto reason = failure.substr(0, failure.find('\n'));
    constexpr std::string_view kOutput = "; its last output:";
    if (reason.ends_with(kOutput)) {
        reason.resize(reason.size() - kOutput.size());
    }
    return reason;
}

} // namespace

namespace {

/// `list` without a daemon (e.g. after `zeroflow run`, whose daemon ends with it): the runs
/// whose logs this runtime directory still knows, newest first.
int list_recorded(std::ostream& out) {
    std::error_code ec;
    std::vector<protocol::DataflowRecord> runs;
    for (auto& record : protocol::read_dataflow_records(protocol::runtime_dir())) {
        if (std::filesystem::exists(record.log_dir, ec)) {
            runs.push_back(std::move(record));
        }
    }
    std::sort(runs.begin(), runs.end(),
              [](const auto& a, const auto& b) { return a.written > b.written; });
    out << "no zeroflow daemon is running (`zeroflow up` starts one; `zeroflow run` embeds one "
           "that ends with its dataflow)\n";
    if (runs.empty()) {
        return kExitOk;
    }
    out << "earlier runs with logs (`zeroflow logs UUID NODE`), newest first:\n";
    for (const auto& run : runs) {
        out << "  " << run.uuid << "  " << (run.name.empty() ? "-" : run.name) << "  "
            << run.log_dir.string() << "\n";
    }
    return kExitOk;
}

} // namespace

int run_list(const ListOptions& options, std::ostream& out, std::ostream& err) {
    auto reply = daemon_call(Json{{"op", "list"}}, 10s);
    if (!reply && !reply.error().kind && !options.json && !daemon_running()) {
        return list_recorded(out);
    }
    if (!reply) {
        err << "zeroflow: error: " << reply.error().message << "\n";
        return kExitFailure;
    }
    const auto& dataflows = (*reply)["dataflows"];
    if (options.json) {
        out << dataflows.dump(2) << "\n";
        return kExitOk;
    }
    if (dataflows.empty()) {
        out << "no dataflows\n";
        return kExitOk;
    }
    out << std::left << std::setw(38) << "UUID" << std::setw(16) << "NAME" << std::setw(11)
        << "STATUS" << std::setw(9) << "RUNNING"
        << "UPTIME\n";
    for (const auto& df : dataflows) {
        const auto nodes = std::to_string(df["nodes_running"].get<int>()) + "/" +
                           std::to_string(df["nodes_total"].get<int>());
        const auto status = df["status"].get<std::string>();
        const bool live = is_live_status(status);
        out << std::left << std::setw(38) << df["uuid"].get<std::string>() << std::setw(16)
            << (df["name"].get<std::string>().empty() ? "-" : df["name"].get<std::string>())
            << std::setw(11) << status_word(df) << std::setw(9) << nodes
            << df["uptime_s"].get<long>() << "s";
        // A part of a dataflow across machines (zeroflow-bridge): which machines, and how each
        // is, after the columns (a dataflow of this machine only reads as it always did).
        if (df.contains("remote_machines")) {
            out << "  on machines";
            const auto here = df.value("machine", std::string());
            std::map<std::string, std::string> states{{here, "here"}};
            for (const auto& m : df["remote_machines"]) {
                states[m.value("machine", std::string())] = m.value("state", std::string());
            }
            const char* sep = " ";
            for (const auto& [machine, state] : states) {
                if (!machine.empty()) {
                    out << sep << machine << " (" << state << ")";
                    sep = ", ";
                }
            }
        }
        out << "\n";
        if (df.contains("failure")) {
            out << "    why: " << failure_reason(df["failure"].get<std::string>()) << "\n";
        }
        for (const auto& n : df.value("remote_nodes", Json::array())) {
            out << "    node " << n.value("id", std::string()) << " on machine "
                << n.value("machine", std::string()) << ": " << n.value("state", std::string())
                << "\n";
        }
        // Running: only the nodes that ended; ended: every node, with the failures' last line.
        for (const auto& n : df["nodes"]) {
            const auto restarts = n.value("restarts", 0U);
            if (n.value("dynamic", false) || (live && !n.contains("result") && restarts == 0)) {
                continue;
            }
            auto outcome = node_outcome(n, live);
            if (restarts > 0) { // restart_policy: how often, and why the last time
                outcome += " (restarted " + std::to_string(restarts) +
                           (restarts == 1 ? " time" : " times");
                if (!n.contains("result") && n.contains("last_exit")) {
                    outcome += "; last exit: " + n["last_exit"].value("result", std::string());
                }
                outcome += ")";
            }
            out << "    " << n["id"].get<std::string>();
            if (n.contains("stand_in_for")) { // zeroflow-bridge's pump for machine M's node
                out << " (stand-in for machine " << n["stand_in_for"].get<std::string>() << ")";
            }
            out << ": " << outcome << "\n";
            const bool failed = n.contains("result") &&
                                !(n.contains("exit_code") && n["exit_code"].get<int>() == 0);
            const auto last = last_line(n.value("last_stderr", std::string()));
            if (failed && !last.empty()) {
                out << "        last output: " << last << "\n";
            }
        }
    }
    return kExitOk;
}

namespace {

/// Copies what the file holds now (from the current position) to `out`.
void copy_available(std::ifstream& in, std::ostream& out) {
    std::string chunk(65536, '\0');
    while (in) {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        if (in.gcount() <= 0) {
            break;
        }
        out.write(chunk.data(), in.gcount());
    }
    out.flush();
}

/// The daemon keeps one rotated file per node log (max_log_size): `<log>.1`, the older part.
void copy_rotated(const std::filesystem::path& log, std::ostream& out) {
    auto old = log;
    old += ".1";
    std::ifstream in(old, std::ios::binary);
    if (in) {
        copy_available(in, out);
    }
}

/// "dataflow D has no node 'x' (did you mean 'y'?); its nodes: a, b, c".
std::string no_such_node(const std::string& dataflow, const std::string& node,
                         const std::vector<std::string>& nodes) {
    std::string message = "dataflow " + dataflow + " has no node '" + node + "'";
    if (auto near = dataflow::suggest(node, nodes)) {
        message += " (did you mean '" + *near + "'?)";
    }
    std::string list;
    for (const auto& id : nodes) {
        list += (list.empty() ? "" : ", ") + id;
    }
    return message + (list.empty() ? "" : "; its nodes: " + list);
}

/// The node ids of the daemon's dataflow `key` (a full UUID or a name).
std::vector<std::string> node_ids(const std::string& key) {
    std::vector<std::string> ids;
    auto reply = daemon_request(Json{{"op", "list"}}, 10s);
    if (!reply) {
        return ids;
    }
    for (const auto& df : (*reply)["dataflows"]) {
        if (df.value("uuid", std::string()) == key || df.value("name", std::string()) == key) {
            for (const auto& n : df["nodes"]) {
                ids.push_back(n.value("id", std::string()));
            }
            break;
        }
    }
    return ids;
}

} // namespace

std::optional<std::filesystem::path> recorded_log_dir(const std::string& key) {
    std::error_code ec;
    std::optional<std::filesystem::path> found;
    std::filesystem::file_time_type newest{};
    std::set<std::filesystem::path> by_prefix;
    for (const auto& record : protocol::read_dataflow_records(protocol::runtime_dir())) {
        if ((record.uuid == key || (!record.name.empty() && record.name == key)) &&
            (!found || record.written > newest)) {
            found = record.log_dir;
            newest = record.written;
        }
        if (!key.empty() && record.uuid.starts_with(key)) {
            by_prefix.insert(record.log_dir);
        }
    }
    if (!found && by_prefix.size() == 1) {
        found = *by_prefix.begin();
    }
    return found;
}

namespace {

/// The UUID of the one dataflow that runs (for `logs NODE`, dora's spelling); the reason
/// otherwise.
std::expected<std::string, std::string> only_running_dataflow() {
    auto reply = daemon_request(Json{{"op", "list"}}, 10s);
    if (!reply) {
        return std::unexpected(reply.error());
    }
    std::vector<std::string> live;
    for (const auto& df : (*reply)["dataflows"]) {
        if (is_live_status(df.value("status", std::string()))) {
            live.push_back(df.value("uuid", std::string()));
        }
    }
    if (live.size() == 1) {
        return live.front();
    }
    return std::unexpected(describe_running((*reply)["dataflows"]) +
                           "\nname the dataflow: zeroflow logs DATAFLOW NODE");
}

} // namespace

namespace {

/// `zeroflow logs` of a node on another machine: its log's text through `log_text` requests
/// forwarded there, followed while it runs with --follow. `machine` nullopt: the node's machine
/// as this daemon lists it (dataflow `key` here); nullopt back when it is lost or not listed.
std::optional<int> remote_logs(const std::string& key, const LogsOptions& options,
                               std::optional<std::string> machine, std::ostream& out,
                               std::ostream& err) {
    std::string dataflow = key;
    if (!machine) {
        auto listed = daemon_call(Json{{"op", "list"}}, 10s);
        if (!listed) {
            return std::nullopt;
        }
        for (const auto& df : (*listed)["dataflows"]) {
            if ((df.value("uuid", std::string()) != key &&
                 df.value("name", std::string()) != key) ||
                !df.contains("remote_nodes")) {
                continue;
            }
            dataflow = df.value("name", key); // the same on every machine; the UUIDs are not
            for (const auto& n : df["remote_nodes"]) {
                if (n.value("id", std::string()) == options.node &&
                    n.value("state", std::string()) != "lost") {
                    machine = n.value("machine", std::string());
                }
            }
        }
        if (!machine || machine->empty()) {
            return std::nullopt;
        }
    }
    std::uint64_t offset = 0;
    for (;;) {
        auto chunk = daemon_call(Json{{"op", protocol::kForwardOp},
                                      {"machine", *machine},
                                      {"request",
                                       {{"op", "log_text"},
                                        {"dataflow", dataflow},
                                        {"node", options.node},
                                        {"offset", offset}}}},
                                 25s);
        if (!chunk) {
            err << "zeroflow: error: " << chunk.error().message << "\n";
            return kExitFailure;
        }
        const auto text = chunk->value("text", std::string());
        out << text << std::flush;
        const auto next = chunk->value("offset", offset);
        const bool more = next > offset && next < chunk->value("size", next);
        offset = next;
        if (more) {
            continue; // the log is longer than one chunk
        }
        if (!options.follow || !chunk->value("running", false)) {
            return kExitOk;
        }
        std::this_thread::sleep_for(200ms);
    }
}

} // namespace

int run_logs(const LogsOptions& given, std::ostream& out, std::ostream& err) {
    LogsOptions options = given;
    if (!target_machine().empty()) {
        // `zeroflow --machine M logs`: the log is there, read as text (a path there is no use).
        if (options.dataflow.empty()) {
            err << "zeroflow: error: with --machine, name the dataflow: zeroflow --machine "
                << target_machine() << " logs DATAFLOW NODE\n";
            return kExitUsage;
        }
        const auto machine = target_machine();
        set_target_machine({}); // remote_logs forwards each request itself
        const auto rc = remote_logs(options.dataflow, options, machine, out, err);
        set_target_machine(machine);
        return *rc;
    }
    if (options.dataflow.empty()) {
        auto only = only_running_dataflow();
        if (!only) {
            err << "zeroflow: error: " << only.error() << "\n";
            return kExitFailure;
        }
        options.dataflow = *only;
    }
    std::string key = options.dataflow;
    std::optional<Json> reply;
    std::string daemon_error;
    if (auto resolved = resolve_dataflow(key, false); resolved) {
        key = *resolved;
        auto logs =
            daemon_call(Json{{"op", "logs"}, {"dataflow", key}, {"node", options.node}}, 10s);
        if (logs) {
            reply = *logs;
        } else if (logs.error().kind == protocol::DaemonErrorKind::remote_node) {
            // Its log is on its machine (here is at most the bridge's stand-in's): read there,
            // through the machine agents, unless that machine is lost.
            if (auto printed = remote_logs(key, options, std::nullopt, out, err)) {
                return *printed;
            }
            err << "zeroflow: error: " << logs.error().message << "\n";
            return kExitFailure;
        } else if (logs.error().kind == protocol::DaemonErrorKind::no_such_node) {
            err << "zeroflow: error: " << no_such_node(key, options.node, node_ids(key)) << "\n";
            return kExitFailure;
        } else {
            daemon_error = logs.error().message;
        }
    } else {
        daemon_error = resolved.error();
    }
    if (!reply) {
        // A dataflow the daemon no longer knows (long finished, or run by `zeroflow run`).
        const auto folder = recorded_log_dir(options.dataflow);
        if (!folder) {
            if (!daemon_running()) {
                daemon_error = "no dataflow '" + options.dataflow +
                               "': no daemon is running, and no earlier run with that UUID, "
                               "UUID prefix or name has logs here (`zeroflow list` shows those "
                               "that do)";
            }
            err << "zeroflow: error: " << daemon_error << "\n";
            return kExitFailure;
        }
        const auto file = protocol::node_log_path(*folder, options.node);
        std::error_code ec;
        if (!std::filesystem::exists(file, ec)) {
            std::vector<std::string> nodes;
            for (const auto& e : std::filesystem::directory_iterator(*folder, ec)) {
                if (auto node = protocol::node_of_log_file(e.path().filename().string())) {
                    nodes.push_back(std::move(*node));
                }
            }
            std::sort(nodes.begin(), nodes.end());
            err << "zeroflow: error: "
                << (nodes.empty() && !std::filesystem::exists(*folder, ec)
                        ? "the logs of dataflow " + options.dataflow + " (" + folder->string() +
                              ") are gone (deleted by `zeroflow clean`, or by the retention of "
                              "the last runs' logs)"
                        : no_such_node(folder->filename().string(), options.node, nodes))
                << "\n";
            return kExitFailure;
        }
        copy_rotated(file, out);
        std::ifstream in(file, std::ios::binary);
        copy_available(in, out);
        return kExitOk;
    }
    const std::filesystem::path path = (*reply)["path"].get<std::string>();
    copy_rotated(path, out); // the older part, log_<node>.txt.1, first
    std::ifstream in(path, std::ios::binary);
    if (!in && !options.follow) {
        err << "zeroflow: error: no log yet at " << path.string() << "\n";
        return kExitFailure;
    }
    for (;;) {
        copy_available(in, out);
        if (!options.follow) {
            return kExitOk;
        }
        auto state =
            daemon_request(Json{{"op", "logs"}, {"dataflow", key}, {"node", options.node}}, 10s);
        if (!state || !(*state)["running"].get<bool>()) {
            in.clear();
            copy_available(in, out);
            return kExitOk;
        }
        std::this_thread::sleep_for(200ms);
        if (!in.is_open()) {
            in.open(path, std::ios::binary);
        }
        in.clear();
    }
}

int run_build(const BuildOptions& options, std::ostream& out, std::ostream& err) {
    auto parsed = dataflow::parse_file(options.file);
    if (!parsed.ok()) {
        // Missing executables are what `build` is for: only other errors stop it.
        err << parsed.format();
        return kExitFailure;
    }
    const auto& d = *parsed.descriptor;
    for (const auto& node : d.nodes) {
        if (!node.build) {
            continue;
        }
        const auto dir = node.working_dir.value_or(d.working_dir);
        if (std::error_code ec; node.working_dir && !std::filesystem::is_directory(dir, ec)) {
            // Its folder is on its machine only: built there (zeroflow build on that machine).
            out << "not building " << node.id << ": its working_dir " << dir.string()
                << " is not on this machine"
                << (node.machine ? " (it runs on " + *node.machine + ")" : "") << "\n";
            continue;
        }
        out << "building " << node.id << ": " << *node.build << "\n" << std::flush;
        pid_t pid = -1;
        daemon::ExecStrings argv{"/bin/sh", "-c", *node.build};
        auto env = daemon::ExecStrings::current_environment();
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
        const int rc = ::posix_spawn(&pid, "/bin/sh", &actions, nullptr, argv.data(), env.data());
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) {
            err << "zeroflow: error: cannot run /bin/sh: " << std::strerror(rc) << "\n";
            return kExitFailure;
        }
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            err << "zeroflow: error: building node '" << node.id << "' failed ("
                << (WIFEXITED(status) ? "status " + std::to_string(WEXITSTATUS(status))
                                      : "killed by a signal")
                << "): " << *node.build << "\n";
            return kExitFailure;
        }
    }
    out << "built " << options.file.string() << "\n";
    return kExitOk;
}

} // namespace zeroflow::cli
