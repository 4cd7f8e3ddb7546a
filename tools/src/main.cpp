// Entry point of the `zeroflow` command line tool; everything else lives in zeroflow_cli_lib.
#include "cli_app.hpp"

int main(int argc, char** argv) {
    zeroflow::cli::App app;
    return app.run(argc, argv);
}
