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

// ---- C (zeroflow/node.h) ---------------------------------------------------------------------

constexpr const char* kCTalker =
    R"(/* talker: on every tick of its timer, sends "hello #N" on its `greeting` output. */
#include <stdio.h>
#include <string.h>

#include <zeroflow/node.h>

static int fail(const char* what) {
    fprintf(stderr, "talker: %s: %s\n", what, zf_last_error_message());
    return 1;
}

int main(void) {
    zf_node* node;
    if (zf_node_from_env(&node) != ZF_OK) { /* the daemon that started us tells us everything */
        return fail("connecting");
    }
    zf_output* greeting;
    if (zf_node_output(node, "greeting", &greeting) != ZF_OK) { /* fails if the dataflow lacks it */
        zf_node_close(node);
        return fail("output");
    }
    int sent = 0;
    for (;;) {
        zf_event* event;
        zf_event_kind kind;
        if (zf_node_next(node, &event) != ZF_OK) {
            break;
        }
        zf_event_kind_of(event, &kind);
        if (kind == ZF_EVENT_STOP) {
            zf_event_free(event);
            break;
        }
        const char* id = "";
        size_t id_size = 0;
        if (kind == ZF_EVENT_INPUT && zf_event_id(event, &id, &id_size) == ZF_OK &&
            strcmp(id, "tick") == 0) {
            char text[32];
            const int n = snprintf(text, sizeof text, "hello #%d", ++sent);
            /* Loan a chunk of shared memory, write into it, send it: no copy on the way. */
            zf_sample* sample;
            void* data;
            size_t size;
            if (zf_output_loan(greeting, (size_t)n, &sample) != ZF_OK ||
                zf_sample_data(sample, &data, &size) != ZF_OK) {
                zf_event_free(event);
                zf_node_close(node);
                return fail("loan");
            }
            memcpy(data, text, size);
            zf_sample_set_encoding(sample, "utf-8"); /* what the bytes are, for tools */
            zf_sample_set_int(sample, "count", sent); /* dora-style parameters travel along */
            if (zf_sample_send(sample) != ZF_OK) {
                zf_event_free(event);
                zf_node_close(node);
                return fail("send");
            }
            printf("sent %s\n", text);
            fflush(stdout); /* `zeroflow run` shows lines as they come */
        } else if (kind == ZF_EVENT_ERROR) {
            const char* message = "";
            zf_event_error_message(event, &message);
            fprintf(stderr, "talker: %s\n", message);
        }
        zf_event_free(event);
    }
    zf_node_close(node);
    return 0;
}
)";

constexpr const char* kCListener =
    R"(/* listener: prints every greeting it gets, until the talker stops. */
#include <stdio.h>
#include <string.h>

#include <zeroflow/node.h>

int main(void) {
    zf_node* node;
    if (zf_node_from_env(&node) != ZF_OK) {
        fprintf(stderr, "listener: %s\n", zf_last_error_message());
        return 1;
    }
    int received = 0;
    for (;;) {
        zf_event* event;
        zf_event_kind kind;
        if (zf_node_next(node, &event) != ZF_OK) {
            break;
        }
        zf_event_kind_of(event, &kind);
        if (kind == ZF_EVENT_STOP) {
            zf_event_free(event);
            break;
        }
        const char* id = "";
        size_t id_size = 0;
        if (kind == ZF_EVENT_INPUT && zf_event_id(event, &id, &id_size) == ZF_OK &&
            strcmp(id, "greeting") == 0) {
            /* data points straight into shared memory: no copy was made. */
            const void* data;
            size_t size;
            zf_event_data(event, &data, &size);
            printf("heard '%.*s'\n", (int)size, (const char*)data);
            fflush(stdout);
            ++received;
        }
        zf_event_free(event);
    }
    printf("heard %d greetings\n", received);
    zf_node_close(node);
    return 0;
}
)";

constexpr const char* kCNode =
    R"(/* @NAME@: a zeroflow node. Prints what arrives on its inputs and sends the byte count of each
 * message on its `size` output (a u64 array of one element). Add it to a dataflow (README.md). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <zeroflow/node.h>

