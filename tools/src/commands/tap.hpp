// An observer of a running dataflow: attaches one of the daemon's observer taps (attach_tap,
// docs/design/shm.md "Observers") and receives what the watched outputs send, zero-copy and
// drop-oldest, so that watching never blocks, slows or starves the dataflow's own receivers.
// Used by `zeroflow topic` (and whatever else watches outputs).
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zeroflow/protocol/protocol.hpp>
#include <zeroflow/shm/receiver.hpp>
#include <zeroflow/shm/segment.hpp>

#include "client.hpp"

namespace zeroflow::cli {

/// One message seen through a tap; `delivery.data` and `.metadata` point into shared memory
/// and stay valid until Tap::release(). `output` is the watched output's "node/output".
struct Observed {
    shm::Delivery delivery;
    const std::string* output = nullptr;
};

/// The daemon's `stats` of a dataflow (UUID, prefix or name; nullopt: the only running one):
/// counters from its segment's control area and /proc, read off the data path.
std::expected<protocol::Json, DaemonError>
dataflow_stats(const std::optional<std::string>& dataflow);

class Tap {
public:
    /// Attaches to `outputs` ("node/output"; empty: every output) of the dataflow `dataflow`
    /// names (UUID, unique prefix or name; nullopt: the only running one). Retries `busy` (a
    /// previous observer still being cleaned up) for a few seconds. Errors as the daemon gives
    /// them: no_such_dataflow, ambiguous_dataflow, no_such_output, resource_limit...
    static std::expected<Tap, DaemonError> attach(const std::optional<std::string>& dataflow,
                                                  const std::vector<std::string>& outputs);

    /// The next message of a watched output, waiting up to `timeout`; nullopt on timeout or
    /// once ended(). Never blocks the senders: a slow caller loses its own oldest messages.
    std::optional<Observed> next(std::chrono::milliseconds timeout);
    /// Hands a message back (call as soon as you are done with its memory).
    void release(const Observed& message) noexcept;
    /// True once every watched output closed, the dataflow stopped, or the daemon is gone.
    bool ended() const noexcept { return ended_; }
    /// Messages this observer lost on `output` (evicted before it took them).
    std::uint64_t dropped(const std::string& output) const noexcept;

    const std::string& dataflow_id() const noexcept { return dataflow_id_; }
    const std::string& dataflow_name() const noexcept { return dataflow_name_; }
    /// The watched outputs, in the order asked for.
    const std::vector<std::string>& outputs() const noexcept { return names_; }
    const shm::Layout& layout() const noexcept { return segment_->layout(); }
    /// Index of a watched output in the segment's layout.
    std::uint32_t output_index(const std::string& output) const noexcept;

private:
    Tap() = default;
    bool daemon_hung_up() noexcept;

    std::unique_ptr<protocol::Client> client_;
    std::unique_ptr<shm::Segment> segment_;
    std::optional<shm::NodeReceiver> receiver_;
    std::string dataflow_id_;
    std::string dataflow_name_;
    std::vector<std::string> names_;
    std::vector<std::uint32_t> output_of_;     ///< per watched name: segment output index
    std::vector<const std::string*> input_to_; ///< per receiver input: watched name or null
    std::vector<bool> closed_;                 ///< per receiver input
    std::size_t open_ = 0;                     ///< watched inputs not yet closed
    bool ended_ = false;
};

} // namespace zeroflow::cli
