// Plumbing of the daemon tests (see support.hpp).
#include "support.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace zeroflow::daemon_test {
namespace {

const fs::path kCli = ZEROFLOW_CLI_BINARY;
const fs::path kNode = ZEROFLOW_TEST_NODE;

std::string read(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

/// A YAML double-quoted scalar.
std::string yaml_quoted(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "\"";
}

/// The command line of `pid` (NUL-separated), empty when it is gone.
std::string cmdline_of(pid_t pid) {
    return read("/proc/" + std::to_string(pid) + "/cmdline");
}

} // namespace

std::map<std::string, std::string> read_report(const fs::path& file) {
    std::map<std::string, std::string> out;
    std::istringstream lines(read(file));
    for (std::string line; std::getline(lines, line);) {
        if (const auto eq = line.find('='); eq != std::string::npos) {
            out[line.substr(0, eq)] = line.substr(eq + 1);
        }
    }
    return out;
}

std::uint64_t report_number(const std::map<std::string, std::string>& report,
                            const std::string& key) {
    const auto it = report.find(key);
    return it == report.end() || it->second.empty() ? 0 : std::stoull(it->second);
}

bool process_alive(pid_t pid) {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may hold spaces, so look after the last ')'.
    const auto stat = read("/proc/" + std::to_string(pid) + "/stat");
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size()) {
        return false;
    }
    const char state = stat[paren + 2];
    return state != 'Z' && state != 'X';
}

void DaemonTest::SetUp() {
    std::string pattern = (fs::temp_directory_path() / "zf-daemon-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    flows_ = root_ / "flows";
    fs::create_directories(flows_);
    fs::create_directories(root_ / "reports");
    fs::create_directories(root_ / "pids");
    fs::create_directories(root_ / "cli");
}

void DaemonTest::TearDown() {
    // The test's own cleanup, as a user would do it.
    for (const auto& rt : used_runtime_dirs_) {
        const auto pid_text = read(rt / "daemon.lock");
        const pid_t pid = pid_text.empty() ? -1 : static_cast<pid_t>(std::atol(pid_text.c_str()));
        if (pid > 0 && process_alive(pid)) {
            const auto destroyed = zeroflow({"destroy", "--grace", "1"}, rt, 30s);
            EXPECT_EQ(destroyed.status, 0) << destroyed.err;
        }
    }
    // Nothing the test started may remain: processes, segments.
    auto survivors = [this] {
        std::vector<pid_t> alive;
        auto pids = node_pids();
        pids.insert(daemon_pids_.begin(), daemon_pids_.end());
        for (const pid_t pid : pids) {
            if (process_alive(pid)) {
                alive.push_back(pid);
            }
        }
        return alive;
    };
    eventually([&] { return survivors().empty(); }, 15s);
    const auto alive = survivors();
    for (const pid_t pid : alive) {
        ADD_FAILURE() << "process " << pid << " of this test is still running: " << cmdline_of(pid);
    }
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(flows_ / "out", ec)) {
        if (segment_held(entry.path().filename().string())) {
            ADD_FAILURE() << "the shared memory of dataflow " << entry.path().filename()
                          << " is still mapped or held by a process";
        }
    }
    // Leave nothing behind for the next test, whatever happened.
    for (const pid_t pid : alive) {
        const auto cmdline = cmdline_of(pid);
        if (cmdline.starts_with(kNode.string()) ||
            cmdline.find(kCli.string()) != std::string::npos || cmdline.starts_with("zeroflow")) {
            ::kill(pid, SIGKILL);
        }
    }
    fs::remove_all(root_, ec);
}

fs::path DaemonTest::runtime_dir(const std::string& name) const {
    return root_ / name;
}

