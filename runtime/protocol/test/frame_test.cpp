// Unit tests of frame encoding and the incremental decoder.
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include <zeroflow/protocol/frame.hpp>

namespace zeroflow::protocol {
namespace {

// A frame whose length prefix says `length` and whose body is `body`.
std::string raw_frame(std::uint32_t length, const std::string& body) {
    std::string out;
    for (int shift = 0; shift < 32; shift += 8) {
        out.push_back(static_cast<char>((length >> shift) & 0xFFu));
    }
    return out + body;
}

std::string raw_frame(const std::string& body) {
    return raw_frame(static_cast<std::uint32_t>(body.size()), body);
}

void feed(FrameDecoder& sut, const std::string& bytes) {
    sut.feed(std::span<const char>(bytes.data(), bytes.size()));
}

// An object whose compact dump is exactly `size` bytes: {"p":"xxx..."}.
Json object_of_size(std::size_t size) {
    const std::size_t overhead = std::string(R"({"p":""})").size();
    return Json{{"p", std::string(size - overhead, 'x')}};
}

TEST(EncodeFrame, WritesLittleEndianLengthThenCompactJson) {
    const auto frame = encode_frame(Json{{"op", "list"}});
    const std::string body = R"({"op":"list"})";
    EXPECT_EQ(frame, raw_frame(body));
    EXPECT_EQ(static_cast<unsigned char>(frame[0]), body.size());
    EXPECT_EQ(frame[1], 0);
}

TEST(EncodeFrame, ReplacesInvalidUtf8InsteadOfThrowing) {
    const Json reply{{"message", std::string("bad \xff\xfe name")}};
    std::string frame;
    ASSERT_NO_THROW(frame = encode_frame(reply));
    FrameDecoder sut;
    feed(sut, frame);
    auto decoded = sut.next();
    ASSERT_TRUE(decoded.has_value());
    ASSERT_TRUE(decoded->has_value());
    EXPECT_EQ((**decoded)["message"], "bad \xEF\xBF\xBD\xEF\xBF\xBD name");
}

TEST(FrameDecoder, RoundTripsAMessage) {
    const Json message{{"op", "start"},
                       {"n", 3},
                       {"list", {1, 2.5, "x", nullptr, true}},
                       {"nested", {{"k", "v"}}},
                       {"unicode", "héllo ✓ 🤖"}};
    FrameDecoder sut;
    feed(sut, encode_frame(message));
    auto decoded = sut.next();
    ASSERT_TRUE(decoded.has_value());
    ASSERT_TRUE(decoded->has_value());
    EXPECT_EQ(**decoded, message);
    EXPECT_EQ(sut.buffered(), 0u);
    auto again = sut.next();
    ASSERT_TRUE(again.has_value());
    EXPECT_FALSE(again->has_value());
}

TEST(FrameDecoder, AssemblesFramesSplitByteByByte) {
    const Json first{{"op", "a"}, {"text", "ünïcode"}};
    const Json second{{"op", "b"}};
    const std::string bytes = encode_frame(first) + encode_frame(second);
    FrameDecoder sut;
    std::vector<Json> got;
    for (const char byte : bytes) {
        sut.feed(std::span<const char>(&byte, 1));
        auto decoded = sut.next();
        ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
        if (decoded->has_value()) {
            got.push_back(**decoded);
        }
    }
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], first);
    EXPECT_EQ(got[1], second);
}

TEST(FrameDecoder, ReportsHalfFrameAsBuffered) {
    const std::string frame = encode_frame(Json{{"op", "x"}});
    FrameDecoder sut;
    feed(sut, frame.substr(0, 6));
    auto decoded = sut.next();
    ASSERT_TRUE(decoded.has_value());
    EXPECT_FALSE(decoded->has_value());
    EXPECT_EQ(sut.buffered(), 6u);
}

TEST(FrameDecoder, TakesSeveralFramesFromOneFeed) {
    std::string bytes;
    for (int i = 0; i < 5; ++i) {
        bytes += encode_frame(Json{{"op", "n"}, {"i", i}});
    }
    FrameDecoder sut;
    feed(sut, bytes);
    for (int i = 0; i < 5; ++i) {
        auto decoded = sut.next();
        ASSERT_TRUE(decoded.has_value());
        ASSERT_TRUE(decoded->has_value());
        EXPECT_EQ((**decoded)["i"], i);
    }
    auto done = sut.next();
    ASSERT_TRUE(done.has_value());
    EXPECT_FALSE(done->has_value());
}

TEST(FrameDecoder, AcceptsFrameExactlyAtTheLimit) {
    constexpr std::size_t kLimit = 1000;
    const Json message = object_of_size(kLimit);
    const std::string frame = encode_frame(message);
    ASSERT_EQ(frame.size(), kFrameHeaderSize + kLimit);
    FrameDecoder sut(kLimit);
    feed(sut, frame);
    auto decoded = sut.next();
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    ASSERT_TRUE(decoded->has_value());
    EXPECT_EQ(**decoded, message);
}

TEST(FrameDecoder, AcceptsFrameAtTheDefaultLimit) {
    FrameDecoder sut;
    feed(sut, encode_frame(object_of_size(kDefaultMaxFrameSize)));
    auto decoded = sut.next();
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_TRUE(decoded->has_value());
}

