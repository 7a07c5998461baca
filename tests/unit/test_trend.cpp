// The trend test's false-positive rate and power, measured by simulation at the
// round counts the labs use (8 to 15 judged rounds), on AR(1) noise up to phi = 0.8
// (the rise test alone up to 0.95).
#include "leaklab/verdict/judge.hpp"
#include "leaklab/verdict/metrics.hpp"
#include "leaklab/verdict/stats.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace leaklab::verdict;

namespace
{

constexpr double alpha = 0.001;
// The pre-whitening coefficient under test: the kit's own unless LEAKLAB_PHI0 says otherwise (exploration).
const double whiten = std::getenv("LEAKLAB_PHI0") ? std::atof(std::getenv("LEAKLAB_PHI0")) : whitening_phi;

// AR(1) noise of stationary sd `sd` with coefficient phi, n points.
std::vector<double> ar1(std::mt19937& rng, double phi, double sd, std::size_t n)
{
    std::normal_distribution<double> g(0.0, 1.0);
    const double innovation = sd * std::sqrt(1 - phi * phi);
    double e = sd * g(rng);
    std::vector<double> y(n);
    for(auto& v : y)
    {
        v = e;
        e = phi * e + innovation * g(rng);
    }
    return y;
}

// Which test a simulation measures: the kit's trend test, or one of its two halves at alpha.
enum class which
{
    trend,
    rank,
    rise
};

double p_of(const std::vector<double>& y, which w)
{
    if(w == which::rise)
        return increment_test(y).p_value;
    const trend_result r = trend_test(y, whiten);
    return w == which::rank ? r.p_rank : r.p_value;
}

// The fraction of `runs` clean AR(1) series of n points the test calls significant.
double false_positive_rate(double phi, std::size_t n, int runs, unsigned seed, double quantum = 0,
                           which w = which::trend)
{
    std::mt19937 rng(seed);
    int hits = 0;
    for(int i = 0; i < runs; ++i)
    {
        auto y = ar1(rng, phi, 1.0, n);
        // Quantized series (RSS in pages, counts) have ties.
        if(quantum > 0)
            for(auto& v : y)
                v = std::round(v / quantum) * quantum;
        hits += p_of(y, w) < alpha;
    }
    return double(hits) / runs;
}

} // namespace

TEST_CASE("exact Mann-Kendall tail: Kendall's distribution for small n", "[trend]")
{
    // n = 4: 24 permutations; S = 6 once, S >= 4 four times (inversions <= 1), S >= -6 always.
    CHECK(mk_exact_upper_tail(4, 6) == Approx(1.0 / 24));
    CHECK(mk_exact_upper_tail(4, 4) == Approx(4.0 / 24));
    CHECK(mk_exact_upper_tail(4, -6) == Approx(1.0));
    CHECK(mk_exact_upper_tail(4, 7) == 0);
    // A perfectly monotone series of 7 whitened points: 1/7! = 0.000198; of 6: 0.00139.
    CHECK(mk_exact_upper_tail(7, 21) == Approx(1.0 / 5040));
    CHECK(mk_exact_upper_tail(6, 15) == Approx(1.0 / 720));
    // Above the exact table the normal tail takes over, close to the exact one at 64.
    CHECK(mk_exact_upper_tail(65, 300) == Approx(mk_exact_upper_tail(64, 300)).epsilon(0.25));
}

TEST_CASE("with ties the tail is exact over the arrangements of the multiset", "[trend]")
{
    // phi 0 leaves the series as it is (minus its first point). Brute force over all
    // orderings of {1, 1, 2, 3, 3, 3, 4} (7! of them) against the test's tail.
    const std::vector<double> values{1, 1, 2, 3, 3, 3, 4};
    const std::vector<double> series{9, 1, 1, 2, 3, 4, 3, 3}; // first point dropped by the whitening
    const trend_result r = trend_test(series, 0.0);
    std::vector<double> v = values;
    std::sort(v.begin(), v.end());
    int at_least = 0, total = 0;
    do
    {
        double s = 0;
        for(std::size_t i = 0; i < v.size(); ++i)
            for(std::size_t j = i + 1; j < v.size(); ++j)
                s += (v[j] > v[i]) - (v[j] < v[i]);
        at_least += s >= r.s;
        ++total;
    } while(std::next_permutation(v.begin(), v.end()));
    // next_permutation visits each distinct arrangement once: the uniform law on them.
    CHECK(r.s == 13);
    CHECK(r.p_rank == Approx(double(at_least) / total));
}

