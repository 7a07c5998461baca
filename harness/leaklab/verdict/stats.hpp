// Trend statistics for leak verdicts: the trend test, Mann–Kendall, Theil–Sen.
//
// Memory series are short (about 8 to 15 judged rounds), autocorrelated and full
// of ties. Mann–Kendall assumes independent points: on AR(1) noise with phi = 0.8
// it flags about 5 % of clean series of 11 points at alpha = 0.001. The kit's
// trend test is two tests, each at alpha / 2 (Bonferroni), so that a clean series
// is flagged with probability at most alpha:
//  - the rank test: pre-whiten (z[t] = y[t] - 0.85 y[t-1]) and take the exact
//    one-sided tail of Mann–Kendall's S on z over the orderings of z's values (ties
//    included). Exact for AR(1) noise with phi = 0.85, conservative below; free of
//    any assumption on the noise's shape, so one outlier cannot make a trend.
//  - the rise test: a one-sided Student t test that the mean round-to-round
//    increment is above 0. Exact for a random walk (phi = 1) and conservative for
//    every AR(1) phi below it, since var(y[n] - y[1]) = 2 var(y) (1 - phi^(n-1)) never
//    exceeds (n-1) var(y[t] - y[t-1]) = 2 var(y) (1 - phi) (n-1). It finds a steady rise
//    under sampling jitter (phi near 0), where whitening with 0.85 leaves little trend.
// tests/unit/test_trend.cpp measures the false-positive rate and the power.
#ifndef LEAKLAB_VERDICT_STATS_HPP
#define LEAKLAB_VERDICT_STATS_HPP

#include <cstddef>
#include <vector>

namespace leaklab::verdict
{

// Mann–Kendall result. p_value is one-sided: H1 = increasing trend.
struct mk_result
{
    double s;       // sum over i<j of sign(y[j] - y[i])
    double var_s;   // variance of S under H0, corrected for ties
    double z;       // continuity-corrected standard score: (S -/+ 1) / sqrt(var_s), 0 if S == 0
    double p_value; // upper-tail normal probability of z; 1 if n < 3 or var_s == 0
};

// The pre-whitening coefficient: the test is exact for AR(1) noise with this phi,
// a little above the 0.8 it is meant to withstand.
constexpr double whitening_phi = 0.85;

// The trend test's result. p values are one-sided: H1 = increasing trend.
struct trend_result
{
    double s = 0;           // Mann–Kendall S of the pre-whitened series
    std::size_t points = 0; // points the rank test saw (one fewer than the series)
    double p_rank = 1;      // exact P(S' >= s) under H0
    double p_rise = 1;      // the rise test's p (increment_test)
    double p_value = 1;     // min(1, 2 min(p_rank, p_rise)); 1 if fewer than 3 points
};

// The rise test's result: the mean round-to-round increment against its scatter.
struct increment_result
{
    std::size_t increments = 0; // one fewer than the points
    double mean = 0;            // mean of y[t] - y[t-1]
    double sd = 0;              // their sample standard deviation
    double p_value = 1;         // P(T >= mean / (sd / sqrt(m))), T Student's t with m - 1 df;
                                // 0 if every increment is the same rise; 1 if fewer than 3
                                // increments or no mean rise
};

// One-sided t test that the mean increment of y is above 0 (see above).
increment_result increment_test(const std::vector<double>& y);

// z[t] = y[t] - phi * y[t-1] for t = 1..n-1 (empty for fewer than 2 points).
std::vector<double> prewhiten(const std::vector<double>& y, double phi);

// P(S >= s) for Mann–Kendall's S over n exchangeable, untied values: Kendall's
// exact distribution (the number of permutations with k inversions) for n <= 64,
// the continuity-corrected normal tail above. With ties S has a smaller spread,
// so this untied tail is conservative for tied series.
double mk_exact_upper_tail(std::size_t n, double s);

// The kit's trend test: the rank test (pre-whiten with phi, then the exact one-sided
// tail of S over all orderings of the values, with ties of the multiset of values, for
// up to 64 points, the tie-corrected normal tail above) and the rise test, each at
// alpha / 2: p_value = min(1, 2 min(p_rank, p_rise)).
trend_result trend_test(const std::vector<double>& y, double phi = whitening_phi);

// Mann–Kendall trend test with tie-corrected variance and continuity correction
// (the normal approximation; it assumes independent points).
mk_result mann_kendall(const std::vector<double>& y);

// The median (the mean of the two middle values for an even count); 0 for no values.
double median_of(std::vector<double> v);

// Theil–Sen slope: median of (y[j]-y[i]) / (x[j]-x[i]) over i<j with x[j] != x[i].
// Returns 0 if there is no such pair. Throws std::invalid_argument if sizes differ.
// O(n^2) time and memory: meant for series of up to a few thousand points.
double theil_sen(const std::vector<double>& x, const std::vector<double>& y);

} // namespace leaklab::verdict

#endif
