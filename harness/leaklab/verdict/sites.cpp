#include "leaklab/verdict/sites.hpp"

#include "leaklab/verdict/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace leaklab::verdict {

namespace {

// The smallest p the trend test can give on n points: its rank test, on the n - 1 whitened
// points with no ties, is at best 1 / (n - 1)!, and the pair is held at twice the smaller p.
double best_p(std::size_t n)
{
    if(n < 3)
        return 1;
    double factorial = 1;
    for(std::size_t k = 2; k + 1 <= n; ++k)
        factorial *= double(k);
    return std::min(1.0, 2 / factorial);
}

metric_rule shared(metric_rule rule, std::size_t sites)
{
    rule.alpha /= double(std::max<std::size_t>(1, sites));
    return rule;
}

} // namespace

std::size_t dumps_needed(const metric_rule& rule, std::size_t sites)
{
    const double alpha = shared(rule, sites).alpha;
    std::size_t n = 4;
    while(best_p(n) >= alpha && n < 64)
        ++n;
    return n;
}

site_judgement judge_site(const std::string& metric, const std::vector<double>& ops, const std::vector<double>& values,
                          std::size_t sites)
{
    return judge_site(describe_metric(metric).rule, ops, values, sites);
}

site_judgement judge_site(const metric_rule& run_rule, const std::vector<double>& ops, const std::vector<double>& values,
                          std::size_t sites)
{
    if(ops.size() != values.size())
        throw std::invalid_argument("judge_site: ops and values must have the same size");
    site_judgement out;
    const metric_rule rule = shared(run_rule, sites);
    if(values.size() < 2)
    {
        out.reason = "one dump only";
        return out;
    }
    const double span = ops.back() - ops.front();
    out.per_op = span > 0 ? (values.back() - values.front()) / span : 0;
    // Too few dumps for any series to reach the alpha: the two ends decide, as with two dumps.
    if(const auto needed = dumps_needed(run_rule, sites); values.size() < needed)
    {
        out.grows = out.per_op >= rule.per_op_threshold;
        out.reason = "judged on its two ends (" + std::to_string(values.size()) + " dumps, the trend test needs " +
                     std::to_string(needed) + ")";
        return out;
    }
    out.trend_tested = true;
    out.trend = judge(ops, values, rule, 0);
    out.grows = out.trend.flagged;
    out.reason = out.trend.reason;
    return out;
}

} // namespace leaklab::verdict
