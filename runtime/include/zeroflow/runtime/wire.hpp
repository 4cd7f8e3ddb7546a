// What node library and daemon exchange about a segment: the layout spec as JSON, a node's
// setup (the reply to register / connect_dynamic), an observer's (attach_tap), UUIDs as text.
// Internal to zeroflow (not part of the node API; node.hpp does not include it).
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

/// A node's setup: the reply to `register` and `connect_dynamic` (docs/protocol.md), which the
/// daemon encodes with to_json and the node library decodes with node_setup_from_json.
struct NodeSetup {
    struct Input {
        std::string id;               ///< the input's id in the node ("image")
        std::uint32_t connection = 0; ///< its connection in the layout spec
        bool operator==(const Input&) const = default;
    };
    struct Output {
        std::string id;           ///< the output's id in the node ("image")
        std::uint32_t output = 0; ///< its output in the layout spec
        bool operator==(const Output&) const = default;
    };
    std::string dataflow_id;
    std::string dataflow_name; ///< empty when the dataflow has no name
    std::string node_id;
    std::uint32_t node_index = 0;
    /// The layout spec as to_json(LayoutSpec) wrote it: the daemon encodes a dataflow's spec
    /// once for all its nodes; the library reads it with layout_spec_from_json.
    protocol::Json segment;
    std::vector<Input> inputs;
    std::vector<Output> outputs; ///< those the node sends on (not its send_stdout_as output)
    std::uint64_t busy_poll_us = 0;
    bool resume = false;        ///< a restarted process: its inputs resume their queues
    bool closes_outputs = true; ///< false when the daemon closes them (restart policies)
    bool operator==(const NodeSetup&) const = default;
};

protocol::Json to_json(const NodeSetup& setup);
/// Reads a setup sent by the daemon; every field is type- and range-checked (the segment only
/// as an object: layout_spec_from_json checks it). `dataflow_name`, `busy_poll_us`, `resume` and
/// `closes_outputs` may be missing (their defaults above).
std::expected<NodeSetup, std::string> node_setup_from_json(const protocol::Json& json);

/// An observer's setup: the reply to `attach_tap` (docs/protocol.md), which the daemon encodes
/// with to_json and the CLI (`zeroflow tap`, `record`) decodes with tap_setup_from_json.
struct TapSetup {
    struct Output {
        std::string name;             ///< "node/output"
        std::uint32_t output = 0;     ///< its output in the layout spec
        std::uint32_t connection = 0; ///< its connection to the tap in the layout spec
        bool operator==(const Output&) const = default;
    };
    std::string dataflow_id;
    std::string dataflow_name;    ///< empty when the dataflow has no name
    std::uint32_t tap = 0;        ///< which of the dataflow's taps
    std::uint32_t node_index = 0; ///< the tap's pseudo-node in the layout spec
    /// The layout spec as to_json(LayoutSpec) wrote it (read with layout_spec_from_json).
    protocol::Json segment;
    std::vector<Output> outputs; ///< the outputs this observer sees
    bool operator==(const TapSetup&) const = default;
};

protocol::Json to_json(const TapSetup& setup);
/// Reads a tap setup sent by the daemon; every field is type- and range-checked (the segment
/// only as an object). `dataflow_name` may be missing (empty).
std::expected<TapSetup, std::string> tap_setup_from_json(const protocol::Json& json);

} // namespace zeroflow::wire
