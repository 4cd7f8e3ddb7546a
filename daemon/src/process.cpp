// Spawning nodes (fork + exec, cgroup, output pipe; `.py` nodes with python3 -u) and finding
// what they started.
#include "process.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zeroflow/daemon/exec_strings.hpp>
#include <zeroflow/protocol/environment.hpp>

namespace zeroflow::daemon {

namespace {

/// /proc/<pid>/stat fields after "(comm)": state, ppid, pgrp.
struct ProcStat {
    char state = '?';
    pid_t ppid = -1;
    pid_t pgrp = -1;
};

std::optional<ProcStat> proc_stat(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    std::getline(in, text);
    const auto paren = text.rfind(')');
    if (paren == std::string::npos) {
        return std::nullopt;
    }
    ProcStat st;
    if (std::sscanf(text.c_str() + paren + 1, " %c %d %d", &st.state, &st.ppid, &st.pgrp) != 3) {
        return std::nullopt;
    }
    return st;
}

bool environ_matches(pid_t pid, const std::vector<std::string>& wanted) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
    if (!in) {
        return false;
    }
    std::size_t found = 0;
    for (std::string entry; std::getline(in, entry, '\0');) {
        for (const auto& w : wanted) {
            if (entry == w) {
                ++found;
            }
        }
    }
    return found == wanted.size();
}

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

/// `name` itself when it has a '/', else the first executable `name` on PATH (execve does not
/// search PATH, and after fork() the child may not).
std::string resolve_on_path(const std::string& name) {
    if (name.find('/') != std::string::npos) {
        return name;
    }
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
    for (std::string dir; std::getline(dirs, dir, ':');) {
        const auto candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
    }
    return name;
}

} // namespace

std::string python_interpreter() {
    const char* chosen = std::getenv(protocol::kPythonEnv);
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
    ExecStrings argv;
    // `.py` nodes run like dora runs them: python -u (unbuffered output in the node's log).
    const bool python = node.executable.extension() == ".py";
    if (python) {
        argv.push_back(resolve_on_path(python_interpreter()));
        argv.push_back("-u");
    }
    argv.push_back(node.executable.string());
    for (const auto& arg : node.args) {
        argv.push_back(arg);
    }

    // Environment: the daemon's, then the node's `env:`, then ours (ours win).
    auto env = ExecStrings::current_environment();
    for (const auto& [key, value] : node.env) {
        env.set(key, value);
    }
    for (const auto& [key, value] : request.extra_env) {
        env.set(key, value);
    }
    if (python) {
        // The module first, then whatever PYTHONPATH the daemon or the node's env: gave.
        if (const auto dir = python_module_dir(); !dir.empty()) {
            std::string path = dir.string();
            if (const auto given = env.get("PYTHONPATH"); given && !given->empty()) {
                path += ":" + std::string(*given);
            }
            env.set("PYTHONPATH", path);
        }
    }
    char* const* const child_argv = argv.data();
    char* const* const child_envp = env.data();
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    for (int cpu : node.cpu_affinity) {
        if (cpu >= 0 && cpu < CPU_SETSIZE) {
            CPU_SET(static_cast<std::size_t>(cpu), &cpus);
        }
    }
    const bool pin = !node.cpu_affinity.empty();

    // Everything the child needs is opened here: after fork() it may only make
    // async-signal-safe calls (the daemon has other threads).
    int cgroup_procs = -1;
    if (!request.cgroup.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(request.cgroup, ec);
        if (!ec) {
            cgroup_procs = ::open((request.cgroup / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
        }
    }
    int out[2] = {-1, -1};
    int status_pipe[2] = {-1, -1};
    const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    auto close_all = [&] {
        for (int fd : {out[0], out[1], status_pipe[0], status_pipe[1], devnull, cgroup_procs}) {
            if (fd >= 0) {
                ::close(fd);
            }
        }
    };
    if (devnull < 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(status_pipe, O_CLOEXEC) != 0) {
        const int err = errno;
        close_all();
        return std::unexpected("cannot start node '" + node.id + "': " + std::strerror(err));
    }
    const char* dir = request.working_dir.c_str();
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int err = errno;
        close_all();
        return std::unexpected("cannot start node '" + node.id + "': fork: " + std::strerror(err));
    }
    if (pid == 0) {
        // The child: report the first failure through status_pipe, then _exit.
        auto fail = [&](int err) {
            [[maybe_unused]] auto n = ::write(status_pipe[1], &err, sizeof(err));
            ::_exit(127);
        };
        ::setpgid(0, 0);
        if (cgroup_procs >= 0) {
            // "0" moves the writer: the node is in its cgroup before it can fork anything.
            [[maybe_unused]] auto n = ::write(cgroup_procs, "0", 1);
        }
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGCHLD, SIGHUP, SIGQUIT}) {
            ::sigaction(sig, &dfl, nullptr);
        }
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        if (::dup2(devnull, 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(out[1], 2) < 0) {
            fail(errno);
        }
        if (::chdir(dir) != 0) {
            fail(errno);
        }
        if (pin) {
            ::sched_setaffinity(0, sizeof(cpus), &cpus); // best effort: a warning at check time
        }
        ::execve(child_argv[0], child_argv, child_envp);
        fail(errno);
    }
    ::close(out[1]);
    out[1] = -1;
    ::close(status_pipe[1]);
    status_pipe[1] = -1;
    ::setpgid(pid, pid); // also here: no race with a signal to the group right after fork
    int child_errno = 0;
    ssize_t got = 0;
    do {
        got = ::read(status_pipe[0], &child_errno, sizeof(child_errno));
    } while (got < 0 && errno == EINTR);
    if (got == static_cast<ssize_t>(sizeof(child_errno))) {
        ::waitpid(pid, nullptr, 0);
        close_all();
        return std::unexpected("cannot start node '" + node.id + "' (" + argv.items()[0] +
                               "): " + std::strerror(child_errno));
    }
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) {
        const int err = errno;
        signal_group(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        close_all();
        return std::unexpected(std::string("pidfd_open: ") + std::strerror(err) +
                               " (zeroflow needs Linux 5.3 or newer)");
    }
    ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);
    ::fcntl(out[0], F_SETFL, ::fcntl(out[0], F_GETFL) | O_NONBLOCK);
    Spawned spawned{pid, pidfd, out[0], cgroup_procs >= 0};
    out[0] = -1;
    close_all();
    return spawned;
}

