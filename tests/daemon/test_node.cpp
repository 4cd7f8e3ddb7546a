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

#include "../time_scale.hpp"

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
/// every 100 ms. --expect N: exits 1 unless exactly N messages came. --stamps FILE: at the
/// end, one line per message: its payload counter, sequence, timestamp_ns, wall_time_ns and
/// this process's CLOCK_REALTIME when it took the message.
int run_sink(zeroflow::Node& node, const Args& args) {
    const auto report = args.text("report");
    const auto stamps_path = args.text("stamps");
    std::string stamps;
    std::uint64_t count = 0;
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    std::uint64_t gaps = 0;
    std::uint64_t dropped = 0;
    std::uint64_t last_sequence = 0; ///< the chunk header's sequence (per output, from 1)
    std::uint64_t sequence_gaps = 0;
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
                                 "\nlast_sequence=" + std::to_string(last_sequence) +
                                 "\nsequence_gaps=" + std::to_string(sequence_gaps) +
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
            if (event.sequence != last_sequence + 1) {
                ++sequence_gaps;
            }
            last_sequence = event.sequence;
            checksum.add(event.data);
            if (!stamps_path.empty()) {
                const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
                stamps += std::to_string(seq) + " " + std::to_string(event.sequence) + " " +
                          std::to_string(event.timestamp_ns) + " " +
                          std::to_string(event.wall_time_ns()) + " " + std::to_string(now) + "\n";
            }
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
    write_report(stamps_path, stamps);
    write();
    std::cout << "sink: received " << count << " messages" << std::endl;
    if (args.options.contains("expect") && count != args.number("expect")) {
        std::cerr << "sink: expected " << args.number("expect") << " messages, got " << count
                  << std::endl;
        return 1;
    }
    return 0;
}

/// Restart policies: forwards each message of input `in` to output `out` unchanged (the
/// source's counter stays in its first 8 bytes); after --crash-every K forwards it takes one
/// more message and aborts without sending it (--exit-clean: exits 0 instead). Every process
/// appends "pid" to --starts, so the test counts the starts. --forward: sends with the
/// message's own sequence and wall-clock time (Node::forward, its monotonic time now);
/// --skip-every K: does not forward messages whose counter is a multiple of K.
int run_relay(zeroflow::Node& node, const Args& args) {
    const auto every = args.number("crash-every", 0);
    const bool forward = args.options.contains("forward");
    const auto skip_every = args.number("skip-every", 0);
    if (const auto starts = args.text("starts"); !starts.empty()) {
        std::ofstream(starts, std::ios::app) << ::getpid() << "\n";
    }
    std::uint64_t forwarded = 0;
    for (auto event = node.next(); event.kind != zeroflow::EventKind::Stop; event = node.next()) {
        if (event.kind != zeroflow::EventKind::Input) {
            continue;
        }
        if (every != 0 && forwarded == every) {
            std::cerr << "relay: taken message " << sequence_of(event.data)
                      << " and ending without sending it" << std::endl;
            if (args.options.contains("exit-clean")) {
                return 0;
            }
            const rlimit no_core{0, 0};
            ::setrlimit(RLIMIT_CORE, &no_core);
            std::abort();
        }
        if (skip_every != 0 && sequence_of(event.data) % skip_every == 0) {
            continue;
        }
        auto sample = node.loan("out", event.data.size());
        if (!sample) {
            std::cerr << "relay: loan failed: " << sample.error().message() << std::endl;
            return 1;
        }
        std::copy(event.data.begin(), event.data.end(), sample->data().begin());
        auto stamp = event.stamp();
        stamp.timestamp_ns = 0; // now, on this machine's clock
        if (auto ok =
                forward ? node.forward(std::move(*sample), stamp) : node.send(std::move(*sample));
            !ok) {
            std::cerr << "relay: send failed: " << ok.error().message() << std::endl;
            return 1;
        }
        ++forwarded;
    }
    return 0;
}

