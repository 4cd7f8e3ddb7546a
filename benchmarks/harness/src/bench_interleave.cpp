// bench_interleave: measures every point (size x mode x touch x pattern) with the systems in
// alternating short rounds (A B C A B C ...), per CPU placement the machine offers, and prints
// one JSON line per system and point: medians across rounds, spread, ratio to the floor of
// the adjacent rounds, and whether the floor flipped state during the point. See --help.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <zeroflow/bench/interleave.hpp>
#include <zeroflow/bench/point.hpp>
#include <zeroflow/bench/report.hpp>

namespace zb = zeroflow::bench;

namespace {

constexpr const char* kUsage =
    R"(usage: bench_interleave --system NAME[:PATTERNS]=COMMAND ... [options]
Runs every point with the systems in alternating rounds and prints JSON lines (stdout).
  --system NAME[:P+P..]=CMD  a system; CMD (run by /bin/sh, `exec` prepended) must print its
                             point as a JSON line. Placeholders: {pattern} {mode} {touch}
                             {size} {samples} {warmup} {seconds} {cpus} (A,B). PATTERNS: those
                             it measures (default pingpong+oneway+throughput)
  --floor NAME               the floor system (default raw); it also runs at points of patterns
                             it lacks, as oneway (the reference for fanout-N/chain-K)
  --sizes LIST --throughput-sizes LIST --modes LIST --touch LIST --patterns LIST
  --samples N                latency samples per system and point (default 2000)
  --round-samples N          samples per round (default 500): rounds = samples / this
  --warmup N                 warm-up iterations per round (default 100)
  --seconds S                duration of one throughput round (default 0.5)
  --throughput-rounds N      rounds per system of a throughput point (default 3)
  --placements auto|LIST     auto (default): every placement this machine offers
                             (smt-siblings, same-l3, same-package, cross-package)
  --cpus A,B                 only this pair of CPUs
  --rounds-out FILE          also write every round's own line there
  --no-header                no header line
)";

pid_t g_child = -1;

void forward(int sig) {
    if (g_child > 0) {
        ::kill(g_child, SIGTERM);
    }
    std::signal(sig, SIG_DFL);
    ::raise(sig);
}

struct System {
    std::string name;
    std::vector<std::string> patterns;
    std::string command;
};

std::string substitute(std::string text, const std::map<std::string, std::string>& values) {
    for (const auto& [key, value] : values) {
        const std::string token = "{" + key + "}";
        for (auto at = text.find(token); at != std::string::npos;
             at = text.find(token, at + value.size())) {
            text.replace(at, token.size(), value);
        }
    }
    return text;
}

bool measures(const System& s, const std::string& pattern) {
    for (const auto& p : s.patterns) {
        if (p == pattern) {
            return true;
        }
    }
    return false;
}

[[noreturn]] void usage_error(const std::string& message) {
    std::fprintf(stderr, "bench_interleave: %s\n%s", message.c_str(), kUsage);
    std::exit(2);
}

} // namespace

