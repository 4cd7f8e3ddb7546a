// A scribbling peer: random bytes over the rings, their indices and the chunk headers of a live
// segment while a sender and a receiver process stream. Nobody crashes or hangs; errors count.
#include <cstdio>
#include <cstring>
#include <random>

#include "fixture.hpp"

namespace zeroflow::shm::mp {
namespace {

using namespace std::chrono_literals;

class Scribbler {
public:
    Scribbler(const Segment& segment, std::uint64_t seed) : segment_(segment), rng_(seed) {
        const auto& layout = segment.layout();
        conn_ = layout.connections[0];
        out_ = layout.outputs[0];
    }

    /// One random write; returns what it hit (for the tally).
    int strike() {
        auto& block = segment_.at<ConnectionBlock>(conn_.block_offset);
        const auto near = [this](std::uint64_t value) {
            return value + (rng_() % 64) - 32; // plausible: close to the real index
        };
        const int target = static_cast<int>(rng_() % 6);
        switch (target) {
        case 0: { // a submission slot: garbage, or a plausible token for a random chunk
            auto* slots = &segment_.at<std::atomic<std::uint64_t>>(conn_.submit_slots);
            const auto token = rng_() % 2 == 0 ? rng_()
                                               : (near(block.submit_head.load()) << kChunkBits) |
                                                     (rng_() % (out_.total_chunks + 2));
            slots[rng_() % conn_.queue_size].store(token, std::memory_order_relaxed);
            break;
        }
        case 1: { // a return slot
            auto* slots = &segment_.at<std::atomic<std::uint32_t>>(conn_.return_slots);
            const auto value = rng_() % 2 == 0
                                   ? static_cast<std::uint32_t>(rng_())
                                   : static_cast<std::uint32_t>(rng_() % (out_.total_chunks + 2));
            slots[rng_() % conn_.return_capacity].store(value, std::memory_order_relaxed);
            break;
        }
        case 2:
            block.submit_head.store(rng_() % 2 == 0 ? rng_() : near(block.submit_head.load()),
                                    std::memory_order_relaxed);
            break;
        case 3:
            block.return_head.store(rng_() % 2 == 0 ? rng_() : near(block.return_head.load()),
                                    std::memory_order_relaxed);
            break;
        case 4:
            block.return_tail.store(rng_() % 2 == 0 ? rng_() : near(block.return_tail.load()),
                                    std::memory_order_relaxed);
            break;
        default: { // a chunk header: random bytes over all of it
            const auto& cls = out_.classes[0];
            const auto chunk = rng_() % cls.count;
            auto* header = segment_.base() + cls.offset + chunk * cls.stride;
            for (std::size_t i = 0; i < sizeof(ChunkHeader); i += 8) {
                const auto value = rng_();
                std::memcpy(header + i, &value, 8);
            }
            break;
        }
        }
        return target;
    }

private:
    const Segment& segment_;
    std::mt19937_64 rng_;
    ConnectionLayout conn_;
    OutputLayout out_;
};

TEST_F(ShmProcesses, ScribbledRingsIndicesAndHeadersAreSurvivedAndCounted) {
    const auto rounds = scaled(4, 2);
    const auto duration = std::chrono::milliseconds(scaled(1500, 1000));
    for (std::uint64_t round = 0; round < rounds; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        const auto params = Params::fresh(8, 0, {16});
        auto& segment = create(params);
        const Control control(segment);
        const auto spec = "--spec=" + params.encode();
        Child rx("recv", {spec, "--node=1", round % 2 == 0 ? "--mode=futex" : "--mode=busy",
                          "--garbage=1", "--deadline-ms=60000"});
        ASSERT_TRUE(rx.wait_ready(30s));
        Child tx("send", {spec, "--count=0", "--close=1"});
        ASSERT_TRUE(tx.wait_ready(30s));
        ASSERT_TRUE(eventually([&] { return connection(segment, 0).return_head.load() > 0; }, 20s));

        Scribbler scribbler(segment, std::random_device{}());
        std::array<std::uint64_t, 6> hits{};
        const auto until = std::chrono::steady_clock::now() + duration;
        while (std::chrono::steady_clock::now() < until) {
            ++hits[static_cast<std::size_t>(scribbler.strike())];
            std::this_thread::sleep_for(20us);
        }

        // Bounded time: the sender stops and closes when asked, the receiver then ends.
        control.request_stop(0);
        const auto tx_status = tx.wait(30s);
        ASSERT_TRUE(exited_ok(tx_status)) << "sender " << describe(tx_status);
        control.request_stop(1); // in case its view of the ring is beyond repair
        const auto rx_status = rx.wait(30s);
        ASSERT_TRUE(exited_ok(rx_status)) << "receiver " << describe(rx_status);
        auto sent = tx.results();
        auto got = rx.results();
        EXPECT_EQ(sent["failures"], 0U);
        EXPECT_EQ(got["timed_out"], 0U);
        const auto errors = sent["errors"] + got["errors"];
        EXPECT_GT(errors + got["mismatches"] + got["order_errors"], 0U)
            << "scribbling went unnoticed";
        std::printf(
            "scribbles %llu (slots %llu, returns %llu, heads %llu/%llu/%llu, headers "
            "%llu): sent %llu, delivered %llu, sender errors %llu, receiver errors %llu, "
            "mismatches %llu, order errors %llu\n",
            static_cast<unsigned long long>(hits[0] + hits[1] + hits[2] + hits[3] + hits[4] +
                                            hits[5]),
            static_cast<unsigned long long>(hits[0]), static_cast<unsigned long long>(hits[1]),
            static_cast<unsigned long long>(hits[2]), static_cast<unsigned long long>(hits[3]),
            static_cast<unsigned long long>(hits[4]), static_cast<unsigned long long>(hits[5]),
            static_cast<unsigned long long>(sent["sent"]),
            static_cast<unsigned long long>(got["delivered"]),
            static_cast<unsigned long long>(sent["errors"]),
            static_cast<unsigned long long>(got["errors"]),
            static_cast<unsigned long long>(got["mismatches"]),
            static_cast<unsigned long long>(got["order_errors"]));
        destroy(segment);
    }
}

} // namespace
} // namespace zeroflow::shm::mp
