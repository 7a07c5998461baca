// Samplers: what a server looks like from outside (/proc/PID) and from inside
// (its /metrics page, when it has one), and the settle policy between rounds.
#ifndef LEAKLAB_SAMPLE_SAMPLER_HPP
#define LEAKLAB_SAMPLE_SAMPLER_HPP

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace leaklab::sample {

// One sample: metric name -> value. /proc gives rss_bytes, hwm_bytes, threads, fds;
// /metrics gives whatever the server exports (sessions_live, asio_ops_pending, ...).
using sample = std::map<std::string, double>;

// Reads /proc/PID; throws std::runtime_error if the process is gone.
sample read_proc(pid_t pid);

// The process and its descendants (/proc/PID/task/*/children), the root first.
std::vector<pid_t> process_tree(pid_t root);

// /proc of every process of a tree, summed: rss_bytes, hwm_bytes, threads, fds, and processes.
// Throws std::runtime_error if the root is gone; a descendant that exits meanwhile is skipped.
sample read_tree(const std::vector<pid_t>& pids);

class heap_agent;

// GET http://127.0.0.1:port/path with a timeout; returns the body of a 200 reply.
// Throws std::runtime_error with a clear message otherwise.
std::string http_get(std::uint16_t port, const std::string& path, std::chrono::milliseconds timeout);

// POST http://127.0.0.1:port/path without a body (an admin call); the same as http_get otherwise.
std::string http_post(std::uint16_t port, const std::string& path, std::chrono::milliseconds timeout);

// Parses Prometheus text format (the gauges and counters: "name value" lines;
// labelled series are kept with their labels as part of the name).
sample parse_prometheus(const std::string& text);

// The units a metrics page declares with OpenMetrics "# UNIT <name> <unit>" lines.
std::map<std::string, std::string> parse_prometheus_units(const std::string& text);

class sampler
{
public:
    sampler(pid_t pid, std::optional<std::uint16_t> metrics_port, std::string metrics_path = "/metrics");

    // Measure the whole process tree the command started (and report `processes`), not only its first process.
    void measure_tree(bool on) { tree_ = on; }

    // Heap from the preload agent, for a server whose metrics page does not give heap_bytes.
    // The agent's own threads are taken out of `threads`.
    void use_agent(heap_agent* agent) { agent_ = agent; }

    // Processes of the tree the agent answered for in the last sample (0: it is not loaded).
    std::size_t agent_processes() const { return agent_processes_; }

    // /proc, plus /metrics when the server has it.
    sample take();

    struct settle_policy
    {
        std::chrono::milliseconds min_wait{0};    // wait at least this long first
        std::chrono::milliseconds max_wait{3000};  // give up waiting after this long
        std::chrono::milliseconds quiet{50};       // counts unchanged this long = settled
        std::function<bool(const std::string&)> compared; // the metrics that must stop moving (none if unset)
    };
    struct settled
    {
        sample value;
        bool stable = false;             // false: the cap was reached while counts still moved
        std::chrono::milliseconds waited{0};
    };
    // After load stops: polls with bounded, doubling back-off (1 ms .. 100 ms) until
    // the task counts have not moved for `quiet`, like goleak; gives up at max_wait.
    settled settle(const settle_policy& policy);

    bool has_metrics() const { return metrics_port_.has_value(); }

    // Units the server's metrics page has declared so far ("# UNIT" lines).
    const std::map<std::string, std::string>& units() const { return units_; }

private:
    pid_t pid_;
    std::optional<std::uint16_t> metrics_port_;
    std::string metrics_path_;
    std::map<std::string, std::string> units_;
    bool tree_ = false;
    heap_agent* agent_ = nullptr;
    std::size_t agent_processes_ = 0;
};

} // namespace leaklab::sample

#endif
