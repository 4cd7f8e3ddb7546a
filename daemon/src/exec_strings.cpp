// argv/envp vectors for execve and posix_spawn.
#include <zeroflow/daemon/exec_strings.hpp>

extern char** environ; // NOLINT(readability-redundant-declaration): POSIX, not in unistd.h

namespace zeroflow::daemon {

ExecStrings ExecStrings::current_environment() {
    ExecStrings env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        env.items_.emplace_back(*e);
    }
    return env;
}

void ExecStrings::set(std::string_view key, std::string_view value) {
    std::string entry(key);
    entry += '=';
    const std::size_t prefix = entry.size();
    entry += value;
    for (auto& item : items_) {
        if (item.compare(0, prefix, entry, 0, prefix) == 0) {
            item = std::move(entry);
            return;
        }
    }
    items_.push_back(std::move(entry));
}

std::optional<std::string_view> ExecStrings::get(std::string_view key) const {
    for (const auto& item : items_) {
        const std::string_view view(item);
        if (view.size() > key.size() && view.starts_with(key) && view[key.size()] == '=') {
            return view.substr(key.size() + 1);
        }
    }
    return std::nullopt;
}

char* const* ExecStrings::data() {
    pointers_.clear();
    pointers_.reserve(items_.size() + 1);
    for (auto& item : items_) {
        pointers_.push_back(item.data());
    }
    pointers_.push_back(nullptr);
    return pointers_.data();
}

} // namespace zeroflow::daemon
