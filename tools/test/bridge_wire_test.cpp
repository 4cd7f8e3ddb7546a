// The subscribe pump's reader of the payload topic (src/bridge/wire.hpp) against what Cyclone DDS
// itself serializes, in XCDR1 and XCDR2: a writer and a reader in one participant, no network.
#include <algorithm>
#include <bit>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include <dds/dds.h>
#include <dds/ddsi/ddsi_serdata.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "loopback.hpp"
#include "wire.hpp"
#include "zeroflow_bridge.h"

namespace zeroflow::bridge {
namespace {

class WireTest : public ::testing::TestWithParam<dds_data_representation_id_t> {
protected:
    void SetUp() override {
        test::use_loopback_only();
        participant_ = dds_create_participant(test::own_domain(), nullptr, nullptr);
        ASSERT_GT(participant_, 0) << dds_strretcode(participant_);
        const std::string name = "zeroflow/wire_test_" + std::to_string(::getpid()) + "/src/out";
        topic_ = dds_create_topic(participant_, &zeroflow_bridge_Message_desc, name.c_str(),
                                  nullptr, nullptr);
        ASSERT_GT(topic_, 0) << dds_strretcode(topic_);
        dds_qos_t* qos = dds_create_qos();
        dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_SECS(1));
        dds_qset_history(qos, DDS_HISTORY_KEEP_ALL, 0);
        const dds_data_representation_id_t representation = GetParam();
        dds_qset_data_representation(qos, 1, &representation);
        writer_ = dds_create_writer(participant_, topic_, qos, nullptr);
        reader_ = dds_create_reader(participant_, topic_, qos, nullptr);
        dds_delete_qos(qos);
        ASSERT_GT(writer_, 0) << dds_strretcode(writer_);
        ASSERT_GT(reader_, 0) << dds_strretcode(reader_);
    }
    void TearDown() override {
        if (participant_ > 0) {
            dds_delete(participant_);
        }
    }

    /// Writes `m` and takes it back serialized, as the subscribe pump does.
    std::vector<std::byte> round_trip(const zeroflow_bridge_Message& m) {
        EXPECT_EQ(dds_write(writer_, &m), DDS_RETCODE_OK);
        ddsi_serdata* data[1] = {nullptr};
        dds_sample_info_t info[1];
        dds_return_t n = 0;
        for (int i = 0; i < 200 && n <= 0; ++i) { // local delivery: at once, but do not hang
            n = dds_takecdr(reader_, data, 1, info, DDS_ANY_STATE);
            if (n <= 0) {
                dds_sleepfor(DDS_MSECS(5));
            }
        }
        EXPECT_EQ(n, 1);
        if (n != 1) {
            return {};
        }
        EXPECT_TRUE(info[0].valid_data);
        const std::uint32_t size = ddsi_serdata_size(data[0]);
        ddsrt_iovec_t ref{};
        ddsi_serdata* held = ddsi_serdata_to_ser_ref(data[0], 0, size, &ref);
        const auto* first = static_cast<const std::byte*>(ref.iov_base);
        std::vector<std::byte> bytes(first, first + ref.iov_len);
        ddsi_serdata_to_ser_unref(held, &ref);
        ddsi_serdata_unref(data[0]);
        return bytes;
    }

    [[nodiscard]] std::uint32_t version() const {
        return GetParam() == DDS_DATA_REPRESENTATION_XCDR1 ? 1 : 2;
    }

