// The CLI's side of the control socket: one request, its reply or a message saying what to do.
#pragma once

#include <chrono>
#include <expected>
#include <string>

#include <zeroflow/protocol/protocol.hpp>

namespace zeroflow::cli {

/// Sends one request to the daemon of the runtime directory and returns its reply body, or
/// a message for the user (no daemon, error reply with its kind).
std::expected<protocol::Json, std::string> daemon_request(const protocol::Json& request,
                                                          std::chrono::milliseconds timeout);

/// True when a daemon answers on the runtime directory's socket.
bool daemon_running();

/// Prints a finished dataflow's per-node results; returns 0 if every node exited 0.
int report_result(const protocol::Json& result, std::ostream& out, std::ostream& err);

} // namespace zeroflow::cli
