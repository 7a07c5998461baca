#include "leaklab/verdict/verdict.hpp"

#include "leaklab/verdict/metrics.hpp"
#include "leaklab/verdict/stats.hpp"

#include <algorithm>
#include <cstdio>

namespace leaklab::verdict {

namespace {

// A rate as a percentage, e.g. "12.5%".
std::string percent(double rate)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g%%", rate * 100);
    return buf;
}

double rate_of(const round_ops& r)
{
    return r.ops ? double(r.failed) / double(r.ops) : (r.failed ? 1.0 : 0.0);
}

} // namespace

std::string to_string(outcome o)
{
    switch(o)
    {
    case outcome::clean: return "clean";
    case outcome::leak: return "leak";
    case outcome::error: return "error";
    case outcome::inconclusive: return "inconclusive";
    case outcome::broken: return "broken";
    case outcome::flagged: return "flagged";
    case outcome::skipped: return "skipped";
    }
    return "error";
}

std::optional<outcome> parse_outcome(std::string_view s)
{
    if(s == "clean")
        return outcome::clean;
    if(s == "leak")
        return outcome::leak;
    if(s == "error")
        return outcome::error;
    if(s == "inconclusive")
        return outcome::inconclusive;
    if(s == "broken")
        return outcome::broken;
    if(s == "flagged")
        return outcome::flagged;
    if(s == "skipped")
        return outcome::skipped;
    return std::nullopt;
}

std::optional<std::string> not_serving(const round_ops& first, const serving_rule& rule)
{
    if(first.ops > 0 && !(double(first.failed) > rule.max_first_round_failure_rate * double(first.ops)))
        return std::nullopt;
    return "the server did not serve the workload: " + std::to_string(first.failed) + " of " +
           std::to_string(first.ops) + " operations failed in round " + std::to_string(first.round) +
           (first.first_error.empty() ? "" : " (first: " + first.first_error + ")");
}

std::optional<std::string> stopped_serving(const round_ops& r, const serving_rule& rule)
{
    if(!rule.stop_when_failing || r.round <= 1 || r.ops == 0 ||
       double(r.failed) < rule.stop_failure_rate * double(r.ops))
        return std::nullopt;
    return "the server stopped serving in round " + std::to_string(r.round) + ": " + std::to_string(r.failed) +
           " of " + std::to_string(r.ops) + " operations failed (first: " + r.first_error + ")";
}

metric_judgement judge_failures(const std::vector<round_ops>& rounds, const metric_rule& rule, std::size_t warmup_rounds,
                                const std::optional<std::string>& stopped)
{
    metric_judgement j{};
    if(rounds.empty())
    {
        j.reason = "no rounds";
        return j;
    }
    std::vector<double> x, y;
    for(auto& r : rounds)
    {
        x.push_back(double(r.round));
        y.push_back(rate_of(r));
    }
    j.baseline = y.front();
    j.final_value = y.back();
    if(stopped)
    {
        j.flagged = true;
        j.reason = *stopped;
        return j;
    }
    // The rounds after the warm-up, as for every metric.
    const std::size_t from = std::min(warmup_rounds, y.size());
    const std::vector<double> tx(x.begin() + static_cast<std::ptrdiff_t>(from), x.end());
    const std::vector<double> ty(y.begin() + static_cast<std::ptrdiff_t>(from), y.end());
    if(std::all_of(ty.begin(), ty.end(), [](double v) { return v == 0; }))
    {
        j.p_value = 1;
        j.reason = "no operation failed";
        return j;
    }
    if(ty.size() < 4)
    {
        j.reason = "too few rounds to judge the failure rate";
        return j;
    }
    j.p_value = trend_test(ty, rule.phi).p_value;
    j.slope_per_op = theil_sen(tx, ty);
    const std::size_t late = std::max<std::size_t>(3, (ty.size() + 1) / 2);
    j.late_slope_per_op = theil_sen({tx.end() - static_cast<std::ptrdiff_t>(late), tx.end()},
                                    {ty.end() - static_cast<std::ptrdiff_t>(late), ty.end()});
    const double rise = ty.back() - ty.front();
    const bool significant = j.p_value < rule.alpha;
    j.flagged = significant && j.slope_per_op >= rule.per_op_threshold &&
                j.late_slope_per_op >= rule.per_op_threshold / 2 && rise > rule.min_excess;
    const double peak = *std::max_element(ty.begin(), ty.end());
    if(j.flagged)
        j.reason = "the failure rate climbs from " + percent(ty.front()) + " to " + percent(ty.back()) + " (" +
                   percent(j.slope_per_op) + " more each round), still climbing at the end";
    else if(!significant || rise <= rule.min_excess)
        j.reason = "a steady failure rate (up to " + percent(peak) + " a round), not a climbing one";
    else
        j.reason = "the failure rate rose to " + percent(peak) + " and stopped climbing";
    return j;
}

outcome decide(const std::vector<bool>& flagged, bool stopped, bool undecided, bool breached)
{
    if(breached)
        return outcome::broken;
    if(stopped || std::any_of(flagged.begin(), flagged.end(), [](bool f) { return f; }))
        return outcome::leak;
    return undecided ? outcome::inconclusive : outcome::clean;
}

bool growth_explains_crash(const std::vector<bool>& flagged, bool breached)
{
    return !breached && std::any_of(flagged.begin(), flagged.end(), [](bool f) { return f; });
}

} // namespace leaklab::verdict

namespace leaklab::verdict {

outcome with_tool_reports(outcome run, std::size_t reports)
{
    return reports > 0 ? outcome::flagged : run;
}

double heap_site_threshold()
{
    return describe_metric("heap_bytes").rule.per_op_threshold;
}

bool heap_site_grows(double bytes_per_op)
{
    return bytes_per_op >= heap_site_threshold();
}

double pending_site_threshold()
{
    return describe_metric("asio_ops_pending").rule.per_op_threshold;
}

bool pending_site_grows(double per_op)
{
    return per_op >= pending_site_threshold();
}

outcome with_blind_spot(outcome run, bool leak_metrics_unjudged)
{
    return run == outcome::clean && leak_metrics_unjudged ? outcome::inconclusive : run;
}

outcome with_tampering(outcome run, std::size_t tamperings)
{
    return tamperings > 0 && run != outcome::skipped ? outcome::flagged : run;
}

} // namespace leaklab::verdict
