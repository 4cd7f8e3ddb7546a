// sensor-pipeline/sink: takes the filter's summaries and the camera's raw frames, checks the
// frame sequence of both (gaps are drops), measures end-to-end latency (now - capture time), and
// prints frames/s, p50/p99 latency and drops once a second and a one-line summary at the end.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include <zeroflow/node.hpp>

#include "frame.hpp"

namespace {

using sensor_pipeline::FrameHeader;
using sensor_pipeline::Summary;

/// Sequence and latency bookkeeping of one stream of frame counters.
struct Stream {
    std::uint64_t received = 0;
    std::uint64_t gaps = 0;       ///< counters skipped between two received frames
    std::uint64_t last_frame = 0; ///< 0 before the first
    std::vector<std::uint64_t> latencies_ns;

    void add(std::uint64_t frame, std::uint64_t capture_ns, std::uint64_t now_ns) {
        ++received;
        if (last_frame != 0 && frame > last_frame + 1) {
            gaps += frame - last_frame - 1;
        }
        last_frame = std::max(last_frame, frame);
        latencies_ns.push_back(now_ns > capture_ns ? now_ns - capture_ns : 0);
    }
};

/// The q-quantile (0..1) of `values` in microseconds; 0 when empty. Reorders `values`.
double percentile_us(std::vector<std::uint64_t>& values, double q) {
    if (values.empty()) {
        return 0.0;
    }
    const auto rank = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank),
                     values.end());
    return static_cast<double>(values[rank]) / 1000.0;
}

class Sink {
public:
    explicit Sink(zeroflow::Node& node) : node_(node) {}

    void on_summary(std::span<const std::byte> data, std::uint64_t now) {
        Summary summary;
        if (data.size() != sizeof(summary)) {
            ++malformed_;
            return;
        }
        std::memcpy(&summary, data.data(), sizeof(summary));
        summaries_.add(summary.frame, summary.capture_ns, now);
        window_.push_back(summaries_.latencies_ns.back());
        last_mean_ = summary.mean;
    }

    void on_image(std::span<const std::byte> data, std::uint64_t now) {
        FrameHeader header;
        if (data.size() < sizeof(header)) {
            ++malformed_;
            return;
        }
        std::memcpy(&header, data.data(), sizeof(header));
        images_.add(header.frame, header.capture_ns, now);
    }

    /// The once-a-second line: the last second's rate and latency, drops so far.
    void report_window(double seconds) {
        const double fps = seconds > 0 ? static_cast<double>(window_.size()) / seconds : 0.0;
        std::printf("sink: fps=%.1f latency_p50_us=%.1f latency_p99_us=%.1f drops=%llu "
                    "(summary gaps %llu, image gaps %llu, image dropped() %llu) mean=%.1f\n",
                    fps, percentile_us(window_, 0.50), percentile_us(window_, 0.99),
                    static_cast<unsigned long long>(drops()),
                    static_cast<unsigned long long>(summaries_.gaps),
                    static_cast<unsigned long long>(images_.gaps),
                    static_cast<unsigned long long>(node_.dropped("image")), last_mean_);
        std::fflush(stdout);
        window_.clear();
    }

    /// The final line (bench.sh and the README read it), then the details.
    void report_final(double seconds) {
        // n frames span n - 1 frame periods.
        const double fps = seconds > 0 && summaries_.received > 1
                               ? static_cast<double>(summaries_.received - 1) / seconds
                               : 0.0;
        std::printf("sink: frames=%llu fps=%.1f latency_p50_us=%.1f latency_p99_us=%.1f "
                    "drops=%llu\n",
                    static_cast<unsigned long long>(summaries_.received), fps,
                    percentile_us(summaries_.latencies_ns, 0.50),
                    percentile_us(summaries_.latencies_ns, 0.99),
                    static_cast<unsigned long long>(drops()));
        std::printf("sink: details: summary_gaps=%llu image_frames=%llu image_gaps=%llu "
                    "image_dropped=%llu image_latency_p50_us=%.1f image_latency_p99_us=%.1f "
                    "malformed=%llu\n",
                    static_cast<unsigned long long>(summaries_.gaps),
                    static_cast<unsigned long long>(images_.received),
                    static_cast<unsigned long long>(images_.gaps),
                    static_cast<unsigned long long>(node_.dropped("image")),
                    percentile_us(images_.latencies_ns, 0.50),
                    percentile_us(images_.latencies_ns, 0.99),
                    static_cast<unsigned long long>(malformed_));
        if (images_.gaps != node_.dropped("image")) {
            // Gaps also count frames the camera lost or that dropped upstream; say so.
            std::printf("sink: note: image gaps (%llu) != dropped(\"image\") (%llu)\n",
                        static_cast<unsigned long long>(images_.gaps),
                        static_cast<unsigned long long>(node_.dropped("image")));
        }
        std::fflush(stdout);
    }

private:
    /// Frames that did not reach the sink: through the filter, and directly.
    std::uint64_t drops() const { return summaries_.gaps + images_.gaps; }

    zeroflow::Node& node_;
    Stream summaries_;
    Stream images_;
    std::vector<std::uint64_t> window_;
    double last_mean_ = 0.0;
    std::uint64_t malformed_ = 0;
};

} // namespace

int main() {
    auto node = zeroflow::Node::from_env();
    if (!node) {
        std::fprintf(stderr, "sink: %s\n", node.error().message().c_str());
        return 1;
    }
    using Clock = std::chrono::steady_clock;
    constexpr auto kReportEvery = std::chrono::seconds(1);
    Sink sink(*node);
    const auto start = Clock::now();
    auto window_start = start;
    auto first_frame = Clock::time_point{};
    auto last_frame = Clock::time_point{};
    bool running = true;
    while (running) {
        const auto now = Clock::now();
        if (now - window_start >= kReportEvery) {
            sink.report_window(std::chrono::duration<double>(now - window_start).count());
            window_start = now;
        }
        auto maybe_event = node->next(kReportEvery - (now - window_start));
        if (!maybe_event) {
            continue;
        }
        auto& event = *maybe_event;
        switch (event.kind) {
        case zeroflow::EventKind::Input: {
            const auto received_ns = sensor_pipeline::monotonic_ns();
            if (event.id == "summary") {
                last_frame = Clock::now();
                if (first_frame == Clock::time_point{}) {
                    first_frame = last_frame;
                }
                sink.on_summary(event.data, received_ns);
            } else if (event.id == "image") {
                sink.on_image(event.data, received_ns);
            }
            break;
        }
        case zeroflow::EventKind::Error:
            std::fprintf(stderr, "sink: %.*s\n", static_cast<int>(event.message.size()),
                         event.message.data());
            break; // the stream then ends with Stop
        case zeroflow::EventKind::AllInputsClosed:
        case zeroflow::EventKind::Stop:
            running = false;
            break;
        default:
            break;
        }
    }
    // The rate over the span between the first and the last summary.
    sink.report_final(std::chrono::duration<double>(last_frame - first_frame).count());
    sensor_pipeline::print_cpu_time("sink");
    return 0;
}
