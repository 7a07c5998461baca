// Trend statistics for leak verdicts: the trend test, Mann–Kendall, Theil–Sen.
//
// Memory series are short (about 8 to 15 judged rounds), autocorrelated and full
// of ties. Mann–Kendall assumes independent points: on AR(1) noise with phi = 0.8
// it flags about 5 % of clean series of 11 points at alpha = 0.001. The kit's
// trend test therefore pre-whitens (z[t] = y[t] - 0.85 y[t-1]) and takes the exact
// one-sided p-value of Mann–Kendall's S on z from the permutation distribution of
// z's values (ties included): exact for AR(1) noise with phi = 0.85, conservative
// for less autocorrelated noise, so the false-positive rate stays at or below
// alpha for phi up to 0.8 with a margin; no normal approximation at the small
// counts the labs use. tests/unit/test_trend.cpp measures its false-positive rate
// and power.
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

// The trend test's result. p_value is one-sided: H1 = increasing trend.
struct trend_result
{
    double s = 0;           // Mann–Kendall S of the pre-whitened series
    std::size_t points = 0; // points the test saw (one fewer than the series)
    double p_value = 1;     // exact P(S' >= s) under H0; 1 if fewer than 3 points
};

// z[t] = y[t] - phi * y[t-1] for t = 1..n-1 (empty for fewer than 2 points).
std::vector<double> prewhiten(const std::vector<double>& y, double phi);

// P(S >= s) for Mann–Kendall's S over n exchangeable, untied values: Kendall's
// exact distribution (the number of permutations with k inversions) for n <= 64,
// the continuity-corrected normal tail above. With ties S has a smaller spread,
// so this untied tail is conservative for tied series.
double mk_exact_upper_tail(std::size_t n, double s);

// The kit's trend test: pre-whiten with phi, then the exact one-sided tail of S: over
// all orderings of the values (with ties, of the multiset of values) for up to 64
// points, the tie-corrected normal tail above.
trend_result trend_test(const std::vector<double>& y, double phi = whitening_phi);

// Mann–Kendall trend test with tie-corrected variance and continuity correction
// (the normal approximation; it assumes independent points).
mk_result mann_kendall(const std::vector<double>& y);

// Theil–Sen slope: median of (y[j]-y[i]) / (x[j]-x[i]) over i<j with x[j] != x[i].
// Returns 0 if there is no such pair. Throws std::invalid_argument if sizes differ.
// O(n^2) time and memory: meant for series of up to a few thousand points.
double theil_sen(const std::vector<double>& x, const std::vector<double>& y);

} // namespace leaklab::verdict

#endif
