// bench_report: turns results.jsonl into results.md (a markdown table per pattern) and gnuplot
// data + scripts, then runs gnuplot for latency_p50.svg, latency_p99.svg and, when the data
// has them, fanout.svg and chain.svg. `--check FILE` validates a results file (bench_smoke).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::vector<std::string> kPointFields = {"system",  "mode",   "touch",   "pattern",
                                               "size",    "p50_us", "p90_us",  "p99_us",
                                               "p999_us", "max_us", "samples", "msgs_per_s"};

struct Results {
    json header;
    std::vector<json> points; ///< of the first placement (interleaved runs measure several)
    std::vector<json> other_placements;
};

/// Reads every line; returns false (with a message) on a line that is not a JSON object.
bool load(const std::string& path, Results& out, std::string& error) {
    std::ifstream in(path);
    if (!in) {
        error = "cannot open " + path;
        return false;
    }
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) {
            continue;
        }
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            error = path + ":" + std::to_string(number) + ": not a JSON object: " + line;
            return false;
        }
        if (j.value("type", "") == "header") {
            if (out.header.is_null()) {
                out.header = j;
            }
            continue;
        }
        for (const auto& field : kPointFields) {
            if (!j.contains(field)) {
                error = path + ":" + std::to_string(number) + ": missing field '" + field + "'";
                return false;
            }
        }
        // Summary and plots show one placement; the others are listed in full.
        const auto placement = j.value("placement", std::string());
        if (!out.points.empty() &&
            out.points.front().value("placement", std::string()) != placement) {
            out.other_placements.push_back(std::move(j));
        } else {
            out.points.push_back(std::move(j));
        }
    }
    return true;
}

bool is_latency(const json& p) {
    return p["p50_us"].is_number();
}

int check(const std::string& path) {
    Results results;
    std::string error;
    if (!load(path, results, error)) {
        std::fprintf(stderr, "check failed: %s\n", error.c_str());
        return 1;
    }
    if (results.points.empty()) {
        std::fprintf(stderr, "check failed: %s has no points\n", path.c_str());
        return 1;
    }
    for (const auto& p : results.points) {
        if (is_latency(p) && !(p["p50_us"].get<double>() > 0.0)) {
            std::fprintf(stderr, "check failed: p50 not > 0 in %s\n", p.dump().c_str());
            return 1;
        }
        if (!is_latency(p) && !(p["msgs_per_s"].is_number() && p["msgs_per_s"].get<double>() > 0)) {
            std::fprintf(stderr, "check failed: no latency and no msgs_per_s in %s\n",
                         p.dump().c_str());
            return 1;
        }
    }
    if (results.header.value("interleaved", false)) {
        // Every point says how it was taken; systems beside the floor carry their ratio.
        std::size_t ratios = 0;
        for (const auto* list : {&results.points, &results.other_placements}) {
            for (const auto& p : *list) {
                for (const char* field :
                     {"rounds", "spread", "ratio_to_floor", "flip", "placement"}) {
                    if (!p.contains(field)) {
                        std::fprintf(stderr, "check failed: interleaved point without '%s': %s\n",
                                     field, p.dump().c_str());
                        return 1;
                    }
                }
                if (!(p["rounds"].get<int>() >= 1)) {
                    std::fprintf(stderr, "check failed: no rounds in %s\n", p.dump().c_str());
                    return 1;
                }
                ratios += p["ratio_to_floor"].is_number() ? 1 : 0;
            }
        }
        if (ratios == 0) {
            std::fprintf(stderr, "check failed: no point has a ratio to the floor\n");
            return 1;
        }
    }
    std::printf("ok: %zu points in %s\n", results.points.size() + results.other_placements.size(),
                path.c_str());
    return 0;
}

std::string human_size(std::uint64_t size) {
    if (size >= (1U << 20) && size % (1U << 20) == 0) {
        return std::to_string(size >> 20) + " MiB";
    }
    if (size >= 1024 && size % 1024 == 0) {
        return std::to_string(size >> 10) + " KiB";
    }
    return std::to_string(size) + " B";
}

std::string fmt(double value, int precision = 3) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
    return buffer;
}

