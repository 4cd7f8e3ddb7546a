// Parsing and printing of command-line durations.
#include "commands/duration.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

namespace zeroflow::cli {

namespace {

constexpr std::pair<std::string_view, double> kUnits[] = {
    {"us", 1e-6}, {"µs", 1e-6},  {"ms", 1e-3},  {"s", 1.0}, {"sec", 1.0},
    {"m", 60.0},  {"min", 60.0}, {"h", 3600.0}, {"", 1.0},
};

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return text;
}

std::string how() {
    return "write a number and a unit, e.g. 500ms, 5s, 1.5s, 2m or 1h (a bare number is "
           "seconds)";
}

} // namespace

std::expected<double, std::string> parse_duration(std::string_view text) {
    const std::string_view written = trim(text);
    std::size_t digits = 0;
    while (digits < written.size() &&
           ((written[digits] >= '0' && written[digits] <= '9') || written[digits] == '.')) {
        ++digits;
    }
    const std::string shown = "'" + std::string(written) + "'";
    if (written.empty()) {
        return std::unexpected("an empty duration: " + how());
    }
    if (written.front() == '-') {
        return std::unexpected(shown + " is negative: a duration is 0 or more");
    }
    if (digits == 0) {
        return std::unexpected(shown + " is not a duration: " + how());
    }
    double value = 0;
    const auto [end, ec] = std::from_chars(written.data(), written.data() + digits, value);
    if (ec != std::errc{} || end != written.data() + digits || !std::isfinite(value)) {
        return std::unexpected(shown + " is not a duration: " + how());
    }
    const std::string_view unit = trim(written.substr(digits));
    for (const auto& [name, factor] : kUnits) {
        if (unit == name) {
            return value * factor;
        }
    }
    return std::unexpected(shown + " has an unknown unit '" + std::string(unit) + "': " + how());
}

std::string format_duration(double seconds) {
    auto number = [](double v) {
        char buffer[32];
        std::snprintf(buffer, sizeof(buffer), "%.6g", v);
        return std::string(buffer);
    };
    if (seconds != 0 && seconds < 1) {
        return number(seconds * 1000) + "ms";
    }
    if (seconds >= 3600 && std::fmod(seconds, 3600) == 0) {
        return number(seconds / 3600) + "h";
    }
    if (seconds >= 60 && std::fmod(seconds, 60) == 0) {
        return number(seconds / 60) + "m";
    }
    return number(seconds) + "s";
}

} // namespace zeroflow::cli
