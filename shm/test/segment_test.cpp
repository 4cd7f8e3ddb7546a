// Segment creation, validation on open, permissions and removal.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <zeroflow/shm/segment.hpp>

#include "test_support.hpp"

namespace zeroflow::shm {
namespace {

TEST(Segment, CreatedWithMode0600AndRemovedOnDestroy) {
    auto spec = test::simple_spec(1, 4);
    std::string name;
    {
        auto sut = Segment::create(spec);
        ASSERT_TRUE(sut) << sut.error().message;
        name = sut->name();
        EXPECT_NE(name.find(std::to_string(::getuid())), std::string::npos);
        struct stat st {};
        ASSERT_EQ(::fstat(sut->fd(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0600U);
        EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), sut->layout().total_size);
        EXPECT_TRUE(test::shm_object_exists(name));
    }
    EXPECT_FALSE(test::shm_object_exists(name));
}

TEST(Segment, IdlePoolsCostNoMemory) {
    auto spec = test::simple_spec(1, 64, 64ULL << 20);
    auto sut = Segment::create(spec);
    ASSERT_TRUE(sut);
    struct stat st {};
    ASSERT_EQ(::fstat(sut->fd(), &st), 0);
    // Gigabytes of address space, only the control area's pages allocated.
    EXPECT_GT(sut->layout().total_size, 1ULL << 30);
    EXPECT_LE(static_cast<std::uint64_t>(st.st_blocks) * 512, sut->layout().control_size + 65536);
}

TEST(Segment, OpenValidatesEverything) {
    auto spec = test::simple_spec(1, 4);
    auto created = Segment::create(spec);
    ASSERT_TRUE(created);
    auto opened = Segment::open(spec);
    ASSERT_TRUE(opened) << opened.error().message;
    EXPECT_EQ(opened->layout().total_size, created->layout().total_size);

    auto other_generation = spec;
    other_generation.generation = 2;
    auto r = Segment::open(other_generation);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::segment_mismatch);
    EXPECT_NE(r.error().message.find("generation"), std::string::npos);

    auto other_layout = spec;
    other_layout.connections[0].queue_size = 5;
    r = Segment::open(other_layout);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().code == ErrorCode::segment_mismatch ||
                r.error().code == ErrorCode::segment_truncated);
}

TEST(Segment, OpenOfMissingSegmentSaysSo) {
    auto r = Segment::open(test::simple_spec(1, 4));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::segment_missing);
    EXPECT_NE(r.error().message.find("not running"), std::string::npos);
}

TEST(Segment, CreateTwiceFails) {
    auto spec = test::simple_spec(1, 4);
    auto a = Segment::create(spec);
    ASSERT_TRUE(a);
    auto b = Segment::create(spec);
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().code, ErrorCode::segment_exists);
}

TEST(Segment, ScribbledHeaderIsRefused) {
    auto spec = test::simple_spec(1, 4);
    auto a = Segment::create(spec);
    ASSERT_TRUE(a);
    a->at<SegmentHeader>(0).magic = 0xdeadbeef;
    auto r = Segment::open(spec);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::segment_mismatch);
    EXPECT_NE(r.error().message.find("magic"), std::string::npos);
}

TEST(Segment, TruncatedObjectIsRefused) {
    auto spec = test::simple_spec(1, 4);
    auto a = Segment::create(spec);
    ASSERT_TRUE(a);
    ASSERT_EQ(::ftruncate(a->fd(), 4096), 0);
    auto r = Segment::open(spec);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::segment_truncated);
}

} // namespace
} // namespace zeroflow::shm
