// The argument and environment vectors of a process zeroflow starts (a node, a daemon, a
// build command): built once here for execve and posix_spawn alike.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zeroflow::daemon {

/// argv or envp for execve/posix_spawn: owns its strings and hands out the NULL-terminated
/// array of pointers into them. Build it before fork(): data() allocates, the child may not.
class ExecStrings {
public:
    ExecStrings() = default;
    ExecStrings(std::initializer_list<std::string> items) : items_(items) {}
    explicit ExecStrings(std::vector<std::string> items) : items_(std::move(items)) {}

    /// This process's environment (environ), in its order.
    static ExecStrings current_environment();

    void push_back(std::string item) { items_.push_back(std::move(item)); }
    /// Environments: sets `key=value`, in place of the first entry of that key, else at the end.
    void set(std::string_view key, std::string_view value);
    /// Environments: the value of the first entry of `key`; nullopt when there is none.
    std::optional<std::string_view> get(std::string_view key) const;

    const std::vector<std::string>& items() const noexcept { return items_; }
    /// The NULL-terminated array; valid until the next change of this object.
    char* const* data();

private:
    std::vector<std::string> items_;
    std::vector<char*> pointers_;
};

} // namespace zeroflow::daemon
