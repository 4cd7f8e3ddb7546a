// The bridge's payload topic as Cyclone DDS holds a received message: its CDR, read in place, so
// that the subscribe pump copies the payload from Cyclone's buffer straight into a loan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace zeroflow::bridge {

/// One `zeroflow_bridge::Message` (zeroflow_bridge.idl), its fields where they lie in the
/// serialized bytes; valid while those bytes are.
struct WireMessage {
    bool closed = false;
    std::uint64_t sequence_number = 0;
    std::uint64_t timestamp_ns = 0;
    std::uint64_t wall_time_ns = 0;
    std::uint8_t dtype = 0;
    /// The shape's dimensions, 8 bytes each in this machine's byte order, where they lie: XCDR2
    /// aligns them to 4 bytes only, so they are copied out (dims), not read through a pointer.
    std::span<const std::byte> shape;
    [[nodiscard]] std::size_t dims() const noexcept { return shape.size() / 8; }
    /// Dimension `i` (< dims()).
    [[nodiscard]] std::uint64_t dim(std::size_t i) const noexcept;
    std::string_view encoding;
    std::span<const std::byte> parameters;
    std::span<const std::byte> payload;
};

/// The XCDR version (1 or 2) of a plain CDR encapsulation in this machine's byte order (the
/// 4-byte header in front of the serialized data); nullopt for any other (the other byte order,
/// parameter lists, delimited types). Cyclone turns what it receives for this final type into
/// plain CDR of this machine's byte order, so a nullopt there is not expected.
[[nodiscard]] std::optional<std::uint32_t> xcdr_version(std::span<const std::byte> header) noexcept;

/// Reads a Message from `body`, the bytes after the header, in XCDR `version` and this machine's
/// byte order; nullopt if they are not one whole Message (lengths past the end, a string without
/// its terminating zero, a boolean other than 0 or 1). Padding after the payload is allowed.
[[nodiscard]] std::optional<WireMessage> read_message(std::span<const std::byte> body,
                                                      std::uint32_t version);

} // namespace zeroflow::bridge
