// zf_relay: one stage of the chain-K point. Forwards every message of `in` on `data` in a
// newly loaned sample of the same size: with transport touch only the 8-byte stamp is copied
// (the payload is not read), with full touch every byte is copied (read and written).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include <zeroflow/bench/driver.hpp>

#include "bench_node.hpp"

namespace zf = zeroflow::bench::zf;

int main(int argc, char** argv) {
    constexpr std::string_view kName = "zf_relay";
    const auto args = zf::parse_args(argc, argv);
    if (!args) {
        return zf::fail(kName, args.error());
    }
    auto node = zf::connect(kName);
    if (!node) {
        return 1;
    }
    std::uint64_t retries = 0;
    for (;;) {
        zf::StreamEnd end;
        const auto in = zf::next_input(*node, end);
        if (!in) {
            return end.error ? zf::fail(kName, end.why) : 0; // upstream left: done
        }
        auto out = zf::loan_retry(*node, "data", in->data.size(), retries);
        if (!out) {
            return zf::fail(kName, out.error().message());
        }
        const std::size_t copy = args->touch == zeroflow::bench::Touch::full
                                     ? in->data.size()
                                     : std::min(in->data.size(), zeroflow::bench::kControlSize);
        std::memcpy(out->data().data(), in->data.data(), copy);
        if (auto ok = node->send(std::move(*out)); !ok) {
            return zf::fail(kName, ok.error().message());
        }
    } // `in` goes back after the forward is sent: it is off the latency path
}
