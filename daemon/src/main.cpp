// zeroflowd: parse arguments, build the daemon, run it.
#include <zeroflow/daemon/daemon.hpp>
#include <zeroflow/protocol/runtime_dir.hpp>

#include "app.hpp"

int main(int argc, char** argv) {
    return zeroflow::daemon::run_daemon_main(argc, argv);
}
