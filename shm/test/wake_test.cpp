// How sleeping receivers are woken: a timer (daemon-owned output) wakes every receiver asleep on
// it with one bump of its own wake word, where futex_waitv exists; node outputs wake the node's
// events word as before; and a sleep with a timeout still ends on time.
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include <zeroflow/shm/futex.hpp>
#include <zeroflow/shm/receiver.hpp>
#include <zeroflow/shm/sender.hpp>

#include "test_support.hpp"

namespace zeroflow::shm {
namespace {

using namespace std::chrono_literals;

/// Where futex_waitv exists a receiver with a timer input sleeps on everything; elsewhere (old
/// kernels, qemu-user) on its events word only, and the timer wakes it there.
std::uint32_t expected_sleep() {
    return futex_wait_any_supported() ? kSleepingOnAll : kSleepingOnEvents;
}

/// Waits (at most 10 s) until node `n` took `taken` messages and sleeps in wait() again, the
/// way `how` says.
bool asleep(const Segment& segment, std::uint32_t n, const std::atomic<std::uint64_t>& count,
            std::uint64_t taken, std::uint32_t how) {
    auto& node = segment.at<NodeBlock>(segment.layout().node_blocks[n]);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (count.load() < taken || node.sleeping.load(std::memory_order_acquire) != how) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(20us);
    }
    return true;
}

void send_value(OutputSender& sender, std::uint64_t value) {
    auto loan = sender.loan(8);
    ASSERT_TRUE(loan) << loan.error().message;
    std::memcpy(loan->data, &value, sizeof(value));
    EXPECT_TRUE(sender.send(*loan, 8));
}

/// Takes `count` messages on `receiver`, sleeping in between (no busy phase); records each
/// value, and counts them in `taken`.
void take(NodeReceiver& receiver, std::uint64_t count, std::vector<std::uint64_t>& values,
          std::atomic<std::uint64_t>& taken) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (values.size() < count && std::chrono::steady_clock::now() < deadline) {
        if (auto d = receiver.wait(1s, 0ns); d && d->kind == Delivery::Kind::message) {
            std::uint64_t v = 0;
            std::memcpy(&v, d->data, sizeof(v));
            values.push_back(v);
            receiver.release(d->input, d->chunk);
            taken.fetch_add(1);
        }
    }
}

TEST(Wake, ATimerWakesEverySleepingReceiverOnItsOwnWord) {
    constexpr std::uint32_t kReceivers = 4;
    constexpr std::uint64_t kTicks = 300;
    LayoutSpec spec;
    spec.uuid = test::random_uuid();
    spec.generation = 1;
    spec.node_count = kReceivers;
    spec.outputs.push_back(OutputSpec{kDaemonOwner, "zeroflow/timer/millis/1", 64, 0});
    for (std::uint32_t r = 0; r < kReceivers; ++r) {
        spec.connections.push_back(ConnectionSpec{0, r, 8, "tick"});
    }
    auto segment = Segment::create(spec);
    ASSERT_TRUE(segment) << segment.error().message;
    auto timer = OutputSender::attach(*segment, 0);
    ASSERT_TRUE(timer);
    std::vector<NodeReceiver> receivers;
    for (std::uint32_t r = 0; r < kReceivers; ++r) {
        auto receiver = NodeReceiver::attach(*segment, r);
        ASSERT_TRUE(receiver);
        receivers.push_back(std::move(*receiver));
    }
    std::vector<std::vector<std::uint64_t>> got(kReceivers);
    std::array<std::atomic<std::uint64_t>, kReceivers> taken{};
    std::vector<std::thread> threads;
    for (std::uint32_t r = 0; r < kReceivers; ++r) {
        threads.emplace_back([&, r] { take(receivers[r], kTicks, got[r], taken[r]); });
    }
    const auto how = expected_sleep();
    // Each tick is sent while all four sleep (the threads end by their own deadline otherwise).
    for (std::uint64_t tick = 1; tick <= kTicks && !HasFailure(); ++tick) {
        for (std::uint32_t r = 0; r < kReceivers; ++r) {
            EXPECT_TRUE(asleep(*segment, r, taken[r], tick - 1, how))
                << "receiver " << r << " before tick " << tick;
        }
        send_value(*timer, tick);
    }
    for (auto& t : threads) {
        t.join();
    }
    std::vector<std::uint64_t> all(kTicks);
    for (std::uint64_t i = 0; i < kTicks; ++i) {
        all[i] = i + 1;
    }
    for (std::uint32_t r = 0; r < kReceivers; ++r) {
        EXPECT_EQ(got[r], all) << "receiver " << r;
    }
    const auto& wake = segment->at<OutputBlock>(segment->layout().outputs[0].block_offset).wake;
    for (std::uint32_t r = 0; r < kReceivers; ++r) {
        const auto& node = segment->at<NodeBlock>(segment->layout().node_blocks[r]);
        if (how == kSleepingOnAll) {
            // One bump of the timer's word per tick served all four; no node word was touched.
            EXPECT_EQ(node.events.load(), 0U) << "receiver " << r;
        } else {
            EXPECT_EQ(node.events.load(), kTicks) << "receiver " << r;
        }
    }
    EXPECT_EQ(wake.load(), how == kSleepingOnAll ? kTicks : 0U);
}

