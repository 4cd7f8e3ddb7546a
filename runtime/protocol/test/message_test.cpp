// Unit tests of reply builders and typed request-field access.
#include <gtest/gtest.h>

#include <zeroflow/protocol/message.hpp>

namespace zeroflow::protocol {
namespace {

const Json kRequest = Json::parse(R"({
    "op": "stop", "name": "cam", "grace_s": 2.5, "count": 7, "float_count": 3.0,
    "negative": -1, "fraction": 1.5, "flag": true, "nothing": null,
    "obj": {"a": 1}, "arr": [1, 2]
})");

TEST(OkReply, MergesFieldsAndForcesOkTrue) {
    EXPECT_EQ(ok_reply(), Json::parse(R"({"ok": true})"));
    EXPECT_EQ(ok_reply({{"id", "abc"}, {"ok", false}}),
              Json::parse(R"({"ok": true, "id": "abc"})"));
    EXPECT_EQ(ok_reply(Json::array({1, 2})), Json::parse(R"({"ok": true, "result": [1, 2]})"));
}

TEST(ErrorReply, HasKindAndMessage) {
    EXPECT_EQ(error_reply(DaemonErrorKind::no_such_dataflow, "no running dataflow with ID x"),
              Json::parse(R"({"ok": false, "error": {"kind": "no_such_dataflow",
                              "message": "no running dataflow with ID x"}})"));
    EXPECT_EQ(error_reply(ProtocolError{ErrorCode::unknown_op, "unknown op 'x'"})["error"]["kind"],
              "unknown_op");
}

TEST(UnwrapReply, SplitsOkErrorAndMalformedReplies) {
    EXPECT_TRUE(unwrap_reply(ok_reply({{"id", 1}})).has_value());
    const auto error =
        unwrap_reply(error_reply(DaemonErrorKind::node_not_dynamic, "node x is not dynamic"));
    ASSERT_FALSE(error.has_value());
    EXPECT_EQ(error.error().kind, "node_not_dynamic");
    EXPECT_EQ(error.error().message, "node x is not dynamic");
    EXPECT_EQ(unwrap_reply(Json{{"id", 1}}).error().kind, "bad_reply");
    EXPECT_EQ(unwrap_reply(Json{{"ok", false}}).error().kind, "bad_reply");
    EXPECT_EQ(unwrap_reply(Json::array()).error().kind, "bad_reply");
}

TEST(ToString, NamesEveryErrorCode) {
    EXPECT_EQ(to_string(ErrorCode::frame_too_large), "frame_too_large");
    EXPECT_EQ(to_string(ErrorCode::bad_frame), "bad_frame");
    EXPECT_EQ(to_string(ErrorCode::bad_request), "bad_request");
    EXPECT_EQ(to_string(ErrorCode::unknown_op), "unknown_op");
    EXPECT_EQ(to_string(ErrorCode::io_error), "io_error");
    EXPECT_EQ(to_string(ErrorCode::timeout), "timeout");
    EXPECT_EQ(to_string(ErrorCode::closed), "closed");
    EXPECT_EQ(to_string(ErrorCode::peer_refused), "peer_refused");
    EXPECT_EQ(to_string(ErrorCode::protocol_mismatch), "protocol_mismatch");
}

// The error of `result`, checked to be bad_request.
template <typename T>
std::string bad_request_message(const std::expected<T, ProtocolError>& result) {
    EXPECT_FALSE(result.has_value());
    if (result.has_value()) {
        return {};
    }
    EXPECT_EQ(result.error().code, ErrorCode::bad_request);
    return result.error().message;
}

TEST(Getters, ReturnValuesOfTheRightType) {
    EXPECT_EQ(get_string(kRequest, "name").value(), "cam");
    EXPECT_DOUBLE_EQ(get_number(kRequest, "grace_s").value(), 2.5);
    EXPECT_DOUBLE_EQ(get_number(kRequest, "count").value(), 7.0);
    EXPECT_EQ(get_uint(kRequest, "count").value(), 7u);
    EXPECT_EQ(get_uint(kRequest, "float_count").value(), 3u);
    EXPECT_TRUE(get_bool(kRequest, "flag").value());
    EXPECT_EQ(get_object(kRequest, "obj").value(), Json({{"a", 1}}));
    EXPECT_EQ(get_array(kRequest, "arr").value(), Json::array({1, 2}));
    EXPECT_EQ(get_op(kRequest).value(), "stop");
}

