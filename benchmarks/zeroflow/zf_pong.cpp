// zf_pong: echoes every message of `ping` back on `pong` with the same size and header (full
// touch: reads every byte and writes every byte of the reply). Ends when zf_ping leaves.
#include <cstdint>
#include <string>

#include <zeroflow/bench/driver.hpp>

#include "bench_node.hpp"

namespace zf = zeroflow::bench::zf;

int main(int argc, char** argv) {
    constexpr std::string_view kName = "zf_pong";
    const auto args = zf::parse_args(argc, argv);
    if (!args) {
        return zf::fail(kName, args.error());
    }
    auto node = zf::connect(kName);
    if (!node) {
        return 1;
    }
    std::uint64_t retries = 0;
    for (std::uint64_t i = 0;; ++i) {
        std::int64_t header = 0;
        std::size_t size = 0;
        {
            zf::StreamEnd end;
            const auto in = zf::next_input(*node, end);
            if (!in) {
                return end.error ? zf::fail(kName, end.why) : 0; // ping left: done
            }
            header = zeroflow::bench::read_message(in->data, args->touch);
            size = in->data.size();
        } // released before the reply is loaned, as the peers' run_child does
        auto reply = zf::loan_retry(*node, "pong", size, retries);
        if (!reply) {
            return zf::fail(kName, reply.error().message());
        }
        zeroflow::bench::write_message(reply->data(), header, args->touch,
                                       static_cast<std::uint8_t>(i));
        if (auto sent = node->send(std::move(*reply)); !sent) {
            return zf::fail(kName, sent.error().message());
        }
    }
}