void signal_group(pid_t pid, int signal) noexcept {
    if (pid > 0) {
        ::kill(-pid, signal);
    }
}

std::filesystem::path writable_cgroup_base() {
    std::ifstream mounts("/proc/self/mountinfo");
    std::string mount_point;
    for (std::string line; std::getline(mounts, line);) {
        // "... mount_point options ... - fstype source superoptions"
        const auto dash = line.find(" - ");
        if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) {
            continue;
        }
        std::istringstream fields(line.substr(0, dash));
        std::string id, parent, devno, root, point;
        fields >> id >> parent >> devno >> root >> point;
        mount_point = point;
        break;
    }
    if (mount_point.empty()) {
        return {};
    }
    std::ifstream self("/proc/self/cgroup");
    std::string own;
    for (std::string line; std::getline(self, line);) {
        if (line.starts_with("0::")) {
            own = line.substr(3);
        }
    }
    const std::filesystem::path base =
        std::filesystem::path(mount_point) / own.substr(own.starts_with('/') ? 1 : 0);
    const auto probe = base / ("zeroflow-probe-" + std::to_string(::getpid()));
    std::error_code ec;
    if (!std::filesystem::create_directory(probe, ec) || ec) {
        return {};
    }
    const bool usable = std::filesystem::exists(probe / "cgroup.procs", ec);
    std::filesystem::remove(probe, ec);
    return usable ? base : std::filesystem::path();
}

std::vector<pid_t> node_processes(const NodeIdentity& node) {
    std::vector<pid_t> out;
    const pid_t self = ::getpid();
    const std::vector<std::string> env = {
        std::string(protocol::kDataflowIdEnv) + "=" + node.dataflow_id,
        std::string(protocol::kNodeIdEnv) + "=" + node.node_id,
        std::string(protocol::kRuntimeDirEnv) + "=" + node.runtime_dir};
    std::vector<pid_t> in_cgroup;
    if (!node.cgroup.empty()) {
        std::ifstream procs(node.cgroup / "cgroup.procs");
        for (pid_t p = 0; procs >> p;) {
            in_cgroup.push_back(p);
        }
    }
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const auto name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        const auto pid = static_cast<pid_t>(std::stol(name));
        if (pid == self) {
            continue;
        }
        const auto st = proc_stat(pid);
        if (!st || st->state == 'Z' || st->state == 'X') {
            continue;
        }
        const bool member = std::find(in_cgroup.begin(), in_cgroup.end(), pid) != in_cgroup.end() ||
                            (node.pid > 0 && st->pgrp == node.pid) || environ_matches(pid, env);
        if (member) {
            out.push_back(pid);
        }
    }
    return out;
}

std::size_t signal_node_tree(const NodeIdentity& node, int signal) {
    if (signal == SIGKILL && !node.cgroup.empty()) {
        std::ofstream(node.cgroup / "cgroup.kill") << "1";
    }
    signal_group(node.pid, signal);
    const auto pids = node_processes(node);
    for (const pid_t p : pids) {
        ::kill(p, signal);
    }
    return pids.size();
}

void remove_cgroup(const std::filesystem::path& cgroup) noexcept {
    if (cgroup.empty()) {
        return;
    }
    // rmdir, not remove_all: a cgroup folder goes with rmdir once it has no process.
    ::rmdir(cgroup.c_str());
    ::rmdir(cgroup.parent_path().c_str());
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