/// Microseconds with about three significant digits and no exponent.
std::string us_text(double v) {
    char buffer[64];
    const int decimals = v < 1 ? 3 : v < 10 ? 2 : v < 100 ? 1 : 0;
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
    return buffer;
}

std::string us(const json& v) {
    return v.is_number() ? us_text(v.get<double>()) : "–";
}

std::string rate(const json& v) {
    if (!v.is_number()) {
        return "–";
    }
    const double r = v.get<double>();
    return r >= 1e6 ? fmt(r / 1e6) + " M" : r >= 1e3 ? fmt(r / 1e3) + " k" : fmt(r);
}

/// " (×1.9)" from an interleaved point's ratio to the floor, "†" when the floor flipped.
std::string ratio_text(const json& p) {
    std::string text;
    if (p.contains("ratio_to_floor") && p["ratio_to_floor"].is_number()) {
        const double ratio = p["ratio_to_floor"].get<double>();
        char buffer[32];
        std::snprintf(buffer, sizeof buffer, "%.*f", ratio < 10 ? 2 : ratio < 100 ? 1 : 0, ratio);
        text += std::string(" (×") + buffer + ")";
    }
    if (p.value("flip", false)) {
        text += " †";
    }
    return text;
}

/// Pattern order in the report: pingpong, oneway, throughput, then the rest sorted.
int pattern_rank(const std::string& pattern) {
    if (pattern == "pingpong") {
        return 0;
    }
    if (pattern == "oneway") {
        return 1;
    }
    if (pattern == "throughput") {
        return 2;
    }
    return 3;
}

/// One compact pivot per pattern: rows system/mode, columns touch/size, cells "p50 / p99"
/// (latency) or msgs/s (throughput).
void write_summary(const Results& r, std::ostream& out) {
    std::map<std::tuple<int, std::string>, std::vector<const json*>> by_pattern;
    for (const auto& p : r.points) {
        const auto pattern = p["pattern"].get<std::string>();
        by_pattern[{pattern_rank(pattern), pattern}].push_back(&p);
    }
    out << "\n## Summary\n";
    for (const auto& [key, points] : by_pattern) {
        const bool latency = is_latency(*points.front());
        std::set<std::tuple<std::string, std::uint64_t>> columns; // (touch, size)
        std::set<std::tuple<std::string, std::string>> rows;      // (system, mode)
        std::map<std::tuple<std::string, std::string, std::string, std::uint64_t>, std::string>
            cells;
        for (const json* p : points) {
            const auto touch = (*p)["touch"].get<std::string>();
            const auto size = (*p)["size"].get<std::uint64_t>();
            const auto system = (*p)["system"].get<std::string>();
            const auto mode = (*p)["mode"].get<std::string>();
            columns.emplace(touch == "transport" ? "" : touch, size); // transport sorts first
            rows.emplace(system, mode);
            cells[{system, mode, touch == "transport" ? "" : touch, size}] =
                (latency ? us((*p)["p50_us"]) + " / " + us((*p)["p99_us"])
                         : rate((*p)["msgs_per_s"])) +
                ratio_text(*p);
        }
        out << "\n**" << std::get<1>(key) << "** — "
            << (latency ? "one-way p50 / p99 in µs" : "messages per second")
            << (r.header.value("interleaved", false)
                    ? (latency ? " (× the floor's p50 in the adjacent rounds)"
                               : " (× slower than the floor in the adjacent rounds)")
                    : "")
            << "\n\n| system | mode |";
        for (const auto& [touch, size] : columns) {
            out << " " << (touch.empty() ? "transport" : touch) << " " << human_size(size) << " |";
        }
        out << "\n|---|---|";
        for (std::size_t i = 0; i < columns.size(); ++i) {
            out << "---:|";
        }
        out << "\n";
        for (const auto& [system, mode] : rows) {
            out << "| " << system << " | " << mode << " |";
            for (const auto& [touch, size] : columns) {
                const auto it = cells.find({system, mode, touch, size});
                out << " " << (it == cells.end() ? "" : it->second) << " |";
            }
            out << "\n";
        }
    }
    out << "\n## All points\n";
}

