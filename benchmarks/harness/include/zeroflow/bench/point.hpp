// What one benchmark point is (pattern, mode, touch, size, counts) and the shared command
// line of the peer programs (bench_raw, bench_iceoryx, bench_socket).
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zeroflow::bench {

enum class Mode { busy, blocking };
enum class Touch { transport, full };
enum class Pattern { pingpong, oneway, throughput };

[[nodiscard]] std::string_view to_string(Mode mode) noexcept;
[[nodiscard]] std::string_view to_string(Touch touch) noexcept;
[[nodiscard]] std::string_view to_string(Pattern pattern) noexcept;
[[nodiscard]] std::optional<Mode> parse_mode(std::string_view text) noexcept;
[[nodiscard]] std::optional<Touch> parse_touch(std::string_view text) noexcept;
[[nodiscard]] std::optional<Pattern> parse_pattern(std::string_view text) noexcept;

/// "8", "4K", "4KiB", "1M", "64MiB" (K = 1024, M = 1024^2) -> bytes; nullopt if malformed.
[[nodiscard]] std::optional<std::uint64_t> parse_size(std::string_view text) noexcept;

/// One point to measure.
struct PointSpec {
    Pattern pattern{Pattern::pingpong};
    Mode mode{Mode::busy};
    Touch touch{Touch::transport};
    std::uint64_t size{8};
    std::uint64_t samples{10'000}; ///< latency samples kept after warm-up
    std::uint64_t warmup{1'000};   ///< iterations measured and thrown away first
    double seconds{1.0};           ///< throughput duration
    double budget_s{20.0};         ///< wall-time budget of a >= 16 MiB point (samples shrink)
};

/// "pattern:mode:touch:size:samples:warmup:seconds:budget" (passed to the child).
[[nodiscard]] std::string encode_point(const PointSpec& point);
[[nodiscard]] std::optional<PointSpec> decode_point(std::string_view text);

/// The peers' command line.
///   --sizes LIST             latency sizes (default 8,64,4K,64K,1M,4M,16M,64M)
///   --throughput-sizes LIST  throughput sizes (default 8,1M)
///   --modes LIST             busy,blocking
///   --touch LIST             transport,full
///   --patterns LIST          pingpong,oneway,throughput
///   --samples N --warmup N   (default 10000 / 1000)
///   --seconds S              throughput duration (default 1)
///   --budget S               wall-time budget of a >= 16 MiB latency point (default 20)
///   --no-header              do not print the header line
///   --role child --point P --cpu N   (internal: the spawned partner)
/// Anything else of the form --key value lands in `extra` for the peer to interpret.
struct Options {
    std::vector<std::uint64_t> sizes;
    std::vector<std::uint64_t> throughput_sizes;
    std::vector<Mode> modes;
    std::vector<Touch> touches;
    std::vector<Pattern> patterns;
    std::uint64_t samples{10'000};
    std::uint64_t warmup{1'000};
    double seconds{1.0};
    double budget_s{20.0};
    bool header{true};
    std::string role; ///< empty for the parent
    std::string point;
    int cpu{-1};
    std::map<std::string, std::string, std::less<>> extra;
};

/// Parses argv; the error says what was wrong (print it with the usage, exit 2).
[[nodiscard]] std::expected<Options, std::string> parse_options(int argc, char** argv);

/// The usage text for the shared options.
[[nodiscard]] std::string options_usage(std::string_view program);

/// The points the options ask for, latency first, then throughput.
[[nodiscard]] std::vector<PointSpec> expand_points(const Options& options);

/// Splits "a,b,c".
[[nodiscard]] std::vector<std::string> split_list(std::string_view text);

} // namespace zeroflow::bench
