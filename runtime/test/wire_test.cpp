// The layout spec survives the trip through JSON, and malformed specs are refused, not trusted.
#include <gtest/gtest.h>

#include <zeroflow/runtime/wire.hpp>

namespace zeroflow::wire {
namespace {

TEST(Wire, UuidRoundTripsAndIsVersion4) {
    const auto sut = random_uuid();
    const auto text = to_string(sut);
    ASSERT_EQ(text.size(), 36U);
    EXPECT_EQ(text[14], '4');
    EXPECT_EQ(parse_uuid(text), sut);
    EXPECT_FALSE(parse_uuid("not-a-uuid"));
    EXPECT_FALSE(parse_uuid("zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"));
}

TEST(Wire, LayoutSpecRoundTrips) {
    shm::LayoutSpec spec;
    spec.uuid = random_uuid();
    spec.generation = 7;
    spec.node_count = 2;
    spec.outputs.push_back({0, "cam/image", 4 << 20, 12});
    spec.outputs.push_back({shm::kDaemonOwner, "dora/timer/millis/10", 64, 0});
    spec.connections.push_back({0, 1, 5, "image"});
    spec.connections.push_back({1, 0, 1, "tick"});
    auto sut = layout_spec_from_json(to_json(spec));
    ASSERT_TRUE(sut) << sut.error();
    auto a = shm::compute_layout(spec);
    auto b = shm::compute_layout(*sut);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->hash, b->hash);
}

TEST(Wire, MalformedSpecIsRefusedWithTheField) {
    auto j = to_json(shm::LayoutSpec{});
    j["node_count"] = -1;
    auto sut = layout_spec_from_json(j);
    ASSERT_FALSE(sut);
    EXPECT_NE(sut.error().find("node_count"), std::string::npos);
    EXPECT_FALSE(layout_spec_from_json(protocol::Json::array()));
}

} // namespace
} // namespace zeroflow::wire