void write_markdown(const Results& r, const fs::path& file) {
    std::ofstream out(file);
    out << "# zeroflow benchmark results\n\n";
    if (!r.header.is_null()) {
        out << "Host: " << r.header.value("cpu", "?") << ", " << r.header.value("cores", 0)
            << " cores, kernel " << r.header.value("kernel", "?") << ", run "
            << r.header.value("time", "?");
        if (r.header.contains("idle")) {
            out << ", idle CPUs: " << r.header.value("idle", "?");
        }
        out << ".\n\n";
    }
    if (r.header.value("interleaved", false)) {
        out << "Interleaved: at every point the systems ran in alternating rounds of "
            << r.header.value("round_samples", 0) << " samples (" << r.header.value("samples", 0)
            << " per system and point); figures are medians across rounds; ratios are to the "
               "raw floor in the adjacent rounds; † marks a point during which the floor's "
               "rounds differed by more than 2× (the machine changed state). Machine: "
            << r.header.value("topology", std::string("?")) << ". Placements measured:";
        for (const auto& w : r.header.value("placements", json::array())) {
            out << " " << w.value("placement", std::string("?")) << " (CPUs " << w["cpus"].dump()
                << ")";
        }
        const auto none = r.header.value("not_measurable", json::array());
        if (!none.empty()) {
            out << "; not measurable on this machine:";
            for (const auto& n : none) {
                out << " " << n.get<std::string>();
            }
        }
        out << (r.other_placements.empty() ? "" : " (summary and plots: the first)") << ".\n\n";
    }
    out << "Latencies are one-way, in µs: pingpong = round trip / 2; oneway = receive time − "
           "send timestamp (CLOCK_MONOTONIC). See docs/benchmarks.md.\n";

    write_summary(r, out);

    std::map<std::tuple<int, std::string>, std::vector<const json*>> by_pattern;
    for (const auto* list : {&r.points, &r.other_placements}) {
        for (const auto& p : *list) {
            const auto pattern = p["pattern"].get<std::string>();
            by_pattern[{pattern_rank(pattern), pattern}].push_back(&p);
        }
    }
    const bool interleaved = r.header.value("interleaved", false);
    for (auto& [key, points] : by_pattern) {
        const auto& pattern = std::get<1>(key);
        std::stable_sort(points.begin(), points.end(), [](const json* a, const json* b) {
            return std::make_tuple(
                       (*a)["touch"].get<std::string>(), (*a)["size"].get<std::uint64_t>(),
                       (*a)["mode"].get<std::string>(), (*a)["system"].get<std::string>()) <
                   std::make_tuple(
                       (*b)["touch"].get<std::string>(), (*b)["size"].get<std::uint64_t>(),
                       (*b)["mode"].get<std::string>(), (*b)["system"].get<std::string>());
        });
        out << "\n### " << pattern << "\n\n";
        const bool throughput = !is_latency(*points.front());
        const std::string more = interleaved ? " rounds | p50 spread | × floor | placement |" : "";
        const std::string more_rule = interleaved ? "---:|---|---:|---|" : "";
        if (throughput) {
            out << "| touch | size | mode | system | msgs/s | messages |" << more
                << " note |\n|---|---|---|---|---:|---:|" << more_rule << "---|\n";
        } else {
            out << "| touch | size | mode | system | p50 | p90 | p99 | p99.9 | max | samples |"
                << more << " note |\n|---|---|---|---|---:|---:|---:|---:|---:|---:|" << more_rule
                << "---|\n";
        }
        for (const json* p : points) {
            out << "| " << (*p)["touch"].get<std::string>() << " | "
                << human_size((*p)["size"].get<std::uint64_t>()) << " | "
                << (*p)["mode"].get<std::string>() << " | " << (*p)["system"].get<std::string>()
                << " | ";
            if (is_latency(*p)) {
                out << us((*p)["p50_us"]) << " | " << us((*p)["p90_us"]) << " | "
                    << us((*p)["p99_us"]) << " | " << us((*p)["p999_us"]) << " | "
                    << us((*p)["max_us"]) << " | ";
            } else {
                out << rate((*p)["msgs_per_s"]) << " | ";
            }
            out << (*p)["samples"].get<std::uint64_t>() << " | ";
            if (interleaved) {
                const auto spread = p->value("spread", json::object());
                std::string range = "–";
                if (spread.contains("p50")) {
                    range = us(spread["p50"][0]) + "–" + us(spread["p50"][1]);
                } else if (spread.contains("msgs_per_s")) {
                    range = rate(spread["msgs_per_s"][0]) + "–" + rate(spread["msgs_per_s"][1]);
                }
                const auto ratio = p->value("ratio_to_floor", json());
                out << p->value("rounds", 0) << " | " << range << " | "
                    << (ratio.is_number() ? fmt(ratio.get<double>(), 3) : "–")
                    << (p->value("flip", false) ? " †" : "") << " | "
                    << p->value("placement", std::string("–")) << " | ";
            }
            out << p->value("note", "") << " |\n";
        }
    }
}

