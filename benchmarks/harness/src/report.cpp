// JSON-lines writer (nlohmann::ordered_json keeps the documented field order).
#include <ctime>
#include <fstream>

#include <nlohmann/json.hpp>
#include <sys/utsname.h>
#include <unistd.h>

#include <zeroflow/bench/interleave.hpp>
#include <zeroflow/bench/report.hpp>

namespace zeroflow::bench {

namespace {

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            if (colon != std::string::npos) {
                auto value = line.substr(colon + 1);
                value.erase(0, value.find_first_not_of(" \t"));
                return value;
            }
        }
    }
    return "unknown";
}

nlohmann::ordered_json micros(std::int64_t ns) {
    return static_cast<double>(ns) / 1000.0;
}

} // namespace

HostInfo read_host_info() {
    HostInfo host;
    host.cpu = cpu_model();
    const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
    host.cores = cores > 0 ? static_cast<unsigned>(cores) : 1U;
    utsname names{};
    host.kernel = ::uname(&names) == 0 ? names.release : "unknown";
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
    host.time = buffer;
    host.idle = IdleState::read().describe();
    return host;
}

std::string header_line(const HostInfo& host) {
    nlohmann::ordered_json j;
    j["type"] = "header";
    j["cpu"] = host.cpu;
    j["cores"] = host.cores;
    j["kernel"] = host.kernel;
    j["time"] = host.time;
    if (!host.idle.empty()) {
        j["idle"] = host.idle;
    }
    return j.dump();
}

std::string point_line(const PointResult& point) {
    nlohmann::ordered_json j;
    j["system"] = point.system;
    j["mode"] = point.mode;
    j["touch"] = point.touch;
    j["pattern"] = point.pattern;
    j["size"] = point.size;
    if (point.latency) {
        j["p50_us"] = micros(point.latency->p50_ns);
        j["p90_us"] = micros(point.latency->p90_ns);
        j["p99_us"] = micros(point.latency->p99_ns);
        j["p999_us"] = micros(point.latency->p999_ns);
        j["max_us"] = micros(point.latency->max_ns);
    } else {
        for (const char* key : {"p50_us", "p90_us", "p99_us", "p999_us", "max_us"}) {
            j[key] = nullptr;
        }
    }
    j["samples"] = point.samples;
    if (point.msgs_per_s) {
        j["msgs_per_s"] = *point.msgs_per_s;
    } else {
        j["msgs_per_s"] = nullptr;
    }
    if (!point.note.empty()) {
        j["note"] = point.note;
    }
    return j.dump();
}

void JsonlWriter::write(const std::string& line) {
    out_ << line << '\n';
    out_.flush();
}

} // namespace zeroflow::bench
