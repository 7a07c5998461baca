// Process control: a server started in its own process group, watched, and stopped.
// leaklab only ever signals the process groups it created itself.
#ifndef LEAKLAB_PROCESS_CHILD_HPP
#define LEAKLAB_PROCESS_CHILD_HPP

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace leaklab::process {

struct spawn_options
{
    std::vector<std::string> argv;        // the whole command line, runner prefix included
    std::vector<std::string> env;         // extra "NAME=value" entries
    std::optional<std::uint64_t> nofile;  // RLIMIT_NOFILE for the child
    std::filesystem::path log_dir;        // where stdout.log and stderr.log go
    // Further limits for the child and all it starts (setrlimit resource, value; soft = hard).
    std::vector<std::pair<int, std::uint64_t>> limits;
    // A cgroup's cgroup.procs the child joins before it runs the command ("" none).
    std::filesystem::path cgroup_procs;
    // SIGXFSZ ignored: a write past RLIMIT_FSIZE fails with EFBIG instead of killing the
    // child, as on a full disk (a storage-fault step lowers the limit while it runs).
    bool ignore_sigxfsz = false;
};

struct exit_status
{
    bool exited = false;  // false: killed by a signal
    int code = 0;         // exit code, or the signal number
    bool forced = false;  // stop() had to send SIGKILL after the grace period
    std::string describe() const;
};

struct ready_info
{
    std::uint16_t port = 0;
    std::optional<std::uint16_t> metrics_port;
    bool saw_listening_line = false;
};

class child
{
public:
    // Starts the command; throws std::runtime_error if it cannot be executed.
    static child spawn(const spawn_options& opt);

    child(child&&) noexcept;
    child& operator=(child&&) = delete;
    ~child();  // kills the group if it is still running

    pid_t pid() const { return pid_; }

    // Waits until the server prints "LISTENING <port>", or, when probe_port is set,
    // until that port accepts connections, whichever comes first. Throws
    // std::runtime_error if the child exits first or the timeout passes.
    ready_info wait_ready(std::chrono::milliseconds timeout, std::optional<std::uint16_t> probe_port);

    // Reaps the child if it has exited; nothing if it is still running.
    std::optional<exit_status> poll();

    // SIGTERM to the group, up to `grace` for it to exit, then SIGKILL; reaps. When
    // `program_ended` says, at the end of the grace, that the program has ended and only the
    // tool it runs under is still at work (memcheck's leak check), the tool gets up to
    // `tool_grace` more before SIGKILL, and the stop is not forced.
    exit_status stop(std::chrono::milliseconds grace, const std::function<bool()>& program_ended = {},
                     std::chrono::milliseconds tool_grace = std::chrono::milliseconds(0));

    std::string stderr_tail(std::size_t max_lines) const;
    std::filesystem::path stderr_path() const { return log_dir_ / "stderr.log"; }

private:
    child() = default;
    void kill_group(int sig) const;

    pid_t pid_ = -1;
    std::optional<exit_status> status_;
    std::filesystem::path log_dir_;
};

// Installs SIGINT/SIGTERM handlers that kill every live child's group before leaklab exits.
// With keep_running, the first signal kills the children and is only recorded (see
// interrupted()), so a long-running command can stop cleanly; a second one exits.
void install_interrupt_handler(bool keep_running = false);

// The signal that interrupted leaklab (keep_running mode), or 0.
int interrupted();

// A free TCP port on 127.0.0.1, as the kernel hands one out now.
std::uint16_t free_port();

// A full disk, as the process sees it: its RLIMIT_FSIZE soft limit lowered to 1 byte (a
// write that grows a file fails; with SIGXFSZ ignored, with EFBIG), or raised back to its
// hard limit. Throws std::runtime_error if the limit cannot be changed.
void fill_disk(pid_t pid, bool full);

// True when 127.0.0.1:port accepts a connection within the timeout.
bool port_accepts(std::uint16_t port, std::chrono::milliseconds timeout);

} // namespace leaklab::process

namespace leaklab::process {

// Runs a command to completion (its own process group, output to log_file, bounded
// by timeout); returns its exit code, or -1 when it had to be killed.
int run_command(const std::vector<std::string>& argv, const std::filesystem::path& log_file,
                std::chrono::seconds timeout);

// Runs a command as run_command does and returns what it printed (stdout, then stderr),
// or nullopt when it failed or had to be killed; work_file holds the output meanwhile.
std::optional<std::string> capture_command(const std::vector<std::string>& argv,
                                           const std::filesystem::path& work_file, std::chrono::seconds timeout);

// A text quoted for `sh -c`: 'it'\''s'.
std::string shell_quoted(const std::string& text);

// A text file's first max_bytes (a runaway log is not read whole); "" when it cannot be read.
std::string read_text(const std::filesystem::path& file, std::size_t max_bytes = 32u << 20);

} // namespace leaklab::process

#endif
