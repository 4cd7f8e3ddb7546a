// The node program of the daemon tests: one binary, one role per run (source, sink, stubborn,
// exit_early), configured by arguments. Roles report what they did in key=value files that the
// tests read; every run leaves its pid in $ZF_TEST_PID_DIR so that the tests can check that
// nothing they started outlives them.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <zeroflow/node.hpp>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Args {
    std::string role;
    std::map<std::string, std::string> options;

    std::string text(const std::string& key, const std::string& fallback = "") const {
        const auto it = options.find(key);
        return it == options.end() ? fallback : it->second;
    }
    std::uint64_t number(const std::string& key, std::uint64_t fallback = 0) const {
        const auto it = options.find(key);
        return it == options.end() ? fallback : std::stoull(it->second);
    }
};

/// FNV-1a over every payload byte, in the order received: equal checksums mean byte-identical
/// message streams.
struct Checksum {
    std::uint64_t value = 14695981039346656037ULL;
    void add(std::span<const std::byte> bytes) {
        for (const auto b : bytes) {
            value = (value ^ static_cast<std::uint64_t>(b)) * 1099511628211ULL;
        }
    }
};

/// Writes `text` to `path` atomically (the tests may read it while the node runs).
void write_report(const std::string& path, const std::string& text) {
    if (path.empty()) {
        return;
    }
    const auto tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << text;
    }
    std::rename(tmp.c_str(), path.c_str());
}

void leave_pid() {
    if (const char* dir = std::getenv("ZF_TEST_PID_DIR"); dir != nullptr && *dir != '\0') {
        std::ofstream(std::string(dir) + "/" + std::to_string(::getpid())) << "\n";
    }
}

/// Payload of message `seq`: the sequence number (8 bytes, little-endian host order), then
/// xorshift bytes seeded by (seed, seq), so that every message differs.
void fill(std::span<std::byte> data, std::uint64_t seq, std::uint64_t seed) {
    std::uint64_t state = (seed * 0x9E3779B97F4A7C15ULL) ^ (seq + 1);
    for (std::size_t i = 0; i < data.size(); ++i) {
        if (i < sizeof(seq)) {
            data[i] = static_cast<std::byte>((seq >> (8 * i)) & 0xFF);
            continue;
        }
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data[i] = static_cast<std::byte>(state & 0xFF);
    }
}

std::uint64_t sequence_of(std::span<const std::byte> data) {
    std::uint64_t seq = 0;
    for (std::size_t i = 0; i < sizeof(seq) && i < data.size(); ++i) {
        seq |= static_cast<std::uint64_t>(data[i]) << (8 * i);
    }
    return seq;
}

/// Sends --count messages (0: until Stop) of --size bytes on --output, one every --period-us
/// (0: as fast as the pool allows). --abort-after K aborts after K sends; --exit-code C exits
/// with C after the last one.
int run_source(zeroflow::Node& node, const Args& args) {
    const auto count = args.number("count", 10);
    const auto size = std::max<std::uint64_t>(args.number("size", 64), 8);
    const auto period = std::chrono::microseconds(args.number("period-us", 0));
    const auto output = args.text("output", "out");
    const auto seed = args.number("seed", 1);
    const auto abort_after = args.number("abort-after", 0);
    const auto report = args.text("report");
    Checksum checksum;
    std::uint64_t sent = 0;
    bool stopped = false;
    std::cout << "source: sending on " << output << std::endl;
    const auto start = Clock::now();
    auto write = [&] {
        write_report(report, "sent=" + std::to_string(sent) +
                                 "\nchecksum=" + std::to_string(checksum.value) +
                                 "\nstopped=" + std::to_string(stopped ? 1 : 0) + "\n");
    };
    while (count == 0 || sent < count) {
        // Pace on the event stream, so that a Stop ends the wait at once.
        const auto due = start + period * static_cast<std::int64_t>(sent);
        do {
            const auto now = Clock::now();
            auto event = node.next(now < due ? due - now : 0ns);
            stopped = event && event->kind == zeroflow::EventKind::Stop;
        } while (!stopped && Clock::now() < due);
        if (stopped) {
            break;
        }
        const auto seq = sent + 1;
        auto sample = node.loan(output, size);
        for (int retry = 0;
             !sample && sample.error().kind() == zeroflow::ErrorKind::pool_exhausted &&
             retry < 10000;
             ++retry) {
            std::this_thread::sleep_for(1ms); // receivers still hold every chunk
            sample = node.loan(output, size);
        }
        if (!sample) {
            std::cerr << "source: loan failed: " << sample.error().message() << std::endl;
            write();
            return 1;
        }
        fill(sample->data(), seq, seed);
        checksum.add(sample->data());
        if (auto ok = node.send(std::move(*sample)); !ok) {
            std::cerr << "source: send failed: " << ok.error().message() << std::endl;
            write();
            return 1;
        }
        sent = seq;
        if (sent % 100 == 0) {
            write();
        }
        if (abort_after != 0 && sent == abort_after) {
            write();
            std::cerr << "crasher: aborting on purpose after " << sent << " messages" << std::endl;
            const rlimit no_core{0, 0};
            ::setrlimit(RLIMIT_CORE, &no_core);
            std::abort();
        }
    }
    write();
    std::cout << "source: sent " << sent << " messages" << std::endl;
    if (const auto code = args.number("exit-code", 0); code != 0) {
        std::cerr << "source: failing on purpose with status " << code << std::endl;
        return static_cast<int>(code);
    }
    return 0;
}

