#include "leaklab/process/child.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace leaklab::process {

using namespace std::chrono;

namespace {

// Process groups alive now, for the interrupt handler (async-signal-safe slots).
std::array<std::atomic<pid_t>, 64> live_groups{};

void remember(pid_t pgid)
{
    for(auto& slot : live_groups)
    {
        pid_t expected = 0;
        if(slot.compare_exchange_strong(expected, pgid))
            return;
    }
}

void forget(pid_t pgid)
{
    for(auto& slot : live_groups)
    {
        pid_t expected = pgid;
        slot.compare_exchange_strong(expected, 0);
    }
}

// Set by the first SIGINT/SIGTERM/SIGHUP when the caller keeps running after one (watch).
std::atomic<bool> keep_running_after_interrupt{false};
std::atomic<int> interrupt_signal{0};

extern "C" void on_interrupt(int sig)
{
    // The first interrupt of a long-running command only asks it to stop: its children get
    // SIGTERM (ninja then stops the compilers it runs in process groups of their own, and
    // whoever waits for a child kills it if it lingers). Otherwise, or the second time, SIGKILL.
    const bool gently = keep_running_after_interrupt.load() && interrupt_signal.exchange(sig) == 0;
    for(auto& slot : live_groups)
        if(pid_t g = slot.load(); g > 0)
            ::kill(-g, gently ? SIGTERM : SIGKILL);
    if(gently)
        return;
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

std::string signal_name(int sig)
{
    const char* s = ::strsignal(sig);
    return "signal " + std::to_string(sig) + (s ? std::string(" (") + s + ")" : "");
}

} // namespace

std::string exit_status::describe() const
{
    if(exited)
        return "exited with code " + std::to_string(code);
    return "killed by " + signal_name(code);
}

void install_interrupt_handler(bool keep_running)
{
    keep_running_after_interrupt = keep_running;
    struct sigaction sa{};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGHUP, &sa, nullptr);
}

int interrupted()
{
    return interrupt_signal.load();
}

