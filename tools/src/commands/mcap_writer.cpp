// MCAP writing, record by record as the specification lays them out (little-endian; strings
// and byte arrays with a u32 length, maps and arrays with a u32 byte length).
#include "mcap_writer.hpp"

#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include <lz4frame.h>
#include <zlib.h>
#include <zstd.h>

namespace zeroflow::cli::mcap {
namespace {

enum Op : std::uint8_t {
    kHeader = 0x01,
    kFooter = 0x02,
    kSchema = 0x03,
    kChannel = 0x04,
    kMessage = 0x05,
    kChunk = 0x06,
    kMessageIndex = 0x07,
    kChunkIndex = 0x08,
    kStatistics = 0x0b,
    kSummaryOffset = 0x0e,
    kDataEnd = 0x0f,
};

/// Starts a record: opcode and a length placeholder; end_record fills the length.
std::size_t begin_record(std::vector<std::uint8_t>& out, std::uint8_t op) {
    out.push_back(op);
    const auto at = out.size();
    put_u64(out, 0);
    return at;
}

void end_record(std::vector<std::uint8_t>& out, std::size_t at) {
    const std::uint64_t length = out.size() - at - 8;
    for (int i = 0; i < 8; ++i) {
        out[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(length >> (8 * i));
    }
}

void schema_record(std::vector<std::uint8_t>& out, std::uint16_t id, const std::string& name,
                   const std::string& encoding, const std::vector<std::uint8_t>& data) {
    const auto at = begin_record(out, kSchema);
    put_u16(out, id);
    put_string(out, name);
    put_string(out, encoding);
    put_u32(out, static_cast<std::uint32_t>(data.size()));
    out.insert(out.end(), data.begin(), data.end());
    end_record(out, at);
}

void channel_record(std::vector<std::uint8_t>& out, std::uint16_t id, std::uint16_t schema,
                    const std::string& topic, const std::string& encoding,
                    const std::map<std::string, std::string>& metadata) {
    const auto at = begin_record(out, kChannel);
    put_u16(out, id);
    put_u16(out, schema);
    put_string(out, topic);
    put_string(out, encoding);
    std::vector<std::uint8_t> map;
    for (const auto& [k, v] : metadata) {
        put_string(map, k);
        put_string(map, v);
    }
    put_u32(out, static_cast<std::uint32_t>(map.size()));
    out.insert(out.end(), map.begin(), map.end());
    end_record(out, at);
}

} // namespace

std::uint32_t crc32(std::uint32_t running, std::span<const std::uint8_t> data) {
    // zlib's crc32 is the CRC-32 (ISO-HDLC) MCAP uses; fed in pieces below 4 GiB each.
    while (!data.empty()) {
        const auto piece = std::min<std::size_t>(data.size(), 1U << 30);
        running =
            static_cast<std::uint32_t>(::crc32(running, data.data(), static_cast<uInt>(piece)));
        data = data.subspan(piece);
    }
    return running;
}

void put_u8(std::vector<std::uint8_t>& out, std::uint8_t v) {
    out.push_back(v);
}
void put_u16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
}
void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
}
void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
        out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
}
void put_string(std::vector<std::uint8_t>& out, std::string_view s) {
    put_u32(out, static_cast<std::uint32_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
}

std::optional<Compression> parse_compression(std::string_view name) {
    if (name == "zstd") {
        return Compression::zstd;
    }
    if (name == "lz4") {
        return Compression::lz4;
    }
    if (name == "none") {
        return Compression::none;
    }
    return std::nullopt;
}

std::expected<Writer, std::string> Writer::create(const std::string& path, Compression compression,
                                                  std::uint64_t chunk_size) {
    Writer w;
    w.file_ = std::fopen(path.c_str(), "wb");
    if (w.file_ == nullptr) {
        return std::unexpected("cannot create " + path + ": " + std::strerror(errno));
    }
    w.path_ = path;
    w.compression_ = compression;
    w.chunk_size_ = chunk_size;
    std::vector<std::uint8_t> head(std::begin(kMagic), std::end(kMagic));
    const auto at = begin_record(head, kHeader);
    put_string(head, "");         // profile: none of the well-known ones
    put_string(head, "zeroflow"); // library
    end_record(head, at);
    if (auto ok = w.write(head); !ok) {
        return std::unexpected(ok.error());
    }
    return w;
}

Writer::Writer(Writer&& o) noexcept {
    *this = std::move(o);
}

Writer& Writer::operator=(Writer&& o) noexcept {
    if (this != &o) {
        if (file_ != nullptr) {
            std::fclose(file_);
        }
        file_ = std::exchange(o.file_, nullptr);
        path_ = std::move(o.path_);
        compression_ = o.compression_;
        chunk_size_ = o.chunk_size_;
        offset_ = o.offset_;
        data_crc_ = o.data_crc_;
        schemas_ = std::move(o.schemas_);
        channels_ = std::move(o.channels_);
        chunk_ = std::move(o.chunk_);
        packed_ = std::move(o.packed_);
        summary_ = std::move(o.summary_);
        index_ = std::move(o.index_);
        schema_in_chunk_ = std::move(o.schema_in_chunk_);
        channel_in_chunk_ = std::move(o.channel_in_chunk_);
        chunk_start_ = o.chunk_start_;
        chunk_end_ = o.chunk_end_;
        message_count_ = o.message_count_;
        start_time_ = o.start_time_;
        end_time_ = o.end_time_;
        chunk_count_ = o.chunk_count_;
        channel_counts_ = std::move(o.channel_counts_);
        finished_ = o.finished_;
    }
    return *this;
}

Writer::~Writer() {
    if (file_ != nullptr) {
        std::fclose(file_);
    }
}

std::expected<void, std::string> Writer::write(std::span<const std::uint8_t> bytes) {
    if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
        return std::unexpected("cannot write " + path_ + ": " + std::strerror(errno));
    }
    data_crc_ = crc32(data_crc_, bytes);
    offset_ += bytes.size();
    return {};
}