// ---- Self-describing messages: typed_source / typed_sink ------------------------------------
// Message k (k = sequence, from 1) is, by k % 3:
//   1: untyped bytes, 15 bytes (the fill pattern), no metadata at all;
//   2: u8 of shape {4, 5, 3}, encoding "rgb8", parameters frame=k, camera="front";
//   0: f32 of shape {2, 3, 4}, no encoding, one parameter of every kind.
// The sink recomputes what each message must be from its sequence alone and compares.

constexpr std::uint64_t kRgbShape[3] = {4, 5, 3};
constexpr std::uint64_t kFloatShape[3] = {2, 3, 4};

std::string tag_of(std::uint64_t k) {
    return "b" + std::to_string(k);
}

bool write_typed(zeroflow::Sample& sample, std::uint64_t k, std::uint64_t blob) {
    if (k % 3 == 1) {
        fill(sample.data(), k, 3);
        return true;
    }
    if (k % 3 == 2) {
        sample.set_shape(kRgbShape).set_encoding("rgb8");
        auto data = sample.data();
        for (std::size_t i = 0; i < data.size(); ++i) {
            data[i] = static_cast<std::byte>((k + i) % 256);
        }
        sample.metadata().set("frame", k).set("camera", "front");
    } else {
        sample.set_shape(kFloatShape);
        auto* values = reinterpret_cast<float*>(sample.data().data());
        for (std::size_t i = 0; i < 24; ++i) {
            values[i] = static_cast<float>(k * 100 + i);
        }
        const auto kk = static_cast<std::int64_t>(k);
        sample.metadata()
            .set("frame", kk)
            .set("flag", k % 2 == 0)
            .set("scale", static_cast<double>(k) * 0.5)
            .set("name", "f" + std::to_string(k))
            .set("dims", std::vector<std::int64_t>{2, 3, 4})
            .set("gains",
                 std::vector<double>{static_cast<double>(k), -0.25 * static_cast<double>(k)})
            .set("tags", std::vector<std::string>{"a", tag_of(k)});
    }
    if (blob != 0) {
        sample.metadata().set("blob", std::string(blob, 'z'));
    }
    return true;
}

/// Sends --count typed messages on --output (one every --period-us); --blob B adds a B-byte
/// string parameter to the typed ones. A send that fails with metadata_too_large is reported
/// (too_large=1, error=the message) and ends the node with status 0.
int run_typed_source(zeroflow::Node& node, const Args& args) {
    const auto count = args.number("count", 30);
    const auto period = std::chrono::microseconds(args.number("period-us", 1000));
    const auto blob = args.number("blob", 0);
    const auto report = args.text("report");
    auto output = node.output(args.text("output", "out"));
    if (!output) {
        std::cerr << "typed_source: " << output.error().message() << std::endl;
        return 1;
    }
    std::uint64_t sent = 0;
    for (std::uint64_t k = 1; k <= count; ++k) {
        if (auto event = node.next(period); event && event->kind == zeroflow::EventKind::Stop) {
            break;
        }
        std::expected<zeroflow::Sample, zeroflow::Error> sample =
            k % 3 == 1 ? output->loan(15)
                       : (k % 3 == 2 ? output->loan<std::uint8_t>(60) : output->loan<float>(24));
        for (int retry = 0;
             !sample && sample.error().kind() == zeroflow::ErrorKind::pool_exhausted &&
             retry < 10000;
             ++retry) {
            std::this_thread::sleep_for(1ms);
            sample = k % 3 == 1
                         ? output->loan(15)
                         : (k % 3 == 2 ? output->loan<std::uint8_t>(60) : output->loan<float>(24));
        }
        if (!sample) {
            std::cerr << "typed_source: loan failed: " << sample.error().message() << std::endl;
            return 1;
        }
        write_typed(*sample, k, k % 3 == 1 ? 0 : blob);
        if (auto ok = node.send(std::move(*sample)); !ok) {
            if (ok.error().kind() == zeroflow::ErrorKind::metadata_too_large) {
                write_report(report, "sent=" + std::to_string(sent) +
                                         "\ntoo_large=1\nerror=" + ok.error().message() + "\n");
                std::cerr << "typed_source: " << ok.error().message() << std::endl;
                return 0;
            }
            std::cerr << "typed_source: send failed: " << ok.error().message() << std::endl;
            return 1;
        }
        sent = k;
    }
    write_report(report, "sent=" + std::to_string(sent) + "\ntoo_large=0\n");
    return 0;
}

