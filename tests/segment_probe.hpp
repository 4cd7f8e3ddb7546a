// Shared by the multi-process test suites: is a dataflow's segment still held by anyone?
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <unistd.h>

namespace zeroflow::test {

/// True while any process maps or holds the segment of dataflow `uuid` (a "/memfd:zeroflow-<uuid
/// hex>" in its /proc/<pid>/maps or fd table), or a /dev/shm object of that dataflow exists.
inline bool segment_held(const std::string& uuid) {
    namespace fs = std::filesystem;
    std::string hex;
    std::copy_if(uuid.begin(), uuid.end(), std::back_inserter(hex),
                 [](char c) { return c != '-'; });
    const auto needle = "/memfd:zeroflow-" + hex;
    std::error_code ec;
    for (const auto& proc : fs::directory_iterator("/proc", ec)) {
        const auto name = proc.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::ifstream maps(proc.path() / "maps");
        for (std::string line; std::getline(maps, line);) {
            if (line.find(needle) != std::string::npos) {
                return true;
            }
        }
        std::error_code fd_ec;
        for (const auto& fd : fs::directory_iterator(proc.path() / "fd", fd_ec)) {
            if (fs::read_symlink(fd.path(), fd_ec).string().starts_with(needle)) {
                return true;
            }
        }
    }
    return fs::exists(fs::path("/dev/shm") /
                      ("zeroflow-" + std::to_string(::getuid()) + "-" + hex));
}

} // namespace zeroflow::test
