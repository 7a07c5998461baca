// The heapprof mode's reading of google-pprof's diff (tools/heapprof.hpp), on output captured
// from this kit's own runs (tests/fixtures/heapprof): lab 04's leaky server, and lab 03's
// solution with the "tombstones" wrong fix, whose growth is under the threshold.
#include "leaklab/tools/heapprof.hpp"
#include "leaklab/verdict/verdict.hpp"

#include "captured.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

using namespace leaklab;

namespace {

std::string captured(const std::string& name)
{
    return captured_file("heapprof", name);
}

} // namespace

TEST_CASE("pprof --stacks: every stack with its bytes, innermost frame first, file:line and function")
{
    auto stacks = tools::parse_pprof_stacks(captured("pprof-04-leaky.txt.gz"));
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
    auto sites = tools::growing_sites(tools::parse_pprof_stacks(captured("pprof-04-leaky.txt.gz")), 11220);
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
    auto sites = tools::growing_sites(tools::parse_pprof_stacks(captured("pprof-03-tombstones.txt.gz")), 5610);
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
    auto stacks = tools::parse_pprof_stacks(captured("pprof-04-leaky.txt.gz"));
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
