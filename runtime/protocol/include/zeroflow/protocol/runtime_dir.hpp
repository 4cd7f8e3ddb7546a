// Where the daemon's socket lives: the per-user runtime directory and its safety checks.
#pragma once

#include <expected>
#include <filesystem>

#include <zeroflow/protocol/common.hpp>

namespace zeroflow::protocol {

/// The system daemon's runtime directory: zeroflow.service's RuntimeDirectory= (/run/zeroflow).
inline constexpr const char* kSystemRuntimeDir = "/run/zeroflow";

/// $ZEROFLOW_RUNTIME_DIR if set and non-empty (made absolute), else /run/zeroflow if it is a
/// directory owned by our effective uid (a system daemon runs as us: zeroflow.service), else
/// $XDG_RUNTIME_DIR/zeroflow if XDG_RUNTIME_DIR is an absolute path (the user unit's
/// directory), else /tmp/zeroflow-<euid>. Creates nothing.
std::filesystem::path runtime_dir();

/// runtime_dir() with another system directory in place of /run/zeroflow (tests).
std::filesystem::path runtime_dir(const std::filesystem::path& system_dir);

/// Creates `dir` (and missing parents) with mode 0700 and checks it is safe to use: a real
/// directory (not a symlink) owned by our effective uid. A directory of ours that group or
/// others may access is fixed to 0700; one owned by another uid is refused (io_error).
std::expected<void, ProtocolError> ensure_runtime_dir(const std::filesystem::path& dir);

/// `<runtime_dir>/daemon.sock`.
std::filesystem::path socket_path(const std::filesystem::path& runtime_dir);

} // namespace zeroflow::protocol
