// `zeroflow run FILE`: hands the dataflow to the runtime directory's daemon, or embeds one on the
// standard socket for the run; waits for the end; Ctrl-C stops gracefully, a second one kills.
#include <atomic>
#include <csignal>
#include <ctime>
#include <thread>

#include <pthread.h>

#include <zeroflow/daemon/daemon.hpp>

#include "client.hpp"
#include "commands.hpp"
#include "daemon_commands.hpp"

namespace zeroflow::cli {

using protocol::Json;
using namespace std::chrono_literals;

namespace {

/// Waits for SIGINT/SIGTERM (blocked in every thread) or the stop-after deadline and turns them
/// into stop requests: the first with the grace period, the next with none.
void signal_loop(const std::string& uuid, const RunOptions& options, const std::atomic<bool>& done,
                 std::ostream& err) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    const auto start = std::chrono::steady_clock::now();
    int stops = 0;
    std::thread stopper;
    while (!done.load()) {
        timespec tick{0, 100'000'000};
        const int sig = ::sigtimedwait(&set, nullptr, &tick);
        const bool deadline = options.stop_after_s && stops == 0 &&
                              std::chrono::steady_clock::now() - start >=
                                  std::chrono::duration<double>(*options.stop_after_s);
        if (sig <= 0 && !deadline) {
            continue;
        }
        const double grace = stops == 0 ? options.grace_s : 0.0;
        if (sig > 0) {
            err << (stops == 0 ? "\nstopping (Ctrl-C again to kill)...\n" : "\nkilling...\n")
                << std::flush;
        }
        ++stops;
        if (stopper.joinable()) {
            stopper.detach(); // the first stop's reply may still be pending; the second one wins
        }
        stopper = std::thread([uuid, grace] {
            (void)daemon_request(
                Json{{"op", "stop"}, {"dataflow", uuid}, {"grace_s", grace}},
                std::chrono::milliseconds(static_cast<std::int64_t>(grace * 1000) + 30000));
        });
        if (stops >= 2) {
            break;
        }
    }
    if (stopper.joinable()) {
        stopper.join();
    }
}

} // namespace

int run_run(const RunOptions& options, std::ostream& out, std::ostream& err) {
    std::error_code ec;
    const auto path = std::filesystem::absolute(options.file, ec);
    // Signals are taken by signal_loop only (threads inherit this mask; nodes get a clean one).
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    std::unique_ptr<daemon::Daemon> embedded;
    std::thread daemon_thread;
    if (!daemon_running()) {
        try {
            daemon::setup_logging(std::nullopt, "warn");
        } catch (const std::exception& e) {
            err << "zeroflow: error: " << e.what() << "\n";
            return kExitFailure;
        }
        daemon::Options daemon_options;
        daemon_options.runtime_dir = protocol::runtime_dir();
        auto created = daemon::Daemon::create(daemon_options);
        if (!created) {
            if (!daemon_running()) { // else another daemon won the race: use it
                err << "zeroflow: error: " << created.error() << "\n";
                return kExitFailure;
            }
        } else {
            embedded = std::move(*created);
            daemon_thread = std::thread([d = embedded.get()] { d->run(); });
        }
    }
    auto finish_daemon = [&] {
        if (embedded) {
            embedded->request_shutdown();
            daemon_thread.join();
            embedded.reset();
        }
    };

    Json request{
        {"op", "start"}, {"path", path.string()}, {"start_timeout_s", options.start_timeout_s}};
    if (options.name) {
        request["name"] = *options.name;
    }
    auto started = daemon_request(
        request, std::chrono::milliseconds(
                     static_cast<std::int64_t>(options.start_timeout_s * 1000) + 30000));
    if (!started) {
        err << "zeroflow: error: " << started.error() << "\n";
        finish_daemon();
        return kExitFailure;
    }
    const auto uuid = (*started)["uuid"].get<std::string>();
    out << "dataflow " << uuid << " running; node logs in "
        << (path.parent_path() / "out" / uuid).string() << "\n"
        << std::flush;

    std::atomic<bool> done{false};
    std::thread signals([&] { signal_loop(uuid, options, done, err); });
    auto result =
        daemon_request(Json{{"op", "wait"}, {"dataflow", uuid}}, std::chrono::hours(24 * 365));
    done.store(true);
    signals.join();
    finish_daemon();
    if (!result) {
        err << "zeroflow: error: " << result.error() << "\n";
        return kExitFailure;
    }
    return report_result(*result, out, err);
}

} // namespace zeroflow::cli
