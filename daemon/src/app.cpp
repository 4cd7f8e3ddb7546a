// zeroflowd's main: logging set-up (ZEROFLOW_LOG), SIGINT/SIGTERM → graceful shutdown.
#include "app.hpp"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string_view>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <zeroflow/daemon/daemon.hpp>
#include <zeroflow/protocol/runtime_dir.hpp>

namespace zeroflow::daemon {
namespace {

std::atomic<Daemon*> g_daemon{nullptr};

extern "C" void on_signal(int) {
    if (auto* d = g_daemon.load()) {
        d->request_shutdown();
    }
}

} // namespace

void setup_logging(const std::optional<std::filesystem::path>& file,
                   std::string_view default_level) {
    spdlog::drop("daemon");
    std::shared_ptr<spdlog::logger> logger;
    if (file) {
        logger = spdlog::basic_logger_mt("daemon", file->string());
    } else {
        logger = spdlog::stderr_color_mt("daemon");
    }
    const char* level = std::getenv("ZEROFLOW_LOG");
    logger->set_level(
        spdlog::level::from_str(level != nullptr ? level : std::string(default_level)));
    logger->flush_on(spdlog::level::info);
}

int run_daemon_main(int argc, char** argv) {
    Options options;
    options.runtime_dir = protocol::runtime_dir();
    std::optional<std::filesystem::path> log_file;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--runtime-dir" && i + 1 < argc) {
            options.runtime_dir = argv[++i];
        } else if (arg == "--log-file" && i + 1 < argc) {
            log_file = argv[++i];
        } else if (arg == "--help" || arg == "-h") {
            std::cout << "usage: zeroflowd [--runtime-dir DIR] [--log-file FILE]\n"
                         "Serves zeroflow dataflows on DIR/daemon.sock (default: "
                      << protocol::runtime_dir().string() << ").\n";
            return 0;
        } else {
            std::cerr << "zeroflowd: unknown argument '" << arg << "' (see --help)\n";
            return 2;
        }
    }
    try {
        setup_logging(log_file, "info");
    } catch (const std::exception& e) {
        std::cerr << "zeroflowd: cannot log to " << log_file->string() << ": " << e.what() << "\n";
        return 1;
    }
    auto daemon = Daemon::create(options);
    if (!daemon) {
        std::cerr << "zeroflowd: " << daemon.error() << "\n";
        return 1;
    }
    g_daemon.store(daemon->get());
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGPIPE, SIG_IGN);
    const int rc = (*daemon)->run();
    g_daemon.store(nullptr);
    return rc;
}

} // namespace zeroflow::daemon
