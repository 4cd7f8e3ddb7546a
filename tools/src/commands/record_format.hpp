// How zeroflow messages are stored in MCAP (docs/recording.md): each message is a protobuf
// `zeroflow.Message` (schema encoding "protobuf", a FileDescriptorSet written here) whose
// `data` field holds the payload byte for byte, so Foxglove decodes and shows every field,
// and replay gets back exactly what was sent.
#pragma once

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <vector>

namespace zeroflow::cli::record_format {

inline constexpr const char* kSchemaName = "zeroflow.Message";
inline constexpr const char* kSchemaEncoding = "protobuf";
inline constexpr const char* kMessageEncoding = "protobuf";

/// The serialized google.protobuf.FileDescriptorSet of zeroflow/message.proto.
std::vector<std::uint8_t> schema();

/// What a message carries besides its payload.
struct Fields {
    std::uint64_t sequence = 0;
    std::uint64_t timestamp_ns = 0; ///< CLOCK_MONOTONIC send time
    std::uint64_t wall_time_ns = 0;
    std::uint8_t dtype = 0;
    std::vector<std::uint64_t> shape;
    std::string encoding;
    std::vector<std::uint8_t> parameters; ///< zeroflow's parameter encoding, as sent
    std::string parameters_json;          ///< the same for people (Foxglove shows it)
};

/// Every field but the payload, then the payload's tag and length: the payload's bytes follow.
std::vector<std::uint8_t> encode_prefix(const Fields& fields, std::uint64_t payload_size);

/// Decodes a stored message; `payload` points into `data`. Errors name what is wrong.
std::expected<Fields, std::string> decode(std::span<const std::uint8_t> data,
                                          std::span<const std::uint8_t>& payload);

/// The DataType code of a dtype name ("u8", ...) and back.
std::string dtype_name(std::uint8_t code);
std::uint8_t dtype_code(const std::string& name);

} // namespace zeroflow::cli::record_format
