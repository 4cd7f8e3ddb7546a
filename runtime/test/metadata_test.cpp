// The parameters codec: every value kind round-trips in order, replacing keeps a key's place,
// limits are refused with the sizes (never truncated), and any bytes at all read safely.
#include <array>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include <zeroflow/runtime/metadata.hpp>
#include <zeroflow/runtime/types.hpp>

namespace zeroflow {
namespace {

struct Area {
    explicit Area(std::size_t capacity) : bytes(capacity + 64) {}
    std::vector<std::byte> bytes;
    SampleMetadata writer(std::size_t capacity) { return {bytes.data(), capacity}; }
};

TEST(Metadata, EveryValueKindRoundTripsInTheOrderItWasSet) {
    Area area(1024);
    auto sut = area.writer(1024);
    sut.set("flag", true)
        .set("width", 640)
        .set("big", std::numeric_limits<std::int64_t>::min())
        .set("scale", 0.25)
        .set("encoding", "bgr8")
        .set("dims", std::vector<std::int64_t>{720, 1280, 3})
        .set("gains", std::vector<double>{0.5, -1.5})
        .set("tags", std::vector<std::string>{"left", "", "front camera"})
        .set("empty_list", std::vector<double>{});
    ASSERT_EQ(sut.problem(), SampleMetadata::Problem::none);
    const auto view = sut.view();
    EXPECT_TRUE(view.ok());
    EXPECT_FALSE(view.empty());
    const std::vector<std::string_view> keys{"flag", "width", "big",  "scale",     "encoding",
                                             "dims", "gains", "tags", "empty_list"};
    EXPECT_EQ(view.keys(), keys);
    EXPECT_EQ(view.get<bool>("flag"), true);
    EXPECT_EQ(view.get<int>("width"), 640);
    EXPECT_EQ(view.get<std::int64_t>("big"), std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(view.get<double>("scale"), 0.25);
    EXPECT_EQ(view.get<std::string_view>("encoding"), "bgr8");
    EXPECT_EQ(view.get<std::string>("encoding"), std::string("bgr8"));
    EXPECT_EQ(view.get<std::vector<std::int64_t>>("dims"),
              (std::vector<std::int64_t>{720, 1280, 3}));
    EXPECT_EQ(view.get<std::vector<double>>("gains"), (std::vector<double>{0.5, -1.5}));
    EXPECT_EQ(view.get<std::vector<std::string>>("tags"),
              (std::vector<std::string>{"left", "", "front camera"}));
    EXPECT_EQ(view.get<std::vector<double>>("empty_list"), std::vector<double>{});
    EXPECT_EQ(view.kind("gains"), ParameterKind::float64_list);
    const auto entries = view.entries();
    ASSERT_EQ(entries.size(), keys.size());
    EXPECT_EQ(entries[1].int64, 640);
    EXPECT_EQ(entries[7].string_list.size(), 3U);
}

TEST(Metadata, AValueOfAnotherKindOrAMissingKeyIsNullopt) {
    Area area(256);
    auto sut = area.writer(256);
    sut.set("n", 300).set("s", "text").set("d", 2.5);
    const auto view = sut.view();
    EXPECT_FALSE(view.get<bool>("n"));
    EXPECT_FALSE(view.get<std::string_view>("n"));
    EXPECT_FALSE(view.get<std::int64_t>("s"));
    EXPECT_FALSE(view.get<std::int64_t>("d")); // no silent truncation of a double
    EXPECT_EQ(view.get<double>("n"), 300.0);   // an integer widens to double
    EXPECT_FALSE(view.get<std::uint8_t>("n")); // 300 does not fit
    EXPECT_FALSE(view.get<int>("missing"));
    EXPECT_FALSE(view.kind("missing"));
}

TEST(Metadata, SettingAKeyAgainReplacesItsValueInPlace) {
    Area area(256);
    auto sut = area.writer(256);
    sut.set("a", 1).set("b", "short").set("c", 3);
    sut.set("b", "a much longer value than before");
    sut.set("a", 10);
    EXPECT_EQ(sut.view().keys(), (std::vector<std::string_view>{"a", "b", "c"}));
    EXPECT_EQ(sut.view().get<int>("a"), 10);
    EXPECT_EQ(sut.view().get<std::string_view>("b"), "a much longer value than before");
    EXPECT_EQ(sut.view().get<int>("c"), 3);
    EXPECT_TRUE(sut.erase("b"));
    EXPECT_FALSE(sut.erase("b"));
    EXPECT_EQ(sut.view().keys(), (std::vector<std::string_view>{"a", "c"}));
    EXPECT_EQ(sut.view().get<int>("c"), 3);
}

TEST(Metadata, FillingTheAreaExactlyFitsAndOneByteMoreIsTooLargeWithTheSizes) {
    // A string record takes 1 + key + 1 + 4 + value bytes.
    Area area(64);
    auto sut = area.writer(64);
    sut.set("k", std::string(64 - 7, 'x'));
    EXPECT_EQ(sut.problem(), SampleMetadata::Problem::none);
    EXPECT_EQ(sut.size(), 64U);
    sut.clear();
    sut.set("k", std::string(64 - 6, 'x'));
    EXPECT_EQ(sut.problem(), SampleMetadata::Problem::too_large);
    EXPECT_EQ(sut.needed(), 65U);
    EXPECT_EQ(sut.problem_key(), "k");
    // Nothing was truncated: the record that did not fit is not there at all.
    EXPECT_TRUE(sut.view().keys().empty());
    // Later sets that fit still land, but the problem stays for send() to report.
    sut.set("small", true);
    EXPECT_EQ(sut.view().get<bool>("small"), true);
    EXPECT_EQ(sut.problem(), SampleMetadata::Problem::too_large);
}

TEST(Metadata, BadKeysAndValuesAreRemembered) {
    Area area(512);
    auto sut = area.writer(512);
    sut.set("", 1);
    EXPECT_EQ(sut.problem(), SampleMetadata::Problem::bad_key);
    auto other = area.writer(512);
    other.set(std::string(256, 'k'), 1);
    EXPECT_EQ(other.problem(), SampleMetadata::Problem::bad_key);
    auto third = area.writer(512);
    third.set("u", std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(third.problem(), SampleMetadata::Problem::bad_value);
    EXPECT_EQ(third.problem_key(), "u");
    auto zero = area.writer(0);
    zero.set("x", 1);
    EXPECT_EQ(zero.problem(), SampleMetadata::Problem::too_large);
}

TEST(Metadata, MalformedBytesReadAsAnEmptyViewNeverOutOfBounds) {
    // Hand-made malformed areas: zero key length, unknown kind, lengths past the end.
    const std::vector<std::vector<std::uint8_t>> cases = {
        {0, 2, 1},                              // key length 0
        {1, 'k', 9, 0},                         // unknown kind
        {1, 'k', 2, 1, 2, 3},                   // int64 cut short
        {1, 'k', 4, 0xff, 0xff, 0xff, 0x7f, 1}, // string length past the end
        {1, 'k', 7, 2, 0, 0, 0, 1, 0, 0, 0, 'a', 0xff, 0xff, 0xff, 0xff}, // list element past end
        {5, 'k'},                                                         // key past the end
    };
    for (const auto& bytes : cases) {
        // Copy to a buffer of exactly that size so that ASan sees any read past it.
        std::vector<std::byte> exact(bytes.size());
        std::memcpy(exact.data(), bytes.data(), bytes.size());
        const MetadataView sut(exact.data(), exact.size());
        EXPECT_FALSE(sut.ok());
        EXPECT_TRUE(sut.empty());
        EXPECT_TRUE(sut.keys().empty());
        EXPECT_TRUE(sut.entries().empty());
        EXPECT_FALSE(sut.get<std::int64_t>("k"));
        EXPECT_FALSE(sut.get<std::string_view>("k"));
    }
}

TEST(Metadata, RandomBytesNeverCrashOrReadOutOfBounds) {
    std::mt19937_64 rng(12345);
    std::size_t well_formed = 0;
    for (int round = 0; round < 20000; ++round) {
        std::vector<std::byte> bytes(rng() % 96);
        for (auto& b : bytes) {
            // Small values make plausible key lengths and kinds, so records get deep.
            b = static_cast<std::byte>(rng() % 4 == 0 ? rng() : rng() % 8);
        }
        const MetadataView sut(bytes.data(), bytes.size());
        const auto keys = sut.keys();
        const auto entries = sut.entries();
        EXPECT_EQ(keys.size(), entries.size());
        for (const auto key : keys) {
            EXPECT_TRUE(sut.kind(key).has_value());
        }
        (void)sut.get<std::vector<std::string_view>>("k");
        well_formed += sut.ok() ? 1 : 0;
    }
    EXPECT_GT(well_formed, 0U); // the generator reaches the decoding paths, not only errors
}

TEST(DataTypes, NamesSizesAndCxxTypes) {
    EXPECT_EQ(to_string(DataType::boolean), "bool");
    EXPECT_EQ(to_string(DataType::f32), "f32");
    EXPECT_EQ(parse_data_type("float32"), DataType::f32);
    EXPECT_EQ(parse_data_type("u16"), DataType::u16);
    EXPECT_EQ(parse_data_type("bool"), DataType::boolean);
    EXPECT_FALSE(parse_data_type("complex64"));
    EXPECT_EQ(element_size(DataType::f64), 8U);
    EXPECT_EQ(element_size(DataType::i16), 2U);
    EXPECT_EQ(element_size(DataType::bytes), 1U);
    static_assert(data_type_of<float>() == DataType::f32);
    static_assert(data_type_of<std::uint8_t>() == DataType::u8);
    static_assert(data_type_of<std::int64_t>() == DataType::i64);
    static_assert(data_type_of<const std::uint16_t>() == DataType::u16);
    static_assert(data_type_of<bool>() == DataType::boolean);
    static_assert(data_type_of<std::byte>() == DataType::bytes);
}

} // namespace
} // namespace zeroflow
