// Heap profiles on an admin call, for `leaklab check --mode heapprof` (the gperf preset:
// tcmalloc's heap profiler). With LEAKLAB_HEAPPROF=<prefix> in its environment a server
// built with tcmalloc starts the profiler before the lab sets itself up; the metrics
// endpoint then answers
//   POST /heap-profile?name=<name>   writes <prefix>.<name>.heap, answers its path (200)
// Other builds answer 501, and a server started without the variable 409: nothing else changes.
#ifndef LABKIT_HEAP_PROFILE_HPP
#define LABKIT_HEAP_PROFILE_HPP

#include <string>
#include <string_view>

namespace labkit {

// Starts tcmalloc's heap profiler when LEAKLAB_HEAPPROF names a prefix (once; a no-op elsewhere).
void start_heap_profiler();

// What the admin call answers: an HTTP status and a one-line body.
struct heap_profile_answer
{
    unsigned status = 200;
    std::string body;
};

// Writes the profile named by the request's target ("/heap-profile?name=base").
heap_profile_answer dump_heap_profile(std::string_view target);

} // namespace labkit

#endif
