// Point specs, their encoding for the child, and the peers' shared command line.
#include <charconv>
#include <cstdlib>

#include <zeroflow/bench/point.hpp>

namespace zeroflow::bench {

std::string_view to_string(Mode mode) noexcept {
    return mode == Mode::busy ? "busy" : "blocking";
}
std::string_view to_string(Touch touch) noexcept {
    return touch == Touch::transport ? "transport" : "full";
}
std::string_view to_string(Pattern pattern) noexcept {
    switch (pattern) {
    case Pattern::pingpong:
        return "pingpong";
    case Pattern::oneway:
        return "oneway";
    case Pattern::throughput:
        return "throughput";
    }
    return "?";
}

std::optional<Mode> parse_mode(std::string_view text) noexcept {
    if (text == "busy") {
        return Mode::busy;
    }
    if (text == "blocking") {
        return Mode::blocking;
    }
    return std::nullopt;
}
std::optional<Touch> parse_touch(std::string_view text) noexcept {
    if (text == "transport") {
        return Touch::transport;
    }
    if (text == "full") {
        return Touch::full;
    }
    return std::nullopt;
}
std::optional<Pattern> parse_pattern(std::string_view text) noexcept {
    for (const Pattern p : {Pattern::pingpong, Pattern::oneway, Pattern::throughput}) {
        if (text == to_string(p)) {
            return p;
        }
    }
    return std::nullopt;
}

std::optional<std::uint64_t> parse_size(std::string_view text) noexcept {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end == text.data()) {
        return std::nullopt;
    }
    std::string_view unit{end, static_cast<std::size_t>(text.data() + text.size() - end)};
    if (unit.empty() || unit == "B") {
        return value;
    }
    if (unit == "K" || unit == "KiB") {
        return value * 1024;
    }
    if (unit == "M" || unit == "MiB") {
        return value * 1024 * 1024;
    }
    return std::nullopt;
}

std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        const auto comma = text.find(',');
        const auto item = text.substr(0, comma);
        if (!item.empty()) {
            out.emplace_back(item);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        text.remove_prefix(comma + 1);
    }
    return out;
}

std::string encode_point(const PointSpec& p) {
    return std::string(to_string(p.pattern)) + ":" + std::string(to_string(p.mode)) + ":" +
           std::string(to_string(p.touch)) + ":" + std::to_string(p.size) + ":" +
           std::to_string(p.samples) + ":" + std::to_string(p.warmup) + ":" +
           std::to_string(p.seconds) + ":" + std::to_string(p.budget_s);
}

std::optional<PointSpec> decode_point(std::string_view text) {
    std::vector<std::string> parts;
    while (true) {
        const auto colon = text.find(':');
        parts.emplace_back(text.substr(0, colon));
        if (colon == std::string_view::npos) {
            break;
        }
        text.remove_prefix(colon + 1);
    }
    if (parts.size() != 8) {
        return std::nullopt;
    }
    PointSpec p;
    const auto pattern = parse_pattern(parts[0]);
    const auto mode = parse_mode(parts[1]);
    const auto touch = parse_touch(parts[2]);
    const auto size = parse_size(parts[3]);
    const auto samples = parse_size(parts[4]);
    const auto warmup = parse_size(parts[5]);
    if (!pattern || !mode || !touch || !size || !samples || !warmup) {
        return std::nullopt;
    }
    p.pattern = *pattern;
    p.mode = *mode;
    p.touch = *touch;
    p.size = *size;
    p.samples = *samples;
    p.warmup = *warmup;
    p.seconds = std::strtod(parts[6].c_str(), nullptr);
    p.budget_s = std::strtod(parts[7].c_str(), nullptr);
    return p;
}

namespace {

template <class T, class Parse>
std::expected<std::vector<T>, std::string> parse_list(std::string_view flag, std::string_view value,
                                                      Parse parse) {
    std::vector<T> out;
    for (const auto& item : split_list(value)) {
        const auto parsed = parse(item);
        if (!parsed) {
            return std::unexpected("bad value '" + item + "' for " + std::string(flag));
        }
        out.push_back(*parsed);
    }
    if (out.empty()) {
        return std::unexpected("empty list for " + std::string(flag));
    }
    return out;
}

} // namespace

std::string options_usage(std::string_view program) {
    return "usage: " + std::string(program) +
           " [--sizes LIST] [--throughput-sizes LIST] [--modes busy,blocking]\n"
           "       [--touch transport,full] [--patterns pingpong,oneway,throughput]\n"
           "       [--samples N] [--warmup N] [--seconds S] [--budget S] [--no-header]\n"
           "--budget: seconds a latency point of >= 16 MiB may take; beyond it samples shrink\n"
           "          (recorded in the point's note).\n"
           "sizes: 8, 4K, 1M, 64M ... (K = KiB, M = MiB). Prints JSON lines on stdout.\n";
}