std::uint16_t Writer::add_schema(const std::string& name, const std::string& encoding,
                                 std::span<const std::uint8_t> data) {
    const auto id = static_cast<std::uint16_t>(schemas_.size() + 1);
    schemas_.push_back({id, name, encoding, {data.begin(), data.end()}});
    schema_in_chunk_.push_back(false);
    return id;
}

std::uint16_t Writer::add_channel(std::uint16_t schema, const std::string& topic,
                                  const std::string& message_encoding,
                                  const std::map<std::string, std::string>& metadata) {
    const auto id = static_cast<std::uint16_t>(channels_.size() + 1);
    channels_.push_back({id, schema, topic, message_encoding, metadata});
    channel_in_chunk_.push_back(false);
    return id;
}

std::expected<void, std::string>
Writer::add_message(std::uint16_t channel, std::uint32_t sequence, std::uint64_t log_time,
                    std::uint64_t publish_time,
                    std::span<const std::span<const std::uint8_t>> parts) {
    // Every chunk carries the schema and channel records its messages need, so a reader that
    // seeks to one chunk can decode it alone.
    const auto& ch = channels_[channel - 1];
    if (ch.schema != 0 && !schema_in_chunk_[ch.schema - 1]) {
        const auto& s = schemas_[ch.schema - 1];
        schema_record(chunk_, s.id, s.name, s.encoding, s.data);
        schema_in_chunk_[ch.schema - 1] = true;
    }
    if (!channel_in_chunk_[channel - 1]) {
        channel_record(chunk_, ch.id, ch.schema, ch.topic, ch.encoding, ch.metadata);
        channel_in_chunk_[channel - 1] = true;
    }
    index_[channel].emplace_back(log_time, chunk_.size());
    const auto at = begin_record(chunk_, kMessage);
    put_u16(chunk_, channel);
    put_u32(chunk_, sequence);
    put_u64(chunk_, log_time);
    put_u64(chunk_, publish_time);
    for (const auto& part : parts) {
        chunk_.insert(chunk_.end(), part.begin(), part.end());
    }
    end_record(chunk_, at);
    chunk_start_ =
        std::min(chunk_start_ == 0 && chunk_end_ == 0 ? log_time : chunk_start_, log_time);
    chunk_end_ = std::max(chunk_end_, log_time);
    start_time_ = std::min(start_time_, log_time);
    end_time_ = std::max(end_time_, log_time);
    ++message_count_;
    ++channel_counts_[channel];
    if (chunk_.size() >= chunk_size_) {
        return flush_chunk();
    }
    return {};
}

