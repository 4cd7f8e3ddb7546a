// zeroflowd's main: logging set-up (ZEROFLOW_LOG), SIGINT/SIGTERM → graceful shutdown.
#include "app.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <string_view>
#include <vector>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#ifdef ZEROFLOW_HAVE_SYSTEMD
#include <spdlog/sinks/systemd_sink.h>
#endif

#include <sys/stat.h>

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

bool stderr_is_journal() {
    // systemd sets JOURNAL_STREAM to "<device>:<inode>" of the stream it connected stdout and
    // stderr to; a match means our stderr still goes there (not redirected by a wrapper).
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr) {
        return false;
    }
    struct stat st {};
    if (::fstat(2, &st) != 0) {
        return false;
    }
    return std::string(stream) == std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
                                      std::to_string(static_cast<unsigned long long>(st.st_ino));
}

void setup_logging(const std::optional<std::filesystem::path>& file,
                   std::string_view default_level) {
    spdlog::drop("daemon");
    std::shared_ptr<spdlog::logger> logger;
    if (file) {
        logger = spdlog::basic_logger_mt("daemon", file->string());
#ifdef ZEROFLOW_HAVE_SYSTEMD
    } else if (stderr_is_journal()) {
        // Under systemd: one journal entry per line, with its priority (journalctl -p), under
        // the identifier zeroflowd; the journal adds the time stamps.
        logger = spdlog::systemd_logger_mt("daemon", "zeroflowd");
#endif
    } else {
        logger = spdlog::stderr_color_mt("daemon");
    }
    const char* level = std::getenv(protocol::kLogLevelEnv);
    logger->set_level(
        spdlog::level::from_str(level != nullptr ? level : std::string(default_level)));
    logger->flush_on(spdlog::level::info);
}

int run_daemon_main(int argc, char** argv) {
    Options options;
    options.runtime_dir = protocol::runtime_dir();
    std::optional<std::filesystem::path> log_file;
    // The limits, one flag each (docs/errors.md: resource_limit names them).
    auto& l = options.limits;
    const std::vector<std::pair<std::string_view, std::function<void(std::uint64_t)>>> kLimits = {
        {"--max-segment-bytes", [&](std::uint64_t v) { l.max_segment_bytes = v; }},
        {"--max-total-segment-bytes", [&](std::uint64_t v) { l.max_total_segment_bytes = v; }},
        {"--max-dataflows", [&](std::uint64_t v) { l.max_dataflows = v; }},
        {"--max-nodes", [&](std::uint64_t v) { l.max_nodes = v; }},
        {"--max-inputs", [&](std::uint64_t v) { l.max_inputs = v; }},
        {"--max-timers", [&](std::uint64_t v) { l.max_timers = v; }},
        {"--max-dynamic-connections", [&](std::uint64_t v) { l.max_dynamic_connections = v; }},
        {"--max-connections", [&](std::uint64_t v) { l.max_connections = v; }},
        {"--max-descriptor-bytes", [&](std::uint64_t v) { l.max_descriptor_bytes = v; }},
        {"--max-yaml-nodes", [&](std::uint64_t v) { l.max_yaml_nodes = v; }},
        {"--taps-per-output", [&](std::uint64_t v) { l.taps_per_output = v; }},
    };
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const auto limit = std::find_if(kLimits.begin(), kLimits.end(),
                                        [&](const auto& entry) { return entry.first == arg; });
        if (limit != kLimits.end() && i + 1 < argc) {
            const std::string_view text = argv[++i];
            std::uint64_t value = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (ec != std::errc() || end != text.data() + text.size() || value == 0) {
                std::cerr << "zeroflowd: " << arg << " takes a positive integer, not '" << text
                          << "'\n";
                return 2;
            }
            limit->second(value);
        } else if (arg == "--runtime-dir" && i + 1 < argc) {
            options.runtime_dir = argv[++i];
        } else if (arg == "--log-file" && i + 1 < argc) {
            log_file = argv[++i];
        } else if (arg == "--help" || arg == "-h") {
            const auto d = Limits{}.resolved();
            std::cout
                << "usage: zeroflowd [--runtime-dir DIR] [--log-file FILE] [LIMITS]\n"
                   "Serves zeroflow dataflows on DIR/daemon.sock (default: "
                << protocol::runtime_dir().string()
                << ").\n"
                   "Limits (a request over one is refused with error resource_limit):\n"
                   "  --max-segment-bytes N        one dataflow's segment (default: 16 x RAM, "
                << d.max_segment_bytes
                << ")\n"
                   "  --max-total-segment-bytes N  all live segments (default: 64 x RAM, "
                << d.max_total_segment_bytes
                << ")\n"
                   "  --max-dataflows N            live dataflows (default "
                << d.max_dataflows
                << ")\n"
                   "  --max-nodes N                nodes per dataflow (default "
                << d.max_nodes
                << ")\n"
                   "  --max-inputs N               inputs per dataflow (default "
                << d.max_inputs
                << ")\n"
                   "  --max-timers N               distinct timers per dataflow (default "
                << d.max_timers
                << ")\n"
                   "  --max-dynamic-connections N  dynamic nodes connected (default "
                << d.max_dynamic_connections
                << ")\n"
                   "  --max-connections N          control connections (default "
                << d.max_connections
                << ")\n"
                   "  --max-descriptor-bytes N     dataflow file size (default "
                << d.max_descriptor_bytes
                << ")\n"
                   "  --max-yaml-nodes N           YAML nodes after aliases (default "
                << d.max_yaml_nodes
                << ")\n"
                   "  --taps-per-output N          observers per output at once (default "
                << d.taps_per_output << ")\n";
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
