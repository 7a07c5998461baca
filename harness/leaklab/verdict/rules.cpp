#include "leaklab/verdict/rules.hpp"

namespace leaklab::verdict {

std::string unit_of(const std::string& metric)
{
    return metric.find("bytes") != std::string::npos ? "bytes" : "";
}

metric_rule default_rule(const std::string& metric)
{
    metric_rule r{};
    r.unit = unit_of(metric);
    if(metric == "rss_bytes")
    {
        r.per_op_threshold = 1024;
        r.min_excess = 1024 * 1024;
    }
    else if(unit_of(metric) == "bytes")
    {
        r.per_op_threshold = 64;
        r.min_excess = 64 * 1024;
    }
    else
    {
        r.per_op_threshold = 0.01;
        r.min_excess = 0;
    }
    return r;
}

bool never_judged(const std::string& metric)
{
    return metric == "hwm_bytes";
}

} // namespace leaklab::verdict
