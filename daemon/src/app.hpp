// The zeroflowd program: arguments, logging, signals, then Daemon::run().
#pragma once

namespace zeroflow::daemon {

/// `zeroflowd [--runtime-dir DIR] [--log-file FILE]`. Returns the exit status.
int run_daemon_main(int argc, char** argv);

} // namespace zeroflow::daemon