    dds_entity_t participant_ = 0;
    dds_entity_t topic_ = 0;
    dds_entity_t writer_ = 0;
    dds_entity_t reader_ = 0;
};

std::span<const std::byte> as_bytes(const void* data, std::size_t size) {
    return {static_cast<const std::byte*>(data), size};
}

TEST_P(WireTest, ReadsEveryFieldOfAMessageCycloneSerialized) {
    std::uint64_t shape[] = {480, 640, 3};
    std::vector<std::uint8_t> parameters(13); // odd lengths: what follows must be realigned
    std::vector<std::uint8_t> payload(1001);
    for (std::size_t i = 0; i < payload.size(); ++i) {
        payload[i] = static_cast<std::uint8_t>(i * 7 + 1);
    }
    for (std::size_t i = 0; i < parameters.size(); ++i) {
        parameters[i] = static_cast<std::uint8_t>(200 + i);
    }
    zeroflow_bridge_Message m{};
    m.closed = false;
    m.sequence_number = 0x0102030405060708ULL;
    m.timestamp_ns = 1'000'000'007ULL;
    m.wall_time_ns = 1'764'000'000'123'456'789ULL;
    m.dtype = 9;
    m.shape = {3, 3, shape, false};
    m.encoding = const_cast<char*>("rgb8");
    m.parameters = {13, 13, parameters.data(), false};
    m.payload = {1001, 1001, payload.data(), false};

    const auto bytes = round_trip(m);
    ASSERT_GE(bytes.size(), 4U);
    ASSERT_EQ(xcdr_version(std::span(bytes).first(4)), version())
        << "Cyclone's encapsulation is not the plain CDR of this byte order: the pump would "
           "always take the slow path";
    const auto read = read_message(std::span(bytes).subspan(4), version());
    ASSERT_TRUE(read.has_value());
    EXPECT_FALSE(read->closed);
    EXPECT_EQ(read->sequence_number, m.sequence_number);
    EXPECT_EQ(read->timestamp_ns, m.timestamp_ns);
    EXPECT_EQ(read->wall_time_ns, m.wall_time_ns);
    EXPECT_EQ(read->dtype, 9);
    ASSERT_EQ(read->dims(), 3U);
    EXPECT_EQ(read->dim(0), 480U);
    EXPECT_EQ(read->dim(1), 640U);
    EXPECT_EQ(read->dim(2), 3U);
    EXPECT_EQ(read->encoding, "rgb8");
    ASSERT_EQ(read->parameters.size(), 13U);
    EXPECT_TRUE(std::equal(read->parameters.begin(), read->parameters.end(),
                           as_bytes(parameters.data(), 13).begin()));
    ASSERT_EQ(read->payload.size(), 1001U);
    EXPECT_TRUE(std::equal(read->payload.begin(), read->payload.end(),
                           as_bytes(payload.data(), 1001).begin()));

    // Every shorter prefix is refused (a payload cut short never reaches a loan), none crashes.
    const auto body = std::span(bytes).subspan(4);
    // Any cut before the payload's end (at most 3 bytes of padding follow it).
    for (std::size_t cut = 0; cut + 4 <= body.size(); cut += cut < 200 ? 1 : 97) {
        EXPECT_FALSE(read_message(body.first(cut), version()).has_value()) << "cut at " << cut;
    }
}

TEST_P(WireTest, ReadsEmptySequencesAndAClose) {
    zeroflow_bridge_Message m{};
    m.closed = true;
    m.sequence_number = 42;
    m.encoding = const_cast<char*>("");
    const auto bytes = round_trip(m);
    ASSERT_GE(bytes.size(), 4U);
    ASSERT_EQ(xcdr_version(std::span(bytes).first(4)), version());
    const auto read = read_message(std::span(bytes).subspan(4), version());
    ASSERT_TRUE(read.has_value());
    EXPECT_TRUE(read->closed);
    EXPECT_EQ(read->sequence_number, 42U);
    EXPECT_EQ(read->dims(), 0U);
    EXPECT_EQ(read->encoding, "");
    EXPECT_TRUE(read->parameters.empty());
    EXPECT_TRUE(read->payload.empty());

    // Empty shape and parameters around a short encoding and payload.
    std::uint8_t payload[3] = {1, 2, 3};
    m.closed = false;
    m.encoding = const_cast<char*>("x");
    m.payload = {3, 3, payload, false};
    const auto more = round_trip(m);
    ASSERT_GE(more.size(), 4U);
    const auto again = read_message(std::span(more).subspan(4), version());
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->encoding, "x");
    ASSERT_EQ(again->payload.size(), 3U);
    EXPECT_EQ(again->payload[2], std::byte{3});
}

TEST_P(WireTest, RefusesWhatIsNotAMessage) {
    zeroflow_bridge_Message m{};
    m.encoding = const_cast<char*>("abc");
    auto bytes = round_trip(m);
    ASSERT_GT(bytes.size(), 4U);
    auto body = std::span(bytes).subspan(4);
    ASSERT_TRUE(read_message(body, version()).has_value());
    bytes[4] = std::byte{2}; // `closed` is a boolean: 0 or 1
    EXPECT_FALSE(read_message(body, version()).has_value());
    bytes[4] = std::byte{0};
    // The string's terminating zero replaced: refused, not read past.
    for (auto& b : body) {
        if (b == std::byte{'c'}) {
            (&b)[1] = std::byte{'d'};
            break;
        }
    }
    EXPECT_FALSE(read_message(body, version()).has_value());
    EXPECT_FALSE(read_message(body, 3).has_value());
}

INSTANTIATE_TEST_SUITE_P(
    Xcdr, WireTest, ::testing::Values(DDS_DATA_REPRESENTATION_XCDR1, DDS_DATA_REPRESENTATION_XCDR2),
    [](const auto& p) { return p.param == DDS_DATA_REPRESENTATION_XCDR1 ? "Xcdr1" : "Xcdr2"; });

TEST(WireHeaderTest, OnlyPlainCdrOfThisByteOrderIsReadInPlace) {
    const auto header = [](unsigned id) {
        return std::vector<std::byte>{std::byte{0}, std::byte(id), std::byte{0}, std::byte{0}};
    };
    const bool little = std::endian::native == std::endian::little;
    EXPECT_EQ(xcdr_version(header(little ? 0x01 : 0x00)), 1U);
    EXPECT_EQ(xcdr_version(header(little ? 0x07 : 0x06)), 2U);
    EXPECT_FALSE(xcdr_version(header(little ? 0x00 : 0x01)).has_value()); // other byte order
    EXPECT_FALSE(xcdr_version(header(little ? 0x03 : 0x02)).has_value()); // parameter list
    EXPECT_FALSE(xcdr_version(header(little ? 0x09 : 0x08)).has_value()); // delimited
    EXPECT_FALSE(xcdr_version(std::vector<std::byte>(2)).has_value());
}

} // namespace
} // namespace zeroflow::bridge