std::string safe(std::string s) {
    for (char& c : s) {
        if (!std::isalnum(static_cast<unsigned char>(c))) {
            c = '_';
        }
    }
    return s;
}

struct Series {
    std::string title;
    fs::path data;
    std::string style; ///< gnuplot line options (colour per system, dashes for blocking)
};

/// One colour per system, solid for busy and dashed for blocking, so lines read as a grid.
std::string style_for(const std::string& system, const std::string& mode) {
    static const std::map<std::string, std::string> colours = {{"raw", "#000000"},
                                                               {"iceoryx", "#1f77b4"},
                                                               {"zeroflow", "#d62728"},
                                                               {"tcp", "#ff7f0e"},
                                                               {"uds", "#2ca02c"}};
    const auto it = colours.find(system);
    return "lw 2 lc rgb '" + (it == colours.end() ? std::string("#9467bd") : it->second) + "' dt " +
           (mode == "blocking" ? "2" : "1");
}

/// Writes one data file per series: "x y" lines sorted by x.
Series write_series(const fs::path& dir, const std::string& name, const std::string& title,
                    std::vector<std::pair<double, double>> xy) {
    std::sort(xy.begin(), xy.end());
    const fs::path file = dir / (safe(name) + ".dat");
    std::ofstream out(file);
    for (const auto& [x, y] : xy) {
        out << x << ' ' << y << '\n';
    }
    return {title, file, ""};
}

struct Panel {
    std::string title;
    std::vector<Series> series;
};

/// One figure: panels side by side (two per row), each with its legend outside the data.
struct Figure {
    std::string title;
    std::string xlabel;
    std::string xaxis; ///< gnuplot commands for the x axis (scale, range, tics)
    std::vector<Panel> panels;
};

void write_plot(const fs::path& script, const fs::path& svg, const Figure& figure) {
    std::ofstream gp(script);
    const std::size_t cols = figure.panels.size() > 1 ? 2 : 1;
    const std::size_t rows = (figure.panels.size() + cols - 1) / cols;
    gp << "set terminal svg size " << 820 * cols << "," << 460 * rows
       << " dynamic enhanced font 'sans,11'\n"
       << "set output '" << svg.string() << "'\n"
       << "set multiplot layout " << rows << "," << cols << " title '" << figure.title << "'\n"
       << figure.xaxis << "set xlabel '" << figure.xlabel
       << "'\nset ylabel 'latency (µs)'\nset format y '%.10g'\nset grid\n"
       << "set key outside right top vertical Left reverse font ',9' spacing 1.1\n";
    for (const auto& panel : figure.panels) {
        gp << "set title '" << panel.title << "'\nplot ";
        for (std::size_t i = 0; i < panel.series.size(); ++i) {
            const auto& series = panel.series[i];
            gp << (i ? ", \\\n     " : "");
            if (series.data.empty()) { // a legend entry only
                gp << "NaN with lines " << series.style;
            } else {
                gp << "'" << series.data.string() << "' using 1:2 with linespoints "
                   << series.style;
            }
            gp << (series.title.empty() ? " notitle" : " title '" + series.title + "'");
        }
        gp << "\n";
    }
    gp << "unset multiplot\n";
}

bool run_gnuplot(const fs::path& script) {
    const std::string command = "gnuplot '" + script.string() + "'";
    if (std::system(command.c_str()) != 0) {
        std::fprintf(stderr, "warning: gnuplot failed on %s\n", script.c_str());
        return false;
    }
    return true;
}

