// Text helpers of the descriptor parser: ids, shell-style splitting, did-you-mean, timers.
#include "text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include <zeroflow/dataflow/suggest.hpp>

namespace zeroflow::dataflow::detail {

namespace {

constexpr std::string_view kTimerForms =
    "expected zeroflow/timer/millis/N, zeroflow/timer/secs/N or zeroflow/timer/hz/F "
    "(or the same under dora/timer/)";

char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string to_lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), lower);
    return out;
}

bool is_decimal(std::string_view text) noexcept {
    bool digits = false;
    bool dot = false;
    for (char c : text) {
        if (c >= '0' && c <= '9') {
            digits = true;
        } else if (c == '.' && !dot) {
            dot = true;
        } else {
            return false;
        }
    }
    return digits;
}

} // namespace

namespace {

bool is_name_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

} // namespace

std::variant<std::string, std::string> expand_variables(std::string_view text, UnsetVariable unset,
                                                        const VariableLookup& lookup) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const auto dollar = text.find('$', i);
        out.append(text.substr(i, dollar == std::string_view::npos ? dollar : dollar - i));
        if (dollar == std::string_view::npos) {
            break;
        }
        i = dollar;
        const char next = i + 1 < text.size() ? text[i + 1] : '\0';
        if (next == '{') {
            const auto close = text.find('}', i + 2);
            if (close == std::string_view::npos) {
                out.append("${"); // no closing brace: taken as written
                i += 2;
                continue;
            }
            const std::string_view inside = text.substr(i + 2, close - i - 2);
            const auto split = inside.find(":-");
            const bool has_default = split != std::string_view::npos && split != 0;
            const std::string_view name = has_default ? inside.substr(0, split) : inside;
            if (auto value = lookup(std::string(name))) {
                out.append(*value);
            } else if (has_default) {
                out.append(inside.substr(split + 2));
            } else if (unset == UnsetVariable::error) {
                return std::variant<std::string, std::string>(
                    std::in_place_index<1>,
                    "environment variable '" + std::string(name) + "' is not set");
            } else {
                out.append(text.substr(i, close + 1 - i));
            }
            i = close + 1;
        } else if (is_name_char(next)) {
            std::size_t end = i + 1;
            while (end < text.size() && is_name_char(text[end])) {
                ++end;
            }
            const std::string name(text.substr(i + 1, end - i - 1));
            if (auto value = lookup(name)) {
                out.append(*value);
            } else if (unset == UnsetVariable::error) {
                return std::variant<std::string, std::string>(
                    std::in_place_index<1>, "environment variable '" + name + "' is not set");
            } else {
                out.append(text.substr(i, end - i));
            }
            i = end;
        } else {
            out.push_back('$'); // "$$" is one '$'; a '$' before anything else stays
            i += next == '$' ? 2 : 1;
        }
    }
    return std::variant<std::string, std::string>(std::in_place_index<0>, std::move(out));
}

std::optional<std::uint64_t> parse_dora_byte_size(std::string_view text) noexcept {
    auto trim = [](std::string_view t) {
        while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) {
            t.remove_prefix(1);
        }
        while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) {
            t.remove_suffix(1);
        }
        return t;
    };
    text = trim(text);
    const auto unit_at = std::find_if(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    });
    const auto at = static_cast<std::size_t>(unit_at - text.begin());
    const auto number = trim(text.substr(0, at));
    const std::string unit = to_lower(trim(text.substr(at)));
    std::uint64_t multiplier = 0;
    if (unit.empty() || unit == "b") {
        multiplier = 1;
    } else if (unit == "k" || unit == "kb") {
        multiplier = 1ull << 10;
    } else if (unit == "m" || unit == "mb") {
        multiplier = 1ull << 20;
    } else if (unit == "g" || unit == "gb") {
        multiplier = 1ull << 30;
    } else {
        return std::nullopt;
    }
    if (const auto whole = parse_unsigned(number)) {
        if (*whole > std::numeric_limits<std::uint64_t>::max() / multiplier) {
            return std::nullopt;
        }
        return *whole * multiplier;
    }
    if (!is_decimal(number)) {
        return std::nullopt;
    }
    double value = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc() || end != number.data() + number.size()) {
        return std::nullopt;
    }
    const double bytes = value * static_cast<double>(multiplier);
    if (!std::isfinite(bytes) || bytes >= 18446744073709551616.0) {
        return std::nullopt;
    }
    return static_cast<std::uint64_t>(bytes);
}

std::optional<std::string> environment_variable(const std::string& name) {
    if (name.empty()) {
        return std::nullopt;
    }
    const char* value = std::getenv(name.c_str());
    return value == nullptr ? std::nullopt : std::optional<std::string>(value);
}

