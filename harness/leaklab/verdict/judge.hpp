// Per-metric leak decision: does this metric keep growing with load?
//
// Decision rule. Let n = x.size(); index 0 is the baseline taken before any
// load. The trend points T are indices [warmup, n) (with warmup = 1 the trend
// starts at the first round's sample). The metric is flagged iff ALL of:
//   (a) |T| >= 4                                   enough rounds to judge;
//   (b) trend_test(T.y, rule.phi).p_value < rule.alpha
//                                                  a significant rising trend
//                                                  (stats.hpp: pre-whitened, exact);
//   (c) theil_sen(T.x, T.y) >= rule.per_op_threshold
//                                                  it grows fast enough to matter;
//   (d) theil_sen over the last max(3, ceil(|T|/2)) points of T
//         >= rule.per_op_threshold / 2             it is still growing at the end
//                                                  (separates a leak from a step
//                                                  or a plateau);
//   (e) T.y.back() - T.y.front() > rule.min_excess it grew over the judged rounds
//                                                  (not from the pre-load baseline:
//                                                  warm-up growth does not count).
// When several conditions fail, the reason names the first that applies in
// this order: too few rounds, plateau (c holds but d fails), no significant
// trend (b), slope below threshold (c), no net growth (e). A significant trend
// below the threshold says which shape it has: "warm-up then flat" when most of
// the growth came before the trend points or the late slope is about flat,
// "rises slowly" otherwise; both give the slope and the threshold in words.
// With pre-whitening, |T| >= 8 is needed for p < 0.001 to be reachable at all
// (7 whitened points: p >= 1/7! = 0.0002; 6: p >= 0.0014).
#ifndef LEAKLAB_VERDICT_JUDGE_HPP
#define LEAKLAB_VERDICT_JUDGE_HPP

#include <cstddef>
#include <string>
#include <vector>

namespace leaklab::verdict
{

// Thresholds for one metric.
struct metric_rule
{
    double per_op_threshold; // slope (units per operation) that counts as growth
    double alpha = 0.001;    // significance for Mann–Kendall
    double min_excess = 0;   // final - baseline must exceed this (absolute units)
    std::string unit = {};   // "bytes": reasons print KiB/MiB; "rate": percentages; "": plain numbers
    double phi = 0.85;       // pre-whitening coefficient of the trend test (stats.hpp whitening_phi)
};

// What judge() measured and decided for one metric.
struct metric_judgement
{
    double baseline = 0;          // y[0]
    double final_value = 0;       // y[n-1]
    double slope_per_op = 0;      // Theil–Sen slope over T
    double late_slope_per_op = 0; // Theil–Sen slope over the last half of T
    double p_value = 1;           // one-sided p of the trend test on T
    bool flagged = false;         // all of (a)..(e) hold
    std::string reason;           // one short sentence: why flagged or why not
    double growth = 0;            // T.y.back() - T.y.front()
};

// x: cumulative operations at each settled sample (non-decreasing);
// y: metric values; x.size() == y.size(). The first `warmup` samples are
// excluded from the trend; the baseline y[0] is still reported.
// Throws std::invalid_argument on mismatched sizes, NaN/inf values,
// decreasing x, or a rule with non-finite fields, alpha outside (0, 1] or phi outside [0, 1).
// Empty input is not an error: it is not flagged (baseline and final are 0).
metric_judgement judge(const std::vector<double>& x, const std::vector<double>& y, const metric_rule& rule,
                       std::size_t warmup = 1);

} // namespace leaklab::verdict

#endif
