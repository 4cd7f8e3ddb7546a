// zeroflow-bridge's entry point: arguments only (tools/src/bridge/bridge.cpp does the work).
#include <iostream>
#include <string_view>

#include <CLI/CLI.hpp>

#include "bridge.hpp"
#include "pump.hpp"

int main(int argc, char** argv) {
    if (argc > 1 && std::string_view(argv[1]) == "--pump") {
        return zeroflow::bridge::run_pump(argc, argv, std::cerr); // a node of a machine's part
    }
    zeroflow::bridge::Options options;
    CLI::App app{"Runs this machine's part of a dataflow that spans machines (deploy: {machine: "
                 "...}) on the local zeroflow daemon and carries messages between machines over "
                 "Cyclone DDS"};
    app.add_option("DATAFLOW", options.dataflow, "The whole dataflow YAML file")->required();
    app.add_option("--machine", options.machine, "This machine's id")->required();
    app.add_option("--dds-domain", options.dds_domain, "The DDS domain (default 0)");
    app.add_option("--name", options.name,
                   "The dataflow's name, the same on every machine (default: the file's stem)");
    app.add_option("--peer-timeout", options.peer_timeout_s,
                   "Seconds to wait for the other machines (default 10)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    return zeroflow::bridge::run_bridge(options, std::cout, std::cerr);
}