TEST_CASE("the rank test pre-whitens and needs 8 points for p < 0.001", "[trend]")
{
    CHECK(prewhiten({1, 2, 4}, 0.5) == std::vector<double>{1.5, 3});
    // Rising with a little jitter, so that the rise test is not certain.
    std::vector<double> rising;
    for(int i = 0; i < 8; ++i)
        rising.push_back(100 + 3 * i + 0.1 * (i % 2));
    CHECK(trend_test(rising).points == 7);
    CHECK(trend_test(rising).p_rank < alpha / 2);
    rising.pop_back();
    CHECK(trend_test(rising).p_rank > alpha / 2);
    CHECK(trend_test({5, 5, 5, 5, 5, 5, 5, 5, 5}).p_value == 1);
}

TEST_CASE("the rise test: the mean increment against its scatter", "[trend]")
{
    // Increments 2, 4, 3, 3: mean 3, sd sqrt(2/3); t = 3 / (0.8165 / 2) = 7.35 on 3 df.
    const auto r = increment_test({10, 12, 16, 19, 22});
    CHECK(r.increments == 4);
    CHECK(r.mean == Approx(3));
    CHECK(r.sd == Approx(std::sqrt(2.0 / 3)));
    CHECK(r.p_value == Approx(0.00260).epsilon(0.01));
    // Equal rises: no scatter, p 0; no mean rise or too few increments: p 1.
    CHECK(increment_test({1, 2, 3, 4, 5}).p_value == 0);
    CHECK(increment_test({5, 4, 6, 5, 4}).p_value == 1);
    CHECK(increment_test({1, 2, 3}).p_value == 1);
    // One jump is not a trend: 0, 0, 0, 0, 0, 0, 0, 0, 100 has t = 1.
    CHECK(increment_test({0, 0, 0, 0, 0, 0, 0, 0, 100}).p_value > 0.1);
    // The trend test takes the smaller p of its two halves, doubled.
    const auto t = trend_test({10, 12, 16, 19, 22, 24, 27, 31, 33});
    CHECK(t.p_value == Approx(std::min(1.0, 2 * std::min(t.p_rank, t.p_rise))));
}

TEST_CASE("AR(1) noise: false-positive rate of the trend test <= alpha at the labs' round counts", "[trend][simulation]")
{
    // 100,000 clean series per cell; the rate's standard error at 0.001 is 0.0001.
    const int runs = 100000;
    unsigned seed = 1;
    for(std::size_t n : {8, 11, 15})
        for(double phi : {0.0, 0.3, 0.5, 0.8})
        {
            const double fpr = false_positive_rate(phi, n, runs, seed++);
            INFO("n=" << n << " phi=" << phi << " false-positive rate " << fpr);
            CHECK(fpr <= alpha);
        }
}

TEST_CASE("the rise test alone stays <= alpha for every AR(1) phi up to 0.95", "[trend][simulation]")
{
    // Conservative below phi = 1 (stats.hpp); at phi 0 the increments are negatively correlated.
    unsigned seed = 50;
    for(std::size_t n : {8, 11, 15})
        for(double phi : {0.0, 0.5, 0.8, 0.95})
        {
            const double fpr = false_positive_rate(phi, n, 100000, seed++, 0, which::rise);
            INFO("n=" << n << " phi=" << phi << " rise test alone: false-positive rate " << fpr);
            CHECK(fpr <= alpha);
        }
}

TEST_CASE("ties (page-quantized series) keep the false-positive rate <= alpha", "[trend][simulation]")
{
    // RSS moves in 4 KiB pages; the clean labs' RSS noise is 0.06 to 2.4 pages (innovation sd).
    unsigned seed = 100;
    for(double quantum : {0.25, 0.5})
        for(std::size_t n : {8, 11, 15})
        {
            const double fpr = false_positive_rate(0.8, n, 100000, seed++, quantum);
            INFO("n=" << n << " quantum " << quantum << " sd: false-positive rate " << fpr);
            CHECK(fpr <= alpha);
        }
}

namespace
{

// The fraction of `runs` clean series the whole default rule of a metric flags: AR(1)
// noise (phi 0.8, innovation sd `innovation`) around `level`, quantized to `quantum`,
// sampled after rounds of `ops` operations, judged after one warm-up round.
double rule_false_positive_rate(const std::string& metric, double level, double innovation, double quantum,
                                double ops, std::size_t rounds, int runs, unsigned seed, double& trend_rate)
{
    std::mt19937 rng(seed);
    const auto rule = describe_metric(metric).rule;
    std::vector<double> x;
    for(std::size_t i = 0; i <= rounds; ++i)
        x.push_back(ops * double(i));
    int flagged = 0, trend = 0;
    for(int i = 0; i < runs; ++i)
    {
        auto y = ar1(rng, 0.8, innovation / 0.6, rounds + 1);
        for(auto& v : y)
            v = std::round((level + v) / quantum) * quantum;
        const auto j = judge(x, y, rule, 2);
        flagged += j.flagged;
        trend += j.p_value < rule.alpha;
    }
    trend_rate = double(trend) / runs;
    return double(flagged) / runs;
}

} // namespace