TEST(FrameDecoder, RejectsFrameOneAboveTheLimitAsSoonAsTheLengthIsKnown) {
    constexpr std::size_t kLimit = 1000;
    const std::string frame = encode_frame(object_of_size(kLimit + 1));
    FrameDecoder sut(kLimit);
    feed(sut, frame.substr(0, kFrameHeaderSize)); // the body has not arrived
    auto decoded = sut.next();
    ASSERT_FALSE(decoded.has_value());
    EXPECT_EQ(decoded.error().code, ErrorCode::frame_too_large);
    EXPECT_NE(decoded.error().message.find("1001"), std::string::npos) << decoded.error().message;
    EXPECT_NE(decoded.error().message.find("1000"), std::string::npos) << decoded.error().message;
}

TEST(FrameDecoder, RejectsHugeLengthPrefix) {
    FrameDecoder sut;
    feed(sut, std::string("\xff\xff\xff\xff{}", 6));
    auto decoded = sut.next();
    ASSERT_FALSE(decoded.has_value());
    EXPECT_EQ(decoded.error().code, ErrorCode::frame_too_large);
    EXPECT_NE(decoded.error().message.find("4294967295"), std::string::npos);
    EXPECT_NE(decoded.error().message.find("1048576"), std::string::npos);
}

TEST(FrameDecoder, StaysFailedAfterAnError) {
    FrameDecoder sut(10);
    feed(sut, raw_frame(11, ""));
    ASSERT_FALSE(sut.next().has_value());
    feed(sut, encode_frame(Json{{"op", "x"}}));
    auto again = sut.next();
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().code, ErrorCode::frame_too_large);
    EXPECT_TRUE(sut.failed());
    EXPECT_EQ(sut.buffered(), 0u);
}

struct BadFrameCase {
    const char* name;
    std::string body;
    const char* message_part;
};

// Keeps gtest from printing the case as raw bytes.
void PrintTo(const BadFrameCase& c, std::ostream* os) {
    *os << c.name;
}

class FrameDecoderBadFrame : public testing::TestWithParam<BadFrameCase> {};

TEST_P(FrameDecoderBadFrame, IsRejectedAsBadFrame) {
    FrameDecoder sut;
    feed(sut, raw_frame(GetParam().body));
    auto decoded = sut.next();
    ASSERT_FALSE(decoded.has_value());
    EXPECT_EQ(decoded.error().code, ErrorCode::bad_frame);
    EXPECT_NE(decoded.error().message.find(GetParam().message_part), std::string::npos)
        << decoded.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FrameDecoderBadFrame,
    testing::Values(
        BadFrameCase{"ZeroLength", "", "empty"}, BadFrameCase{"OnlyWhitespace", " \n", "empty"},
        BadFrameCase{"InvalidUtf8", "{\"op\":\"\xff\"}", "UTF-8 (byte 7)"},
        BadFrameCase{"OverlongUtf8", "{\"op\":\"\xc0\xaf\"}", "UTF-8"},
        BadFrameCase{"Surrogate", "{\"op\":\"\xed\xa0\x80\"}", "UTF-8"},
        BadFrameCase{"TruncatedUtf8", "{\"op\":\"\xe2\x9c\"}", "UTF-8"},
        BadFrameCase{"Array", R"([{"op":"x"}])", "not an array"},
        BadFrameCase{"String", R"("op")", "not a string"},
        BadFrameCase{"Number", "42", "not a number"}, BadFrameCase{"Null", "null", "not null"},
        BadFrameCase{"NotJson", "{op: x}", "not valid JSON"},
        BadFrameCase{"TruncatedJson", R"({"op":"li)", "not valid JSON"},
        BadFrameCase{"TrailingGarbage", R"({"op":"x"} {})", "not valid JSON"},
        BadFrameCase{"LoneSurrogateEscape", R"({"op":"\ud800"})", "not valid JSON"},
        BadFrameCase{"TooDeep", "{\"a\":" + std::string(200, '[') + std::string(200, ']') + "}",
                     "deeper than"}),
    [](const testing::TestParamInfo<BadFrameCase>& param_info) { return param_info.param.name; });

TEST(FrameDecoder, AcceptsNestingUpToTheLimitAndBracketsInStrings) {
    const std::size_t arrays = kMaxNestingDepth - 1; // plus the enclosing object
    const std::string body = "{\"a\":" + std::string(arrays, '[') + std::string(arrays, ']') +
                             ",\"s\":\"[[[[{{{{\\\"\"}";
    FrameDecoder sut;
    feed(sut, raw_frame(body));
    auto decoded = sut.next();
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_TRUE(decoded->has_value());
}

TEST(FindInvalidUtf8, AcceptsWellFormedAndLocatesTheFirstBadByte) {
    EXPECT_FALSE(find_invalid_utf8("plain ascii").has_value());
    EXPECT_FALSE(find_invalid_utf8("\xc3\xa9\xe2\x9c\x93\xf0\x9f\xa4\x96\xf4\x8f\xbf\xbf"));
    EXPECT_EQ(find_invalid_utf8("ab\x80"), 2u);
    EXPECT_EQ(find_invalid_utf8("a\xf4\x90\x80\x80"), 1u); // above U+10FFFF
    EXPECT_EQ(find_invalid_utf8("a\xe0\x80\x80"), 1u);     // overlong
    EXPECT_EQ(find_invalid_utf8("\xf0\x9f\xa4"), 0u);      // cut short
}

} // namespace
} // namespace zeroflow::protocol
