// Pruning old out/<uuid>/ run folders and stale index entries.
#include "retention.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <zeroflow/daemon/daemon.hpp>
#include <zeroflow/protocol/runtime_dir.hpp>
#include <zeroflow/runtime/wire.hpp>

namespace zeroflow::daemon {

namespace {

namespace fs = std::filesystem;

bool is_uuid(const std::string& name) {
    // The form the daemon names run folders with: wire's lower-case text, nothing else.
    const auto uuid = wire::parse_uuid(name);
    return uuid && wire::to_string(*uuid) == name;
}

} // namespace

std::size_t keep_runs_from_env() noexcept {
    const char* text = std::getenv(kKeepRunsEnv);
    std::size_t value = kDefaultKeepRuns;
    if (text != nullptr && *text != '\0') {
        const auto* end = text + std::strlen(text);
        if (auto [ptr, ec] = std::from_chars(text, end, value); ec != std::errc{} || ptr != end) {
            value = kDefaultKeepRuns;
        }
    }
    return value;
}

void prune_runs(const fs::path& out_root, std::size_t keep, const std::set<std::string>& live,
                const fs::path& runtime_dir) {
    if (keep == 0) {
        return;
    }
    std::error_code ec;
    std::vector<std::pair<fs::file_time_type, fs::path>> runs;
    for (const auto& e : fs::directory_iterator(out_root, ec)) {
        const auto name = e.path().filename().string();
        if (is_uuid(name) && e.is_directory(ec) && !e.is_symlink(ec) && !live.contains(name)) {
            runs.emplace_back(e.last_write_time(ec), e.path());
        }
    }
    const std::size_t keep_finished = keep > live.size() ? keep - live.size() : 0;
    if (runs.size() > keep_finished) {
        std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) {
            return a.first > b.first; // newest first
        });
        for (std::size_t i = keep_finished; i < runs.size(); ++i) {
            fs::remove_all(runs[i].second, ec);
        }
    }
    protocol::remove_stale_dataflow_records(runtime_dir);
}

} // namespace zeroflow::daemon
