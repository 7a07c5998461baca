// The heaptrack mode's reading of heaptrack_print (tools/heaptrack.hpp), on output captured
// from this kit's own run of lab 17's leaky server (tests/fixtures/heaptrack).
#include "leaklab/tools/heaptrack.hpp"

#include "captured.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

using namespace leaklab;

TEST_CASE("heaptrack sizes: units of 1000, two decimals")
{
    CHECK(tools::heaptrack_bytes("999B") == 999);
    CHECK(tools::heaptrack_bytes("370.37K") == 370370);
    CHECK(tools::heaptrack_bytes("27.92M") == 27920000);
    CHECK(tools::heaptrack_bytes("1.50G") == 1500000000);
    CHECK_THROWS(tools::heaptrack_bytes("12"));
    CHECK_THROWS(tools::heaptrack_bytes("K"));
    CHECK_THROWS(tools::heaptrack_bytes("1.2.3M"));
}

TEST_CASE("heaptrack leaks: every stack with its bytes, frames with their file:line and module")
{
    const auto stacks = tools::parse_heaptrack_leaks(captured_file("heaptrack", "print-17-leaky.txt.gz"));
    REQUIRE(stacks.size() == 12);
    const auto& top = stacks.front();
    CHECK(top.bytes == 27920000);
    REQUIRE(top.frames.frames.size() > 3);
    // The allocation's caller first: zlib has no line; the module says where it is.
    CHECK(top.frames.frames[0].function == "deflateInit2_");
    CHECK(top.frames.frames[0].file.empty());
    CHECK(top.frames.frames[0].module == "/lib/x86_64-linux-gnu/libz.so.1");
    CHECK(top.frames.frames[1].index == 1);
    // heaptrack 1.4 gives the session's own frame no line: the first own frame is its caller's.
    const auto* own = tools::first_own(top.frames);
    REQUIRE(own != nullptr);
    CHECK(own->file == "/work/main/labs/17-csv-export-memory-grows/server.cpp");
    CHECK(own->line == 164);
    const auto sites = tools::sites_by_line(stacks);
    REQUIRE(!sites.empty());
    std::int64_t sum = 0;
    for(auto& [key, s] : sites)
        sum += s.bytes;
    CHECK(sum > 100000000);  // the deflate states of every export, never ended
    // Lines that are not a stack are not read as one.
    CHECK(tools::parse_heaptrack_leaks("reading file \"x\" - please wait\nMEMORY LEAKS\n\nheaptrack stats:\n\tallocations: 3\n").empty());
}

TEST_CASE("heaptrack frames without a file get the file that defines their function, line unknown")
{
    CHECK(tools::shortened("std::vector<int, std::allocator<int> >::push_back(int&&)") == "std::vector<>::push_back(int&&)");
    CHECK(tools::shortened("session::start_audit()") == "session::start_audit()");
    CHECK(tools::shortened("std::ostream& std::operator<< <std::char_traits<char> >(char const*)") == "std::ostream& std::operator<< <>(char const*)");
    CHECK(tools::shortened("bool operator< <int>(a<b> const&)") == "bool operator< <>(a<> const&)");
    auto stacks = tools::parse_heaptrack_leaks(captured_file("heaptrack", "print-17-leaky.txt.gz"));
    // What `nm -C -l --defined-only` says of lab 17's session::run (the file it is defined in).
    const tools::function_files files = {{"session::run()", "/work/main/labs/17-csv-export-memory-grows/server.cpp"}};
    tools::place_frames(stacks, files, "/work/main/build/valgrind/bin/lab17-leaky");
    const auto* own = tools::first_own(stacks.front().frames);
    REQUIRE(own != nullptr);
    CHECK(own->function == "session::run()");
    CHECK(own->file == "/work/main/labs/17-csv-export-memory-grows/server.cpp");
    CHECK(own->line == 0);
    CHECK(tools::where(*own, "/work/main") == "labs/17-csv-export-memory-grows/server.cpp in session::run");
    // zlib's frame is another module's: left as it was.
    CHECK(stacks.front().frames.frames[0].file.empty());
}
