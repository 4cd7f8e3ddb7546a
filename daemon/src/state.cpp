// Names and predicates of dataflow and node states (state.hpp).
#include "state.hpp"

#include <sys/wait.h>

namespace zeroflow::daemon {

const char* status_name(DataflowStatus s) {
    switch (s) {
    case DataflowStatus::starting:
        return "starting";
    case DataflowStatus::running:
        return "running";
    case DataflowStatus::stopping:
        return "stopping";
    case DataflowStatus::finished:
        return "finished";
    case DataflowStatus::failed:
        return "failed";
    }
    return "unknown";
}

const char* node_status_name(const NodeState& n) {
    switch (n.status) {
    case NodeStatus::pending:
        return "starting";
    case NodeStatus::running:
        return "running";
    case NodeStatus::exited:
        return "exited";
    case NodeStatus::waiting_dynamic:
        return "not connected";
    case NodeStatus::connected:
        return "connected";
    case NodeStatus::restarting:
        return "restarting";
    }
    return "unknown";
}

bool is_live(const DataflowState& df) {
    return df.status == DataflowStatus::starting || df.status == DataflowStatus::running ||
           df.status == DataflowStatus::stopping;
}

bool node_ok(const NodeState& n) {
    return n.dynamic ||
           (n.wait_status && WIFEXITED(*n.wait_status) && WEXITSTATUS(*n.wait_status) == 0);
}

} // namespace zeroflow::daemon
