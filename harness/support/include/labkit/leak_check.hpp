// A leak check while the server runs, for `leaklab check --mode lsan-live` (the asan preset).
// The metrics endpoint answers
//   POST /leak-check   runs LeakSanitizer's recoverable check now (__lsan_do_recoverable_leak_check):
//                      its report goes where ASAN_OPTIONS' log_path says; answers
//                      "leaks" or "no leaks" (200)
// Builds without AddressSanitizer answer 501: nothing else changes.
#ifndef LABKIT_LEAK_CHECK_HPP
#define LABKIT_LEAK_CHECK_HPP

#include <string>

namespace labkit {

struct leak_check_answer
{
    unsigned status = 200;
    std::string body;
};

leak_check_answer check_leaks_now();

} // namespace labkit

#endif
