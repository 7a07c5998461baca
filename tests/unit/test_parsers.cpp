// The small parsers of the harness: Prometheus text, request templates, /proc.
#include "leaklab/sample/sampler.hpp"
#include "leaklab/workload/workload.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

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
