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
    if (argc > 1 && std::string_view(argv[1]) == "--agent") {
        zeroflow::bridge::AgentOptions agent;
        CLI::App app{"The machine agent of zeroflow daemon --machine-id (it runs this itself)"};
        bool agent_flag = false;
        app.add_flag("--agent", agent_flag, "Run as the daemon's machine agent")->required();
        app.add_option("--machine", agent.machine, "This machine's id")->required();
        app.add_option("--dds-domain", agent.dds_domain, "The DDS domain (default 0)");
        app.add_option("--parent", agent.parent, "The daemon's pid: ends when it does");
        try {
            app.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            const int rc = app.exit(e);
            return rc == 0 ? 0 : 2;
        }
        return zeroflow::bridge::run_agent(agent, std::cerr);
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
    app.add_option("--start-timeout", options.start_timeout_s,
                   "Seconds this machine's part may take to start, as zeroflow start "
                   "--start-timeout (default 60; the other machines' parts get as long plus "
                   "--peer-timeout)");
    app.add_option("--default-machine", options.default_machine,
                   "Where the nodes that name no machine run (default: every node names one)");
    app.add_option("--run", options.run,
                   "Which start of the dataflow this is, the same on every machine (the machine "
                   "agents pass one; default empty)");
    app.add_option("--report-fd", options.report_fd,
                   "Write one JSON line to this descriptor once the whole dataflow runs or the "
                   "start failed (the machine agent reads it)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    return zeroflow::bridge::run_bridge(options, std::cout, std::cerr);
}
