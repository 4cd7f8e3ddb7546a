// sensor-pipeline: what the camera, filter and sink nodes agree on (the frame header and the
// summary message), plus the small helpers they share (clock, arguments, CPU-time report).
#pragma once

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string_view>
#include <type_traits>

#include <sys/resource.h>

namespace sensor_pipeline {

/// Written by the camera at the start of every frame's payload; the pixels follow it (the
/// header overwrites the first pixels, so the payload is exactly width * height * channels).
struct FrameHeader {
    std::uint64_t frame = 0;      ///< frame counter, from 1
    std::uint32_t width = 0;      ///< pixels
    std::uint32_t height = 0;     ///< pixels
    std::uint32_t channels = 0;   ///< bytes per pixel
    std::uint32_t reserved = 0;   ///< zero
    std::uint64_t capture_ns = 0; ///< CLOCK_MONOTONIC when the frame was complete
};
static_assert(std::is_trivially_copyable_v<FrameHeader> && sizeof(FrameHeader) == 32);

/// What the filter sends on `summary` for every frame it reads.
struct Summary {
    std::uint64_t frame = 0;      ///< the frame's counter
    std::uint64_t capture_ns = 0; ///< copied from the frame's header
    std::uint64_t filter_ns = 0;  ///< CLOCK_MONOTONIC when the filter sent the summary
    double mean = 0.0;            ///< mean byte value over the subsample, 0..255
};
static_assert(std::is_trivially_copyable_v<Summary> && sizeof(Summary) == 32);

/// CLOCK_MONOTONIC in nanoseconds (the clock the runtime stamps messages with).
inline std::uint64_t monotonic_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000U +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

/// Reads `--name VALUE` as a positive integer into `out`; false (and a message on stderr) when
/// the value is missing or malformed. Other arguments are left to the caller.
inline bool parse_uint_arg(int argc, char** argv, std::string_view name, std::uint64_t& out) {
    for (int i = 1; i < argc; ++i) {
        if (argv[i] != name) {
            continue;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "%.*s needs a value\n", static_cast<int>(name.size()),
                         name.data());
            return false;
        }
        const std::string_view text = argv[i + 1];
        std::uint64_t value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || end != text.data() + text.size() || value == 0) {
            std::fprintf(stderr, "%.*s: '%s' is not a positive integer\n",
                         static_cast<int>(name.size()), name.data(), argv[i + 1]);
            return false;
        }
        out = value;
    }
    return true;
}

/// Prints this process's CPU time so far as `<who>: cpu_user_us=U cpu_sys_us=S` (bench.sh reads
/// it from the node logs).
inline void print_cpu_time(const char* who) {
    rusage usage{};
    if (::getrusage(RUSAGE_SELF, &usage) != 0) {
        return;
    }
    const auto us = [](const timeval& tv) {
        return static_cast<long long>(tv.tv_sec) * 1'000'000LL + tv.tv_usec;
    };
    std::printf("%s: cpu_user_us=%lld cpu_sys_us=%lld\n", who, us(usage.ru_utime),
                us(usage.ru_stime));
    std::fflush(stdout);
}

} // namespace sensor_pipeline