CliResult DaemonTest::zeroflow(const std::vector<std::string>& args, const fs::path& rt,
                               std::chrono::milliseconds limit) {
    used_runtime_dirs_.insert(rt);
    const auto n = std::to_string(++runs_);
    const auto out_file = root_ / "cli" / (n + ".out");
    const auto err_file = root_ / "cli" / (n + ".err");

    std::vector<std::string> argv_storage{"zeroflow"};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<std::string> env_storage;
    for (char** e = environ; *e != nullptr; ++e) {
        // Our own variables are the test's to set; the time scale (qemu) goes through.
        const std::string_view var(*e);
        if (!var.starts_with("ZEROFLOW_") || var.starts_with("ZEROFLOW_TEST_TIME_SCALE=")) {
            env_storage.emplace_back(*e);
        }
    }
    env_storage.push_back("ZEROFLOW_RUNTIME_DIR=" + rt.string());
    env_storage.insert(env_storage.end(), extra_env_.begin(), extra_env_.end());
    std::vector<char*> argv;
    for (auto& a : argv_storage) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env_storage) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    const auto start = std::chrono::steady_clock::now();
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, kCli.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    CliResult result;
    if (rc != 0) {
        ADD_FAILURE() << "cannot run " << kCli << ": " << std::strerror(rc);
        return result;
    }
    int status = 0;
    for (;;) {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            break;
        }
        if (std::chrono::steady_clock::now() - start > limit) {
            result.timed_out = true;
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            break;
        }
        std::this_thread::sleep_for(5ms);
    }
    result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    result.status = !result.timed_out && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = read(out_file);
    result.err = read(err_file);
    if (result.timed_out) {
        ADD_FAILURE() << "zeroflow " << args.front() << " did not finish within " << limit.count()
                      << " ms";
    }
    return result;
}

pid_t DaemonTest::up(const fs::path& rt) {
    const auto result = zeroflow({"up"}, rt);
    EXPECT_EQ(result.status, 0) << result.err;
    EXPECT_NE(result.out.find("zeroflow daemon started (pid "), std::string::npos) << result.out;
    const auto pid_text = read(rt / "daemon.lock");
    const pid_t pid = static_cast<pid_t>(std::atol(pid_text.c_str()));
    EXPECT_GT(pid, 0) << "no pid in " << rt / "daemon.lock";
    if (pid > 0) {
        daemon_pids_.insert(pid);
    }
    return pid;
}

Json DaemonTest::list(const fs::path& rt) {
    const auto result = zeroflow({"list", "--json"}, rt);
    EXPECT_EQ(result.status, 0) << result.err;
    try {
        return Json::parse(result.out);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "list --json printed no JSON: " << e.what() << "\n" << result.out;
        return Json::array();
    }
}

Json DaemonTest::find(const Json& dataflows, const std::string& uuid) {
    for (const auto& df : dataflows) {
        if (df.value("uuid", std::string()) == uuid) {
            return df;
        }
    }
    return nullptr;
}

fs::path DaemonTest::write_dataflow(const std::string& name, const std::vector<NodeSpec>& nodes,
                                    const std::string& extra) {
    std::ostringstream yaml;
    yaml << "nodes:\n";
    for (const auto& node : nodes) {
        yaml << "  - id: " << node.id << "\n";
        if (node.path == "dynamic") {
            yaml << "    path: dynamic\n";
        } else {
            yaml << "    path: " << yaml_quoted(node.path.empty() ? kNode.string() : node.path)
                 << "\n";
            std::vector<std::string> args;
            if (!node.role.empty()) {
                args.push_back(node.role);
            }
            args.insert(args.end(), node.args.begin(), node.args.end());
            yaml << "    args: [";
            for (std::size_t i = 0; i < args.size(); ++i) {
                yaml << (i == 0 ? "" : ", ") << yaml_quoted(args[i]);
            }
            yaml << "]\n";
            yaml << "    env:\n      ZF_TEST_PID_DIR: " << yaml_quoted((root_ / "pids").string())
                 << "\n";
        }
        yaml << node.yaml;
        if (!node.inputs.empty()) {
            yaml << "    inputs:\n";
            for (const auto& [id, source] : node.inputs) {
                if (node.queue_size != 0) {
                    yaml << "      " << id << ": {source: " << source
                         << ", queue_size: " << node.queue_size << "}\n";
                } else {
                    yaml << "      " << id << ": " << source << "\n";
                }
            }
        }
        if (!node.outputs.empty()) {
            yaml << "    outputs:\n";
            for (const auto& output : node.outputs) {
                yaml << "      - " << output << "\n";
            }
        }
    }
    yaml << extra;
    const auto path = flows_ / (name + ".yml");
    std::ofstream(path) << yaml.str();
    return path;
}

std::set<pid_t> DaemonTest::node_pids() const {
    std::set<pid_t> pids;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root_ / "pids", ec)) {
        pids.insert(static_cast<pid_t>(std::atol(entry.path().filename().c_str())));
    }
    return pids;
}

std::string DaemonTest::first_line(const std::string& text) {
    return text.substr(0, text.find('\n'));
}

std::string DaemonTest::run_uuid(const std::string& out) {
    const std::string prefix = "dataflow ";
    const auto at = out.find(prefix);
    if (at == std::string::npos) {
        return {};
    }
    const auto start = at + prefix.size();
    return out.substr(start, out.find(' ', start) - start);
}

} // namespace zeroflow::daemon_test
