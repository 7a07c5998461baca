// The heapprof mode's reading of google-pprof's diff (tools/heapprof.hpp), on output captured
// from this kit's own runs (tests/fixtures/heapprof): lab 04's leaky server, and lab 03's
// solution with the "tombstones" wrong fix, whose growth is under the threshold.
#include "leaklab/tools/heapprof.hpp"
#include "leaklab/verdict/sites.hpp"
#include "leaklab/verdict/verdict.hpp"

#include "captured.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

using namespace leaklab;

namespace {

std::string heapprof_file(const std::string& name)
{
    return captured_file("heapprof", name);
}

} // namespace

TEST_CASE("pprof --stacks: every stack with its bytes, innermost frame first, file:line and function")
{
    auto stacks = tools::parse_pprof_stacks(heapprof_file("pprof-04-leaky.txt.gz"));
    REQUIRE(stacks.size() == 139);
    CHECK(std::any_of(stacks.begin(), stacks.end(), [](auto& s) { return s.bytes < 0; }));  // what shrank
    // The largest: the request copied into the audit timer's handler, under std::string's _M_create.
    const auto& top = *std::max_element(stacks.begin(), stacks.end(), [](auto& a, auto& b) { return a.bytes < b.bytes; });
    CHECK(top.bytes == 45968340);
    REQUIRE(top.frames.frames.size() > 3);
    CHECK(top.frames.frames[0].file == "/usr/include/c++/12/bits/basic_string.tcc");
    CHECK(top.frames.frames[0].line == 156);
    CHECK(top.frames.frames[0].function == "std::__cxx11::basic_string::_M_create");
    const auto* own = tools::first_own(top.frames);
    REQUIRE(own != nullptr);
    CHECK(own->file == "/work/heapprof/labs/04-upload-api-memory-grows/server.cpp");
    CHECK(own->line == 78);
    // "??:0:_start": no file.
    CHECK(top.frames.frames.back().function == "_start");
    CHECK(top.frames.frames.back().file.empty());
    // pprof's own lines on stderr ("Using local file ...") are not stacks.
    CHECK(tools::parse_pprof_stacks("Using local file x.\nTotal: 12 B\nStacks:\n\n").empty());
}

TEST_CASE("heapprof sites: lab 04's leaking line comes first, over the threshold")
{
    auto sites = tools::growing_sites(tools::parse_pprof_stacks(heapprof_file("pprof-04-leaky.txt.gz")), 11220);
    REQUIRE(sites.size() == 4);
    CHECK(sites[0].site.line == 78);
    CHECK(sites[0].site.function == "session::start_audit");
    CHECK(sites[0].bytes == 49936700);
    CHECK(sites[0].bytes_per_op == Approx(4450.7).epsilon(0.001));
    CHECK(verdict::heap_site_grows(sites[0].bytes_per_op));
    // Largest first; a site under the threshold is not a finding.
    for(std::size_t i = 1; i < sites.size(); ++i)
        CHECK(sites[i].bytes <= sites[i - 1].bytes);
    CHECK(sites[3].site.line == 51);
    CHECK_FALSE(verdict::heap_site_grows(sites[3].bytes_per_op));
    auto f = tools::as_finding(sites[0], 11220);
    CHECK(f.tool == "heapprof");
    CHECK(f.kind == "heap growth");
    CHECK(f.message == "49,936,700 bytes more over 11,220 operations, 4451 B/op");
    CHECK(tools::headline(f).find("heapprof heap growth at /work/heapprof/labs/04-upload-api-memory-grows/server.cpp:78 "
                                  "in session::start_audit") == 0);
}

TEST_CASE("heapprof sites: lab 03's tombstones grow 8 bytes a subscription, under heap_bytes' 64 B/op")
{
    auto sites = tools::growing_sites(tools::parse_pprof_stacks(heapprof_file("pprof-03-tombstones.txt.gz")), 5610);
    REQUIRE(sites.size() == 1);
    CHECK(sites[0].site.function == "session::on_accept");
    CHECK(sites[0].site.line == 47);
    CHECK(sites[0].bytes == 61440);
    CHECK(sites[0].bytes_per_op == Approx(10.95).epsilon(0.01));
    CHECK(verdict::heap_site_threshold() == 64);
    CHECK_FALSE(verdict::heap_site_grows(sites[0].bytes_per_op));
}

