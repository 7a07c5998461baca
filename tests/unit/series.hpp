// Synthetic series for the statistics tests.
#ifndef LEAKLAB_TESTS_SERIES_HPP
#define LEAKLAB_TESTS_SERIES_HPP

#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

namespace leaklab::test {

// The autocorrelation of memory series in the measurement notes.
constexpr double phi = 0.8;

// AR(1) noise with phi 0.8 and stationary sd 1 (innovation sd 0.6), plus a linear trend.
inline std::vector<double> ar1_with_trend(unsigned seed, double slope_per_sample, std::size_t n)
{
    std::mt19937 rng(seed);
    std::normal_distribution<double> start(0.0, 1.0);
    std::normal_distribution<double> shock(0.0, std::sqrt(1 - phi * phi));
    double e = start(rng);
    std::vector<double> y(n);
    for(std::size_t i = 0; i < n; ++i)
    {
        y[i] = e + slope_per_sample * static_cast<double>(i);
        e = phi * e + shock(rng);
    }
    return y;
}

} // namespace leaklab::test

#endif
