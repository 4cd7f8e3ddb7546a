// The daemon's machine agent (docs/design/machines.md#who-coordinates-a-start): a
// `zeroflow-bridge --agent` that `zeroflow daemon --machine-id` runs beside itself. A `start` of
// a dataflow that places nodes on other machines is handed to it; it starts every machine's
// part through DDS and answers with this machine's part's UUID, or why it could not.
//
//   agent -> daemon  {"op": "machine_agent", "machine": "a"}
//                    answered when a start is handed over (or with an error at shutdown):
//                    {"ok": true, "start": {"ticket": 7, "path": "/abs/flow.yml",
//                     "name": "flow" | null, "start_timeout_s": 60 | null}}
//   agent -> daemon  {"op": "machine_agent_result", "ticket": 7, "uuid": "..."}
//                    or {"op": "machine_agent_result", "ticket": 7, "error": "why"}
//                    answered {"ok": true}; the start request of ticket 7 gets its reply then.
//
// A request for another machine's daemon (`zeroflow --machine b list`, `zeroflow logs` of a node
// of machine b) goes the same way:
//   client -> daemon {"op": "forward", "machine": "b", "request": {"op": "list"}}
//   the agent is handed {"forward": {"ticket": 8, "machine": "b", "request": {...}}}; it asks
//   b's agent over DDS, which asks b's daemon, and answers {"op": "machine_agent_result",
//   "ticket": 8, "reply": <b's daemon's whole reply>}, which the client gets as it is.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <string>
#include <string_view>

#include "zeroflow/protocol/common.hpp"

namespace zeroflow::protocol {

inline constexpr std::string_view kMachineAgentOp = "machine_agent";
inline constexpr std::string_view kMachineAgentResultOp = "machine_agent_result";
inline constexpr std::string_view kForwardOp = "forward";

/// The requests `forward` carries: those that pass no descriptor and hold nothing for long.
inline constexpr std::array<std::string_view, 6> kForwardableOps = {"list",  "logs", "log_text",
                                                                    "stats", "stop", "ping"};

/// A handed start's `start_timeout_s` (the daemon checked it), or the default 60 s.
inline double start_timeout_of(const Json& start) {
    const auto it = start.find("start_timeout_s");
    return it != start.end() && it->is_number() ? it->get<double>() : 60.0;
}

/// How long the other machine's daemon may take to answer a forwarded `request`: 10 s, and for a
/// `stop` its `grace_s` on top (default 10, as the daemon's; at most 3600): that daemon answers a
/// stop once its nodes ended, after the grace at most. The agents wait this long for the reply,
/// the daemon holds the forward 20 s more, the CLI waits 2 s more than the daemon.
inline std::chrono::milliseconds forward_timeout(const Json& request) {
    using namespace std::chrono_literals;
    if (!request.is_object() || request.value("op", std::string()) != "stop") {
        return 10s;
    }
    double grace = 10;
    if (const auto it = request.find("grace_s"); it != request.end() && it->is_number()) {
        grace = std::clamp(it->get<double>(), 0.0, 3600.0);
    }
    return 10s + std::chrono::milliseconds(static_cast<std::int64_t>(grace * 1000));
}

} // namespace zeroflow::protocol
