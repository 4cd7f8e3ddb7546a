// The supervisor's frame: its construction and teardown, and the guarded entry points the loop
// calls. The work is in handlers.cpp, lifecycle.cpp, restart.cpp, node_output.cpp, and the pure
// parts in registry.cpp, plan.cpp and status_json.cpp.
#include "supervisor.hpp"

#include <csignal>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "log.hpp"

namespace zeroflow::daemon {

Supervisor::Supervisor(Loop& loop, Replier& replier, const Options& options, Spawner& spawner,
                       ClockSource& clock)
    : loop_(loop), replier_(replier), spawner_(spawner), clock_(clock), options_(options),
      out_of_memory_frame_(protocol::encode_frame(
          protocol::error_reply(protocol::DaemonErrorKind::out_of_memory,
                                "the daemon ran out of memory answering this request; it serves on "
                                "(try again, or lower what the request asks for)"))) {}

Supervisor::~Supervisor() {
    // Last resort (run() normally stops everything first): leave nothing behind.
    for (auto& [uuid, df] : registry_.dataflows()) {
        for (auto& n : df->nodes) {
            if (n.pidfd >= 0) {
                spawner_.signal_tree(identity(*df, n), SIGKILL);
                spawner_.wait(n.pid, true);
                loop_.unwatch(n.pidfd);
                ::close(n.pidfd);
                n.pidfd = -1;
            }
            close_output(n);
            if (n.lingering) {
                spawner_.signal_tree(identity(*df, n), SIGKILL);
            }
            remove_cgroup(n.cgroup);
        }
        df->timers.reset();
        df->segment.reset();
        std::error_code ec;
        std::filesystem::remove(protocol::node_records_dir(options_.runtime_dir) / uuid, ec);
    }
    reap_children();
}

// ---- guarded entry points ------------------------------------------------------------------
// The loop calls these; whatever throws inside (an allocation, a JSON error) is logged and
// counted like a handler's internal error, and the daemon goes on serving.

template <typename F>
void Supervisor::guarded(const char* what, F&& body) noexcept {
    try {
        body();
    } catch (const std::exception& e) {
        ++internal_errors_;
        try {
            log()->error("internal error in {}: {}", what, e.what());
        } catch (...) { // no memory even to log: the count says it
        }
    } catch (...) {
        ++internal_errors_;
        try {
            log()->error("internal error in {} (unknown exception)", what);
        } catch (...) {
        }
    }
}

void Supervisor::on_disconnect(ConnId conn) noexcept {
    guarded("disconnect handling", [&] { on_disconnect_unguarded(conn); });
}

void Supervisor::on_output(const std::string& uuid, std::uint32_t index) noexcept {
    guarded("node output", [&] {
        auto* df = registry_.get(uuid);
        if (df != nullptr && index < df->nodes.size()) {
            read_output(df->nodes[index]);
        }
    });
}

void Supervisor::on_node_exit(const std::string& uuid, std::uint32_t index) noexcept {
    guarded("node exit handling", [&] { on_node_exit_unguarded(uuid, index); });
}

void Supervisor::shutdown(std::optional<ConnId> conn, std::chrono::milliseconds grace) noexcept {
    guarded("shutdown", [&] { shutdown_unguarded(conn, grace); });
}

std::chrono::milliseconds Supervisor::tick() noexcept {
    std::chrono::milliseconds next(100);
    guarded("deadline handling", [&] { next = tick_unguarded(); });
    return next;
}

} // namespace zeroflow::daemon
