#include "leaklab/verdict/judge.hpp"

#include <catch2/catch.hpp>


#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using namespace leaklab::verdict;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace
{

constexpr double ops_per_round = 100;

// Cumulative operations for a baseline plus `rounds` rounds: 0, 100, 200, ...
std::vector<double> round_ops(std::size_t rounds)
{
    std::vector<double> x(rounds + 1);
    for(std::size_t i = 0; i <= rounds; ++i)
        x[i] = ops_per_round * static_cast<double>(i);
    return x;
}

// Uniform noise in [-amp, amp] from a fixed seed.
std::vector<double> small_noise(std::size_t n, double amp, unsigned seed)
{
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(-amp, amp);
    std::vector<double> v(n);
    for(double& d : v)
        d = u(rng);
    return v;
}


} // namespace

TEST_CASE("a linear trend with tiny noise is flagged", "[judge]")
{
    const std::vector<double> x = round_ops(16);
    const std::vector<double> noise = small_noise(x.size(), 0.5, 7);
    std::vector<double> y;
    for(std::size_t i = 0; i < x.size(); ++i)
        y.push_back(1000 + 1.0 * x[i] + noise[i]);
    const metric_judgement j = judge(x, y, {0.5});
    CHECK(j.flagged);
    CHECK(j.baseline == y.front());
    CHECK(j.final_value == y.back());
    CHECK(j.slope_per_op == Approx(1.0).epsilon(0.01));
    CHECK(j.late_slope_per_op == Approx(1.0).epsilon(0.02));
    CHECK(j.p_value < 1e-4);
    CHECK_THAT(j.reason, Contains("grows") && Contains("still growing"));
}

TEST_CASE("a plateau reached in the warm-up round is not flagged", "[judge]")
{
    const std::vector<double> x = round_ops(16);
    const std::vector<double> noise = small_noise(x.size(), 1.0, 11);
    std::vector<double> y{1000};
    for(std::size_t i = 1; i < x.size(); ++i)
        y.push_back(5000 + noise[i]);
    const metric_judgement j = judge(x, y, {0.5});
    CHECK_FALSE(j.flagged);
    CHECK(j.final_value - j.baseline > 3000);
    CHECK(j.p_value > 0.001);
    CHECK_THAT(j.reason, Contains("no significant trend"));
}

TEST_CASE("a single step in the middle of 16 rounds is not flagged", "[judge]")
{
    const std::vector<double> x = round_ops(16);
    const std::vector<double> noise = small_noise(x.size(), 1.0, 13);
    std::vector<double> y;
    for(std::size_t i = 0; i < x.size(); ++i)
        y.push_back((i <= 8 ? 1000 : 3000) + noise[i]);
    const metric_judgement j = judge(x, y, {0.5});
    CHECK_FALSE(j.flagged);
    CHECK(j.slope_per_op >= 0.5);
    CHECK(j.late_slope_per_op < 0.25);
    CHECK_THAT(j.reason, Contains("plateau") && Contains("stopped"));
}

TEST_CASE("growth that stops half way is a plateau, not a leak", "[judge]")
{
    const std::vector<double> x = round_ops(16);
    std::vector<double> y;
    for(double ops : x)
        y.push_back(1000 + std::min(ops, 800.0));
    const metric_judgement j = judge(x, y, {0.2});
    CHECK_FALSE(j.flagged);
    CHECK(j.slope_per_op >= 0.2);
    CHECK(j.late_slope_per_op == 0);
    CHECK_THAT(j.reason, Contains("plateau"));
}

TEST_CASE("a significant slope below the threshold is not flagged", "[judge]")
{
    const std::vector<double> x = round_ops(16);
    const std::vector<double> noise = small_noise(x.size(), 0.5, 17);
    std::vector<double> y;
    for(std::size_t i = 0; i < x.size(); ++i)
        y.push_back(1000 + 0.1 * x[i] + noise[i]);
    const metric_judgement j = judge(x, y, {0.5});
    CHECK_FALSE(j.flagged);
    CHECK(j.p_value < 0.001);
    CHECK(j.slope_per_op == Approx(0.1).epsilon(0.05));
    CHECK_THAT(j.reason, StartsWith("rises slowly: 0.0") && Contains("per op, far below the 0.5 leak threshold"));
}

