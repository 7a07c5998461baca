// The tasks mode's reading of labkit's pending-operation dumps (tools/tasks.hpp), on dumps and
// addr2line output captured from this kit's own runs (tests/fixtures/tasks): lab 01, whose
// leak is a callback's timer, and lab 07, whose leak is a detached coroutine's timer.
#include "leaklab/tools/tasks.hpp"
#include "leaklab/verdict/verdict.hpp"

#include "captured.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace leaklab;

namespace {

std::string tasks_file(const std::string& name)
{
    return captured_file("tasks", name);
}

// A captured dump with its stacks resolved by the captured addr2line output.
std::vector<tools::pending_site> sites(const std::string& lab, const std::string& which)
{
    auto d = tools::parse_pending_dump(tasks_file("pending-" + lab + "-leaky." + which + ".txt"));
    tools::symbol_table table;
    tools::parse_addr2line(tasks_file("addr2line-" + lab + "-leaky.txt.gz"), "/work/main/build/dev/bin/lab" + lab + "-leaky", table);
    tools::resolve(d, table);
    return tools::sites_of(d);
}

} // namespace

TEST_CASE("pending dump: modules, stacks and groups as labkit writes them")
{
    const auto d = tools::parse_pending_dump(tasks_file("pending-07-leaky.final.txt"));
    CHECK(d.pending == 6008);
    REQUIRE(!d.groups.empty());
    std::int64_t coroutines = 0, ops = 0;
    for(auto& g : d.groups)
        (g.kind == "coroutine.spawn" ? coroutines : ops) += g.count;
    CHECK(coroutines == 4804);    // coroutines_live at the end of that run
    CHECK(ops == 6008);           // every pending operation is in a group
    // A stack's frames carry the module and the offset, for addr2line.
    const auto& s = d.stacks.begin()->second;
    REQUIRE(!s.frames.empty());
    CHECK(s.frames[0].module == "/work/main/build/dev/bin/lab07-leaky");
    CHECK(s.frames[0].offset > 0);
    CHECK(s.frames[1].index == 1);
    // Not a dump: said, not guessed.
    CHECK_THROWS(tools::parse_pending_dump("asio_ops_pending 12\n"));
    CHECK_THROWS(tools::parse_pending_dump("labkit-pending 1\ngroup 3 socket.async_receive awaited=1\n"));
}

TEST_CASE("tasks sites: lab 01's heartbeat timer comes first, created in session::do_heartbeat")
{
    const auto grew = tools::growing_sites(sites("01", "base"), sites("01", "final"), 5500);
    REQUIRE(!grew.empty());
    const auto& top = grew.front();
    CHECK(top.kind == "deadline_timer.async_wait");
    CHECK(tools::kind_label(top.kind) == "timer async_wait");
    CHECK(top.how == "created at");
    CHECK(top.own);
    CHECK(top.site.file == "/work/main/labs/01-live-feed-memory-climbs/server.cpp");
    CHECK(tools::short_function(top.site.function) == "session::do_heartbeat");
    CHECK(top.final_count - top.base == 5500);
    CHECK(top.per_op == Approx(1.0));
    CHECK(verdict::pending_site_grows(top.per_op));
    // Each dump's count on a site: what the series verdict/sites.hpp judges is made of.
    CHECK(tools::count_at(top, sites("01", "base")) == top.base);
    CHECK(tools::count_at(top, sites("01", "final")) == top.final_count);
    CHECK(tools::count_at(top, {}) == 0);
    // The listeners' reads, held the whole run, do not grow.
    for(auto& s : grew)
        CHECK((s.kind != "socket.async_receive" || !verdict::pending_site_grows(s.per_op)));
    const auto f = tools::as_finding(top, 5500);
    CHECK(f.tool == "tasks");
    CHECK(f.kind == "pending operations");
    CHECK(tools::headline(f, "/work/main").find("at labs/01-live-feed-memory-climbs/server.cpp:") != std::string::npos);
}

TEST_CASE("tasks sites: lab 07's detached watch is named by the co_await that started its timer")
{
    const auto grew = tools::growing_sites(sites("07", "base"), sites("07", "final"), 4972);
    REQUIRE(grew.size() >= 2);
    // First the timer each leaked watch waits on, then the coroutine itself, both +4,400.
    CHECK(grew[0].kind == "deadline_timer.async_wait");
    CHECK(grew[0].how == "awaited in");     // a coroutine: GCC 12 gives its co_await calls the closing line
    CHECK(grew[0].site.line == 0);
    CHECK(tools::short_function(grew[0].site.function) == "watch");
    CHECK(grew[0].final_count - grew[0].base == 4400);
    CHECK(grew[1].kind == "coroutine.spawn");
    CHECK(grew[1].how == "spawned at");
    CHECK(grew[1].site.line == 92);         // a plain call in a coroutine keeps its line
    CHECK(tools::short_function(grew[1].site.function) == "watch_session::serve");
    CHECK(tools::as_finding(grew[1], 4972).kind == "live coroutines");
    CHECK(tools::describe(grew[0], "/work/main").find("awaited in labs/07-config-watch-idle-cpu-climbs/server.cpp in watch") !=
          std::string::npos);
}

TEST_CASE("tasks sites: growth is counted per site, matched across the two dumps")
{
    tools::pending_site a;
    a.kind = "socket.async_receive";
    a.how = "created at";
    a.site.file = "server.cpp";
    a.site.line = 40;
    a.final_count = 10;
    auto b = a;
    b.final_count = 10;
    // The same count at both ends is not growth; a site only in the final dump grew by all of it.
    CHECK(tools::growing_sites({a}, {b}, 100).empty());
    auto c = a;
    c.site.line = 41;
    c.final_count = 5;
    const auto g = tools::growing_sites({a}, {b, c}, 100);
    REQUIRE(g.size() == 1);
    CHECK(g[0].site.line == 41);
    CHECK(g[0].per_op == Approx(0.05));
    CHECK(verdict::pending_site_threshold() == Approx(0.01));
}