TEST_CASE("heapprof: growth on stacks that never reach the lab's code, the profile's own text left out")
{
    auto stacks = tools::parse_pprof_stacks(heapprof_file("pprof-04-leaky.txt.gz"));
    const auto other = tools::outside_own(stacks, 11220);
    CHECK(other.bytes >= 0);
    CHECK(tools::first_own(other.largest) == nullptr);
    // The profile's text (GetHeapProfile, from labkit's dump) is the measurement's: in another
    // run of lab 04 it held 1.4 MB more at the last profile. Given that growth, nothing changes.
    auto text = std::find_if(stacks.begin(), stacks.end(), [](auto& s) {
        return std::any_of(s.frames.frames.begin(), s.frames.frames.end(), [](auto& f) { return f.function == "GetHeapProfile"; });
    });
    REQUIRE(text != stacks.end());
    CHECK(text->bytes == 0);
    text->bytes = 1460249;
    const auto again = tools::outside_own(stacks, 11220);
    CHECK(again.bytes == other.bytes);
    CHECK(again.site.function == other.site.function);
    CHECK(again.site.function != "GetHeapProfile");
}

TEST_CASE("heapprof series: every profile of lab 07's leaky run, read raw, gives each site's bytes")
{
    // tests/fixtures/heapprof/series-07: the profiles after rounds 1 to 12 of `leaklab check 07
    // --variant leaky --mode heapprof`, and pprof's diff of the first and the last.
    const std::vector<double> ops = {454, 906, 1358, 1810, 2262, 2714, 3166, 3618, 4070, 4522, 4974, 5426};
    std::vector<tools::raw_profile> profiles;
    for(int round = 1; round <= 12; ++round)
    {
        char name[64];
        std::snprintf(name, sizeof name, "series-07/heapprof.round-%02d.heap.gz", round);
        profiles.push_back(tools::parse_raw_profile(heapprof_file(name)));
    }
    REQUIRE(profiles.front().size() > 100);
    const auto stacks = tools::parse_pprof_stacks(heapprof_file("series-07/pprof-round-01-round-12.txt.gz"));
    const auto sites = tools::growing_sites(stacks, 4972);
    REQUIRE(sites.size() == 6);
    CHECK(sites[0].site.line == 146);
    CHECK(sites[0].site.function.rfind("serve_connection", 0) == 0);  // "[clone .actor]": a coroutine
    std::size_t leaks = 0;
    for(auto& s : sites)
    {
        // pprof's stacks are found in the raw profiles (a caller's address is pprof's plus one):
        // the raw bytes of the last profile less the first are what pprof's diff says.
        CHECK(tools::bytes_at(s, profiles.back()) - tools::bytes_at(s, profiles.front()) == s.bytes);
        std::vector<double> series;
        for(auto& p : profiles)
            series.push_back(double(tools::bytes_at(s, p)));
        leaks += verdict::judge_site("heap_bytes", ops, series, sites.size()).grows;
    }
    // The watch sessions kept with everything they hold: every site grows round after round.
    CHECK(leaks == sites.size());
    // A raw profile's header is required; an address line is a stack, MAPPED_LIBRARIES ends them.
    CHECK_THROWS(tools::parse_raw_profile("Total: 12 B\n"));
    const auto p = tools::parse_raw_profile("heap profile:    2:    96 [    2:    96] @ heapprofile\n"
                                            "     1:    64 [     1:    64] @ 0x10 0x20\n"
                                            "     1:    32 [     1:    32] @ 0x11 0x21\n"
                                            "MAPPED_LIBRARIES:\n 1: 8 @ 0x99\n");
    CHECK(p.size() == 2);
    CHECK(p.at({0x10, 0x20}) == 64);
}
