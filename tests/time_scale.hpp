// How much slower than native the tests run: ZEROFLOW_TEST_TIME_SCALE, a factor (default 1; the
// arm64 test preset sets 10 for qemu-user). Time limits that only bound how long the machine
// may take (not what a user is promised) are multiplied by it; counts and assertions stay.
#pragma once

#include <chrono>
#include <cstdlib>

namespace zeroflow::test {

inline double time_scale() {
    const char* text = std::getenv("ZEROFLOW_TEST_TIME_SCALE");
    const double scale = text != nullptr ? std::strtod(text, nullptr) : 1.0;
    return scale >= 1.0 ? scale : 1.0;
}

/// `limit` times time_scale(): how long to wait for something that takes `limit` natively.
inline std::chrono::milliseconds scaled_time(std::chrono::milliseconds limit) {
    return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(
        static_cast<double>(limit.count()) * time_scale()));
}

} // namespace zeroflow::test
