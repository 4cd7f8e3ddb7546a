// `zeroflow top`: rates from two `stats` snapshots; the live view draws with ncurses (works
// over ssh in 80x24: columns are cut to the terminal's width, rows to its height).
#include "top.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include <curses.h>

#include "client.hpp"
#include "commands.hpp"
#include "tap.hpp"

namespace zeroflow::cli {

using protocol::Json;
using namespace std::chrono_literals;

namespace {

/// One view: rates between two snapshots of the same dataflow.
Json view(const Json& before, const Json& after) {
    const double dt = std::max(
        1e-9, (after["monotonic_ns"].get<double>() - before["monotonic_ns"].get<double>()) * 1e-9);
    std::map<std::string, const Json*> node0, out0;
    for (const auto& n : before["nodes"]) {
        node0[n["id"].get<std::string>()] = &n;
    }
    for (const auto& o : before["outputs"]) {
        out0[o["name"].get<std::string>()] = &o;
    }
    Json nodes = Json::array();
    for (const auto& n : after["nodes"]) {
        const auto id = n["id"].get<std::string>();
        double cpu = 0;
        if (const auto it = node0.find(id); it != node0.end() && n.contains("pid")) {
            cpu = (n["cpu_ns"].get<double>() - (*it->second)["cpu_ns"].get<double>()) * 1e-9 / dt *
                  100.0;
        }
        Json j{{"id", id},
               {"status", n["status"]},
               {"cpu_percent", std::max(0.0, cpu)},
               {"rss_bytes", n["rss_bytes"]},
               {"restarts", n["restarts"]}};
        if (n.contains("pid")) {
            j["pid"] = n["pid"];
        }
        nodes.push_back(j);
    }
    Json outputs = Json::array();
    for (const auto& o : after["outputs"]) {
        const auto name = o["name"].get<std::string>();
        double rate = 0;
        double bytes = 0;
        if (const auto it = out0.find(name); it != out0.end()) {
            rate = (o["sent"].get<double>() - (*it->second)["sent"].get<double>()) / dt;
            bytes = (o["bytes"].get<double>() - (*it->second)["bytes"].get<double>()) / dt;
        }
        outputs.push_back({{"name", name},
                           {"timer", o["timer"]},
                           {"msgs_per_s", std::max(0.0, rate)},
                           {"mb_per_s", std::max(0.0, bytes) / 1e6},
                           {"sent", o["sent"]},
                           {"receivers", o["receivers"]},
                           {"observers", o["observers"]}});
    }
    Json inputs = Json::array();
    for (const auto& in : after["inputs"]) {
        const auto fill = in["queue_size"].get<double>() > 0
                              ? in["queued"].get<double>() / in["queue_size"].get<double>() * 100
                              : 0.0;
        inputs.push_back({{"node", in["node"]},
                          {"input", in["input"]},
                          {"source", in["source"]},
                          {"queued", in["queued"]},
                          {"queue_size", in["queue_size"]},
                          {"fill_percent", fill},
                          {"dropped", in["dropped"]}});
    }
    return {{"dataflow", after["uuid"]}, {"name", after["name"]}, {"status", after["status"]},
            {"interval_s", dt},          {"nodes", nodes},        {"outputs", outputs},
            {"inputs", inputs}};
}

std::string mib(double bytes) {
    char b[32];
    std::snprintf(b, sizeof(b), "%.1f", bytes / (1024.0 * 1024.0));
    return b;
}

/// The view as lines of text (the same for --once and the curses screen).
std::vector<std::string> lines_of(const Json& v, const std::string& node_sort,
                                  const std::string& output_sort) {
    std::vector<std::string> lines;
    char b[256];
    std::snprintf(b, sizeof(b), "zeroflow top - %s %s (%s)",
                  v["dataflow"].get<std::string>().c_str(),
                  v["name"].get<std::string>().empty() ? "" : v["name"].get<std::string>().c_str(),
                  v["status"].get<std::string>().c_str());
    lines.emplace_back(b);
    lines.emplace_back("");
    std::snprintf(b, sizeof(b), "%-20s %8s %-13s %6s %9s %4s", "NODE", "PID", "STATE", "CPU%",
                  "RSS MiB", "RST");
    lines.emplace_back(b);
    auto nodes = v["nodes"].get<std::vector<Json>>();
    std::stable_sort(nodes.begin(), nodes.end(), [&](const Json& a, const Json& c) {
        if (node_sort == "cpu") {
            return a["cpu_percent"].get<double>() > c["cpu_percent"].get<double>();
        }
        if (node_sort == "mem") {
            return a["rss_bytes"].get<double>() > c["rss_bytes"].get<double>();
        }
        return a["id"].get<std::string>() < c["id"].get<std::string>();
    });
    for (const auto& n : nodes) {
        std::snprintf(b, sizeof(b), "%-20.20s %8s %-13.13s %6.1f %9s %4d",
                      n["id"].get<std::string>().c_str(),
                      n.contains("pid") ? std::to_string(n["pid"].get<int>()).c_str() : "-",
                      n["status"].get<std::string>().c_str(), n["cpu_percent"].get<double>(),
                      mib(n["rss_bytes"].get<double>()).c_str(), n["restarts"].get<int>());
        lines.emplace_back(b);
    }
    lines.emplace_back("");
    std::snprintf(b, sizeof(b), "%-32s %10s %9s %12s %4s %4s", "OUTPUT", "MSG/S", "MB/S", "SENT",
                  "RCV", "OBS");
    lines.emplace_back(b);
    auto outputs = v["outputs"].get<std::vector<Json>>();
    std::stable_sort(outputs.begin(), outputs.end(), [&](const Json& a, const Json& c) {
        if (output_sort == "rate") {
            return a["msgs_per_s"].get<double>() > c["msgs_per_s"].get<double>();
        }
        if (output_sort == "bw") {
            return a["mb_per_s"].get<double>() > c["mb_per_s"].get<double>();
        }
        return a["name"].get<std::string>() < c["name"].get<std::string>();
    });
    for (const auto& o : outputs) {
        std::snprintf(b, sizeof(b), "%-32.32s %10.1f %9.2f %12llu %4d %4d",
                      o["name"].get<std::string>().c_str(), o["msgs_per_s"].get<double>(),
                      o["mb_per_s"].get<double>(),
                      static_cast<unsigned long long>(o["sent"].get<std::uint64_t>()),
                      o["receivers"].get<int>(), o["observers"].get<int>());
        lines.emplace_back(b);
    }
    lines.emplace_back("");
    std::snprintf(b, sizeof(b), "%-24s %-23s %9s %5s %9s", "INPUT", "FROM", "QUEUE", "FILL",
                  "DROPPED");
    lines.emplace_back(b);
    for (const auto& in : v["inputs"]) {
        const auto name = in["node"].get<std::string>() + "/" + in["input"].get<std::string>();
        const auto queue = std::to_string(in["queued"].get<int>()) + "/" +
                           std::to_string(in["queue_size"].get<int>());
        std::snprintf(b, sizeof(b), "%-24.24s %-23.23s %9s %4.0f%% %9llu", name.c_str(),
                      in["source"].get<std::string>().c_str(), queue.c_str(),
                      in["fill_percent"].get<double>(),
                      static_cast<unsigned long long>(in["dropped"].get<std::uint64_t>()));
        lines.emplace_back(b);
    }
    return lines;
}

int live(const TopOptions& o, std::ostream& err) {
    auto before = dataflow_stats(o.dataflow);
    if (!before) {
        err << "zeroflow: error: " << before.error().message << "\n";
        return kExitFailure;
    }
    // Pin the dataflow by UUID: a name could start naming another run while we watch.
    const std::optional<std::string> uuid = (*before)["uuid"].get<std::string>();
    initscr();
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    std::string node_sort = "name";
    std::string output_sort = "name";
    std::string status = "waiting a second for rates...";
    Json last;
    int result = kExitOk;
    for (;;) {
        erase();
        std::vector<std::string> text;
        if (!last.is_null()) {
            text = lines_of(last, node_sort, output_sort);
        }
        int row = 0;
        for (const auto& line : text) {
            if (row >= LINES - 1) {
                break;
            }
            mvaddnstr(row, 0, line.c_str(), COLS);
            if (row == 2 || line.starts_with("OUTPUT") || line.starts_with("INPUT")) {
                mvchgat(row, 0, std::min<int>(COLS, static_cast<int>(line.size())), A_REVERSE, 0,
                        nullptr);
            }
            ++row;
        }
        const std::string help = "q quit  sort nodes: n name c cpu m memory  outputs: o name "
                                 "r msg/s b MB/s  " +
                                 status;
        mvaddnstr(LINES - 1, 0, help.c_str(), COLS);
        refresh();
        timeout(static_cast<int>(o.interval_s * 1000));
        const int key = getch();
        if (key == 'q' || key == 'Q') {
            break;
        }
        switch (key) {
        case 'n':
            node_sort = "name";
            break;
        case 'c':
            node_sort = "cpu";
            break;
        case 'm':
            node_sort = "mem";
            break;
        case 'o':
            output_sort = "name";
            break;
        case 'r':
            output_sort = "rate";
            break;
        case 'b':
            output_sort = "bw";
            break;
        default:
            break;
        }
        if (key != ERR) {
            continue; // redraw at once with the new order
        }
        auto after = dataflow_stats(uuid);
        if (!after) {
            status = "(" + after.error().message.substr(0, 60) + ")";
            if (after.error().kind == protocol::DaemonErrorKind::no_such_dataflow) {
                endwin();
                err << "zeroflow: the dataflow ended\n";
                return kExitOk;
            }
            continue;
        }
        last = view(*before, *after);
        before = std::move(after);
        status.clear();
    }
    endwin();
    return result;
}

} // namespace

int run_top(const TopOptions& o, std::ostream& out, std::ostream& err) {
    if (o.json && !o.once) {
        err << "zeroflow: error: --json prints one snapshot: add --once\n";
        return kExitUsage;
    }
    if (!o.once) {
        return live(o, err);
    }
    auto before = dataflow_stats(o.dataflow);
    if (!before) {
        err << "zeroflow: error: " << before.error().message << "\n";
        return kExitFailure;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(o.interval_s));
    auto after = dataflow_stats((*before)["uuid"].get<std::string>());
    if (!after) {
        err << "zeroflow: error: " << after.error().message << "\n";
        return kExitFailure;
    }
    const auto v = view(*before, *after);
    if (o.json) {
        out << v.dump(2) << "\n";
        return kExitOk;
    }
    for (const auto& line : lines_of(v, "name", "name")) {
        out << line << "\n";
    }
    return kExitOk;
}

} // namespace zeroflow::cli
