// `zeroflow new NAME`: writes a project that builds with CMake against the installed zeroflow
// (find_package) and runs with `zeroflow run`; prints the commands that do both.
#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "commands/commands.hpp"

namespace zeroflow::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kTalker =
    R"(// talker: on every tick of its timer, sends "hello #N" on its `greeting` output.
#include <cstring>
#include <iostream>
#include <string>

#include <zeroflow/node.hpp>

int main() {
    auto node = zeroflow::Node::from_env(); // the daemon that started us tells us everything
    if (!node) {
        std::cerr << "talker: " << node.error().message() << "\n";
        return 1;
    }
    // Handles resolve an input or output once: a name the dataflow does not declare fails here.
    auto tick = node->input("tick");
    auto greeting = node->output("greeting");
    if (!tick || !greeting) {
        std::cerr << "talker: " << (!tick ? tick.error() : greeting.error()).message() << "\n";
        return 1;
    }
    int sent = 0;
    for (auto event = node->next(); event.kind != zeroflow::EventKind::Stop; event = node->next()) {
        if (event.kind == zeroflow::EventKind::Error) {
            std::cerr << "talker: " << event.message << "\n";
            continue;
        }
        if (event.kind != zeroflow::EventKind::Input || !tick->matches(event)) {
            continue;
        }
        const std::string text = "hello #" + std::to_string(++sent);
        // Loan a chunk of shared memory, write into it, send it: the listener reads the same bytes.
        auto sample = greeting->loan(text.size());
        if (!sample) {
            std::cerr << "talker: " << sample.error().message() << "\n";
            return 1;
        }
        std::memcpy(sample->data().data(), text.data(), text.size());
        sample->set_encoding("utf-8");                   // what the bytes are, for tools
        sample->metadata().set("count", sent);           // dora-style parameters travel along
        if (auto ok = node->send(std::move(*sample)); !ok) {
            std::cerr << "talker: " << ok.error().message() << "\n";
            return 1;
        }
        std::cout << "sent " << text << std::endl; // endl: `zeroflow run` shows lines as they come
    }
    return 0;
}
)";

constexpr const char* kListener =
    R"(// listener: prints every greeting it gets, until the talker stops.
#include <iostream>
#include <string_view>

#include <zeroflow/node.hpp>

int main() {
    auto node = zeroflow::Node::from_env();
    if (!node) {
        std::cerr << "listener: " << node.error().message() << "\n";
        return 1;
    }
    auto greeting = node->input("greeting");
    if (!greeting) {
        std::cerr << "listener: " << greeting.error().message() << "\n";
        return 1;
    }
    int received = 0;
    for (auto event = node->next(); event.kind != zeroflow::EventKind::Stop; event = node->next()) {
        if (event.kind == zeroflow::EventKind::Input && greeting->matches(event)) {
            ++received;
            // event.data points straight into shared memory: no copy was made.
            const std::string_view text(reinterpret_cast<const char*>(event.data.data()),
                                        event.data.size());
            std::cout << "heard '" << text << "'" << std::endl;
        } else if (event.kind == zeroflow::EventKind::Error) {
            std::cerr << "listener: " << event.message << "\n";
        }
    }
    std::cout << "heard " << received << " greetings" << std::endl;
    return 0;
}
)";

constexpr const char* kNode =
    R"(// @NAME@: a zeroflow node. Prints what arrives on its inputs and sends the byte count of each
// message on its `size` output. Add it to a dataflow (see README.md).
#include <cstdint>
#include <cstring>
#include <iostream>

#include <zeroflow/node.hpp>

int main() {
    auto node = zeroflow::Node::from_env();
    if (!node) {
        std::cerr << "@NAME@: " << node.error().message() << "\n";
        return 1;
    }
    auto size_out = node->output("size"); // resolved once; fails here if the dataflow lacks it
    if (!size_out) {
        std::cerr << "@NAME@: " << size_out.error().message() << "\n";
        return 1;
    }
    for (auto event = node->next(); event.kind != zeroflow::EventKind::Stop; event = node->next()) {
        if (event.kind == zeroflow::EventKind::Error) {
            std::cerr << "@NAME@: " << event.message << "\n";
            continue;
        }
        if (event.kind != zeroflow::EventKind::Input) {
            continue;
        }
        std::cout << "@NAME@: " << event.data.size() << " bytes on " << event.id << std::endl;
        auto sample = size_out->loan<std::uint64_t>(1); // dtype u64, shape {1}
        if (!sample) {
            std::cerr << "@NAME@: " << sample.error().message() << "\n";
            continue;
        }
        const std::uint64_t size = event.data.size();
        std::memcpy(sample->data().data(), &size, sizeof(size));
        if (auto ok = node->send(std::move(*sample)); !ok) {
            std::cerr << "@NAME@: " << ok.error().message() << "\n";
        }
    }
    return 0;
}
)";

