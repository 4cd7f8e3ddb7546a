// Names of protocol error codes: those of the one list of reply kinds (daemon_error.hpp).
#include <zeroflow/protocol/common.hpp>
#include <zeroflow/protocol/daemon_error.hpp>

namespace zeroflow::protocol {

std::string_view to_string(ErrorCode code) noexcept {
    return to_string(to_daemon_error_kind(code));
}

} // namespace zeroflow::protocol
