// sensor-pipeline/filter: reads every frame where it lies in shared memory (no copy), reduces it
// to its mean brightness over a subsample and sends a small Summary on `summary`.
#include <cstring>
#include <iostream>

#include <zeroflow/node.hpp>

#include "frame.hpp"

namespace {

using sensor_pipeline::FrameHeader;

/// Mean of every 8th byte of every 8th row, past the header. `payload` is width * height *
/// channels bytes (checked by the caller).
double mean_brightness(std::span<const std::byte> payload, const FrameHeader& header) {
    constexpr std::size_t kStep = 8;
    const std::size_t row_bytes = std::size_t{header.width} * header.channels;
    std::uint64_t sum = 0;
    std::uint64_t count = 0;
    for (std::size_t y = 0; y < header.height; y += kStep) {
        const auto* row = payload.data() + y * row_bytes;
        const std::size_t first = y == 0 ? sizeof(FrameHeader) : 0;
        for (std::size_t x = first; x < row_bytes; x += kStep) {
            sum += std::to_integer<std::uint8_t>(row[x]);
            ++count;
        }
    }
    return count == 0 ? 0.0 : static_cast<double>(sum) / static_cast<double>(count);
}

} // namespace

int main() {
    auto node = zeroflow::Node::from_env();
    if (!node) {
        std::cerr << "filter: " << node.error().message() << "\n";
        return 1;
    }
    auto image = node->input("image");
    auto summary_out = node->output("summary");
    if (!image || !summary_out) {
        std::cerr << "filter: " << (!image ? image.error() : summary_out.error()).message() << "\n";
        return 1;
    }
    std::uint64_t frames = 0;
    std::uint64_t malformed = 0;
    int status = 0;
    for (auto event = node->next(); event.kind != zeroflow::EventKind::Stop; event = node->next()) {
        if (event.kind == zeroflow::EventKind::Error) {
            std::cerr << "filter: " << event.message << "\n";
            continue;
        }
        if (event.kind != zeroflow::EventKind::Input || !image->matches(event)) {
            continue;
        }
        // The message says what it is (u8, {height, width, channels}); the runtime checked
        // that the shape matches the size. Shared memory is not trusted, so the in-band header
        // must agree with it too.
        const auto shape = event.shape();
        FrameHeader header;
        if (event.dtype() != zeroflow::DataType::u8 || shape.size() != 3 ||
            event.data.size() < sizeof(header)) {
            ++malformed;
            continue;
        }
        std::memcpy(&header, event.data.data(), sizeof(header));
        if (header.height != shape[0] || header.width != shape[1] || header.channels != shape[2]) {
            ++malformed;
            continue;
        }
        sensor_pipeline::Summary summary;
        summary.frame = header.frame;
        summary.capture_ns = header.capture_ns;
        summary.mean = mean_brightness(event.data, header);
        event = zeroflow::Event(); // hand the frame back before sending
        summary.filter_ns = sensor_pipeline::monotonic_ns();
        if (auto ok = summary_out->send(std::as_bytes(std::span(&summary, 1))); !ok) {
            if (ok.error().kind() == zeroflow::ErrorKind::closed) {
                break;
            }
            if (ok.error().kind() != zeroflow::ErrorKind::pool_exhausted) {
                std::cerr << "filter: " << ok.error().message() << "\n";
                status = 1;
                break;
            }
        }
        ++frames;
    }
    std::cout << "filter: frames=" << frames << " malformed=" << malformed
              << " dropped_image=" << image->dropped() << std::endl;
    sensor_pipeline::print_cpu_time("filter");
    return status;
}
