// Unit tests of the remote_parts request's encoder and decoder: what the bridge writes reads
// back, and each malformed shape is refused with a message naming the field.
#include <gtest/gtest.h>

#include <zeroflow/protocol/remote_parts.hpp>

namespace zeroflow::protocol {
namespace {

TEST(RemoteParts, WhatTheBridgeWritesReadsBack) {
    RemoteParts sut{
        "flow-uuid",
        {{"a", RemoteState::running, {"source", "camera"}}, {"c", RemoteState::lost, {}}},
        {"source"}};
    const auto json = to_json(sut);
    EXPECT_EQ(json.at("op"), kRemotePartsOp);
    EXPECT_EQ(json.at("machines").at(1).at("state"), "lost");
    const auto back = remote_parts_from_json(json);
    ASSERT_TRUE(back.has_value()) << back.error();
    EXPECT_EQ(back->dataflow, "flow-uuid");
    ASSERT_EQ(back->machines.size(), 2U);
    EXPECT_EQ(back->machines[0].machine, "a");
    EXPECT_EQ(back->machines[0].state, RemoteState::running);
    EXPECT_EQ(back->machines[0].nodes, (std::vector<std::string>{"source", "camera"}));
    EXPECT_EQ(back->machines[1].state, RemoteState::lost);
    EXPECT_EQ(back->stand_ins, std::vector<std::string>{"source"});
}

TEST(RemoteParts, StatesHaveTheirNames) {
    for (auto s : {RemoteState::starting, RemoteState::running, RemoteState::done,
                   RemoteState::stopped, RemoteState::lost}) {
        EXPECT_EQ(parse_remote_state(to_string(s)), s);
    }
    EXPECT_EQ(parse_remote_state("gone"), std::nullopt);
}

TEST(RemoteParts, MalformedShapesAreRefusedNamingTheField) {
    const auto good = to_json(RemoteParts{"d", {{"a", RemoteState::running, {"x"}}}, {}});
    auto with = [&](const char* field, Json value) {
        auto j = good;
        j[field] = std::move(value);
        return remote_parts_from_json(j);
    };
    EXPECT_FALSE(remote_parts_from_json(Json::array()).has_value());
    EXPECT_NE(with("dataflow", 3).error().find("'dataflow'"), std::string::npos);
    EXPECT_NE(with("machines", Json::object()).error().find("'machines'"), std::string::npos);
    EXPECT_NE(with("machines", Json::parse(R"([{"machine": "a", "state": "x", "nodes": []}])"))
                  .error()
                  .find("'state'"),
              std::string::npos);
    EXPECT_NE(with("machines", Json::parse(R"([{"machine": "a", "state": "lost", "nodes": "x"}])"))
                  .error()
                  .find("'nodes'"),
              std::string::npos);
    EXPECT_NE(with("machines", Json::parse(R"([{"machine": "a", "state": "lost", "nodes": ["x"]},
                                               {"machine": "b", "state": "lost", "nodes": ["x"]}])"))
                  .error()
                  .find("node 'x' is named twice"),
              std::string::npos);
    EXPECT_NE(with("stand_ins", Json::array({"y"})).error().find("stand-in 'y'"),
              std::string::npos);
    EXPECT_TRUE(with("stand_ins", Json::array({"x"})).has_value());
}

} // namespace
} // namespace zeroflow::protocol
