#include "leaklab/verdict/evidence.hpp"

#include "leaklab/verdict/stats.hpp"

#include <boost/math/distributions/students_t.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace leaklab::verdict {

namespace {

// The one-sided upper confidence bound of the mean growth per operation between
// consecutive points; +infinity with fewer than 3 increments.
double upper_bound(const std::vector<double>& x, const std::vector<double>& y, double confidence)
{
    std::vector<double> d;
    for(std::size_t i = 1; i < x.size(); ++i)
        if(x[i] > x[i - 1])
            d.push_back((y[i] - y[i - 1]) / (x[i] - x[i - 1]));
    if(d.size() < 3)
        return std::numeric_limits<double>::infinity();
    double mean = 0;
    for(double v : d)
        mean += v;
    mean /= double(d.size());
    double ss = 0;
    for(double v : d)
        ss += (v - mean) * (v - mean);
    const double se = std::sqrt(ss / double(d.size() - 1) / double(d.size()));
    const boost::math::students_t_distribution<double> t(double(d.size() - 1));
    return mean + boost::math::quantile(t, confidence) * se;
}

std::string kib(double bytes)
{
    char buf[48];
    if(std::abs(bytes) >= 1024 * 1024)
        std::snprintf(buf, sizeof buf, "%.3g MiB", bytes / (1024 * 1024));
    else if(std::abs(bytes) >= 1024)
        std::snprintf(buf, sizeof buf, "%.3g KiB", bytes / 1024);
    else
        std::snprintf(buf, sizeof buf, "%.3g B", bytes);
    return buf;
}

} // namespace

evidence_judgement judge_evidence(const std::vector<double>& x, const std::vector<double>& y, const evidence_rule& rule,
                                  std::size_t warmup)
{
    evidence_judgement e;
    const std::size_t from = std::min(warmup, x.size());
    const std::vector<double> tx(x.begin() + static_cast<std::ptrdiff_t>(from), x.end());
    const std::vector<double> ty(y.begin() + static_cast<std::ptrdiff_t>(std::min(from, y.size())), y.end());

    // The series' own noise: how far it strays from its trend line, robustly.
    if(tx.size() >= 2 && tx.size() == ty.size() && tx.back() > tx.front())
    {
        const double b = theil_sen(tx, ty);
        std::vector<double> level(ty.size());
        for(std::size_t i = 0; i < ty.size(); ++i)
            level[i] = ty[i] - b * tx[i];
        const double a = median_of(level);
        std::vector<double> residual(ty.size());
        for(std::size_t i = 0; i < ty.size(); ++i)
            residual[i] = std::abs(ty[i] - (a + b * tx[i]));
        e.noise = 1.4826 * median_of(residual);
        e.target_growth = rule.target_per_op * (tx.back() - tx.front());
    }
    e.resolution = std::max(rule.floor, rule.noise_multiple * e.noise);
    e.upper_per_op = upper_bound(tx, ty, rule.confidence);
    {
        const std::size_t late = std::max<std::size_t>(3, (tx.size() + 1) / 2);
        const std::size_t skip = tx.size() > late ? tx.size() - late : 0;
        e.upper_late_per_op = upper_bound({tx.begin() + std::ptrdiff_t(skip), tx.end()},
                                          {ty.begin() + std::ptrdiff_t(skip), ty.end()}, rule.confidence);
    }

    e.applied.per_op_threshold = rule.target_per_op;
    e.applied.alpha = rule.alpha / double(std::max<std::size_t>(1, rule.looks));
    e.applied.min_excess = e.resolution;
    e.applied.unit = rule.unit;
    e.j = judge(x, y, e.applied, warmup);

    const bool significant = e.j.p_value < e.applied.alpha;
    const bool fast = e.j.slope_per_op >= rule.target_per_op;
    const bool persists = e.j.late_slope_per_op >= rule.target_per_op / 2;
    if(e.j.flagged)
        e.decision = evidence::leak;
    else if(ty.size() < 4)
        e.decision = evidence::inconclusive;
    else if(significant && fast && persists)
    {
        e.decision = evidence::inconclusive;
        e.j.reason = "grows " + kib(e.j.slope_per_op) + " per op, but " + kib(e.j.growth) +
                     " in all is within this run's resolution (" + kib(e.resolution) + "): too few operations to decide";
    }
    else if(e.target_growth <= e.resolution)
    {
        e.decision = evidence::inconclusive;
        e.j.reason = "a leak of " + kib(rule.target_per_op) + " per op would add only " + kib(e.target_growth) +
                     " over these rounds, within this run's resolution (" + kib(e.resolution) + "): too few operations to decide";
    }
    else if(!(e.upper_per_op < rule.target_per_op || e.upper_late_per_op < rule.target_per_op / 2))
    {
        e.decision = evidence::inconclusive;
        e.j.reason = "growth per op could still be " + kib(std::min(e.upper_per_op, 2 * e.upper_late_per_op)) +
                     " (upper bound), at or above the " + kib(rule.target_per_op) +
                     " target: too noisy at this size to decide";
    }
    else
        e.decision = evidence::clean;
    return e;
}

} // namespace leaklab::verdict
