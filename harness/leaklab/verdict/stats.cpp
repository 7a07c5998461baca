#include "leaklab/verdict/stats.hpp"

#include <boost/math/distributions/students_t.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
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

// Above this many points the normal approximation is accurate and the exact table large.
constexpr std::size_t exact_max_points = 64;

// Cumulative probabilities P(inversions <= k) of a uniformly random permutation of n,
// built as the convolution of uniform distributions on 0..m-1 for m = 1..n.
const std::vector<double>& inversion_cdf(std::size_t n)
{
    static std::mutex mutex;
    static std::map<std::size_t, std::vector<double>> cache;
    std::lock_guard lock(mutex);
    if(auto it = cache.find(n); it != cache.end())
        return it->second;
    std::vector<double> pmf{1.0};
    for(std::size_t m = 2; m <= n; ++m)
    {
        std::vector<double> next(pmf.size() + m - 1, 0.0);
        for(std::size_t k = 0; k < pmf.size(); ++k)
            for(std::size_t j = 0; j < m; ++j)
                next[k + j] += pmf[k] / static_cast<double>(m);
        pmf = std::move(next);
    }
    std::vector<double> cdf(pmf.size());
    double sum = 0;
    for(std::size_t k = 0; k < pmf.size(); ++k)
        cdf[k] = std::min(1.0, sum += pmf[k]);
    return cache.emplace(n, std::move(cdf)).first->second;
}

// The distribution of inversions of a uniformly random arrangement of a multiset with
// these group sizes (ties): the product of Gaussian binomials [a; t]_q, each built by
// the additive recurrence [a; b] = [a-1; b-1] + q^b [a-1; b], divided by its count.
std::vector<double> tied_inversion_pmf(const std::vector<std::size_t>& groups)
{
    std::vector<double> pmf{1.0};
    std::size_t total = 0;
    for(std::size_t t : groups)
    {
        const std::size_t a = total + t;
        // row[b] = coefficients of [n; b]_q for the current n, b <= t.
        std::vector<std::vector<double>> row(t + 1);
        row[0] = {1.0};
        for(std::size_t n = 1; n <= a; ++n)
            for(std::size_t b = std::min(n, t); b >= 1; --b)
            {
                // [n; b] = [n-1; b-1] + q^b [n-1; b]; [n-1; b] is empty when b > n-1.
                std::vector<double> next = row[b - 1];
                const auto& upper = row[b];
                if(next.size() < upper.size() + b)
                    next.resize(upper.size() + b, 0.0);
                for(std::size_t k = 0; k < upper.size(); ++k)
                    next[k + b] += upper[k];
                row[b] = std::move(next);
            }
        const auto& q = row[t];
        double count = 0;
        for(double c : q)
            count += c;
        std::vector<double> product(pmf.size() + q.size() - 1, 0.0);
        for(std::size_t i = 0; i < pmf.size(); ++i)
            for(std::size_t k = 0; k < q.size(); ++k)
                product[i + k] += pmf[i] * q[k] / count;
        pmf = std::move(product);
        total = a;
    }
    return pmf;
}

// Sizes of the groups of equal values in y.
std::vector<std::size_t> tie_groups(std::vector<double> y)
{
    std::sort(y.begin(), y.end());
    std::vector<std::size_t> groups;
    for(std::size_t i = 0; i < y.size();)
    {
        std::size_t j = i;
        while(j < y.size() && y[j] == y[i])
            ++j;
        groups.push_back(j - i);
        i = j;
    }
    return groups;
}

} // namespace

std::vector<double> prewhiten(const std::vector<double>& y, double phi)
{
    std::vector<double> z;
    for(std::size_t t = 1; t < y.size(); ++t)
        z.push_back(y[t] - phi * y[t - 1]);
    return z;
}

