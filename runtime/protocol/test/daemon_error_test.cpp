// Unit tests of the reply error kinds: names on the wire, parsing back, protocol codes.
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include <gtest/gtest.h>

#include <zeroflow/protocol/daemon_error.hpp>
#include <zeroflow/protocol/message.hpp>

namespace zeroflow::protocol {
namespace {

TEST(DaemonErrorKind, EveryKindHasItsOwnNameAndParsesBack) {
    std::set<std::string> names;
    int count = 0;
    for (std::uint8_t i = 0; !to_string(static_cast<DaemonErrorKind>(i)).empty(); ++i) {
        const auto sut = static_cast<DaemonErrorKind>(i);
        const std::string name(to_string(sut));
        EXPECT_TRUE(names.insert(name).second) << "two kinds are named " << name;
        EXPECT_EQ(parse_daemon_error_kind(name), sut) << name;
        ++count;
    }
    EXPECT_EQ(count, static_cast<int>(DaemonErrorKind::bad_reply) + 1)
        << "the values are contiguous up to the last one";
}

TEST(DaemonErrorKind, NamesAreTheOnesDocumentedOnTheWire) {
    EXPECT_EQ(to_string(DaemonErrorKind::no_such_dataflow), "no_such_dataflow");
    EXPECT_EQ(to_string(DaemonErrorKind::node_is_dynamic), "node_is_dynamic");
    EXPECT_EQ(to_string(DaemonErrorKind::resource_limit), "resource_limit");
    EXPECT_EQ(to_string(DaemonErrorKind::bad_reply), "bad_reply");
}

TEST(DaemonErrorKind, UnknownNamesParseToNothing) {
    EXPECT_EQ(parse_daemon_error_kind(""), std::nullopt);
    EXPECT_EQ(parse_daemon_error_kind("no_such_thing"), std::nullopt);
    EXPECT_EQ(parse_daemon_error_kind("No_Such_Node"), std::nullopt);
    EXPECT_EQ(to_string(static_cast<DaemonErrorKind>(250)), "");
}

TEST(DaemonErrorKind, ProtocolCodesKeepTheirNames) {
    const std::pair<ErrorCode, std::string_view> codes[] = {
        {ErrorCode::frame_too_large, "frame_too_large"},
        {ErrorCode::bad_frame, "bad_frame"},
        {ErrorCode::bad_request, "bad_request"},
        {ErrorCode::unknown_op, "unknown_op"},
        {ErrorCode::io_error, "io_error"},
        {ErrorCode::timeout, "timeout"},
        {ErrorCode::closed, "closed"},
        {ErrorCode::peer_refused, "peer_refused"},
        {ErrorCode::protocol_mismatch, "protocol_mismatch"},
    };
    for (const auto& [code, name] : codes) {
        EXPECT_EQ(to_string(code), name);
        EXPECT_EQ(to_string(to_daemon_error_kind(code)), name);
        EXPECT_EQ(error_reply(ProtocolError{code, "m"})["error"]["kind"], name);
    }
}

TEST(DaemonErrorKind, ReplyKindReadsBackThroughUnwrap) {
    const auto reply = unwrap_reply(error_reply(DaemonErrorKind::busy, "retry"));
    ASSERT_FALSE(reply.has_value());
    EXPECT_EQ(parse_daemon_error_kind(reply.error().kind), DaemonErrorKind::busy);
    EXPECT_TRUE(reply.error().is(DaemonErrorKind::busy));
    EXPECT_FALSE(reply.error().is(DaemonErrorKind::internal));
    EXPECT_FALSE((RemoteError{"from_a_newer_daemon", ""}.is(DaemonErrorKind::internal)));
    EXPECT_EQ(parse_daemon_error_kind(unwrap_reply(Json::array()).error().kind),
              DaemonErrorKind::bad_reply);
}

} // namespace
} // namespace zeroflow::protocol
