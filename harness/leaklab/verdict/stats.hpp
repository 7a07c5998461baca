// Trend statistics for leak verdicts: block means, Mann–Kendall, Theil–Sen.
//
// Memory series are autocorrelated and full of ties. Averaging blocks of
// samples before Mann–Kendall keeps the false-positive rate near alpha under
// AR(1) noise; the tie-corrected variance keeps exact integer counts honest.
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

// Means of consecutive blocks of `block` samples. A trailing partial block is
// dropped unless it is the only one (then the result is the mean of all of y).
// block 0 or 1 returns a copy; an empty y returns an empty vector.
std::vector<double> block_means(const std::vector<double>& y, std::size_t block);

// Mann–Kendall trend test with tie-corrected variance and continuity correction.
mk_result mann_kendall(const std::vector<double>& y);

// Theil–Sen slope: median of (y[j]-y[i]) / (x[j]-x[i]) over i<j with x[j] != x[i].
// Returns 0 if there is no such pair. Throws std::invalid_argument if sizes differ.
// O(n^2) time and memory: meant for series of up to a few thousand points.
double theil_sen(const std::vector<double>& x, const std::vector<double>& y);

} // namespace leaklab::verdict

#endif
