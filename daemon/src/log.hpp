// The daemon's logger, shared by its sources.
#pragma once

#include <memory>

#include <spdlog/spdlog.h>

namespace zeroflow::daemon {

/// The "daemon" logger the app installs (console, file or journal), or spdlog's default one
/// when the daemon runs embedded in a process that installed none.
inline std::shared_ptr<spdlog::logger> log() {
    auto logger = spdlog::get("daemon");
    return logger ? logger : spdlog::default_logger();
}

} // namespace zeroflow::daemon