TEST_CASE("a warm-up then a slow significant creep reads as warm-up, not as a leak", "[judge]")
{
    // The heap of a fixed lab 01: doubles in the warm-up round, then creeps ~2 B per op.
    const std::vector<double> x = round_ops(13);
    std::vector<double> y = {97600};
    for(std::size_t i = 1; i < x.size(); ++i)
        y.push_back(190000 + 2 * x[i] + (i % 2 ? 30 : -30));
    const metric_judgement j = judge(x, y, {64, 0.001, 0, "bytes"});
    CHECK_FALSE(j.flagged);
    CHECK(j.p_value < 0.001);
    CHECK_THAT(j.reason, StartsWith("warm-up then flat: ") && Contains("far below the 64 B leak threshold"));
}

TEST_CASE("exact integer counts: a rising count is flagged, a constant one is not", "[judge]")
{
    const std::vector<double> x = round_ops(16);
    std::vector<double> rising, constant(x.size(), 12);
    for(std::size_t i = 0; i < x.size(); ++i)
        rising.push_back(10 + static_cast<double>(i));
    const metric_rule rule{0.005};
    CHECK(judge(x, rising, rule).flagged);
    const metric_judgement j = judge(x, constant, rule);
    CHECK_FALSE(j.flagged);
    CHECK(j.p_value == 1);
    CHECK_THAT(j.reason, Contains("no significant trend (p=1, a leak needs p<0.001)"));
}

TEST_CASE("growth in the warm-up does not count as net growth", "[judge]")
{
    // Up 5000 in the warm-up round, then a significant 0.2/op over the judged rounds:
    // 5300 above the baseline, but only 300 over the judged rounds, under min_excess 1000.
    const std::vector<double> x = round_ops(16);
    std::vector<double> y{0};
    for(std::size_t i = 1; i < x.size(); ++i)
        y.push_back(5000 + 0.2 * x[i]);
    const metric_judgement j = judge(x, y, {0.1, 0.001, 1000});
    CHECK(j.final_value - j.baseline > 1000);
    CHECK(j.growth == Approx(300));
    CHECK_FALSE(j.flagged);
    CHECK_THAT(j.reason, Contains("no net growth over the judged rounds"));
}

TEST_CASE("min_excess must be exceeded, not just reached", "[judge]")
{
    const std::vector<double> x = round_ops(8);
    std::vector<double> y;
    for(std::size_t i = 0; i < x.size(); ++i)
        y.push_back(static_cast<double>(i));
    // Growth over the judged rounds (1 to 8) is 7.
    CHECK_FALSE(judge(x, y, {0.005, 0.01, 7}).flagged);
    CHECK(judge(x, y, {0.005, 0.01, 6.5}).flagged);
}

TEST_CASE("warm-up samples are left out of the trend", "[judge]")
{
    const std::vector<double> x = round_ops(6);
    const std::vector<double> y{0, 100, 200, 300, 300, 300, 300};
    const metric_judgement j = judge(x, y, {0.5, 0.05}, 3);
    CHECK(j.slope_per_op == 0);
    CHECK(j.baseline == 0);
    CHECK_FALSE(j.flagged);
}

TEST_CASE("too few rounds are not judged", "[judge]")
{
    const metric_judgement j = judge({0, 100, 200, 300}, {0, 100, 200, 300}, {0.5});
    CHECK_FALSE(j.flagged);
    CHECK_THAT(j.reason, Contains("too few rounds"));
    CHECK_THAT(judge({}, {}, {0.5}).reason, Contains("no samples"));
    CHECK_THAT(judge({0, 1}, {0, 1}, {0.5}, 5).reason, Contains("too few rounds"));
}

TEST_CASE("bad input is rejected with std::invalid_argument", "[judge]")
{
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    const std::vector<double> x = round_ops(5);
    const std::vector<double> y{1, 2, 3, 4, 5, 6};
    CHECK_THROWS_AS(judge(x, {1, 2, nan, 4, 5, 6}, {0.5}), std::invalid_argument);
    CHECK_THROWS_AS(judge({0, 100, inf, 300, 400, 500}, y, {0.5}), std::invalid_argument);
    CHECK_THROWS_AS(judge(x, {1, 2, 3}, {0.5}), std::invalid_argument);
    CHECK_THROWS_AS(judge({0, 200, 100, 300, 400, 500}, y, {0.5}), std::invalid_argument);
    CHECK_THROWS_AS(judge(x, y, {nan}), std::invalid_argument);
    CHECK_THROWS_AS(judge(x, y, {0.5, 0}), std::invalid_argument);
    CHECK_THROWS_WITH(judge(x, {1, 2, nan, 4, 5, 6}, {0.5}), Contains("NaN"));
}

