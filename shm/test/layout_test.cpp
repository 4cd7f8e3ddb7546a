// Layout computation: alignment, size classes, determinism, and refusals with clear messages.
#include <gtest/gtest.h>

#include <zeroflow/shm/layout.hpp>

#include "test_support.hpp"

namespace zeroflow::shm {
namespace {

TEST(Layout, SizeClassesEndAtTheMaximumMessageSize) {
    auto spec = test::simple_spec(1, 10, 8ULL << 20);
    auto sut = compute_layout(spec);
    ASSERT_TRUE(sut.has_value()) << sut.error().message;
    const auto& classes = sut->outputs[0].classes;
    ASSERT_EQ(classes.size(), 5U);
    EXPECT_EQ(classes.front().capacity, 1024U);
    EXPECT_EQ(classes.back().capacity, 8ULL << 20);
    for (const auto& c : classes) {
        EXPECT_EQ(c.offset % kCacheLine, 0U);
        EXPECT_EQ(c.stride % kCacheLine, 0U);
        EXPECT_GE(c.stride, c.capacity + sizeof(ChunkHeader));
        EXPECT_EQ(c.count, default_chunks_per_class({10}));
    }
    EXPECT_EQ(sut->control_size % 4096, 0U);
    EXPECT_GE(sut->total_size,
              classes.back().offset + classes.back().stride * classes.back().count);
}

TEST(Layout, SmallMaximumGivesOneClass) {
    auto sut = compute_layout(test::simple_spec(1, 4, 100));
    ASSERT_TRUE(sut.has_value());
    ASSERT_EQ(sut->outputs[0].classes.size(), 1U);
    EXPECT_EQ(sut->outputs[0].classes[0].capacity, 128U);
}

TEST(Layout, SameSpecSameLayoutAndHash) {
    auto spec = test::simple_spec(3, 16);
    auto a = compute_layout(spec);
    auto b = compute_layout(spec);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->hash, b->hash);
    EXPECT_EQ(a->total_size, b->total_size);
    spec.connections[1].queue_size = 17;
    auto c = compute_layout(spec);
    ASSERT_TRUE(c);
    EXPECT_NE(a->hash, c->hash);
}

TEST(Layout, ReturnRingHoldsEveryChunkOfTheOutput) {
    auto sut = compute_layout(test::simple_spec(2, 100, 1 << 20, 50));
    ASSERT_TRUE(sut);
    for (const auto& c : sut->connections) {
        EXPECT_GE(c.return_capacity, sut->outputs[0].total_chunks);
        EXPECT_EQ(c.return_capacity & (c.return_capacity - 1), 0U);
    }
}

TEST(Layout, RefusesQueueSizeOutOfRange) {
    auto spec = test::simple_spec(1, 0);
    auto sut = compute_layout(spec);
    ASSERT_FALSE(sut);
    EXPECT_EQ(sut.error().code, ErrorCode::invalid_layout);
    EXPECT_NE(sut.error().message.find("queue_size"), std::string::npos);
    spec.connections[0].queue_size = kMaxQueueSize + 1;
    EXPECT_FALSE(compute_layout(spec));
}

TEST(Layout, RefusesFanOutBeyondTheLimit) {
    auto sut = compute_layout(test::simple_spec(kMaxFanOut + 1, 2));
    ASSERT_FALSE(sut);
    EXPECT_NE(sut.error().message.find("more than 64"), std::string::npos);
    EXPECT_TRUE(compute_layout(test::simple_spec(kMaxFanOut, 2)));
}

TEST(Layout, RefusesUnknownOutputOrNode) {
    auto spec = test::simple_spec(1, 4);
    spec.connections[0].receiver = 7;
    EXPECT_FALSE(compute_layout(spec));
    spec = test::simple_spec(1, 4);
    spec.outputs[0].owner = 9;
    EXPECT_FALSE(compute_layout(spec));
}

TEST(Layout, RefusesAbsurdPools) {
    auto spec = test::simple_spec(1, 1024, 4ULL << 30, 65536);
    auto sut = compute_layout(spec);
    ASSERT_FALSE(sut);
    EXPECT_NE(sut.error().message.find("1 TiB"), std::string::npos);
}

} // namespace
} // namespace zeroflow::shm
