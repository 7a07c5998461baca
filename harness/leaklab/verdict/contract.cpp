#include "leaklab/verdict/contract.hpp"

#include <cmath>
#include <cstdio>

namespace leaklab::verdict {

namespace {

std::string value_text(double v, const std::string& unit)
{
    char buf[48];
    if(unit == "bytes" && std::abs(v) >= 1024)
    {
        const char* units[] = {"KiB", "MiB", "GiB"};
        int i = -1;
        while(std::abs(v) >= 1024 && i < 2)
        {
            v /= 1024;
            ++i;
        }
        std::snprintf(buf, sizeof buf, "%.1f %s", v, units[i]);
    }
    else
        std::snprintf(buf, sizeof buf, "%.6g%s", v, unit == "bytes" ? " B" : "");
    return buf;
}

} // namespace

std::string describe(const breach& b)
{
    const std::string when = b.when.empty()                  ? ""
                             : b.when == "baseline"          ? " at the baseline"
                             : b.when.rfind("after", 0) == 0 ? " " + b.when
                                                             : " in " + b.when;
    return b.clause + when + " (" + b.step + (b.count > 1 ? ", " + std::to_string(b.count) + " times" : "") +
           "): " + b.first;
}

std::string name(const bound& b)
{
    std::string out = b.metric;
    for(auto& m : b.plus)
        out += " + " + m;
    return out;
}

std::optional<double> value_in(const bound& b, const std::map<std::string, double>& values)
{
    auto it = values.find(b.metric);
    if(it == values.end())
        return std::nullopt;
    double sum = it->second;
    for(auto& m : b.plus)
        if(auto p = values.find(m); p != values.end())
            sum += p->second;
    return sum;
}

std::string describe(const bound& b)
{
    std::string out = name(b);
    if(b.min && b.max && *b.min == *b.max)
        return out + " stays at " + value_text(*b.min, b.unit);
    if(b.min_listeners)
        out += " counts at least every listener held open";
    if(b.max_per_listener)
    {
        char buf[96];
        std::snprintf(buf, sizeof buf, "%s comes back to at most %.3g per listener held open above its baseline", b.min_listeners ? " and" : "",
                      *b.max_per_listener);
        out += buf;
    }
    if(b.max_per_held)
    {
        char buf[112];
        std::snprintf(buf, sizeof buf, "%s comes back to at most %.3g per silent connection held open above its baseline",
                      b.min_listeners || b.max_per_listener ? " and" : "", *b.max_per_held);
        out += buf;
    }
    if(b.min && b.max)
        out += " stays between " + value_text(*b.min, b.unit) + " and " + value_text(*b.max, b.unit);
    else if(b.min)
        out += " stays at or above " + value_text(*b.min, b.unit);
    else if(b.max)
        out += " stays at or below " + value_text(*b.max, b.unit);
    if(b.max_rise)
        out += std::string(b.min || b.max || b.min_listeners ? " and" : "") + " rises at most " +
               value_text(*b.max_rise, b.unit) + " above its baseline";
    if(b.min_step)
        out += std::string(b.min || b.max || b.min_listeners || b.max_rise ? " and" : "") + " rises by at least " +
               value_text(*b.min_step, b.unit) + " every round";
    char buf[96];
    if(b.min_per_op && b.max_per_op)
        std::snprintf(buf, sizeof buf, " rises between %.3g and %.3g per operation", *b.min_per_op, *b.max_per_op);
    else if(b.min_per_op)
        std::snprintf(buf, sizeof buf, " rises at least %.3g per operation", *b.min_per_op);
    else if(b.max_per_op)
        std::snprintf(buf, sizeof buf, " rises at most %.3g per operation", *b.max_per_op);
    if(b.min_per_op || b.max_per_op)
        out += std::string(b.min || b.max || b.min_listeners || b.max_rise || b.min_step ? " and" : "") + buf +
               (b.ops_of.empty() ? "" : " answered on " + b.ops_of);
    return out;
}

std::optional<std::string> check_bound(const bound& b, std::optional<double> value, const bound_context& at)
{
    if(!value)
        return b.metric + " is not exported any more (the contract needs it: " +
               describe(b) + ")";
    const double v = *value;
    const std::string metric = name(b);
    if(b.min && v < *b.min)
        return metric + " is " + value_text(v, b.unit) + ", below " + value_text(*b.min, b.unit);
    if(b.max && v > *b.max)
        return metric + " is " + value_text(v, b.unit) + ", above " + value_text(*b.max, b.unit);
    if(b.min_listeners && v < double(at.listeners))
        return metric + " is " + value_text(v, b.unit) + " while " + std::to_string(at.listeners) +
               " listeners are connected";
    if(b.max_per_listener && v > at.baseline.value_or(0) + *b.max_per_listener * double(at.listeners))
        return metric + " is " + value_text(v, b.unit) + " once the round's clients have gone, while " +
               std::to_string(at.listeners) + " listeners are connected: more than " +
               value_text(*b.max_per_listener * double(at.listeners), b.unit) + " above its baseline " +
               value_text(at.baseline.value_or(0), b.unit) + " is left behind";
    if(b.max_per_held && v > at.baseline.value_or(0) + *b.max_per_held * double(at.held))
        return metric + " is " + value_text(v, b.unit) + " once the round's clients have gone, while " +
               std::to_string(at.held) + " silent connections are held open: more than " +
               value_text(*b.max_per_held * double(at.held), b.unit) + " above its baseline " +
               value_text(at.baseline.value_or(0), b.unit) + " is left behind";
    if(b.min_step && at.previous && v - *at.previous < *b.min_step)
        return metric + " went from " + value_text(*at.previous, b.unit) + " to " + value_text(v, b.unit) +
               " in a round: it must rise by at least " + value_text(*b.min_step, b.unit) + " a round";
    if(b.max_rise && at.baseline && v - *at.baseline > *b.max_rise)
        return metric + " rose " + value_text(v - *at.baseline, b.unit) + " above its baseline " +
               value_text(*at.baseline, b.unit) + ", more than " + value_text(*b.max_rise, b.unit);
    if(at.baseline && at.ops > 0 && (b.min_per_op || b.max_per_op))
    {
        const double per_op = (v - *at.baseline) / at.ops;
        char buf[160];
        if(b.min_per_op && per_op < *b.min_per_op)
        {
            std::snprintf(buf, sizeof buf, " rose %.3g per operation over %.0f operations, less than %.3g", per_op, at.ops,
                          *b.min_per_op);
            return metric + buf + (b.ops_of.empty() ? "" : " (operations answered on " + b.ops_of + ")");
        }
        if(b.max_per_op && per_op > *b.max_per_op)
        {
            std::snprintf(buf, sizeof buf, " rose %.3g per operation over %.0f operations, more than %.3g", per_op, at.ops,
                          *b.max_per_op);
            return metric + buf + (b.ops_of.empty() ? "" : " (operations answered on " + b.ops_of + ")");
        }
    }
    return std::nullopt;
}

} // namespace leaklab::verdict
