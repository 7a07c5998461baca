// The default rule for each metric, before a manifest's thresholds override it.
#ifndef LEAKLAB_VERDICT_RULES_HPP
#define LEAKLAB_VERDICT_RULES_HPP

#include "leaklab/verdict/judge.hpp"

#include <string>

namespace leaklab::verdict {

// "bytes" for byte metrics, "" for counts.
std::string unit_of(const std::string& metric);

// Task counts (sessions, coroutines, operations, threads, descriptors, a lab's own
// gauges): exact integers that return to baseline when nothing leaks, so any net
// growth of 1 per 100 operations that keeps going is a leak. Heap: 64 bytes per
// operation. RSS moves in pages and is shaped by the allocator: 1 KiB per operation
// and at least 1 MiB in all.
metric_rule default_rule(const std::string& metric);

// Metrics that are never judged: high-water marks only ever rise.
bool never_judged(const std::string& metric);

} // namespace leaklab::verdict

#endif
