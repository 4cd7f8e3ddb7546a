// Starting node processes (own process group, own cgroup where the kernel lets us, output
// through a pipe the daemon reads) and finding, signalling and ending everything they started.
#pragma once

#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include <zeroflow/dataflow/descriptor.hpp>

namespace zeroflow::daemon {

struct SpawnRequest {
    const dataflow::Node* node = nullptr;
    std::filesystem::path working_dir;
    std::vector<std::pair<std::string, std::string>> extra_env; ///< ZEROFLOW_* and friends
    std::filesystem::path cgroup; ///< the node's cgroup v2 folder (created here); empty: none
};

struct Spawned {
    pid_t pid = -1;
    int pidfd = -1;  ///< readable once the process exited
    int output = -1; ///< read end of the node's stdout+stderr pipe (non-blocking, close-on-exec)
    bool in_cgroup = false;
};

/// The interpreter of `.py` nodes: $ZEROFLOW_PYTHON, else the python3 zeroflow was built with.
std::string python_interpreter();
/// Where the zeroflow Python module is for this zeroflowd (installed beside it, else the build
/// tree's); empty when neither has it. Prepended to a `.py` node's PYTHONPATH.
std::filesystem::path python_module_dir();

/// Starts a node: fork, then in the child (async-signal-safe calls only) its own process
/// group, its cgroup, stdin /dev/null, stdout+stderr into a pipe, cwd = working_dir, a clean
/// signal mask, its cpu_affinity, exec. A `.py` node runs as `python_interpreter() -u file.py
/// args...` with python_module_dir() on its PYTHONPATH. An exec failure comes back as the error.
std::expected<Spawned, std::string> spawn_node(const SpawnRequest& request);

/// Sends `signal` to the process group of `pid` (the node and whatever stayed in its group).
void signal_group(pid_t pid, int signal) noexcept;

/// Where this process's cgroup v2 hierarchy lets it make child cgroups: "<mount>/<own cgroup>"
/// when that folder is writable (checked by making and removing a probe), else empty.
std::filesystem::path writable_cgroup_base();

/// Who may be a descendant of a spawned node, for the /proc scan below.
struct NodeIdentity {
    pid_t pid = -1;               ///< the node (its process group id too)
    std::string dataflow_id;      ///< ZEROFLOW_DATAFLOW_ID it was given
    std::string node_id;          ///< ZEROFLOW_NODE_ID it was given
    std::string runtime_dir;      ///< ZEROFLOW_RUNTIME_DIR it was given
    std::filesystem::path cgroup; ///< its cgroup, or empty
};

/// Live processes (not zombies) that belong to the node, the node itself included: members of
/// its cgroup, of its process group, and any process whose environment still carries the
/// node's three ZEROFLOW_* values (what setsid and double-forked children keep when there is
/// no cgroup). Never this process.
std::vector<pid_t> node_processes(const NodeIdentity& node);

/// Signals every process of node_processes(); SIGKILL goes through cgroup.kill too. Returns how
/// many processes were found.
std::size_t signal_node_tree(const NodeIdentity& node, int signal);

/// Removes a node's (empty) cgroup folder and, when empty, its parent (the dataflow's).
void remove_cgroup(const std::filesystem::path& cgroup) noexcept;

/// The last `lines` lines of a file (e.g. a node's log), without a trailing newline.
std::string tail_lines(const std::filesystem::path& file, std::size_t lines);

/// "exited with status 3" / "was killed by signal 9 (Killed)".
std::string describe_status(int wait_status);

} // namespace zeroflow::daemon
