// libFuzzer target: the frame decoder and request-field access on arbitrary byte streams.
// Checks, beyond "no crash, no UB, no exception": feeding the stream whole or in small pieces
// gives the same frames and errors, and every decoded frame and every error reply re-encodes
// into a frame that decodes again to the same JSON text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include <zeroflow/protocol/frame.hpp>
#include <zeroflow/protocol/message.hpp>

namespace zp = zeroflow::protocol;

namespace {

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

// The frames and final error of a decoder, as comparable text.
struct Outcome {
    std::vector<std::string> frames; // encode_frame() of each decoded object
    std::string error;               // "<kind>: <message>", empty when none
};

void drain(zp::FrameDecoder& decoder, Outcome& out) {
    while (out.error.empty()) {
        auto next = decoder.next();
        if (!next) {
            out.error = std::string(zp::to_string(next.error().code)) + ": " + next.error().message;
            return;
        }
        if (!*next) {
            return;
        }
        out.frames.push_back(zp::encode_frame(**next));
    }
}

Outcome decode(const std::uint8_t* data, std::size_t size, std::size_t chunk,
               std::size_t max_frame) {
    zp::FrameDecoder decoder(max_frame);
    Outcome out;
    const auto* bytes = reinterpret_cast<const char*>(data);
    for (std::size_t at = 0; at < size; at += chunk) {
        const std::size_t n = size - at < chunk ? size - at : chunk;
        decoder.feed(std::span<const char>(bytes + at, n));
        drain(decoder, out);
    }
    drain(decoder, out);
    return out;
}

// Decodes one frame produced by encode_frame(); it must come back and re-encode identically.
void check_reencodes(const std::string& frame) {
    zp::FrameDecoder decoder(std::numeric_limits<std::uint32_t>::max());
    decoder.feed(std::span<const char>(frame.data(), frame.size()));
    auto next = decoder.next();
    check(next.has_value() && next->has_value());
    check(zp::encode_frame(**next) == frame);
    check(decoder.buffered() == 0);
}

// What a request handler does with a frame: op, typed fields, replies.
void handle(const std::string& frame_text) {
    zp::FrameDecoder decoder(std::numeric_limits<std::uint32_t>::max());
    decoder.feed(std::span<const char>(frame_text.data(), frame_text.size()));
    const zp::Json request = **decoder.next();

    std::vector<zp::Json> replies;
    auto op = zp::get_op(request);
    replies.push_back(op ? zp::ok_reply({{"op", *op}}) : zp::error_reply(op.error()));
    const auto add = [&replies](const auto& result) {
        if (!result) {
            check(result.error().code == zp::ErrorCode::bad_request);
            replies.push_back(zp::error_reply(result.error()));
        }
    };
    int budget = 16; // bound the work per input
    for (const auto& [key, value] : request.items()) {
        if (--budget < 0) {
            break;
        }
        add(zp::get_string(request, key));
        add(zp::get_optional_string(request, key));
        add(zp::get_number(request, key));
        add(zp::get_optional_number(request, key));
        add(zp::get_uint(request, key));
        add(zp::get_optional_uint(request, key));
        add(zp::get_bool(request, key));
        add(zp::get_optional_bool(request, key));
        add(zp::get_object(request, key));
        add(zp::get_array(request, key));
    }
    (void)zp::check_protocol_version(request);
    (void)zp::unwrap_reply(request);
    replies.push_back(zp::ok_reply(request));
    for (const auto& reply : replies) {
        check_reencodes(zp::encode_frame(reply));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const Outcome whole = decode(data, size, size == 0 ? 1 : size, zp::kDefaultMaxFrameSize);
    const Outcome pieces = decode(data, size, size % 7 + 1, zp::kDefaultMaxFrameSize);
    check(whole.frames == pieces.frames);
    check(whole.error == pieces.error);
    (void)decode(data, size, size % 3 + 1, 64); // small limit: frame_too_large paths

    for (const auto& frame : whole.frames) {
        check_reencodes(frame);
        handle(frame);
    }
    if (!whole.error.empty()) {
        check_reencodes(
            zp::encode_frame(zp::error_reply(zp::DaemonErrorKind::bad_frame, whole.error)));
    }
    return 0;
}
