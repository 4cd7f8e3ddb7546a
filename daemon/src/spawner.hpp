// The supervisor's seam to processes: starting a node, signalling everything it started, and
// collecting exit statuses. ProcessSpawner is the real one (process.cpp: fork and exec,
// process groups, cgroups, /proc); the supervisor's unit tests drive a fake.
#pragma once

#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

#include "process.hpp"

namespace zeroflow::daemon {

/// Called from the supervisor thread only.
class Spawner {
public:
    virtual ~Spawner() = default;
    /// Starts a node (see spawn_node). The Spawned's pidfd must be a descriptor the supervisor
    /// may watch and close; its output may be -1 (nothing to read).
    virtual std::expected<Spawned, std::string> spawn(const SpawnRequest& request) = 0;
    /// Signals every live process of the node (see signal_node_tree); returns how many.
    virtual std::size_t signal_tree(const NodeIdentity& node, int signal) = 0;
    /// The wait status of child `pid` once it ended (reaped now), else nullopt; `block` waits.
    virtual std::optional<int> wait(pid_t pid, bool block) = 0;
    /// Every child that ended (reaped now), as (pid, wait status): nodes and the orphans of
    /// their trees, whose subreaper the daemon is.
    virtual std::vector<std::pair<pid_t, int>> reap() = 0;
    /// Where node cgroups go (<own cgroup>/zeroflow-<pid>), or empty: none.
    virtual std::filesystem::path cgroup_base() const = 0;
};

/// The real spawner: spawn_node, signal_node_tree, waitpid. Its constructor makes this
/// daemon's cgroup folder where cgroup v2 lets it (and removes empty ones of dead daemons);
/// its destructor removes it.
class ProcessSpawner final : public Spawner {
public:
    ProcessSpawner();
    ~ProcessSpawner() override;
    ProcessSpawner(const ProcessSpawner&) = delete;
    ProcessSpawner& operator=(const ProcessSpawner&) = delete;

    std::expected<Spawned, std::string> spawn(const SpawnRequest& request) override;
    std::size_t signal_tree(const NodeIdentity& node, int signal) override;
    std::optional<int> wait(pid_t pid, bool block) override;
    std::vector<std::pair<pid_t, int>> reap() override;
    std::filesystem::path cgroup_base() const override { return cgroup_base_; }

private:
    std::filesystem::path cgroup_base_;
};

} // namespace zeroflow::daemon
