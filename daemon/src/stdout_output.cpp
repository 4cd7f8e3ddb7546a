// Line messages from a node's output pipe (`send_stdout_as`): split, made valid UTF-8, sent.
#include "stdout_output.hpp"

#include <algorithm>
#include <cstring>

#include <zeroflow/shm/layout.hpp>

namespace zeroflow::daemon {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD"; // U+FFFD

/// Length of the valid UTF-8 sequence at the start of `text`, 0 if it is not one.
std::size_t utf8_sequence(std::string_view text) noexcept {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const auto lead = byte(0);
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (lead < 0x80) {
        return 1;
    }
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        low = lead == 0xE0 ? 0xA0 : 0x80;  // no overlong forms
        high = lead == 0xED ? 0x9F : 0xBF; // no surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        low = lead == 0xF0 ? 0x90 : 0x80;
        high = lead == 0xF4 ? 0x8F : 0xBF; // at most U+10FFFF
    } else {
        return 0;
    }
    if (text.size() < length || byte(1) < low || byte(1) > high) {
        return 0;
    }
    for (std::size_t i = 2; i < length; ++i) {
        if (byte(i) < 0x80 || byte(i) > 0xBF) {
            return 0;
        }
    }
    return length;
}

bool is_continuation(char c) noexcept {
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

} // namespace

std::size_t complete_prefix(std::string_view text) noexcept {
    // A sequence is at most 4 bytes: look at the last lead byte among the last 3.
    for (std::size_t back = 1; back <= std::min<std::size_t>(3, text.size()); ++back) {
        const auto at = text.size() - back;
        if (!is_continuation(text[at])) {
            const auto lead = static_cast<unsigned char>(text[at]);
            const std::size_t needs = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
            return needs > back ? at : text.size();
        }
    }
    return text.size();
}

std::string valid_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    while (!text.empty()) {
        const auto length = utf8_sequence(text);
        if (length == 0) {
            out.append(kReplacement);
            text.remove_prefix(1);
        } else {
            out.append(text.substr(0, length));
            text.remove_prefix(length);
        }
    }
    return out;
}

void LineSender::feed(const char* data, std::size_t size) {
    std::string_view rest(data, size);
    for (auto end = rest.find('\n'); end != std::string_view::npos; end = rest.find('\n')) {
        if (partial_.empty()) {
            send_line(rest.substr(0, end));
        } else {
            partial_.append(rest.substr(0, end));
            send_line(partial_);
            partial_.clear();
        }
        rest.remove_prefix(end + 1);
    }
    partial_.append(rest);
    // A line that never ends cannot grow without bound: past one message, it goes out as is
    // (but for a character cut at the end, which waits for its last bytes).
    const auto limit = static_cast<std::size_t>(
        std::min<std::uint64_t>(sender_.max_message_size(), std::uint64_t{1} << 20));
    if (partial_.size() >= limit) {
        const auto whole = std::max<std::size_t>(complete_prefix(partial_), 1);
        send_line(std::string_view(partial_).substr(0, whole));
        partial_.erase(0, whole);
    }
}

void LineSender::flush() {
    if (!partial_.empty()) {
        send_line(partial_);
        partial_.clear();
    }
}

void LineSender::send_line(std::string_view line) {
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    const std::string text = valid_utf8(line);
    const auto limit = static_cast<std::size_t>(std::max<std::uint64_t>(
        1, std::min<std::uint64_t>(sender_.max_message_size(), std::uint64_t{1} << 30)));
    if (text.size() <= limit) {
        send_piece(text);
        return;
    }
    for (std::size_t at = 0; at < text.size();) {
        // Pieces end between characters, so that each one is valid UTF-8 on its own.
        std::size_t end = std::min(at + limit, text.size());
        while (end < text.size() && end > at + 1 && is_continuation(text[end])) {
            --end;
        }
        send_piece(std::string_view(text).substr(at, end - at));
        at = end;
    }
}

void LineSender::send_piece(std::string_view piece) {
    auto loan = sender_.loan(piece.size());
    if (!loan) {
        ++lost_;
        return;
    }
    std::memcpy(loan->data, piece.data(), piece.size());
    std::memcpy(loan->metadata() + shm::kEncodingOffset, kLineEncoding.data(),
                kLineEncoding.size());
    shm::MessageInfo info;
    info.encoding_size = static_cast<std::uint8_t>(kLineEncoding.size());
    if (sender_.send(*loan, piece.size(), 0, info)) {
        ++sent_;
    } else {
        ++lost_;
    }
}

} // namespace zeroflow::daemon
