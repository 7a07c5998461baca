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

// An HTTP request a step sends to change something in the server: a ws-listen step's trigger
// (each listener must be told after it), a ws-quiet step's setup and trigger (open connections
// must apply the change).
struct trigger_spec
{
    std::string method = "POST";
    std::string path = "/";           // "{c}" becomes the listener's number, as in the listener's own path
    std::string body;
    unsigned expect_status = 200;     // the status the trigger's reply must have
    // "endpoint": "metrics": sent to the server's labkit metrics endpoint (its live settings,
    // PUT /settings/<name>) instead of the port it serves on.
    bool to_metrics = false;
};

// Templates in paths, bodies and messages: "{n}" a per-run request counter, "{i}" the message
// number within a connection, "{k}" the counter modulo a step's `keys` (requests that repeat
// keys), "{r}" the round, "{c}" a listener's number (ws-listen).
struct template_vars
{
    std::uint64_t n = 0, i = 0, k = 0, r = 0, c = 0;
};

struct step_spec
{
    std::string kind;                 // see kinds(): ws-churn, http-keepalive, stall, half-open, ...
    std::string path = "/";           // request target, a template (template_vars)
    std::size_t connections = 100;    // connections per round
    std::size_t requests = 1;         // http-keepalive, idle-keepalive: requests per connection
    std::size_t concurrency = 16;     // clients at once
    std::size_t messages = 1;         // ws-*, half-open: messages echoed per connection
    std::string message = R"({"device":"d-{n}","temp_c":21.5,"seq":{i}})";  // ws-*, half-open: message template
    std::string method = "GET";       // http-*
    std::string body;                 // http-*: request body template ("{n}", "{pad}")
    std::size_t body_bytes = 0;       // http-*: "{pad}" grows so the body is this long (0 = no padding)
    std::size_t body_repeat = 1;      // http-*: the expanded body sent this many times over, as one body (a big batch)
    // The contract of every reply: a reply that breaks it is a breach (the server answered,
    // wrongly), never a failure under an allowance.
    unsigned expect_status = 200;     // http-*: the status every reply must have
    std::string expect_body;          // http-*: text every reply body must contain ("" = anything), a template; ws-listen: every message
    std::string reject_body;          // http-*: text no reply body may contain (a rejected request that left a trace)
    std::string expect_header;        // http-*: "Name: text": the reply has that header and its value contains text
    bool expect_gzip = false;         // http-*: the body is gzip (Content-Encoding: gzip) and inflates; expect_body applies to the text
    std::size_t keys = 0;             // "{k}" = the request counter modulo keys; 0: "{k}" is the counter itself
    bool with_next = false;           // run at the same time as the next step; the round waits for both
    // A limit of the contract: in any round, at most this fraction of the step's operations may
    // fail (time out, be reset, get a 503). Going past it is a LEAK verdict, and the run goes on.
    std::optional<double> max_failure_rate;
    // The replies' contract is a limit: a reply that breaks it is past a limit (LEAK, the run
    // goes on), not BROKEN. Lab 16: a summary served from the cache after its age is an
    // entry kept past how long it may be kept, as its leaky variant keeps every entry.
    bool limit = false;
    double op_timeout_s = 10;         // one operation's deadline
    double settle_min_ms = 0;         // wait at least this long before sampling after this step
    std::size_t from_round = 0;       // run only from this round on (0 = every round)
    std::size_t until_round = 0;      // run only up to this round (0 = every round)
    double quiet_ms = 0;              // ws-quiet: how long the client stays silent before each message
    double pause_ms = 0;              // http-keepalive: how long the client waits between requests on its connection; http-unread: before the second client asks
    bool expect_cached = false;       // http-*: a repeated target's body is the last one seen for it (served from a cache)
    std::size_t message_bytes = 0;    // ws-*: "{pad}" in the message grows so the message is this long
    unsigned expect_close_code = 0;   // ws-churn, ws-quiet: the last message must be refused: the server closes with this code
    std::string fault;                // backend-fault: pass, latency, stall, reset
    double latency_ms = 0;            // backend-fault latency: the delay per chunk
    // ws-listen: `connections` WebSockets opened in the step's first round and held, listening,
    // until the run ends; what the server sends on its own is checked at the step's place in
    // every round and once more after the last round.
    double ping_every_ms = 0;         // the server pings each listener at least this often (no ping for twice this: a breach)
    double push_every_ms = 0;         // each text of expect_each arrives on each listener at least this often (likewise)
    std::vector<std::string> expect_each;
    std::optional<trigger_spec> trigger;  // sent for each listener every round: the listener must get a message after it
    double within_ms = 2000;          // ... within this long
    double read_pause_ms = 0;         // ws-listen: each listener reads nothing for this long after it opens (a slow client)
    std::size_t receive_buffer = 0;   // ws-listen, http-unread: the client's SO_RCVBUF in bytes (0: the kernel's)
    // ws-listen: every message is a JSON object whose integer `sequence_field` rises by exactly
    // 1 from one message to the next with the same `sequence_per` value: nothing dropped or repeated.
    std::string sequence_field, sequence_per;
    // ws-quiet: `setup` is sent before the step's connections open (then the step waits
    // quiet_ms, so the server has applied it); `trigger` is sent once, when all of them are
    // open and before their quiet time: what it changes, those open connections must apply.
    std::optional<trigger_spec> setup;
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
    bool listens = false;        // ws-listen: held across rounds, checked by engine::listen
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
    std::size_t failed = 0;       // of which failed (an error or a timeout: no answer)
    std::string first_error;      // what the first failure was
    std::size_t breaches = 0;     // of which the server answered, but broke the step's contract
    std::string breach_clause;    // the first breach: which promise ("reply status", "pings", ...)
    std::string first_breach;     // ... and what was seen
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

    step_result run(const step_spec& step, std::uint16_t port, std::chrono::milliseconds time_bound,
                    std::size_t round = 1);

    // Steps that run at the same time (a step with with_next and the ones after it); one result each.
    std::vector<step_result> run_together(const std::vector<const step_spec*>& steps, std::uint16_t port,
                                          std::chrono::milliseconds time_bound, std::size_t round = 1);

    // ws-listen: opens the step's listeners the first time, then sends its triggers and checks
    // what every listener received so far. `last`: after the last round, waiting for the
    // triggers still within their time. Listeners are held until the engine is destroyed.
    step_result listen(const step_spec& step, std::uint16_t port, std::size_t round, bool last = false);

    // Where requests with to_metrics go: the server's labkit metrics endpoint (0: none).
    void metrics_port(std::uint16_t port);

    // Listeners open now (every ws-listen step).
    std::size_t listeners() const;

    std::size_t held_connections() const;

    // Looks (without blocking) at every held connection for the server's close.
    held_state check_held();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// "{n}" -> n, "{i}" -> i in a template.
std::string expand(const std::string& tmpl, std::uint64_t n, std::uint64_t i = 0);
// Every template variable.
std::string expand(const std::string& tmpl, const template_vars& v);

// The request body: the template expanded, "{pad}" filled with 'x' up to `bytes` in all.
std::string make_body(const std::string& tmpl, std::uint64_t n, std::size_t bytes);
std::string make_body(const std::string& tmpl, const template_vars& v, std::size_t bytes);

// Inflates a gzip stream; nothing when it is not a whole, valid gzip stream.
std::optional<std::string> gunzip(const std::string& data);

// What a server sent, cut to n characters for a message about it.
inline std::string clip(std::string s, std::size_t n = 80)
{
    if(s.size() > n)
        s = s.substr(0, n) + "...";
    return s;
}

} // namespace leaklab::workload

#endif
