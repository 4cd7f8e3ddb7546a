// Unit tests of sizes, shell-style argument splitting and did-you-mean suggestions.
#include <gtest/gtest.h>

#include <zeroflow/dataflow/descriptor.hpp>

#include "text.hpp"

namespace zeroflow::dataflow {
namespace {

TEST(ParseSizeTest, AcceptsBytesAndBinarySuffixes) {
    EXPECT_EQ(parse_size("0"), 0u);
    EXPECT_EQ(parse_size("123"), 123u);
    EXPECT_EQ(parse_size("100B"), 100u);
    EXPECT_EQ(parse_size("16MiB"), 16ull << 20);
    EXPECT_EQ(parse_size("512 KiB"), 512ull << 10);
    EXPECT_EQ(parse_size("4GiB"), 4ull << 30);
    EXPECT_EQ(parse_size("18446744073709551615"), UINT64_MAX);
}

TEST(ParseSizeTest, RejectsEverythingElse) {
    for (const char* text : {"", "MiB", "1.5MiB", "-1", "16mib", "16MB", "16 M", "16MiB ", " 16",
                             "0x10", "18446744073709551616", "17179869184GiB", "1 2"}) {
        EXPECT_FALSE(parse_size(text)) << text;
    }
}

TEST(SplitShellWordsTest, SplitsLikeAShellWithoutExpansions) {
    using Words = std::vector<std::string>;
    const auto split = [](std::string_view text) {
        auto result = detail::split_shell_words(text);
        return std::get<Words>(result);
    };
    EXPECT_EQ(split(""), Words{});
    EXPECT_EQ(split("  a  b\tc\n"), (Words{"a", "b", "c"}));
    EXPECT_EQ(split(R"(--name "two words" 'it''s' x\ y)"),
              (Words{"--name", "two words", "its", "x y"}));
    EXPECT_EQ(split(R"("a \"q\" \\ \$HOME \n" '$HOME \n')"),
              (Words{R"(a "q" \ $HOME \n)", R"($HOME \n)"}));
    EXPECT_EQ(split(R"("" '' x)"), (Words{"", "", "x"}));
    EXPECT_EQ(split("pre\"mid dle\"post"), (Words{"premid dlepost"}));
    EXPECT_EQ(split("a\\\nb"), (Words{"ab"}));
}

TEST(SplitShellWordsTest, ReportsUnterminatedQuotesAndTrailingBackslash) {
    EXPECT_EQ(std::get<std::string>(detail::split_shell_words("'open")),
              "unterminated single quote");
    EXPECT_EQ(std::get<std::string>(detail::split_shell_words("\"open")),
              "unterminated double quote");
    EXPECT_EQ(std::get<std::string>(detail::split_shell_words("x\\")), "trailing backslash");
}

TEST(SplitShellWordsTest, AHashStartingAWordCommentsOutTheLine) {
    using Words = std::vector<std::string>;
    EXPECT_EQ(std::get<Words>(detail::split_shell_words("a # b c\nd")), (Words{"a", "d"}));
    EXPECT_EQ(std::get<Words>(detail::split_shell_words("a#b '#c' \\#d")),
              (Words{"a#b", "#c", "#d"}));
}

TEST(ExpandVariablesTest, ExpandsLikeDorasShellexpand) {
    const detail::VariableLookup lookup =
        [](const std::string& name) -> std::optional<std::string> {
        if (name == "A") {
            return "alpha";
        }
        if (name == "EMPTY") {
            return "";
        }
        return std::nullopt;
    };
    auto expand = [&](std::string_view text, detail::UnsetVariable unset) {
        return detail::expand_variables(text, unset, lookup);
    };
    using detail::UnsetVariable;
    EXPECT_EQ(std::get<0>(expand("$A/${A}x/$Ab", UnsetVariable::keep)), "alpha/alphax/$Ab");
    EXPECT_EQ(std::get<0>(expand("[${EMPTY:-d}] ${NO:-d:-e} ${:-x}", UnsetVariable::keep)),
              "[] d:-e ${:-x}");
    EXPECT_EQ(std::get<0>(expand("$$A $ $- ${A", UnsetVariable::error)), "$A $ $- ${A");
    EXPECT_EQ(std::get<0>(expand("end$", UnsetVariable::error)), "end$");
    EXPECT_EQ(std::get<1>(expand("x/$NO/y", UnsetVariable::error)),
              "environment variable 'NO' is not set");
    EXPECT_EQ(std::get<1>(expand("${NO}", UnsetVariable::error)),
              "environment variable 'NO' is not set");
    EXPECT_EQ(std::get<0>(expand("${NO}", UnsetVariable::keep)), "${NO}");
}

TEST(ParseDoraByteSizeTest, ReadsDorasUnits) {
    EXPECT_EQ(detail::parse_dora_byte_size("100"), 100u);
    EXPECT_EQ(detail::parse_dora_byte_size("42b"), 42u);
    EXPECT_EQ(detail::parse_dora_byte_size("1KB"), 1024u);
    EXPECT_EQ(detail::parse_dora_byte_size("2 k"), 2048u);
    EXPECT_EQ(detail::parse_dora_byte_size(" 50MB "), 50ull << 20);
    EXPECT_EQ(detail::parse_dora_byte_size("1.5GB"), 3ull << 29);
    EXPECT_FALSE(detail::parse_dora_byte_size("1TB"));
    EXPECT_FALSE(detail::parse_dora_byte_size("-1MB"));
    EXPECT_FALSE(detail::parse_dora_byte_size("MB"));
    EXPECT_FALSE(detail::parse_dora_byte_size("99999999999999999999GB"));
}

TEST(SuggestionTest, FindsCloseCandidates) {
    EXPECT_EQ(detail::edit_distance("kitten", "sitting"), 3u);
    EXPECT_EQ(detail::edit_distance("", "abc"), 3u);
    const std::vector<std::string> keys{"inputs", "outputs", "path", "id"};
    EXPECT_EQ(detail::closest_match("inptus", keys), "inputs");
    EXPECT_EQ(detail::closest_match("Path", keys), "path");
    EXPECT_EQ(detail::closest_match("ouputs", keys), "outputs");
    EXPECT_FALSE(detail::closest_match("xy", keys)); // 2 edits from "id": too short to guess
    EXPECT_FALSE(detail::closest_match("completely", keys));
    EXPECT_EQ(detail::did_you_mean("pat", keys), " (did you mean 'path'?)");
    EXPECT_EQ(detail::did_you_mean("zzzzzz", keys), "");
}

TEST(IdTest, AllowsLettersDigitsUnderscoreAndDash) {
    EXPECT_TRUE(detail::is_valid_id("camera_2-left"));
    for (const char* bad : {"", "a b", "a/b", "a.b", "é", "a:b"}) {
        EXPECT_FALSE(detail::is_valid_id(bad)) << bad;
    }
}

} // namespace
} // namespace zeroflow::dataflow
