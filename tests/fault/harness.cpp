// Plumbing of the fault tests (see harness.hpp).
#include "harness.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace zeroflow::fault_test {
namespace {

const fs::path kNode = ZEROFLOW_FAULT_NODE;
const fs::path kDaemon = ZEROFLOWD_BINARY;
const fs::path kFlows = ZEROFLOW_FAULT_FLOWS;

std::string slurp(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
    for (auto pos = text.find(from); pos != std::string::npos;
         pos = text.find(from, pos + to.size())) {
        text.replace(pos, from.size(), to);
    }
}

/// Reaps every exited child (we are a subreaper: orphaned nodes of a killed daemon come here).
void reap_children() {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
}

} // namespace

int scaled(int full) {
#ifdef ZEROFLOW_FAULT_SANITIZED
    int percent = 20;
#else
    int percent = 100;
#endif
    if (const char* env = std::getenv("ZEROFLOW_FAULT_SCALE"); env != nullptr && *env != '\0') {
        percent = std::atoi(env);
    }
    return std::max(1, static_cast<int>(static_cast<long long>(full) * percent / 100));
}

std::map<std::string, std::string> read_report(const fs::path& file) {
    std::map<std::string, std::string> out;
    std::istringstream lines(slurp(file));
    for (std::string line; std::getline(lines, line);) {
        if (const auto eq = line.find('='); eq != std::string::npos) {
            out[line.substr(0, eq)] = line.substr(eq + 1);
        }
    }
    return out;
}

std::uint64_t number(const std::map<std::string, std::string>& report, const std::string& key) {
    const auto it = report.find(key);
    return it == report.end() || it->second.empty() ? 0 : std::stoull(it->second);
}

bool process_alive(pid_t pid) {
    reap_children();
    const auto stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size()) {
        return false;
    }
    const char state = stat[paren + 2];
    return state != 'Z' && state != 'X';
}

std::string describe_node(pid_t pid, const fs::path& report) {
    const auto proc = "/proc/" + std::to_string(pid);
    const auto stat = slurp(proc + "/stat");
    const auto paren = stat.rfind(')');
    std::string text =
        "pid " + std::to_string(pid) + ": state " +
        (paren != std::string::npos && paren + 2 < stat.size() ? std::string(1, stat[paren + 2])
                                                               : std::string("gone")) +
        ", wchan " + slurp(proc + "/wchan") + "; report:";
    for (const auto& [key, value] : read_report(report)) {
        text += " " + key + "=" + value;
    }
    // Its unix sockets (ss: netid state recv-q send-q local inode peer inode users), then
    // whoever holds each peer end: a process that holds the daemon's end keeps EOF away.
    std::vector<std::vector<std::string>> rows;
    if (FILE* ss = ::popen("ss -xpn 2>/dev/null", "r")) {
        char line[4096];
        while (std::fgets(line, sizeof(line), ss) != nullptr) {
            std::istringstream fields(line);
            std::vector<std::string> row;
            for (std::string f; fields >> f;) {
                row.push_back(f);
            }
            if (row.size() >= 8) {
                rows.push_back(std::move(row));
            }
        }
        ::pclose(ss);
    }
    const auto owner = "pid=" + std::to_string(pid) + ",";
    for (const auto& row : rows) {
        const std::string users = row.size() > 8 ? row[8] : "";
        if (users.find(owner) == std::string::npos) {
            continue;
        }
        text += "; socket " + row[5] + " -> peer " + row[7] + " held by:";
        bool held = false;
        for (const auto& other : rows) {
            if (other[5] == row[7]) {
                text += " " + (other.size() > 8 ? other[8] : std::string("(no process)"));
                held = true;
            }
        }
        text += held ? "" : " nobody";
    }
    return text;
}

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void print_timing(const std::string& what, std::vector<double> samples) {
    if (samples.empty()) {
        return;
    }
    std::sort(samples.begin(), samples.end());
    std::printf("[fault timing] %s: median %.1f ms, max %.1f ms over %zu\n", what.c_str(),
                samples[samples.size() / 2], samples.back(), samples.size());
    std::fflush(stdout);
}

// ---- Raw -------------------------------------------------------------------------------------

Raw::Raw(const fs::path& socket) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof(addr.sun_path) - 1);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

