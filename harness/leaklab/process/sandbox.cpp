#include "leaklab/process/sandbox.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

namespace leaklab::process {

using namespace std::chrono;

namespace {

// The command's prefix for the namespaces: loopback brought up, then the command itself.
std::vector<std::string> namespace_prefix()
{
    return {"unshare", "--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child", "--mount-proc",
            "sh", "-c", "ip link set lo up && exec \"$@\"", "leaklab-sandbox"};
}

// A whole file read as a stream: process::read_text sizes its buffer by file_size, which
// cgroup files (pids.events, cgroup.procs) give as 0.
std::string read_all(const std::filesystem::path& p)
{
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

sandbox_support probe_sandbox()
{
    sandbox_support s;
    const auto probe_dir = std::filesystem::temp_directory_path() / ("leaklab-sandbox-probe-" + std::to_string(::getpid()));
    auto cmd = namespace_prefix();
    cmd.insert(cmd.end(), {"sh", "-c", "ip -o link show up | grep -q ' lo:' && test $$ -eq 1"});
    const int rc = run_command(cmd, probe_dir / "probe.log", seconds(20));
    s.namespaces = rc == 0;
    if(!s.namespaces)
    {
        auto text = read_all(probe_dir / "probe.log");
        if(auto nl = text.find('\n'); nl != std::string::npos)
            text.resize(nl);
        s.namespaces_why = "unshare failed (" + (rc < 0 ? std::string("timed out") : "exit " + std::to_string(rc)) +
                           (text.empty() ? "" : ": " + text) + ")";
    }
    std::error_code ec;
    std::filesystem::remove_all(probe_dir, ec);
    for(const char* root : {"/sys/fs/cgroup/pids", "/sys/fs/cgroup"})
    {
        const std::filesystem::path r(root);
        if(!std::filesystem::exists(r / "cgroup.procs", ec))
            continue;
        if(auto g = pids_cgroup::create(r, "probe-" + std::to_string(::getpid()), 8))
        {
            s.pids_root = r;
            break;
        }
    }
    s.nproc_enforced = ::geteuid() != 0;
    return s;
}

std::vector<std::string> describe(const sandbox_support& s, const sandbox_limits& l)
{
    std::vector<std::string> out;
    out.push_back(s.namespaces ? "network namespace with loopback only, PID namespace: yes"
                               : "no network or PID namespace: " + s.namespaces_why +
                                     " (submissions reach the host's network; leftovers are killed by process group)");
    out.push_back(!s.pids_root.empty() ? "processes: at most " + std::to_string(l.processes) + " (pids cgroup under " +
                                             s.pids_root.string() + ")"
                  : s.nproc_enforced   ? "processes: at most " + std::to_string(l.processes) + " (RLIMIT_NPROC, per user)"
                                       : "processes: no ceiling (no writable pids cgroup, and RLIMIT_NPROC does not bind "
                                         "root); a fork bomb is stopped only by the check's time limit");
    out.push_back("per process: " + std::to_string(l.address_space >> 20) + " MiB of address space, " +
                  std::to_string(l.file_size >> 20) + " MiB per file written, " + std::to_string(l.open_files) +
                  " open files, " + std::to_string(l.cpu_seconds) + " s of CPU");
    return out;
}

std::optional<pids_cgroup> pids_cgroup::create(const std::filesystem::path& root, const std::string& name,
                                               std::uint64_t max)
{
    pids_cgroup g;
    g.dir_ = root / ("leaklab-" + name);
    std::error_code ec;
    if(!std::filesystem::create_directory(g.dir_, ec) && !std::filesystem::is_directory(g.dir_, ec))
        return std::nullopt;
    std::ofstream(g.dir_ / "pids.max") << max << '\n';
    if(read_all(g.dir_ / "pids.max").rfind(std::to_string(max), 0) != 0)
    {
        std::filesystem::remove(g.dir_, ec);
        return std::nullopt;
    }
    return g;
}

pids_cgroup::pids_cgroup(pids_cgroup&& o) noexcept : dir_(std::move(o.dir_))
{
    o.dir_.clear();
}

pids_cgroup::~pids_cgroup()
{
    if(dir_.empty())
        return;
    // A cgroup can only be removed once empty: kill what is left, wait for it to go.
    for(int i = 0; i < 100; ++i)
    {
        kill_all();
        std::error_code ec;
        if(std::filesystem::remove(dir_, ec) || !std::filesystem::exists(dir_))
            return;
        std::this_thread::sleep_for(20ms);
    }
}

std::uint64_t pids_cgroup::refused() const
{
    std::istringstream in(read_all(dir_ / "pids.events"));
    std::string key;
    std::uint64_t n = 0;
    while(in >> key >> n)
        if(key == "max")
            return n;
    return 0;
}

void pids_cgroup::kill_all() const
{
    std::istringstream in(read_all(procs()));
    for(pid_t pid; in >> pid;)
        ::kill(pid, SIGKILL);
}

sandbox_result run_sandboxed(const std::vector<std::string>& argv, const sandbox_support& s, const sandbox_limits& l,
                             const std::filesystem::path& log_dir, seconds timeout, const std::string& name)
{
    spawn_options so;
    so.argv = s.namespaces ? namespace_prefix() : std::vector<std::string>{};
    so.argv.insert(so.argv.end(), argv.begin(), argv.end());
    so.log_dir = log_dir;
    so.limits = {{RLIMIT_AS, l.address_space},   {RLIMIT_NOFILE, l.open_files}, {RLIMIT_FSIZE, l.file_size},
                 {RLIMIT_CPU, l.cpu_seconds},    {RLIMIT_CORE, 0}};
    if(s.nproc_enforced)
        so.limits.push_back({RLIMIT_NPROC, l.processes});
    // A cgroup name of letters, digits and dashes, unique to this leaklab.
    std::string safe;
    for(char ch : name)
        safe += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '-';
    std::optional<pids_cgroup> group = s.pids_root.empty()
                                           ? std::nullopt
                                           : pids_cgroup::create(s.pids_root, safe + "-" + std::to_string(::getpid()),
                                                                 l.processes);
    if(group)
        so.cgroup_procs = group->procs();

    sandbox_result r;
    const auto started = steady_clock::now();
    {
        auto c = child::spawn(so);
        const auto until = started + timeout;
        while(!(r.status = c.poll()) && steady_clock::now() < until)
            std::this_thread::sleep_for(50ms);
        if(!r.status)
            c.stop(1000ms);  // killed: its process group, and with the namespace's first process, all it started
    }
    r.seconds = duration<double>(steady_clock::now() - started).count();
    if(group)
    {
        r.forks_refused = group->refused();
        group->kill_all();
    }
    return r;
}

} // namespace leaklab::process