std::expected<Options, std::string> parse_options(int argc, char** argv) {
    Options o;
    o.sizes = {8, 64, 4096, 65536, 1U << 20, 4U << 20, 16U << 20, 64U << 20};
    o.throughput_sizes = {8, 1U << 20};
    o.modes = {Mode::busy, Mode::blocking};
    o.touches = {Touch::transport, Touch::full};
    o.patterns = {Pattern::pingpong, Pattern::oneway, Pattern::throughput};
    for (int i = 1; i < argc; ++i) {
        const std::string_view flag = argv[i];
        if (flag == "--no-header") {
            o.header = false;
            continue;
        }
        if (flag == "-h" || flag == "--help") {
            return std::unexpected("help");
        }
        if (flag.rfind("--", 0) != 0 || i + 1 >= argc) {
            return std::unexpected("unexpected argument '" + std::string(flag) + "'");
        }
        const std::string_view value = argv[++i];
        const auto number = [&](std::uint64_t& target) -> std::optional<std::string> {
            const auto parsed = parse_size(value);
            if (!parsed) {
                return "bad number '" + std::string(value) + "' for " + std::string(flag);
            }
            target = *parsed;
            return std::nullopt;
        };
        std::optional<std::string> error;
        if (flag == "--sizes" || flag == "--throughput-sizes") {
            auto list = parse_list<std::uint64_t>(flag, value, parse_size);
            if (!list) {
                return std::unexpected(list.error());
            }
            for (const auto size : *list) {
                if (size < 8) {
                    return std::unexpected("sizes must be at least 8 bytes (the header)");
                }
            }
            (flag == "--sizes" ? o.sizes : o.throughput_sizes) = *list;
        } else if (flag == "--modes") {
            auto list = parse_list<Mode>(flag, value, parse_mode);
            if (!list) {
                return std::unexpected(list.error());
            }
            o.modes = *list;
        } else if (flag == "--touch") {
            auto list = parse_list<Touch>(flag, value, parse_touch);
            if (!list) {
                return std::unexpected(list.error());
            }
            o.touches = *list;
        } else if (flag == "--patterns") {
            auto list = parse_list<Pattern>(flag, value, parse_pattern);
            if (!list) {
                return std::unexpected(list.error());
            }
            o.patterns = *list;
        } else if (flag == "--samples") {
            error = number(o.samples);
        } else if (flag == "--warmup") {
            error = number(o.warmup);
        } else if (flag == "--seconds" || flag == "--budget") {
            char* end = nullptr;
            const std::string copy(value);
            const double seconds = std::strtod(copy.c_str(), &end);
            if (end == copy.c_str() || *end != '\0' || seconds <= 0) {
                return std::unexpected("bad seconds '" + copy + "' for " + std::string(flag));
            }
            (flag == "--seconds" ? o.seconds : o.budget_s) = seconds;
        } else if (flag == "--role") {
            o.role = value;
        } else if (flag == "--point") {
            o.point = value;
        } else if (flag == "--cpu") {
            std::uint64_t cpu = 0;
            error = number(cpu);
            o.cpu = static_cast<int>(cpu);
        } else {
            o.extra.emplace(std::string(flag.substr(2)), std::string(value));
        }
        if (error) {
            return std::unexpected(*error);
        }
    }
    if (o.samples == 0) {
        return std::unexpected("--samples must be at least 1");
    }
    return o;
}

std::vector<PointSpec> expand_points(const Options& o) {
    std::vector<PointSpec> out;
    const auto add = [&](Pattern pattern, Mode mode, Touch touch, std::uint64_t size) {
        PointSpec p;
        p.pattern = pattern;
        p.mode = mode;
        p.touch = touch;
        p.size = size;
        p.samples = o.samples;
        p.warmup = o.warmup;
        p.seconds = o.seconds;
        p.budget_s = o.budget_s;
        out.push_back(p);
    };
    for (const Pattern pattern : o.patterns) {
        if (pattern == Pattern::throughput) {
            continue;
        }
        for (const Mode mode : o.modes) {
            for (const Touch touch : o.touches) {
                for (const auto size : o.sizes) {
                    add(pattern, mode, touch, size);
                }
            }
        }
    }
    for (const Pattern pattern : o.patterns) {
        if (pattern != Pattern::throughput) {
            continue;
        }
        for (const Mode mode : o.modes) {
            for (const Touch touch : o.touches) {
                for (const auto size : o.throughput_sizes) {
                    add(pattern, mode, touch, size);
                }
            }
        }
    }
    return out;
}

} // namespace zeroflow::bench