TEST(Wake, ANodeAsleepOnATimerAndANodeOutputWakesForBoth) {
    constexpr std::uint64_t kRounds = 50;
    LayoutSpec spec;
    spec.uuid = test::random_uuid();
    spec.generation = 1;
    spec.node_count = 2; // node 0 sends "src/out"; node 1 reads it and a timer
    spec.outputs.push_back(OutputSpec{0, "src/out", 64, 0});
    spec.outputs.push_back(OutputSpec{kDaemonOwner, "zeroflow/timer/millis/5", 64, 0});
    spec.connections.push_back(ConnectionSpec{0, 1, 8, "data"});
    spec.connections.push_back(ConnectionSpec{1, 1, 8, "tick"});
    auto segment = Segment::create(spec);
    ASSERT_TRUE(segment) << segment.error().message;
    auto node_output = OutputSender::attach(*segment, 0);
    auto timer = OutputSender::attach(*segment, 1);
    auto receiver = NodeReceiver::attach(*segment, 1);
    ASSERT_TRUE(node_output && timer && receiver);
    std::vector<std::uint64_t> got;
    std::atomic<std::uint64_t> taken{0};
    std::thread consumer([&] { take(*receiver, 2 * kRounds, got, taken); });
    const auto how = expected_sleep();
    std::vector<std::uint64_t> sent;
    for (std::uint64_t i = 0; i < 2 * kRounds && !HasFailure(); ++i) {
        EXPECT_TRUE(asleep(*segment, 1, taken, i, how)) << "before message " << i;
        send_value(i % 2 == 0 ? *node_output : *timer, i);
        sent.push_back(i);
    }
    consumer.join();
    EXPECT_EQ(got, sent);
    const auto& node = segment->at<NodeBlock>(segment->layout().node_blocks[1]);
    const auto& wake = segment->at<OutputBlock>(segment->layout().outputs[1].block_offset).wake;
    EXPECT_EQ(node.events.load(), how == kSleepingOnAll ? kRounds : 2 * kRounds);
    EXPECT_EQ(wake.load(), how == kSleepingOnAll ? kRounds : 0U);
}

TEST(Wake, AReceiverOnATimerSleepsUntilItsTimeoutWhenNothingComes) {
    LayoutSpec spec;
    spec.uuid = test::random_uuid();
    spec.generation = 1;
    spec.node_count = 1;
    spec.outputs.push_back(OutputSpec{kDaemonOwner, "zeroflow/timer/secs/60", 64, 0});
    spec.connections.push_back(ConnectionSpec{0, 0, 8, "tick"});
    auto segment = Segment::create(spec);
    ASSERT_TRUE(segment) << segment.error().message;
    auto receiver = NodeReceiver::attach(*segment, 0);
    ASSERT_TRUE(receiver);
    for (int i = 0; i < 3; ++i) {
        const auto start = std::chrono::steady_clock::now();
        const auto d = receiver->wait(40ms, 0ns);
        const auto took = std::chrono::steady_clock::now() - start;
        // An early return without an event is allowed (callers loop), but not a habit of it.
        if (!d && took < 40ms) {
            continue;
        }
        EXPECT_FALSE(d);
        EXPECT_GE(took, 40ms);
        EXPECT_LT(took, 2s);
        return;
    }
    FAIL() << "wait(40ms) returned early three times in a row without an event";
}

} // namespace
} // namespace zeroflow::shm
