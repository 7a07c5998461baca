// The small parsers of the harness: Prometheus text, request templates, /proc.
#include "leaklab/sample/agent.hpp"
#include "leaklab/sample/sampler.hpp"
#include "leaklab/workload/workload.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

using namespace leaklab;

TEST_CASE("Prometheus text: gauges, comments, labels, junk")
{
    auto s = sample::parse_prometheus("# HELP sessions_live Sessions\n"
                                      "# TYPE sessions_live gauge\n"
                                      "sessions_live 42\n"
                                      "heap_bytes 1.5e+06\n"
                                      "http_requests{code=\"200\",path=\"/a b\"} 7\n"
                                      "garbage line without value\n"
                                      "not_a_number abc\n"
                                      "\n");
    CHECK(s.at("sessions_live") == 42);
    CHECK(s.at("heap_bytes") == 1.5e6);
    CHECK(s.at("http_requests{code=\"200\",path=\"/a b\"}") == 7);
    CHECK(s.count("garbage") == 0);
    CHECK(s.count("not_a_number") == 0);
}

TEST_CASE("request templates expand {n} and {i}")
{
    CHECK(workload::expand("/item?id={n}", 17) == "/item?id=17");
    CHECK(workload::expand("{\"seq\":{i},\"dev\":\"d-{n}\"}", 3, 9) == "{\"seq\":9,\"dev\":\"d-3\"}");
    CHECK(workload::expand("/plain", 5) == "/plain");
    CHECK(workload::expand("{n}{n}", 1) == "11");
    CHECK(workload::expand("{x}", 1) == "{x}");
}

TEST_CASE("/proc sampling of this very process")
{
    auto s = sample::read_proc(::getpid());
    CHECK(s.at("rss_bytes") > 0);
    CHECK(s.at("threads") >= 1);
    CHECK(s.at("fds") >= 3);
    CHECK_THROWS(sample::read_proc(999999999));
}

TEST_CASE("Prometheus text: OpenMetrics UNIT lines declare units")
{
    auto units = sample::parse_prometheus_units("# HELP cache_size_bytes x\n# UNIT cache_size_bytes bytes\n"
                                                "# TYPE cache_size_bytes gauge\ncache_size_bytes 10\n#UNIT junk\n");
    CHECK(units.size() == 1);
    CHECK(units.at("cache_size_bytes") == "bytes");
}

TEST_CASE("request bodies are padded to body_bytes at {pad}")
{
    auto b = workload::make_body(R"({"device":"d-{n}","samples":"{pad}"})", 7, 100);
    CHECK(b.size() == 100);
    CHECK(b.rfind(R"({"device":"d-7","samples":"xx)", 0) == 0);
    CHECK(b.substr(b.size() - 2) == "\"}");
    CHECK(workload::make_body("{pad}", 1, 0).empty());
    CHECK(workload::make_body("no pad {n}", 3, 500) == "no pad 3");
    CHECK(workload::make_body("{pad}tail", 1, 2) == "tail");
}

TEST_CASE("process tree: a shell and the two children it waits for")
{
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if(pid == 0)
    {
        ::execl("/bin/sh", "sh", "-c", "sleep 5 & sleep 5 & wait", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    std::vector<pid_t> tree;
    for(int i = 0; i < 100 && tree.size() < 3; ++i)
    {
        ::usleep(20'000);
        tree = sample::process_tree(pid);
    }
    auto s = sample::read_tree(tree);
    ::kill(-pid, SIGKILL);
    for(auto p : tree)
        ::kill(p, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    REQUIRE(tree.size() == 3);
    CHECK(tree.front() == pid);
    CHECK(s.at("processes") == 3);
    CHECK(s.at("threads") == 3);
    CHECK(s.at("rss_bytes") > 0);
}

TEST_CASE("heap agent: which programs it can load into")
{
    CHECK_FALSE(sample::agent_unsuitable("sh").has_value());  // found in PATH, dynamically linked
    auto stat = sample::agent_unsuitable("/sbin/ldconfig");  // Debian's ldconfig is static
    REQUIRE(stat.has_value());
    CHECK_THAT(*stat, Catch::Contains("statically linked"));
    auto suid = sample::agent_unsuitable("/usr/bin/su");
    REQUIRE(suid.has_value());
    CHECK_THAT(*suid, Catch::Contains("setuid"));
    CHECK_FALSE(sample::agent_unsuitable(LEAKLAB_TEST_ROOT "/README.md").has_value());  // not ELF: a script may run anything
}

TEST_CASE("heap agent: a preloaded process answers with its heap, and its thread is counted")
{
    auto lib = sample::agent_library();
    REQUIRE(lib.has_value());
    char dir_template[] = "/tmp/leaklab-agent-test.XXXXXX";
    REQUIRE(::mkdtemp(dir_template));
    {
        sample::heap_agent agent(dir_template, *lib);
        auto env = agent.environment();
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if(pid == 0)
        {
            for(auto& e : env)
                ::putenv(const_cast<char*>(e.c_str()));
            ::execl("/bin/sleep", "sleep", "5", static_cast<char*>(nullptr));
            ::_exit(127);
        }
        sample::heap_agent::reading r;
        for(int i = 0; i < 100 && r.processes == 0; ++i)
        {
            ::usleep(20'000);
            r = agent.read({pid}, std::chrono::milliseconds(500));
        }
        auto threads = sample::read_proc(pid).at("threads");
        auto other = agent.read({pid + 1}, std::chrono::milliseconds(100));
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        CHECK(r.processes == 1);
        CHECK(r.late == 0);
        CHECK(r.threads == 1);
        CHECK(threads == 2);  // sleep's own thread and the agent's
        CHECK(r.heap_bytes > 0);
        CHECK(other.processes == 0);  // only the processes asked about
    }
    std::filesystem::remove_all(dir_template);
}