/// What is wrong with message `event` (k = its sequence), or "" when it is exactly as sent.
std::string check_typed(const zeroflow::Event& event, std::uint64_t blob) {
    const auto k = event.sequence;
    const auto& meta = event.metadata();
    auto expect_blob = [&]() -> std::string {
        if (blob == 0) {
            return meta.get<std::string_view>("blob") ? "unexpected blob" : "";
        }
        const auto b = meta.get<std::string_view>("blob");
        return b && *b == std::string(blob, 'z') ? "" : "blob missing or wrong";
    };
    if (k % 3 == 1) {
        std::vector<std::byte> want(15);
        fill(want, k, 3);
        if (event.dtype() != zeroflow::DataType::bytes || !event.shape().empty() ||
            !event.encoding().empty() || !meta.empty()) {
            return "plain message carries a type or metadata";
        }
        if (event.data.size() != want.size() ||
            !std::equal(want.begin(), want.end(), event.data.begin())) {
            return "plain payload differs";
        }
        // An untyped message reads as any T, but 15 bytes are no whole number of u16s.
        if (event.as<std::uint16_t>()) {
            return "as<u16>() accepted 15 bytes";
        }
        auto bytes = event.as<std::uint8_t>();
        return bytes && bytes->size() == 15 ? "" : "as<u8>() refused a bytes message";
    }
    if (k % 3 == 2) {
        if (event.dtype() != zeroflow::DataType::u8 ||
            !std::equal(event.shape().begin(), event.shape().end(), std::begin(kRgbShape),
                        std::end(kRgbShape)) ||
            event.encoding() != "rgb8") {
            return "rgb message: dtype/shape/encoding differ";
        }
        auto values = event.as<std::uint8_t>();
        if (!values || values->size() != 60) {
            return "rgb message: as<u8>() failed";
        }
        for (std::size_t i = 0; i < 60; ++i) {
            if ((*values)[i] != static_cast<std::uint8_t>((k + i) % 256)) {
                return "rgb payload differs at " + std::to_string(i);
            }
        }
        if (meta.get<std::uint64_t>("frame") != k ||
            meta.get<std::string_view>("camera") != "front") {
            return "rgb parameters differ";
        }
        if (event.as<float>()) {
            return "as<float>() accepted a u8 message";
        }
        const auto keys = meta.keys();
        const std::size_t want_keys = blob != 0 ? 3 : 2;
        if (keys.size() != want_keys || keys[0] != "frame" || keys[1] != "camera") {
            return "rgb parameter keys differ";
        }
        return expect_blob();
    }
    if (event.dtype() != zeroflow::DataType::f32 ||
        !std::equal(event.shape().begin(), event.shape().end(), std::begin(kFloatShape),
                    std::end(kFloatShape)) ||
        !event.encoding().empty()) {
        return "float message: dtype/shape/encoding differ";
    }
    auto values = event.as<float>();
    if (!values || values->size() != 24) {
        return "float message: as<float>() failed";
    }
    for (std::size_t i = 0; i < 24; ++i) {
        if ((*values)[i] != static_cast<float>(k * 100 + i)) {
            return "float payload differs at " + std::to_string(i);
        }
    }
    if (auto wrong = event.as<double>();
        wrong || wrong.error().kind() != zeroflow::ErrorKind::invalid_argument) {
        return "as<double>() accepted an f32 message";
    }
    const auto kd = static_cast<double>(k);
    const std::vector<std::string_view> want_keys = {"frame", "flag",  "scale", "name",
                                                     "dims",  "gains", "tags"};
    auto keys = meta.keys();
    if (blob != 0 && !keys.empty()) {
        keys.pop_back();
    }
    if (keys != want_keys) {
        return "float parameter keys differ";
    }
    if (meta.get<std::int64_t>("frame") != static_cast<std::int64_t>(k) ||
        meta.get<bool>("flag") != (k % 2 == 0) || meta.get<double>("scale") != kd * 0.5 ||
        meta.get<std::string>("name") != "f" + std::to_string(k) ||
        meta.get<std::vector<std::int64_t>>("dims") != std::vector<std::int64_t>{2, 3, 4} ||
        meta.get<std::vector<double>>("gains") != std::vector<double>{kd, -0.25 * kd} ||
        meta.get<std::vector<std::string>>("tags") != std::vector<std::string>{"a", tag_of(k)}) {
        return "float parameter values differ";
    }
    return expect_blob();
}

