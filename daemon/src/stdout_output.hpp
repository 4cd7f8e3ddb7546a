// `send_stdout_as` (dora's): the daemon sends each line a node writes to its stdout or stderr
// as a message on one of the node's outputs. Runs on the supervisor thread, which reads the
// node's output pipe; never blocks (a full input queue drops its oldest line, as any sender).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <zeroflow/shm/sender.hpp>

namespace zeroflow::daemon {

/// The encoding every line message carries (dora sends them as UTF-8 strings).
inline constexpr std::string_view kLineEncoding = "utf-8";

/// Turns a node's output bytes into line messages on one output. Each message is one line
/// without its line ending ("\n", or "\r\n"), as bytes with encoding "utf-8" (invalid UTF-8
/// is replaced by U+FFFD); a line longer than the output's max_message_size is sent in pieces.
/// One thread (the supervisor's); the segment must outlive this object.
class LineSender {
public:
    explicit LineSender(shm::OutputSender sender) noexcept : sender_(std::move(sender)) {}

    /// Sends every line `data` completes; keeps the unfinished rest for the next call.
    void feed(const char* data, std::size_t size);
    /// Sends the unfinished last line, if any (the node's output ended).
    void flush();
    /// Takes back returned chunks (e.g. of an input the daemon marked dead).
    void maintain() noexcept { sender_.maintain(); }

    std::uint64_t sent() const noexcept { return sent_; }
    /// Lines that could not be sent (no chunk free, or the output closed).
    std::uint64_t lost() const noexcept { return lost_; }

private:
    void send_line(std::string_view line);
    void send_piece(std::string_view piece);

    shm::OutputSender sender_;
    std::string partial_;
    std::uint64_t sent_ = 0;
    std::uint64_t lost_ = 0;
};

/// `text` with every invalid UTF-8 sequence replaced by U+FFFD (as dora's lossy conversion).
std::string valid_utf8(std::string_view text);

/// The length of `text` without a UTF-8 sequence that its last bytes begin but do not finish.
std::size_t complete_prefix(std::string_view text) noexcept;

} // namespace zeroflow::daemon
