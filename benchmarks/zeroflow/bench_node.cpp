// Shared plumbing of the zeroflow benchmark nodes: arguments, events, loans, results.
#include "bench_node.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zeroflow/bench/driver.hpp>
#include <zeroflow/bench/stats.hpp>

namespace zeroflow::bench::zf {

namespace {

std::optional<std::uint64_t> parse_count(const std::string& text) {
    if (text.empty()) {
        return std::nullopt;
    }
    char* end = nullptr;
    errno = 0;
    const auto value = std::strtoull(text.c_str(), &end, 10);
    if (errno != 0 || end == nullptr || *end != '\0') {
        return std::nullopt;
    }
    return value;
}

std::optional<double> parse_seconds(const std::string& text) {
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || end == nullptr || *end != '\0' || !(value > 0.0)) {
        return std::nullopt;
    }
    return value;
}

} // namespace

std::expected<NodeArgs, std::string> parse_args(int argc, char** argv) {
    NodeArgs args;
    if (const char* env = std::getenv("ZEROFLOW_BENCH_RESULTS"); env != nullptr) {
        args.results = env;
    }
    for (int i = 1; i < argc; i += 2) {
        const std::string key = argv[i];
        if (i + 1 >= argc) {
            return std::unexpected("option " + key + " needs a value");
        }
        const std::string value = argv[i + 1];
        const auto bad = [&] { return std::unexpected("bad value '" + value + "' for " + key); };
        if (key == "--pattern") {
            args.pattern = value;
        } else if (key == "--mode") {
            const auto mode = parse_mode(value);
            if (!mode) {
                return bad();
            }
            args.mode = *mode;
        } else if (key == "--touch") {
            const auto touch = parse_touch(value);
            if (!touch) {
                return bad();
            }
            args.touch = *touch;
        } else if (key == "--size") {
            const auto size = parse_size(value);
            if (!size || *size < kControlSize) {
                return bad(); // the 8-byte timestamp header must fit
            }
            args.size = *size;
        } else if (key == "--samples" || key == "--warmup" || key == "--acks" ||
                   key == "--oversubscribed" || key == "--allow-drops") {
            const auto count = parse_count(value);
            if (!count) {
                return bad();
            }
            if (key == "--samples") {
                args.samples = *count;
            } else if (key == "--warmup") {
                args.warmup = *count;
            } else if (key == "--acks") {
                if (*count == 0 || *count > 64) {
                    return bad();
                }
                args.acks = static_cast<std::uint32_t>(*count);
            } else if (key == "--allow-drops") {
                args.allow_drops = *count != 0;
            } else {
                args.oversubscribed = *count != 0;
            }
        } else if (key == "--budget" || key == "--seconds") {
            const auto seconds = parse_seconds(value);
            if (!seconds) {
                return bad();
            }
            (key == "--budget" ? args.budget_s : args.seconds) = *seconds;
        } else if (key == "--note") {
            args.note = value;
        } else if (key == "--results") {
            args.results = value;
        } else {
            return std::unexpected("unknown option " + key);
        }
    }
    if (args.samples == 0) {
        return std::unexpected("--samples must be > 0");
    }
    return args;
}

int fail(std::string_view program, std::string_view message) {
    std::cerr << program << ": " << message << std::endl;
    return 1;
}

std::optional<Node> connect(std::string_view program) {
    auto node = Node::from_env();
    if (!node) {
        std::cerr << program << ": " << node.error().message() << std::endl;
        return std::nullopt;
    }
    return std::move(*node);
}

std::optional<Event> next_input(Node& node, StreamEnd& end) {
    auto event = node.next();
    switch (event.kind) {
    case EventKind::Input:
        return event;
    case EventKind::InputClosed:
        end.why = "input '" + std::string(event.id) + "' closed";
        break;
    case EventKind::AllInputsClosed:
        end.why = "all inputs closed";
        break;
    case EventKind::Stop:
        end.why = "stopped";
        break;
    case EventKind::Error:
        end.error = true;
        end.why = std::string(event.message);
        break;
    }
    return std::nullopt;
}

