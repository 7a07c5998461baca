// A plan: what one run does to a server (rounds of workload steps, settle policy,
// thresholds). Lab manifests and `leaklab probe` flags both produce one.
#ifndef LEAKLAB_RUN_PLAN_HPP
#define LEAKLAB_RUN_PLAN_HPP

#include "leaklab/verdict/contract.hpp"
#include "leaklab/verdict/evidence.hpp"
#include "leaklab/verdict/judge.hpp"
#include "leaklab/workload/workload.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace leaklab::run {

// Overrides of a metric's default rule (verdict/rules.hpp); unset fields keep the default.
struct rule_override
{
    std::optional<double> per_op;
    std::optional<double> min_excess;
    std::optional<double> alpha;
};

// Even a perfectly monotone series needs 8 points for Mann–Kendall to reach
// p < 0.001 (7 points give p = 0.0013), so a plan judges at least 8 rounds.
constexpr std::size_t min_trend_rounds = 8;

struct plan
{
    std::size_t rounds = 12;
    std::size_t warmup_rounds = 1;       // rounds left out of the trend (caches, allocator arenas)
    double round_timeout_s = 30;         // the bound on one round's workload
    std::vector<workload::step_spec> steps;
    // The contract beyond every reply's: bounds on metrics, checked on every sample after a
    // round, and steps run once after the last round (not sampled: a fault healed, a last
    // request that must still be served).
    std::vector<verdict::bound> bounds;
    bool contract = true;                // false (probe): a wrong reply is a failed operation, not a breach
    std::optional<double> stop_within_s; // the contract: the server exits within this long of SIGTERM
    std::optional<double> stop_grace_s;  // without that clause, how long SIGTERM is given before SIGKILL (3 s)
    std::vector<workload::step_spec> epilogue;
    std::chrono::milliseconds settle_min{0};
    std::chrono::milliseconds settle_max{3000};
    std::chrono::milliseconds settle_quiet{50};
    double max_failure_rate = 0.01;      // more failed operations than this in the first round: error
    double stop_failure_rate = 0.5;      // this many failed in a later round: the server stopped serving
    bool stop_when_failing = true;       // false: failures are expected evidence (judged as failed_ops)
    // Seconds to wait, after each round, for the server to let go of the clients that
    // stall, idle-keepalive and half-open steps left hanging; the round's sample is taken after.
    // nullopt: none for a lab (its manifest passes the server its deadlines), see probe.
    std::optional<double> patience_s;
    // Probe: byte metrics judged by evidence (verdict/evidence.hpp) instead of the catalog's
    // per-op constants; an inconclusive run is extended, doubling its rounds, while it
    // has looks left and the whole run stays under max_seconds.
    bool evidence = false;
    verdict::evidence_rule evidence_rule;
    double max_seconds = 60;
    std::string backend;                 // "" or "redis": started for the run, behind a fault proxy
    std::map<std::string, rule_override> thresholds;
    std::vector<std::string> ignore_metrics;  // exported but not judged
    std::map<std::string, std::string> unjudged;  // reported, not judged, with the reason why
};

} // namespace leaklab::run

#endif