/// Sizes as tick labels, only over the sizes measured (a log axis from half the smallest to
/// twice the largest).
std::string size_axis(const std::set<double>& sizes) {
    std::string axis = "set logscale xy\nset xtics (";
    bool first = true;
    for (const double size : sizes) {
        axis += (first ? "'" : ", '") + human_size(static_cast<std::uint64_t>(size)) + "' " +
                std::to_string(static_cast<std::uint64_t>(size));
        first = false;
    }
    char range[96];
    std::snprintf(range, sizeof(range), "set xrange [%g:%g]\n", *sizes.begin() / 2,
                  *sizes.rbegin() * 2);
    return axis + ") rotate by -30\n" + range;
}

void latency_plots(const Results& r, const fs::path& outdir, const fs::path& plotdir,
                   bool gnuplot) {
    for (const std::string metric : {"p50", "p99"}) {
        Figure figure{"one-way latency " + metric + " vs message size", "message size", "", {}};
        std::set<double> sizes;
        for (const std::string pattern : {"pingpong", "oneway"}) {
            for (const std::string touch : {"transport", "full"}) {
                std::map<std::string, std::vector<std::pair<double, double>>> lines;
                for (const auto& p : r.points) {
                    if (p["pattern"] != pattern || p["touch"] != touch || !is_latency(p)) {
                        continue;
                    }
                    const auto key =
                        p["system"].get<std::string>() + " " + p["mode"].get<std::string>();
                    lines[key].emplace_back(p["size"].get<double>(),
                                            p[metric + "_us"].get<double>());
                }
                // A panel is a comparison with zeroflow: without its points, none is drawn.
                const bool has_zeroflow =
                    std::any_of(lines.begin(), lines.end(),
                                [](const auto& l) { return l.first.rfind("zeroflow ", 0) == 0; });
                if (!has_zeroflow) {
                    continue;
                }
                Panel panel{(pattern == "pingpong" ? "ping-pong (round trip / 2)" : "one-way") +
                                std::string(", ") + touch + " touch",
                            {}};
                for (auto& [key, xy] : lines) {
                    for (const auto& point : xy) {
                        sizes.insert(point.first);
                    }
                    auto series =
                        write_series(plotdir, metric + "_" + pattern + "_" + touch + "_" + key, key,
                                     std::move(xy));
                    const auto space = key.find(' ');
                    series.style = style_for(key.substr(0, space), key.substr(space + 1));
                    panel.series.push_back(std::move(series));
                }
                figure.panels.push_back(std::move(panel));
            }
        }
        if (figure.panels.empty()) {
            continue;
        }
        figure.xaxis = size_axis(sizes);
        const fs::path script = plotdir / ("latency_" + metric + ".gp");
        write_plot(script, outdir / ("latency_" + metric + ".svg"), figure);
        if (gnuplot) {
            run_gnuplot(script);
        }
    }
}