int main(void) {
    zf_node* node;
    zf_output* size_out;
    if (zf_node_from_env(&node) != ZF_OK) {
        fprintf(stderr, "@NAME@: %s\n", zf_last_error_message());
        return 1;
    }
    if (zf_node_output(node, "size", &size_out) != ZF_OK) { /* fails if the dataflow lacks it */
        fprintf(stderr, "@NAME@: %s\n", zf_last_error_message());
        zf_node_close(node);
        return 1;
    }
    for (;;) {
        zf_event* event;
        zf_event_kind kind;
        if (zf_node_next(node, &event) != ZF_OK) {
            break;
        }
        zf_event_kind_of(event, &kind);
        if (kind == ZF_EVENT_STOP) {
            zf_event_free(event);
            break;
        }
        if (kind == ZF_EVENT_INPUT) {
            const char* id = "";
            size_t id_size = 0;
            const void* data;
            uint64_t size = 0;
            size_t bytes = 0;
            zf_event_id(event, &id, &id_size);
            zf_event_data(event, &data, &bytes);
            size = bytes;
            printf("@NAME@: %" PRIu64 " bytes on %s\n", size, id);
            fflush(stdout);
            zf_sample* sample;
            void* out;
            size_t out_size;
            if (zf_output_loan_typed(size_out, ZF_DTYPE_U64, 1, &sample) == ZF_OK &&
                zf_sample_data(sample, &out, &out_size) == ZF_OK) {
                memcpy(out, &size, sizeof size);
                if (zf_sample_send(sample) != ZF_OK) {
                    fprintf(stderr, "@NAME@: %s\n", zf_last_error_message());
                }
            } else {
                fprintf(stderr, "@NAME@: %s\n", zf_last_error_message());
            }
        }
        zf_event_free(event);
    }
    zf_node_close(node);
    return 0;
}
)";

constexpr const char* kCDataflowCmake =
    R"(# @NAME@: the C nodes of dataflow.yml, built against the installed zeroflow.
cmake_minimum_required(VERSION 3.25)
# CXX too: zeroflow::runtime is a C++ library (its C API is a layer in it) and carries its standard.
project(@NAME@ LANGUAGES C CXX)

find_package(zeroflow CONFIG REQUIRED) # zeroflow/node.h is in zeroflow::runtime

add_executable(talker talker.c)
target_link_libraries(talker PRIVATE zeroflow::runtime)

add_executable(listener listener.c)
target_link_libraries(listener PRIVATE zeroflow::runtime)
)";

constexpr const char* kCNodeCmake =
    R"(# @NAME@: one zeroflow C node, built against the installed zeroflow.
cmake_minimum_required(VERSION 3.25)
# CXX too: zeroflow::runtime is a C++ library (its C API is a layer in it) and carries its standard.
project(@NAME@ LANGUAGES C CXX)

find_package(zeroflow CONFIG REQUIRED) # zeroflow/node.h is in zeroflow::runtime

add_executable(@NAME@ @NAME@.c)
target_link_libraries(@NAME@ PRIVATE zeroflow::runtime)
)";

// ---- Python (import zeroflow) ----------------------------------------------------------------

constexpr const char* kPyTalker =
    R"("""talker: on every tick of its timer, sends "hello #N" on its `greeting` output."""
import sys

from zeroflow import Node

node = Node()  # the daemon that started us tells us everything
if "greeting" not in node.outputs() or "tick" not in node.inputs():
    sys.exit(f"talker: the dataflow must give me an input `tick` and an output `greeting`; "
             f"it gives inputs {node.inputs()} and outputs {node.outputs()}")
sent = 0
for event in node:
    if event["type"] == "INPUT" and event["id"] == "tick":
        sent += 1
        text = f"hello #{sent}"
        # One copy into shared memory; "encoding" says what the bytes are, for tools.
        node.send_output("greeting", text.encode(), {"encoding": "utf-8", "count": sent})
        print("sent", text)  # python3 -u: `zeroflow run` shows lines as they come
    elif event["type"] == "ERROR":
        print("talker:", event["error"], file=sys.stderr)
)";

constexpr const char* kPyListener =
    R"("""listener: prints every greeting it gets, until the talker stops."""
import sys

from zeroflow import Node

node = Node()
if "greeting" not in node.inputs():
    sys.exit(f"listener: the dataflow must give me an input `greeting`; it gives {node.inputs()}")
received = 0
for event in node:
    if event["type"] == "INPUT" and event["id"] == "greeting":
        received += 1
        # event["value"] is a read-only numpy array viewing shared memory (uint8 for bytes).
        print(f"heard '{event['value'].tobytes().decode()}'")
print(f"heard {received} greetings")
)";

constexpr const char* kPyNode =
    R"("""@NAME@: a zeroflow node. Prints what arrives on its inputs and sends the byte count of
