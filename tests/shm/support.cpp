// Process plumbing of the multi-process shm tests, and main(): gtest, or a child role.
#include "support.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace zeroflow::shm::mp {
namespace {

std::string hex(const std::array<std::uint8_t, 16>& bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (auto b : bytes) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 15]);
    }
    return out;
}

} // namespace

LayoutSpec Params::spec() const {
    LayoutSpec spec;
    spec.uuid = uuid;
    spec.generation = 7;
    spec.node_count = 1 + static_cast<std::uint32_t>(queues.size());
    spec.outputs.push_back(OutputSpec{0, "src/out", max_message, chunks});
    for (std::uint32_t i = 0; i < queues.size(); ++i) {
        spec.connections.push_back(ConnectionSpec{0, i + 1, queues[i], "in"});
    }
    return spec;
}

std::string Params::encode() const {
    std::string out = hex(uuid) + ":" + std::to_string(max_message) + ":" + std::to_string(chunks);
    for (std::size_t i = 0; i < queues.size(); ++i) {
        out += (i == 0 ? ":" : ",") + std::to_string(queues[i]);
    }
    return out;
}

Params Params::decode(const std::string& text) {
    Params p;
    for (std::size_t i = 0; i < 16; ++i) {
        p.uuid[i] = static_cast<std::uint8_t>(std::stoul(text.substr(2 * i, 2), nullptr, 16));
    }
    std::istringstream in(text.substr(33));
    std::string field;
    std::getline(in, field, ':');
    p.max_message = std::stoull(field);
    std::getline(in, field, ':');
    p.chunks = static_cast<std::uint32_t>(std::stoul(field));
    p.queues.clear();
    while (std::getline(in, field, ',')) {
        p.queues.push_back(static_cast<std::uint32_t>(std::stoul(field)));
    }
    return p;
}

Params Params::fresh(std::uint64_t max_message, std::uint32_t chunks,
                     std::vector<std::uint32_t> queues) {
    Params p;
    std::random_device rd;
    for (auto& b : p.uuid) {
        b = static_cast<std::uint8_t>(rd());
    }
    p.max_message = max_message;
    p.chunks = chunks;
    p.queues = std::move(queues);
    return p;
}

Child::Child(const std::string& role, const std::vector<std::string>& args) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        ADD_FAILURE() << "pipe2: " << std::strerror(errno);
        return;
    }
    std::vector<std::string> words{"zeroflow_shm_mp_test", "--role", role,
                                   "--parent=" + std::to_string(::getpid())};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& w : words) {
        argv.push_back(w.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 3); // dup2 clears close-on-exec
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        ADD_FAILURE() << "posix_spawn: " << std::strerror(rc);
        return;
    }
    pid_ = pid;
    pipe_ = fds[0];
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), pipe_(std::exchange(other.pipe_, -1)),
      text_(std::move(other.text_)) {}

Child& Child::operator=(Child&& other) noexcept {
    if (this != &other) {
        reset();
        pid_ = std::exchange(other.pid_, -1);
        pipe_ = std::exchange(other.pipe_, -1);
        text_ = std::move(other.text_);
    }
    return *this;
}

Child::~Child() {
    reset();
}

void Child::reset() noexcept {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }
    if (pipe_ >= 0) {
        ::close(pipe_);
        pipe_ = -1;
    }
}

void Child::kill_now() noexcept {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
    }
}

int Child::wait(std::chrono::milliseconds limit) {
    if (pid_ <= 0) {
        return -1;
    }
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            pid_ = -1;
            return status;
        }
        if (r < 0 && errno != EINTR) {
            pid_ = -1;
            return -1;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            reset();
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

bool Child::wait_ready(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (text_.find("ready=1\n") == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (pipe_ < 0 || left.count() <= 0) {
            return false;
        }
        pollfd pfd{pipe_, POLLIN, 0};
        if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
            continue;
        }
        char buffer[256];
        const auto n = ::read(pipe_, buffer, sizeof(buffer));
        if (n <= 0) {
            return false; // the child is gone
        }
        text_.append(buffer, static_cast<std::size_t>(n));
    }
    return true;
}

std::map<std::string, std::uint64_t> Child::results() {
    if (pipe_ >= 0) {
        char buffer[4096];
        for (;;) {
            const auto n = ::read(pipe_, buffer, sizeof(buffer));
            if (n > 0) {
                text_.append(buffer, static_cast<std::size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                break;
            }
        }
        ::close(pipe_);
        pipe_ = -1;
    }
    std::map<std::string, std::uint64_t> out;
    std::istringstream in(text_);
    std::string line;
    while (std::getline(in, line)) {
        const auto eq = line.find('=');
        if (eq != std::string::npos) {
            out[line.substr(0, eq)] = std::stoull(line.substr(eq + 1));
        }
    }
    return out;
}

bool exited_ok(int status) noexcept {
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool killed_by(int status, int signal) noexcept {
    return status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == signal;
}

std::string describe(int status) {
    if (status < 0) {
        return "timed out (killed by the test)";
    }
    if (WIFEXITED(status)) {
        return "exited with " + std::to_string(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        return std::string("killed by signal ") + strsignal(WTERMSIG(status));
    }
    return "status " + std::to_string(status);
}

std::uint64_t scaled(std::uint64_t full, std::uint64_t sanitized) {
    if (const char* percent = std::getenv("ZEROFLOW_SHM_TEST_SCALE_PERCENT")) {
        return std::max<std::uint64_t>(1, full * std::strtoull(percent, nullptr, 10) / 100);
    }
#ifdef ZEROFLOW_SHM_TEST_SANITIZED
    (void)full;
    return sanitized;
#else
    (void)sanitized;
    return full;
#endif
}

std::vector<pid_t> processes_holding(const std::string& name) {
    const auto needle = "/memfd:" + name;
    std::vector<pid_t> out;
    std::error_code ec;
    for (const auto& proc : std::filesystem::directory_iterator("/proc", ec)) {
        const auto pid_text = proc.path().filename().string();
        if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        bool held = false;
        std::ifstream maps(proc.path() / "maps");
        for (std::string line; !held && std::getline(maps, line);) {
            held = line.find(needle) != std::string::npos;
        }
        std::error_code fd_ec;
        for (const auto& fd : std::filesystem::directory_iterator(proc.path() / "fd", fd_ec)) {
            if (held) {
                break;
            }
            held = std::filesystem::read_symlink(fd.path(), fd_ec).string().starts_with(needle);
        }
        if (held) {
            out.push_back(static_cast<pid_t>(std::stol(pid_text)));
        }
    }
    return out;
}

} // namespace zeroflow::shm::mp

int main(int argc, char** argv) {
    if (argc >= 3 && std::strcmp(argv[1], "--role") == 0) {
        return zeroflow::shm::mp::run_role(argc, argv);
    }
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
