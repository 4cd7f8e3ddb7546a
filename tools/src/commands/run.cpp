// `zeroflow run FILE`: hands the dataflow to the runtime directory's daemon, or embeds one on the
// standard socket for the run; streams the nodes' output (read back from their log files) with
// each line prefixed by its node id; waits for the end; Ctrl-C stops gracefully, a second kills.
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <ctime>
#include <fstream>
#include <mutex>
#include <thread>

#include <pthread.h>

#include <zeroflow/daemon/daemon.hpp>
#include <zeroflow/dataflow/descriptor.hpp>

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

/// Follows the nodes' log files (out/<uuid>/log_<id>.txt, written by the nodes themselves) and
/// prints each complete line as "<id> | <line>", ids padded to one width and coloured on a
/// terminal, like docker compose. The log files stay the record; this only reads them.
class OutputStream {
public:
    OutputStream(const std::filesystem::path& folder, const std::vector<std::string>& ids,
                 bool color, std::ostream& out)
        : out_(out) {
        std::size_t width = 0;
        for (const auto& id : ids) {
            width = std::max(width, id.size());
        }
        // Cyan, yellow, green, magenta, blue: never red, which reads as an error.
        static constexpr const char* kColors[] = {"36", "33", "32", "35", "34"};
        for (std::size_t i = 0; i < ids.size(); ++i) {
            Source source;
            source.file = protocol::node_log_path(folder, ids[i]);
            const std::string padded = ids[i] + std::string(width - ids[i].size(), ' ');
            source.prefix = color ? std::string("\x1b[") + kColors[i % std::size(kColors)] + "m" +
                                        padded + " |\x1b[0m "
                                  : padded + " | ";
            sources_.push_back(std::move(source));
        }
        thread_ = std::thread([this] { loop(); });
    }
    ~OutputStream() { finish(); }
    OutputStream(const OutputStream&) = delete;
    OutputStream& operator=(const OutputStream&) = delete;

    /// Prints what is left (a last line without its newline included) and stops following.
    void finish() {
        if (!thread_.joinable()) {
            return;
        }
        {
            const std::lock_guard lock(mutex_);
            done_ = true;
        }
        wake_.notify_all();
        thread_.join();
        poll(true);
    }

private:
    struct Source {
        std::filesystem::path file;
        std::string prefix;
        std::ifstream in;
        std::string partial; ///< a line still waiting for its newline
    };

    void loop() {
        std::unique_lock lock(mutex_);
        while (!done_) {
            lock.unlock();
            poll(false);
            lock.lock();
            wake_.wait_for(lock, 100ms, [this] { return done_; });
        }
    }

    void poll(bool last) {
        char buffer[65536];
        bool wrote = false;
        for (auto& s : sources_) {
            if (!s.in.is_open()) {
                s.in.open(s.file, std::ios::binary);
                if (!s.in.is_open()) {
                    continue;
                }
            }
            s.in.clear();
            for (;;) {
                s.in.read(buffer, sizeof(buffer));
                const auto n = static_cast<std::size_t>(s.in.gcount());
                if (n == 0) {
                    break;
                }
                s.partial.append(buffer, n);
            }
            std::size_t begin = 0;
            for (auto end = s.partial.find('\n'); end != std::string::npos;
                 end = s.partial.find('\n', begin)) {
                out_ << s.prefix << std::string_view(s.partial).substr(begin, end - begin) << '\n';
                begin = end + 1;
                wrote = true;
            }
            s.partial.erase(0, begin);
            if (last && !s.partial.empty()) {
                out_ << s.prefix << s.partial << '\n';
                s.partial.clear();
                wrote = true;
            }
        }
        if (wrote) {
            out_.flush();
        }
    }

    std::ostream& out_;
    std::vector<Source> sources_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool done_ = false;
    std::thread thread_;
};

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

    if (auto failed = preflight(options.file, err)) {
        return *failed;
    }
    std::vector<std::string> spawned;
    if (auto parsed = dataflow::parse_file(options.file); parsed.ok()) {
        for (const auto& node : parsed.descriptor->nodes) {
            if (!node.dynamic) {
                spawned.push_back(node.id);
            }
        }
    }

    std::unique_ptr<daemon::Daemon> embedded;
    std::thread daemon_thread;
    if (!daemon_running()) {
        try {
            // Its log goes where `zeroflow up`'s goes: what it would say on stderr (a failed
            // start, a node's last lines) this command says itself, once.
            const auto dir = protocol::runtime_dir();
            if (auto ok = protocol::ensure_runtime_dir(dir); !ok) {
                err << "zeroflow: error: " << ok.error().message << "\n";
                return kExitFailure;
            }
            daemon::setup_logging(protocol::daemon_log_path(dir), "info");
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
    auto started = daemon_call(
        request, std::chrono::milliseconds(
                     static_cast<std::int64_t>(options.start_timeout_s * 1000) + 30000));
    if (!started) {
        print_daemon_error(started.error(), err);
        finish_daemon();
        return kExitFailure;
    }
    const auto uuid = (*started)["uuid"].get<std::string>();
    const auto log_dir = protocol::run_log_dir(path.parent_path(), uuid);
    out << "dataflow " << uuid << " running; node logs in " << log_dir.string() << "\n"
        << std::flush;
    std::optional<OutputStream> stream;
    if (!options.quiet) {
        stream.emplace(log_dir, spawned, options.color, out);
    }

    std::atomic<bool> done{false};
    std::thread signals([&] { signal_loop(uuid, options, done, err); });
    auto result =
        daemon_request(Json{{"op", "wait"}, {"dataflow", uuid}}, std::chrono::hours(24 * 365));
    done.store(true);
    signals.join();
    if (stream) {
        stream->finish(); // every node has exited: its log is complete
    }
    finish_daemon();
    if (!result) {
        err << "zeroflow: error: " << result.error() << "\n";
        return kExitFailure;
    }
    // Streamed, the failed nodes' last lines are already on the screen: not twice.
    return report_result(*result, out, err, options.quiet);
}

} // namespace zeroflow::cli
