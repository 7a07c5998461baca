// The run's verdict, and the decisions about serving: whether the server served the
// first round at all, whether it stopped serving later, and whether its failure rate
// climbs. The runner reports what happened; every decision about it is made here.
#ifndef LEAKLAB_VERDICT_VERDICT_HPP
#define LEAKLAB_VERDICT_VERDICT_HPP

#include "leaklab/verdict/judge.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leaklab::verdict {

// What a run comes to. Printed and written to JSON as "clean", "leak", "error",
// "inconclusive", "broken", "flagged", "skipped".
enum class outcome
{
    clean, // no metric keeps growing and the server kept serving
    leak,  // a metric keeps growing with the operations, or the server stopped serving
    error, // no verdict: the server would not build, start or serve, or crashed
    inconclusive, // probe only: the run, extended as far as allowed, was too small to tell (evidence.hpp)
    broken, // the server answered, but broke its contract (contract.hpp): a fix that removed the feature
    flagged, // a tool mode: the tool reported an error in the server (a use after free, a race, a leak at exit)
    skipped, // a tool mode that cannot run here (the tool missing, emulated, no ptrace): no verdict, never clean
};

std::string to_string(outcome o);
// "clean", "leak", "error", "inconclusive", "broken", "flagged" or "skipped"; nothing for anything else.
std::optional<outcome> parse_outcome(std::string_view s);

// How one round of workload went.
struct round_ops
{
    std::size_t round = 0;  // 1 = the first round of load
    std::size_t ops = 0;
    std::size_t failed = 0;
    std::string first_error;
};

struct serving_rule
{
    double max_first_round_failure_rate = 0.01; // more in round 1: the server does not serve the workload
    double stop_failure_rate = 0.5;             // this many in a later round: the server stopped serving
    bool stop_when_failing = true;              // false: failures are expected evidence, judged as a rate
};

// Why round 1 shows the server cannot serve the workload (an error, not a verdict), if it does.
std::optional<std::string> not_serving(const round_ops& first, const serving_rule& rule);

// "the server stopped serving in round N: F of O operations failed (first: ...)", if a round
// after the first failed at least stop_failure_rate of its operations.
std::optional<std::string> stopped_serving(const round_ops& r, const serving_rule& rule);

// The failure rate, judged: flagged when the server stopped serving (then `reason` is that),
// or when the rate of the rounds after the warm-up rises with a significant trend
// (trend_test, alpha of `rule`), by at least `rule.per_op_threshold` per round (Theil–Sen
// over rounds) and by more than `rule.min_excess` from the first judged round to the last,
// still rising in the last half. A steady rate, however high, is not growth: a loaded
// machine's 1 % of timeouts is not a leak. baseline and final_value are the first and last
// rounds' rates; the slopes are per round, not per operation.
metric_judgement judge_failures(const std::vector<round_ops>& rounds, const metric_rule& rule, std::size_t warmup_rounds,
                                const std::optional<std::string>& stopped);

// The verdict: broken when the server broke its contract (whatever grew: a server that
// does not do its job is not judged a fix); else leak when any judged metric is flagged or
// the server stopped serving (or went past a limit of its contract: `stopped` says either);
// otherwise inconclusive when a metric could not be decided at this run's size; else clean.
outcome decide(const std::vector<bool>& flagged, bool stopped, bool undecided = false, bool breached = false);

// A server that died mid-run: its verdict stands on the rounds it served when they already
// show growth (a metric flagged, no clause broken): the leak ran it out of what it needed,
// as threads do on a 32-bit board. Otherwise the crash is the answer: an error.
bool growth_explains_crash(const std::vector<bool>& flagged, bool breached);

// Under a tool mode (asan, tsan, ...) the tool's reports decide: flagged when it reported
// anything, whatever the run's own verdict was (a crash the sanitizer caused by stopping
// at its first report is explained by that report); otherwise the run's verdict stands, so
// a fix the tool finds nothing in is still judged on growth and its contract.
outcome with_tool_reports(outcome run, std::size_t reports);

// The heapprof mode: an allocation site in the server's own code that holds more bytes after
// the last round than after the warm-up grows with the load when the difference, per operation
// run between the two profiles, reaches heap_bytes' own threshold in the catalog (64 B/op);
// with a profile after every round, the site is judged by verdict/sites.hpp, which holds it to
// the same threshold and to a trend. These two say what stacks outside the lab's code and
// runs with too few profiles are held to.
// The profile is byte-exact like heap_bytes, and both are read at rest after a settle, so the
// same constant holds; a site is a part of the heap, so it cannot be judged more strictly
// than the whole without a reason the whole does not have.
double heap_site_threshold();
bool heap_site_grows(double bytes_per_op);

// The tasks mode: a site in the server's own code whose pending operations (or live coroutines)
// are more after the last round than after the warm-up grows with the load when the difference
// per operation reaches asio_ops_pending's own threshold in the catalog (0.01 per op, one in a
// hundred). Both dumps are taken at rest after a settle, as the count is read.
double pending_site_threshold();
bool pending_site_grows(double per_op);

// A server whose own code turns an instrument off or fakes one (tools/tampering.hpp) is
// flagged in every mode, growth included: what the instrument then says is not evidence.
outcome with_tampering(outcome run, std::size_t tamperings);

// A tool mode that cannot judge what this lab's leak shows in (memcheck and heap_bytes):
// a run that would be clean is inconclusive instead, never a false clean.
outcome with_blind_spot(outcome run, bool leak_metrics_unjudged);

} // namespace leaklab::verdict

#endif
