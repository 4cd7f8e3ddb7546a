// Retention of run logs: each start keeps the newest N out/<uuid>/ folders beside a dataflow
// file (failed starts count as runs) and forgets index entries whose folder is gone.
#pragma once

#include <cstddef>
#include <filesystem>
#include <set>
#include <string>

namespace zeroflow::daemon {

/// Removes all but the newest `keep` run folders (directories named by a UUID) in `out_root`,
/// never one of `live`; then the entries of DIR/dataflows (the index `zeroflow logs` reads)
/// whose folder no longer exists. `keep` 0 keeps everything. Best effort: errors are skipped.
void prune_runs(const std::filesystem::path& out_root, std::size_t keep,
                const std::set<std::string>& live, const std::filesystem::path& runtime_dir);

} // namespace zeroflow::daemon
