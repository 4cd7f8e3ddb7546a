// The child roles of the multi-process shm tests: a sender node and a receiver node, each in
// its own process, opening the segment the test process (the daemon) created.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <optional>
#include <string>

#include <sched.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <zeroflow/shm/receiver.hpp>
#include <zeroflow/shm/sender.hpp>

#include "support.hpp"

namespace zeroflow::shm::mp {
namespace {

using namespace std::chrono_literals;

struct Args {
    std::string spec;
    std::uint64_t count = 0;
    std::uint64_t expect = 0;
    std::uint64_t hold = 0;
    std::uint64_t slow_ns = 0;
    std::uint64_t deadline_ms = 120'000;
    std::uint32_t node = 1;
    bool busy = false;
    bool close = false;
    bool idle = false;
    bool garbage = false;
    bool fail_fast = false;
};

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 3; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto eq = arg.find('=');
        const auto key = arg.substr(0, eq);
        const auto value = eq == std::string::npos ? std::string("1") : arg.substr(eq + 1);
        if (key == "--spec") {
            a.spec = value;
        } else if (key == "--count") {
            a.count = std::stoull(value);
        } else if (key == "--expect") {
            a.expect = std::stoull(value);
        } else if (key == "--hold") {
            a.hold = std::stoull(value);
        } else if (key == "--slow-ns") {
            a.slow_ns = std::stoull(value);
        } else if (key == "--deadline-ms") {
            a.deadline_ms = std::stoull(value);
        } else if (key == "--node") {
            a.node = static_cast<std::uint32_t>(std::stoul(value));
        } else if (key == "--mode") {
            a.busy = value == "busy";
        } else if (key == "--close") {
            a.close = value == "1";
        } else if (key == "--idle") {
            a.idle = value == "1";
        } else if (key == "--garbage") {
            a.garbage = value == "1";
        } else if (key == "--fail-fast") {
            a.fail_fast = value == "1";
        } else if (key == "--parent") {
            // Die with the test process, never outlive it.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != static_cast<pid_t>(std::stol(value))) {
                std::_Exit(9);
            }
        }
    }
    return a;
}

void report(const char* key, std::uint64_t value) {
    char line[128];
    const int n =
        std::snprintf(line, sizeof(line), "%s=%llu\n", key, static_cast<unsigned long long>(value));
    if (n > 0) {
        (void)!::write(3, line, static_cast<std::size_t>(n));
    }
}

std::optional<Segment> open_segment(const Args& a) {
    // The test process (the daemon's stand-in) holds the segment: take it from its fd table.
    auto segment = Segment::open_held_by(::getppid(), Params::decode(a.spec).spec());
    if (!segment) {
        std::fprintf(stderr, "child: %s\n", segment.error().message.c_str());
        return std::nullopt;
    }
    return std::move(*segment);
}

inline void spin_for(std::uint64_t ns) {
    const auto until = monotonic_ns() + ns;
    while (monotonic_ns() < until) {
    }
}

/// Node 0: sends 8-byte messages whose payload is their sequence number, `count` of them
/// (0: until stopped). pool_exhausted is back-pressure: yield and retry.
int run_sender(const Args& a) {
    auto segment = open_segment(a);
    if (!segment) {
        return 2;
    }
    auto sender = OutputSender::attach(*segment, 0);
    auto node = NodeReceiver::attach(*segment, 0); // for Stop and wake-ups
    if (!sender || !node) {
        return 2;
    }
    report("ready", 1);
    std::uint64_t sent = 0;
    std::uint64_t exhausted = 0;
    std::uint64_t failures = 0;
    bool stopped = false;
    const auto stop_requested = [&node] {
        auto d = node->poll();
        return d && d->kind == Delivery::Kind::stop;
    };
    while (!stopped && (a.count == 0 || sent < a.count)) {
        if ((sent & 63) == 0 && stop_requested()) {
            stopped = true;
            break;
        }
        auto loan = sender->loan(8);
        if (!loan) {
            if (loan.error().code != ErrorCode::pool_exhausted) {
                std::fprintf(stderr, "sender: %s\n", loan.error().message.c_str());
                ++failures;
                break;
            }
            if ((++exhausted & 63) == 0 && stop_requested()) {
                stopped = true;
            }
            ::sched_yield();
            continue;
        }
        const std::uint64_t value = sent + 1;
        std::memcpy(loan->data, &value, sizeof(value));
        if (auto r = sender->send(*loan, sizeof(value)); !r) {
            std::fprintf(stderr, "sender: %s\n", r.error().message.c_str());
            ++failures;
            break;
        }
        ++sent;
    }
    if (a.close) {
        sender->close();
    }
    // An idle sender: sleeps on its node's futex and does its upkeep whenever woken.
    std::uint64_t wakeups = 0;
    while (a.idle && !stopped) {
        auto d = node->wait(-1ns, 0ns);
        ++wakeups;
        sender->maintain();
        stopped = d && d->kind == Delivery::Kind::stop;
    }
    report("sent", sent);
    report("exhausted", exhausted);
    report("failures", failures);
    report("errors", sender->errors());
    report("wakeups", wakeups);
    return 0;
}

