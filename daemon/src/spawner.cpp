// The real Spawner (spawner.hpp): node processes through spawn_node, their trees through
// signal_node_tree, exit statuses through waitpid, and this daemon's cgroup folder.
#include "spawner.hpp"

#include <cerrno>
#include <csignal>

#include <sys/wait.h>
#include <unistd.h>

#include "log.hpp"

namespace zeroflow::daemon {

ProcessSpawner::ProcessSpawner() {
    // Each node in a cgroup of its own where the kernel lets us (docs/design/shm.md, process
    // trees); the /proc scan of node_processes() covers the rest.
    if (const auto base = writable_cgroup_base(); !base.empty()) {
        // Empty cgroups of daemons that died go (rmdir fails on any that still has a process).
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(base, ec)) {
            const auto name = e.path().filename().string();
            if (!name.starts_with("zeroflow-") || !e.is_directory(ec)) {
                continue;
            }
            const auto pid = std::atol(name.c_str() + 9);
            if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
                std::vector<std::filesystem::path> dirs;
                for (const auto& d : std::filesystem::recursive_directory_iterator(e.path(), ec)) {
                    if (d.is_directory(ec)) {
                        dirs.push_back(d.path());
                    }
                }
                for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
                    ::rmdir(it->c_str());
                }
                ::rmdir(e.path().c_str());
            }
        }
        cgroup_base_ = base / ("zeroflow-" + std::to_string(::getpid()));
        std::filesystem::create_directories(cgroup_base_, ec);
        if (ec) {
            cgroup_base_.clear();
        }
    }
    log()->info("process trees: {}", cgroup_base_.empty()
                                         ? std::string("process groups and environment (no "
                                                       "writable cgroup v2)")
                                         : "cgroup v2 at " + cgroup_base_.string());
}

ProcessSpawner::~ProcessSpawner() {
    if (!cgroup_base_.empty()) {
        ::rmdir(cgroup_base_.c_str());
    }
}

std::expected<Spawned, std::string> ProcessSpawner::spawn(const SpawnRequest& request) {
    return spawn_node(request);
}

std::size_t ProcessSpawner::signal_tree(const NodeIdentity& node, int signal) {
    return signal_node_tree(node, signal);
}

std::optional<int> ProcessSpawner::wait(pid_t pid, bool block) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, block ? 0 : WNOHANG);
    if (r == 0) {
        return std::nullopt; // still running
    }
    // r < 0: not our child any more (reaped elsewhere): counted as a clean end, as before.
    return r == pid ? status : 0;
}

std::vector<std::pair<pid_t, int>> ProcessSpawner::reap() {
    std::vector<std::pair<pid_t, int>> out;
    for (;;) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) {
            break;
        }
        out.emplace_back(pid, status);
    }
    return out;
}

} // namespace zeroflow::daemon
