// Micro benchmarks of the shm data path against the raw floor (bench/raw_ring.hpp): the same
// binary re-executes itself as the peer process (`--peer KIND ...`), pinned to another core.
// One-way latency = round trip / 2, reported as p50_ns / p99_ns counters; a summary of the
// ratios to the floor is printed at the end.
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <zeroflow/bench/process.hpp>
#include <zeroflow/bench/raw_ring.hpp>
#include <zeroflow/bench/stats.hpp>
#include <zeroflow/runtime/metadata.hpp>
#include <zeroflow/shm/control.hpp>
#include <zeroflow/shm/receiver.hpp>
#include <zeroflow/shm/sender.hpp>

namespace {

namespace shm = zeroflow::shm;
namespace bench = zeroflow::bench;
namespace raw = zeroflow::bench::raw;
using namespace std::chrono_literals;

constexpr std::uint32_t kRawCapacity = 1024;
constexpr std::uint64_t kStreamMessages = 2'000'000;

std::int64_t now_ns() noexcept {
    return static_cast<std::int64_t>(shm::monotonic_ns());
}

std::map<std::string, double>& figures() {
    static std::map<std::string, double> f;
    return f;
}

std::string hex(const std::array<std::uint8_t, 16>& bytes) {
    std::string out;
    char buf[3];
    for (auto b : bytes) {
        std::snprintf(buf, sizeof(buf), "%02x", b);
        out += buf;
    }
    return out;
}

std::array<std::uint8_t, 16> unhex(const std::string& text) {
    std::array<std::uint8_t, 16> out{};
    for (std::size_t i = 0; i < 16; ++i) {
        out[i] = static_cast<std::uint8_t>(std::stoul(text.substr(2 * i, 2), nullptr, 16));
    }
    return out;
}

/// Two nodes: node 0 (this process) sends on output 0 to node 1 (the peer), which answers on
/// output 1. `queue` slots each way; `chunks` per size class.
shm::LayoutSpec pair_spec(const std::array<std::uint8_t, 16>& uuid, std::uint64_t max_message,
                          std::uint32_t queue, std::uint32_t chunks) {
    shm::LayoutSpec spec;
    spec.uuid = uuid;
    spec.generation = 1;
    spec.node_count = 2;
    spec.outputs.push_back(shm::OutputSpec{0, "bench/ping", max_message, chunks});
    spec.outputs.push_back(shm::OutputSpec{1, "peer/pong", max_message, chunks});
    spec.connections.push_back(shm::ConnectionSpec{0, 1, queue, "ping"});
    spec.connections.push_back(shm::ConnectionSpec{1, 0, queue, "pong"});
    return spec;
}

std::array<std::uint8_t, 16> fresh_uuid() {
    std::array<std::uint8_t, 16> uuid{};
    std::random_device rd;
    for (auto& b : uuid) {
        b = static_cast<std::uint8_t>(rd());
    }
    return uuid;
}

/// Waits for the next message on a receiver: spinning on poll(), or sleeping on the futex.
std::optional<shm::Delivery> next(shm::NodeReceiver& rx, bool busy) {
    for (;;) {
        auto d = busy ? rx.poll() : rx.wait(-1ns, 0ns);
        if (d) {
            return d;
        }
        if (busy) {
            raw::cpu_relax();
        }
    }
}

void record(benchmark::State& state, const std::string& key, std::vector<std::int64_t>& samples) {
    const auto p = bench::compute_percentiles(std::move(samples));
    state.counters["p50_ns"] = static_cast<double>(p.p50_ns);
    state.counters["p99_ns"] = static_cast<double>(p.p99_ns);
    figures()[key] = static_cast<double>(p.p50_ns);
}

// ------------------------------------------------------------------------------------------
// Raw floor shared memory: two rings (to the peer, back from it) in one shm object.

void* map_raw(const std::string& name, bool create) {
    const std::size_t bytes = 2 * raw::ring_bytes(kRawCapacity);
    const int fd = ::shm_open(name.c_str(), create ? O_CREAT | O_EXCL | O_RDWR : O_RDWR, 0600);
    if (fd < 0) {
        return nullptr;
    }
    if (create && ::ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
        ::close(fd);
        return nullptr;
    }
    void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (base == MAP_FAILED) {
        return nullptr;
    }
    if (create) {
        raw::ring_init(base, kRawCapacity);
        raw::ring_init(static_cast<std::byte*>(base) + raw::ring_bytes(kRawCapacity), kRawCapacity);
    }
    return base;
}

/// A spawned peer, pinned to CPU 1 (this process takes CPU 0).
struct Peer {
    explicit Peer(const std::vector<std::string>& args) {
        std::vector<std::string> all{"--peer"};
        all.insert(all.end(), args.begin(), args.end());
        all.push_back(std::to_string(::getpid()));
        if (auto spawned = bench::spawn_self(all)) {
            pid = *spawned;
            bench::cleanup_add_child(pid);
        }
    }
    ~Peer() {
        if (pid > 0) {
            (void)bench::wait_pid(pid);
            bench::cleanup_forget_child(pid);
        }
    }
    pid_t pid = -1;
};

// ------------------------------------------------------------------------------------------
// In one process.

void BM_RawRingPushPop(benchmark::State& state) {
    std::vector<std::byte> memory(raw::ring_bytes(kRawCapacity) + raw::kCacheLine);
    void* aligned =
        memory.data() +
        (raw::kCacheLine - reinterpret_cast<std::uintptr_t>(memory.data()) % raw::kCacheLine) %
            raw::kCacheLine;
    raw::ring_init(aligned, kRawCapacity);
    raw::Producer producer(aligned, kRawCapacity);
    raw::Consumer consumer(aligned, kRawCapacity);
    std::uint32_t i = 0;
    for (auto _ : state) {
        (void)producer.try_push(i++);
        std::uint32_t v = 0;
        (void)consumer.try_pop(v);
        benchmark::DoNotOptimize(v);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawRingPushPop);

void BM_LoanSendReceiveRelease(benchmark::State& state) {
    const auto bytes = static_cast<std::uint64_t>(state.range(0));
    auto spec = pair_spec(fresh_uuid(), std::max<std::uint64_t>(bytes, 8), 16, 0);
    auto segment = shm::Segment::create(spec);
    if (!segment) {
        state.SkipWithError(segment.error().message.c_str());
        return;
    }
    auto tx = shm::OutputSender::attach(*segment, 0);
    auto rx = shm::NodeReceiver::attach(*segment, 1);
    std::uint64_t value = 0;
    for (auto _ : state) {
        auto loan = tx->loan(bytes);
        std::memcpy(loan->data, &value, sizeof(value));
        (void)tx->send(*loan, bytes, 1);
        auto d = rx->poll();
        std::memcpy(&value, d->data, sizeof(value));
        rx->release(d->input, d->chunk);
        ++value;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LoanSendReceiveRelease)->Arg(8)->Arg(4096)->Arg(1 << 20);

// The same round with what a described message adds: a dtype (u8) and a shape written by the
// sender, three parameters encoded straight into the chunk (int, double, string), and the
// receiver reading all three back. The difference to BM_LoanSendReceiveRelease is its cost.
void BM_LoanSendReceiveReleaseDescribed(benchmark::State& state) {
    const auto bytes = static_cast<std::uint64_t>(state.range(0));
    auto spec = pair_spec(fresh_uuid(), std::max<std::uint64_t>(bytes, 8), 16, 0);
    auto segment = shm::Segment::create(spec);
    if (!segment) {
        state.SkipWithError(segment.error().message.c_str());
        return;
    }
    auto tx = shm::OutputSender::attach(*segment, 0);
    auto rx = shm::NodeReceiver::attach(*segment, 1);
    std::uint64_t value = 0;
    std::int64_t check = 0;
    for (auto _ : state) {
        auto loan = tx->loan(bytes);
        std::memcpy(loan->data, &value, sizeof(value));
        const std::uint64_t shape[1] = {bytes};
        std::memcpy(loan->metadata() + shm::kShapeOffset, shape, sizeof(shape));
        zeroflow::SampleMetadata meta(loan->metadata() + shm::kParametersOffset,
                                      tx->max_metadata_size());
        meta.set_int("frame", static_cast<std::int64_t>(value));
        meta.set_double("exposure", 0.5);
        meta.set_string("camera", "front");
        shm::MessageInfo info;
        info.dtype = 1; // u8
        info.ndim = 1;
        info.metadata_size = static_cast<std::uint32_t>(meta.size());
        (void)tx->send(*loan, bytes, 1, info);
        auto d = rx->poll();
        std::memcpy(&value, d->data, sizeof(value));
        const zeroflow::MetadataView view(d->metadata + shm::kParametersOffset, d->metadata_size);
        check += view.get_int("frame").value_or(0);
        check += static_cast<std::int64_t>(view.get_double("exposure").value_or(0));
        check += static_cast<std::int64_t>(view.get_string("camera").value_or("").size());
        rx->release(d->input, d->chunk);
        ++value;
    }
    benchmark::DoNotOptimize(check);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LoanSendReceiveReleaseDescribed)->Arg(8)->Arg(4096)->Arg(1 << 20);

// ------------------------------------------------------------------------------------------
// Two processes: ping-pong (one-way = RTT / 2) and streaming.

void BM_RawPingPong(benchmark::State& state) {
    const bool busy = state.range(0) == 0;
    const auto mode = busy ? raw::WaitMode::busy : raw::WaitMode::futex;
    const std::string name = "/zfbench-shm-raw-" + std::to_string(::getpid());
    void* base = map_raw(name, true);
    if (base == nullptr) {
        state.SkipWithError("cannot create the raw ring's shm");
        return;
    }
    bench::cleanup_add_shm(name);
    auto* back = static_cast<std::byte*>(base) + raw::ring_bytes(kRawCapacity);
    raw::Producer out(base, kRawCapacity);
    raw::Consumer in(back, kRawCapacity);
    std::vector<std::int64_t> samples;
    samples.reserve(static_cast<std::size_t>(state.max_iterations));
    {
        Peer peer({"raw-echo", name, busy ? "busy" : "futex"});
        std::uint32_t i = 0;
        for (auto _ : state) {
            const auto t0 = now_ns();
            out.push(i++, mode);
            (void)in.front(mode);
            in.pop(mode);
            samples.push_back((now_ns() - t0) / 2);
        }
        out.push(0xffffffffU, mode); // stop
    }
    ::munmap(base, 2 * raw::ring_bytes(kRawCapacity));
    ::shm_unlink(name.c_str());
    bench::cleanup_forget_shm(name);
    record(state, std::string("raw ") + (busy ? "busy" : "futex"), samples);
}
BENCHMARK(BM_RawPingPong)->ArgName("futex")->Arg(0)->Arg(1)->Iterations(20000);

void BM_ShmPingPong(benchmark::State& state) {
    const bool busy = state.range(0) == 0;
    const auto bytes = static_cast<std::uint64_t>(state.range(1));
    const auto uuid = fresh_uuid();
    auto segment = shm::Segment::create(pair_spec(uuid, bytes, 4, 4));
    if (!segment) {
        state.SkipWithError(segment.error().message.c_str());
        return;
    }
    auto tx = shm::OutputSender::attach(*segment, 0);
    auto rx = shm::NodeReceiver::attach(*segment, 0);
    std::vector<std::int64_t> samples;
    samples.reserve(static_cast<std::size_t>(state.max_iterations));
    {
        Peer peer({"shm-echo", hex(uuid), std::to_string(bytes), busy ? "busy" : "futex"});
        auto hello = next(*rx, false);
        rx->release(hello->input, hello->chunk);
        for (auto _ : state) {
            const auto t0 = now_ns();
            auto loan = tx->loan(bytes);
            if (!loan) {
                state.SkipWithError(loan.error().message.c_str());
                break;
            }
            std::memcpy(loan->data, &t0, sizeof(t0)); // the payload is not touched otherwise
            (void)tx->send(*loan, bytes, static_cast<std::uint64_t>(t0));
            auto d = next(*rx, busy);
            rx->release(d->input, d->chunk);
            samples.push_back((now_ns() - t0) / 2);
        }
        shm::Control(*segment).request_stop(1);
    }
    record(state, std::string("shm ") + (busy ? "busy " : "futex ") + std::to_string(bytes),
           samples);
}
BENCHMARK(BM_ShmPingPong)
    ->ArgNames({"futex", "bytes"})
    ->ArgsProduct({{0, 1}, {8, 4096, 1 << 20, 16 << 20}})
    ->Iterations(20000);

void BM_RawStream(benchmark::State& state) {
    const std::string name = "/zfbench-shm-raw-" + std::to_string(::getpid());
    void* base = map_raw(name, true);
    if (base == nullptr) {
        state.SkipWithError("cannot create the raw ring's shm");
        return;
    }
    bench::cleanup_add_shm(name);
    raw::Consumer in(base, kRawCapacity);
    std::uint64_t count = 0;
    double seconds = 0;
    for (auto _ : state) {
        Peer peer({"raw-stream", name, std::to_string(kStreamMessages)});
        (void)in.front(raw::WaitMode::busy);
        in.pop(raw::WaitMode::busy);
        const auto t0 = now_ns();
        for (std::uint64_t i = 1; i < kStreamMessages; ++i) {
            (void)in.front(raw::WaitMode::busy);
            in.pop(raw::WaitMode::busy);
        }
        seconds = static_cast<double>(now_ns() - t0) / 1e9;
        count = kStreamMessages - 1;
    }
    ::munmap(base, 2 * raw::ring_bytes(kRawCapacity));
    ::shm_unlink(name.c_str());
    bench::cleanup_forget_shm(name);
    state.counters["msgs_per_s"] = static_cast<double>(count) / seconds;
    figures()["raw stream"] = static_cast<double>(count) / seconds;
}
BENCHMARK(BM_RawStream)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_ShmStream8B(benchmark::State& state) {
    const auto uuid = fresh_uuid();
    // A queue larger than the pool: the pool running dry is the back-pressure, nothing drops.
    auto segment = shm::Segment::create(pair_spec(uuid, 8, 1024, 256));
    if (!segment) {
        state.SkipWithError(segment.error().message.c_str());
        return;
    }
    // Here node 1 (the peer) streams on output 1 to node 0 (this process).
    auto rx = shm::NodeReceiver::attach(*segment, 0);
    std::uint64_t count = 0;
    std::uint64_t lost = 0;
    double seconds = 0;
    for (auto _ : state) {
        Peer peer({"shm-stream", hex(uuid), std::to_string(kStreamMessages)});
        auto first = next(*rx, true);
        rx->release(first->input, first->chunk);
        const auto t0 = now_ns();
        std::uint64_t last = first->sequence;
        for (std::uint64_t i = 1; i < kStreamMessages; ++i) {
            auto d = next(*rx, true);
            lost += d->sequence - last - 1;
            last = d->sequence;
            rx->release(d->input, d->chunk);
        }
        seconds = static_cast<double>(now_ns() - t0) / 1e9;
        count = kStreamMessages - 1;
        shm::Control(*segment).request_stop(1);
    }
    state.counters["msgs_per_s"] = static_cast<double>(count) / seconds;
    state.counters["lost"] = static_cast<double>(lost);
    figures()["shm stream"] = static_cast<double>(count) / seconds;
}
BENCHMARK(BM_ShmStream8B)->Iterations(1)->Unit(benchmark::kMillisecond);

// ------------------------------------------------------------------------------------------
// Peer processes.

int raw_echo(const std::string& name, bool busy) {
    void* base = map_raw(name, false);
    if (base == nullptr) {
        return 2;
    }
    const auto mode = busy ? raw::WaitMode::busy : raw::WaitMode::futex;
    raw::Consumer in(base, kRawCapacity);
    raw::Producer out(static_cast<std::byte*>(base) + raw::ring_bytes(kRawCapacity), kRawCapacity);
    for (;;) {
        const auto v = in.front(mode);
        in.pop(mode);
        if (v == 0xffffffffU) {
            return 0;
        }
        out.push(v, mode);
    }
}

int raw_stream(const std::string& name, std::uint64_t count) {
    void* base = map_raw(name, false);
    if (base == nullptr) {
        return 2;
    }
    raw::Producer out(base, kRawCapacity);
    for (std::uint64_t i = 0; i < count; ++i) {
        out.push(static_cast<std::uint32_t>(i), raw::WaitMode::busy);
    }
    return 0;
}

int shm_echo(const std::string& uuid, std::uint64_t bytes, bool busy) {
    auto segment = shm::Segment::open_held_by(::getppid(), pair_spec(unhex(uuid), bytes, 4, 4));
    if (!segment) {
        std::fprintf(stderr, "peer: %s\n", segment.error().message.c_str());
        return 2;
    }
    auto rx = shm::NodeReceiver::attach(*segment, 1);
    auto tx = shm::OutputSender::attach(*segment, 1);
    // Hello: a receiver starts at the sender's current position, so the parent must not send
    // before this one attached.
    if (auto hello = tx->loan(8)) {
        (void)tx->send(*hello, 8);
    }
    for (;;) {
        auto d = next(*rx, busy);
        if (d->kind != shm::Delivery::Kind::message) {
            return 0;
        }
        auto loan = tx->loan(d->size);
        if (!loan) {
            return 3;
        }
        std::memcpy(loan->data, d->data, 8);
        rx->release(d->input, d->chunk);
        (void)tx->send(*loan, d->size, d->timestamp_ns);
    }
}

int shm_stream(const std::string& uuid, std::uint64_t count) {
    auto segment = shm::Segment::open_held_by(::getppid(), pair_spec(unhex(uuid), 8, 1024, 256));
    if (!segment) {
        return 2;
    }
    auto tx = shm::OutputSender::attach(*segment, 1);
    auto rx = shm::NodeReceiver::attach(*segment, 1);
    for (std::uint64_t i = 0; i < count;) {
        auto loan = tx->loan(8);
        if (!loan) {
            raw::cpu_relax(); // pool_exhausted: the receiver has not released yet
            continue;
        }
        std::memcpy(loan->data, &i, sizeof(i));
        (void)tx->send(*loan, 8, 1);
        ++i;
    }
    // Stay until stopped so the pool outlives the receiver's last release.
    while (!rx->wait(-1ns, 0ns)) {
    }
    return 0;
}

int run_peer(int argc, char** argv) {
    // argv: exe --peer KIND ARGS... PARENT_PID
    bench::die_with_parent(static_cast<pid_t>(std::stol(argv[argc - 1])));
    bench::pin_to_cpu(1);
    const std::string kind = argv[2];
    if (kind == "raw-echo") {
        return raw_echo(argv[3], std::string(argv[4]) == "busy");
    }
    if (kind == "raw-stream") {
        return raw_stream(argv[3], std::stoull(argv[4]));
    }
    if (kind == "shm-echo") {
        return shm_echo(argv[3], std::stoull(argv[4]), std::string(argv[5]) == "busy");
    }
    if (kind == "shm-stream") {
        return shm_stream(argv[3], std::stoull(argv[4]));
    }
    return 2;
}

void print_ratios() {
    auto& f = figures();
    const auto ratio = [&f](const std::string& a, const std::string& b) {
        return f.count(a) != 0 && f.count(b) != 0 && f[b] > 0 ? f[a] / f[b] : 0.0;
    };
    std::printf("\nratios of one-way p50 (target in brackets; not asserted):\n");
    for (const char* size : {"8", "4096", "1048576", "16777216"}) {
        std::printf("  shm busy %-8s / raw busy : %5.2f  (<= 3)\n", size,
                    ratio(std::string("shm busy ") + size, "raw busy"));
    }
    std::printf("  shm busy 16 MiB / 8 B   : %5.2f  (<= 1.5)\n",
                ratio("shm busy 16777216", "shm busy 8"));
    for (const char* size : {"8", "4096", "1048576", "16777216"}) {
        std::printf("  shm futex %-8s/ raw futex: %5.2f  (<= 1.2)\n", size,
                    ratio(std::string("shm futex ") + size, "raw futex"));
    }
    std::printf("  shm stream 8 B: %.2f M msg/s (>= 10), raw floor %.2f M msg/s\n",
                f["shm stream"] / 1e6, f["raw stream"] / 1e6);
}

} // namespace

int main(int argc, char** argv) {
    if (argc >= 3 && std::strcmp(argv[1], "--peer") == 0) {
        return run_peer(argc, argv);
    }
    bench::install_signal_cleanup();
    bench::pin_to_cpu(0);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    print_ratios();
    return 0;
}