/// Receives until Stop and checks every message against what typed_source sent (--blob as
/// given to it). Reports count, verified, mismatches, the first mismatch, and wall_ok: how
/// many wall-clock send times lay within a second (ZEROFLOW_TEST_TIME_SCALE seconds) of this
/// node's own clock.
int run_typed_sink(zeroflow::Node& node, const Args& args) {
    const auto report = args.text("report");
    const auto blob = args.number("blob", 0);
    auto input = node.input(args.text("input", "in"));
    if (!input) {
        std::cerr << "typed_sink: " << input.error().message() << std::endl;
        return 1;
    }
    std::uint64_t count = 0;
    std::uint64_t verified = 0;
    std::uint64_t wall_ok = 0;
    std::string first_mismatch;
    auto write = [&] {
        write_report(report,
                     "count=" + std::to_string(count) + "\nverified=" + std::to_string(verified) +
                         "\nmismatches=" + std::to_string(count - verified) + "\nwall_ok=" +
                         std::to_string(wall_ok) + "\ndropped=" + std::to_string(input->dropped()) +
                         "\nfirst_mismatch=" + first_mismatch + "\n");
    };
    for (auto event = node.next(); event.kind != zeroflow::EventKind::Stop; event = node.next()) {
        if (event.kind != zeroflow::EventKind::Input || !input->matches(event)) {
            continue;
        }
        ++count;
        const auto problem = check_typed(event, blob);
        if (problem.empty()) {
            ++verified;
        } else if (first_mismatch.empty()) {
            first_mismatch = "message " + std::to_string(event.sequence) + ": " + problem;
        }
        const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        const auto wall = static_cast<std::int64_t>(event.wall_time_ns());
        // Within a second, or what a second of native time takes here (qemu: the sink may
        // fall that far behind the sender).
        const auto tolerance = static_cast<std::int64_t>(1e9 * zeroflow::test::time_scale());
        if (std::llabs(now - wall) < tolerance) {
            ++wall_ok;
        }
        write();
    }
    write();
    return 0;
}

/// Asks for an input and an output the dataflow does not declare: both must be refused with
/// invalid_argument naming the declared ones. Reports what it saw.
int run_handles(zeroflow::Node& node, const Args& args) {
    const auto in = node.input("imgae");
    const auto out = node.output("nope");
    const auto good_in = node.input("in");
    write_report(
        args.text("report"),
        "bad_input=" + std::string(in ? "accepted" : in.error().message()) +
            "\nbad_input_kind=" + std::string(in ? "" : zeroflow::to_string(in.error().kind())) +
            "\nbad_output=" + std::string(out ? "accepted" : out.error().message()) +
            "\ngood_input=" + std::string(good_in ? "ok" : "refused") + "\n");
    return 0;
}

