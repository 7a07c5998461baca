#include "leaklab/verdict/judge.hpp"

#include "leaklab/verdict/stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace leaklab::verdict
{

namespace
{

constexpr std::size_t min_trend_points = 4;
constexpr std::size_t min_late_points = 3;

// A number with three significant digits, e.g. "3.1", "64", "0.00012".
std::string num(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

// A value in the metric's unit: "5.7 KiB" for bytes, else num().
std::string in_unit(double v, const std::string& unit)
{
    if(unit != "bytes")
        return num(v);
    const char* units[] = {"B", "KiB", "MiB", "GiB"};
    int i = 0;
    while(std::abs(v) >= 1024 && i < 3)
    {
        v /= 1024;
        ++i;
    }
    return num(v) + " " + units[i];
}

// A p-value as "p<0.0001" or "p=0.21" (two significant digits, never rounded down to alpha).
std::string p_text(double p)
{
    if(p < 1e-4)
        return "p<0.0001";
    char buf[32];
    std::snprintf(buf, sizeof buf, "p=%.2g", p);
    return buf;
}

// Throw unless every value is finite.
void require_finite(const std::vector<double>& v, const char* name)
{
    for(double d : v)
        if(!std::isfinite(d))
            throw std::invalid_argument(std::string("judge: ") + name + " contains NaN or infinity");
}

// Throw on inputs judge() cannot make sense of.
void validate(const std::vector<double>& x, const std::vector<double>& y, const metric_rule& rule)
{
    if(x.size() != y.size())
        throw std::invalid_argument("judge: x and y must have the same size");
    require_finite(x, "x (operations)");
    require_finite(y, "y (metric values)");
    if(!std::is_sorted(x.begin(), x.end()))
        throw std::invalid_argument("judge: x (cumulative operations) must be non-decreasing");
    if(!std::isfinite(rule.per_op_threshold) || !std::isfinite(rule.min_excess))
        throw std::invalid_argument("judge: rule thresholds must be finite");
    if(!(rule.alpha > 0 && rule.alpha <= 1))
        throw std::invalid_argument("judge: rule.alpha must be in (0, 1]");
    if(!(rule.phi >= 0 && rule.phi < 1))
        throw std::invalid_argument("judge: rule.phi must be in [0, 1)");
}

// The elements of v from index `from` to the end.
std::vector<double> tail(const std::vector<double>& v, std::size_t from)
{
    return {v.begin() + static_cast<std::ptrdiff_t>(std::min(from, v.size())), v.end()};
}

// Explain a decision: the first failing condition in documented order, or why it is flagged.
// warmup_growth: how much the metric rose from the baseline to the first trend point.
std::string explain(const metric_judgement& j, const metric_rule& rule, bool significant, double warmup_growth)
{
    const double thr = rule.per_op_threshold;
    const bool fast = j.slope_per_op >= thr;
    const bool persists = j.late_slope_per_op >= thr / 2;
    if(fast && !persists)
        return "grew " + in_unit(j.slope_per_op, rule.unit) + " per op then stopped: plateau (late slope " +
               in_unit(j.late_slope_per_op, rule.unit) + " per op)";
    if(!significant)
        return "no significant trend (" + p_text(j.p_value) + ", a leak needs p<" + num(rule.alpha) + ")";
    if(!fast)
    {
        // A significant rise that is too slow to be a leak: say what shape it has, so a
        // student reading p<0.0001 next to a doubled heap knows it is not the leak.
        const std::string slope = in_unit(j.slope_per_op, rule.unit) + " per op";
        const std::string bar = in_unit(thr, rule.unit) + " leak threshold";
        const bool far = j.slope_per_op <= thr / 4;
        const double total = j.final_value - j.baseline;
        const bool early = total > 0 && warmup_growth >= total / 2;
        const bool flat_late = j.late_slope_per_op <= std::max(thr / 10, j.slope_per_op / 2);
        if(early || flat_late)
            return std::string("warm-up then flat: ") + slope + ", " + (far ? "far below" : "below") + " the " +
                   bar;
        return "rises slowly: " + slope + ", " + (far ? "far below" : "below") + " the " + bar;
    }
    if(!(j.growth > rule.min_excess))
        return "no net growth over the judged rounds: " + in_unit(j.growth, rule.unit) + ", needs > " +
               in_unit(rule.min_excess, rule.unit);
    return "grows " + in_unit(j.slope_per_op, rule.unit) + " per op (" + p_text(j.p_value) +
           "), still growing at the end";
}

} // namespace

metric_judgement judge(const std::vector<double>& x, const std::vector<double>& y, const metric_rule& rule,
                       std::size_t warmup)
{
    validate(x, y, rule);
    metric_judgement j{};
    // Nothing measured: nothing to judge.
    if(y.empty())
    {
        j.reason = "no samples";
        return j;
    }
    j.baseline = y.front();
    j.final_value = y.back();
    // (a) Enough trend points after the warm-up.
    const std::vector<double> tx = tail(x, warmup);
    const std::vector<double> ty = tail(y, warmup);
    if(ty.size() < min_trend_points)
    {
        j.reason = "too few rounds to judge (" + std::to_string(ty.size()) + " trend points, need " +
                   std::to_string(min_trend_points) + ")";
        return j;
    }
    // (b) The trend test: pre-whitened, exact.
    j.p_value = trend_test(ty, rule.phi).p_value;
    // (c) Theil–Sen slope over all trend points.
    j.slope_per_op = theil_sen(tx, ty);
    // (d) Theil–Sen slope over the last half of the trend points.
    const std::size_t late = std::max(min_late_points, (ty.size() + 1) / 2);
    j.late_slope_per_op = theil_sen(tail(tx, tx.size() - late), tail(ty, ty.size() - late));
    // (e) Growth over the judged rounds, and the verdict: all conditions must hold.
    j.growth = ty.back() - ty.front();
    const bool significant = j.p_value < rule.alpha;
    j.flagged = significant && j.slope_per_op >= rule.per_op_threshold &&
                j.late_slope_per_op >= rule.per_op_threshold / 2 && j.growth > rule.min_excess;
    j.reason = explain(j, rule, significant, ty.front() - j.baseline);
    return j;
}

} // namespace leaklab::verdict
