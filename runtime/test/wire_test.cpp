// The layout spec and a node's setup survive the trip through JSON; malformed ones are refused,
// not trusted.
#include <optional>
#include <string>

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

/// One camera output feeding node 1, and `taps` more (observer) nodes watching it.
shm::LayoutSpec sample_spec(std::uint32_t taps = 0) {
    shm::LayoutSpec spec;
    spec.uuid = random_uuid();
    spec.node_count = 2 + taps;
    spec.outputs.push_back({0, "cam/image", 4 << 20, 12});
    spec.connections.push_back({0, 1, 5, "image"});
    for (std::uint32_t t = 0; t < taps; ++t) {
        spec.connections.push_back({0, 2 + t, 64, "tap" + std::to_string(t)});
    }
    return spec;
}

NodeSetup sample_setup() {
    const auto spec = sample_spec();
    NodeSetup setup;
    setup.dataflow_id = to_string(spec.uuid);
    setup.dataflow_name = "robot";
    setup.node_id = "cam";
    setup.node_index = 1;
    setup.segment = to_json(spec);
    setup.inputs = {{"tick", 3}, {"image", 0}};
    setup.outputs = {{"image", 0}};
    setup.busy_poll_us = 250;
    setup.resume = true;
    setup.closes_outputs = false;
    return setup;
}

TEST(Wire, NodeSetupRoundTrips) {
    const auto setup = sample_setup();
    auto sut = node_setup_from_json(to_json(setup));
    ASSERT_TRUE(sut) << sut.error();
    EXPECT_EQ(*sut, setup);
    EXPECT_TRUE(layout_spec_from_json(sut->segment)) << "the segment is the spec's JSON";
    // What the daemon puts around it (`ok`) is not the setup's business.
    auto reply = to_json(setup);
    reply["ok"] = true;
    EXPECT_EQ(node_setup_from_json(reply), setup);
}

TEST(Wire, NodeSetupDefaultsWhatADaemonMayLeaveOut) {
    auto j = to_json(sample_setup());
    for (const char* field : {"dataflow_name", "busy_poll_us", "resume", "closes_outputs"}) {
        j.erase(field);
    }
    auto sut = node_setup_from_json(j);
    ASSERT_TRUE(sut) << sut.error();
    EXPECT_EQ(sut->dataflow_name, "");
    EXPECT_EQ(sut->busy_poll_us, 0U);
    EXPECT_FALSE(sut->resume);
    EXPECT_TRUE(sut->closes_outputs);
}

TEST(Wire, MalformedNodeSetupIsRefusedWithTheField) {
    const auto good = to_json(sample_setup());
    // The setup with `field` set to `value` (nullopt: left out) must be refused; its message.
    auto refused = [&](const char* field, const std::optional<protocol::Json>& value) {
        auto j = good;
        if (!value) {
            j.erase(field);
        } else {
            j[field] = *value;
        }
        auto sut = node_setup_from_json(j);
        EXPECT_FALSE(sut) << field;
        return sut ? std::string() : sut.error();
    };
    const std::optional<protocol::Json> missing;
    EXPECT_NE(refused("node_id", missing).find("node_id"), std::string::npos);
    EXPECT_NE(refused("node_index", -1).find("node_index"), std::string::npos);
    EXPECT_NE(refused("node_index", 1ULL << 40).find("node_index"), std::string::npos);
    EXPECT_NE(refused("resume", "yes").find("resume"), std::string::npos);
    EXPECT_NE(refused("segment", protocol::Json::array()).find("segment"), std::string::npos);
    refused("inputs", missing);
    refused("outputs", protocol::Json::object());
    EXPECT_NE(refused("inputs", protocol::Json::parse(R"([{"id": "a", "connection": "0"}])"))
                  .find("connection"),
              std::string::npos);
    refused("outputs", protocol::Json::parse(R"([["image", 0]])"));
    EXPECT_FALSE(node_setup_from_json(protocol::Json::array()));
}

TapSetup sample_tap() {
    const auto spec = sample_spec(1);
    TapSetup setup;
    setup.dataflow_id = to_string(spec.uuid);
    setup.dataflow_name = "robot";
    setup.tap = 0;
    setup.node_index = 2;
    setup.segment = to_json(spec);
    setup.outputs = {{"cam/image", 0, 1}};
    return setup;
}

TEST(Wire, TapSetupRoundTrips) {
    const auto setup = sample_tap();
    auto reply = to_json(setup);
    reply["ok"] = true;
    auto sut = tap_setup_from_json(reply);
    ASSERT_TRUE(sut) << sut.error();
    EXPECT_EQ(*sut, setup);
    reply.erase("dataflow_name");
    EXPECT_EQ(tap_setup_from_json(reply)->dataflow_name, "");
}

TEST(Wire, MalformedTapSetupIsRefusedWithTheField) {
    const auto good = to_json(sample_tap());
    auto refused = [&](const char* field, const protocol::Json& value) {
        auto j = good;
        j[field] = value;
        auto sut = tap_setup_from_json(j);
        EXPECT_FALSE(sut) << field;
        return sut ? std::string() : sut.error();
    };
    EXPECT_NE(refused("node_index", -1).find("node_index"), std::string::npos);
    EXPECT_NE(refused("tap", "0").find("tap"), std::string::npos);
    EXPECT_NE(refused("segment", 3).find("segment"), std::string::npos);
    EXPECT_NE(refused("outputs", protocol::Json::object()).find("outputs"), std::string::npos);
    EXPECT_NE(refused("outputs", protocol::Json::parse(R"([{"name": "cam/image", "output": 0}])"))
                  .find("connection"),
              std::string::npos);
    auto j = good;
    j.erase("dataflow_id");
    EXPECT_FALSE(tap_setup_from_json(j));
    EXPECT_FALSE(tap_setup_from_json(protocol::Json::array()));
}

} // namespace
} // namespace zeroflow::wire