Raw::Raw(Raw&& other) noexcept : fd_(other.fd_), buffer_(std::move(other.buffer_)) {
    other.fd_ = -1;
}

Raw::~Raw() {
    close();
}

void Raw::close() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

bool Raw::write(std::string_view bytes) {
    while (!bytes.empty() && fd_ >= 0) {
        const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return fd_ >= 0;
}

std::optional<Json> Raw::read(std::chrono::milliseconds timeout) {
    const auto end = Clock::now() + zeroflow::test::scaled_time(timeout);
    for (;;) {
        if (buffer_.size() >= 4) {
            std::uint32_t length = 0;
            std::memcpy(&length, buffer_.data(), 4);
            if (buffer_.size() >= 4 + static_cast<std::size_t>(length)) {
                auto body = buffer_.substr(4, length);
                buffer_.erase(0, 4 + static_cast<std::size_t>(length));
                try {
                    return Json::parse(body);
                } catch (...) {
                    return std::nullopt;
                }
            }
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
        if (fd_ < 0 || left.count() <= 0) {
            return std::nullopt;
        }
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
            continue;
        }
        char chunk[65536];
        const auto n = ::recv(fd_, chunk, sizeof(chunk), 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return std::nullopt;
        }
        buffer_.append(chunk, static_cast<std::size_t>(n));
    }
}

bool Raw::closed_within(std::chrono::milliseconds timeout) {
    const auto end = Clock::now() + zeroflow::test::scaled_time(timeout);
    while (fd_ >= 0 && Clock::now() < end) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) {
            continue;
        }
        char chunk[4096];
        const auto n = ::recv(fd_, chunk, sizeof(chunk), 0);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
            return true;
        }
    }
    return false;
}

std::optional<Json> Raw::call(const Json& request, std::chrono::milliseconds timeout) {
    if (!write(protocol::encode_frame(request))) {
        return std::nullopt;
    }
    return read(timeout);
}

std::string frame_bytes(std::string_view body) {
    const auto length = static_cast<std::uint32_t>(body.size());
    std::string out(4, '\0');
    std::memcpy(out.data(), &length, 4);
    out.append(body);
    return out;
}

std::string error_kind(const std::optional<Json>& reply) {
    if (!reply || !reply->is_object() || reply->value("ok", false)) {
        return "";
    }
    try {
        return reply->at("error").at("kind").get<std::string>();
    } catch (...) {
        return "?";
    }
}

// ---- FaultTest -------------------------------------------------------------------------------

void FaultTest::SetUp() {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    char tmpl[] = "/tmp/zf-fault-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    rt_ = root_ / "rt";
    socket_ = rt_ / "daemon.sock";
    fs::create_directories(root_ / "reports");
    fs::create_directories(root_ / "flows");
    ::setenv("ZEROFLOW_RUNTIME_DIR", rt_.c_str(), 1);
    ::unsetenv("ZEROFLOW_DATAFLOW");
    ::unsetenv("ZEROFLOW_DATAFLOW_ID");
    ::unsetenv("ZEROFLOW_NODE_ID");
    ::setenv("ZEROFLOW_REGISTER_TIMEOUT_S", "30", 1);
    ASSERT_NO_FATAL_FAILURE(start_daemon());
    ASSERT_NO_FATAL_FAILURE(start_companion());
}

void FaultTest::start_daemon() {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::setpgid(0, 0);
        const auto log = (rt_.parent_path() / "daemon.log").string();
        std::vector<std::string> words = {kDaemon.string(), "--runtime-dir", rt_.string(),
                                          "--log-file", log};
        words.insert(words.end(), daemon_args_.begin(), daemon_args_.end());
        std::vector<char*> argv;
        for (auto& w : words) {
            argv.push_back(w.data());
        }
        argv.push_back(nullptr);
        if (address_space_limit_ > 0) {
            const rlimit lim{address_space_limit_, address_space_limit_};
            ::setrlimit(RLIMIT_AS, &lim);
        }
        ::execv(kDaemon.c_str(), argv.data());
        ::_exit(127);
    }
    daemon_pid_ = pid;
    ASSERT_TRUE(eventually([&] { return ping(); }, 20s, 10ms)) << "zeroflowd did not answer";
}

