// Summaries of interleaved rounds and the CPU topology of the machine (see interleave.hpp).
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <set>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zeroflow/bench/interleave.hpp>

extern char** environ;

namespace zeroflow::bench {

namespace fs = std::filesystem;

double median(std::vector<double> values) {
    if (values.empty()) {
        return 0.0;
    }
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

std::vector<std::size_t> round_order(std::size_t systems, std::size_t rounds_per_system) {
    std::vector<std::size_t> order;
    order.reserve(systems * rounds_per_system);
    for (std::size_t r = 0; r < rounds_per_system; ++r) {
        for (std::size_t s = 0; s < systems; ++s) {
            order.push_back(s);
        }
    }
    return order;
}

namespace {

/// The figure a round is compared by: p50 for latency, msgs/s for throughput.
std::optional<double> key_of(const Round& r) {
    if (r.latency_us) {
        return (*r.latency_us)[0];
    }
    return r.msgs_per_s;
}

} // namespace

PointSummary summarize(const std::vector<Round>& rounds, std::string_view floor) {
    PointSummary out;
    std::vector<const Round*> floor_rounds;
    for (const auto& r : rounds) {
        if (r.system == floor && key_of(r) && *key_of(r) > 0) {
            floor_rounds.push_back(&r);
        }
    }
    std::sort(floor_rounds.begin(), floor_rounds.end(),
              [](const Round* a, const Round* b) { return a->sequence < b->sequence; });
    for (const Round* f : floor_rounds) {
        const double k = *key_of(*f);
        out.floor_min = out.floor_min ? std::min(*out.floor_min, k) : k;
        out.floor_max = out.floor_max ? std::max(*out.floor_max, k) : k;
    }
    out.flip = out.floor_min && *out.floor_max > kFlipFactor * *out.floor_min;

    // The floor next to a round: the mean of the nearest floor round before and after it.
    const auto adjacent_floor = [&](std::size_t sequence) -> std::optional<double> {
        const Round* before = nullptr;
        const Round* after = nullptr;
        for (const Round* f : floor_rounds) {
            if (f->sequence < sequence) {
                before = f;
            } else if (f->sequence > sequence && after == nullptr) {
                after = f;
            }
        }
        if (before == nullptr && after == nullptr) {
            return std::nullopt;
        }
        if (before == nullptr || after == nullptr) {
            return *key_of(before != nullptr ? *before : *after);
        }
        return (*key_of(*before) + *key_of(*after)) / 2.0;
    };

    std::vector<std::string> names;
    for (const auto& r : rounds) {
        if (std::find(names.begin(), names.end(), r.system) == names.end()) {
            names.push_back(r.system);
        }
    }
    for (const auto& name : names) {
        SystemSummary s;
        s.system = name;
        std::array<std::vector<double>, kPercentiles> pct;
        std::vector<double> rates;
        std::vector<double> ratios;
        for (const auto& r : rounds) {
            if (r.system != name) {
                continue;
            }
            ++s.rounds;
            s.samples += r.samples;
            if (r.latency_us) {
                for (std::size_t i = 0; i < kPercentiles; ++i) {
                    pct[i].push_back((*r.latency_us)[i]);
                }
            }
            if (r.msgs_per_s) {
                rates.push_back(*r.msgs_per_s);
            }
            if (name == floor) {
                continue;
            }
            const auto mine = key_of(r);
            const auto reference = adjacent_floor(r.sequence);
            if (mine && reference && *mine > 0 && *reference > 0) {
                ratios.push_back(r.latency_us ? *mine / *reference : *reference / *mine);
            }
        }
        if (!pct[0].empty()) {
            std::array<double, kPercentiles> med{}, lo{}, hi{};
            for (std::size_t i = 0; i < kPercentiles; ++i) {
                med[i] = median(pct[i]);
                lo[i] = *std::min_element(pct[i].begin(), pct[i].end());
                hi[i] = *std::max_element(pct[i].begin(), pct[i].end());
            }
            s.median_us = med;
            s.min_us = lo;
            s.max_us = hi;
        }
        if (!rates.empty()) {
            s.msgs_per_s = median(rates);
            s.msgs_min = *std::min_element(rates.begin(), rates.end());
            s.msgs_max = *std::max_element(rates.begin(), rates.end());
        }
        if (!ratios.empty()) {
            s.ratio_to_floor = median(ratios);
        }
        out.systems.push_back(std::move(s));
    }
    return out;
}

std::vector<Round> parse_rounds(std::string_view output, std::size_t sequence, std::string* note) {
    std::vector<Round> out;
    std::size_t start = 0;
    while (start < output.size()) {
        auto end = output.find('\n', start);
        if (end == std::string_view::npos) {
            end = output.size();
        }
        const auto line = output.substr(start, end - start);
        start = end + 1;
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("system")) {
            continue;
        }
        Round r;
        r.system = j["system"].get<std::string>();
        r.sequence = sequence;
        r.samples = j.value("samples", std::uint64_t{0});
        if (j.value("p50_us", nlohmann::json()).is_number()) {
            std::array<double, kPercentiles> pct{};
            for (std::size_t i = 0; i < kPercentiles; ++i) {
                const auto field = std::string(kPercentileNames[i]) + "_us";
                pct[i] = j.value(field, 0.0);
            }
            r.latency_us = pct;
        }
        if (j.value("msgs_per_s", nlohmann::json()).is_number()) {
            r.msgs_per_s = j["msgs_per_s"].get<double>();
        }
        if (note != nullptr && note->empty() && j.contains("note")) {
            *note = j["note"].get<std::string>();
        }
        out.push_back(std::move(r));
    }
    return out;
}

std::string summary_line(const PointKey& key, const SystemSummary& s, const PointSummary& point) {
    nlohmann::ordered_json j;
    j["system"] = s.system;
    j["mode"] = key.mode;
    j["touch"] = key.touch;
    j["pattern"] = key.pattern;
    j["size"] = key.size;
    for (std::size_t i = 0; i < kPercentiles; ++i) {
        const auto field = std::string(kPercentileNames[i]) + "_us";
        j[field] = s.median_us ? nlohmann::ordered_json((*s.median_us)[i]) : nullptr;
    }
    j["samples"] = s.samples;
    j["msgs_per_s"] = s.msgs_per_s ? nlohmann::ordered_json(*s.msgs_per_s) : nullptr;
    j["rounds"] = s.rounds;
    nlohmann::ordered_json spread = nlohmann::ordered_json::object();
    if (s.median_us) {
        for (std::size_t i = 0; i < kPercentiles; ++i) {
            spread[std::string(kPercentileNames[i])] = {(*s.min_us)[i], (*s.max_us)[i]};
        }
    } else if (s.msgs_per_s) {
        spread["msgs_per_s"] = {*s.msgs_min, *s.msgs_max};
    }
    j["spread"] = spread;
    j["ratio_to_floor"] = s.ratio_to_floor ? nlohmann::ordered_json(*s.ratio_to_floor) : nullptr;
    j["flip"] = point.flip;
    j["placement"] = key.placement;
    j["cpus"] = key.cpus;
    if (!key.floor_pattern.empty()) {
        j["floor_pattern"] = key.floor_pattern;
    }
    if (!key.note.empty()) {
        j["note"] = key.note;
    }
    return j.dump();
}

Captured run_captured(const std::vector<std::string>& argv, void (*started)(int pid)) {
    Captured result;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return result;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    std::vector<std::string> copy = argv;
    std::vector<char*> args;
    for (auto& a : copy) {
        args.push_back(a.data());
    }
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        return result;
    }
    if (started != nullptr) {
        started(pid);
    }
    char buffer[4096];
    for (;;) {
        const auto n = ::read(fds[0], buffer, sizeof buffer);
        if (n > 0) {
            result.out.append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.status = WIFEXITED(status)     ? WEXITSTATUS(status)
                    : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                          : -1;
    return result;
}

std::string_view to_string(Placement placement) noexcept {
    switch (placement) {
    case Placement::same_cpu:
        return "same-cpu";
    case Placement::smt_siblings:
        return "smt-siblings";
    case Placement::same_l3:
        return "same-l3";
    case Placement::same_package:
        return "same-package";
    case Placement::cross_package:
        return "cross-package";
    }
    return "unknown";
}

std::optional<std::vector<int>> parse_cpu_list(std::string_view text) {
    std::vector<int> out;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.remove_suffix(1);
    }
    if (text.empty()) {
        return out;
    }
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto comma = text.find(',', start);
        const auto item =
            text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
        const auto dash = item.find('-');
        int lo = 0;
        int hi = 0;
        const auto number = [](std::string_view s, int& v) {
            const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            return ec == std::errc{} && p == s.data() + s.size() && !s.empty() && v >= 0;
        };
        if (dash == std::string_view::npos) {
            if (!number(item, lo)) {
                return std::nullopt;
            }
            hi = lo;
        } else if (!number(item.substr(0, dash), lo) || !number(item.substr(dash + 1), hi) ||
                   hi < lo) {
            return std::nullopt;
        }
        for (int c = lo; c <= hi; ++c) {
            out.push_back(c);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        start = comma + 1;
    }
    return out;
}

namespace {

std::string slurp(const fs::path& file) {
    std::ifstream in(file);
    std::string text;
    std::getline(in, text);
    return text;
}

} // namespace

Topology Topology::read(const fs::path& root) {
    Topology t;
    const auto online = parse_cpu_list(slurp(root / "online"));
    std::vector<int> ids;
    if (online && !online->empty()) {
        ids = *online;
    } else {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(root, ec)) {
            const auto name = entry.path().filename().string();
            int id = 0;
            if (name.starts_with("cpu") &&
                std::from_chars(name.data() + 3, name.data() + name.size(), id).ptr ==
                    name.data() + name.size()) {
                ids.push_back(id);
            }
        }
        std::sort(ids.begin(), ids.end());
    }
    for (const int id : ids) {
        const auto dir = root / ("cpu" + std::to_string(id));
        Cpu cpu;
        cpu.id = id;
        cpu.smt = parse_cpu_list(slurp(dir / "topology" / "thread_siblings_list"))
                      .value_or(std::vector<int>{id});
        if (cpu.smt.empty()) {
            cpu.smt = {id};
        }
        const auto package = slurp(dir / "topology" / "physical_package_id");
        std::from_chars(package.data(), package.data() + package.size(), cpu.package);
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(dir / "cache", ec)) {
            if (slurp(entry.path() / "level") == "3") {
                cpu.l3 = parse_cpu_list(slurp(entry.path() / "shared_cpu_list"))
                             .value_or(std::vector<int>{});
            }
        }
        t.cpus_.push_back(id);
        t.info_.push_back(std::move(cpu));
    }
    return t;
}

