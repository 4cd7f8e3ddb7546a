// A writer of MCAP files (https://mcap.dev/spec), written for zeroflow: chunked (zstd, lz4 or
// none), a Message Index per channel after each chunk, and a summary (schemas, channels,
// statistics, chunk indexes) with summary offsets and CRCs, so indexed readers seek.
#pragma once

#include <cstdint>
#include <cstdio>
#include <expected>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace zeroflow::cli::mcap {

/// The 8 bytes an MCAP file starts and ends with.
inline constexpr std::uint8_t kMagic[8] = {0x89, 'M', 'C', 'A', 'P', '0', '\r', '\n'};

enum class Compression : std::uint8_t { none, zstd, lz4 };

/// "zstd" / "lz4" / "none"; nullopt for anything else.
std::optional<Compression> parse_compression(std::string_view name);

class Writer {
public:
    /// Creates (truncates) `path` and writes the magic and the Header record (profile "",
    /// library "zeroflow"). Chunks are closed at `chunk_size` uncompressed bytes.
    static std::expected<Writer, std::string>
    create(const std::string& path, Compression compression, std::uint64_t chunk_size = 4ULL << 20);
    Writer(Writer&&) noexcept;
    Writer& operator=(Writer&&) noexcept;
    Writer(const Writer&) = delete;
    ~Writer(); ///< closes without a summary if finish() was not called

    /// Registers a schema; returns its id (from 1).
    std::uint16_t add_schema(const std::string& name, const std::string& encoding,
                             std::span<const std::uint8_t> data);
    /// Registers a channel; returns its id (from 1).
    std::uint16_t add_channel(std::uint16_t schema, const std::string& topic,
                              const std::string& message_encoding,
                              const std::map<std::string, std::string>& metadata);
    /// Appends one message whose data is `parts` back to back (no copy is made first).
    std::expected<void, std::string>
    add_message(std::uint16_t channel, std::uint32_t sequence, std::uint64_t log_time,
                std::uint64_t publish_time, std::span<const std::span<const std::uint8_t>> parts);
    /// Writes the last chunk, Data End, the summary, summary offsets, footer and magic.
    std::expected<void, std::string> finish();

    std::uint64_t messages() const noexcept { return message_count_; }
    std::uint64_t bytes_written() const noexcept { return offset_; }

private:
    Writer() = default;
    std::expected<void, std::string> write(std::span<const std::uint8_t> bytes);
    std::expected<void, std::string> flush_chunk();

    struct Channel {
        std::uint16_t id;
        std::uint16_t schema;
        std::string topic;
        std::string encoding;
        std::map<std::string, std::string> metadata;
    };
    struct Schema {
        std::uint16_t id;
        std::string name;
        std::string encoding;
        std::vector<std::uint8_t> data;
    };

    std::FILE* file_ = nullptr;
    std::string path_;
    Compression compression_ = Compression::none;
    std::uint64_t chunk_size_ = 0;
    std::uint64_t offset_ = 0;   ///< bytes written to the file
    std::uint32_t data_crc_ = 0; ///< CRC32 of everything before Data End
    std::vector<Schema> schemas_;
    std::vector<Channel> channels_;
    std::vector<std::uint8_t> chunk_;   ///< uncompressed records of the open chunk
    std::vector<std::uint8_t> packed_;  ///< compressed chunk (reused)
    std::vector<std::uint8_t> summary_; ///< chunk index records, built as chunks close
    std::map<std::uint16_t, std::vector<std::pair<std::uint64_t, std::uint64_t>>> index_;
    std::vector<bool> schema_in_chunk_, channel_in_chunk_;
    std::uint64_t chunk_start_ = 0, chunk_end_ = 0;
    std::uint64_t message_count_ = 0, start_time_ = ~0ULL, end_time_ = 0;
    std::uint32_t chunk_count_ = 0;
    std::map<std::uint16_t, std::uint64_t> channel_counts_;
    bool finished_ = false;
};

/// MCAP's CRC-32 (zlib's) of `data`, continuing `running` (0 to start).
std::uint32_t crc32(std::uint32_t running, std::span<const std::uint8_t> data);

/// Little-endian field writers (shared with the protobuf framing in record.cpp).
void put_u8(std::vector<std::uint8_t>& out, std::uint8_t v);
void put_u16(std::vector<std::uint8_t>& out, std::uint16_t v);
void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v);
void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v);
void put_string(std::vector<std::uint8_t>& out, std::string_view s);

} // namespace zeroflow::cli::mcap