namespace {

/// The processes that have `file` open (for a failure message): "pid (command)", or "none".
std::string holders_of(const fs::path& file) {
    std::error_code ec;
    const auto target = fs::canonical(file, ec);
    std::string found;
    for (const auto& proc : fs::directory_iterator("/proc", ec)) {
        const auto name = proc.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) {
            continue;
        }
        std::error_code fd_ec;
        for (const auto& fd : fs::directory_iterator(proc.path() / "fd", fd_ec)) {
            std::error_code link_ec;
            if (fs::read_symlink(fd.path(), link_ec) == target) {
                std::string comm;
                std::ifstream(proc.path() / "comm") >> comm;
                found += (found.empty() ? "" : ", ") + name + " (" + comm + ")";
                break;
            }
        }
    }
    return found.empty() ? "none" : found;
}

} // namespace

void FaultTest::kill_daemon() {
    ASSERT_GT(daemon_pid_, 0);
    ::kill(daemon_pid_, SIGKILL);
    ::waitpid(daemon_pid_, nullptr, 0);
    dead_daemons_.push_back(daemon_pid_);
    daemon_pid_ = -1;
    // The dead daemon's lock goes with the last process that holds its file: waitpid says the
    // daemon is gone, and a successor must be able to take the lock at once. If something else
    // still holds it (a child forked and not yet exec'd), say which instead of timing out later.
    const auto lock = protocol::lock_path(rt_);
    bool free = false;
    const bool taken = eventually(
        [&] {
            const int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
            free = fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0;
            if (fd >= 0) {
                ::close(fd); // releases the probe's lock
            }
            return free;
        },
        5s);
    ASSERT_TRUE(taken) << "5 s after the SIGKILLed daemon was reaped, its lock " << lock
                       << " is still held by: " << holders_of(lock);
}

bool FaultTest::ping() {
    Raw raw(socket_);
    const auto reply = raw.call({{"op", "ping"}}, 10s);
    return reply && reply->value("ok", false) && reply->value("pid", 0) == daemon_pid_;
}

std::optional<Json> FaultTest::call(const Json& request, std::chrono::milliseconds timeout) {
    Raw raw(socket_);
    return raw.call(request, timeout);
}

fs::path FaultTest::dataflow_file(const std::string& name, const std::string& tag,
                                  const std::map<std::string, std::string>& extra) {
    auto text = slurp(kFlows / (name + ".yml"));
    replace_all(text, "@NODE@", kNode.string());
    replace_all(text, "@REPORT@", (root_ / "reports" / tag).string());
    for (const auto& [key, value] : extra) {
        replace_all(text, "@" + key + "@", value);
    }
    const auto file = root_ / "flows" / (tag + ".yml");
    std::ofstream(file) << text;
    return file;
}

std::string FaultTest::start(const std::string& name, const std::string& tag,
                             const std::map<std::string, std::string>& extra) {
    const auto file = dataflow_file(name, tag, extra);
    const auto reply = call({{"op", "start"}, {"path", file.string()}, {"name", tag}}, 60s);
    EXPECT_TRUE(reply && reply->value("ok", false))
        << "start " << name << ": " << (reply ? reply->dump() : "no reply");
    if (!reply || !reply->value("ok", false)) {
        return "";
    }
    const auto uuid = reply->value("uuid", std::string());
    seen_uuids_.insert(uuid);
    list();
    return uuid;
}

Json FaultTest::list() {
    const auto reply = call({{"op", "list"}});
    if (!reply || !reply->value("ok", false)) {
        ADD_FAILURE() << "list failed";
        return Json::array();
    }
    const auto flows = reply->value("dataflows", Json::array());
    for (const auto& df : flows) {
        seen_uuids_.insert(df.value("uuid", std::string()));
        for (const auto& n : df.value("nodes", Json::array())) {
            if (n.contains("pid")) {
                seen_pids_.insert(n.at("pid").get<pid_t>());
            }
        }
    }
    return flows;
}

Json FaultTest::dataflow(const std::string& uuid) {
    for (const auto& df : list()) {
        if (df.value("uuid", std::string()) == uuid) {
            return df;
        }
    }
    return nullptr;
}

std::map<std::string, pid_t> FaultTest::pids(const std::string& uuid) {
    std::map<std::string, pid_t> out;
    const auto df = dataflow(uuid);
    if (df.is_object()) {
        for (const auto& n : df.value("nodes", Json::array())) {
            if (n.contains("pid")) {
                out[n.value("id", std::string())] = n.at("pid").get<pid_t>();
            }
        }
    }
    return out;
}