int main(int argc, char** argv) {
    std::vector<System> systems;
    std::string floor = "raw";
    std::vector<std::string> sizes{"8"}, throughput_sizes{"8"}, modes{"busy", "blocking"},
        touches{"transport"}, patterns{"pingpong", "oneway"};
    std::uint64_t samples = 2000, round_samples = 500, warmup = 100, throughput_rounds = 3;
    std::string seconds = "0.5", placements = "auto", cpus_option, rounds_out;
    bool header = true;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (flag == "--no-header") {
            header = false;
            continue;
        }
        if (i + 1 >= argc) {
            usage_error("option " + flag + " needs a value");
        }
        const std::string value = argv[++i];
        const auto count = [&] {
            const auto n = zb::parse_size(value);
            if (!n || *n == 0) {
                usage_error("bad number '" + value + "' for " + flag);
            }
            return *n;
        };
        if (flag == "--system") {
            const auto eq = value.find('=');
            if (eq == std::string::npos || eq == 0) {
                usage_error("--system wants NAME[:PATTERNS]=COMMAND, got '" + value + "'");
            }
            System s;
            s.name = value.substr(0, eq);
            s.command = value.substr(eq + 1);
            s.patterns = {"pingpong", "oneway", "throughput"};
            if (const auto colon = s.name.find(':'); colon != std::string::npos) {
                std::string list = s.name.substr(colon + 1);
                s.patterns.clear();
                std::size_t start = 0;
                for (auto plus = list.find('+');; plus = list.find('+', start)) {
                    s.patterns.push_back(list.substr(start, plus - start));
                    if (plus == std::string::npos) {
                        break;
                    }
                    start = plus + 1;
                }
                s.name.resize(colon);
            }
            systems.push_back(std::move(s));
        } else if (flag == "--floor") {
            floor = value;
        } else if (flag == "--sizes") {
            sizes = zb::split_list(value);
        } else if (flag == "--throughput-sizes") {
            throughput_sizes = zb::split_list(value);
        } else if (flag == "--modes") {
            modes = zb::split_list(value);
        } else if (flag == "--touch") {
            touches = zb::split_list(value);
        } else if (flag == "--patterns") {
            patterns = zb::split_list(value);
        } else if (flag == "--samples") {
            samples = count();
        } else if (flag == "--round-samples") {
            round_samples = count();
        } else if (flag == "--warmup") {
            warmup = count();
        } else if (flag == "--throughput-rounds") {
            throughput_rounds = count();
        } else if (flag == "--seconds") {
            seconds = value;
        } else if (flag == "--placements") {
            placements = value;
        } else if (flag == "--cpus") {
            cpus_option = value;
        } else if (flag == "--rounds-out") {
            rounds_out = value;
        } else {
            usage_error("unknown option " + flag);
        }
    }
    if (systems.empty()) {
        usage_error("no --system given");
    }
    for (const auto& list : {sizes, throughput_sizes}) {
        for (const auto& s : list) {
            if (!zb::parse_size(s)) {
                usage_error("bad size '" + s + "'");
            }
        }
    }

    // Where to run: the pairs of CPUs, one per placement this machine offers.
    const auto topology = zb::Topology::read();
    struct Where {
        std::string placement;
        std::vector<int> cpus;
    };
    std::vector<Where> wheres;
    nlohmann::ordered_json unmeasurable = nlohmann::ordered_json::array();
    if (!cpus_option.empty()) {
        const auto list = zb::parse_cpu_list(cpus_option);
        if (!list || list->size() != 2) {
            usage_error("--cpus wants two CPUs A,B, got '" + cpus_option + "'");
        }
        const auto kind = topology.classify((*list)[0], (*list)[1]);
        wheres.push_back({kind ? std::string(zb::to_string(*kind)) : "unknown", *list});
    } else {
        const auto wanted =
            placements == "auto" ? std::vector<std::string>{} : zb::split_list(placements);
        for (const auto& [kind, pair] : topology.offers()) {
            const std::string name(zb::to_string(kind));
            if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), name) == wanted.end()) {
                continue;
            }
            if (pair) {
                wheres.push_back({name, {pair->first, pair->second}});
            } else {
                unmeasurable.push_back(name);
            }
        }
        if (wheres.empty()) { // one CPU: nothing to pin apart
            wheres.push_back({"unpinned", {}});
        }
    }

    std::signal(SIGINT, forward);
    std::signal(SIGTERM, forward);
    std::signal(SIGHUP, forward);
    std::ofstream rounds_file;
    if (!rounds_out.empty()) {
        rounds_file.open(rounds_out, std::ios::app);
    }
    if (header) {
        const auto host = zb::read_host_info();
        auto h = nlohmann::ordered_json::parse(zb::header_line(host));
        h["interleaved"] = true;
        h["topology"] = topology.describe();
        nlohmann::ordered_json measured = nlohmann::ordered_json::array();
        for (const auto& w : wheres) {
            measured.push_back({{"placement", w.placement}, {"cpus", w.cpus}});
        }
        h["placements"] = measured;
        h["not_measurable"] = unmeasurable;
        h["samples"] = samples;
        h["round_samples"] = round_samples;
        std::cout << h.dump() << std::endl;
    }

    struct Point {
        std::string pattern, mode, touch, size;
    };
    std::vector<Point> points;
    for (const auto& pattern : patterns) {
        const bool throughput = pattern == "throughput";
        for (const auto& mode : modes) {
            for (const auto& touch : touches) {
                for (const auto& size : throughput ? throughput_sizes : sizes) {
                    points.push_back({pattern, mode, touch, size});
                }
            }
        }
    }

    int failures = 0;
    std::vector<std::string> skipped; // exit 77: cannot run here (iceoryx: a RouDi runs)
    for (const auto& where : wheres) {
        std::string cpus_text;
        for (const int c : where.cpus) {
            cpus_text += (cpus_text.empty() ? "" : ",") + std::to_string(c);
        }
        for (const auto& point : points) {
            // Who takes part: the systems that measure this pattern, and the floor always.
            std::vector<const System*> taking;
            std::string floor_pattern;
            for (const auto& s : systems) {
                if (std::find(skipped.begin(), skipped.end(), s.name) != skipped.end()) {
                    continue;
                }
                if (measures(s, point.pattern)) {
                    taking.push_back(&s);
                } else if (s.name == floor) {
                    floor_pattern = "oneway";
                    taking.push_back(&s);
                }
            }
            if (taking.empty() || (taking.size() == 1 && !floor_pattern.empty())) {
                continue;
            }
            const bool throughput = point.pattern == "throughput";
            const std::uint64_t rounds =
                throughput ? throughput_rounds : (samples + round_samples - 1) / round_samples;
            const std::uint64_t per_round = throughput ? samples : (samples + rounds - 1) / rounds;
            std::vector<zb::Round> all;
            zb::PointKey key;
            key.mode = point.mode;
            key.touch = point.touch;
            key.pattern = point.pattern;
            key.size = *zb::parse_size(point.size);
            key.placement = where.placement;
            key.cpus = where.cpus;
            key.floor_pattern = floor_pattern;
            std::size_t sequence = 0;
            for (const auto index : zb::round_order(taking.size(), rounds)) {
                const System& s = *taking[index];
                const bool as_floor_reference = s.name == floor && !floor_pattern.empty();
                const std::string command = substitute(
                    s.command, {{"pattern", as_floor_reference ? floor_pattern : point.pattern},
                                {"mode", point.mode},
                                {"touch", point.touch},
                                {"size", point.size},
                                {"samples", std::to_string(per_round)},
                                {"warmup", std::to_string(warmup)},
                                {"seconds", seconds},
                                {"cpus", cpus_text.empty() ? "0,0" : cpus_text}});
                std::fprintf(stderr, "== %s %s %s %s %s [%s] round %zu\n", s.name.c_str(),
                             point.pattern.c_str(), point.mode.c_str(), point.touch.c_str(),
                             point.size.c_str(), where.placement.c_str(),
                             sequence / taking.size() + 1);
                const auto got = zb::run_captured({"/bin/sh", "-c", "exec " + command},
                                                  [](int pid) { g_child = pid; });
                g_child = -1;
                std::string note;
                auto lines = zb::parse_rounds(got.out, sequence, &note);
                if (got.status == 77) {
                    std::fprintf(stderr, "warning: %s skipped (exit 77: cannot run here)\n",
                                 s.name.c_str());
                    skipped.push_back(s.name);
                }
                if (std::find(skipped.begin(), skipped.end(), s.name) != skipped.end()) {
                    ++sequence;
                    continue;
                }
                if (got.status != 0 || lines.empty()) {
                    std::fprintf(stderr, "warning: %s failed (exit %d) at this point\n",
                                 s.name.c_str(), got.status);
                    ++failures;
                }
                for (auto& r : lines) {
                    r.system = s.name; // one name per system, whatever its program calls itself
                    if (rounds_file.is_open()) {
                        auto j = nlohmann::ordered_json::parse(
                            zb::summary_line(key, zb::summarize({r}, floor).systems.front(), {}));
                        j["round"] = sequence / taking.size() + 1;
                        j["sequence"] = sequence;
                        rounds_file << j.dump() << std::endl;
                    }
                    all.push_back(std::move(r));
                }
                if (key.note.empty() && !note.empty() && s.name != floor) {
                    key.note = note;
                }
                ++sequence;
            }
            const auto summary = zb::summarize(all, floor);
            for (const auto& s : summary.systems) {
                std::cout << zb::summary_line(key, s, summary) << std::endl;
                const double shown = s.median_us ? (*s.median_us)[0] : s.msgs_per_s.value_or(0);
                std::fprintf(stderr, "   %-10s %s %.3f%s  ratio %s%s\n", s.system.c_str(),
                             s.median_us ? "p50 us" : "msgs/s", shown, "",
                             s.ratio_to_floor ? std::to_string(*s.ratio_to_floor).c_str() : "-",
                             summary.flip ? "  (floor flipped state during this point)" : "");
            }
        }
    }
    if (failures > 0) {
        std::fprintf(stderr, "bench_interleave: %d rounds failed (see above)\n", failures);
        return 1;
    }
    return 0;
}
