// sensor-pipeline/camera: on every timer tick, loans a frame in shared memory, writes a synthetic
// picture into all of it (a pattern that moves every frame) and sends it on `image` as what it
// is: a u8 array of shape {height, width, channels}, encoding "rgb8", with its frame number as
// a parameter.
//
//   args: [--width W] [--height H] [--channels C] [--frames N]   (default 1280 720 3, unbounded)
#include <cstddef>
#include <cstring>
#include <iostream>

#include <zeroflow/node.hpp>

#include "frame.hpp"

namespace {

using sensor_pipeline::FrameHeader;

/// Writes the whole frame: every row a constant byte that depends on the row and the frame, so
/// each frame differs from the last and every byte is touched (memset keeps it well under 1 ms
/// for 2.7 MB). The header then takes the first bytes.
void fill_frame(std::span<std::byte> payload, const FrameHeader& header) {
    const std::size_t row_bytes = std::size_t{header.width} * header.channels;
    for (std::uint32_t y = 0; y < header.height; ++y) {
        const auto value = static_cast<unsigned char>((y + header.frame * 3) & 0xffU);
        std::memset(payload.data() + std::size_t{y} * row_bytes, value, row_bytes);
    }
    std::memcpy(payload.data(), &header, sizeof(header));
}

} // namespace

int main(int argc, char** argv) {
    std::uint64_t width = 1280;
    std::uint64_t height = 720;
    std::uint64_t channels = 3;
    std::uint64_t max_frames = 0; // 0: until stopped
    if (!sensor_pipeline::parse_uint_arg(argc, argv, "--width", width) ||
        !sensor_pipeline::parse_uint_arg(argc, argv, "--height", height) ||
        !sensor_pipeline::parse_uint_arg(argc, argv, "--channels", channels) ||
        !sensor_pipeline::parse_uint_arg(argc, argv, "--frames", max_frames)) {
        return 2;
    }
    if (width > 65536 || height > 65536 || channels > 16 ||
        width * height * channels < sizeof(FrameHeader)) {
        std::cerr << "camera: frame " << width << "x" << height << "x" << channels
                  << " is out of range (at most 65536x65536x16, at least " << sizeof(FrameHeader)
                  << " bytes)\n";
        return 2;
    }
    const std::size_t frame_bytes = width * height * channels;

    auto node = zeroflow::Node::from_env();
    if (!node) {
        std::cerr << "camera: " << node.error().message() << "\n";
        return 1;
    }
    std::cout << "camera: " << width << "x" << height << "x" << channels << " frames ("
              << frame_bytes << " bytes)" << std::endl;
    // Resolved once: a typo in the output's name fails here, not at the first frame.
    auto image = node->output("image");
    if (!image) {
        std::cerr << "camera: " << image.error().message() << "\n";
        return 1;
    }

    std::uint64_t sent = 0;
    std::uint64_t skipped = 0; // ticks without a free chunk: every frame still in flight
    int status = 0;
    for (auto event = node->next(); event.kind != zeroflow::EventKind::Stop; event = node->next()) {
        if (event.kind == zeroflow::EventKind::Error) {
            std::cerr << "camera: " << event.message << "\n";
            continue; // the stream ends with Stop
        }
        if (event.kind != zeroflow::EventKind::Input) {
            continue;
        }
        auto sample = image->loan<std::uint8_t>(frame_bytes);
        if (!sample) {
            if (sample.error().kind() == zeroflow::ErrorKind::pool_exhausted) {
                ++skipped; // receivers hold every chunk: lose this frame, like a real camera
                continue;
            }
            if (sample.error().kind() != zeroflow::ErrorKind::closed) {
                std::cerr << "camera: " << sample.error().message() << "\n";
                status = 1;
            }
            break;
        }
        FrameHeader header;
        header.frame = sent + 1;
        header.width = static_cast<std::uint32_t>(width);
        header.height = static_cast<std::uint32_t>(height);
        header.channels = static_cast<std::uint32_t>(channels);
        fill_frame(sample->data(), header);
        sample->set_shape({height, width, channels}).set_encoding(channels == 3 ? "rgb8" : "");
        sample->metadata().set("frame", header.frame);
        // The capture time is when the frame is complete: what follows is the pipeline's.
        header.capture_ns = sensor_pipeline::monotonic_ns();
        std::memcpy(sample->data().data(), &header, sizeof(header));
        if (auto ok = node->send(std::move(*sample)); !ok) {
            if (ok.error().kind() != zeroflow::ErrorKind::closed) {
                std::cerr << "camera: " << ok.error().message() << "\n";
                status = 1;
            }
            break;
        }
        ++sent;
        if (max_frames != 0 && sent == max_frames) {
            break; // leaving closes `image`: downstream sees InputClosed
        }
    }
    std::cout << "camera: sent=" << sent << " skipped_no_chunk=" << skipped
              << " dropped_ticks=" << node->dropped("tick") << std::endl;
    sensor_pipeline::print_cpu_time("camera");
    return status;
}
