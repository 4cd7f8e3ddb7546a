// Reads an MCAP file written by any writer (https://mcap.dev/spec) from start to end: channels
// and messages, chunks decompressed (zstd, lz4, none) and their CRCs checked. Every length is
// checked against what is left of the file, so a truncated or damaged file is an error that
// says where, never a crash.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <string>
#include <vector>

namespace zeroflow::cli::mcap {

struct ReadMessage {
    std::uint16_t channel = 0;
    std::uint32_t sequence = 0;
    std::uint64_t log_time = 0;
    std::uint64_t publish_time = 0;
    std::vector<std::uint8_t> data;
};

struct ReadChannel {
    std::string topic;
    std::string message_encoding;
    std::string schema_name;
};

struct Recording {
    std::map<std::uint16_t, ReadChannel> channels;
    std::vector<ReadMessage> messages; ///< in file order
};

/// Reads `path`. Errors: cannot read, not an MCAP file, truncated (with the offset), a chunk
/// whose CRC or size does not match, an unknown compression.
std::expected<Recording, std::string> read_file(const std::string& path);

} // namespace zeroflow::cli::mcap
