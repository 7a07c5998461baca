#include "labkit/leak_check.hpp"

#include <mutex>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

namespace labkit {

leak_check_answer check_leaks_now()
{
#if defined(__SANITIZE_ADDRESS__)
    // One check at a time: each stops every thread while it scans their stacks and registers.
    static std::mutex m;
    std::lock_guard lock(m);
    return {200, __lsan_do_recoverable_leak_check() ? "leaks\n" : "no leaks\n"};
#else
    return {501, "this server is not built with AddressSanitizer: a leak check needs the asan preset\n"};
#endif
}

} // namespace labkit
