// The localization modes' sites, judged over the run: an allocation site of the heap profiles
// (heapprof) or a site of pending operations (tasks) has a value at every dump, one after each
// round from the warm-up on, and is judged like the metric it is a part of (heap_bytes,
// asio_ops_pending): judge() on that series, with the metric's rule. A site that grew once (a
// table rehashed, one operation caught in flight at the last dump) is not a trend; one that
// keeps growing is. The sites of one run are many tests of one question, so each is held to
// the metric's alpha divided among them (Bonferroni).
#ifndef LEAKLAB_VERDICT_SITES_HPP
#define LEAKLAB_VERDICT_SITES_HPP

#include "leaklab/verdict/judge.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace leaklab::verdict {

struct site_judgement
{
    bool grows = false;
    double per_op = 0;          // (last - first) / operations between the first and the last dump
    bool trend_tested = false;  // false: too few dumps for the trend test to reach its alpha, the
                                // two ends decided (per_op against the threshold)
    metric_judgement trend;     // judge()'s, when trend_tested
    std::string reason;         // why it grows, or why not, in one sentence
};

// rule: the rule the run judged the metric by (the catalog's, or the lab's own threshold from
// its lab.json). ops: cumulative operations at each dump (non-decreasing); values: the site's
// value at each; sites: how many sites of the run are judged (at least 1). The first dump is
// the baseline and a trend point (it was taken after the warm-up).
site_judgement judge_site(const metric_rule& rule, const std::vector<double>& ops, const std::vector<double>& values,
                          std::size_t sites);
// The same with the catalog's rule of a metric ("heap_bytes", "asio_ops_pending").
site_judgement judge_site(const std::string& metric, const std::vector<double>& ops, const std::vector<double>& values,
                          std::size_t sites);

// The fewest dumps with which a site can reach the trend test's share of alpha among `sites`.
std::size_t dumps_needed(const metric_rule& rule, std::size_t sites);

} // namespace leaklab::verdict

#endif
