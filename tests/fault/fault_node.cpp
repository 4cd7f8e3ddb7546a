// The node program of the fault tests: one binary, one role per run.
//
//   fault_node source REPORT [COUNT]  sends a sequence-numbered message on `out` per `tick` input
//                                     (COUNT > 0: exits 0 after COUNT messages)
//   fault_node relay REPORT           forwards every `in` message to `out`
//   fault_node sink REPORT            receives `in`, counts sequence gaps
//   fault_node idle REPORT            waits for Stop
//   fault_node tree REPORT            starts a child in its group, a setsid child and a
//                                     double-forked (setsid) grandchild, all sleeping; reports
//                                     their pids (children=a,b,c), then waits for Stop
//   fault_node spew REPORT MIB        writes MIB MiB to stdout, reports spewed=1, waits for Stop
//
// FAULT_NODE_DELAY_MS=N delays the registration by N ms (a dataflow that stays "starting").
// Every role writes REPORT (key=value lines, replaced atomically) now and then and when its
// stream ends: received, sent, gaps, dropped, input_closed, all_closed, error, stop, done.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include <zeroflow/node.hpp>

namespace {

using namespace std::chrono_literals;

struct Report {
    std::string path;
    std::uint64_t received = 0;
    std::uint64_t sent = 0;
    std::uint64_t gaps = 0;  ///< messages missing between consecutive sequence numbers
    std::uint64_t last = 0;  ///< last sequence number received
    std::uint64_t first = 0; ///< first sequence number received
    std::uint64_t send_errors = 0;
    int input_closed = 0;
    int all_closed = 0;
    int error = 0;
    int stop = 0;
    int done = 0;
    std::uint64_t dropped = 0;

    void write() const {
        const auto tmp = path + ".tmp";
        {
            std::ofstream out(tmp, std::ios::trunc);
            out << "pid=" << ::getpid() << "\nreceived=" << received << "\nsent=" << sent
                << "\ngaps=" << gaps << "\nfirst=" << first << "\nlast=" << last
                << "\nsend_errors=" << send_errors << "\ninput_closed=" << input_closed
                << "\nall_closed=" << all_closed << "\nerror=" << error << "\nstop=" << stop
                << "\ndropped=" << dropped << "\ndone=" << done << "\n";
        }
        std::rename(tmp.c_str(), path.c_str());
    }
};

std::uint64_t sequence_of(std::span<const std::byte> data) {
    std::uint64_t seq = 0;
    if (data.size() >= sizeof(seq)) {
        std::memcpy(&seq, data.data(), sizeof(seq));
    }
    return seq;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::cerr << "usage: fault_node source|relay|sink|idle REPORT [COUNT]\n";
        return 2;
    }
    const std::string role = argv[1];
    const std::uint64_t count = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 0;
    Report report;
    report.path = argv[2];
    report.write();
    if (const char* delay = std::getenv("FAULT_NODE_DELAY_MS"); delay != nullptr) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(delay))); // registers late
    }
    if (role == "tree") {
        std::string children;
        auto sleeper = [] {
            for (;;) {
                ::pause();
            }
        };
        const pid_t in_group = ::fork();
        if (in_group == 0) {
            sleeper();
        }
        int fds[2];
        if (::pipe(fds) != 0) {
            return 1;
        }
        const pid_t session = ::fork();
        if (session == 0) {
            ::setsid();
            const pid_t grandchild = ::fork();
            if (grandchild == 0) {
                ::setsid();
                sleeper();
            }
            [[maybe_unused]] auto n = ::write(fds[1], &grandchild, sizeof(grandchild));
            sleeper(); // the setsid child stays too
        }
        pid_t grandchild = -1;
        if (::read(fds[0], &grandchild, sizeof(grandchild)) != sizeof(grandchild)) {
            return 1;
        }
        // A double fork: the middle one exits, its child re-parents (to the daemon: subreaper).
        const pid_t middle = ::fork();
        if (middle == 0) {
            const pid_t orphan = ::fork();
            if (orphan == 0) {
                ::setsid();
                sleeper();
            }
            [[maybe_unused]] auto n = ::write(fds[1], &orphan, sizeof(orphan));
            ::_exit(0);
        }
        pid_t orphan = -1;
        if (::read(fds[0], &orphan, sizeof(orphan)) != sizeof(orphan)) {
            return 1;
        }
        ::waitpid(middle, nullptr, 0);
        children = std::to_string(in_group) + "," + std::to_string(session) + "," +
                   std::to_string(grandchild) + "," + std::to_string(orphan);
        std::ofstream(report.path + ".children") << children << "\n";
    }
    if (role == "spew") {
        const std::string block(1 << 20, 'x');
        for (std::uint64_t i = 0; i < count; ++i) {
            std::fwrite(block.data(), 1, block.size(), stdout);
        }
        std::fflush(stdout);
        std::ofstream(report.path + ".spewed") << "1\n";
    }
    auto node = zeroflow::Node::from_env();
    if (!node) {
        std::cerr << "fault_node: " << node.error().message() << std::endl;
        return 1;
    }
    auto last_write = std::chrono::steady_clock::now();
    for (;;) {
        auto event = node->next();
        if (event.kind == zeroflow::EventKind::Stop) {
            report.stop = 1;
            break;
        }
        switch (event.kind) {
        case zeroflow::EventKind::Input:
            if (role == "source" && event.id == "tick") {
                const std::uint64_t seq = report.sent + 1;
                if (auto ok = node->send_output("out", std::as_bytes(std::span(&seq, 1))); ok) {
                    report.sent = seq;
                } else {
                    ++report.send_errors;
                }
                if (count > 0 && report.sent >= count) {
                    report.done = 1;
                    report.write();
                    return 0;
                }
            } else if (event.id == "in") {
                const auto seq = sequence_of(event.data);
                if (report.received == 0) {
                    report.first = seq;
                } else if (seq != report.last + 1) {
                    report.gaps += seq > report.last ? seq - report.last - 1 : 1;
                }
                report.last = seq;
                ++report.received;
                if (role == "relay") {
                    if (auto ok = node->send_output("out", event.data); ok) {
                        ++report.sent;
                    } else {
                        ++report.send_errors;
                    }
                }
            }
            break;
        case zeroflow::EventKind::InputClosed:
            ++report.input_closed;
            break;
        case zeroflow::EventKind::AllInputsClosed:
            report.all_closed = 1;
            break;
        case zeroflow::EventKind::Error:
            report.error = 1;
            std::cerr << "fault_node: error event: " << event.message << std::endl;
            break;
        case zeroflow::EventKind::Stop:
            break;
        }
        const auto now = std::chrono::steady_clock::now();
        if (event.kind != zeroflow::EventKind::Input || now - last_write > 20ms) {
            report.dropped = node->dropped("in");
            report.write();
            last_write = now;
        }
    }
    report.dropped = node->dropped("in");
    report.done = 1;
    report.write();
    return 0;
}
