// Reads zeroflow_bridge::Message from its CDR (OMG XTypes 1.3, 7.4.3: plain CDR for XCDR1,
// PLAIN_CDR2 for XCDR2; the type is final, so neither version puts a header in front of the struct
// or its sequences of primitives). Alignment counts from the start of the body; an 8-byte value
// aligns to 8 in XCDR1 and to 4 in XCDR2.
#include "wire.hpp"

#include <bit>
#include <cstring>

#include "zeroflow_bridge.h"

namespace zeroflow::bridge {

// read_message follows zeroflow_bridge.idl field by field: a field added there must be read here
// (and the size below updated); tools/test/bridge_wire_test.cpp checks both against Cyclone.
static_assert(sizeof(void*) != 8 || sizeof(zeroflow_bridge_Message) == 120,
              "zeroflow_bridge::Message changed: update read_message");

namespace {

class Reader {
public:
    Reader(std::span<const std::byte> body, std::size_t align8) : body_(body), align8_(align8) {}

    [[nodiscard]] bool ok() const noexcept { return ok_; }

    std::uint8_t u8() {
        std::uint8_t v = 0;
        copy(&v, 1, 1);
        return v;
    }
    std::uint32_t u32() {
        std::uint32_t v = 0;
        copy(&v, 4, 4);
        return v;
    }
    std::uint64_t u64() {
        std::uint64_t v = 0;
        copy(&v, 8, align8_);
        return v;
    }
    /// `count` elements of `size` bytes, aligned to `align`, where they lie.
    std::span<const std::byte> bytes(std::size_t count, std::size_t size, std::size_t align) {
        if (count == 0) {
            return {}; // Cyclone aligns a sequence's elements only when it has some
        }
        if (!skip_to(align) || count > (body_.size() - at_) / size) {
            ok_ = false;
            return {};
        }
        const auto out = body_.subspan(at_, count * size);
        at_ += count * size;
        return out;
    }
    [[nodiscard]] std::size_t align8() const noexcept { return align8_; }

private:
    bool skip_to(std::size_t align) {
        const std::size_t to = (at_ + align - 1) / align * align;
        if (!ok_ || to > body_.size()) {
            ok_ = false;
            return false;
        }
        at_ = to;
        return true;
    }
    void copy(void* out, std::size_t size, std::size_t align) {
        if (!skip_to(align) || body_.size() - at_ < size) {
            ok_ = false;
            return;
        }
        std::memcpy(out, body_.data() + at_, size);
        at_ += size;
    }

    std::span<const std::byte> body_;
    std::size_t align8_;
    std::size_t at_ = 0;
    bool ok_ = true;
};

} // namespace

std::uint64_t WireMessage::dim(std::size_t i) const noexcept {
    std::uint64_t v = 0;
    std::memcpy(&v, shape.data() + i * 8, 8);
    return v;
}

std::optional<std::uint32_t> xcdr_version(std::span<const std::byte> header) noexcept {
    if (header.size() < 4 || header[0] != std::byte{0}) {
        return std::nullopt;
    }
    // The identifier is big-endian on the wire; its low bit is the data's byte order (1: little).
    const auto id = std::to_integer<unsigned>(header[1]);
    const bool little = (id & 1U) != 0;
    if (little != (std::endian::native == std::endian::little)) {
        return std::nullopt;
    }
    switch (id & ~1U) {
    case 0x00: // CDR_LE / CDR_BE
        return 1;
    case 0x06: // CDR2_LE / CDR2_BE
        return 2;
    default:
        return std::nullopt;
    }
}

std::optional<WireMessage> read_message(std::span<const std::byte> body, std::uint32_t version) {
    if (version != 1 && version != 2) {
        return std::nullopt;
    }
    Reader r(body, version == 1 ? 8 : 4);
    WireMessage m;
    const auto closed = r.u8();
    m.closed = closed == 1;
    m.sequence_number = r.u64();
    m.timestamp_ns = r.u64();
    m.wall_time_ns = r.u64();
    m.dtype = r.u8();
    const auto dims = r.u32();
    m.shape = r.bytes(dims, 8, r.align8());
    const auto encoding = r.bytes(r.u32(), 1, 1);
    m.parameters = r.bytes(r.u32(), 1, 1);
    m.payload = r.bytes(r.u32(), 1, 1);
    if (!r.ok() || closed > 1 || encoding.empty() || encoding.back() != std::byte{0}) {
        return std::nullopt;
    }
    // Up to its first zero, as Cyclone's deserializer would hand it over (a C string).
    const auto* text = reinterpret_cast<const char*>(encoding.data());
    m.encoding = std::string_view(text, ::strnlen(text, encoding.size() - 1));
    return m;
}

} // namespace zeroflow::bridge
