// What node library and daemon exchange about a segment: the layout spec as JSON, and UUIDs
// as text. Internal to zeroflow (not part of the node API; node.hpp does not include it).
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include <zeroflow/protocol/common.hpp>
#include <zeroflow/shm/layout.hpp>

namespace zeroflow::wire {

using Uuid = std::array<std::uint8_t, 16>;

/// A random (version 4) UUID.
Uuid random_uuid();
/// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower case.
std::string to_string(const Uuid& uuid);
/// Parses the form above; nullopt when it is not one.
std::optional<Uuid> parse_uuid(std::string_view text);

protocol::Json to_json(const shm::LayoutSpec& spec);
/// Reads a spec sent by the daemon; every field is type- and range-checked.
std::expected<shm::LayoutSpec, std::string> layout_spec_from_json(const protocol::Json& json);

} // namespace zeroflow::wire
