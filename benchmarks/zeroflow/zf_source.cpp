// zf_source: the sending side of the one-way, fan-out, chain and throughput points.
//
// Latency patterns (oneway, fanout-N, chain-K): sends a message on `data` stamped with
// CLOCK_MONOTONIC in its first 8 bytes (taken before the loan and the payload write, as the
// peers do), then waits for `--acks` acknowledgements; each carries the one-way latency its
// receiver measured (receive - stamp, ns). One message in flight, so every sample is an
// unloaded trip; the sample is the slowest receiver's latency. Appends one JSON line.
//
// throughput: floods `data` for `--seconds`, retrying loans while the pool is exhausted
// (back-pressure, nothing is evicted), then sends a stop message; zf_sink reports.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <zeroflow/bench/driver.hpp>

#include "bench_node.hpp"

namespace zf = zeroflow::bench::zf;
using zeroflow::bench::now_ns;

namespace {

constexpr std::string_view kName = "zf_source";

int flood(zeroflow::Node& node, const zf::NodeArgs& args) {
    std::uint64_t retries = 0;
    const auto duration = static_cast<std::int64_t>(args.seconds * 1e9);
    const std::int64_t end = now_ns() + duration;
    std::uint64_t sent = 0;
    for (std::uint64_t i = 0;; ++i) {
        if ((i & 63U) == 0 && now_ns() >= end) {
            break;
        }
        auto out = zf::loan_retry(node, "data", args.size, retries);
        if (!out) {
            return zf::fail(kName, out.error().message());
        }
        zeroflow::bench::write_message(out->data(), static_cast<std::int64_t>(i), args.touch,
                                       static_cast<std::uint8_t>(i));
        if (auto ok = node.send(std::move(*out)); !ok) {
            return zf::fail(kName, ok.error().message());
        }
        ++sent;
    }
    auto stop = zf::loan_retry(node, "data", zeroflow::bench::kControlSize, retries);
    if (!stop) {
        return zf::fail(kName, stop.error().message());
    }
    zeroflow::bench::write_message(stop->data(), zeroflow::bench::kStopMessage,
                                   zeroflow::bench::Touch::transport, 0);
    if (auto ok = node.send(std::move(*stop)); !ok) {
        return zf::fail(kName, ok.error().message());
    }
    std::cout << "sent " << sent << " messages, " << retries << " loan retries (pool exhausted)"
              << std::endl;
    return 0;
}

int measure(zeroflow::Node& node, const zf::NodeArgs& args) {
    constexpr std::uint64_t kProbeFrom = 2;
    constexpr std::uint64_t kProbeTo = 12;
    std::uint64_t warmup = args.warmup;
    std::uint64_t samples = args.samples;
    std::vector<std::int64_t> latencies;
    latencies.reserve(samples);
    std::string note;
    std::uint64_t retries = 0;
    std::int64_t probe_start = 0;
    for (std::uint64_t i = 0; i < warmup + samples; ++i) {
        if (i == kProbeFrom) {
            probe_start = now_ns();
        } else if (i == kProbeTo && warmup >= kProbeTo) {
            zf::fit_budget(args,
                           static_cast<double>(now_ns() - probe_start) /
                               static_cast<double>(kProbeTo - kProbeFrom),
                           warmup, samples, note);
        }
        const std::int64_t t0 = now_ns();
        auto out = zf::loan_retry(node, "data", args.size, retries);
        if (!out) {
            return zf::fail(kName, out.error().message());
        }
        zeroflow::bench::write_message(out->data(), t0, args.touch, static_cast<std::uint8_t>(i));
        if (auto ok = node.send(std::move(*out)); !ok) {
            return zf::fail(kName, ok.error().message());
        }
        std::int64_t slowest = 0;
        for (std::uint32_t a = 0; a < args.acks; ++a) {
            zf::StreamEnd end;
            const auto ack = zf::next_input(node, end);
            if (!ack) {
                return zf::fail(kName, "missing acknowledgement: " + end.why);
            }
            if (ack->data.size() < sizeof(std::int64_t)) {
                return zf::fail(kName, "acknowledgement shorter than 8 bytes");
            }
            std::int64_t latency = 0;
            std::memcpy(&latency, ack->data.data(), sizeof latency);
            slowest = std::max(slowest, latency);
        }
        if (i >= warmup) {
            latencies.push_back(slowest);
        }
    }
    if (retries != 0) {
        note = zf::join_notes(std::move(note), std::to_string(retries) + " loan retries");
    }
    return zf::append_result(args.results, zf::latency_result(args, std::move(latencies), note))
               ? 0
               : 1;
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
    return args->pattern == "throughput" ? flood(*node, *args) : measure(*node, *args);
}