std::expected<Sample, Error> loan_retry(Node& node, std::string_view output, std::size_t bytes,
                                        std::uint64_t& retries) {
    auto sample = node.loan(output, bytes);
    if (sample || sample.error().kind() != ErrorKind::pool_exhausted) {
        return sample;
    }
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (std::uint64_t spin = 0;; ++spin) {
        ++retries;
        // Receivers hold every chunk: spin a little (they release within microseconds), then
        // yield the core, which on a 2-core machine may be the one a receiver needs.
        if (spin >= 64) {
            std::this_thread::yield();
        }
        sample = node.loan(output, bytes);
        if (sample || sample.error().kind() != ErrorKind::pool_exhausted) {
            return sample;
        }
        if ((spin & 1023U) == 0 && std::chrono::steady_clock::now() > give_up) {
            return sample;
        }
    }
}

void fit_budget(const NodeArgs& args, double per_iteration_ns, std::uint64_t& warmup,
                std::uint64_t& samples, std::string& note) {
    if (args.size < kBudgetMinSize && !args.oversubscribed) {
        return;
    }
    const double budget_ns = args.budget_s * 1e9;
    if (per_iteration_ns <= 0.0 ||
        per_iteration_ns * static_cast<double>(warmup + samples) <= budget_ns) {
        return;
    }
    // As the harness's driver does (detail::fit_budget): never below 50 samples.
    constexpr std::uint64_t kMinSamples = 50;
    const auto fits = static_cast<std::uint64_t>(budget_ns / per_iteration_ns);
    const std::uint64_t new_warmup =
        std::max<std::uint64_t>(12, std::min<std::uint64_t>(warmup, fits / 20));
    const std::uint64_t new_samples = std::min<std::uint64_t>(
        samples, std::max<std::uint64_t>(kMinSamples, fits > new_warmup ? fits - new_warmup : 0));
    if (new_samples == samples && new_warmup == warmup) {
        return;
    }
    note = join_notes(std::move(note),
                      (new_samples != samples ? "samples reduced from " + std::to_string(samples) +
                                                    " to " + std::to_string(new_samples) + ", "
                                              : std::string{}) +
                          "warm-up reduced from " + std::to_string(warmup) + " to " +
                          std::to_string(new_warmup) + " to fit the " +
                          std::to_string(static_cast<long>(args.budget_s)) + " s point budget");
    warmup = new_warmup;
    samples = new_samples;
}

PointResult latency_result(const NodeArgs& args, std::vector<std::int64_t> samples,
                           std::string note) {
    PointResult r;
    r.system = "zeroflow";
    r.mode = to_string(args.mode);
    r.touch = to_string(args.touch);
    r.pattern = args.pattern;
    r.size = args.size;
    r.samples = samples.size();
    r.latency = compute_percentiles(std::move(samples));
    r.note = join_notes(args.note, note);
    return r;
}

bool append_result(const std::string& path, const PointResult& point) {
    if (path.empty()) {
        std::cerr << "no results file: pass --results FILE or set ZEROFLOW_BENCH_RESULTS"
                  << std::endl;
        return false;
    }
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        std::cerr << "cannot open " << path << ": " << std::strerror(errno) << std::endl;
        return false;
    }
    struct stat st {};
    std::string text;
    if (::fstat(fd, &st) == 0 && st.st_size == 0) {
        text = header_line(read_host_info()) + "\n";
    }
    text += point_line(point) + "\n";
    const auto written = ::write(fd, text.data(), text.size());
    ::close(fd);
    if (written != static_cast<ssize_t>(text.size())) {
        std::cerr << "cannot write " << path << ": " << std::strerror(errno) << std::endl;
        return false;
    }
    std::cout << point_line(point) << std::endl; // also in the node's log
    return true;
}

std::string join_notes(std::string a, const std::string& b) {
    if (a.empty()) {
        return b;
    }
    if (!b.empty()) {
        a += "; " + b;
    }
    return a;
}

} // namespace zeroflow::bench::zf
