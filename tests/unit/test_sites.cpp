// A localization mode's site judged over the run's dumps (verdict/sites.hpp): a site that keeps
// growing is a leak; one that grew once, or by one operation caught in flight at the last dump,
// is not, however much that is per operation; too few dumps fall back on the two ends.
#include "leaklab/verdict/metrics.hpp"
#include "leaklab/verdict/sites.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace leaklab;

namespace {

// Cumulative operations after each of 12 rounds of 500, the first being the warm-up's end.
std::vector<double> ops12()
{
    std::vector<double> x;
    for(int i = 1; i <= 12; ++i)
        x.push_back(500.0 * i);
    return x;
}

} // namespace

TEST_CASE("sites: a site that grows every round is a leak, judged by the trend test")
{
    std::vector<double> y;
    for(int i = 0; i < 12; ++i)
        y.push_back(4096 + 40000.0 * i + (i % 3) * 700);  // 80 B/op, with some scatter
    auto j = verdict::judge_site("heap_bytes", ops12(), y, 5);
    CHECK(j.trend_tested);
    CHECK(j.grows);
    CHECK(j.per_op == Approx((y.back() - y.front()) / 5500));
    CHECK(j.trend.p_value < 0.001 / 5);
}

TEST_CASE("sites: a site that grew once (a table rehashed) is not a leak, even at many bytes per op")
{
    std::vector<double> y(12, 8192);
    for(std::size_t i = 4; i < y.size(); ++i)
        y[i] = 8192 + 1048576;  // one step of 1 MiB after round 4: 190 B/op end to end
    auto j = verdict::judge_site("heap_bytes", ops12(), y, 3);
    CHECK(j.trend_tested);
    CHECK(j.per_op > 64);
    CHECK_FALSE(j.grows);
}

TEST_CASE("sites: one operation caught pending at the last dump is not a trend")
{
    // Lab 09's leaky run under tasks saw +1 timer at the end over 68 operations (0.015 per op,
    // over asio_ops_pending's 0.01): with every round's dump it is one point.
    std::vector<double> x, y;
    for(int i = 0; i < 12; ++i)
    {
        x.push_back(6.0 * i);
        y.push_back(i == 11 ? 1 : 0);
    }
    auto j = verdict::judge_site("asio_ops_pending", x, y, 4);
    CHECK(j.per_op > 0.01);
    CHECK(j.trend_tested);
    CHECK_FALSE(j.grows);
}

TEST_CASE("sites: a pending operation per session kept is a leak")
{
    std::vector<double> y;
    for(int i = 0; i < 12; ++i)
        y.push_back(502 + 500.0 * i);
    auto j = verdict::judge_site("asio_ops_pending", ops12(), y, 2);
    CHECK(j.grows);
    CHECK(j.per_op == Approx(1.0));
}

TEST_CASE("sites: with too few dumps for the trend test, the two ends decide")
{
    auto j = verdict::judge_site("asio_ops_pending", {500, 1000, 1500}, {0, 10, 20}, 1);
    CHECK_FALSE(j.trend_tested);
    CHECK(j.grows);  // 0.02 per op
    CHECK(j.reason.find("two ends") != std::string::npos);
    auto k = verdict::judge_site("asio_ops_pending", {500, 1000}, {0, 1}, 1);
    CHECK_FALSE(k.grows);  // 0.002 per op
    CHECK_FALSE(verdict::judge_site("heap_bytes", {500}, {10}, 1).grows);
}

TEST_CASE("sites: the more sites judged, the more dumps the trend test needs (alpha shared among them)")
{
    const auto heap = verdict::describe_metric("heap_bytes").rule;
    // 0.001 for one site: 2 / 7! = 0.0004 < 0.001 with 8 dumps, 2 / 6! = 0.0028 is not.
    CHECK(verdict::dumps_needed(heap, 1) == 8);
    CHECK(verdict::dumps_needed(heap, 100) > verdict::dumps_needed(heap, 1));
    // Twelve dumps (the default run) hold up to a few thousand sites.
    CHECK(verdict::dumps_needed(heap, 2000) <= 12);
    CHECK_THROWS(verdict::judge_site("heap_bytes", {1, 2}, {1}, 1));
}

TEST_CASE("sites: a site is held to the rule its run judged the metric by (a lab's own threshold)")
{
    // Lab 11's leaky server: one more flush job a round of 200 requests, 300 more in the round
    // that reloads its settings, against the 0.001 per op its lab.json sets for asio_ops_pending.
    std::vector<double> x, y;
    for(int i = 0; i < 12; ++i)
    {
        x.push_back(200.0 * (i + 1) + (i == 11 ? 300 : 0));
        y.push_back(1 + i + (i == 11 ? 300 : 0));
    }
    CHECK_FALSE(verdict::judge_site("asio_ops_pending", x, y, 2).grows);  // 0.005 per op, under the catalog's 0.01
    auto rule = verdict::describe_metric("asio_ops_pending").rule;
    rule.per_op_threshold = 0.001;
    CHECK(verdict::judge_site(rule, x, y, 2).grows);
}