/// Node `a.node`: receives, checks every message, releases (or holds the last `hold`).
int run_receiver(const Args& a) {
    auto segment = open_segment(a);
    if (!segment) {
        return 2;
    }
    auto node = NodeReceiver::attach(*segment, a.node);
    if (!node || node->input_count() != 1) {
        return 2;
    }
    report("ready", 1);
    std::uint64_t delivered = 0;
    std::uint64_t mismatches = 0;
    std::uint64_t order_errors = 0;
    std::uint64_t last = 0;
    bool closed = false;
    bool stopped = false;
    bool timed_out = false;
    std::deque<Delivery> held;
    const auto deadline = monotonic_ns() + a.deadline_ms * 1'000'000ULL;
    std::uint64_t idle_rounds = 0;
    while (!closed && !stopped) {
        std::optional<Delivery> d = a.busy ? node->poll() : node->wait(50ms, 0ns);
        if (!d) {
            // Busy polling never sleeps, but on a loaded machine a spinning receiver must not
            // starve the sender it waits for: yield now and then.
            if (a.busy && (idle_rounds & 255) == 255) {
                ::sched_yield();
            }
            if ((!a.busy || (++idle_rounds & 1023) == 0) && monotonic_ns() > deadline) {
                timed_out = true;
                break;
            }
            continue;
        }
        if (d->kind == Delivery::Kind::stop) {
            stopped = true;
            continue;
        }
        if (d->kind == Delivery::Kind::input_closed) {
            closed = true;
            continue;
        }
        ++delivered;
        std::uint64_t value = 0;
        if (d->size == sizeof(value)) {
            std::memcpy(&value, d->data, sizeof(value));
        }
        if (d->size != sizeof(value) || value != d->sequence) {
            ++mismatches;
        }
        if (a.expect != 0 ? d->sequence != last + 1 : d->sequence <= last) {
            ++order_errors;
        }
        if (a.fail_fast && mismatches + order_errors != 0) {
            std::fprintf(stderr, "receiver: message %llu after %llu carries %llu\n",
                         static_cast<unsigned long long>(d->sequence),
                         static_cast<unsigned long long>(last),
                         static_cast<unsigned long long>(value));
            return 3;
        }
        last = d->sequence;
        held.push_back(*d);
        if (held.size() > a.hold) {
            node->release(held.front().input, held.front().chunk);
            held.pop_front();
        }
        if (a.slow_ns != 0) {
            spin_for(a.slow_ns);
        }
    }
    // What this node still holds must be intact, whatever happened to the sender.
    std::uint64_t held_bad = 0;
    for (const auto& h : held) {
        std::uint64_t value = 0;
        std::memcpy(&value, h.data, sizeof(value));
        held_bad += value != h.sequence ? 1 : 0;
    }
    report("delivered", delivered);
    report("dropped", node->dropped(0));
    report("errors", node->errors());
    report("mismatches", mismatches);
    report("order_errors", order_errors);
    report("last", last);
    report("closed", closed ? 1 : 0);
    report("stopped", stopped ? 1 : 0);
    report("timed_out", timed_out ? 1 : 0);
    report("held", held.size());
    report("held_bad", held_bad);
    return 0;
}

} // namespace

int run_role(int argc, char** argv) {
    const auto args = parse(argc, argv);
    const std::string role = argv[2];
    if (role == "send") {
        return run_sender(args);
    }
    if (role == "recv") {
        return run_receiver(args);
    }
    std::fprintf(stderr, "unknown role '%s'\n", role.c_str());
    return 2;
}

} // namespace zeroflow::shm::mp