TEST_CASE("coarse quantization: the default rules do not over-flag", "[trend][simulation]")
{
    // A latent AR(1) wander far smaller than the quantum shows as rare, lasting steps, which
    // no whitening undoes (the rank test alone flags about 0.3 %, the trend test about
    // alpha). There the guards of the rule decide: RSS must grow 1 KiB/op and
    // 1 MiB over the judged rounds (lab 18's clean RSS: innovation sd 1.7 KiB, 4 KiB pages,
    // 80 ops a round, 16 rounds); a count must rise 0.01/op (lab 10: 40 ops a round).
    double trend = 0;
    const double rss = rule_false_positive_rate("rss_bytes", 4.5 * 1024 * 1024, 1700, 4096, 80, 16, 100000, 31, trend);
    INFO("rss: trend test alone " << trend << ", whole rule " << rss);
    CHECK(rss == 0);
    const double count = rule_false_positive_rate("asio_ops_pending", 3, 0.5, 1, 40, 11, 100000, 32, trend);
    INFO("count: trend test alone " << trend << ", whole rule " << count);
    CHECK(count <= alpha);
}

TEST_CASE("plain Mann-Kendall, which assumes independence, over-flags the same noise", "[trend][simulation]")
{
    // The reason for pre-whitening: the test the kit used before flags far more than alpha.
    std::mt19937 rng(7);
    int hits = 0;
    const int runs = 20000;
    for(int i = 0; i < runs; ++i)
        hits += mann_kendall(ar1(rng, 0.8, 1.0, 11)).p_value < alpha;
    INFO("plain MK at n=11, phi=0.8: " << double(hits) / runs);
    CHECK(double(hits) / runs > 10 * alpha);
}

TEST_CASE("power of the trend test: trends of a few innovation sd per round are found", "[trend][simulation]")
{
    // Power rises with the trend per round over the noise's innovation sd (b) and with n.
    struct cell
    {
        std::size_t n;
        double b;
        double min_power;
    };
    unsigned seed = 500;
    for(const cell& c : {cell{11, 2, 0.75}, cell{13, 2, 0.93}, cell{15, 2, 0.99}, cell{9, 4, 0.99}, cell{8, 4, 0.97}})
    {
        std::mt19937 rng(seed++);
        int hits = 0;
        const int runs = 5000;
        for(int i = 0; i < runs; ++i)
        {
            auto y = ar1(rng, 0.8, 1.0 / std::sqrt(1 - 0.64), c.n);
            for(std::size_t t = 0; t < y.size(); ++t)
                y[t] += c.b * double(t);
            hits += trend_test(y).p_value < alpha;
        }
        INFO("n=" << c.n << " trend " << c.b << " innovation sd per round: power " << double(hits) / runs);
        CHECK(double(hits) / runs >= c.min_power);
    }
}

TEST_CASE("a steady rise under sampling jitter is found: the rise test's case", "[trend][simulation]")
{
    // Lab 15's leaky heap: +72 KiB a round, every round, with a jitter of 11 KiB (sd) around
    // the line (phi about 0). Whitening with 0.85 leaves 15 % of the trend: the rank test
    // alone finds it in about half the runs, the trend test nearly always.
    std::mt19937 rng(600);
    std::normal_distribution<double> g(0.0, 1.0);
    int rank = 0, trend = 0;
    const int runs = 5000;
    for(int i = 0; i < runs; ++i)
    {
        std::vector<double> y;
        for(int t = 0; t < 11; ++t)
            y.push_back(1e6 + 72e3 * t + 11e3 * g(rng));
        const auto r = trend_test(y);
        rank += r.p_rank < alpha;
        trend += r.p_value < alpha;
    }
    INFO("rank test alone " << double(rank) / runs << ", trend test " << double(trend) / runs);
    CHECK(double(rank) / runs < 0.9);
    CHECK(double(trend) / runs >= 0.999);
}

