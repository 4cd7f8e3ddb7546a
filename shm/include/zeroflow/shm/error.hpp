// Error values of the shared-memory layer. Every fallible shm call returns std::expected with
// one of these; nothing in shm/ throws or aborts on bad input.
#pragma once

#include <cstdint>
#include <expected>
#include <string>

namespace zeroflow::shm {

enum class ErrorCode : std::uint8_t {
    invalid_layout,    ///< the layout spec cannot be laid out (sizes, counts, fan-out)
    segment_exists,    ///< create: a segment of that name already exists
    segment_missing,   ///< open: no segment (no descriptor, or none held by that process)
    segment_mismatch,  ///< open: magic, version, UUID, generation or layout hash differ
    segment_truncated, ///< open: the object's size is not what its layout says
    segment_unsealed,  ///< open: the descriptor lacks the seals against shrinking and growing
    no_space,          ///< no memory for shared pages: the chunk's pages could not be reserved
    message_too_large, ///< loan larger than the output's largest chunk
    pool_exhausted,    ///< every chunk of the output is in flight
    invalid_argument,  ///< caller error (unknown output, foreign loan, ...)
    closed,            ///< the output was closed
    system,            ///< an OS call failed (errno in the message)
};

struct Error {
    ErrorCode code;
    std::string message;
};

template <typename T>
using Result = std::expected<T, Error>;

/// Short stable name of a code, e.g. "pool_exhausted".
const char* to_string(ErrorCode code) noexcept;

} // namespace zeroflow::shm
