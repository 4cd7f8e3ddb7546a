// Starting node processes (own process group, log file, environment) and ending them.
#pragma once

#include <expected>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/types.h>

#include <zeroflow/dataflow/descriptor.hpp>

namespace zeroflow::daemon {

struct SpawnRequest {
    const dataflow::Node* node = nullptr;
    std::filesystem::path working_dir;
    std::filesystem::path log_file;
    std::vector<std::pair<std::string, std::string>> extra_env; ///< ZEROFLOW_* and friends
};

struct Spawned {
    pid_t pid = -1;
    int pidfd = -1; ///< readable once the process exited
};

/// The interpreter of `.py` nodes: $ZEROFLOW_PYTHON, else the python3 zeroflow was built with.
std::string python_interpreter();
/// Where the zeroflow Python module is for this zeroflowd (installed beside it, else the build
/// tree's); empty when neither has it. Prepended to a `.py` node's PYTHONPATH.
std::filesystem::path python_module_dir();

/// Starts a node in its own process group: stdin /dev/null, stdout+stderr appended to the log
/// file, cwd = working_dir, pinned to its cpu_affinity. A `.py` node runs as
/// `python_interpreter() -u file.py args...` with python_module_dir() on its PYTHONPATH. The error
/// says what to fix.
std::expected<Spawned, std::string> spawn_node(const SpawnRequest& request);

/// Sends `signal` to the process group of `pid` (the node and whatever it started).
void signal_group(pid_t pid, int signal) noexcept;

/// The last `lines` lines of a file (e.g. a node's log), without a trailing newline.
std::string tail_lines(const std::filesystem::path& file, std::size_t lines);

/// "exited with status 3" / "was killed by signal 9 (Killed)".
std::string describe_status(int wait_status);

} // namespace zeroflow::daemon
