// `zeroflow bench`: measures this machine. Real bench nodes (zf_ping/zf_pong, zf_source/zf_sink/
// zf_relay, their C and Python twins) run in generated dataflows through `zeroflow run` (the
// running daemon, or an embedded one), and the raw shared-memory floor (bench_raw) runs in the
// rounds between them, so that both meet the same state of the machine. The programs are found
// beside the executable: PREFIX/libexec/zeroflow/bench (installed) or the build tree.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <zeroflow/bench/interleave.hpp>
#include <zeroflow/bench/point.hpp>
#include <zeroflow/protocol/common.hpp>
#include <zeroflow/protocol/runtime_dir.hpp>

#include "commands.hpp"

namespace zeroflow::cli {

namespace fs = std::filesystem;
namespace zb = zeroflow::bench;
using protocol::Json;

namespace {

constexpr std::uint64_t kRoundSamples = 500;
constexpr std::uint64_t kWarmup = 100;

struct Pattern {
    std::string kind; ///< pingpong, oneway, fanout, chain
    int n{1};         ///< receivers (fanout) or hops (chain)
    [[nodiscard]] std::string name() const {
        return kind == "fanout" || kind == "chain" ? kind + "-" + std::to_string(n) : kind;
    }
    [[nodiscard]] int nodes() const {
        return kind == "fanout" ? n + 1 : kind == "chain" ? n + 1 : 2;
    }
};

std::optional<Pattern> parse_pattern(const std::string& text) {
    if (text == "pingpong" || text == "oneway") {
        return Pattern{text, 1};
    }
    for (const std::string kind : {"fanout", "chain"}) {
        if (text.starts_with(kind + ":")) {
            const auto count = zb::parse_size(text.substr(kind.size() + 1));
            const std::uint64_t least = kind == "chain" ? 2 : 1;
            if (count && *count >= least && *count <= 64) {
                return Pattern{kind, static_cast<int>(*count)};
            }
        }
    }
    return std::nullopt;
}

/// The bench programs: beside an installed executable, or in the build tree.
std::optional<fs::path> find_program(const std::string& name) {
    std::error_code ec;
    const auto exe = fs::read_symlink("/proc/self/exe", ec);
    std::vector<fs::path> dirs;
    if (const char* dir = std::getenv("ZEROFLOW_BENCH_DIR"); dir != nullptr && *dir != '\0') {
        dirs.emplace_back(dir);
    }
    if (!ec) {
        const auto prefix = exe.parent_path().parent_path();
        dirs.push_back(prefix / "libexec" / "zeroflow" / "bench");
        dirs.push_back(prefix / "benchmarks" / "zeroflow"); // build tree: build/tools/zeroflow
        dirs.push_back(prefix / "benchmarks");
    }
    for (const auto& dir : dirs) {
        if (::access((dir / name).c_str(), name.ends_with(".py") ? R_OK : X_OK) == 0) {
            return dir / name;
        }
    }
    return std::nullopt;
}

/// Where the zeroflow Python module is, for --lang python (installed or build tree).
std::optional<fs::path> python_module_dir() {
    std::error_code ec;
    const auto prefix = fs::read_symlink("/proc/self/exe", ec).parent_path().parent_path();
    for (const auto& dir : {prefix / "python", prefix / "lib" / "python3" / "dist-packages"}) {
        if (fs::exists(dir / "zeroflow", ec) ||
            std::any_of(fs::directory_iterator(dir, ec), fs::directory_iterator(),
                        [](const auto& e) {
                            return e.path().filename().string().starts_with("zeroflow.");
                        })) {
            return dir;
        }
    }
    return std::nullopt;
}

std::string quote(const std::string& text) {
    return "'" + text + "'"; // YAML single-quoted: paths and args never hold a quote here
}

struct Setup {
    std::string lang;
    Pattern pattern;
    std::string mode;
    std::uint64_t size{8};
    std::vector<int> cpus;
    fs::path work;
    std::map<std::string, fs::path> programs;
    std::optional<fs::path> python_path;
};

std::string cpu_of(const Setup& s, int index) {
    if (s.cpus.size() < 2) {
        return s.cpus.empty() ? "" : "[" + std::to_string(s.cpus[0]) + "]";
    }
    const auto i = index == 0 ? 0 : (index - 1) % (static_cast<int>(s.cpus.size()) - 1) + 1;
    return "[" + std::to_string(s.cpus[static_cast<std::size_t>(i)]) + "]";
}

/// One node of the generated dataflow.
void node(std::ostream& y, const Setup& s, const std::string& id, const fs::path& program,
          const std::string& args, int index, const std::vector<std::string>& inputs,
          const std::vector<std::string>& outputs, int queue = 0) {
    y << "  - id: " << id << "\n    path: " << quote(program.string()) << "\n";
    if (!args.empty()) {
        y << "    args: " << quote(args) << "\n";
    }
    y << "    busy_poll_us: " << (s.mode == "busy" ? 1000000 : 0) << "\n";
    if (const auto cpu = cpu_of(s, index); !cpu.empty()) {
        y << "    cpu_affinity: " << cpu << "\n";
    }
    if (s.python_path && program.extension() == ".py") {
        y << "    env:\n      PYTHONPATH: " << quote(s.python_path->string()) << "\n";
    }
    if (!inputs.empty()) {
        y << "    inputs:\n";
        for (const auto& input : inputs) {
            const auto colon = input.find('=');
            y << "      " << input.substr(0, colon) << ":";
            if (queue > 0) {
                y << "\n        source: " << input.substr(colon + 1)
                  << "\n        queue_size: " << queue << "\n";
            } else {
                y << " " << input.substr(colon + 1) << "\n";
            }
        }
    }
    y << "    outputs:\n";
    for (const auto& output : outputs) {
        y << "      - " << output << "\n";
    }
}

/// The dataflow of one zeroflow round; its nodes append their line to `results`.
std::string dataflow(const Setup& s, std::uint64_t samples, const fs::path& results) {
    std::ostringstream common;
    common << "--pattern " << s.pattern.name() << " --mode " << s.mode
           << " --touch transport --size " << s.size << " --samples " << samples << " --warmup "
           << kWarmup << " --budget 20 --oversubscribed 0 --results " << results.string();
    // The Python nodes take their own, shorter arguments (benchmarks/zeroflow/python/).
    const std::string python_args = "--size " + std::to_string(s.size) + " --samples " +
                                    std::to_string(samples) + " --warmup " +
                                    std::to_string(kWarmup) + " --mode " + s.mode + " --results " +
                                    results.string();
    std::ostringstream y;
    y << "# Generated by `zeroflow bench`: " << s.pattern.name() << ", " << s.mode << ", " << s.size
      << " B\nnodes:\n";
    std::vector<std::string> shm = {};
    if (s.pattern.kind == "pingpong") {
        const auto& ping = s.programs.at("ping");
        const auto& pong = s.programs.at("pong");
        std::string ping_args = common.str();
        std::string pong_args = common.str();
        if (s.lang == "python") {
            ping_args = python_args;
            pong_args.clear();
        }
        node(y, s, "ping", ping, ping_args, 0, {"pong=pong/pong"}, {"ping"});
        node(y, s, "pong", pong, pong_args, 1, {"ping=ping/ping"}, {"pong"});
        shm = {"ping/ping", "pong/pong"};
    } else {
        const int sinks = s.pattern.kind == "fanout" ? s.pattern.n : 1;
        const int relays = s.pattern.kind == "chain" ? s.pattern.n - 1 : 0;
        std::vector<std::string> acks;
        for (int i = 0; i < sinks; ++i) {
            acks.push_back("ack" + std::to_string(i) + "=sink" + std::to_string(i) + "/ack");
        }
        const std::string source_args = s.lang == "python" ? python_args : common.str();
        node(y, s, "source", s.programs.at("source"),
             source_args + " --acks " + std::to_string(sinks), 0, acks, {"data"});
        shm.emplace_back("source/data");
        std::string upstream = "source/data";
        int index = 1;
        for (int i = 1; i <= relays; ++i) {
            const auto id = "relay" + std::to_string(i);
            node(y, s, id, s.programs.at("relay"), common.str(), index++, {"in=" + upstream},
                 {"data"});
            upstream = id + "/data";
            shm.push_back(upstream);
        }
        for (int i = 0; i < sinks; ++i) {
            node(y, s, "sink" + std::to_string(i), s.programs.at("sink"),
                 s.lang == "python" ? "" : common.str(), index++, {"data=" + upstream}, {"ack"},
                 10);
        }
    }
    y << "shm:\n";
    for (const auto& output : shm) {
        y << "  " << output << ":\n    max_message_size: " << s.size << "\n";
    }
    return y.str();
}

pid_t g_running = -1;

void remember(int pid) {
    g_running = pid;
}

/// One zeroflow round: the dataflow through `zeroflow run`.
std::vector<zb::Round> zeroflow_round(const Setup& s, std::uint64_t samples, std::size_t sequence,
                                      std::string& error) {
    const auto results = s.work / "results.jsonl";
    const auto file = s.work / "bench.yml";
    std::error_code ec;
    fs::remove(results, ec);
    std::ofstream(file) << dataflow(s, samples, results);
    std::error_code self_ec;
    const auto self = fs::read_symlink("/proc/self/exe", self_ec);
    const auto got = zb::run_captured(
        {self.string(), "run", "--quiet", "--grace", "2s", "--stop-after", "120s", file.string()},
        remember);
    g_running = -1;
    std::ifstream in(results);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto rounds = zb::parse_rounds(text, sequence);
    if (got.status != 0 || rounds.empty()) {
        error = "the zeroflow round failed (zeroflow run exited " + std::to_string(got.status) +
                "); the nodes' logs are in " + (s.work / protocol::kRunsFolder).string();
        return {};
    }
    fs::remove_all(s.work / protocol::kRunsFolder, ec);
    for (auto& r : rounds) {
        r.system = "zeroflow";
    }
    return rounds;
}

/// One floor round: bench_raw at the same size and mode (one-way where zeroflow fans out).
std::vector<zb::Round> floor_round(const Setup& s, std::uint64_t samples, std::size_t sequence,
                                   std::string& error) {
    const std::string pattern = s.pattern.kind == "pingpong" ? "pingpong" : "oneway";
    std::vector<std::string> argv = {s.programs.at("floor").string(),
                                     "--no-header",
                                     "--sizes",
                                     std::to_string(s.size),
                                     "--patterns",
                                     pattern,
                                     "--modes",
                                     s.mode,
                                     "--touch",
                                     "transport",
                                     "--samples",
                                     std::to_string(samples),
                                     "--warmup",
                                     std::to_string(kWarmup)};
    if (s.cpus.size() >= 2) {
        argv.insert(argv.end(),
                    {"--cpus", std::to_string(s.cpus[0]) + "," + std::to_string(s.cpus[1])});
    }
    const auto got = zb::run_captured(argv, remember);
    g_running = -1;
    auto rounds = zb::parse_rounds(got.out, sequence);
    if (got.status != 0 || rounds.empty()) {
        error = "the floor round (bench_raw) failed, exit " + std::to_string(got.status);
        return {};
    }
    for (auto& r : rounds) {
        r.system = "floor";
    }
    return rounds;
}

std::string size_text(std::uint64_t size) {
    if (size >= (1U << 20) && size % (1U << 20) == 0) {
        return std::to_string(size >> 20) + " MiB";
    }
    if (size >= 1024 && size % 1024 == 0) {
        return std::to_string(size >> 10) + " KiB";
    }
    return std::to_string(size) + " B";
}

std::string number(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.*f", v < 1 ? 3 : v < 10 ? 2 : v < 100 ? 1 : 0, v);
    return buffer;
}

std::string rate(double per_s) {
    char buffer[32];
    if (per_s >= 1e6) {
        std::snprintf(buffer, sizeof buffer, "%.2f M", per_s / 1e6);
    } else if (per_s >= 1e3) {
        std::snprintf(buffer, sizeof buffer, "%.1f k", per_s / 1e3);
    } else {
        std::snprintf(buffer, sizeof buffer, "%.0f", per_s);
    }
    return buffer;
}

struct Row {
    std::string mode;
    std::uint64_t size{0};
    std::optional<zb::SystemSummary> zeroflow, floor;
    bool flip{false};
    std::string skipped; ///< why it was not measured
};

void write_plot(const fs::path& svg, const std::vector<Row>& rows, const std::string& title,
                const fs::path& work, std::ostream& err) {
    const auto data = work / "plot.dat";
    std::ofstream d(data);
    std::vector<std::string> series;
    for (const std::string mode : {"busy", "blocking"}) {
        for (const std::string who : {"zeroflow", "floor"}) {
            bool any = false;
            for (const auto& r : rows) {
                const auto& s = who == "zeroflow" ? r.zeroflow : r.floor;
                if (r.mode == mode && s && s->median_us) {
                    d << r.size << " " << (*s->median_us)[0] << " " << (*s->median_us)[2] << "\n";
                    any = true;
                }
            }
            if (any) {
                d << "\n\n";
                series.push_back(who + " " + mode);
            }
        }
    }
    d.close();
    const auto script = work / "plot.gp";
    std::ofstream gp(script);
    gp << "set terminal svg size 900,500 dynamic enhanced font 'sans,11'\nset output '"
       << svg.string() << "'\nset title '" << title
       << "'\nset logscale xy\nset xlabel 'message size (bytes)'\nset ylabel 'one-way latency "
          "(µs)'\nset format y '%g'\nset grid\nset key outside right top\nplot ";
    for (std::size_t i = 0; i < series.size(); ++i) {
        const bool zf = series[i].starts_with("zeroflow");
        const std::string colour = zf ? "#d62728" : "#000000";
        const std::string dash = series[i].ends_with("blocking") ? "2" : "1";
        gp << (i ? ", " : "") << "'" << data.string() << "' index " << i
           << " using 1:2 with linespoints lw 2 lc rgb '" << colour << "' dt " << dash << " title '"
           << series[i] << " p50', '" << data.string() << "' index " << i
           << " using 1:3 with points pt 6 lc rgb '" << colour << "' title '" << series[i]
           << " p99'";
    }
    gp << "\n";
    gp.close();
    const auto got = zb::run_captured({"gnuplot", script.string()});
    if (got.status != 0) {
        err << "zeroflow: warning: no plot: gnuplot failed or is not installed (Debian: apt "
               "install gnuplot-nox)\n";
    }
}

void on_signal(int sig) {
    if (g_running > 0) {
        ::kill(g_running, sig == SIGINT ? SIGINT : SIGTERM);
    }
}

} // namespace

int run_bench(const BenchOptions& o, std::ostream& out, std::ostream& err) {
    const auto usage = [&](const std::string& message) {
        err << "zeroflow: error: " << message << "\n";
        return kExitUsage;
    };
    const auto pattern = parse_pattern(o.pattern);
    if (!pattern) {
        return usage("unknown pattern '" + o.pattern +
                     "': use pingpong, oneway, fanout:N (1..64 receivers) or chain:K (2..64 hops)");
    }
    std::vector<std::uint64_t> sizes;
    for (const auto& text : zb::split_list(o.sizes)) {
        const auto size = zb::parse_size(text);
        if (!size || *size < 8) {
            return usage("bad size '" + text + "': 8 or more bytes, e.g. 8,4KiB,1MiB");
        }
        sizes.push_back(*size);
    }
    if (sizes.empty()) {
        return usage("--sizes needs at least one size");
    }
    std::vector<std::string> modes;
    if (o.mode == "both") {
        modes = {"busy", "blocking"};
    } else if (o.mode == "busy" || o.mode == "blocking") {
        modes = {o.mode};
    } else {
        return usage("unknown mode '" + o.mode + "': busy, blocking or both");
    }
    if (o.lang != "cpp" && o.lang != "c" && o.lang != "python") {
        return usage("unknown language '" + o.lang + "': cpp, c or python");
    }
    if (o.lang == "c" && pattern->kind != "pingpong") {
        return usage("--lang c has the ping-pong pair only: use --pattern pingpong");
    }
    if (o.lang == "python" && pattern->kind == "chain") {
        return usage("--lang python has ping-pong, one-way and fan-out nodes (no relay): use "
                     "--pattern pingpong, oneway or fanout:N");
    }
    if (!(o.duration_s > 0)) {
        return usage("--duration must be more than 0");
    }
    const auto topology = zb::Topology::read();
    std::vector<int> cpus;
    if (o.cpus) {
        const auto list = zb::parse_cpu_list(*o.cpus);
        if (!list || list->empty()) {
            return usage("bad --cpus '" + *o.cpus + "': a list such as 2,3 or 0-3");
        }
        for (const int c : *list) {
            if (std::find(topology.cpus().begin(), topology.cpus().end(), c) ==
                topology.cpus().end()) {
                return usage("CPU " + std::to_string(c) + " is not online here");
            }
        }
        cpus = *list;
    } else if (topology.cpus().size() >= 2) {
        cpus = topology.cpus();
    }

    // The programs.
    Setup setup;
    setup.lang = o.lang;
    setup.pattern = *pattern;
    setup.cpus = cpus;
    std::map<std::string, std::string> wanted = {{"floor", "bench_raw"}};
    if (pattern->kind == "pingpong") {
        wanted["ping"] = o.lang == "cpp" ? "zf_ping" : o.lang == "c" ? "zf_c_ping" : "py_ping.py";
        wanted["pong"] = o.lang == "cpp" ? "zf_pong" : o.lang == "c" ? "zf_c_pong" : "py_pong.py";
    } else if (o.lang == "python") {
        wanted["source"] = "py_source.py";
        wanted["sink"] = "py_sink.py";
    } else {
        wanted["source"] = "zf_source";
        wanted["sink"] = "zf_sink";
        wanted["relay"] = "zf_relay";
    }
    for (const auto& [role, name] : wanted) {
        const auto path = find_program(name);
        if (!path) {
            err << "zeroflow: error: " << name
                << " not found beside this zeroflow (PREFIX/libexec/zeroflow/bench, or the build "
                   "tree's benchmarks/): install zeroflow with its benchmarks "
                   "(ZEROFLOW_BUILD_BENCHMARKS=ON), or set ZEROFLOW_BENCH_DIR\n";
            return kExitFailure;
        }
        setup.programs[role] = *path;
    }
    if (o.lang == "python") {
        setup.python_path = python_module_dir();
    }
    char dir_template[] = "/tmp/zeroflow-bench.XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) {
        err << "zeroflow: error: cannot create a temporary folder\n";
        return kExitFailure;
    }
    setup.work = dir_template;
    auto* old_int = std::signal(SIGINT, on_signal);
    auto* old_term = std::signal(SIGTERM, on_signal);
    struct Cleanup {
        fs::path work;
        void (*old_int)(int);
        void (*old_term)(int);
        ~Cleanup() {
            std::error_code ec;
            fs::remove_all(work, ec);
            std::signal(SIGINT, old_int);
            std::signal(SIGTERM, old_term);
        }
    } cleanup{setup.work, old_int, old_term};