double mk_exact_upper_tail(std::size_t n, double s)
{
    if(n < 2)
        return 1;
    const double pairs = static_cast<double>(n) * static_cast<double>(n - 1) / 2;
    if(s > pairs)
        return 0;
    if(n > exact_max_points)
    {
        // Normal tail with continuity correction, untied variance.
        const double var = static_cast<double>(n) * static_cast<double>(n - 1) * static_cast<double>(2 * n + 5) / 18;
        const double z = s > 0 ? (s - 1) / std::sqrt(var) : s < 0 ? (s + 1) / std::sqrt(var) : 0;
        return 0.5 * std::erfc(z / std::sqrt(2.0));
    }
    // Untied, S = pairs - 2 * inversions: S >= s exactly when inversions <= (pairs - s) / 2.
    const double k = std::floor((pairs - s) / 2 + 1e-9);
    const auto& cdf = inversion_cdf(n);
    if(k < 0)
        return 0;
    if(k >= static_cast<double>(cdf.size()))
        return 1;
    return cdf[static_cast<std::size_t>(k)];
}

namespace
{

// The exact one-sided Mann–Kendall tail of the series pre-whitened with phi (stats.hpp).
double whitened_rank_tail(const std::vector<double>& z, double& s)
{
    s = mk_statistic(z);
    // No concordant excess at all: no evidence of a rise.
    if(s <= 0)
        return 1;
    const auto groups = tie_groups(z);
    if(groups.size() == z.size())
        return mk_exact_upper_tail(z.size(), s);
    if(z.size() > exact_max_points)
        return mann_kendall(z).p_value;
    // Ties: the exact tail over the arrangements of this multiset of values.
    double untied_pairs = double(z.size()) * double(z.size() - 1) / 2;
    for(std::size_t t : groups)
        untied_pairs -= double(t) * double(t - 1) / 2;
    const auto pmf = tied_inversion_pmf(groups);
    const double k = std::floor((untied_pairs - s) / 2 + 1e-9);
    double tail = 0;
    for(std::size_t i = 0; i < pmf.size() && double(i) <= k; ++i)
        tail += pmf[i];
    return std::min(1.0, tail);
}

} // namespace

increment_result increment_test(const std::vector<double>& y)
{
    increment_result r;
    if(y.size() < 2)
        return r;
    r.increments = y.size() - 1;
    const double m = double(r.increments);
    double sum = 0;
    for(std::size_t t = 1; t < y.size(); ++t)
        sum += y[t] - y[t - 1];
    r.mean = sum / m;
    double squares = 0;
    for(std::size_t t = 1; t < y.size(); ++t)
        squares += (y[t] - y[t - 1] - r.mean) * (y[t] - y[t - 1] - r.mean);
    r.sd = r.increments > 1 ? std::sqrt(squares / (m - 1)) : 0;
    if(r.increments < 3 || r.mean <= 0)
        return r;
    // Every increment equal (up to rounding) and positive: a rise with no scatter at all.
    if(r.sd <= 1e-12 * std::abs(r.mean))
    {
        r.p_value = 0;
        return r;
    }
    const double t = r.mean / (r.sd / std::sqrt(m));
    r.p_value = boost::math::cdf(boost::math::complement(boost::math::students_t_distribution<double>(m - 1), t));
    return r;
}

trend_result trend_test(const std::vector<double>& y, double phi)
{
    trend_result r;
    const std::vector<double> z = prewhiten(y, phi);
    r.points = z.size();
    if(z.size() < 3)
        return r;
    r.p_rank = whitened_rank_tail(z, r.s);
    r.p_rise = increment_test(y).p_value;
    // Bonferroni: each test at alpha / 2, so the pair's false-positive rate is at most alpha.
    r.p_value = std::min(1.0, 2 * std::min(r.p_rank, r.p_rise));
    return r;
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

double median_of(std::vector<double> v)
{
    if(v.empty())
        return 0;
    const std::size_t mid = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
    const double upper = v[mid];
    if(v.size() % 2 == 1)
        return upper;
    const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
    return lower + (upper - lower) / 2;
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