TEST(Getters, OptionalGettersTreatMissingAndNullAsAbsent) {
    EXPECT_EQ(get_optional_string(kRequest, "missing").value(), std::nullopt);
    EXPECT_EQ(get_optional_string(kRequest, "nothing").value(), std::nullopt);
    EXPECT_EQ(get_optional_number(kRequest, "missing").value(), std::nullopt);
    EXPECT_EQ(get_optional_uint(kRequest, "nothing").value(), std::nullopt);
    EXPECT_EQ(get_optional_bool(kRequest, "missing").value(), std::nullopt);
    EXPECT_EQ(get_optional_string(kRequest, "name").value(), "cam");
    EXPECT_EQ(get_optional_number(kRequest, "grace_s").value(), 2.5);
    EXPECT_EQ(get_optional_uint(kRequest, "count").value(), 7u);
    EXPECT_EQ(get_optional_bool(kRequest, "flag").value(), true);
}

TEST(Getters, WrongTypeNamesFieldAndExpectedType) {
    EXPECT_EQ(bad_request_message(get_number(kRequest, "name")),
              "field 'name' must be a number, not a string");
    EXPECT_EQ(bad_request_message(get_string(kRequest, "count")),
              "field 'count' must be a string, not 7");
    EXPECT_EQ(bad_request_message(get_bool(kRequest, "obj")),
              "field 'obj' must be a boolean, not an object");
    EXPECT_EQ(bad_request_message(get_uint(kRequest, "negative")),
              "field 'negative' must be a non-negative integer, not -1");
    EXPECT_EQ(bad_request_message(get_uint(kRequest, "fraction")),
              "field 'fraction' must be a non-negative integer, not 1.5");
    EXPECT_EQ(bad_request_message(get_object(kRequest, "arr")),
              "field 'arr' must be an object, not an array");
    EXPECT_EQ(bad_request_message(get_array(kRequest, "flag")),
              "field 'flag' must be an array, not a boolean");
    EXPECT_EQ(bad_request_message(get_string(kRequest, "nothing")),
              "field 'nothing' must be a string, not null");
    EXPECT_EQ(bad_request_message(get_optional_number(kRequest, "name")),
              "field 'name' must be a number, not a string");
    EXPECT_EQ(bad_request_message(get_optional_uint(kRequest, "negative")),
              "field 'negative' must be a non-negative integer, not -1");
    EXPECT_EQ(bad_request_message(get_optional_bool(kRequest, "name")),
              "field 'name' must be a boolean, not a string");
    EXPECT_EQ(bad_request_message(get_optional_string(kRequest, "flag")),
              "field 'flag' must be a string, not a boolean");
}

TEST(Getters, MissingFieldNamesFieldAndExpectedType) {
    EXPECT_EQ(bad_request_message(get_string(kRequest, "id")), "missing field 'id' (a string)");
    EXPECT_EQ(bad_request_message(get_number(kRequest, "grace")),
              "missing field 'grace' (a number)");
    EXPECT_EQ(bad_request_message(get_uint(kRequest, "n")),
              "missing field 'n' (a non-negative integer)");
    EXPECT_EQ(bad_request_message(get_bool(kRequest, "b")), "missing field 'b' (a boolean)");
}

TEST(Getters, RequestThatIsNotAnObjectIsBadRequest) {
    EXPECT_EQ(bad_request_message(get_string(Json::array(), "op")),
              "request must be a JSON object, not an array");
    EXPECT_EQ(bad_request_message(get_optional_bool(Json("x"), "b")),
              "request must be a JSON object, not a string");
}

TEST(GetOp, RejectsMissingNonStringAndEmptyOp) {
    EXPECT_EQ(bad_request_message(get_op(Json::object())), "missing field 'op' (a string)");
    EXPECT_EQ(bad_request_message(get_op(Json{{"op", 3}})), "field 'op' must be a string, not 3");
    EXPECT_EQ(bad_request_message(get_op(Json{{"op", ""}})),
              "field 'op' must be a non-empty string");
}

TEST(CheckProtocolVersion, AcceptsOursAndNamesBothVersionsOnMismatch) {
    EXPECT_TRUE(check_protocol_version(Json{{"protocol_version", kProtocolVersion}}));
    EXPECT_EQ(check_protocol_version(Json::object()).error().code, ErrorCode::bad_request);
    const auto other = check_protocol_version(Json{{"protocol_version", 99}});
    ASSERT_FALSE(other.has_value());
    EXPECT_EQ(other.error().code, ErrorCode::protocol_mismatch);
    EXPECT_NE(other.error().message.find("99"), std::string::npos);
    EXPECT_NE(other.error().message.find(std::to_string(kProtocolVersion)), std::string::npos);
}

} // namespace
} // namespace zeroflow::protocol
