// Contracts: what a server must keep doing while it is measured. A leak fixed by deleting
// the feature, hiding a counter or answering errors is not a fix: the workload checks
// every reply, the listeners check what the server sends on its own, and the bounds here
// check the metrics a lab names. Any breach makes the verdict BROKEN (verdict.hpp).
#ifndef LEAKLAB_VERDICT_CONTRACT_HPP
#define LEAKLAB_VERDICT_CONTRACT_HPP

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace leaklab::verdict {

// One broken promise (or a limit gone past): which clause, when, on which step, how often,
// and what was seen first.
struct breach
{
    std::string clause;     // "reply status", "pings", "bound scheduled_jobs", ...
    std::string when;       // "round 3", "baseline", "after the last round"
    std::string step;       // the workload step's kind, or "metrics"
    std::size_t count = 1;  // replies (or listeners, or samples) that broke it then
    std::string first;      // what was seen, in words
};

// "reply status in round 3 (http-churn, 12 times): POST /readings answered 204, expected 400"
std::string describe(const breach& b);

// A clause on a metric, checked on every settled sample after a round.
struct bound
{
    std::string metric;
    // Added to the metric before it is checked: a reconciliation (lines written + dropped +
    // queued), where each part alone proves nothing. One the server does not export counts 0
    // (a server that never drops has no drop counter), which can only make the sum smaller.
    std::vector<std::string> plus;
    // A resource limit rather than a promise of service: going past it is a LEAK verdict
    // (the server holds more than it may, as a leaky server does), and the run goes on.
    bool limit = false;
    std::optional<double> min;           // the value never falls below this
    std::optional<double> max;           // ... nor rises above this
    std::optional<double> max_rise;      // ... nor rises more than this above its value at the baseline
    bool min_listeners = false;          // never below the number of ws-listen connections open
    std::optional<double> max_per_listener;  // once settled, at most this many above the baseline per ws-listen connection open
    // Once settled, at most this many above the baseline per connection the workload holds open
    // and silent (idle-keepalive, stall, half-open) and the server still keeps: what such a
    // connection needs (its read and its deadline), nothing left from what it was answered.
    std::optional<double> max_per_held;
    std::optional<double> min_step;      // rises at least this much from one sample to the next (a log that is written)
    std::optional<double> min_per_op;    // has risen at least this much per operation since the baseline
    std::optional<double> max_per_op;    // ... and at most this much (e.g. one setup per connection, not per request)
    // The operations min_per_op and max_per_op count: those answered as their step expects, of
    // the steps whose path (its template) starts with this ("" every operation). Lab 11: one
    // reading windowed per reading answered 202, whatever else the round sends.
    std::string ops_of;
    std::string unit;                    // "bytes": messages print KiB/MiB
};

// What the bound checks: "scheduled_jobs", or "log_lines_written + log_lines_dropped".
std::string name(const bound& b);

// The clause in words: "scheduled_jobs stays between 1 and 1".
std::string describe(const bound& b);

// What a sample is checked against: the metric at the baseline and in the sample before,
// the listeners held open, and the operations run since the baseline.
struct bound_context
{
    std::optional<double> baseline;
    std::optional<double> previous;
    std::size_t listeners = 0;
    std::size_t held = 0;  // silent connections held open that the server has not let go of
    double ops = 0;
};

// The bound's value in a sample (the metric plus those of its `plus` metrics the sample has),
// or nullopt when the sample lacks the metric itself.
std::optional<double> value_in(const bound& b, const std::map<std::string, double>& values);

// What breaks the bound in this sample, if anything. `value` is nullopt when the server does
// not export the metric (a counter removed is a breach, not a pass).
std::optional<std::string> check_bound(const bound& b, std::optional<double> value, const bound_context& at);

} // namespace leaklab::verdict

#endif
