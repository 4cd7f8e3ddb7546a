// `zeroflow clean [FILE]`: deletes the log folders (out/<uuid>/) of dataflows that are not
// running, and the runtime directory's index entries that pointed at them.
#include <set>
#include <vector>

#include "client.hpp"
#include "commands.hpp"
#include "daemon_commands.hpp"

namespace zeroflow::cli {

namespace {

namespace fs = std::filesystem;
using protocol::Json;
using namespace std::chrono_literals;

std::uintmax_t folder_size(const fs::path& folder) {
    std::uintmax_t total = 0;
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(folder, ec)) {
        if (e.is_regular_file(ec)) {
            total += e.file_size(ec);
        }
    }
    return total;
}

std::string human_size(std::uintmax_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB"};
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(units)) {
        value /= 1024;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof(text), unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
    return text;
}

/// A run folder zeroflow made: .../out/<uuid>, a real directory.
bool is_run_folder(const fs::path& folder) {
    std::error_code ec;
    return is_uuid(folder.filename().string()) &&
           folder.parent_path().filename() == protocol::kRunsFolder &&
           fs::is_directory(fs::symlink_status(folder, ec));
}

} // namespace

int run_clean(const CleanOptions& options, std::ostream& out, std::ostream& err) {
    std::set<std::string> live;
    if (daemon_running()) {
        auto reply = daemon_request(Json{{"op", "list"}}, 10s);
        if (!reply) {
            err << "zeroflow: error: " << reply.error() << "\n";
            return kExitFailure;
        }
        for (const auto& df : (*reply)["dataflows"]) {
            const auto status = df.value("status", std::string());
            if (status == "starting" || status == "running" || status == "stopping") {
                live.insert(df.value("uuid", std::string()));
            }
        }
    }

    std::error_code ec;
    std::set<fs::path> folders;
    const auto runtime_dir = protocol::runtime_dir();
    if (options.file) {
        const auto out_root = fs::absolute(*options.file, ec).parent_path() / protocol::kRunsFolder;
        for (const auto& e : fs::directory_iterator(out_root, ec)) {
            folders.insert(e.path());
        }
    } else {
        for (const auto& record : protocol::read_dataflow_records(runtime_dir)) {
            folders.insert(record.log_dir);
        }
    }

    std::size_t removed = 0;
    std::size_t kept = 0;
    std::uintmax_t bytes = 0;
    std::set<fs::path> parents;
    for (const auto& folder : folders) {
        if (!is_run_folder(folder)) {
            continue;
        }
        if (live.contains(folder.filename().string())) {
            ++kept;
            continue;
        }
        bytes += folder_size(folder);
        fs::remove_all(folder, ec);
        if (ec) {
            err << "zeroflow: warning: cannot delete " << folder.string() << ": " << ec.message()
                << "\n";
            continue;
        }
        ++removed;
        parents.insert(folder.parent_path());
    }
    for (const auto& parent : parents) {
        if (fs::is_empty(parent, ec)) {
            fs::remove(parent, ec); // the out/ folder itself, once empty
        }
    }
    // Forget the runs whose logs are gone.
    protocol::remove_stale_dataflow_records(runtime_dir);

    if (removed == 0) {
        out << "nothing to clean";
    } else {
        out << "deleted the logs of " << removed << " run" << (removed == 1 ? "" : "s") << " ("
            << human_size(bytes) << ")";
    }
    if (kept > 0) {
        out << "; kept those of " << kept << " running dataflow" << (kept == 1 ? "" : "s");
    }
    out << "\n";
    return kExitOk;
}

} // namespace zeroflow::cli