constexpr const char* kDataflowCmake =
    R"(# @NAME@: the nodes of dataflow.yml, built against the installed zeroflow.
cmake_minimum_required(VERSION 3.25)
project(@NAME@ LANGUAGES CXX)

find_package(zeroflow CONFIG REQUIRED) # zeroflow::runtime carries the C++ standard it needs

add_executable(talker talker.cpp)
target_link_libraries(talker PRIVATE zeroflow::runtime)

add_executable(listener listener.cpp)
target_link_libraries(listener PRIVATE zeroflow::runtime)
)";

constexpr const char* kNodeCmake =
    R"(# @NAME@: one zeroflow node, built against the installed zeroflow.
cmake_minimum_required(VERSION 3.25)
project(@NAME@ LANGUAGES CXX)

find_package(zeroflow CONFIG REQUIRED) # zeroflow::runtime carries the C++ standard it needs

add_executable(@NAME@ @NAME@.cpp)
target_link_libraries(@NAME@ PRIVATE zeroflow::runtime)
)";

constexpr const char* kDataflowYaml =
    R"(# @NAME@: a talker that sends a greeting ten times a second and a listener that prints them.
#   zeroflow build dataflow.yml   (or: @CONFIGURE@ && cmake --build build)
#   zeroflow run dataflow.yml
# Paths are relative to this file; every key is in zeroflow's docs/dataflow.md.
nodes:
  - id: talker
    path: build/talker
    build: @CONFIGURE@ && cmake --build build --target talker
    inputs:
      tick: zeroflow/timer/millis/100
    outputs:
      - greeting

  - id: listener
    path: build/listener
    build: @CONFIGURE@ && cmake --build build --target listener
    inputs:
      greeting: talker/greeting
)";

constexpr const char* kNodeReadme = R"(# @NAME@

A zeroflow node: it prints what arrives on its inputs and sends each message's size on its
`size` output. Build it with `@CONFIGURE@ && cmake --build build`, then add it to a dataflow:

```yaml
  - id: @NAME@
    path: path/to/@NAME@/build/@NAME@
    build: cmake --build path/to/@NAME@/build
    inputs:
      data: some-node/some-output
    outputs:
      - size
```
)";

constexpr const char* kGitignore = "build/\nout/\n";

std::string fill(std::string text, const std::string& name, const std::string& configure) {
    for (const auto& [key, value] :
         {std::pair<std::string, std::string>{"@NAME@", name}, {"@CONFIGURE@", configure}}) {
        for (auto at = text.find(key); at != std::string::npos;
             at = text.find(key, at + value.size())) {
            text.replace(at, key.size(), value);
        }
    }
    return text;
}

/// Where this zeroflow is installed (PREFIX/bin/zeroflow with PREFIX/lib.../cmake/zeroflow), or
/// empty (it runs from a build tree).
std::optional<fs::path> install_prefix() {
    std::error_code ec;
    const auto self = fs::canonical("/proc/self/exe", ec);
    if (ec || self.parent_path().filename() != "bin") {
        return std::nullopt;
    }
    const auto prefix = self.parent_path().parent_path();
    for (const auto& lib : fs::directory_iterator(prefix, ec)) {
        if (!lib.path().filename().string().starts_with("lib")) {
            continue;
        }
        if (fs::exists(lib.path() / "cmake" / "zeroflow" / "zeroflowConfig.cmake", ec)) {
            return prefix;
        }
        for (const auto& sub : fs::directory_iterator(lib.path(), ec)) { // lib/<multiarch>/
            if (fs::exists(sub.path() / "cmake" / "zeroflow" / "zeroflowConfig.cmake", ec)) {
                return prefix;
            }
        }
    }
    return std::nullopt;
}

