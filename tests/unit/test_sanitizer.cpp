// The sanitizer report parser (tools/sanitizer.hpp), on reports captured from this kit's own
// runs (tests/fixtures/sanitizer-reports): ASan on labs 19 and 20, LSan on lab 05, TSan on lab 21.
#include "leaklab/tools/sanitizer.hpp"
#include "leaklab/tools/tampering.hpp"
#include "leaklab/tools/valgrind.hpp"
#include "leaklab/verdict/verdict.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

using namespace leaklab;

namespace {

std::string report_file(const std::string& name, const std::string& folder = "sanitizer-reports")
{
    std::ifstream in(std::string(LEAKLAB_TEST_ROOT) + "/tests/fixtures/" + folder + "/" + name);
    REQUIRE(in);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

TEST_CASE("ASan heap-use-after-free: the access, the free and the allocation, with own frames")
{
    auto f = tools::parse_reports(report_file("asan-19-heap-use-after-free.log"));
    REQUIRE(f.size() == 1);
    CHECK(f[0].tool == "AddressSanitizer");
    CHECK(f[0].kind == "heap-use-after-free");
    REQUIRE(f[0].stacks.size() == 3);
    CHECK(f[0].stacks[0].title == "READ of size 8 at 0x610000012cd8 thread T0");
    CHECK(f[0].stacks[1].title == "freed by thread T0 here:");
    CHECK(f[0].stacks[2].title == "previously allocated by thread T0 here:");
    // The top frame was not symbolized by the runtime: its module and offset are kept for addr2line.
    const auto& top = f[0].stacks[0].frames.front();
    CHECK(top.index == 0);
    CHECK(top.file.empty());
    CHECK(top.module == "/work/labs1921/build/asan/bin/lab19-leaky");
    CHECK(top.offset == 0xa9d743);
    // Frames in the Asio headers are not the server's own; the lab's allocation is.
    const auto* own = tools::first_own(f[0].stacks[2]);
    REQUIRE(own);
    CHECK(own->file == "/work/labs1921/labs/19-readings-acks-crash-after-disconnects/server.cpp");
    CHECK(own->line == 155);
    // labkit (harness/support) and main() are not where a lab's bug is.
    for(auto& st : f[0].stacks)
        if(auto* o = tools::first_own(st))
        {
            CHECK(o->file.find("/harness/support/") == std::string::npos);
            CHECK(o->function != "main");
        }
}

TEST_CASE("ASan stack-use-after-scope: the access in the lab's handler, the frame the variable lived in")
{
    auto f = tools::parse_reports(report_file("asan-20-stack-use-after-scope.log"));
    REQUIRE(f.size() == 1);
    CHECK(f[0].kind == "stack-use-after-scope");
    REQUIRE(f[0].stacks.size() == 2);
    CHECK(f[0].stacks[1].title == "Address 0x7fff01b65c70 is located in stack of thread T0 at offset 1200 in frame");
    const auto* own = tools::first_own(f[0].stacks[0]);
    REQUIRE(own);
    CHECK(own->line == 182);
    CHECK(own->function == "operator()");
    CHECK(tools::headline(f[0], "/work/labs1921") ==
          "AddressSanitizer stack-use-after-scope at labs/20-sensor-endpoints-answer-for-the-wrong-sensor/server.cpp:182 in operator()");
}

TEST_CASE("LSan: one finding per leak listed, with bytes and objects; a cycle leaks only indirectly")
{
    auto f = tools::parse_reports(report_file("lsan-05-indirect-leaks.log"));
    REQUIRE(f.size() == 4);
    for(auto& x : f)
    {
        CHECK(x.tool == "LeakSanitizer");
        CHECK(x.kind == "indirect leak");
        REQUIRE(x.stacks.size() == 1);
        CHECK(x.stacks[0].title == "allocated from:");
    }
    CHECK(f[0].bytes == 13839608);
    CHECK(f[0].objects == 5527);
    // Merged by kind and site: sums the bytes and objects of the leaks it joins.
    auto merged = tools::merge(f);
    std::uint64_t bytes = 0;
    for(auto& m : merged)
        bytes += m.bytes;
    CHECK(bytes == 13839608 + 9219072 + 3073024 + 2962472);
}

TEST_CASE("TSan data race: both accesses, the heap block, the thread, the frames with file:line")
{
    auto f = tools::parse_reports(report_file("tsan-21-data-race.log"));
    REQUIRE(f.size() == 1);
    CHECK(f[0].tool == "ThreadSanitizer");
    CHECK(f[0].kind == "data race");
    REQUIRE(f[0].stacks.size() == 4);
    CHECK(f[0].stacks[0].title == "Write of size 8 at 0x7b10000000d0 by thread T2:");
    CHECK(f[0].stacks[1].title == "Previous read of size 8 at 0x7b10000000d0 by main thread:");
    const auto* a = tools::first_own(f[0].stacks[0]);
    const auto* b = tools::first_own(f[0].stacks[1]);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(tools::short_function(a->function) == "fleet::join");
    CHECK(a->line == 35);
    CHECK(tools::short_function(b->function) == "fleet::reading");
    CHECK(b->line == 41);
    // TSan prints "<null>" where it knows no file: the frame keeps its module and offset.
    bool null_frame = false;
    for(auto& fr : f[0].stacks[0].frames)
        null_frame |= fr.file.empty() && fr.module == "lab21-leaky" && fr.offset > 0;
    CHECK(null_frame);
}

TEST_CASE("Reports of the same kind at the same own lines merge and count; text that is not a report is skipped")
{
    const auto one = report_file("tsan-21-data-race.log");
    auto f = tools::merge(tools::parse_reports("read: Connection reset by peer\n" + one + "\nsome other output\n" + one));
    REQUIRE(f.size() == 1);
    CHECK(f[0].count == 2);
    CHECK(tools::parse_reports("read: Connection reset by peer\nSUMMARY: nothing\n").empty());
}

TEST_CASE("short function names: no template arguments, no parameters, operators kept")
{
    CHECK(tools::short_function("feed_session::on_read(boost::system::error_code, unsigned long)::{lambda(boost::system::error_code)#1}::operator()(boost::system::error_code) const") ==
          "feed_session::on_read::{lambda#1}::operator()");
    CHECK(tools::short_function("std::deque<std::string, std::allocator<std::string> >::emplace_back<std::string>(std::string&&)") ==
          "std::deque::emplace_back");
    CHECK(tools::short_function("operator delete(void*, unsigned long)") == "operator delete");
    CHECK(tools::short_function("main") == "main");
}

TEST_CASE("tampering: attributes, the runtimes' interface and exits that skip the checks are found, comments are not read")
{
    auto kinds = [](const std::string& src) {
        std::vector<unsigned> lines;
        for(auto& f : tools::tampering_in_source(src, "server.cpp"))
            lines.push_back(f.stacks.at(0).frames.at(0).line);
        return lines;
    };
    // The red team's three (tests/wrong-fixes: alive-flag-no-sanitize, tsan-options-off, exit-and-fake-heap).
    CHECK(kinds("int x;\n__attribute__((no_sanitize_address)) bool alive() const { return a; }\n") == std::vector<unsigned>{2});
    CHECK(kinds("extern \"C\" const char* __tsan_default_options() { return \"report_bugs=0\"; }\n") == std::vector<unsigned>{1});
    CHECK(kinds("lab.on_stop([] { std::_Exit(0); });\nextern \"C\" size_t __sanitizer_get_current_allocated_bytes() { return 1; }\n") ==
          std::vector<unsigned>{1, 2});
    CHECK(kinds("[[gnu::no_sanitize(\"thread\")]] int f();\n#pragma GCC optimize(\"O0\")\nquick_exit(0);\n") ==
          std::vector<unsigned>{1, 2, 3});
    // Comments and ordinary code are not tampering.
    CHECK(kinds("// no_sanitize_address would hide it; _Exit(0) too\n/* __tsan_default_options */\nint exit_code = 0; std::exit(0);\n").empty());
    // The symbol table: definitions of the runtimes' names and the calls that silence a tool; not the instrumentation's.
    auto sym = tools::tampering_in_symbols("__tsan_default_options T 0000000000000000 000000000000000b\n"
                                           "__tsan_read8 U\n__asan_report_load8 U\n__asan_gen_.12 r 0000000000000040 0000000000000010\n"
                                           "__lsan_disable U\nmain T 0000000000000010 0000000000000020\n",
                                           "server.cpp.o");
    REQUIRE(sym.size() == 2);
    CHECK(sym[0].message.find("__tsan_default_options") != std::string::npos);
    CHECK(sym[1].message.find("__lsan_disable") != std::string::npos);
}

TEST_CASE("tampering: no lab or solution of the kit is flagged")
{
    namespace fs = std::filesystem;
    std::size_t files = 0;
    for(const char* top : {"labs", "solutions"})
        for(auto& e : fs::recursive_directory_iterator(fs::path(LEAKLAB_TEST_ROOT) / top))
            if(e.path().extension() == ".cpp" || e.path().extension() == ".hpp")
            {
                std::ifstream in(e.path());
                std::ostringstream s;
                s << in.rdbuf();
                INFO(e.path().string());
                CHECK(tools::tampering_in_source(s.str(), e.path()).empty());
                ++files;
            }
    CHECK(files >= 40);
}

TEST_CASE("memcheck XML: lost blocks by kind, bytes and blocks, the allocation's own frame")
{
    auto f = tools::parse_memcheck_xml(report_file("memcheck-06-definitely-lost.xml", "memcheck-reports"));
    REQUIRE(f.size() == 3);
    CHECK(f[0].kind == "possibly lost");
    CHECK(f[1].kind == "indirectly lost");
    CHECK(f[2].kind == "definitely lost");
    CHECK(f[2].tool == "memcheck");
    CHECK(f[2].bytes == 529375);
    CHECK(f[2].objects == 480);
    REQUIRE(f[2].stacks.size() == 1);
    CHECK(f[2].stacks[0].frames.front().function == "operator new(unsigned long)");
    const auto* own = tools::first_own(f[2].stacks[0]);
    REQUIRE(own);
    CHECK(tools::short_function(own->function) == "session::store_reading");
    CHECK(own->file.find("labs/06-readings-memory-climbs-with-400s/server.cpp") != std::string::npos);
    CHECK_THROWS(tools::parse_memcheck_xml("<valgrindoutput><error>"));
}

TEST_CASE("memcheck: the program has ended once its report says FINISHED, before the leak check")
{
    namespace fs = std::filesystem;
    const auto xml = report_file("memcheck-06-definitely-lost.xml", "memcheck-reports");
    const auto dir = fs::temp_directory_path() / ("leaklab-memcheck-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    auto write = [&](const std::string& text) { std::ofstream(dir / "valgrind.4242.xml") << text; };
    CHECK_FALSE(tools::memcheck_program_ended(dir, 4242));  // no report yet
    const auto finished = xml.find("<state>FINISHED</state>");
    REQUIRE(finished != std::string::npos);
    REQUIRE(xml.find("<kind>Leak_") > finished);  // the leak errors come after it
    write(xml.substr(0, xml.rfind("<status>", finished)));  // still running
    CHECK_FALSE(tools::memcheck_program_ended(dir, 4242));
    write(xml.substr(0, xml.find("<error>", finished)));  // ended, the leak check under way
    CHECK(tools::memcheck_program_ended(dir, 4242));
    CHECK_FALSE(tools::memcheck_program_ended(dir, 4243));  // another process's report
    fs::remove_all(dir);
}

TEST_CASE("memcheck --track-fds log: the server's descriptors open at exit, not the inherited ones")
{
    auto f = tools::parse_memcheck_fds(report_file("memcheck-18-open-descriptors.log", "memcheck-reports"));
    REQUIRE(f.size() == 32);  // 36 listed, 4 inherited from leaklab and valgrind
    for(auto& x : f)
    {
        CHECK(x.kind == "open descriptor");
        CHECK(x.message.find("/d-7.log") != std::string::npos);
    }
    auto merged = tools::merge(f);
    REQUIRE(merged.size() == 1);
    CHECK(merged[0].count == 32);
}

TEST_CASE("tool modes: what decides the verdict, and when clean cannot be said")
{
    using leaklab::verdict::outcome;
    namespace v = leaklab::verdict;
    // The tool's reports decide over whatever the run said, a crash it caused included.
    CHECK(v::with_tool_reports(outcome::error, 1) == outcome::flagged);
    CHECK(v::with_tool_reports(outcome::clean, 1) == outcome::flagged);
    CHECK(v::with_tool_reports(outcome::leak, 0) == outcome::leak);
    CHECK(v::with_tool_reports(outcome::clean, 0) == outcome::clean);
    // Tampering is flagged in every mode, but a skipped run stays skipped.
    CHECK(v::with_tampering(outcome::clean, 1) == outcome::flagged);
    CHECK(v::with_tampering(outcome::leak, 1) == outcome::flagged);
    CHECK(v::with_tampering(outcome::skipped, 1) == outcome::skipped);
    CHECK(v::with_tampering(outcome::clean, 0) == outcome::clean);
    // A tool blind to the lab's defect never turns a run clean; other verdicts stand.
    CHECK(v::with_blind_spot(outcome::clean, true) == outcome::inconclusive);
    CHECK(v::with_blind_spot(outcome::leak, true) == outcome::leak);
    CHECK(v::with_blind_spot(outcome::clean, false) == outcome::clean);
    CHECK(v::parse_outcome("flagged") == outcome::flagged);
    CHECK(v::parse_outcome("skipped") == outcome::skipped);
}

TEST_CASE("UBSan: a runtime error with its location and stack, in a server's stderr among its own lines")
{
    // Lab 18 under asan, out of descriptors: UBSan's own memory probe fails (a report the leak causes).
    auto f = tools::parse_reports(report_file("ubsan-18-invalid-vptr.log"));
    REQUIRE(f.size() == 1);
    CHECK(f[0].tool == "UndefinedBehaviorSanitizer");
    CHECK(f[0].kind == "undefined behaviour");
    CHECK(f[0].message.find("runtime error: member call on address") == 0);
    REQUIRE(f[0].stacks.size() == 1);
    REQUIRE(!f[0].stacks[0].frames.empty());
    CHECK(f[0].stacks[0].frames[0].file == "/usr/include/c++/12/bits/std_thread.h");
    CHECK(f[0].stacks[0].frames[0].line == 200);
    CHECK(tools::first_own(f[0].stacks[0]) == nullptr);  // nothing of the server's own code
}
