// bench_iceoryx: the peer users would pick instead. iceoryx 2.0.3 untyped publisher/subscriber
// with loans; the program starts its own RouDi (embedded IceOryxRouDiComponents + RouDi in a
// spawned "roudi" role) with mempools sized for the requested messages, and stops it at the
// end. Busy mode polls take(); blocking mode waits on a WaitSet.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <set>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zeroflow/bench/peer.hpp>
#include <zeroflow/bench/process.hpp>
#include <zeroflow/bench/raw_ring.hpp>

#include "iceoryx_hoofs/log/logmanager.hpp"
#include "iceoryx_hoofs/posix_wrapper/posix_access_rights.hpp"
#include "iceoryx_posh/iceoryx_posh_config.hpp"
#include "iceoryx_posh/internal/roudi/roudi.hpp"
#include "iceoryx_posh/mepoo/chunk_header.hpp"
#include "iceoryx_posh/popo/untyped_publisher.hpp"
#include "iceoryx_posh/popo/untyped_subscriber.hpp"
#include "iceoryx_posh/popo/wait_set.hpp"
#include "iceoryx_posh/roudi/iceoryx_roudi_components.hpp"
#include "iceoryx_posh/runtime/posh_runtime.hpp"

namespace zb = zeroflow::bench;

namespace {

constexpr int kExitRouDiRunning = 77; // ctest's conventional "skipped"
constexpr std::uint64_t kQueueCapacity = 16;

void quiet_iceoryx() {
    iox::log::LogManager::GetLogManager().SetDefaultLogLevel(
        iox::log::LogLevel::kWarn, iox::log::LogLevelOutput::kHideLogLevel);
}

/// True when a RouDi already runs on this machine: its lock file is locked, or its
/// socket accepts connections.
bool roudi_socket_live() {
    // iceoryx 2.0 IPC channels are datagram sockets: connect succeeds only while bound.
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "/tmp/roudi");
    const bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return live;
}

bool roudi_running() {
    const int lock = ::open("/tmp/iox-unique-roudi.lock", O_RDONLY | O_CLOEXEC);
    if (lock >= 0) {
        const bool locked = ::flock(lock, LOCK_EX | LOCK_NB) != 0;
        if (!locked) {
            ::flock(lock, LOCK_UN);
        }
        ::close(lock);
        if (locked) {
            return true;
        }
    }
    return roudi_socket_live();
}

/// Mempool payload size for a message size: rounded up to 64 bytes.
std::uint32_t pool_size(std::uint64_t size) {
    return static_cast<std::uint32_t>((size + 63) / 64 * 64);
}

/// Chunks per pool: plenty for small messages, few for big ones (a publisher holds at most
/// 8 loans, a subscriber queue 16 chunks, and each point has two connections).
std::uint32_t pool_count(std::uint64_t size) {
    if (size <= (64U << 10)) {
        return 512;
    }
    if (size <= (1U << 20)) {
        return 64;
    }
    return size <= (16U << 20) ? 16 : 8;
}

// ---- the RouDi role ----

int run_roudi(const zb::Options& options) {
    // Block the stop signals before RouDi starts its threads, then wait for one of them.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    ::pthread_sigmask(SIG_BLOCK, &stop, nullptr);
    ::dup2(STDERR_FILENO, STDOUT_FILENO); // RouDi prints its banner on stdout: keep JSON clean
    if (const auto it = options.extra.find("parent"); it != options.extra.end()) {
        zb::die_with_parent(static_cast<pid_t>(std::atoi(it->second.c_str())));
    }
    quiet_iceoryx();

    std::set<std::uint32_t> sizes{pool_size(zb::kControlSize)};
    if (const auto it = options.extra.find("pools"); it != options.extra.end()) {
        for (const auto& item : zb::split_list(it->second)) {
            sizes.insert(pool_size(zb::parse_size(item).value_or(64)));
        }
    }
    iox::mepoo::MePooConfig mepoo;
    for (const auto size : sizes) { // std::set: ascending, as iceoryx requires
        mepoo.addMemPool({size, pool_count(size)});
    }
    iox::RouDiConfig_t config;
    static_cast<iox::config::RouDiConfig&>(config).setDefaults();
    const auto group = iox::posix::PosixGroup::getGroupOfCurrentProcess().getName();
    config.m_sharedMemorySegments.push_back({group, group, mepoo});

    iox::roudi::IceOryxRouDiComponents components(config);
    iox::roudi::RouDi roudi(
        components.rouDiMemoryManager, components.portManager,
        iox::roudi::RouDi::RoudiStartupParameters{iox::roudi::MonitoringMode::OFF,
                                                  /*killProcessesInDestructor=*/false});
    int sig = 0;
    ::sigwait(&stop, &sig);
    return 0; // RouDi's destructor removes /dev/shm/iceoryx_* and /tmp/roudi
}

