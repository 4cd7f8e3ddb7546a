// posix_spawn of node processes and process-group signalling.
#include "process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>

#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace zeroflow::daemon {

namespace {

bool has_python_module(const std::filesystem::path& dir) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const auto name = entry.path().filename().string();
        if (name.starts_with("zeroflow.") && name.ends_with(".so")) {
            return true;
        }
    }
    return false;
}

} // namespace

std::string python_interpreter() {
    const char* chosen = std::getenv("ZEROFLOW_PYTHON");
    if (chosen != nullptr && *chosen != '\0') {
        return chosen;
    }
    const std::string built = ZEROFLOW_PYTHON_EXECUTABLE;
    return built.empty() ? "python3" : built;
}

std::filesystem::path python_module_dir() {
    // An installed zeroflowd (<prefix>/bin) serves the module installed beside it; a build-tree
    // one, the module of its build tree.
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const auto installed = exe.parent_path().parent_path() / ZEROFLOW_PYTHON_INSTALL_DIR;
        if (has_python_module(installed)) {
            return installed.lexically_normal();
        }
    }
    const std::filesystem::path build(ZEROFLOW_PYTHON_BUILD_DIR);
    return has_python_module(build) ? build : std::filesystem::path();
}

std::expected<Spawned, std::string> spawn_node(const SpawnRequest& request) {
    const auto& node = *request.node;
    std::vector<std::string> argv_storage;
    // `.py` nodes run like dora runs them: python -u (unbuffered output in the node's log).
    const bool python = node.executable.extension() == ".py";
    if (python) {
        argv_storage.push_back(python_interpreter());
        argv_storage.push_back("-u");
    }
    argv_storage.push_back(node.executable.string());
    argv_storage.insert(argv_storage.end(), node.args.begin(), node.args.end());

    // Environment: the daemon's, then the node's `env:`, then ours (ours win).
    std::vector<std::string> env_storage;
    auto set_env = [&env_storage](const std::string& key, const std::string& value) {
        const auto prefix = key + "=";
        for (auto& entry : env_storage) {
            if (entry.starts_with(prefix)) {
                entry = prefix + value;
                return;
            }
        }
        env_storage.push_back(prefix + value);
    };
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        env_storage.emplace_back(*e);
    }
    for (const auto& [key, value] : node.env) {
        set_env(key, value);
    }
    for (const auto& [key, value] : request.extra_env) {
        set_env(key, value);
    }
    if (python) {
        // The module first, then whatever PYTHONPATH the daemon or the node's env: gave.
        if (const auto dir = python_module_dir(); !dir.empty()) {
            std::string path = dir.string();
            for (const auto& entry : env_storage) {
                if (entry.starts_with("PYTHONPATH=") && entry.size() > 11) {
                    path += ":" + entry.substr(11);
                }
            }
            set_env("PYTHONPATH", path);
        }
    }
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
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, request.log_file.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addchdir_np(&actions, request.working_dir.c_str());
    sigset_t none;
    sigemptyset(&none);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGCHLD);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    // posix_spawnp: a .py node's interpreter may be a bare name (ZEROFLOW_PYTHON=python3).
    const int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        return std::unexpected("cannot start node '" + node.id + "' (" + argv_storage[0] +
                               "): " + std::strerror(rc));
    }
    if (!node.cpu_affinity.empty()) {
        cpu_set_t set;
        CPU_ZERO(&set);
        for (int cpu : node.cpu_affinity) {
            if (cpu >= 0 && cpu < CPU_SETSIZE) {
                CPU_SET(static_cast<std::size_t>(cpu), &set);
            }
        }
        ::sched_setaffinity(pid, sizeof(set), &set); // best effort: a warning at check time
    }
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) {
        const int err = errno;
        signal_group(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return std::unexpected(std::string("pidfd_open: ") + std::strerror(err) +
                               " (zeroflow needs Linux 5.3 or newer)");
    }
    ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);
    return Spawned{pid, pidfd};
}

void signal_group(pid_t pid, int signal) noexcept {
    if (pid > 0) {
        ::kill(-pid, signal);
    }
}

std::string tail_lines(const std::filesystem::path& file, std::size_t lines) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return {};
    }
    // Logs can be large: read only the last 64 KiB.
    in.seekg(0, std::ios::end);
    const auto size = static_cast<std::streamoff>(in.tellg());
    const std::streamoff start = size > 65536 ? size - 65536 : 0;
    in.seekg(start);
    std::deque<std::string> kept;
    std::string line;
    while (std::getline(in, line)) {
        kept.push_back(line);
        if (kept.size() > lines) {
            kept.pop_front();
        }
    }
    std::string out;
    for (const auto& l : kept) {
        out += (out.empty() ? "" : "\n") + l;
    }
    return out;
}

std::string describe_status(int wait_status) {
    if (WIFEXITED(wait_status)) {
        return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
    }
    if (WIFSIGNALED(wait_status)) {
        const int sig = WTERMSIG(wait_status);
        const char* name = ::strsignal(sig);
        return "was killed by signal " + std::to_string(sig) + " (" + (name ? name : "?") + ")";
    }
    return "ended with wait status " + std::to_string(wait_status);
}

} // namespace zeroflow::daemon
