// The CLI's side of the control socket: one request, its reply or a message saying what to do;
// naming dataflows as users do (UUID, unique UUID prefix, name).
#pragma once

#include <chrono>
#include <expected>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <zeroflow/protocol/protocol.hpp>

namespace zeroflow::cli {

/// Why a request failed: the reply's error kind (nullopt when no daemon answered, or for a kind
/// this CLI does not know) and a message for the user.
struct DaemonError {
    std::optional<protocol::DaemonErrorKind> kind;
    std::string message;
};

/// `zeroflow --machine NAME ...`: from now on every request goes to machine NAME's daemon,
/// through this machine's daemon and the machine agents (the `forward` request); empty: here.
void set_target_machine(std::string machine);
const std::string& target_machine();

/// Sends one request to the daemon of the runtime directory and returns its reply body.
std::expected<protocol::Json, DaemonError> daemon_call(const protocol::Json& request,
                                                       std::chrono::milliseconds timeout);

/// daemon_call with only the message.
std::expected<protocol::Json, std::string> daemon_request(const protocol::Json& request,
                                                          std::chrono::milliseconds timeout);

/// True when a daemon answers on the runtime directory's socket.
bool daemon_running();

/// What `key` names among the daemon's dataflows (`list` entries), as git resolves commits: a
/// full UUID or a name as they are, else a UUID prefix that only one dataflow has (the full
/// UUID). `running_only` leaves out finished ones. The error names the key and lists the
/// candidates (the running dataflows, or those the prefix matches).
std::expected<std::string, std::string> resolve_dataflow(const std::string& key, bool running_only);

/// "  <uuid>  <name>  <status>" lines of the running dataflows, or "no dataflow is running".
std::string describe_running(const protocol::Json& dataflows);

/// Prints a finished dataflow's per-node results; returns 0 if every node exited 0. With
/// `show_output` false, the failed nodes' last lines are not repeated (they were streamed).
int report_result(const protocol::Json& result, std::ostream& out, std::ostream& err,
                  bool show_output = true);

/// One node of a `list`/`wait` entry in words: "succeeded", "crashed: killed by signal 6
/// (Aborted)", "failed: exited with status 3", "not started", "running"...
std::string node_outcome(const protocol::Json& node, bool dataflow_live);

/// The log folder of a dataflow the daemon no longer knows, from the index daemons keep in the
/// runtime directory (DIR/dataflows/<uuid>: name, then folder); `key` as in resolve_dataflow.
std::optional<std::filesystem::path> recorded_log_dir(const std::string& key);

/// Checks FILE here before the daemon sees it: an invalid dataflow is reported exactly as
/// `check` reports it, and nodes whose executable is missing but that have a `build` command
/// get the `zeroflow build FILE` advice. Empty when it may be started, else the exit status.
std::optional<int> preflight(const std::filesystem::path& file, std::ostream& err);

/// Prints a daemon's error reply: diagnostics of a bad dataflow as they are, else
/// "zeroflow: error: <message>".
void print_daemon_error(const DaemonError& error, std::ostream& err);

/// Whether `name` looks like a dataflow UUID (8-4-4-4-12 lowercase hex digits).
bool is_uuid(const std::string& name);

} // namespace zeroflow::cli
