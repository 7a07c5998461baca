#include "leaklab/verdict/stats.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace leaklab::verdict
{

namespace
{

// Sign of a difference as -1, 0 or +1.
int sign_of(double d)
{
    return (d > 0) - (d < 0);
}

// Mann–Kendall S statistic: concordant minus discordant pairs.
double mk_statistic(const std::vector<double>& y)
{
    long long s = 0;
    for(std::size_t i = 0; i + 1 < y.size(); ++i)
        for(std::size_t j = i + 1; j < y.size(); ++j)
            s += sign_of(y[j] - y[i]);
    return static_cast<double>(s);
}

// Variance of S under H0, minus the contribution of each group of tied values.
double mk_variance(const std::vector<double>& y)
{
    const double n = static_cast<double>(y.size());
    double var = n * (n - 1) * (2 * n + 5);
    std::vector<double> sorted = y;
    std::sort(sorted.begin(), sorted.end());
    for(std::size_t i = 0; i < sorted.size();)
    {
        std::size_t j = i;
        while(j < sorted.size() && sorted[j] == sorted[i])
            ++j;
        const double t = static_cast<double>(j - i);
        var -= t * (t - 1) * (2 * t + 5);
        i = j;
    }
    return var / 18.0;
}

// Median of a non-empty vector (average of the two middle values for even sizes).
double median_of(std::vector<double> v)
{
    const std::size_t mid = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
    const double upper = v[mid];
    if(v.size() % 2 == 1)
        return upper;
    const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
    return lower + (upper - lower) / 2;
}

} // namespace

std::vector<double> block_means(const std::vector<double>& y, std::size_t block)
{
    // Blocks of one (or zero) are the samples themselves.
    if(block <= 1 || y.empty())
        return y;
    // Too short for one full block: the whole series is the only block.
    const std::size_t full = y.size() / block;
    const std::size_t count = full == 0 ? 1 : full;
    const std::size_t width = full == 0 ? y.size() : block;
    // Average each block, dropping any trailing partial block.
    std::vector<double> means;
    means.reserve(count);
    for(std::size_t b = 0; b < count; ++b)
    {
        double sum = 0;
        for(std::size_t k = 0; k < width; ++k)
            sum += y[b * width + k];
        means.push_back(sum / static_cast<double>(width));
    }
    return means;
}

mk_result mann_kendall(const std::vector<double>& y)
{
    mk_result r{0, 0, 0, 1};
    // Fewer than three points carry no evidence of a trend.
    if(y.size() < 3)
        return r;
    r.s = mk_statistic(y);
    r.var_s = mk_variance(y);
    // All values tied: no variance, no trend.
    if(!(r.var_s > 0))
        return r;
    // Continuity correction moves S one step toward zero.
    const double sd = std::sqrt(r.var_s);
    if(r.s > 0)
        r.z = (r.s - 1) / sd;
    if(r.s < 0)
        r.z = (r.s + 1) / sd;
    r.p_value = 0.5 * std::erfc(r.z / std::sqrt(2.0));
    return r;
}

double theil_sen(const std::vector<double>& x, const std::vector<double>& y)
{
    if(x.size() != y.size())
        throw std::invalid_argument("theil_sen: x and y must have the same size");
    // Collect the slope of every pair with distinct x.
    std::vector<double> slopes;
    slopes.reserve(x.size() * (x.size() > 0 ? x.size() - 1 : 0) / 2);
    for(std::size_t i = 0; i + 1 < x.size(); ++i)
        for(std::size_t j = i + 1; j < x.size(); ++j)
            if(x[j] != x[i])
                slopes.push_back((y[j] - y[i]) / (x[j] - x[i]));
    if(slopes.empty())
        return 0;
    return median_of(std::move(slopes));
}

} // namespace leaklab::verdict