std::expected<void, std::string> Writer::flush_chunk() {
    if (chunk_.empty()) {
        return {};
    }
    const auto uncompressed_crc = crc32(0, chunk_);
    std::span<const std::uint8_t> records = chunk_;
    const char* name = "";
    if (compression_ == Compression::zstd) {
        packed_.resize(ZSTD_compressBound(chunk_.size()));
        const auto n =
            ZSTD_compress(packed_.data(), packed_.size(), chunk_.data(), chunk_.size(), 1);
        if (ZSTD_isError(n) != 0) {
            return std::unexpected(std::string("zstd: ") + ZSTD_getErrorName(n));
        }
        records = std::span<const std::uint8_t>(packed_.data(), n);
        name = "zstd";
    } else if (compression_ == Compression::lz4) {
        LZ4F_preferences_t prefs{};
        prefs.frameInfo.contentSize = chunk_.size();
        packed_.resize(LZ4F_compressFrameBound(chunk_.size(), &prefs));
        const auto n = LZ4F_compressFrame(packed_.data(), packed_.size(), chunk_.data(),
                                          chunk_.size(), &prefs);
        if (LZ4F_isError(n) != 0) {
            return std::unexpected(std::string("lz4: ") + LZ4F_getErrorName(n));
        }
        records = std::span<const std::uint8_t>(packed_.data(), n);
        name = "lz4";
    }
    const auto chunk_offset = offset_;
    std::vector<std::uint8_t> head;
    const auto at = begin_record(head, kChunk);
    put_u64(head, chunk_start_);
    put_u64(head, chunk_end_);
    put_u64(head, chunk_.size());
    put_u32(head, uncompressed_crc);
    put_string(head, name);
    put_u64(head, records.size());
    // The record's length covers the records that follow the head.
    const std::uint64_t length = head.size() - at - 8 + records.size();
    for (int i = 0; i < 8; ++i) {
        head[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(length >> (8 * i));
    }
    if (auto ok = write(head); !ok) {
        return ok;
    }
    if (auto ok = write(records); !ok) {
        return ok;
    }
    const auto chunk_length = offset_ - chunk_offset;
    // One Message Index per channel of the chunk, right after it.
    std::vector<std::uint8_t> indexes;
    std::vector<std::pair<std::uint16_t, std::uint64_t>> index_offsets;
    for (const auto& [channel, entries] : index_) {
        index_offsets.emplace_back(channel, offset_ + indexes.size());
        const auto mi = begin_record(indexes, kMessageIndex);
        put_u16(indexes, channel);
        put_u32(indexes, static_cast<std::uint32_t>(entries.size() * 16));
        for (const auto& [time, where] : entries) {
            put_u64(indexes, time);
            put_u64(indexes, where);
        }
        end_record(indexes, mi);
    }
    if (auto ok = write(indexes); !ok) {
        return ok;
    }
    const auto ci = begin_record(summary_, kChunkIndex);
    put_u64(summary_, chunk_start_);
    put_u64(summary_, chunk_end_);
    put_u64(summary_, chunk_offset);
    put_u64(summary_, chunk_length);
    put_u32(summary_, static_cast<std::uint32_t>(index_offsets.size() * 10));
    for (const auto& [channel, where] : index_offsets) {
        put_u16(summary_, channel);
        put_u64(summary_, where);
    }
    put_u64(summary_, indexes.size());
    put_string(summary_, name);
    put_u64(summary_, records.size());
    put_u64(summary_, chunk_.size());
    end_record(summary_, ci);
    ++chunk_count_;
    chunk_.clear();
    index_.clear();
    std::fill(schema_in_chunk_.begin(), schema_in_chunk_.end(), false);
    std::fill(channel_in_chunk_.begin(), channel_in_chunk_.end(), false);
    chunk_start_ = 0;
    chunk_end_ = 0;
    if (std::fflush(file_) != 0) {
        return std::unexpected("cannot write " + path_ + ": " + std::strerror(errno));
    }
    return {};
}

std::expected<void, std::string> Writer::finish() {
    if (finished_) {
        return {};
    }
    finished_ = true;
    if (auto ok = flush_chunk(); !ok) {
        return ok;
    }
    std::vector<std::uint8_t> end;
    const auto de = begin_record(end, kDataEnd);
    put_u32(end, data_crc_);
    end_record(end, de);
    if (auto ok = write(end); !ok) {
        return ok;
    }
    // Summary: groups of one opcode each, so that Summary Offsets can point at them.
    const auto summary_start = offset_;
    std::vector<std::uint8_t> summary;
    struct Group {
        std::uint8_t op;
        std::uint64_t start, length;
    };
    std::vector<Group> groups;
    auto group = [&](std::uint8_t op, auto&& body) {
        const auto start = summary.size();
        body();
        if (summary.size() > start) {
            groups.push_back({op, summary_start + start, summary.size() - start});
        }
    };
    group(kSchema, [&] {
        for (const auto& s : schemas_) {
            schema_record(summary, s.id, s.name, s.encoding, s.data);
        }
    });
    group(kChannel, [&] {
        for (const auto& c : channels_) {
            channel_record(summary, c.id, c.schema, c.topic, c.encoding, c.metadata);
        }
    });
    group(kStatistics, [&] {
        const auto at = begin_record(summary, kStatistics);
        put_u64(summary, message_count_);
        put_u16(summary, static_cast<std::uint16_t>(schemas_.size()));
        put_u32(summary, static_cast<std::uint32_t>(channels_.size()));
        put_u32(summary, 0); // attachments
        put_u32(summary, 0); // metadata
        put_u32(summary, chunk_count_);
        put_u64(summary, message_count_ != 0 ? start_time_ : 0);
        put_u64(summary, end_time_);
        put_u32(summary, static_cast<std::uint32_t>(channel_counts_.size() * 10));
        for (const auto& [channel, count] : channel_counts_) {
            put_u16(summary, channel);
            put_u64(summary, count);
        }
        end_record(summary, at);
    });
    group(kChunkIndex, [&] { summary.insert(summary.end(), summary_.begin(), summary_.end()); });
    const auto offsets_start = summary_start + summary.size();
    for (const auto& g : groups) {
        const auto at = begin_record(summary, kSummaryOffset);
        put_u8(summary, g.op);
        put_u64(summary, g.start);
        put_u64(summary, g.length);
        end_record(summary, at);
    }
    // Footer: its CRC covers the summary and summary offsets and the footer up to the CRC.
    const auto ft = begin_record(summary, kFooter);
    put_u64(summary, summary_start);
    put_u64(summary, offsets_start);
    end_record(summary, ft); // length fixed below (the CRC is part of the record)
    summary[ft] = 20;        // u64 + u64 + u32
    for (int i = 1; i < 8; ++i) {
        summary[ft + static_cast<std::size_t>(i)] = 0;
    }
    put_u32(summary, crc32(0, summary));
    summary.insert(summary.end(), std::begin(kMagic), std::end(kMagic));
    if (auto ok = write(summary); !ok) {
        return ok;
    }
    if (std::fclose(std::exchange(file_, nullptr)) != 0) {
        return std::unexpected("cannot write " + path_ + ": " + std::strerror(errno));
    }
    return {};
}

} // namespace zeroflow::cli::mcap
