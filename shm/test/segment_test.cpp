// Segment creation, sealing, validation on open, and what is left once every handle is gone.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zeroflow/shm/segment.hpp>

#include "test_support.hpp"

namespace zeroflow::shm {
namespace {

int dup_fd(const Segment& s) {
    return ::fcntl(s.fd(), F_DUPFD_CLOEXEC, 0);
}

TEST(Segment, IsASealedMemfdLeftNowhereOnceClosed) {
    auto spec = test::simple_spec(1, 4);
    std::string name;
    {
        auto sut = Segment::create(spec);
        ASSERT_TRUE(sut) << sut.error().message;
        name = sut->name();
        EXPECT_EQ(name.rfind("zeroflow-", 0), 0U);
        struct stat st {};
        ASSERT_EQ(::fstat(sut->fd(), &st), 0);
        EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), sut->layout().total_size);
        EXPECT_EQ(::fcntl(sut->fd(), F_GET_SEALS) & required_seals(), required_seals());
        EXPECT_TRUE(test::segment_held(name));
        EXPECT_FALSE(std::filesystem::exists("/dev/shm/" + name));
    }
    EXPECT_FALSE(test::segment_held(name));
}

TEST(Segment, NoOneCanShrinkGrowOrUnsealIt) {
    auto spec = test::simple_spec(1, 4);
    auto sut = Segment::create(spec);
    ASSERT_TRUE(sut);
    // Through another open file description too, as a process of the same user would.
    const auto path = "/proc/self/fd/" + std::to_string(sut->fd());
    const int other = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(other, 0);
    const auto size = static_cast<off_t>(sut->layout().total_size);
    EXPECT_NE(::ftruncate(other, 4096), 0);
    EXPECT_EQ(errno, EPERM);
    EXPECT_NE(::ftruncate(other, size * 2), 0);
    EXPECT_NE(::fallocate(other, 0, size, 4096), 0);
    EXPECT_NE(::fcntl(other, F_ADD_SEALS, F_SEAL_WRITE), 0);
    struct stat st {};
    ASSERT_EQ(::fstat(other, &st), 0);
    EXPECT_EQ(st.st_size, size);
    ::close(other);
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

TEST(Segment, TheDaemonMappingTakesOnlyTheControlAreaAndTimerPools) {
    auto spec = test::simple_spec(1, 64, 64ULL << 20);
    spec.outputs.push_back(OutputSpec{kDaemonOwner, "zeroflow/timer/millis/1", 64, 0});
    spec.connections.push_back(ConnectionSpec{1, 1, 4, "tick"});
    auto sut = Segment::create(spec, Mapping::daemon);
    ASSERT_TRUE(sut) << sut.error().message;
    EXPECT_EQ(sut->mapped_size(), sut->layout().daemon_size);
    EXPECT_LT(sut->layout().daemon_size, 1U << 20);
    EXPECT_GT(sut->layout().total_size, 1ULL << 30);
    const auto& timer = sut->layout().outputs[1];
    const auto& last = timer.classes.back();
    EXPECT_LE(last.offset + std::uint64_t{last.stride} * last.count, sut->layout().daemon_size);
    // A node maps it all from the descriptor.
    auto node = Segment::open(spec, dup_fd(*sut));
    ASSERT_TRUE(node) << node.error().message;
    EXPECT_EQ(node->mapped_size(), node->layout().total_size);
}

TEST(Segment, OpenValidatesEverything) {
    auto spec = test::simple_spec(1, 4);
    auto created = Segment::create(spec);
    ASSERT_TRUE(created);
    auto opened = Segment::open(spec, dup_fd(*created));
    ASSERT_TRUE(opened) << opened.error().message;
    EXPECT_EQ(opened->layout().total_size, created->layout().total_size);

    auto other_generation = spec;
    other_generation.generation = 2;
    auto r = Segment::open(other_generation, dup_fd(*created));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::segment_mismatch);
    EXPECT_NE(r.error().message.find("generation"), std::string::npos);

    auto other_layout = spec;
    other_layout.connections[0].queue_size = 5;
    r = Segment::open(other_layout, dup_fd(*created));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().code == ErrorCode::segment_mismatch ||
                r.error().code == ErrorCode::segment_truncated);
}

TEST(Segment, OpenWithoutADescriptorSaysSo) {
    auto r = Segment::open(test::simple_spec(1, 4), -1);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::segment_missing);
    EXPECT_NE(r.error().message.find("not running"), std::string::npos);
}

TEST(Segment, OpenHeldByFindsAnotherProcessSegment) {
    auto spec = test::simple_spec(1, 4);
    auto created = Segment::create(spec);
    ASSERT_TRUE(created);
    auto r = Segment::open_held_by(::getpid(), spec);
    ASSERT_TRUE(r) << r.error().message;
    auto missing = Segment::open_held_by(::getpid(), test::simple_spec(1, 4));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::segment_missing);
}

TEST(Segment, UnsealedDescriptorsAreRefused) {
    auto spec = test::simple_spec(1, 4);
    auto created = Segment::create(spec);
    ASSERT_TRUE(created);
    // A look-alike memfd with the right bytes but no seals: refused before it is mapped.
    const int fake = ::memfd_create("zeroflow-fake", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    ASSERT_GE(fake, 0);
    const auto size = created->layout().total_size;
    ASSERT_EQ(::ftruncate(fake, static_cast<off_t>(size)), 0);
    ASSERT_EQ(::pwrite(fake, created->base(), 4096, 0), 4096);
    auto r = Segment::open(spec, fake);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::segment_unsealed);
    // A plain file cannot carry seals at all.
    char tmpl[] = "/tmp/zf-seg-XXXXXX";
    const int file = ::mkstemp(tmpl);
    ASSERT_GE(file, 0);
    ::unlink(tmpl);
    r = Segment::open(spec, file);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::segment_unsealed);
}

TEST(Segment, ScribbledHeaderIsRefused) {
    auto spec = test::simple_spec(1, 4);
    auto a = Segment::create(spec);
    ASSERT_TRUE(a);
    a->at<SegmentHeader>(0).magic = 0xdeadbeef;
    auto r = Segment::open(spec, dup_fd(*a));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::segment_mismatch);
    EXPECT_NE(r.error().message.find("magic"), std::string::npos);
}

} // namespace
} // namespace zeroflow::shm
