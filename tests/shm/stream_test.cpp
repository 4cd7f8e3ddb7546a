// Streaming between two (or more) processes: no loss when the queue outsizes the pool (the pool
// running dry is the back-pressure), and exact drop counts when queues are too small.
#include <cstdio>

#include "fixture.hpp"

namespace zeroflow::shm::mp {
namespace {

using namespace std::chrono_literals;

std::string arg(const char* key, std::uint64_t value) {
    return std::string(key) + "=" + std::to_string(value);
}

void stream_without_loss(ShmProcesses& /*unused*/, Segment& segment, const Params& params,
                         const char* mode) {
    const auto n = scaled(10'000'000, 500'000);
    const auto spec = "--spec=" + params.encode();
    Child rx("recv", {spec, "--node=1", std::string("--mode=") + mode, arg("--expect", n),
                      "--deadline-ms=280000"});
    ASSERT_TRUE(rx.wait_ready(30s));
    const auto start = monotonic_ns();
    Child tx("send", {spec, arg("--count", n), "--close=1"});
    const auto tx_status = tx.wait(290s);
    const auto rx_status = rx.wait(290s);
    const auto seconds = static_cast<double>(monotonic_ns() - start) / 1e9;
    ASSERT_TRUE(exited_ok(tx_status)) << "sender " << describe(tx_status);
    ASSERT_TRUE(exited_ok(rx_status)) << "receiver " << describe(rx_status);
    auto sent = tx.results();
    auto got = rx.results();
    EXPECT_EQ(sent["sent"], n);
    EXPECT_EQ(sent["failures"], 0U);
    EXPECT_EQ(sent["errors"], 0U);
    EXPECT_EQ(got["delivered"], n);
    EXPECT_EQ(got["last"], n);
    EXPECT_EQ(got["order_errors"], 0U) << "a sequence number was skipped or repeated";
    EXPECT_EQ(got["mismatches"], 0U) << "a payload did not match its sequence number";
    EXPECT_EQ(got["dropped"], 0U);
    EXPECT_EQ(got["errors"], 0U);
    EXPECT_EQ(got["closed"], 1U) << "no InputClosed after the sender closed";
    EXPECT_EQ(got["timed_out"], 0U);
    EXPECT_EQ(ShmProcesses::connection(segment, 0).dropped.load(), 0U);
    std::printf("%llu messages in %.2f s (%.2f M msg/s), %llu loans met an exhausted pool\n",
                static_cast<unsigned long long>(n), seconds, static_cast<double>(n) / seconds / 1e6,
                static_cast<unsigned long long>(sent["exhausted"]));
}

// A queue of 1024 and a pool of 256 chunks: the sender can never lap the receiver, so every
// message must arrive, in order, and the sender waits on pool_exhausted instead.
TEST_F(ShmProcesses, TenMillionMessagesArriveInOrderToABusyPollingReceiver) {
    const auto params = Params::fresh(8, 256, {1024});
    stream_without_loss(*this, create(params), params, "busy");
}

TEST_F(ShmProcesses, TenMillionMessagesArriveInOrderToAFutexSleepingReceiver) {
    const auto params = Params::fresh(8, 256, {1024});
    stream_without_loss(*this, create(params), params, "futex");
}

// Three receivers with queues of 4, 1 and 64, two of them slow: each one's delivered + dropped
// equals what was sent once InputClosed arrived, and the drop count it published agrees.
TEST_F(ShmProcesses, SmallQueuesDropExactlyWhatWasNotDelivered) {
    const auto n = scaled(200'000, 20'000);
    const auto params = Params::fresh(8, 0, {4, 1, 64});
    auto& segment = create(params);
    const auto spec = "--spec=" + params.encode();
    std::vector<Child> receivers;
    const char* slow[] = {"--slow-ns=2000", "--slow-ns=5000", "--slow-ns=0"};
    for (std::uint32_t r = 0; r < 3; ++r) {
        receivers.emplace_back("recv",
                               std::vector<std::string>{spec, arg("--node", r + 1),
                                                        r == 2 ? "--mode=busy" : "--mode=futex",
                                                        slow[r], "--deadline-ms=250000"});
        ASSERT_TRUE(receivers.back().wait_ready(30s));
    }
    Child tx("send", {spec, arg("--count", n), "--close=1"});
    const auto tx_status = tx.wait(260s);
    ASSERT_TRUE(exited_ok(tx_status)) << "sender " << describe(tx_status);
    auto sent = tx.results();
    EXPECT_EQ(sent["sent"], n);
    EXPECT_EQ(sent["exhausted"], 0U) << "the pool must outlast full queues: the sender never waits";
    EXPECT_EQ(sent["failures"], 0U);
    for (std::uint32_t r = 0; r < 3; ++r) {
        const auto status = receivers[r].wait(260s);
        ASSERT_TRUE(exited_ok(status)) << "receiver " << r << " " << describe(status);
        auto got = receivers[r].results();
        SCOPED_TRACE("receiver with a queue of " + std::to_string(params.queues[r]));
        EXPECT_EQ(got["closed"], 1U);
        EXPECT_EQ(got["delivered"] + got["dropped"], n);
        EXPECT_EQ(connection(segment, r).dropped.load(), got["dropped"]);
        EXPECT_EQ(got["order_errors"], 0U);
        EXPECT_EQ(got["mismatches"], 0U);
        EXPECT_EQ(got["errors"], 0U);
        EXPECT_EQ(got["last"], n) << "the newest message is never dropped";
        if (r == 1) {
            EXPECT_GT(got["dropped"], 0U) << "a queue of one behind a slow receiver must drop";
        }
        std::printf("queue %u: delivered %llu, dropped %llu\n", params.queues[r],
                    static_cast<unsigned long long>(got["delivered"]),
                    static_cast<unsigned long long>(got["dropped"]));
    }
}

} // namespace
} // namespace zeroflow::shm::mp
