// zf_sink: the receiving end of the one-way, fan-out, chain and throughput points.
//
// Latency patterns: for every message on `data`, reads it (touch), takes CLOCK_MONOTONIC,
// releases it and acknowledges on `ack` with the one-way latency (now - the stamp in the
// message's first 8 bytes) as an int64. Ends when its input closes.
//
// throughput: counts messages from the first to zf_source's stop message, checks that none was
// dropped (node.dropped; --allow-drops 1: notes how many instead), and appends the JSON line
// with msgs_per_s.
#include <cstdint>
#include <cstring>
#include <string>

#include <zeroflow/bench/driver.hpp>

#include "bench_node.hpp"

namespace zf = zeroflow::bench::zf;
using zeroflow::bench::now_ns;

namespace {

constexpr std::string_view kName = "zf_sink";

int count(zeroflow::Node& node, const zf::NodeArgs& args) {
    zf::StreamEnd end;
    {
        const auto first = zf::next_input(node, end);
        if (!first) {
            return zf::fail(kName, "no message: " + end.why);
        }
        if (zeroflow::bench::read_message(first->data, args.touch) ==
            zeroflow::bench::kStopMessage) {
            return zf::fail(kName, "the first message was the stop message");
        }
    }
    // Clock reads only at the first message and at the stop, as the harness does.
    const std::int64_t start = now_ns();
    std::uint64_t messages = 0;
    for (;;) {
        const auto in = zf::next_input(node, end);
        if (!in) {
            return zf::fail(kName, "stream ended before the stop message: " + end.why);
        }
        if (zeroflow::bench::read_message(in->data, args.touch) == zeroflow::bench::kStopMessage) {
            break;
        }
        ++messages;
    }
    const std::int64_t stop = now_ns();
    std::string note = args.note;
    if (const auto dropped = node.dropped("data"); dropped != 0) {
        if (!args.allow_drops) {
            return zf::fail(kName, std::to_string(dropped) +
                                       " messages were dropped; back-pressure "
                                       "must make the sender wait instead");
        }
        note = zf::join_notes(std::move(note), std::to_string(dropped) + " dropped by the queue");
    }
    zeroflow::bench::PointResult r;
    r.system = "zeroflow";
    r.mode = zeroflow::bench::to_string(args.mode);
    r.touch = zeroflow::bench::to_string(args.touch);
    r.pattern = args.pattern;
    r.size = args.size;
    r.samples = messages;
    r.msgs_per_s = stop > start
                       ? static_cast<double>(messages) * 1e9 / static_cast<double>(stop - start)
                       : 0.0;
    r.note = note;
    return zf::append_result(args.results, r) ? 0 : 1;
}

int acknowledge(zeroflow::Node& node, const zf::NodeArgs& args) {
    std::uint64_t retries = 0;
    for (;;) {
        std::int64_t latency = 0;
        {
            zf::StreamEnd end;
            const auto in = zf::next_input(node, end);
            if (!in) {
                return end.error ? zf::fail(kName, end.why) : 0; // the source left: done
            }
            const std::int64_t sent = zeroflow::bench::read_message(in->data, args.touch);
            latency = now_ns() - sent;
        }
        auto ack = zf::loan_retry(node, "ack", sizeof latency, retries);
        if (!ack) {
            return zf::fail(kName, ack.error().message());
        }
        std::memcpy(ack->data().data(), &latency, sizeof latency);
        if (auto ok = node.send(std::move(*ack)); !ok) {
            return zf::fail(kName, ok.error().message());
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    const auto args = zf::parse_args(argc, argv);
    if (!args) {
        return zf::fail(kName, args.error());
    }
    auto node = zf::connect(kName);
    if (!node) {
        return 1;
    }
    return args->pattern == "throughput" ? count(*node, *args) : acknowledge(*node, *args);
}
