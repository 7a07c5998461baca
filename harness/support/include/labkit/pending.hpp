// What is pending, and where: the recording half of `leaklab check --mode tasks`
// (labkit/handler_tracking.hpp records; this header starts it and dumps it).
// With LEAKLAB_TASKS=1 the metrics endpoint answers
//   GET /pending-ops   the pending operations and live coroutines, grouped by kind and stacks
// as text: "module N PATH" lines, "stack ID N:OFFSET ..." lines (return addresses, innermost
// first, relative to the module's load address, for addr2line), and "group COUNT KIND awaited=ID
// created=ID from=ID" lines. Without the variable it answers 409.
#ifndef LABKIT_PENDING_HPP
#define LABKIT_PENDING_HPP

#include <cstdint>
#include <string>

namespace labkit::tracking {

// Turns recording on when LEAKLAB_TASKS=1 (once, before the lab sets itself up).
void start_recording();

// The calling thread's stack, interned; 0 when recording is off.
std::uint32_t capture_stack();

// A coroutine counted while it runs, under the stack labkit::spawn was called from.
class task_scope
{
    std::uint32_t group_;

public:
    explicit task_scope(std::uint32_t spawned_at);
    task_scope(const task_scope&) = delete;
    task_scope& operator=(const task_scope&) = delete;
    ~task_scope();
};

struct pending_answer
{
    unsigned status = 200;
    std::string body;
};

pending_answer dump_pending();

} // namespace labkit::tracking

#endif
