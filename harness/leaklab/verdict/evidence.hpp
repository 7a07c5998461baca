// Black-box sensitivity: a byte metric of a server nobody here wrote, judged from what was
// measured rather than from a constant tuned on the labs.
//
// The question is whether the metric grows by at least `target_per_op` (64 bytes per
// operation: the smallest leak `leaklab probe` promises to find) and whether this run is
// big enough to tell. Let T be the trend points (after the warm-up), b the Theil–Sen
// slope over T, and noise the robust spread of T around that line (1.4826 * the median
// absolute residual: allocator and page noise, measured on this server in this run).
// The resolution is max(floor, noise_multiple * noise): growth smaller than that is not
// evidence. Then, with judge() at threshold target_per_op, alpha / looks and min_excess =
// resolution:
//   leak          judge() flags it: a significant trend, at least the target per op,
//                 still growing at the end, and more growth over T than the resolution;
//   clean         not a leak, and the run shows it is not growing at the target: the
//                 upper confidence bound of its growth per operation (the mean round-to-round
//                 increase, one-sided Student t at `confidence`, from the increments' own
//                 scatter: exact for a random walk, conservative for stationary noise) is
//                 below the target over T, or below half the target over T's last half
//                 (a plateau), and a leak of exactly the target would have added more than
//                 the resolution over T;
//   inconclusive  otherwise: it would be flagged but its growth is within the resolution,
//                 or a leak of the target could hide in this run's noise, or there are too
//                 few trend points.
// The caller extends an inconclusive run (more rounds) and judges again, at most `looks`
// times in all; each look tests at alpha / looks, so the whole procedure's false-positive
// rate stays at most alpha (Bonferroni).
#ifndef LEAKLAB_VERDICT_EVIDENCE_HPP
#define LEAKLAB_VERDICT_EVIDENCE_HPP

#include "leaklab/verdict/judge.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace leaklab::verdict {

struct evidence_rule
{
    double target_per_op = 64;       // bytes per operation: the smallest leak to find
    double alpha = 0.001;            // over every look together
    std::size_t looks = 3;           // judgements of one run at most (the first and two extensions)
    double floor = 64 * 1024;        // growth is never evidence below this (16 pages of RSS; probe raises it for larger pages)
    double noise_multiple = 6;       // nor below this many times the series' own noise
    double confidence = 0.99;        // of the upper bounds that call a metric clean
    std::string unit = "bytes";
};

enum class evidence
{
    clean,
    leak,
    inconclusive,
};

struct evidence_judgement
{
    metric_judgement j;          // judge() with the rule's target, alpha / looks and resolution
    evidence decision = evidence::inconclusive;
    double noise = 0;            // robust sd of T around its Theil–Sen line
    double resolution = 0;       // max(floor, noise_multiple * noise)
    double target_growth = 0;    // target_per_op * the operations over T
    double upper_per_op = 0;     // upper confidence bound of the growth per op over T
    double upper_late_per_op = 0;  // the same over T's last half
    metric_rule applied;         // the rule judge() was given
};

evidence_judgement judge_evidence(const std::vector<double>& x, const std::vector<double>& y, const evidence_rule& rule,
                                  std::size_t warmup = 1);

} // namespace leaklab::verdict

#endif
