// One run: start a server, drive rounds of workload, sample after each settle,
// judge every metric, stop the server. Knows nothing about labs: a target and a plan.
#ifndef LEAKLAB_RUN_RUNNER_HPP
#define LEAKLAB_RUN_RUNNER_HPP

#include "leaklab/run/plan.hpp"
#include "leaklab/sample/sampler.hpp"
#include "leaklab/tools/sanitizer.hpp"
#include "leaklab/verdict/verdict.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace leaklab::run {

struct target
{
    std::vector<std::string> argv;         // "{port}" is replaced by the port chosen for the server
    bool labkit = false;                   // a labkit server: pass --port 0 --metrics-port 0, read METRICS
    std::optional<std::uint16_t> metrics_port;  // a black-box server's metrics endpoint, if any
    std::string metrics_path = "/metrics";
    std::vector<std::string> env;
    std::optional<std::uint64_t> nofile;
    std::chrono::milliseconds start_timeout{10000};
    std::filesystem::path log_dir;
    bool process_tree = false;             // measure the command's whole process tree (probe)
    bool heap_agent = false;               // preload the heap agent where it can load (probe)
    bool heap_profiles = false;            // ask the server (labkit) for a heap profile after each round from the warm-up on
    bool pending_dumps = false;            // ask the server (labkit) for its pending operations at the same moments
    std::filesystem::path heaptrack_record;  // heaptrack's record of the server (DUMP_HEAPTRACK_OUTPUT): cut at the same moments
    bool live_leak_check = false;          // ask the server (labkit, asan build) for LeakSanitizer's check after the last round
    // Under memcheck: once the program has ended within its stop deadline, how long memcheck may
    // take to check for leaks and write its report before it is killed (0: not under memcheck).
    std::chrono::milliseconds memcheck_exit{0};
};

// A heap profile the server wrote on the admin call (labkit/heap_profile.hpp), or a dump of
// its pending operations (labkit/pending.hpp) saved in the run's log folder.
struct heap_profile
{
    std::string name;                      // "round-NN": written after round NN (the first after the warm-up)
    std::filesystem::path file;            // as the server answered (heaptrack: its record, see length)
    std::size_t cumulative_ops = 0;        // operations run before it was written
    std::uintmax_t length = 0;             // heaptrack: the record's length at that moment (a cut)
};

struct round_record
{
    std::size_t round = 0;      // 0 = baseline, before any load
    std::size_t ops = 0;        // operations in this round
    std::size_t failed = 0;
    std::size_t breaches = 0;   // replies (or listeners, or bounds) that broke the contract
    std::size_t cumulative_ops = 0;
    double seconds = 0;         // time spent in workload
    bool timed_out = false;
    bool settled = true;
    double settle_ms = 0;
    std::string first_error;
    sample::sample values;
};

struct metric_result
{
    std::string name;
    std::string unit;           // "bytes", "rate" (failed_ops: a fraction of a round's operations) or ""
    std::string kind;           // the catalog's kind: count, bytes, rss, high-water, failures
    double baseline = 0;
    double final_value = 0;
    double slope_per_op = 0;
    double late_slope_per_op = 0;
    double p_value = 1;
    double threshold = 0;
    double alpha = 0.001;       // the significance the trend test must reach
    bool flagged = false;
    bool judged = true;         // false: reported only (see reason)
    bool undecided = false;     // probe's evidence rule: too small a run to tell (see reason)
    std::string reason;
};

// Rounds in which something was done to the server besides the churn, e.g. a backend fault.
struct phase
{
    std::size_t first_round = 1;
    std::size_t last_round = 1;
    std::string label;          // "backend stall"
};

// The clients stall, idle-keepalive and half-open steps left hanging, and what the server did with them.
struct held_clients
{
    std::size_t held = 0;
    std::size_t released = 0;       // the server closed them
    double median_release_s = 0;    // from going silent to the server's close
    double max_release_s = 0;
    double patience_s = 0;          // how long the run waits, after each round, for them to be let go
    double waited_s = 0;            // how long it waited in all
};

struct result
{
    leaklab::verdict::outcome verdict = leaklab::verdict::outcome::error;
    std::string error;              // why, when the verdict is error
    std::vector<std::string> warnings;
    std::vector<std::string> notes;     // how it was measured, when that is not the default
    std::string heap_source;            // where heap_bytes came from: "metrics", "agent", or "" (not measured)
    std::optional<held_clients> held;   // set when steps left clients hanging
    std::string stopped_serving;    // set when the server stopped answering after round 1: what was seen
    std::vector<leaklab::verdict::breach> breaches;  // the contract clauses the server broke (the run ends at the first round with one)
    std::vector<leaklab::verdict::breach> over_limits;  // the contract's limits the server went past (each once; a LEAK)
    std::size_t clauses = 0;        // contract clauses checked: steps with a reply contract, listeners, bounds
    std::vector<round_record> rounds;
    std::vector<metric_result> metrics;
    std::string workload;           // e.g. "ws-churn+ws-abort"
    std::size_t rounds_run = 0;     // rounds started, the one an error cut short included
    std::size_t warmup_rounds = 0;  // rounds after the baseline left out of the trend
    std::vector<phase> phases;      // fault phases of the plan
    std::size_t ops_total = 0;      // operations run, those of a round an error cut short included
    std::size_t failed_total = 0;
    double duration_s = 0;
    std::string server_exit;        // how the server ended
    std::string stderr_tail;
    std::vector<std::string> tool_reports;  // sanitizer SUMMARY lines the server printed (at exit, usually)
    std::vector<tools::finding> findings;   // the sanitizers' reports, parsed (tools/sanitizer.hpp)
    std::vector<heap_profile> heap_profiles;  // the profiles written, in order (target::heap_profiles)
    std::vector<heap_profile> pending_dumps;  // the pending-operation dumps saved, in order (target::pending_dumps)
    std::string mode;               // "" (growth), or the tool mode the run was made in: "asan", "tsan"
    std::string skipped;            // why a tool mode could not run here (the verdict is then skipped)
    std::string blind;              // why a clean-looking run in a tool mode cannot clear the server (inconclusive)
    std::string command;            // what was run
    std::vector<std::string> flagged() const;
    // "rss_bytes could not be told from noise at 7200 operations", for an inconclusive verdict.
    std::string undecided_summary() const;
};

// Called after each round (and the baseline) so a terminal can show progress.
using progress_fn = std::function<void(const plan&, const round_record&)>;

result execute(const target& t, const plan& p, const progress_fn& progress = {});

// "ws-churn+ws-abort"
std::string describe_workload(const plan& p);

// Every contract check of a plan, one line each: what each step's replies must be, what its
// listeners must receive, the bounds, the epilogue, the graceful stop.
std::vector<std::string> describe_checks(const plan& p);

} // namespace leaklab::run

#endif
