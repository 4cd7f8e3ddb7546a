// A spawned node's stdout+stderr: read from its pipe, copied into its log file (rotated at
// max_log_size) and, for `send_stdout_as`, fed to the daemon's line sender.
#include <array>

#include <fcntl.h>
#include <unistd.h>

#include "supervisor.hpp"

namespace zeroflow::daemon {

void Supervisor::read_output(NodeState& n) {
    if (n.output < 0) {
        return;
    }
    // A bounded amount per call keeps the loop fair; epoll calls again while more is there.
    std::array<char, 65536> buffer{};
    for (int reads = 0; reads < 64; ++reads) {
        const auto got = ::read(n.output, buffer.data(), buffer.size());
        if (got > 0) {
            write_log(n, buffer.data(), static_cast<std::size_t>(got));
            if (n.lines) {
                n.lines->feed(buffer.data(), static_cast<std::size_t>(got));
            }
            continue;
        }
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n.lines) {
            n.lines->flush();
        }
        close_output(n); // EOF: the node and everything that shared its output are gone
        return;
    }
}

void Supervisor::write_log(NodeState& n, const char* data, std::size_t size) {
    while (size > 0 && n.log_fd >= 0) {
        if (n.log_size >= n.max_log_size) {
            // Rotate: keep one old file, so the node's log never takes more than twice
            // max_log_size on disk. `zeroflow logs` reads log_<id>.txt.1, then log_<id>.txt.
            ::close(n.log_fd);
            auto old = n.log_file;
            old += ".1";
            ::rename(n.log_file.c_str(), old.c_str());
            n.log_fd = ::open(n.log_file.c_str(),
                              O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
            n.log_size = 0;
            continue;
        }
        const auto room =
            static_cast<std::size_t>(std::min<std::uint64_t>(n.max_log_size - n.log_size, size));
        const auto wrote = ::write(n.log_fd, data, room);
        if (wrote < 0 && errno == EINTR) {
            continue;
        }
        if (wrote <= 0) {
            return; // disk full or the like: the output is dropped, the node is not blocked
        }
        n.log_size += static_cast<std::uint64_t>(wrote);
        data += wrote;
        size -= static_cast<std::size_t>(wrote);
    }
}

void Supervisor::close_output(NodeState& n) {
    if (n.output >= 0) {
        loop_.unwatch(n.output);
        ::close(n.output);
        n.output = -1;
    }
    if (n.log_fd >= 0) {
        ::close(n.log_fd);
        n.log_fd = -1;
    }
}

} // namespace zeroflow::daemon