// ---- A scribbling sender: metadata areas garbled after send -----------------------------------
// The chunk layout (docs/design/shm.md, layout version 2): the header is the 64 bytes before the
// payload; the metadata area follows the class's payload capacity (1 KiB for these messages):
// shape at +0, encoding at +64, parameters at +128. A scribbler keeps its pointers after send,
// as a buggy or hostile process of the same user could.
constexpr std::size_t kSmallClassCapacity = 1024;
constexpr std::size_t kHeaderMetadataSize = 36; // ChunkHeader::metadata_size
constexpr std::size_t kHeaderNdim = 41;         // ChunkHeader::ndim

/// Sends --count u8 {4,5,3} messages with a parameter "frame", and right after each send
/// garbles, by k % 3: 0 the shape (so it no longer matches the size), 1 the parameters' first
/// key length (0: malformed), 2 the header's metadata_size and ndim (out of range).
int run_scribbler(zeroflow::Node& node, const Args& args) {
    const auto count = args.number("count", 30);
    auto output = node.output("out");
    if (!output) {
        std::cerr << "scribbler: " << output.error().message() << std::endl;
        return 1;
    }
    for (std::uint64_t k = 1; k <= count; ++k) {
        auto sample = output->loan<std::uint8_t>(60);
        if (!sample) {
            std::cerr << "scribbler: " << sample.error().message() << std::endl;
            return 1;
        }
        sample->set_shape(kRgbShape).set_encoding("rgb8");
        sample->metadata().set("frame", k);
        auto* payload = sample->data().data();
        auto* area = payload + kSmallClassCapacity;
        if (auto ok = node.send(std::move(*sample)); !ok) {
            std::cerr << "scribbler: " << ok.error().message() << std::endl;
            return 1;
        }
        if (k % 3 == 0) {
            const std::uint64_t huge = 999'999;
            std::memcpy(area, &huge, sizeof(huge));
        } else if (k % 3 == 1) {
            area[128] = std::byte{0};
        } else {
            const std::uint32_t bad_size = 0xffffffffU;
            std::memcpy(payload - 64 + kHeaderMetadataSize, &bad_size, sizeof(bad_size));
            payload[-64 + static_cast<std::ptrdiff_t>(kHeaderNdim)] = std::byte{200};
        }
    }
    return 0;
}

