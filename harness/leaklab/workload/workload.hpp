// Workloads: leaklab's own clients (Asio/Beast), bounded in count and time, every
// reply checked. A step is one kind of client run for a number of operations at a
// given concurrency; a round is the manifest's list of steps.
#ifndef LEAKLAB_WORKLOAD_WORKLOAD_HPP
#define LEAKLAB_WORKLOAD_WORKLOAD_HPP

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <vector>

namespace leaklab::workload {

struct step_spec
{
    std::string kind;                 // see kinds(): ws-churn, http-keepalive, stall, half-open, ...
    std::string path = "/";           // request target; "{n}" becomes a per-request counter
    std::size_t connections = 100;    // connections per round
    std::size_t requests = 1;         // http-keepalive, idle-keepalive: requests per connection
    std::size_t concurrency = 16;     // clients at once
    std::size_t messages = 1;         // ws-*, half-open: messages echoed per connection
    std::string message = R"({"device":"d-{n}","temp_c":21.5,"seq":{i}})";  // ws-*, half-open: message template
    std::string method = "GET";       // http-*
    std::string body;                 // http-*: request body template ("{n}", "{pad}")
    std::size_t body_bytes = 0;       // http-*: "{pad}" grows so the body is this long (0 = no padding)
    unsigned expect_status = 200;     // http-*: the status every reply must have
    std::string expect_body;          // http-*: text every reply body must contain ("" = anything)
    double op_timeout_s = 10;         // one operation's deadline
    double settle_min_ms = 0;         // wait at least this long before sampling after this step
    std::size_t from_round = 0;       // run only from this round on (0 = every round)
    std::size_t until_round = 0;      // run only up to this round (0 = every round)
    double quiet_ms = 0;              // ws-quiet: how long the client stays silent before its first message
    std::string fault;                // backend-fault: pass, latency, stall, reset
    double latency_ms = 0;            // backend-fault latency: the delay per chunk
};

// One kind of client, in one place: its name, what it does, whether it leaves connections
// hanging, and what a step of it must and must not set. How it runs is the engine's entry
// for the same name (engine.cpp); a new kind is one entry there.
struct kind_spec
{
    std::string name;
    std::string what;            // one line, for `leaklab workloads` and errors
    bool holds = false;          // leaves its connections open until the run ends (probe's patience applies)
    bool engine_runs = true;     // false: the runner acts on the step itself (backend-fault)
    // What is wrong with a step of this kind, as {field, message}; `has` says whether the
    // manifest set a field. Nothing when the step is fine.
    std::function<std::optional<std::pair<std::string, std::string>>(const step_spec&,
                                                                     const std::function<bool(const std::string&)>& has)>
        validate;
};

// Every kind this build knows, in the order `leaklab workloads` lists them.
const std::vector<kind_spec>& registry();

// The kind of that name, or nullptr.
const kind_spec* find_kind(const std::string& name);

// The kinds with one line each, for `leaklab workloads` and errors.
const std::vector<std::pair<std::string, std::string>>& kinds();

struct step_result
{
    std::size_t ops = 0;          // operations attempted (connections, or requests for keep-alive)
    std::size_t failed = 0;       // of which failed (error, timeout, or a wrong reply)
    std::string first_error;      // what the first failure was
    double seconds = 0;
    bool timed_out = false;       // the step's time bound cut it short
};

// The connections left hanging so far, and how many of them the server has let go of.
struct held_state
{
    std::size_t held = 0;
    std::size_t released = 0;        // the server closed its end
    double median_release_s = 0;     // seconds from going silent to the server's close, of those released
    double max_release_s = 0;
};

// Runs steps against 127.0.0.1:port. Connections left by `stall`, `idle-keepalive`
// and `half-open` steps stay open
// until the engine is destroyed (the end of the run).
class engine
{
public:
    engine();
    ~engine();
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    step_result run(const step_spec& step, std::uint16_t port, std::chrono::milliseconds time_bound);

    std::size_t held_connections() const;

    // Looks (without blocking) at every held connection for the server's close.
    held_state check_held();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// "{n}" -> n, "{i}" -> i in a template.
std::string expand(const std::string& tmpl, std::uint64_t n, std::uint64_t i = 0);

// The request body: the template expanded, "{pad}" filled with 'x' up to `bytes` in all.
std::string make_body(const std::string& tmpl, std::uint64_t n, std::size_t bytes);

} // namespace leaklab::workload

#endif
