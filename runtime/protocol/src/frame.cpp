// Frame encoding and the incremental, never-throwing frame decoder.
#include <cstdint>
#include <utility>

#include <zeroflow/protocol/frame.hpp>

namespace zeroflow::protocol {
namespace {

constexpr std::size_t kCompactThreshold = std::size_t{64} * 1024;

std::uint32_t read_length(const char* p) noexcept {
    const auto byte = [p](std::size_t i) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(p[i]));
    };
    return byte(0) | (byte(1) << 8) | (byte(2) << 16) | (byte(3) << 24);
}

bool is_json_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// What a JSON text starting with `c` would be, for "must hold a JSON object, not ..." messages.
std::string_view describe_start(char c) noexcept {
    switch (c) {
    case '[':
        return "an array";
    case '"':
        return "a string";
    case 't':
    case 'f':
        return "a boolean";
    case 'n':
        return "null";
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            return "a number";
        }
        return "something else";
    }
}

// Cheap structural checks before the real parse: an object at the top, nesting bounded.
// Returns an error message, or an empty string when the parser may go ahead.
std::string check_shape(std::string_view body) {
    std::size_t i = 0;
    while (i < body.size() && is_json_space(body[i])) {
        ++i;
    }
    if (i == body.size()) {
        return "frame holds no JSON (empty or only whitespace)";
    }
    if (body[i] != '{') {
        return "frame must hold a JSON object, not " + std::string(describe_start(body[i]));
    }
    std::size_t depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (; i < body.size(); ++i) {
        const char c = body[i];
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > kMaxNestingDepth) {
                return "frame nests arrays/objects deeper than " +
                       std::to_string(kMaxNestingDepth) + " levels";
            }
        } else if ((c == '}' || c == ']') && depth > 0) {
            --depth;
        }
    }
    return {};
}

// nlohmann's what() starts with "[json.exception.parse_error.101] "; people need the rest.
std::string strip_exception_prefix(const char* what) {
    std::string_view text(what);
    if (!text.empty() && text.front() == '[') {
        if (const auto end = text.find("] "); end != std::string_view::npos) {
            text.remove_prefix(end + 2);
        }
    }
    return std::string(text);
}

} // namespace

std::string encode_frame(const Json& message) {
    // replace: a user's invalid UTF-8 echoed in a reply must not throw here.
    const std::string body = message.dump(-1, ' ', false, Json::error_handler_t::replace);
    const auto size = static_cast<std::uint32_t>(body.size());
    std::string frame;
    frame.reserve(kFrameHeaderSize + body.size());
    for (int shift = 0; shift < 32; shift += 8) {
        frame.push_back(static_cast<char>((size >> shift) & 0xFFu));
    }
    frame += body;
    return frame;
}

std::optional<std::size_t> find_invalid_utf8(std::string_view text) noexcept {
    const auto at = [&text](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    std::size_t i = 0;
    const std::size_t n = text.size();
    while (i < n) {
        const unsigned char c = at(i);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        unsigned char lo = 0x80; // allowed range of the second byte (Unicode table 3-7)
        unsigned char hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0) {
                lo = 0xA0; // no overlong forms
            } else if (c == 0xED) {
                hi = 0x9F; // no surrogates
            }
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0) {
                lo = 0x90;
            } else if (c == 0xF4) {
                hi = 0x8F; // nothing above U+10FFFF
            }
        } else {
            return i;
        }
        if (n - i < len) {
            return i;
        }
        if (at(i + 1) < lo || at(i + 1) > hi) {
            return i;
        }
        for (std::size_t k = 2; k < len; ++k) {
            if (at(i + k) < 0x80 || at(i + k) > 0xBF) {
                return i;
            }
        }
        i += len;
    }
    return std::nullopt;
}

FrameDecoder::FrameDecoder(std::size_t max_frame) noexcept : max_frame_(max_frame) {}

void FrameDecoder::feed(std::span<const char> bytes) {
    if (error_) {
        return;
    }
    if (start_ == buffer_.size()) {
        buffer_.clear();
        start_ = 0;
    } else if (start_ >= kCompactThreshold && start_ * 2 >= buffer_.size()) {
        buffer_.erase(0, start_);
        start_ = 0;
    }
    buffer_.append(bytes.data(), bytes.size());
}

std::expected<std::optional<Json>, ProtocolError> FrameDecoder::fail(ErrorCode code,
                                                                     std::string message) {
    error_ = ProtocolError{code, std::move(message)};
    buffer_.clear();
    buffer_.shrink_to_fit();
    start_ = 0;
    return std::unexpected(*error_);
}

std::expected<std::optional<Json>, ProtocolError> FrameDecoder::next() noexcept {
    try {
        if (error_) {
            return std::unexpected(*error_);
        }
        if (buffered() < kFrameHeaderSize) {
            return std::optional<Json>{};
        }
        const std::uint32_t length = read_length(buffer_.data() + start_);
        if (length > max_frame_) {
            return fail(ErrorCode::frame_too_large, "frame of " + std::to_string(length) +
                                                        " bytes exceeds the limit of " +
                                                        std::to_string(max_frame_) + " bytes");
        }
        if (buffered() - kFrameHeaderSize < length) {
            return std::optional<Json>{};
        }
        const std::string_view body(buffer_.data() + start_ + kFrameHeaderSize, length);
        start_ += kFrameHeaderSize + length;

        if (const auto bad = find_invalid_utf8(body)) {
            return fail(ErrorCode::bad_frame,
                        "frame is not valid UTF-8 (byte " + std::to_string(*bad) + ")");
        }
        if (auto shape_error = check_shape(body); !shape_error.empty()) {
            return fail(ErrorCode::bad_frame, std::move(shape_error));
        }
        Json message;
        try {
            message = Json::parse(body.begin(), body.end());
        } catch (const Json::exception& e) {
            return fail(ErrorCode::bad_frame,
                        "frame is not valid JSON: " + strip_exception_prefix(e.what()));
        }
        if (!message.is_object()) { // check_shape saw '{'; kept in case the parser disagrees
            return fail(ErrorCode::bad_frame, "frame must hold a JSON object");
        }
        return std::optional<Json>{std::move(message)};
    } catch (...) {
        // bad_alloc and the like: the connection cannot go on, the process can. Building a
        // message could throw again, so the error carries none.
        error_.emplace(ProtocolError{ErrorCode::bad_frame, {}});
        buffer_.clear();
        start_ = 0;
        return std::unexpected(ProtocolError{ErrorCode::bad_frame, {}});
    }
}

} // namespace zeroflow::protocol
