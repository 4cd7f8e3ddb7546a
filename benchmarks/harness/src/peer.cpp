// Shared start-up and result plumbing of the peer programs.
#include <cstdio>
#include <cstdlib>

#include <unistd.h>

#include <zeroflow/bench/peer.hpp>
#include <zeroflow/bench/process.hpp>
#include <zeroflow/bench/stats.hpp>

namespace zeroflow::bench {

namespace {
unsigned g_child_cpu = kChildCpu; // set by parent_setup from --cpus
} // namespace

std::vector<std::string> child_args(const PointSpec& point,
                                    const std::vector<std::pair<std::string, std::string>>& extra) {
    std::vector<std::string> args{"--role",   "child",
                                  "--point",  encode_point(point),
                                  "--cpu",    std::to_string(g_child_cpu),
                                  "--parent", std::to_string(::getpid())};
    for (const auto& [key, value] : extra) {
        args.push_back("--" + key);
        args.push_back(value);
    }
    return args;
}

std::chrono::seconds point_deadline(const PointSpec& point) noexcept {
    return std::chrono::seconds(60 + static_cast<long>(3.0 * point.budget_s + 3.0 * point.seconds));
}

PointResult make_result(std::string_view system, const PointSpec& point, Measured measured) {
    PointResult r;
    r.system = system;
    r.mode = to_string(point.mode);
    r.touch = to_string(point.touch);
    r.pattern = to_string(point.pattern);
    r.size = point.size;
    r.note = std::move(measured.note);
    if (point.pattern == Pattern::throughput) {
        r.msgs_per_s = measured.msgs_per_s;
        r.samples = measured.messages;
    } else {
        r.samples = measured.samples_ns.size();
        r.latency = compute_percentiles(std::move(measured.samples_ns));
    }
    return r;
}

PointSpec child_setup(const Options& options) {
    if (const auto it = options.extra.find("parent"); it != options.extra.end()) {
        die_with_parent(static_cast<pid_t>(std::atoi(it->second.c_str())));
    }
    if (options.cpu >= 0) {
        pin_to_cpu(static_cast<unsigned>(options.cpu));
    }
    const auto point = decode_point(options.point);
    if (!point) {
        std::fprintf(stderr, "error: bad --point '%s'\n", options.point.c_str());
        std::exit(2);
    }
    return *point;
}

void parent_setup(const Options& options, JsonlWriter& writer) {
    install_signal_cleanup();
    unsigned parent_cpu = kParentCpu;
    if (const auto it = options.extra.find("cpus"); it != options.extra.end()) {
        const auto cpus = split_list(it->second);
        char* end = nullptr;
        const auto first = cpus.size() == 2 ? std::strtoul(cpus[0].c_str(), &end, 10) : 0;
        const bool ok = cpus.size() == 2 && end != nullptr && *end == '\0';
        const auto second = ok ? std::strtoul(cpus[1].c_str(), &end, 10) : 0;
        if (!ok || *end != '\0') {
            std::fprintf(stderr, "error: --cpus wants PARENT,CHILD, got '%s'\n",
                         it->second.c_str());
            std::exit(2);
        }
        parent_cpu = static_cast<unsigned>(first);
        g_child_cpu = static_cast<unsigned>(second);
    }
    pin_to_cpu(parent_cpu);
    if (options.header) {
        writer.header(read_host_info());
    }
}

} // namespace zeroflow::bench