const Topology::Cpu* Topology::find(int id) const {
    for (const auto& c : info_) {
        if (c.id == id) {
            return &c;
        }
    }
    return nullptr;
}

std::optional<Placement> Topology::classify(int a, int b) const {
    const Cpu* ca = find(a);
    const Cpu* cb = find(b);
    if (ca == nullptr || cb == nullptr) {
        return std::nullopt;
    }
    const auto has = [](const std::vector<int>& list, int id) {
        return std::find(list.begin(), list.end(), id) != list.end();
    };
    if (a == b) {
        return Placement::same_cpu;
    }
    if (has(ca->smt, b)) {
        return Placement::smt_siblings;
    }
    if (has(ca->l3, b)) {
        return Placement::same_l3;
    }
    if (ca->package == cb->package) {
        return Placement::same_package;
    }
    return Placement::cross_package;
}

std::vector<std::pair<Placement, std::optional<std::pair<int, int>>>> Topology::offers() const {
    std::vector<std::pair<Placement, std::optional<std::pair<int, int>>>> out;
    for (const auto kind : {Placement::smt_siblings, Placement::same_l3, Placement::same_package,
                            Placement::cross_package}) {
        std::optional<std::pair<int, int>> pair;
        for (std::size_t i = 0; i < cpus_.size() && !pair; ++i) {
            for (std::size_t j = i + 1; j < cpus_.size() && !pair; ++j) {
                if (classify(cpus_[i], cpus_[j]) == kind) {
                    pair.emplace(cpus_[i], cpus_[j]);
                }
            }
        }
        out.emplace_back(kind, pair);
    }
    return out;
}