child child::spawn(const spawn_options& opt)
{
    if(opt.argv.empty())
        throw std::runtime_error("no command to run");
    std::filesystem::create_directories(opt.log_dir);
    auto out_path = opt.log_dir / "stdout.log";
    auto err_path = opt.log_dir / "stderr.log";

    // Everything the child needs is prepared before fork: after it, only syscalls.
    std::vector<char*> args;
    for(auto& a : opt.argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    int cgroup_fd = opt.cgroup_procs.empty() ? -1 : ::open(opt.cgroup_procs.c_str(), O_WRONLY | O_CLOEXEC);
    if(!opt.cgroup_procs.empty() && cgroup_fd < 0)
        throw std::runtime_error("cannot join the cgroup " + opt.cgroup_procs.string() + ": " + std::strerror(errno));
    int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int report[2];
    if(out_fd < 0 || err_fd < 0 || ::pipe2(report, O_CLOEXEC) != 0)
        throw std::runtime_error("cannot create the server's log files in " + opt.log_dir.string() + ": " +
                                 std::strerror(errno));

    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if(pid < 0)
        throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
    if(pid == 0)
    {
        // Child: own process group, dies with leaklab, logs to files, limits, exec.
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if(::getppid() != parent)
            ::_exit(127);
        ::dup2(out_fd, STDOUT_FILENO);
        ::dup2(err_fd, STDERR_FILENO);
        int devnull = ::open("/dev/null", O_RDONLY);
        if(devnull >= 0)
            ::dup2(devnull, STDIN_FILENO);
        ::signal(SIGINT, SIG_DFL);
        ::signal(SIGTERM, SIG_DFL);
        ::signal(SIGPIPE, SIG_DFL);
        ::signal(SIGXFSZ, opt.ignore_sigxfsz ? SIG_IGN : SIG_DFL);
        if(opt.nofile)
        {
            rlimit rl{static_cast<rlim_t>(*opt.nofile), static_cast<rlim_t>(*opt.nofile)};
            ::setrlimit(RLIMIT_NOFILE, &rl);
        }
        for(auto& [resource, value] : opt.limits)
        {
            rlimit rl{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
            ::setrlimit(resource, &rl);
        }
        if(cgroup_fd >= 0 && ::write(cgroup_fd, "0", 1) != 1)
            ::_exit(127);
        for(auto& e : opt.env)
            ::putenv(const_cast<char*>(e.c_str()));
        ::execvp(args[0], args.data());
        int err = errno;
        (void)!::write(report[1], &err, sizeof err);
        ::_exit(127);
    }

    ::setpgid(pid, pid);
    if(cgroup_fd >= 0)
        ::close(cgroup_fd);
    ::close(out_fd);
    ::close(err_fd);
    ::close(report[1]);
    int err = 0;
    ssize_t n = ::read(report[0], &err, sizeof err);
    ::close(report[0]);

    child c;
    c.pid_ = pid;
    c.log_dir_ = opt.log_dir;
    if(n == static_cast<ssize_t>(sizeof err))
    {
        int status = 0;
        ::waitpid(pid, &status, 0);
        throw std::runtime_error("cannot run " + opt.argv[0] + ": " + std::strerror(err));
    }
    remember(pid);
    return c;
}

child::child(child&& other) noexcept
    : pid_(other.pid_), status_(other.status_), log_dir_(std::move(other.log_dir_))
{
    other.pid_ = -1;
}

child::~child()
{
    if(pid_ > 0 && !status_)
    {
        kill_group(SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    if(pid_ > 0)
        forget(pid_);
}

void child::kill_group(int sig) const
{
    if(pid_ > 0)
        ::kill(-pid_, sig);
}

std::optional<exit_status> child::poll()
{
    if(status_)
        return status_;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if(r != pid_)
        return std::nullopt;
    exit_status s;
    s.exited = WIFEXITED(status);
    s.code = s.exited ? WEXITSTATUS(status) : WTERMSIG(status);
    status_ = s;
    // Anything the server left behind in its group goes with it.
    kill_group(SIGKILL);
    return status_;
}

exit_status child::stop(milliseconds grace, const std::function<bool()>& program_ended, milliseconds tool_grace)
{
    if(auto s = poll())
        return *s;
    kill_group(SIGTERM);
    auto wait = [&](steady_clock::time_point until) -> std::optional<exit_status> {
        while(steady_clock::now() < until)
        {
            if(auto s = poll())
                return s;
            std::this_thread::sleep_for(5ms);
        }
        return std::nullopt;
    };
    if(auto s = wait(steady_clock::now() + grace))
        return *s;
    // The program ended in time; the tool it runs under is still writing its report.
    if(program_ended && tool_grace.count() > 0 && program_ended())
        if(auto s = wait(steady_clock::now() + tool_grace))
            return *s;
    kill_group(SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exit_status s;
    s.exited = WIFEXITED(status);
    s.code = s.exited ? WEXITSTATUS(status) : WTERMSIG(status);
    s.forced = true;
    status_ = s;
    return s;
}

ready_info child::wait_ready(milliseconds timeout, std::optional<std::uint16_t> probe_port)
{
    ready_info info;
    auto until = steady_clock::now() + timeout;
    auto out_path = log_dir_ / "stdout.log";
    std::string seen;
    std::size_t offset = 0;
    auto next_probe = steady_clock::now();
    for(;;)
    {
        // Read what the server printed so far, a line at a time.
        std::ifstream in(out_path);
        in.seekg(static_cast<std::streamoff>(offset));
        std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        offset += chunk.size();
        seen += chunk;
        std::size_t nl;
        while((nl = seen.find('\n')) != std::string::npos)
        {
            std::istringstream line(seen.substr(0, nl));
            seen.erase(0, nl + 1);
            std::string word;
            unsigned port = 0;
            line >> word >> port;
            if(word == "METRICS" && port > 0 && port < 65536)
                info.metrics_port = static_cast<std::uint16_t>(port);
            if(word == "LISTENING" && port > 0 && port < 65536)
            {
                info.port = static_cast<std::uint16_t>(port);
                info.saw_listening_line = true;
                return info;
            }
        }
        if(auto s = poll())
            throw std::runtime_error("the server " + s->describe() + " before it was ready");
        if(probe_port && steady_clock::now() >= next_probe)
        {
            if(port_accepts(*probe_port, 100ms))
            {
                info.port = *probe_port;
                return info;
            }
            next_probe = steady_clock::now() + 50ms;
        }
        if(steady_clock::now() >= until)
            throw std::runtime_error(
                "the server was not ready within " + std::to_string(duration_cast<milliseconds>(timeout).count()) +
                " ms: it printed no \"LISTENING <port>\" line" +
                (probe_port ? " and port " + std::to_string(*probe_port) + " accepted no connection" : std::string()));
        std::this_thread::sleep_for(5ms);
    }
}

std::string child::stderr_tail(std::size_t max_lines) const
{
    std::ifstream in(log_dir_ / "stderr.log");
    std::deque<std::string> lines;
    std::string line;
    while(std::getline(in, line))
    {
        if(line.size() > 400)
            line = line.substr(0, 400) + " ...";
        lines.push_back(line);
        if(lines.size() > max_lines)
            lines.pop_front();
    }
    std::string out;
    for(auto& l : lines)
        out += l + '\n';
    return out;
}

void fill_disk(pid_t pid, bool full)
{
    rlimit rl{};
    if(::prlimit(pid, RLIMIT_FSIZE, nullptr, &rl) != 0)
        throw std::runtime_error("cannot read the server's file size limit: " + std::string(std::strerror(errno)));
    rl.rlim_cur = full ? std::min<rlim_t>(1, rl.rlim_max) : rl.rlim_max;
    if(::prlimit(pid, RLIMIT_FSIZE, &rl, nullptr) != 0)
        throw std::runtime_error("cannot change the server's file size limit: " + std::string(std::strerror(errno)));
}

std::uint16_t free_port()
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if(fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
       ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    {
        if(fd >= 0)
            ::close(fd);
        throw std::runtime_error(std::string("cannot find a free port: ") + std::strerror(errno));
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool port_accepts(std::uint16_t port, milliseconds timeout)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if(fd < 0)
        return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    bool ok = false;
    if(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
        ok = true;
    else if(errno == EINPROGRESS)
    {
        pollfd p{fd, POLLOUT, 0};
        if(::poll(&p, 1, static_cast<int>(timeout.count())) == 1)
        {
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            ok = err == 0;
        }
    }
    ::close(fd);
    return ok;
}

} // namespace leaklab::process

namespace leaklab::process {

int run_command(const std::vector<std::string>& argv, const std::filesystem::path& log_file, seconds timeout)
{
    spawn_options so;
    so.argv = argv;
    so.log_dir = log_file.parent_path() / (log_file.filename().string() + ".d");
    auto c = child::spawn(so);
    auto until = steady_clock::now() + timeout;
    std::optional<exit_status> st;
    while(!(st = c.poll()) && steady_clock::now() < until)
        std::this_thread::sleep_for(20ms);
    if(!st)
        st = c.stop(2000ms);
    // Both streams of the command, in one log.
    // (An empty stream copied with << sets failbit on the log, and loses what follows.)
    std::ofstream log(log_file);
    for(const char* name : {"stdout.log", "stderr.log"})
        if(std::ifstream in(so.log_dir / name); in.peek() != std::ifstream::traits_type::eof())
            log << in.rdbuf();
    std::error_code ec;
    std::filesystem::remove_all(so.log_dir, ec);
    return st->exited ? st->code : -1;
}

std::optional<std::string> capture_command(const std::vector<std::string>& argv, const std::filesystem::path& work_file,
                                           seconds timeout)
{
    const int code = run_command(argv, work_file, timeout);
    std::optional<std::string> out;
    if(code == 0)
        out = read_text(work_file);
    std::error_code ec;
    std::filesystem::remove(work_file, ec);
    return out;
}

std::string shell_quoted(const std::string& text)
{
    std::string out = "'";
    for(char ch : text)
        out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    return out + "'";
}

std::string read_text(const std::filesystem::path& file, std::size_t max_bytes)
{
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    std::ifstream in(file, std::ios::binary);
    if(ec || !in)
        return {};
    std::string s(std::min<std::uintmax_t>(size, max_bytes), '\0');
    in.read(s.data(), static_cast<std::streamsize>(s.size()));
    s.resize(static_cast<std::size_t>(in.gcount()));
    return s;
}

} // namespace leaklab::process
