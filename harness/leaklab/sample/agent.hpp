// The heap agent from the harness's side: the shared page it answers on, the environment
// that loads it into a server, and whether it can load into a given program at all.
#ifndef LEAKLAB_SAMPLE_AGENT_HPP
#define LEAKLAB_SAMPLE_AGENT_HPP

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace leaklab::agent {
struct page;
}

namespace leaklab::sample {

// The agent library this build made, if it made one.
std::optional<std::filesystem::path> agent_library();

// Why the agent cannot load into this program (static, setuid, another machine's
// binary, a sanitizer runtime that must come first), or nothing if it can try.
// `program` is argv[0]; a name without a slash is looked up in PATH.
std::optional<std::string> agent_unsuitable(const std::string& program);

class heap_agent
{
public:
    // Creates the shared page in `dir`; `library` is what LD_PRELOAD loads.
    heap_agent(const std::filesystem::path& dir, std::filesystem::path library);
    ~heap_agent();
    heap_agent(const heap_agent&) = delete;
    heap_agent& operator=(const heap_agent&) = delete;

    // The environment entries that load the agent (LD_PRELOAD keeps what was there).
    std::vector<std::string> environment() const;

    struct reading
    {
        double heap_bytes = 0;      // summed over the processes that answered
        std::size_t processes = 0;  // processes of `pids` the agent runs in
        std::size_t threads = 0;    // threads the agent itself runs in them
        std::size_t late = 0;       // processes that did not answer in time (their last value is used)
    };
    // Asks every process of `pids` that has the agent for its heap in use, waiting at most `timeout`.
    reading read(const std::vector<pid_t>& pids, std::chrono::milliseconds timeout);

private:
    std::filesystem::path file_;
    std::filesystem::path library_;
    agent::page* page_ = nullptr;
};

} // namespace leaklab::sample

#endif
