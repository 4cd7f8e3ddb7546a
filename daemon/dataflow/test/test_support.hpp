// Test helpers for the dataflow descriptor: a temporary folder with executables in it, and a
// matcher for diagnostics at a given position.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include <zeroflow/dataflow/descriptor.hpp>

namespace zeroflow::dataflow::testing {

/// A fresh folder under the system temp dir, removed with everything in it on destruction.
class TempDir {
public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "zeroflow-dataflow-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    /// Writes a file (creating folders) and returns its path.
    std::filesystem::path write(const std::string& name, const std::string& content) const {
        const auto file = path_ / name;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file) << content;
        return file;
    }

    /// Writes a shell script and makes it executable.
    std::filesystem::path executable(const std::string& name) const {
        const auto file = write(name, "#!/bin/sh\nexit 0\n");
        std::filesystem::permissions(file, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::add);
        return file;
    }

private:
    std::filesystem::path path_;
};

/// Succeeds when `result` has a diagnostic of `severity` at line:column whose message
/// contains `text`; otherwise lists what it has.
inline ::testing::AssertionResult has_diagnostic(const ParseResult& result, Severity severity,
                                                 int line, int column, const std::string& text) {
    for (const auto& d : result.diagnostics) {
        if (d.severity == severity && d.where.line == line && d.where.column == column &&
            d.message.find(text) != std::string::npos) {
            return ::testing::AssertionSuccess();
        }
    }
    return ::testing::AssertionFailure()
           << "no " << (severity == Severity::error ? "error" : "warning") << " at " << line << ":"
           << column << " containing \"" << text << "\"; got:\n"
           << result.format();
}

} // namespace zeroflow::dataflow::testing
