// up, destroy, daemon, start, stop, list, logs, build: thin clients of the daemon's requests.
#include "daemon_commands.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <thread>

#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zeroflow/daemon/daemon.hpp>
#include <zeroflow/dataflow/descriptor.hpp>

#include "client.hpp"
#include "commands.hpp"

extern char** environ;

namespace zeroflow::cli {

using protocol::Json;
using namespace std::chrono_literals;

std::expected<Json, std::string> daemon_request(const Json& request,
                                                std::chrono::milliseconds timeout) {
    const auto socket = protocol::socket_path(protocol::runtime_dir());
    auto client = protocol::Client::connect(socket, 2s);
    if (!client) {
        if (client.error().code == protocol::ErrorCode::peer_refused) {
            return std::unexpected("no zeroflow daemon is running for " +
                                   protocol::runtime_dir().string() +
                                   "; start one with `zeroflow up` (or use `zeroflow run`)");
        }
        return std::unexpected("cannot reach the zeroflow daemon: " + client.error().message);
    }
    auto reply = client->request(request, timeout);
    if (!reply) {
        return std::unexpected("the zeroflow daemon did not answer: " + reply.error().message);
    }
    auto body = protocol::unwrap_reply(*reply);
    if (!body) {
        return std::unexpected(body.error().message + " [" + body.error().kind + "]");
    }
    return *body;
}

bool daemon_running() {
    return daemon_request(Json{{"op", "ping"}}, 2s).has_value();
}

int report_result(const Json& result, std::ostream& out, std::ostream& err) {
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
        if (!node_ok) {
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

int run_up(std::ostream& out, std::ostream& err) {
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
    const auto log_file = (dir / "daemon.log").string();
    std::string self = "/proc/self/exe";
    std::vector<std::string> args = {"zeroflow", "daemon", "--log-file", log_file};
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
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
    const int rc = ::posix_spawn(&pid, self.c_str(), &actions, &attr, argv.data(), environ);
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

int run_daemon_foreground(const std::optional<std::filesystem::path>& log_file, std::ostream& err) {
    try {
        daemon::setup_logging(log_file, "info");
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
    daemon::Options options;
    options.runtime_dir = protocol::runtime_dir();
    auto created = daemon::Daemon::create(options);
    if (!created) {
        err << "zeroflow: error: " << created.error() << "\n";
        return kExitFailure;
    }
    auto& d = **created;
    std::thread signals([&d, set] {
        int sig = 0;
        sigwait(&set, &sig);
        d.request_shutdown();
    });
    const int rc = d.run();
    // Unblock the signal thread if run() ended through `destroy`.
    pthread_kill(signals.native_handle(), SIGTERM);
    signals.join();
    return rc;
}

int run_start(const StartOptions& options, std::ostream& out, std::ostream& err) {
    std::error_code ec;
    const auto path = std::filesystem::absolute(options.file, ec);
    Json request{
        {"op", "start"}, {"path", path.string()}, {"start_timeout_s", options.start_timeout_s}};
    if (options.name) {
        request["name"] = *options.name;
    }
    const auto timeout = std::chrono::milliseconds(
        static_cast<std::int64_t>(options.start_timeout_s * 1000) + 30000);
    auto reply = daemon_request(request, timeout);
    if (!reply) {
        err << "zeroflow: error: " << reply.error() << "\n";
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
        request["dataflow"] = *options.dataflow;
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

int run_list(const ListOptions& options, std::ostream& out, std::ostream& err) {
    auto reply = daemon_request(Json{{"op", "list"}}, 10s);
    if (!reply) {
        err << "zeroflow: error: " << reply.error() << "\n";
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
    out << std::left << std::setw(38) << "UUID" << std::setw(16) << "NAME" << std::setw(10)
        << "STATUS" << std::setw(8) << "NODES"
        << "UPTIME\n";
    for (const auto& df : dataflows) {
        const auto nodes = std::to_string(df["nodes_running"].get<int>()) + "/" +
                           std::to_string(df["nodes_total"].get<int>());
        out << std::left << std::setw(38) << df["uuid"].get<std::string>() << std::setw(16)
            << (df["name"].get<std::string>().empty() ? "-" : df["name"].get<std::string>())
            << std::setw(10) << df["status"].get<std::string>() << std::setw(8) << nodes
            << df["uptime_s"].get<long>() << "s\n";
        const auto status = df["status"].get<std::string>();
        if (status == "finished" || status == "failed") {
            for (const auto& n : df["nodes"]) {
                if (n.contains("result")) {
                    out << "    " << n["id"].get<std::string>() << ": "
                        << n["result"].get<std::string>() << "\n";
                }
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

} // namespace

/// The log folder of a dataflow the daemon no longer knows (it finished long ago, or ran under
/// `zeroflow run`'s embedded daemon): the index daemons keep in the runtime directory.
std::optional<std::filesystem::path> recorded_log_dir(const std::string& dataflow) {
    std::error_code ec;
    std::optional<std::filesystem::path> found;
    std::filesystem::file_time_type newest{};
    for (const auto& e :
         std::filesystem::directory_iterator(protocol::runtime_dir() / "dataflows", ec)) {
        std::ifstream in(e.path());
        std::string name;
        std::string folder;
        std::getline(in, name);
        std::getline(in, folder);
        const auto when = e.last_write_time(ec);
        if ((e.path().filename() == dataflow || (!name.empty() && name == dataflow)) &&
            (!found || when > newest)) {
            found = folder;
            newest = when;
        }
    }
    return found;
}

int run_logs(const LogsOptions& options, std::ostream& out, std::ostream& err) {
    auto reply = daemon_request(
        Json{{"op", "logs"}, {"dataflow", options.dataflow}, {"node", options.node}}, 10s);
    if (!reply) {
        const auto folder = recorded_log_dir(options.dataflow);
        const auto file =
            folder ? *folder / ("log_" + options.node + ".txt") : std::filesystem::path();
        if (!folder || !std::filesystem::exists(file)) {
            err << "zeroflow: error: " << reply.error() << "\n";
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
        auto state = daemon_request(
            Json{{"op", "logs"}, {"dataflow", options.dataflow}, {"node", options.node}}, 10s);
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
        out << "building " << node.id << ": " << *node.build << "\n" << std::flush;
        pid_t pid = -1;
        std::vector<std::string> args = {"/bin/sh", "-c", *node.build};
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addchdir_np(&actions, d.working_dir.c_str());
        const int rc = ::posix_spawn(&pid, "/bin/sh", &actions, nullptr, argv.data(), environ);
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
