#include "leaklab/verdict/stats.hpp"

#include <catch2/catch.hpp>


#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

using namespace leaklab::verdict;

namespace
{



// The integers 1..n as doubles.
std::vector<double> one_to(std::size_t n)
{
    std::vector<double> v(n);
    for(std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<double>(i + 1);
    return v;
}

} // namespace

TEST_CASE("Mann-Kendall on a strictly increasing series of 10", "[stats]")
{
    const mk_result r = mann_kendall(one_to(10));
    CHECK(r.s == 45);
    CHECK(r.var_s == Approx(125));
    CHECK(r.z == Approx(44 / std::sqrt(125.0)));
    CHECK(r.p_value == Approx(4.1515351663e-05).epsilon(1e-6));
}

TEST_CASE("Mann-Kendall with ties uses the tie-corrected variance", "[stats]")
{
    // Hand count: S = 5+5+4+1+1+1 = 17; var = (7*6*19 - 2*1*9 - 3*2*11) / 18 = 714/18.
    const mk_result r = mann_kendall({1, 1, 2, 3, 3, 3, 4});
    CHECK(r.s == 17);
    CHECK(r.var_s == Approx(714.0 / 18.0));
    CHECK(r.z == Approx(16 / std::sqrt(714.0 / 18.0)));
    CHECK(r.p_value == Approx(0.0055358223).epsilon(1e-6));
}

TEST_CASE("Mann-Kendall on a constant series gives p = 1", "[stats]")
{
    const mk_result r = mann_kendall({4, 4, 4, 4, 4, 4});
    CHECK(r.s == 0);
    CHECK(r.var_s == 0);
    CHECK(r.p_value == 1);
}

TEST_CASE("Mann-Kendall on a decreasing series gives p close to 1", "[stats]")
{
    std::vector<double> y = one_to(10);
    std::reverse(y.begin(), y.end());
    const mk_result r = mann_kendall(y);
    CHECK(r.s == -45);
    CHECK(r.p_value == Approx(0.9999584846).epsilon(1e-9));
}

TEST_CASE("Mann-Kendall with fewer than 3 points gives p = 1", "[stats]")
{
    CHECK(mann_kendall({}).p_value == 1);
    CHECK(mann_kendall({1, 2}).p_value == 1);
}

TEST_CASE("Theil-Sen ignores a single outlier on a line", "[stats]")
{
    std::vector<double> x, y;
    for(int i = 0; i < 10; ++i)
        x.push_back(i), y.push_back(2 * i + 1);
    y[5] = 100;
    CHECK(theil_sen(x, y) == 2);
}

TEST_CASE("Theil-Sen takes the mean of the two middle slopes for an even count", "[stats]")
{
    // Slopes: 1, 0.5, 4/3, 0, 1.5, 3 -> sorted middle pair 1 and 4/3.
    CHECK(theil_sen({0, 1, 2, 3}, {0, 1, 1, 4}) == Approx(7.0 / 6.0));
}

TEST_CASE("Theil-Sen skips pairs with equal x and returns 0 without pairs", "[stats]")
{
    CHECK(theil_sen({0, 0, 1}, {0, 100, 1}) == Approx((1.0 + -99.0) / 2));
    CHECK(theil_sen({5, 5, 5}, {1, 2, 3}) == 0);
    CHECK(theil_sen({}, {}) == 0);
}

TEST_CASE("Theil-Sen rejects x and y of different sizes", "[stats]")
{
    CHECK_THROWS_AS(theil_sen({1, 2, 3}, {1, 2}), std::invalid_argument);
}