/// The build tree this zeroflow runs from (it holds CMakeCache.txt), if any.
std::optional<fs::path> build_tree() {
    std::error_code ec;
    const auto self = fs::canonical("/proc/self/exe", ec);
    for (auto dir = self.parent_path(); !ec && dir.has_relative_path(); dir = dir.parent_path()) {
        if (fs::exists(dir / "CMakeCache.txt", ec)) {
            return dir;
        }
    }
    return std::nullopt;
}

bool write_file(const fs::path& file, const std::string& text, std::ostream& err) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
        err << "zeroflow: error: cannot write " << file.string() << "\n";
        return false;
    }
    return true;
}

bool valid_name(const std::string& name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

} // namespace

int run_new(const NewOptions& options, std::ostream& out, std::ostream& err) {
    const std::string lang = options.lang == "c++" || options.lang == "cxx" ? "cpp" : options.lang;
    if (lang == "c" || lang == "python") {
        err << "zeroflow: error: " << (lang == "c" ? "C" : "Python")
            << " nodes come with zeroflow's " << (lang == "c" ? "C API" : "Python API")
            << ", which is not there yet; the languages that exist: cpp\n";
        return kExitUsage;
    }
    if (lang != "cpp") {
        err << "zeroflow: error: unknown language '" << options.lang
            << "'; the languages that exist: cpp (c and python come with their APIs)\n";
        return kExitUsage;
    }
    const fs::path folder = options.name;
    const std::string name = folder.filename().string();
    if (!valid_name(name)) {
        err << "zeroflow: error: '" << name
            << "' cannot name a project: use letters, digits, '_' and '-'\n";
        return kExitUsage;
    }
    std::error_code ec;
    if (fs::exists(folder, ec)) {
        err << "zeroflow: error: " << folder.string()
            << " already exists; `zeroflow new` writes a new folder\n";
        return kExitFailure;
    }
    if (!fs::create_directories(folder, ec) || ec) {
        err << "zeroflow: error: cannot create " << folder.string() << ": " << ec.message() << "\n";
        return kExitFailure;
    }

    const auto prefix = install_prefix();
    const bool standard = prefix && (*prefix == "/usr" || *prefix == "/usr/local");
    const std::string configure =
        std::string("cmake -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo") +
        (prefix && !standard ? " -DCMAKE_PREFIX_PATH=" + prefix->string() : "");

    const bool dataflow = options.kind == "dataflow";
    std::vector<std::pair<std::string, std::string>> files;
    if (dataflow) {
        files = {{"dataflow.yml", kDataflowYaml},
                 {"talker.cpp", kTalker},
                 {"listener.cpp", kListener},
                 {"CMakeLists.txt", kDataflowCmake},
                 {".gitignore", kGitignore}};
    } else {
        files = {{name + ".cpp", kNode},
                 {"CMakeLists.txt", kNodeCmake},
                 {"README.md", kNodeReadme},
                 {".gitignore", kGitignore}};
    }
    for (const auto& [file, text] : files) {
        if (!write_file(folder / file, fill(text, name, configure), err)) {
            return kExitFailure;
        }
    }

    out << "created " << (dataflow ? "dataflow" : "node") << " project " << folder.string() << "/:";
    for (const auto& [file, text] : files) {
        if (file != ".gitignore") {
            out << " " << file;
        }
    }
    out << "\n";
    if (!prefix) {
        const auto tree = build_tree();
        out << "\nThis zeroflow runs from its build tree, and the project needs an installed one "
               "(find_package(zeroflow)). Install it first, e.g.:\n"
            << "  cmake --install " << (tree ? tree->string() : std::string("BUILD_DIR"))
            << " --prefix ~/.local\n"
            << "then configure with -DCMAKE_PREFIX_PATH=~/.local and use ~/.local/bin/zeroflow.\n";
    }
    out << "\nNext:\n  cd " << folder.string() << "\n";
    if (dataflow) {
        out << "  zeroflow build dataflow.yml   # runs each node's build: " << configure
            << " && cmake --build build\n"
            << "  zeroflow run dataflow.yml --stop-after 3s\n";
    } else {
        out << "  " << configure << " && cmake --build build\n"
            << "then add it to a dataflow's nodes (README.md shows how).\n";
    }
    return kExitOk;
}

} // namespace zeroflow::cli