// Not run by default: `unit_tests "[.trend-table]"` prints the measured tables that
// README.md and BENCHMARKS.md quote (false-positive rate and power by n and phi).
TEST_CASE("trend test tables", "[.trend-table]")
{
    const int runs = 200000;
    std::cout << "false-positive rate at alpha = 0.001 (" << runs << " clean AR(1) series per cell)\n";
    std::cout << "n \\ phi";
    const std::vector<double> phis{0.0, 0.3, 0.5, 0.7, 0.8, 0.9};
    for(double phi : phis)
        std::cout << "\t" << phi;
    std::cout << "\n";
    unsigned seed = 9000;
    for(double quantum : {0.0, 0.5})
        for(std::size_t n : {8, 9, 11, 13, 15})
        {
            std::cout << n << (quantum > 0 ? " (ties)" : "");
            for(double phi : phis)
                std::cout << "\t" << false_positive_rate(phi, n, runs, seed++, quantum);
            std::cout << "\n";
        }
    std::cout << "\npower at alpha = 0.001 (20000 series per cell), trend b in innovation sd per round, phi = 0.8\n";
    std::cout << "n \\ b";
    const std::vector<double> bs{1, 2, 4, 8, 16};
    for(double b : bs)
        std::cout << "\t" << b;
    std::cout << "\n";
    for(std::size_t n : {8, 9, 11, 13, 15})
    {
        std::cout << n;
        for(double b : bs)
        {
            std::mt19937 rng(seed++);
            int hits = 0;
            for(int i = 0; i < 20000; ++i)
            {
                auto y = ar1(rng, 0.8, 1.0 / 0.6, n);
                for(std::size_t t = 0; t < y.size(); ++t)
                    y[t] += b * double(t);
                hits += trend_test(y, whiten).p_value < alpha;
            }
            std::cout << "\t" << double(hits) / 20000;
        }
        std::cout << "\n";
    }
}

namespace
{

// Power of a metric's whole default rule: a leak of `k` times the threshold per op, under
// AR(1) noise (phi 0.8) whose innovation sd makes the threshold `b` innovation sd a round;
// 400 ops a round, 12 rounds, one warm-up round (lab 01's plan).
double rule_power(const std::string& metric, double b, double k, int runs, unsigned seed)
{
    std::mt19937 rng(seed);
    const auto rule = describe_metric(metric).rule;
    const double ops = 400, rounds = 12;
    const double innovation = rule.per_op_threshold * ops / b;
    std::vector<double> x;
    for(double i = 0; i <= rounds; ++i)
        x.push_back(ops * i);
    int flagged = 0;
    for(int i = 0; i < runs; ++i)
    {
        auto y = ar1(rng, 0.8, innovation / 0.6, x.size());
        for(std::size_t t = 0; t < y.size(); ++t)
            y[t] += 1e7 + k * rule.per_op_threshold * x[t];
        flagged += judge(x, y, rule, 2).flagged;
    }
    return double(flagged) / runs;
}

} // namespace

TEST_CASE("power of the default rules at the noise measured on the clean labs", "[trend][simulation]")
{
    // b = threshold per round / innovation sd, measured on the fixed variants (verify all):
    // heap_bytes from 1.8 (lab 15) to 89 (lab 04), median 4.7; rss_bytes 5.7 to 471, median 27.5.
    struct cell
    {
        const char* metric;
        double b, k, min_power;
    };
    unsigned seed = 700;
    for(const cell& c : {cell{"heap_bytes", 4.7, 1.5, 0.99}, cell{"heap_bytes", 1.8, 1.5, 0.97},
                         cell{"rss_bytes", 27.5, 1.5, 0.99}, cell{"heap_bytes", 1.8, 2, 0.99}})
    {
        const double power = rule_power(c.metric, c.b, c.k, 2000, seed++);
        INFO(c.metric << " at b=" << c.b << ", a leak of " << c.k << "x the threshold: flagged " << power);
        CHECK(power >= c.min_power);
    }
}

TEST_CASE("rule power tables", "[.trend-table]")
{
    std::cout << "\npower of the whole default rule (2000 series per cell; 400 ops a round, 12 rounds, "
                 "AR(1) phi 0.8)\nmetric\tb\t1x\t1.5x\t2x\t4x threshold\n";
    unsigned seed = 20000;
    for(auto [metric, b] : std::vector<std::pair<const char*, double>>{
            {"heap_bytes", 1.8}, {"heap_bytes", 4.7}, {"heap_bytes", 89}, {"rss_bytes", 5.7}, {"rss_bytes", 27.5},
            {"rss_bytes", 471}, {"sessions_live", 8}})
    {
        std::cout << metric << "\t" << b;
        for(double k : {1.0, 1.5, 2.0, 4.0})
            std::cout << "\t" << rule_power(metric, b, k, 2000, seed++);
        std::cout << "\n";
    }
}