/// Sleeps --delay-ms (so that every message is queued, and scribbled, before it looks), then
/// receives until Stop and counts how the scribbled messages read: as plain bytes (no dtype,
/// no shape), with empty parameters, and with their payload intact.
int run_scribble_sink(zeroflow::Node& node, const Args& args) {
    std::this_thread::sleep_for(std::chrono::milliseconds(args.number("delay-ms", 500)));
    std::uint64_t count = 0;
    std::uint64_t untyped = 0;
    std::uint64_t typed = 0;
    std::uint64_t no_parameters = 0;
    std::uint64_t payload_ok = 0;
    for (auto event = node.next(); event.kind != zeroflow::EventKind::Stop; event = node.next()) {
        if (event.kind != zeroflow::EventKind::Input) {
            continue;
        }
        ++count;
        const auto k = event.sequence;
        const bool is_typed = event.dtype() == zeroflow::DataType::u8 && event.shape().size() == 3;
        const bool is_untyped = event.dtype() == zeroflow::DataType::bytes && event.shape().empty();
        typed += is_typed ? 1 : 0;
        untyped += is_untyped ? 1 : 0;
        no_parameters += event.metadata().empty() && event.metadata().keys().empty() ? 1 : 0;
        payload_ok += event.data.size() == 60 ? 1 : 0;
        (void)k;
    }
    write_report(args.text("report"), "count=" + std::to_string(count) +
                                          "\nuntyped=" + std::to_string(untyped) +
                                          "\ntyped=" + std::to_string(typed) +
                                          "\nno_parameters=" + std::to_string(no_parameters) +
                                          "\npayload_ok=" + std::to_string(payload_ok) + "\n");
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

// ---- Nodes that leave inputs untaken (`run` warns about them) --------------------------------

/// `send_stdout_as`: prints --lines N lines "line k" to stdout (and one to stderr), a line
/// that is not UTF-8, a CRLF line and a last line without its newline, then exits 0. With
/// --try-output X it first reports (tried_output=...) whether node.output(X) was given.
int run_printer(zeroflow::Node& node, const Args& args) {
    if (const auto name = args.text("try-output"); !name.empty()) {
        write_report(args.text("report"), std::string("tried_output=") +
                                              (node.output(name) ? "given" : "refused") + "\n");
    }
    const auto lines = args.number("lines", 3);
    for (std::uint64_t k = 1; k <= lines; ++k) {
        std::cout << "line " << k << std::endl;
    }
    std::cerr << "to stderr" << std::endl;
    std::cout << "bad \xff byte\ncrlf\r\nno newline" << std::flush;
    return 0;
}

/// Records every message on --input (default "in") until its stream ends: count=N, then
/// text<k>=the payload and encoding<k>=its encoding, in the order received.
int run_line_sink(zeroflow::Node& node, const Args& args) {
    auto input = node.input(args.text("input", "in"));
    if (!input) {
        std::cerr << "line_sink: " << input.error().message() << std::endl;
        return 1;
    }
    std::string records;
    std::uint64_t count = 0;
    bool closed = false;
    for (auto event = node.next(); event.kind != zeroflow::EventKind::Stop; event = node.next()) {
        if (event.kind == zeroflow::EventKind::InputClosed) {
            closed = true;
        }
        if (event.kind != zeroflow::EventKind::Input || !input->matches(event)) {
            continue;
        }
        ++count;
        const std::string text(reinterpret_cast<const char*>(event.data.data()), event.data.size());
        records += "text" + std::to_string(count) + "=" + text + "\nencoding" +
                   std::to_string(count) + "=" + std::string(event.encoding()) + "\n";
    }
    write_report(args.text("report"), "count=" + std::to_string(count) +
                                          "\nclosed=" + (closed ? "1" : "0") + "\n" + records);
    return 0;
}

/// Registers, never reads its events: waits --ms milliseconds, then exits 0.
int run_deaf(const Args& args) {
    std::this_thread::sleep_for(std::chrono::milliseconds(args.number("ms", 500)));
    return 0;
}

/// Names only its input --input with node.input(), reads every event until Stop, and counts
/// the messages that handle matches.
int run_picky(zeroflow::Node& node, const Args& args) {
    auto wanted = node.input(args.text("input", "in"));
    if (!wanted) {
        std::cerr << "picky: " << wanted.error().message() << std::endl;
        return 1;
    }
    std::uint64_t matched = 0;
    for (auto event = node.next(); event.kind != zeroflow::EventKind::Stop; event = node.next()) {
        if (event.kind == zeroflow::EventKind::Input && wanted->matches(event)) {
            ++matched;
        }
    }
    std::cout << "picky: matched " << matched << std::endl;
    return 0;
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
    if (args.role == "typed_source") {
        return run_typed_source(*node, args);
    }
    if (args.role == "typed_sink") {
        return run_typed_sink(*node, args);
    }
    if (args.role == "scribbler") {
        return run_scribbler(*node, args);
    }
    if (args.role == "scribble_sink") {
        return run_scribble_sink(*node, args);
    }
    if (args.role == "deaf") {
        return run_deaf(args);
    }
    if (args.role == "picky") {
        return run_picky(*node, args);
    }
    if (args.role == "relay") {
        return run_relay(*node, args);
    }
    if (args.role == "handles") {
        return run_handles(*node, args);
    }
    if (args.role == "printer") {
        return run_printer(*node, args);
    }
    if (args.role == "line_sink") {
        return run_line_sink(*node, args);
    }
    std::cerr << "test node: unknown role '" << args.role << "'\n";
    return 2;
}
