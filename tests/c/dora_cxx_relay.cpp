// A dora node in C++ that includes dora's C header inside extern "C", as dora's C++ users do
// with C headers: forwards every input of `in` to output `out` unchanged, until NULL.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

extern "C" {
#include "node_api.h"
}

int main() {
    if (const char* dir = std::getenv("ZF_TEST_PID_DIR"); dir != nullptr && *dir != '\0') {
        if (std::FILE* f =
                std::fopen((std::string(dir) + "/" + std::to_string(::getpid())).c_str(), "w")) {
            std::fclose(f);
        }
    }
    void* context = init_dora_context_from_env();
    if (context == nullptr) {
        return 1;
    }
    int failures = 0;
    while (void* event = dora_next_event(context)) {
        if (read_dora_event_type(event) == DoraEventType_Input) {
            char* data = nullptr;
            std::size_t len = 0;
            read_dora_input_data(event, &data, &len);
            const std::string out = "out";
            failures += dora_send_output(context, out.data(), out.size(), data, len) != 0;
        }
        free_dora_event(event);
    }
    free_dora_context(context);
    return failures == 0 ? 0 : 1;
}