/// Receives until Stop; records count, first/last sequence, gaps (non-consecutive sequences),
/// drops, a checksum of the payloads and the order of the control events in --report, rewritten
/// every 100 ms. --expect N: exits 1 unless exactly N messages came.
int run_sink(zeroflow::Node& node, const Args& args) {
    const auto report = args.text("report");
    std::uint64_t count = 0;
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    std::uint64_t gaps = 0;
    std::uint64_t dropped = 0;
    Checksum checksum;
    std::string events;
    auto write = [&] {
        dropped = 0;
        for (const auto& input : node.inputs()) {
            dropped += node.dropped(input);
        }
        write_report(report, "count=" + std::to_string(count) + "\nfirst=" + std::to_string(first) +
                                 "\nlast=" + std::to_string(last) + "\ngaps=" +
                                 std::to_string(gaps) + "\ndropped=" + std::to_string(dropped) +
                                 "\nchecksum=" + std::to_string(checksum.value) +
                                 "\nevents=" + events + "\n");
    };
    auto note = [&events](const std::string& what) {
        events += (events.empty() ? "" : ",") + what;
    };
    auto written = Clock::now();
    for (;;) {
        auto maybe_event = node.next(100ms);
        if (Clock::now() - written >= 100ms) {
            write();
            written = Clock::now();
        }
        if (!maybe_event) {
            continue;
        }
        const auto& event = *maybe_event;
        if (event.kind == zeroflow::EventKind::Stop) {
            note("stop");
            break;
        }
        switch (event.kind) {
        case zeroflow::EventKind::Input: {
            const auto seq = sequence_of(event.data);
            if (count == 0) {
                first = seq;
            } else if (seq != last + 1) {
                ++gaps;
            }
            last = seq;
            ++count;
            checksum.add(event.data);
            break;
        }
        case zeroflow::EventKind::InputClosed:
            note("closed:" + std::string(event.id));
            break;
        case zeroflow::EventKind::AllInputsClosed:
            note("all_closed");
            break;
        case zeroflow::EventKind::Error:
            note("error");
            std::cerr << "sink: " << event.message << std::endl;
            break;
        default:
            break;
        }
    }
    write();
    std::cout << "sink: received " << count << " messages" << std::endl;
    if (args.options.contains("expect") && count != args.number("expect")) {
        std::cerr << "sink: expected " << args.number("expect") << " messages, got " << count
                  << std::endl;
        return 1;
    }
    return 0;
}

/// Registers, then never looks at its events again (so it never sees Stop); with
/// --ignore-term it ignores SIGTERM too, so only SIGKILL ends it.
int run_stubborn(const Args& args) {
    if (args.options.contains("ignore-term")) {
        std::signal(SIGTERM, SIG_IGN);
    }
    std::cout << "stubborn: registered; ignoring Stop" << std::endl;
    for (;;) {
        std::this_thread::sleep_for(1s);
    }
}

} // namespace

int main(int argc, char** argv) {
    leave_pid();
    Args args;
    if (argc < 2) {
        std::cerr << "usage: zeroflow_test_node ROLE [--key value | --flag]...\n";
        return 2;
    }
    args.role = argv[1];
    for (int i = 2; i < argc; ++i) {
        std::string key = argv[i];
        if (!key.starts_with("--")) {
            std::cerr << "test node: unexpected argument '" << key << "'\n";
            return 2;
        }
        key = key.substr(2);
        if (i + 1 < argc && !std::string(argv[i + 1]).starts_with("--")) {
            args.options[key] = argv[++i];
        } else {
            args.options[key] = "1";
        }
    }
    if (args.role == "exit_early") {
        std::cerr << args.text("message", "exit_early: giving up before registering") << std::endl;
        return static_cast<int>(args.number("code", 3));
    }
    if (const auto delay = args.number("sleep-before-register", 0); delay != 0) {
        std::this_thread::sleep_for(std::chrono::seconds(delay));
    }
    auto node = zeroflow::Node::from_env();
    if (!node) {
        std::cerr << args.role << ": " << node.error().message() << std::endl;
        return 1;
    }
    if (args.role == "source") {
        return run_source(*node, args);
    }
    if (args.role == "sink") {
        return run_sink(*node, args);
    }
    if (args.role == "stubborn") {
        return run_stubborn(args);
    }
    std::cerr << "test node: unknown role '" << args.role << "'\n";
    return 2;
}