// ---- the endpoint ----

class IceoryxEndpoint {
public:
    IceoryxEndpoint(const std::string& instance, bool parent, zb::Mode mode)
        : publisher_({"zfbench", iox::capro::IdString_t(iox::cxx::TruncateToCapacity, instance),
                      parent ? "p2c" : "c2p"},
                     publisher_options()),
          subscriber_({"zfbench", iox::capro::IdString_t(iox::cxx::TruncateToCapacity, instance),
                       parent ? "c2p" : "p2c"},
                      subscriber_options()),
          busy_(mode == zb::Mode::busy) {
        if (!busy_) {
            waitset_.emplace();
            waitset_->attachState(subscriber_, iox::popo::SubscriberState::HAS_DATA)
                .or_else([](auto) {
                    std::fprintf(stderr, "error: cannot attach the subscriber to a WaitSet\n");
                    std::exit(1);
                });
        }
    }
    IceoryxEndpoint(const IceoryxEndpoint&) = delete;
    IceoryxEndpoint& operator=(const IceoryxEndpoint&) = delete;
    ~IceoryxEndpoint() {
        if (waitset_) {
            waitset_->detachState(subscriber_, iox::popo::SubscriberState::HAS_DATA);
        }
    }

    /// Subscription is asynchronous: wait until our publisher has the peer's subscriber.
    bool wait_for_subscriber(std::chrono::seconds timeout) {
        const auto end = std::chrono::steady_clock::now() + timeout;
        while (!publisher_.hasSubscribers()) {
            if (std::chrono::steady_clock::now() > end) {
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return true;
    }

    std::span<std::byte> loan(std::size_t n) {
        for (;;) {
            auto result = publisher_.loan(static_cast<std::uint32_t>(n));
            if (!result.has_error()) {
                loaned_ = static_cast<std::byte*>(result.value());
                return {loaned_, n};
            }
            if (result.get_error() != iox::popo::AllocationError::RUNNING_OUT_OF_CHUNKS) {
                std::fprintf(stderr, "error: iceoryx loan of %zu bytes failed (%s)\n", n,
                             iox::popo::asStringLiteral(result.get_error()));
                std::exit(1);
            }
            zb::raw::cpu_relax(); // the peer still holds the chunks; it will release them
        }
    }

    void send(std::span<std::byte> /*message*/) { publisher_.publish(loaned_); }

    std::span<const std::byte> receive() {
        for (;;) {
            auto result = subscriber_.take();
            if (!result.has_error()) {
                taken_ = result.value();
                const auto* header = iox::mepoo::ChunkHeader::fromUserPayload(taken_);
                return {static_cast<const std::byte*>(taken_), header->userPayloadSize()};
            }
            if (busy_) {
                zb::raw::cpu_relax();
            } else {
                (void)waitset_->wait();
            }
        }
    }

    void release() { subscriber_.release(taken_); }

private:
    static iox::popo::PublisherOptions publisher_options() {
        iox::popo::PublisherOptions o;
        o.historyCapacity = 0;
        // Back-pressure instead of loss: throughput counts delivered messages.
        o.subscriberTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
        return o;
    }
    static iox::popo::SubscriberOptions subscriber_options() {
        iox::popo::SubscriberOptions o;
        o.queueCapacity = kQueueCapacity;
        o.historyRequest = 0;
        o.queueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;
        return o;
    }

    iox::popo::UntypedPublisher publisher_;
    iox::popo::UntypedSubscriber subscriber_;
    std::optional<iox::popo::WaitSet<>> waitset_;
    bool busy_;
    std::byte* loaned_{nullptr};
    const void* taken_{nullptr};
};

void init_runtime(const std::string& name) {
    iox::runtime::PoshRuntime::initRuntime(
        iox::RuntimeName_t(iox::cxx::TruncateToCapacity, name.c_str()));
}

std::string app_name(pid_t parent, int index) {
    return index < 0 ? "zfbench-" + std::to_string(parent)
                     : "zfbench-" + std::to_string(parent) + "-c" + std::to_string(index);
}

void register_app_files(const std::string& app) {
    zb::cleanup_add_file("/tmp/" + app);
    zb::cleanup_add_file("/tmp/" + app + ".lock");
}

int run_child(const zb::Options& options) {
    ::dup2(STDERR_FILENO, STDOUT_FILENO); // stdout carries only the parent's JSON lines
    quiet_iceoryx();
    const zb::PointSpec point = zb::child_setup(options);
    const auto app = options.extra.find("app");
    const auto instance = options.extra.find("instance");
    if (app == options.extra.end() || instance == options.extra.end()) {
        std::fprintf(stderr, "error: child needs --app and --instance\n");
        return 2;
    }
    init_runtime(app->second);
    IceoryxEndpoint ep(instance->second, false, point.mode);
    if (!ep.wait_for_subscriber(std::chrono::seconds(30))) {
        std::fprintf(stderr, "error: the parent never subscribed\n");
        return 1;
    }
    zb::run_child(ep, point);
    return 0;
}

int run_parent(const zb::Options& options) {
    quiet_iceoryx();
    if (roudi_running()) {
        std::fprintf(stderr,
                     "error: an iceoryx RouDi is already running on this machine (only one may "
                     "run, and bench_iceoryx starts its own with big mempools); stop it first\n");
        return kExitRouDiRunning;
    }
    zb::JsonlWriter writer(std::cout);
    zb::parent_setup(options, writer);
    const auto points = zb::expand_points(options);

    std::string pools;
    for (const auto& point : points) {
        pools += std::to_string(point.size) + ",";
    }
    const auto roudi = zb::spawn_self(
        {"--role", "roudi", "--pools", pools, "--parent", std::to_string(::getpid())});
    if (!roudi) {
        std::fprintf(stderr, "error: cannot spawn RouDi: %s\n", std::strerror(roudi.error()));
        return 1;
    }
    zb::cleanup_add_child(*roudi);
    // Stop RouDi at exit, after the runtime singleton (constructed later, destroyed earlier)
    // has deregistered: SIGTERM -> the roudi role's sigwait returns -> its destructors clean.
    std::atexit([] { zb::run_cleanup(); });
    const std::string self = app_name(::getpid(), -1);
    register_app_files(self);
    // Wait for RouDi's socket ourselves (iceoryx would print "waiting" warnings and could
    // wait forever on a RouDi that died at start-up, e.g. when /dev/shm is too small).
    for (int i = 0; !roudi_socket_live(); ++i) {
        int status = 0;
        if (::waitpid(*roudi, &status, WNOHANG) == *roudi) {
            zb::cleanup_forget_child(*roudi);
            std::fprintf(stderr, "error: RouDi exited during start-up (status %d); see above\n",
                         status);
            return 1;
        }
        if (i == 3000) {
            std::fprintf(stderr, "error: RouDi did not come up within 30 s\n");
            return 1; // the atexit handler stops it
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    init_runtime(self);

    int index = 0;
    for (const auto& point : points) {
        const std::string child = app_name(::getpid(), index);
        const std::string instance = std::to_string(::getpid()) + "p" + std::to_string(index);
        ++index;
        register_app_files(child);
        zb::Measured measured;
        {
            IceoryxEndpoint ep(instance, true, point.mode);
            const auto pid =
                zb::spawn_self(zb::child_args(point, {{"app", child}, {"instance", instance}}));
            if (!pid) {
                std::fprintf(stderr, "error: cannot spawn child: %s\n", std::strerror(pid.error()));
                zb::run_cleanup();
                return 1;
            }
            zb::cleanup_add_child(*pid);
            zb::ChildWatch watch(*pid, zb::point_deadline(point), "bench_iceoryx child");
            if (!ep.wait_for_subscriber(std::chrono::seconds(30))) {
                std::fprintf(stderr, "error: the child never subscribed\n");
                zb::run_cleanup();
                return 1;
            }
            measured = zb::run_parent(ep, point, watch);
            if (const int status = watch.finish(); status != 0) {
                std::fprintf(stderr, "warning: bench_iceoryx child exited with %d\n", status);
            }
        }
        zb::cleanup_forget_file("/tmp/" + child);
        zb::cleanup_forget_file("/tmp/" + child + ".lock");
        writer.point(zb::make_result("iceoryx", point, std::move(measured)));
    }
    return 0; // the atexit handler stops RouDi
}

} // namespace

int main(int argc, char** argv) {
    auto options = zb::parse_options(argc, argv);
    if (!options) {
        if (options.error() != "help") {
            std::fprintf(stderr, "error: %s\n", options.error().c_str());
        }
        std::fputs(zb::options_usage("bench_iceoryx").c_str(), stderr);
        return options.error() == "help" ? 0 : 2;
    }
    if (options->role == "roudi") {
        return run_roudi(*options);
    }
    return options->role == "child" ? run_child(*options) : run_parent(*options);
}