each message on its `size` output (a uint64 array of one element). Add it to a dataflow
(README.md)."""
import sys

import numpy as np
from zeroflow import Node

node = Node()
if "size" not in node.outputs():
    sys.exit(f"@NAME@: the dataflow must give me an output `size`; it gives {node.outputs()}")
for event in node:
    if event["type"] == "INPUT":
        value = event["value"]  # numpy array, dtype and shape from the message
        print(f"@NAME@: {value.nbytes} bytes on {event['id']}")
        node.send_output("size", np.array([value.nbytes], dtype=np.uint64))
)";

constexpr const char* kPyDataflowYaml =
    R"(# @NAME@: a Python talker that sends a greeting ten times a second and a listener that prints
# them. Nothing to build: the daemon runs `.py` nodes with python3 -u and finds the zeroflow module.
#   zeroflow run dataflow.yml
# Paths are relative to this file; every key is in zeroflow's docs/dataflow.md.
nodes:
  - id: talker
    path: talker.py
    inputs:
      tick: zeroflow/timer/millis/100
    outputs:
      - greeting

  - id: listener
    path: listener.py
    inputs:
      greeting: talker/greeting
)";

constexpr const char* kPyNodeReadme = R"(# @NAME@

A zeroflow Python node: it prints what arrives on its inputs and sends each message's size on its
`size` output. Nothing to build; add it to a dataflow:

```yaml
  - id: @NAME@
    path: path/to/@NAME@/@NAME@.py
    inputs:
      data: some-node/some-output
    outputs:
      - size
```
)";

constexpr const char* kPyGitignore = "out/\n__pycache__/\n";

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
    const std::string lang = options.lang == "c++" || options.lang == "cxx" ? "cpp"
                             : options.lang == "py"                         ? "python"
                                                                            : options.lang;
    if (lang != "cpp" && lang != "c" && lang != "python") {
        err << "zeroflow: error: unknown language '" << options.lang
            << "'; the languages that exist: cpp, c, python\n";
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
    const bool python = lang == "python";
    std::vector<std::pair<std::string, std::string>> files;
    if (lang == "cpp") {
        files = dataflow ? decltype(files){{"dataflow.yml", kDataflowYaml},
                                           {"talker.cpp", kTalker},
                                           {"listener.cpp", kListener},
                                           {"CMakeLists.txt", kDataflowCmake}}
                         : decltype(files){{name + ".cpp", kNode},
                                           {"CMakeLists.txt", kNodeCmake},
                                           {"README.md", kNodeReadme}};
    } else if (lang == "c") {
        files = dataflow ? decltype(files){{"dataflow.yml", kDataflowYaml},
                                           {"talker.c", kCTalker},
                                           {"listener.c", kCListener},
                                           {"CMakeLists.txt", kCDataflowCmake}}
                         : decltype(files){{name + ".c", kCNode},
                                           {"CMakeLists.txt", kCNodeCmake},
                                           {"README.md", kNodeReadme}};
    } else {
        files = dataflow ? decltype(files){{"dataflow.yml", kPyDataflowYaml},
                                           {"talker.py", kPyTalker},
                                           {"listener.py", kPyListener}}
                         : decltype(files){{name + ".py", kPyNode}, {"README.md", kPyNodeReadme}};
    }
    files.emplace_back(".gitignore", python ? kPyGitignore : kGitignore);
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
    if (python) {
        // The daemon puts the zeroflow module on a .py node's PYTHONPATH, from a build tree too.
        out << "\nNext:\n  cd " << folder.string() << "\n";
        if (dataflow) {
            out << "  zeroflow run dataflow.yml --stop-after 3s   # nothing to build\n";
        } else {
            out << "then add " << name << ".py to a dataflow's nodes (README.md shows how).\n";
        }
        return kExitOk;
    }
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
