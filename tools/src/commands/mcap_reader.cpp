// Sequential MCAP reading: magic, records (opcode, u64 length, content) to the Footer, chunk
// contents parsed the same way after decompression.
#include "mcap_reader.hpp"

#include <cstring>
#include <fstream>
#include <iterator>
#include <span>

#include <lz4frame.h>
#include <zstd.h>

#include "mcap_writer.hpp"

namespace zeroflow::cli::mcap {
namespace {

/// Bounds-checked little-endian reads over one span.
struct Cursor {
    std::span<const std::uint8_t> data;
    std::size_t at = 0;
    bool ok = true;

    bool has(std::uint64_t n) const { return ok && n <= data.size() - at; }
    template <typename T>
    T num() {
        if (!has(sizeof(T))) {
            ok = false;
            return 0;
        }
        T v = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i) {
            v |= static_cast<T>(static_cast<T>(data[at + i]) << (8 * i));
        }
        at += sizeof(T);
        return v;
    }
    std::span<const std::uint8_t> bytes(std::uint64_t n) {
        if (!has(n)) {
            ok = false;
            return {};
        }
        const auto out = data.subspan(at, n);
        at += n;
        return out;
    }
    std::string string() {
        const auto n = num<std::uint32_t>();
        const auto b = bytes(n);
        return {b.begin(), b.end()};
    }
};

std::expected<std::vector<std::uint8_t>, std::string>
decompress(const std::string& compression, std::span<const std::uint8_t> in, std::uint64_t size) {
    if (size > (1ULL << 34)) {
        return std::unexpected("a chunk claims " + std::to_string(size) + " bytes");
    }
    std::vector<std::uint8_t> out(size);
    if (compression.empty()) {
        if (in.size() != size) {
            return std::unexpected("an uncompressed chunk whose size does not match");
        }
        std::memcpy(out.data(), in.data(), size);
    } else if (compression == "zstd") {
        const auto n = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
        if (ZSTD_isError(n) != 0 || n != size) {
            return std::unexpected(std::string("a zstd chunk that does not decompress: ") +
                                   (ZSTD_isError(n) != 0 ? ZSTD_getErrorName(n) : "wrong size"));
        }
    } else if (compression == "lz4") {
        LZ4F_dctx* ctx = nullptr;
        if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION)) != 0) {
            return std::unexpected("lz4: no decompression context");
        }
        std::size_t done = 0;
        std::size_t read = 0;
        bool failed = false;
        while (read < in.size() && done < size) {
            std::size_t dst = size - done;
            std::size_t src = in.size() - read;
            const auto r =
                LZ4F_decompress(ctx, out.data() + done, &dst, in.data() + read, &src, nullptr);
            if (LZ4F_isError(r) != 0 || (dst == 0 && src == 0)) {
                failed = true;
                break;
            }
            done += dst;
            read += src;
        }
        LZ4F_freeDecompressionContext(ctx);
        if (failed || done != size) {
            return std::unexpected("an lz4 chunk that does not decompress");
        }
    } else {
        return std::unexpected("a chunk compressed with '" + compression +
                               "' (zeroflow reads zstd, lz4 and none)");
    }
    return out;
}

/// Parses records of a data section or a chunk into `rec`; `base` is the offset of `data` in
/// the file, for messages. Stops after a Data End or Footer (outside chunks).
std::expected<bool, std::string> records(std::span<const std::uint8_t> data, std::uint64_t base,
                                         bool in_chunk, Recording& rec,
                                         std::map<std::uint16_t, std::string>& schemas) {
    Cursor c{data};
    while (c.at < data.size()) {
        const auto start = c.at;
        const auto op = c.num<std::uint8_t>();
        const auto length = c.num<std::uint64_t>();
        if (!c.ok || !c.has(length)) {
            return std::unexpected("it is truncated at byte " + std::to_string(base + start) +
                                   (c.ok ? " (a record of " + std::to_string(length) +
                                               " bytes does not fit in what is left)"
                                         : " (in a record's header)"));
        }
        Cursor r{c.bytes(length)};
        switch (op) {
        case 0x03: { // Schema
            const auto id = r.num<std::uint16_t>();
            schemas[id] = r.string();
            break;
        }
        case 0x04: { // Channel
            const auto id = r.num<std::uint16_t>();
            const auto schema = r.num<std::uint16_t>();
            ReadChannel ch;
            ch.topic = r.string();
            ch.message_encoding = r.string();
            ch.schema_name = schemas.contains(schema) ? schemas[schema] : "";
            if (!r.ok) {
                return std::unexpected("a malformed Channel record at byte " +
                                       std::to_string(base + start));
            }
            rec.channels[id] = ch;
            break;
        }
        case 0x05: { // Message
            ReadMessage m;
            m.channel = r.num<std::uint16_t>();
            m.sequence = r.num<std::uint32_t>();
            m.log_time = r.num<std::uint64_t>();
            m.publish_time = r.num<std::uint64_t>();
            if (!r.ok) {
                return std::unexpected("a malformed Message record at byte " +
                                       std::to_string(base + start));
            }
            const auto rest = r.bytes(length - r.at);
            m.data.assign(rest.begin(), rest.end());
            rec.messages.push_back(std::move(m));
            break;
        }
        case 0x06: { // Chunk
            if (in_chunk) {
                return std::unexpected("a chunk inside a chunk");
            }
            r.num<std::uint64_t>(); // message start time
            r.num<std::uint64_t>(); // message end time
            const auto size = r.num<std::uint64_t>();
            const auto crc = r.num<std::uint32_t>();
            const auto compression = r.string();
            const auto packed_size = r.num<std::uint64_t>();
            const auto packed = r.bytes(packed_size);
            if (!r.ok) {
                return std::unexpected("a malformed Chunk record at byte " +
                                       std::to_string(base + start));
            }
            auto plain = decompress(compression, packed, size);
            if (!plain) {
                return std::unexpected(plain.error() + " at byte " + std::to_string(base + start));
            }
            if (crc != 0 && crc32(0, *plain) != crc) {
                return std::unexpected("the chunk at byte " + std::to_string(base + start) +
                                       " fails its CRC (the file is damaged)");
            }
            auto inner = records(*plain, base + start, true, rec, schemas);
            if (!inner) {
                return inner;
            }
            break;
        }
        case 0x0f: // Data End: the summary follows; everything needed was read
        case 0x02: // Footer
            if (!in_chunk) {
                return true;
            }
            break;
        default: // Header, indexes, attachments, metadata, statistics: not needed here
            break;
        }
    }
    return false;
}

} // namespace

std::expected<Recording, std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::unexpected("cannot read " + path + ": " + std::strerror(errno));
    }
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
    if (bytes.size() < 8 || std::memcmp(bytes.data(), kMagic, 8) != 0) {
        return std::unexpected(path + " is not an MCAP file (no MCAP magic at its start)");
    }
    Recording rec;
    std::map<std::uint16_t, std::string> schemas;
    auto done = records(std::span(bytes).subspan(8), 8, false, rec, schemas);
    if (!done) {
        return std::unexpected(path + ": " + done.error());
    }
    if (!*done) {
        return std::unexpected(path + " is truncated: it ends at byte " +
                               std::to_string(bytes.size()) +
                               " before its Data End record (was the recording cut short?)");
    }
    return rec;
}

} // namespace zeroflow::cli::mcap