    const int available = static_cast<int>(cpus.empty() ? 1 : cpus.size());
    std::string placement = "unpinned";
    if (cpus.size() >= 2) {
        const auto kind = topology.classify(cpus[0], cpus[1]);
        placement = kind ? std::string(zb::to_string(*kind)) : std::string("unknown");
    }
    const auto idle = zb::IdleState::read();
    std::string where = cpus.empty() ? "unpinned (one CPU)" : "CPUs";
    for (std::size_t i = 0; i < cpus.size(); ++i) {
        where += (i == 0 ? " " : ",") + std::to_string(cpus[i]);
    }
    if (cpus.size() >= 2) {
        where += " (first two: " + placement + ")";
    }

    std::vector<Row> rows;
    std::string failure;
    for (const auto& mode : modes) {
        for (const auto size : sizes) {
            Row row{mode, size, std::nullopt, std::nullopt, false, ""};
            if (mode == "busy" && pattern->nodes() > available) {
                row.skipped = std::to_string(pattern->nodes()) + " busy-polling nodes need " +
                              std::to_string(pattern->nodes()) + " CPUs, " +
                              std::to_string(available) +
                              " available: they would wait for time slices (the scheduler, "
                              "not latency)";
                rows.push_back(row);
                continue;
            }
            setup.mode = mode;
            setup.size = size;
            // A B A B ... until the duration is spent, at least two rounds each.
            std::vector<zb::Round> all;
            const auto start = std::chrono::steady_clock::now();
            std::size_t sequence = 0;
            for (std::size_t pair = 0;; ++pair) {
                const double spent =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                if (pair >= 2 && spent >= o.duration_s) {
                    break;
                }
                for (const bool zeroflow : {false, true}) {
                    auto got = zeroflow ? zeroflow_round(setup, kRoundSamples, sequence, failure)
                                        : floor_round(setup, kRoundSamples, sequence, failure);
                    ++sequence;
                    if (got.empty()) {
                        break;
                    }
                    all.insert(all.end(), got.begin(), got.end());
                }
                if (!failure.empty()) {
                    break;
                }
            }
            if (!failure.empty()) {
                break;
            }
            const auto summary = zb::summarize(all, "floor");
            for (const auto& s : summary.systems) {
                (s.system == "floor" ? row.floor : row.zeroflow) = s;
            }
            row.flip = summary.flip;
            rows.push_back(row);
            if (!o.json) {
                err << "  measured " << pattern->name() << " " << mode << " " << size_text(size)
                    << " (" << sequence << " rounds)\n"
                    << std::flush;
            }
        }
        if (!failure.empty()) {
            break;
        }
    }
    if (!failure.empty()) {
        err << "zeroflow: error: " << failure << "\n";
        return kExitFailure;
    }

