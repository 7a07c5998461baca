// The sandbox a submission runs in when leaklab grades it: a network namespace with only
// loopback (it reaches nothing else), a PID namespace (when its first process dies,
// everything it started dies too), resource limits, and a pids cgroup where the kernel
// gives one, so a fork bomb meets a ceiling. Whatever the machine does not allow is said.
#ifndef LEAKLAB_PROCESS_SANDBOX_HPP
#define LEAKLAB_PROCESS_SANDBOX_HPP

#include "leaklab/process/child.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace leaklab::process {

struct sandbox_limits
{
    std::uint64_t address_space = 2ull << 30;  // bytes per process (RLIMIT_AS)
    std::uint64_t processes = 512;             // processes and threads (pids cgroup, RLIMIT_NPROC)
    std::uint64_t open_files = 65536;          // RLIMIT_NOFILE
    std::uint64_t file_size = 64ull << 20;     // bytes per file written, logs included (RLIMIT_FSIZE)
    std::uint64_t cpu_seconds = 900;           // per process (RLIMIT_CPU)
};

// What this machine lets the sandbox do.
struct sandbox_support
{
    bool namespaces = false;        // unshare: user, network, PID and mount namespaces
    std::string namespaces_why;     // why not
    std::filesystem::path pids_root;  // a writable pids cgroup hierarchy ("" none)
    bool nproc_enforced = false;    // RLIMIT_NPROC binds (it does not for root)
};

// Tries each mechanism once.
sandbox_support probe_sandbox();

// One line each: what the sandbox will and will not do here.
std::vector<std::string> describe(const sandbox_support& s, const sandbox_limits& l);

// A pids cgroup of its own for one check; removed (its processes killed first) when destroyed.
class pids_cgroup
{
public:
    // Nothing when the hierarchy does not let us create one.
    static std::optional<pids_cgroup> create(const std::filesystem::path& root, const std::string& name,
                                             std::uint64_t max);
    pids_cgroup(pids_cgroup&&) noexcept;
    pids_cgroup& operator=(pids_cgroup&&) = delete;
    ~pids_cgroup();
    std::filesystem::path procs() const { return dir_ / "cgroup.procs"; }
    // How many times a fork or clone was refused at the ceiling.
    std::uint64_t refused() const;
    // SIGKILL to every process still in it.
    void kill_all() const;

private:
    pids_cgroup() = default;
    std::filesystem::path dir_;
};

// How a sandboxed command ended.
struct sandbox_result
{
    std::optional<exit_status> status;  // nullopt: it did not finish in time and was killed
    double seconds = 0;
    std::uint64_t forks_refused = 0;    // the pids cgroup's ceiling was hit this many times
};

// Runs argv in the sandbox (namespaces when supported; the limits always; the cgroup when
// there is one), stdout and stderr to log_dir, killed with all it started after `timeout`.
sandbox_result run_sandboxed(const std::vector<std::string>& argv, const sandbox_support& s,
                             const sandbox_limits& l, const std::filesystem::path& log_dir,
                             std::chrono::seconds timeout, const std::string& name);

} // namespace leaklab::process

#endif