bool is_valid_id(std::string_view id) noexcept {
    if (id.empty()) {
        return false;
    }
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

std::variant<std::vector<std::string>, std::string> split_shell_words(std::string_view text) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false; // distinguishes "" (an empty word) from no word at all
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (in_word) {
                words.push_back(std::move(word));
                word.clear();
                in_word = false;
            }
            ++i;
        } else if (c == '#' && !in_word) {
            // As in a shell (and dora's shlex split): '#' starting a word comments out the
            // rest of the line.
            const auto end = text.find('\n', i);
            i = end == std::string_view::npos ? text.size() : end;
        } else if (c == '\'') {
            const auto end = text.find('\'', i + 1);
            if (end == std::string_view::npos) {
                return std::string("unterminated single quote");
            }
            word.append(text.substr(i + 1, end - i - 1));
            in_word = true;
            i = end + 1;
        } else if (c == '"') {
            ++i;
            bool closed = false;
            while (i < text.size()) {
                const char d = text[i];
                if (d == '"') {
                    closed = true;
                    ++i;
                    break;
                }
                if (d == '\\' && i + 1 < text.size()) {
                    const char next = text[i + 1];
                    if (next == '"' || next == '\\' || next == '$' || next == '`') {
                        word.push_back(next);
                        i += 2;
                        continue;
                    }
                    if (next == '\n') {
                        i += 2;
                        continue;
                    }
                }
                word.push_back(d);
                ++i;
            }
            if (!closed) {
                return std::string("unterminated double quote");
            }
            in_word = true;
        } else if (c == '\\') {
            if (i + 1 >= text.size()) {
                return std::string("trailing backslash");
            }
            if (text[i + 1] != '\n') { // backslash-newline continues the line
                word.push_back(text[i + 1]);
                in_word = true;
            }
            i += 2;
        } else {
            word.push_back(c);
            in_word = true;
            ++i;
        }
    }
    if (in_word) {
        words.push_back(std::move(word));
    }
    return words;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            const std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
            row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates) {
    // Very long words are not typos of short ids; keep the quadratic distance cheap.
    constexpr std::size_t kMaxLength = 256;
    if (word.size() > kMaxLength) {
        return std::nullopt;
    }
    const std::string lowered = to_lower(word);
    std::optional<std::string> best;
    std::size_t best_distance = std::numeric_limits<std::size_t>::max();
    for (const auto& candidate : candidates) {
        if (candidate == word || candidate.size() > kMaxLength) {
            continue;
        }
        const std::size_t distance = edit_distance(lowered, to_lower(candidate));
        if (distance <= 2 && distance < word.size() && distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
    if (auto match = closest_match(word, candidates)) {
        return " (did you mean '" + *match + "'?)";
    }
    return {};
}

bool looks_like_timer(std::string_view text) noexcept {
    const bool reserved = text.starts_with("dora/") || text.starts_with("zeroflow/");
    return reserved && std::count(text.begin(), text.end(), '/') > 1;
}

std::optional<std::uint64_t> parse_unsigned(std::string_view text) noexcept {
    if (text.empty() ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

std::variant<Timer, std::string> parse_timer(std::string_view spec) {
    const std::string quoted = "'" + std::string(spec) + "'";
    std::string_view rest = spec;
    if (rest.starts_with("zeroflow/timer/")) {
        rest.remove_prefix(std::string_view("zeroflow/timer/").size());
    } else if (rest.starts_with("dora/timer/")) {
        rest.remove_prefix(std::string_view("dora/timer/").size());
    } else {
        return "malformed timer " + quoted + ": " + std::string(kTimerForms);
    }
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) {
        return "malformed timer " + quoted + ": " + std::string(kTimerForms);
    }
    const std::string_view unit = rest.substr(0, slash);
    std::string_view number = rest.substr(slash + 1);
    const bool negative = number.starts_with('-');
    if (negative) {
        number.remove_prefix(1);
    }
    const std::string not_positive =
        "invalid timer " + quoted + ": the period must be greater than zero";
    constexpr auto kMaxNanos = std::numeric_limits<std::int64_t>::max();

    if (unit == "millis" || unit == "secs") {
        const auto value = parse_unsigned(number);
        if (!value) {
            return "malformed timer " + quoted + ": '" + std::string(rest.substr(slash + 1)) +
                   "' is not a whole number of " + std::string(unit);
        }
        if (negative || *value == 0) {
            return not_positive;
        }
        const std::uint64_t scale = unit == "millis" ? 1'000'000ull : 1'000'000'000ull;
        if (*value > static_cast<std::uint64_t>(kMaxNanos) / scale) {
            return "invalid timer " + quoted + ": the period is too long";
        }
        return Timer{std::chrono::nanoseconds(static_cast<std::int64_t>(*value * scale)),
                     std::string(spec)};
    }
    if (unit == "hz") {
        double hz = 0;
        const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), hz);
        if (!is_decimal(number) || ec != std::errc{} || end != number.data() + number.size() ||
            !std::isfinite(hz)) {
            return "malformed timer " + quoted + ": '" + std::string(rest.substr(slash + 1)) +
                   "' is not a frequency like 30 or 0.5";
        }
        if (negative || hz <= 0) {
            return "invalid timer " + quoted + ": the frequency must be greater than zero";
        }
        if (hz > 1e6) {
            return "invalid timer " + quoted +
                   ": the period must be at least 1 µs (at most 1000000 Hz)";
        }
        const double nanos = std::round(1e9 / hz);
        if (!(nanos < 9.2e18)) {
            return "invalid timer " + quoted + ": the period is too long";
        }
        return Timer{std::chrono::nanoseconds(static_cast<std::int64_t>(nanos)), std::string(spec)};
    }
    return "malformed timer " + quoted + ": unknown unit '" + std::string(unit) + "'; " +
           std::string(kTimerForms);
}

} // namespace zeroflow::dataflow::detail

namespace zeroflow::dataflow {

std::optional<std::string> suggest(std::string_view word,
                                   const std::vector<std::string>& candidates) {
    return detail::closest_match(word, candidates);
}

} // namespace zeroflow::dataflow
