// The node program of the fault tests: one binary, one role per run.
//
//   fault_node source REPORT [COUNT]  sends a sequence-numbered message on `out` per `tick` input
//                                     (COUNT > 0: exits 0 after COUNT messages)
//   fault_node relay REPORT           forwards every `in` message to `out`
//   fault_node sink REPORT            receives `in`, counts sequence gaps
//   fault_node idle REPORT            waits for Stop
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
