// Framing: a 4-byte little-endian length, then that many bytes of one UTF-8 JSON object.
// encode_frame() writes frames; FrameDecoder turns a byte stream back into JSON objects.
#pragma once

#include <cstddef>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <zeroflow/protocol/common.hpp>

namespace zeroflow::protocol {

/// Size of the length prefix in bytes.
inline constexpr std::size_t kFrameHeaderSize = 4;

/// Encodes `message` as one frame: length prefix + compact JSON. Never throws on strings that
/// are not valid UTF-8 (they are written with U+FFFD replacement characters). Does not check
/// a size limit: senders compare the result's size against theirs (Client does).
std::string encode_frame(const Json& message);

/// Offset of the first byte of `text` that is not part of well-formed UTF-8 (overlong forms,
/// surrogates and code points above U+10FFFF are ill-formed), or nullopt when all is valid.
std::optional<std::size_t> find_invalid_utf8(std::string_view text) noexcept;

/// Incremental decoder for a non-blocking reader: feed() whatever arrived, then call next()
/// until it returns nullopt. Not thread-safe; one decoder per connection.
class FrameDecoder {
public:
    explicit FrameDecoder(std::size_t max_frame = kDefaultMaxFrameSize) noexcept;

    /// Appends received bytes. Ignored once the decoder has failed.
    void feed(std::span<const char> bytes);

    /// The next complete frame's object; nullopt when more bytes are needed.
    /// Errors: frame_too_large as soon as the length prefix is known (the message names the
    /// size and the limit); bad_frame when the body is empty, not valid UTF-8, not JSON, not
    /// an object or nested deeper than kMaxNestingDepth. After an error the decoder stays
    /// failed and returns the same error again: the connection is to be closed.
    /// Never throws (an allocation failure is reported as bad_frame).
    std::expected<std::optional<Json>, ProtocolError> next() noexcept;

    /// Bytes received but not yet returned as a frame (a partial frame, or frames not taken).
    std::size_t buffered() const noexcept { return buffer_.size() - start_; }

    bool failed() const noexcept { return error_.has_value(); }
    std::size_t max_frame() const noexcept { return max_frame_; }

private:
    std::expected<std::optional<Json>, ProtocolError> fail(ErrorCode code, std::string message);

    std::size_t max_frame_;
    std::string buffer_;
    std::size_t start_ = 0; // consumed prefix of buffer_, dropped lazily
    std::optional<ProtocolError> error_;
};

} // namespace zeroflow::protocol
