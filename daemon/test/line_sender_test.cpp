// Unit tests of the daemon's `send_stdout_as` line sender against a real segment: how output
// bytes, split anywhere, become line messages (one per line, encoding utf-8, valid UTF-8).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <zeroflow/shm/receiver.hpp>
#include <zeroflow/shm/segment.hpp>
#include <zeroflow/shm/sender.hpp>

#include "../src/stdout_output.hpp"

namespace zeroflow::daemon {
namespace {

struct Received {
    std::string text;
    std::string encoding;
};

class LineSenderTest : public ::testing::Test {
protected:
    /// A segment with one output (node 0) of `max_message` bytes feeding node 1's input.
    void make(std::uint64_t max_message) {
        shm::LayoutSpec spec;
        spec.uuid = {1, 2, 3};
        spec.generation = 1;
        spec.node_count = 2;
        spec.outputs.push_back(shm::OutputSpec{0, "printer/lines", max_message, 0, 0});
        spec.connections.push_back(shm::ConnectionSpec{0, 1, 256, "in"});
        auto segment = shm::Segment::create(spec);
        ASSERT_TRUE(segment) << segment.error().message;
        segment_.emplace(std::move(*segment));
        auto sender = shm::OutputSender::attach(*segment_, 0);
        ASSERT_TRUE(sender) << sender.error().message;
        sut_.emplace(std::move(*sender));
        auto receiver = shm::NodeReceiver::attach(*segment_, 1, true);
        ASSERT_TRUE(receiver) << receiver.error().message;
        receiver_.emplace(std::move(*receiver));
    }

    std::vector<Received> take() {
        std::vector<Received> out;
        while (auto d = receiver_->poll()) {
            if (d->kind != shm::Delivery::Kind::message) {
                continue;
            }
            const auto* area = reinterpret_cast<const char*>(d->metadata);
            out.push_back({std::string(reinterpret_cast<const char*>(d->data), d->size),
                           std::string(area + shm::kEncodingOffset, d->encoding_size)});
            receiver_->release(d->input, d->chunk);
        }
        return out;
    }

    void feed(std::string_view bytes) { sut_->feed(bytes.data(), bytes.size()); }

    std::optional<shm::Segment> segment_;
    std::optional<LineSender> sut_;
    std::optional<shm::NodeReceiver> receiver_;
};

TEST_F(LineSenderTest, EachLineIsOneUtf8MessageWhereverTheReadsSplitIt) {
    make(1 << 20);
    feed("first li");
    EXPECT_TRUE(take().empty()) << "no line ends yet";
    feed("ne\nsecond\r\n\nthird \xff\xfe\xe2\x82");
    feed("\xac end\nunfinished");
    auto got = take();
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0].text, "first line");
    EXPECT_EQ(got[1].text, "second") << "the CR of a CRLF goes too";
    EXPECT_EQ(got[2].text, "") << "an empty line is an empty message";
    EXPECT_EQ(got[3].text, "third \xEF\xBF\xBD\xEF\xBF\xBD\xE2\x82\xAC end")
        << "bad bytes become U+FFFD; a character split across reads is kept whole";
    for (const auto& r : got) {
        EXPECT_EQ(r.encoding, "utf-8");
    }
    sut_->flush();
    got = take();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].text, "unfinished");
    EXPECT_EQ(sut_->sent(), 5u);
    EXPECT_EQ(sut_->lost(), 0u);
}

TEST_F(LineSenderTest, LinesLongerThanAMessageGoInPiecesThatEndBetweenCharacters) {
    make(16);
    // 7 euro signs (3 bytes each, 21 bytes): 16 bytes would cut the sixth in two.
    std::string euros;
    for (int i = 0; i < 7; ++i) {
        euros += "\xE2\x82\xAC";
    }
    feed(euros + "\n");
    auto got = take();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].text, euros.substr(0, 15));
    EXPECT_EQ(got[1].text, euros.substr(15));
    // A line without an end goes out once it fills a message, whole characters only: the
    // start of a character at the end waits for its last byte.
    feed(euros + "\xE2\x82");
    got = take();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].text, euros.substr(0, 15));
    EXPECT_EQ(got[1].text, euros.substr(15));
    feed("\xAC\n");
    got = take();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].text, "\xE2\x82\xAC");
    sut_->flush();
    EXPECT_TRUE(take().empty());
}

TEST(Utf8Test, CompletePrefixLeavesOutAnUnfinishedLastCharacter) {
    EXPECT_EQ(complete_prefix("abc"), 3u);
    EXPECT_EQ(complete_prefix("ab\xE2\x82"), 2u);
    EXPECT_EQ(complete_prefix("ab\xE2\x82\xAC"), 5u);
    EXPECT_EQ(complete_prefix("\xF0\x9F\x98"), 0u);
    EXPECT_EQ(valid_utf8("ok \xC0\xAF \xED\xA0\x80 \xF4\x90\x80\x80"),
              "ok \xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF"
              "\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD")
        << "overlong forms, surrogates and code points past U+10FFFF are not UTF-8";
}

} // namespace
} // namespace zeroflow::daemon
