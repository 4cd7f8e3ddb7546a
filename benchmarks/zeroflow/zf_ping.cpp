// zf_ping: the measuring side of the ping-pong point. Sends a message (timestamp in its first
// 8 bytes; every byte written with full touch) on `ping`, waits for zf_pong's echo on `pong`,
// and records one-way latency = round trip / 2. After warm-up + samples it appends one JSON
// line to the results file and exits, which ends the dataflow.
#include <cstdint>
#include <string>
#include <vector>

#include <zeroflow/bench/driver.hpp>

#include "bench_node.hpp"

namespace zf = zeroflow::bench::zf;
using zeroflow::bench::now_ns;

int main(int argc, char** argv) {
    constexpr std::string_view kName = "zf_ping";
    const auto args = zf::parse_args(argc, argv);
    if (!args) {
        return zf::fail(kName, args.error());
    }
    auto node = zf::connect(kName);
    if (!node) {
        return 1;
    }
    // Same loop as the harness's run_parent (pingpong), over a zeroflow node: the timestamps
    // enclose loan, write, send, the echo's receive, read and release.
    constexpr std::uint64_t kProbeFrom = 2; // the first iterations pay page faults
    constexpr std::uint64_t kProbeTo = 12;
    std::uint64_t warmup = args->warmup;
    std::uint64_t samples = args->samples;
    std::vector<std::int64_t> latencies;
    latencies.reserve(samples);
    std::string note;
    std::uint64_t retries = 0;
    std::int64_t probe_start = 0;
    for (std::uint64_t i = 0; i < warmup + samples; ++i) {
        if (i == kProbeFrom) {
            probe_start = now_ns();
        } else if (i == kProbeTo && warmup >= kProbeTo) {
            zf::fit_budget(*args,
                           static_cast<double>(now_ns() - probe_start) /
                               static_cast<double>(kProbeTo - kProbeFrom),
                           warmup, samples, note);
        }
        const std::int64_t t0 = now_ns();
        auto sample = zf::loan_retry(*node, "ping", args->size, retries);
        if (!sample) {
            return zf::fail(kName, sample.error().message());
        }
        zeroflow::bench::write_message(sample->data(), t0, args->touch,
                                       static_cast<std::uint8_t>(i));
        if (auto sent = node->send(std::move(*sample)); !sent) {
            return zf::fail(kName, sent.error().message());
        }
        {
            zf::StreamEnd end;
            const auto echo = zf::next_input(*node, end);
            if (!echo) {
                return zf::fail(kName, "no echo from pong: " + end.why);
            }
            (void)zeroflow::bench::read_message(echo->data, args->touch);
        } // the echo's chunk goes back here, inside the timed span (as the peers' release())
        const std::int64_t t1 = now_ns();
        if (i >= warmup) {
            latencies.push_back((t1 - t0 + 1) / 2);
        }
    }
    if (retries != 0) {
        note = zf::join_notes(std::move(note), std::to_string(retries) + " loan retries");
    }
    return zf::append_result(args->results, zf::latency_result(*args, std::move(latencies), note))
               ? 0
               : 1;
}
