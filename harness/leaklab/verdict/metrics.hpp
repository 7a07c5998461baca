// The metric catalog: what each metric is, its unit, its default rule, whether it
// counts for settling and whether it is judged. The one place a metric's meaning is
// decided; nothing else looks at a metric's name to guess.
#ifndef LEAKLAB_VERDICT_METRICS_HPP
#define LEAKLAB_VERDICT_METRICS_HPP

#include "leaklab/verdict/judge.hpp"

#include <map>
#include <string>
#include <vector>

namespace leaklab::verdict {

enum class metric_kind
{
    count,      // live things, exact integers: sessions, operations, threads, descriptors, a lab's gauges
    bytes,      // an exact byte count: the heap in use
    rss,        // resident memory: moves in pages, shaped by the allocator
    high_water, // a peak: only ever rises, so a trend means nothing
    failures,   // the workload's failed operations: judged as a rate per round
};

struct metric_info
{
    std::string name;
    metric_kind kind = metric_kind::count;
    std::string unit;          // "bytes", "rate" (a fraction of a round's operations) or "" (a count)
    metric_rule rule{0.01};    // the default rule before a manifest overrides it
    bool settles = false;      // compared between polls to decide the counts have stopped moving
    bool judged = true;        // false: reported only, with `why_not_judged`
    std::string why_not_judged;
    std::string what;          // one line for people
    bool in_progress = false;  // shown on the progress line after each round
};

// Every metric the kit itself produces or labkit exports, in display order.
const std::vector<metric_info>& catalog();

// What a metric is. A name the catalog lists gets its entry; any other (a lab's own
// gauge, a black-box server's /metrics) is a count, or a byte count when its metrics
// page declares the unit (OpenMetrics "# UNIT <name> bytes").
metric_info describe_metric(const std::string& name, const std::string& declared_unit = "");

// Metrics a sanitizer's runtime or an emulator makes meaningless as growth evidence, with
// the reason: under ASan and TSan ("address", "thread") RSS grows without a leak, and so it
// does under qemu-user (emulated), which keeps memory for every thread a program starts
// (there only rss_bytes: the peak, judged by bounds alone, keeps its meaning).
std::map<std::string, std::string> not_judged_under(const std::string& sanitizer, bool emulated = false);

// What a tool mode's runtime makes meaningless as growth evidence, beyond its build's
// sanitizer: under valgrind's memcheck, heap_bytes (it replaces the allocator, so mallinfo2
// sees nothing) and RSS and its peak (its shadow memory and translated code).
std::map<std::string, std::string> not_judged_in_mode(const std::string& mode);

// "count", "bytes", "rss", "high-water", "failures".
std::string to_string(metric_kind k);

} // namespace leaklab::verdict

#endif