std::string Topology::describe() const {
    std::set<std::vector<int>> cores;
    std::set<std::vector<int>> l3s;
    std::set<int> packages;
    for (const auto& c : info_) {
        cores.insert(c.smt);
        if (!c.l3.empty()) {
            l3s.insert(c.l3);
        }
        packages.insert(c.package);
    }
    std::string text = std::to_string(cpus_.size()) + (cpus_.size() == 1 ? " CPU" : " CPUs");
    text += ", " + std::to_string(cores.size()) + (cores.size() == 1 ? " core" : " cores");
    text += cores.size() == cpus_.size() ? " (no SMT)" : " (SMT)";
    text += ", " + (l3s.empty() ? std::string("no L3 reported")
                                : std::to_string(l3s.size()) + (l3s.size() == 1 ? " L3" : " L3s"));
    text +=
        ", " + std::to_string(packages.size()) + (packages.size() == 1 ? " package" : " packages");
    return text;
}

IdleState IdleState::read(const std::filesystem::path& cpu_root,
                          const std::filesystem::path& haltpoll) {
    IdleState state;
    state.driver = slurp(cpu_root / "cpuidle" / "current_driver");
    if (state.driver == "none") {
        state.driver.clear();
    }
    if (state.driver == "haltpoll") {
        const auto text = slurp(haltpoll);
        std::uint64_t ns = 0;
        if (std::from_chars(text.data(), text.data() + text.size(), ns).ec == std::errc{}) {
            state.guest_halt_poll_ns = ns;
        }
    }
    return state;
}

std::string IdleState::describe() const {
    if (driver.empty()) {
        return "no cpuidle driver";
    }
    std::string text = "cpuidle " + driver;
    if (guest_halt_poll_ns) {
        text += ", guest_halt_poll_ns " + std::to_string(*guest_halt_poll_ns);
    }
    return text;
}

} // namespace zeroflow::bench
