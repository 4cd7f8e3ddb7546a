// What one observed message says about itself (data type, shape, encoding, parameters) and how
// `topic echo` shows it: values for typed arrays, text for utf-8 encodings, a hex prefix for
// bytes — always truncated, so a 64 MiB message prints a few lines.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <zeroflow/protocol/protocol.hpp>
#include <zeroflow/runtime/metadata.hpp>
#include <zeroflow/runtime/types.hpp>
#include <zeroflow/shm/receiver.hpp>

namespace zeroflow::cli {

struct MessageDescription {
    DataType dtype = DataType::bytes;
    std::vector<std::uint64_t> shape; ///< empty: none given
    std::string encoding;
    MetadataView parameters;
};

/// Reads the message's self-description as the node library does: a type and shape that do
/// not match the payload size read as plain bytes (shared memory is not trusted).
MessageDescription describe(const shm::Delivery& d);

/// The parameters as a JSON object (lists as arrays), in the order they were set.
protocol::Json parameters_json(const MetadataView& view);

/// True when `encoding` names text (utf-8, utf8, string, text/...).
bool is_text_encoding(const std::string& encoding);

/// `topic echo --json` of one message: output, sequence, both clocks, size, dtype, shape,
/// encoding, parameters, and "values" (typed, first `max_values`), "text" (utf-8, first
/// `max_bytes`) or "hex" (bytes, first `max_bytes`), with "truncated".
protocol::Json message_json(const std::string& output, const shm::Delivery& d,
                            std::size_t max_values = 32, std::size_t max_bytes = 64);

/// The same for people, a few lines.
std::string message_text(const std::string& output, const shm::Delivery& d,
                         std::size_t max_values = 32, std::size_t max_bytes = 64);

} // namespace zeroflow::cli