    const std::string floor_pattern = pattern->kind == "pingpong" ? "pingpong" : "oneway";
    if (o.json) {
        Json j;
        j["pattern"] = pattern->name();
        j["lang"] = o.lang;
        j["machine"] = {
            {"topology", topology.describe()}, {"idle", idle.describe()}, {"cpus", cpus}};
        j["machine"]["placement"] = placement;
        j["floor"] = {{"system", "raw shared-memory ring (bench_raw)"}, {"pattern", floor_pattern}};
        j["points"] = Json::array();
        for (const auto& r : rows) {
            Json p;
            p["mode"] = r.mode;
            p["size"] = r.size;
            if (!r.skipped.empty()) {
                p["measured"] = false;
                p["why"] = r.skipped;
                j["points"].push_back(p);
                continue;
            }
            p["measured"] = true;
            const auto& z = *r.zeroflow;
            for (std::size_t i = 0; i < zb::kPercentiles; ++i) {
                p[std::string(zb::kPercentileNames[i]) + "_us"] = (*z.median_us)[i];
            }
            p["msgs_per_s"] = 1e6 / (*z.median_us)[0];
            p["samples"] = z.samples;
            p["rounds"] = z.rounds;
            p["p50_spread_us"] = {(*z.min_us)[0], (*z.max_us)[0]};
            p["floor_p50_us"] = (*r.floor->median_us)[0];
            p["floor_p99_us"] = (*r.floor->median_us)[2];
            p["ratio_to_floor"] = z.ratio_to_floor ? Json(*z.ratio_to_floor) : Json(nullptr);
            p["flip"] = r.flip;
            j["points"].push_back(p);
        }
        out << j.dump(2) << "\n";
    } else {
        out << "zeroflow bench: " << pattern->name() << " (" << o.lang
            << " nodes), one-way latency in µs;\n"
            << "machine: " << topology.describe() << "; idle CPUs: " << idle.describe()
            << "; nodes on " << where << "\n"
            << "floor: a bare shared-memory ring (" << floor_pattern
            << ") measured in the rounds between zeroflow's\n\n";
        char line[256];
        std::snprintf(line, sizeof line, "%-9s %8s %9s %9s %9s %10s %10s %8s %7s\n", "mode", "size",
                      "p50", "p99", "p99.9", "msgs/s", "floor p50", "×floor", "samples");
        out << line;
        bool any_flip = false;
        for (const auto& r : rows) {
            if (!r.skipped.empty()) {
                std::snprintf(line, sizeof line, "%-9s %8s  not measured: ", r.mode.c_str(),
                              size_text(r.size).c_str());
                out << line << r.skipped << "\n";
                continue;
            }
            const auto& z = *r.zeroflow;
            const auto ratio = z.ratio_to_floor ? number(*z.ratio_to_floor) : std::string("–");
            std::snprintf(line, sizeof line, "%-9s %8s %9s %9s %9s %10s %10s %6s%s %7llu\n",
                          r.mode.c_str(), size_text(r.size).c_str(),
                          number((*z.median_us)[0]).c_str(), number((*z.median_us)[2]).c_str(),
                          number((*z.median_us)[3]).c_str(), rate(1e6 / (*z.median_us)[0]).c_str(),
                          number((*r.floor->median_us)[0]).c_str(), ratio.c_str(),
                          r.flip ? "†" : " ", static_cast<unsigned long long>(z.samples));
            out << line;
            any_flip = any_flip || r.flip;
        }
        out << "\nmedians across rounds of " << kRoundSamples
            << " samples; msgs/s = 1 / p50 (one message in flight); ×floor = p50 / the floor's "
               "p50 in the adjacent rounds\n";
        if (idle.halts_at_once()) {
            out << "idle virtual CPUs halt at once here (guest_halt_poll_ns 0): waking a process "
                   "asleep on another CPU exits to the hypervisor, in every blocking figure "
                   "(docs/benchmarks.md#idle-cpus)\n";
        }
        if (any_flip) {
            out << "† the floor's rounds differed by more than 2× during this point: the machine "
                   "changed state, compare with care\n";
        }
    }
    if (o.plot) {
        write_plot(*o.plot, rows,
                   "zeroflow bench: " + pattern->name() + " (" + o.lang + "), " +
                       topology.describe(),
                   setup.work, err);
    }
    return kExitOk;
}

} // namespace zeroflow::cli