std::optional<Json> FaultTest::stop(const std::string& uuid, double grace_s) {
    return call({{"op", "stop"}, {"dataflow", uuid}, {"grace_s", grace_s}}, 30s);
}

void FaultTest::start_companion() {
    companion_tag_ = "companion" + std::to_string(companions_++);
    companion_ = start("stream", companion_tag_);
    ASSERT_FALSE(companion_.empty());
    companion_done_ = false;
    const auto sink = report(companion_tag_, "sink");
    ASSERT_TRUE(eventually([&] { return number(read_report(sink), "received") >= 20; }, 20s))
        << "the companion stream does not flow";
}

void FaultTest::finish_companion() {
    if (companion_done_ || companion_.empty()) {
        return;
    }
    companion_done_ = true;
    const auto sink = report(companion_tag_, "sink");
    const auto before = number(read_report(sink), "received");
    // Still streaming at the end of the scenario.
    EXPECT_TRUE(
        eventually([&] { return number(read_report(sink), "received") > before + 20; }, 20s))
        << "the companion stream stalled";
    const auto reply = stop(companion_);
    EXPECT_TRUE(reply && reply->value("ok", false)) << (reply ? reply->dump() : "no reply");
    EXPECT_TRUE(eventually([&] { return number(read_report(sink), "done") == 1; }, 10s));
    const auto r = read_report(sink);
    const auto src = read_report(report(companion_tag_, "src"));
    EXPECT_EQ(number(r, "gaps"), 0U) << "the companion stream lost messages";
    EXPECT_EQ(number(r, "dropped"), 0U);
    EXPECT_EQ(number(r, "first"), 1U);
    // Stop may overtake what is still queued: the sink misses at most a tail, never a middle.
    EXPECT_EQ(number(r, "last"), number(r, "received"));
    EXPECT_LE(number(r, "received"), number(src, "sent"));
    EXPECT_LE(number(src, "sent") - number(r, "received"), 1024U);
    EXPECT_EQ(number(src, "send_errors"), 0U);
    std::printf("[fault] companion %s: %llu messages, %llu gaps\n", companion_tag_.c_str(),
                static_cast<unsigned long long>(number(r, "received")),
                static_cast<unsigned long long>(number(r, "gaps")));
}

void FaultTest::TearDown() {
    if (daemon_pid_ > 0) {
        EXPECT_TRUE(ping()) << "the daemon does not answer after the scenario";
        finish_companion();
        list();
        const auto reply = call({{"op", "destroy"}, {"grace_s", 2.0}}, 30s);
        EXPECT_TRUE(reply && reply->value("ok", false))
            << "destroy: " << (reply ? reply->dump() : "no reply");
        int status = 0;
        bool exited = eventually(
            [&] { return ::waitpid(daemon_pid_, &status, WNOHANG) == daemon_pid_; }, 20s);
        EXPECT_TRUE(exited) << "zeroflowd did not exit after destroy";
        if (!exited) {
            ::kill(daemon_pid_, SIGKILL);
            ::waitpid(daemon_pid_, &status, 0);
        } else {
            EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
                << "zeroflowd status " << status;
        }
        daemon_pid_ = -1;
    }
    for (const pid_t pid : seen_pids_) {
        const bool gone = eventually([&] { return !process_alive(pid); }, 10s);
        EXPECT_TRUE(gone) << "orphan node process " << pid;
        if (!gone) {
            ::kill(pid, SIGKILL);
        }
    }
    for (const auto& uuid : seen_uuids_) {
        EXPECT_FALSE(segment_held(uuid)) << "segment of " << uuid << " still mapped or held";
    }
    std::error_code ec;
    EXPECT_FALSE(fs::exists(socket_, ec)) << "socket left";
    reap_children();
    if (HasFailure()) {
        auto log = slurp(root_ / "daemon.log");
        if (log.size() > 6000) {
            log = log.substr(log.size() - 6000);
        }
        std::printf("---- tail of the daemon log ----\n%s\n", log.c_str());
    }
    fs::remove_all(root_, ec);
}

} // namespace zeroflow::fault_test
