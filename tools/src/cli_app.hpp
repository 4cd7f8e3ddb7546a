// The `zeroflow` command line: argument parsing (CLI11, in cli_app.cpp only) and dispatch to
// the commands declared in commands/commands.hpp.
#pragma once

#include <iostream>
#include <ostream>

namespace zeroflow::cli {

class App {
public:
    /// `out` and `err` receive what the commands print (help and --version go to `out`).
    explicit App(std::ostream& out = std::cout, std::ostream& err = std::cerr)
        : out_(out), err_(err) {}

    /// Parses the arguments and runs the chosen command. Returns the exit status:
    /// 0 success (and --help, --version), 1 the request failed, 2 a usage error.
    int run(int argc, const char* const* argv);

private:
    std::ostream& out_;
    std::ostream& err_;
};

} // namespace zeroflow::cli