/// fanout-N / chain-K points (system zeroflow): latency vs N, one panel per mode and touch, one
/// colour per message size, p50 solid and p99 dashed. Nothing is drawn with fewer than two
/// values of N: one point answers no scaling question.
void scaling_plot(const Results& r, const fs::path& outdir, const fs::path& plotdir,
                  const std::string& prefix, const std::string& what, const std::string& xlabel,
                  bool gnuplot) {
    // (mode, touch) -> size -> percentile -> points
    std::map<std::pair<std::string, std::string>,
             std::map<std::uint64_t, std::map<std::string, std::vector<std::pair<double, double>>>>>
        panels;
    std::set<int> ns;
    std::map<std::pair<std::string, std::string>, int> oversubscribed_from; ///< smallest such N
    for (const auto& p : r.points) {
        const auto pattern = p["pattern"].get<std::string>();
        // zeroflow's own: the floor runs beside these points as one-way (floor_pattern).
        if (pattern.rfind(prefix + "-", 0) != 0 || !is_latency(p) || p["system"] != "zeroflow") {
            continue;
        }
        const int n = std::atoi(pattern.c_str() + prefix.size() + 1);
        ns.insert(n);
        const std::pair<std::string, std::string> key{p["mode"].get<std::string>(),
                                                      p["touch"].get<std::string>()};
        const auto note = p.value("note", std::string());
        if (note.find("busy-polling nodes share") != std::string::npos) {
            const auto it = oversubscribed_from.find(key);
            oversubscribed_from[key] =
                it == oversubscribed_from.end() ? n : std::min(it->second, n);
        }
        auto& by_size = panels[key][p["size"].get<std::uint64_t>()];
        by_size["p50"].emplace_back(n, p["p50_us"].get<double>());
        by_size["p99"].emplace_back(n, p["p99_us"].get<double>());
    }
    if (ns.size() < 2) {
        if (!ns.empty()) {
            std::fprintf(stderr,
                         "note: %s measured for one number of %s only: no %s.svg (see "
                         "results.md)\n",
                         prefix.c_str(), xlabel.c_str(), prefix.c_str());
        }
        return;
    }
    static const char* kColours[] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a",
                                     "#66a61e", "#e6ab02", "#a6761d", "#666666"};
    Figure figure{"zeroflow " + what + ": latency vs " + xlabel, xlabel, "", {}};
    std::string tics;
    for (const int n : ns) {
        tics += (tics.empty() ? "" : ", ") + std::to_string(n);
    }
    figure.xaxis = "set logscale y\nset xtics (" + tics + ")\nset xrange [" +
                   std::to_string(*ns.begin()) + "-0.5:" + std::to_string(*ns.rbegin()) + "+0.5]\n";
    for (auto& [mode_touch, by_size] : panels) {
        Panel panel{mode_touch.first + ", " + mode_touch.second + " touch", {}};
        if (const auto it = oversubscribed_from.find(mode_touch); it != oversubscribed_from.end()) {
            // More busy-polling nodes than cores: each hop waits for a time slice.
            panel.title += " (from " + std::to_string(it->second) + " " + xlabel +
                           ": more busy nodes than cores)";
        }
        std::size_t colour = 0;
        for (auto& [size, by_percentile] : by_size) {
            const std::string rgb = kColours[colour++ % std::size(kColours)];
            for (auto& [percentile, xy] : by_percentile) {
                const bool p99 = percentile == "p99";
                auto series =
                    write_series(plotdir,
                                 prefix + "_" + mode_touch.first + "_" + mode_touch.second + "_" +
                                     std::to_string(size) + "_" + percentile,
                                 p99 ? "" : human_size(size), std::move(xy));
                series.style = "lw 2 lc rgb '" + rgb + "' dt " + (p99 ? "2" : "1");
                panel.series.push_back(std::move(series));
            }
        }
        panel.series.push_back({"solid: p50", {}, "lw 2 lc rgb '#000000' dt 1"});
        panel.series.push_back({"dashed: p99", {}, "lw 2 lc rgb '#000000' dt 2"});
        figure.panels.push_back(std::move(panel));
    }
    const fs::path script = plotdir / (prefix + ".gp");
    write_plot(script, outdir / (prefix + ".svg"), figure);
    if (gnuplot) {
        run_gnuplot(script);
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::string(argv[1]) == "--check") {
        return check(argv[2]);
    }
    if (argc < 3 || argc > 4 || (argc == 4 && std::string(argv[3]) != "--no-plots")) {
        std::fprintf(stderr, "usage: bench_report RESULTS.jsonl OUTDIR [--no-plots]\n"
                             "       bench_report --check RESULTS.jsonl\n");
        return 2;
    }
    Results results;
    std::string error;
    if (!load(argv[1], results, error)) {
        std::fprintf(stderr, "error: %s\n", error.c_str());
        return 1;
    }
    const fs::path outdir = fs::absolute(argv[2]); // scripts work from any directory
    const fs::path plotdir = outdir / "plot";
    fs::create_directories(plotdir);
    bool gnuplot = argc == 3;
    if (gnuplot && std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
        std::fprintf(stderr, "warning: gnuplot not found; writing data and scripts only\n");
        gnuplot = false;
    }
    write_markdown(results, outdir / "results.md");
    latency_plots(results, outdir, plotdir, gnuplot);
    scaling_plot(results, outdir, plotdir, "fanout", "fan-out", "receivers", gnuplot);
    scaling_plot(results, outdir, plotdir, "chain", "chains", "hops", gnuplot);
    std::printf("wrote %s\n", (outdir / "results.md").c_str());
    return 0;
}
