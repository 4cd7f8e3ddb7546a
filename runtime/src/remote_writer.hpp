// A node's DDS writers for outputs read on other machines, when its dataflow's bridge publishes
// directly (docs/design/machines.md#direct-publishing): zeroflow-bridge's plugin, loaded with
// dlopen from the path in the node's environment, so that the node library itself never links
// Cyclone DDS.
#pragma once

#include <atomic>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>

#include <zeroflow/runtime/error.hpp>

#include "remote_writer_abi.h"

namespace zeroflow::detail {

class RemoteWriter {
public:
    /// Nothing (a null pointer) when the environment names no plugin; an error when it does and
    /// the plugin cannot be loaded, or its writers cannot be made or find their readers.
    static std::expected<std::unique_ptr<RemoteWriter>, Error> from_env(const std::string& node_id);

    RemoteWriter(const RemoteWriter&) = delete;
    RemoteWriter& operator=(const RemoteWriter&) = delete;
    /// Deletes the writers (see close()). The plugin stays loaded: Cyclone DDS, once started
    /// in a process, is not unloaded while it runs.
    ~RemoteWriter();

    /// The writer of `output`, or -1 when it is not read elsewhere.
    int find(const std::string& output) const noexcept;
    /// Writes one message on writer `index`; never waits (a full history drops its oldest; a
    /// write refused by Cyclone's watermark is counted).
    void write(int index, const zf_remote_message& message) noexcept;
    /// With `write_closed`, every output's "closed" goes after its last message; then the
    /// writers go. What was dropped or failed is said on standard error.
    void close(bool write_closed) noexcept;

private:
    RemoteWriter() = default;
    void* library_ = nullptr;
    zf_remote_writer* writer_ = nullptr;
    zf_remote_writer_find_fn find_ = nullptr;
    zf_remote_writer_write_fn write_ = nullptr;
    zf_remote_writer_destroy_fn destroy_ = nullptr;
    // Outputs may be sent on from different threads.
    std::atomic<std::uint64_t> dropped_{0};
    std::atomic<std::uint64_t> failed_{0};
};

} // namespace zeroflow::detail
