#include "remote_writer.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>

#include <dlfcn.h>

namespace zeroflow::detail {

std::expected<std::unique_ptr<RemoteWriter>, Error>
RemoteWriter::from_env(const std::string& node_id) {
    const char* path = std::getenv(ZF_REMOTE_WRITER_PATH_ENV);
    const char* spec = std::getenv(ZF_REMOTE_OUTPUTS_ENV);
    if (path == nullptr || *path == '\0') {
        return nullptr;
    }
    const auto fail = [](std::string why) {
        return std::unexpected(
            Error{ErrorKind::internal, "cannot publish this node's outputs on DDS: " + why});
    };
    if (spec == nullptr || *spec == '\0') {
        return fail(std::string(ZF_REMOTE_OUTPUTS_ENV) + " is not set");
    }
    std::unique_ptr<RemoteWriter> w(new RemoteWriter());
    w->library_ = ::dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (w->library_ == nullptr) {
        const char* why = ::dlerror();
        return fail(std::string(why != nullptr ? why : path));
    }
    auto open =
        reinterpret_cast<zf_remote_writer_open_fn>(::dlsym(w->library_, "zf_remote_writer_open"));
    w->find_ =
        reinterpret_cast<zf_remote_writer_find_fn>(::dlsym(w->library_, "zf_remote_writer_find"));
    w->write_ =
        reinterpret_cast<zf_remote_writer_write_fn>(::dlsym(w->library_, "zf_remote_writer_write"));
    w->destroy_ = reinterpret_cast<zf_remote_writer_destroy_fn>(
        ::dlsym(w->library_, "zf_remote_writer_destroy"));
    if (open == nullptr || w->find_ == nullptr || w->write_ == nullptr || w->destroy_ == nullptr) {
        return fail(std::string(path) + " is not zeroflow-bridge's DDS writer plugin");
    }
    std::array<char, 512> why{};
    w->writer_ = open(ZF_REMOTE_WRITER_ABI, node_id.c_str(), spec, why.data(), why.size());
    if (w->writer_ == nullptr) {
        return fail(why.data());
    }
    return w;
}

RemoteWriter::~RemoteWriter() {
    close(false);
}

int RemoteWriter::find(const std::string& output) const noexcept {
    return writer_ != nullptr ? find_(writer_, output.c_str()) : -1;
}

void RemoteWriter::write(int index, const zf_remote_message& message) noexcept {
    const int r = writer_ != nullptr ? write_(writer_, index, &message) : -1;
    if (r != 0) {
        (r == 1 ? dropped_ : failed_).fetch_add(1, std::memory_order_relaxed);
    }
}

void RemoteWriter::close(bool write_closed) noexcept {
    if (writer_ == nullptr) {
        return;
    }
    destroy_(writer_, write_closed ? 1 : 0);
    writer_ = nullptr;
    // A node's standard error is its log (zeroflow logs).
    const auto dropped = dropped_.load();
    const auto failed = failed_.load();
    if (dropped > 0) {
        std::fprintf(stderr,
                     "zeroflow: %llu messages not sent to other machines: more bytes than "
                     "Cyclone's WhcHigh were unacknowledged (a slow machine or link)\n",
                     static_cast<unsigned long long>(dropped));
    }
    if (failed > 0) {
        std::fprintf(stderr, "zeroflow: %llu messages could not be written on DDS\n",
                     static_cast<unsigned long long>(failed));
    }
}

} // namespace zeroflow::detail
