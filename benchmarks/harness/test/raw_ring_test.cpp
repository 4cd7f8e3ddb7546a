// The raw floor ring: push/pop/full/empty, and ordered delivery across two threads in busy
// and futex modes.
#include <cstdlib>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include <zeroflow/bench/raw_ring.hpp>

namespace zeroflow::bench::raw {
namespace {

struct Region {
    explicit Region(std::uint32_t capacity)
        : memory(static_cast<std::byte*>(std::aligned_alloc(kCacheLine, ring_bytes(capacity)))) {
        ring_init(memory, capacity);
    }
    ~Region() { std::free(memory); }
    Region(const Region&) = delete;
    Region& operator=(const Region&) = delete;
    std::byte* memory;
};

TEST(RawRing, CapacityRules) {
    EXPECT_FALSE(valid_capacity(0));
    EXPECT_FALSE(valid_capacity(1));
    EXPECT_TRUE(valid_capacity(2));
    EXPECT_FALSE(valid_capacity(12));
    EXPECT_TRUE(valid_capacity(1024));
    EXPECT_EQ(ring_bytes(4) % kCacheLine, 0U);
}

TEST(RawRing, EmptyThenFullThenEmpty) {
    Region region(4);
    Producer producer(region.memory, 4);
    Consumer sut(region.memory, 4);
    std::uint32_t value = 0;
    EXPECT_FALSE(sut.has_data());
    EXPECT_FALSE(sut.try_pop(value));
    for (std::uint32_t i = 0; i < 4; ++i) {
        EXPECT_TRUE(producer.try_push(10 + i));
    }
    EXPECT_FALSE(producer.has_space());
    EXPECT_FALSE(producer.try_push(99)) << "full ring must refuse";
    ASSERT_TRUE(sut.try_front(value));
    EXPECT_EQ(value, 10U);
    EXPECT_FALSE(producer.try_push(99)) << "front() does not free the slot";
    sut.pop(WaitMode::busy);
    EXPECT_TRUE(producer.try_push(14));
    for (std::uint32_t i = 1; i < 5; ++i) {
        ASSERT_TRUE(sut.try_pop(value));
        EXPECT_EQ(value, 10 + i);
    }
    EXPECT_FALSE(sut.try_pop(value));
}

TEST(RawRing, ProducerSeesWhatWasConsumed) {
    Region region(4);
    Producer sut(region.memory, 4);
    Consumer consumer(region.memory, 4);
    EXPECT_EQ(sut.consumed(), 0U);
    for (std::uint32_t i = 0; i < 3; ++i) {
        ASSERT_TRUE(sut.try_push(i));
    }
    std::uint32_t value = 0;
    ASSERT_TRUE(consumer.try_pop(value));
    ASSERT_TRUE(consumer.try_front(value));
    EXPECT_EQ(sut.consumed(), 1U) << "front() without pop() is still held";
    consumer.pop(WaitMode::busy);
    EXPECT_EQ(sut.consumed(), 2U);
}

TEST(RawRing, WrapsAroundManyTimes) {
    Region region(2);
    Producer producer(region.memory, 2);
    Consumer sut(region.memory, 2);
    std::uint32_t value = 0;
    for (std::uint32_t i = 0; i < 1000; ++i) {
        ASSERT_TRUE(producer.try_push(i));
        ASSERT_TRUE(sut.try_pop(value));
        ASSERT_EQ(value, i);
    }
}

void transfer_in_order(WaitMode mode, std::uint32_t count) {
    Region region(8);
    std::thread producer_thread([&] {
        Producer producer(region.memory, 8);
        for (std::uint32_t i = 0; i < count; ++i) {
            producer.push(i, mode);
        }
    });
    Consumer sut(region.memory, 8);
    for (std::uint32_t i = 0; i < count; ++i) {
        const std::uint32_t value = sut.front(mode);
        ASSERT_EQ(value, i);
        sut.pop(mode);
    }
    producer_thread.join();
    std::uint32_t value = 0;
    EXPECT_FALSE(sut.try_pop(value));
}

TEST(RawRing, TwoThreadsBusyKeepOrder) {
    transfer_in_order(WaitMode::busy, 200'000);
}

TEST(RawRing, TwoThreadsFutexKeepOrder) {
    transfer_in_order(WaitMode::futex, 50'000);
}

} // namespace
} // namespace zeroflow::bench::raw
