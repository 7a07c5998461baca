// Probe's evidence rule (verdict/evidence.hpp): decisions on shaped series, and the whole
// sequential procedure (judge, extend by doubling the rounds, at most three looks) measured
// by simulation on page-quantized AR(1) RSS noise: false positives <= alpha, power for a
// leak of 1.5x the 64 B/op target (64 bytes kept cost at least 80 in glibc: a chunk header).
#include "leaklab/verdict/evidence.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

using namespace leaklab::verdict;

namespace
{

constexpr double page = 4096;

struct series
{
    std::vector<double> x, y;
};

// Baseline plus `rounds` rounds of `ops` operations: level + leak * ops so far, plus AR(1)
// noise of sd `noise_pages` pages (coefficient phi), rounded to whole pages like VmRSS.
series rss_like(std::mt19937& rng, std::size_t rounds, double ops, double leak_per_op, double noise_pages, double phi)
{
    std::normal_distribution<double> g(0, 1);
    series s;
    double e = noise_pages * g(rng);
    const double innovation = noise_pages * std::sqrt(1 - phi * phi);
    for(std::size_t t = 0; t <= rounds; ++t)
    {
        const double x = ops * double(t);
        s.x.push_back(x);
        s.y.push_back(page * std::round((4 * 1024 * 1024 + leak_per_op * x) / page + e));
        e = phi * e + innovation * g(rng);
    }
    return s;
}

series prefix(const series& s, std::size_t points)
{
    return {{s.x.begin(), s.x.begin() + points}, {s.y.begin(), s.y.begin() + points}};
}

// The procedure probe runs: 12 rounds, doubled while inconclusive, three looks at most.
evidence decide(const series& whole, const evidence_rule& rule)
{
    std::size_t rounds = 12;
    evidence d = evidence::inconclusive;
    for(std::size_t look = 1; look <= rule.looks; ++look, rounds *= 2)
    {
        auto part = prefix(whole, rounds + 1);
        d = judge_evidence(part.x, part.y, rule, 1).decision;
        if(d != evidence::inconclusive)
            break;
    }
    return d;
}

struct rates
{
    double leak = 0, clean = 0, inconclusive = 0;
};

rates simulate(std::size_t runs, double leak_per_op, double noise_pages, double phi, std::uint32_t seed, double ops = 300)
{
    std::mt19937 rng(seed);
    const evidence_rule rule;
    rates r;
    for(std::size_t i = 0; i < runs; ++i)
    {
        const auto s = rss_like(rng, 48, ops, leak_per_op, noise_pages, phi);
        switch(decide(s, rule))
        {
        case evidence::leak: r.leak += 1; break;
        case evidence::clean: r.clean += 1; break;
        case evidence::inconclusive: r.inconclusive += 1; break;
        }
    }
    r.leak /= double(runs);
    r.clean /= double(runs);
    r.inconclusive /= double(runs);
    return r;
}

} // namespace

TEST_CASE("evidence: a steady 117 B/op rise in page-quantized RSS is a leak", "[evidence]")
{
    std::mt19937 rng(7);
    auto s = rss_like(rng, 12, 300, 117, 1, 0.5);
    auto e = judge_evidence(s.x, s.y, {}, 1);
    CHECK(e.decision == evidence::leak);
    CHECK(e.j.flagged);
    CHECK(e.applied.alpha == Approx(0.001 / 3));
    CHECK(e.resolution == 64 * 1024);  // one page of noise: the floor decides
}

TEST_CASE("evidence: a drift far below the target, measurable at this size, is clean", "[evidence]")
{
    std::mt19937 rng(8);
    auto s = rss_like(rng, 12, 300, 5.5, 1, 0.5);
    auto e = judge_evidence(s.x, s.y, {}, 1);
    CHECK(e.decision == evidence::clean);
    CHECK(e.target_growth > e.resolution);
}

TEST_CASE("evidence: a run too small for the smallest leak to show is inconclusive, not clean", "[evidence]")
{
    std::mt19937 rng(9);
    auto s = rss_like(rng, 12, 20, 0, 1, 0.5);  // 20 operations a round: 64 B/op adds 14 KiB in all
    auto e = judge_evidence(s.x, s.y, {}, 1);
    CHECK(e.decision == evidence::inconclusive);
    CHECK_THAT(e.j.reason, Catch::Contains("too few operations to decide"));
}

TEST_CASE("evidence: a real rise within the noise is inconclusive until the run is longer", "[evidence]")
{
    // 100 B/op at 40 operations a round: 44 KiB over 12 rounds, under the 64 KiB floor; 4x as many rounds decide.
    std::mt19937 rng(10);
    auto s = rss_like(rng, 48, 40, 100, 0, 0);
    auto short_run = prefix(s, 13);
    CHECK(judge_evidence(short_run.x, short_run.y, {}, 1).decision == evidence::inconclusive);
    CHECK(judge_evidence(s.x, s.y, {}, 1).decision == evidence::leak);
}

TEST_CASE("evidence: a bounded cache that fills in three rounds, then recycles, is clean", "[evidence]")
{
    series s;
    for(std::size_t t = 0; t <= 24; ++t)
    {
        s.x.push_back(300.0 * double(t));
        const double filled = std::min(1000.0, 300.0 * double(t));  // 1000 entries of 1 KiB
        s.y.push_back(page * std::round((4 * 1024 * 1024 + filled * 1024) / page + (t % 3 == 0 ? 1 : 0)));
    }
    auto e = judge_evidence(s.x, s.y, {}, 1);
    CHECK(e.decision == evidence::clean);
}

TEST_CASE("evidence procedure: false positives <= alpha on clean RSS noise, extensions included",
          "[evidence][simulation]")
{
    // RSS noise of 1 to 8 pages (the allocator trims and grows its top chunk), phi up to 0.8.
    for(auto [pages, phi] : {std::pair{1.0, 0.5}, std::pair{8.0, 0.8}, std::pair{24.0, 0.8}})
    {
        auto r = simulate(5000, 0, pages, phi, 11);
        INFO("noise " << pages << " pages, phi " << phi << ": leak " << r.leak << ", inconclusive " << r.inconclusive);
        CHECK(r.leak <= 0.001);
    }
}

TEST_CASE("evidence procedure: power for 96 B/op (64 bytes kept, with malloc's overhead) at the default size",
          "[evidence][simulation]")
{
    for(auto [pages, phi, want] : {std::tuple{1.0, 0.5, 0.999}, std::tuple{8.0, 0.8, 0.99}, std::tuple{24.0, 0.8, 0.9}})
    {
        auto r = simulate(1000, 96, pages, phi, 12);
        INFO("noise " << pages << " pages, phi " << phi << ": leak " << r.leak << ", clean " << r.clean
                      << ", inconclusive " << r.inconclusive);
        CHECK(r.leak >= want);
    }
}
