// Contracts: bounds on metrics, breaches in words, the verdict they force, the templates
// and gzip check the workload uses, and the manifest's contract and wrong-fix fields.
#include "leaklab/labs/manifest.hpp"
#include "leaklab/verdict/contract.hpp"
#include "leaklab/verdict/verdict.hpp"
#include "leaklab/workload/workload.hpp"

#include <catch2/catch.hpp>
#include <zlib.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace leaklab;

namespace {

std::string gzip(const std::string& text)
{
    z_stream zs{};
    REQUIRE(deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&zs, text.size()) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    zs.avail_in = static_cast<uInt>(text.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

// A lab in a temporary root, with this lab.json and, if given, a wrong-fixes folder.
struct temp_root
{
    fs::path root = fs::temp_directory_path() / ("leaklab-contract-" + std::to_string(std::rand()));
    fs::path lab = root / "labs" / "07-some-lab";
    fs::path fixes = root / "tests" / "wrong-fixes" / "07-some-lab";
    explicit temp_root(const std::string& json)
    {
        fs::create_directories(lab);
        std::ofstream(lab / "lab.json") << json;
    }
    ~temp_root() { fs::remove_all(root); }
};

std::string lab_json(const std::string& steps, const std::string& contract = "")
{
    return R"({"id": "07", "slug": "some-lab", "title": "T", "student_files": ["server.cpp"],
  "workload": { "rounds": 10, "steps": [ )" + steps + R"( ] },)" + contract + R"(
  "expect": { "leaky": { "verdict": "leak", "flagged": ["heap_bytes"] }, "fixed": { "verdict": "clean" } } })";
}

} // namespace

TEST_CASE("a bound is broken by a value out of range, a missing metric, too few listeners, a stalled counter")
{
    auto at = [](std::optional<double> baseline, std::size_t listeners = 0, std::optional<double> previous = std::nullopt,
                 double ops = 0) {
        verdict::bound_context c;
        c.baseline = baseline;
        c.listeners = listeners;
        c.previous = previous;
        c.ops = ops;
        return c;
    };
    auto named = [](const std::string& metric) {
        verdict::bound b;
        b.metric = metric;
        return b;
    };
    verdict::bound one_job = named("scheduled_jobs");
    one_job.min = one_job.max = 1.0;
    CHECK_FALSE(verdict::check_bound(one_job, 1.0, at(1.0)));
    CHECK(*verdict::check_bound(one_job, 0.0, at(1.0)) == "scheduled_jobs is 0, below 1");
    CHECK(*verdict::check_bound(one_job, 2.0, at(1.0)) == "scheduled_jobs is 2, above 1");
    // A counter the server stopped exporting breaks the bound: hiding it is no fix.
    CHECK(verdict::check_bound(one_job, std::nullopt, at(1.0))->find("not exported") != std::string::npos);

    verdict::bound counted = named("sessions_live");
    counted.min_listeners = true;
    CHECK_FALSE(verdict::check_bound(counted, 2.0, at(0.0, 2)));
    CHECK(*verdict::check_bound(counted, 0.0, at(0.0, 2)) == "sessions_live is 0 while 2 listeners are connected");

    verdict::bound peak = named("hwm_bytes");
    peak.max_rise = 8.0 * 1024 * 1024;
    peak.unit = "bytes";
    CHECK_FALSE(verdict::check_bound(peak, 12.0 * 1048576, at(5.0 * 1048576)));
    CHECK(*verdict::check_bound(peak, 20.0 * 1048576, at(5.0 * 1048576)) ==
          "hwm_bytes rose 15.0 MiB above its baseline 5.0 MiB, more than 8.0 MiB");

    verdict::bound written = named("log_lines_written");
    written.min_step = 1;
    CHECK_FALSE(verdict::check_bound(written, 10.0, at(0.0, 0, 9.0)));
    CHECK(verdict::check_bound(written, 9.0, at(0.0, 0, 9.0))->find("must rise by at least 1 a round") != std::string::npos);
    CHECK_FALSE(verdict::check_bound(written, 9.0, at(0.0)));  // no sample before: nothing to compare

    // Per operation: the same at any run size (--scale, --rounds).
    verdict::bound setups = named("deflate_streams");
    setups.min_per_op = 0.1;
    setups.max_per_op = 0.5;
    CHECK_FALSE(verdict::check_bound(setups, 40.0, at(0.0, 0, std::nullopt, 200)));
    CHECK_FALSE(verdict::check_bound(setups, 400.0, at(0.0, 0, std::nullopt, 2000)));
    CHECK(*verdict::check_bound(setups, 200.0, at(0.0, 0, std::nullopt, 200)) ==
          "deflate_streams rose 1 per operation over 200 operations, more than 0.5");
    CHECK(*verdict::check_bound(setups, 1.0, at(1.0, 0, std::nullopt, 200)) ==
          "deflate_streams rose 0 per operation over 200 operations, less than 0.1");

    // Once a round's clients have gone, the tasks left are what the listeners need.
    verdict::bound left = named("coroutines_live");
    left.min_listeners = true;
    left.max_per_listener = 4;
    CHECK_FALSE(verdict::check_bound(left, 6.0, at(0.0, 2)));
    CHECK_FALSE(verdict::check_bound(left, 9.0, at(1.0, 2)));  // above the baseline, not above zero
    CHECK(*verdict::check_bound(left, 1606.0, at(0.0, 2)) ==
          "coroutines_live is 1606 once the round's clients have gone, while 2 listeners are connected: more than 8 "
          "above its baseline 0 is left behind");
    CHECK(*verdict::check_bound(left, 1.0, at(0.0, 2)) == "coroutines_live is 1 while 2 listeners are connected");
    CHECK(verdict::describe(left) ==
          "coroutines_live counts at least every listener held open and comes back to at most 4 per listener held open "
          "above its baseline");

    // Silent connections held open: each may keep its read and its deadline, nothing more.
    verdict::bound idle = named("asio_ops_pending");
    idle.max_per_held = 2;
    verdict::bound_context four_idle;
    four_idle.baseline = 2;
    four_idle.held = 4;
    CHECK_FALSE(verdict::check_bound(idle, 10.0, four_idle));
    CHECK(*verdict::check_bound(idle, 14.0, four_idle) ==
          "asio_ops_pending is 14 once the round's clients have gone, while 4 silent connections are held open: more "
          "than 8 above its baseline 2 is left behind");
    four_idle.held = 0;  // none held (or all let go): back to the baseline
    CHECK(verdict::check_bound(idle, 3.0, four_idle));
    CHECK(verdict::describe(idle) == "asio_ops_pending comes back to at most 2 per silent connection held open above its baseline");

    CHECK(verdict::describe(one_job) == "scheduled_jobs stays at 1");
    CHECK(verdict::describe(counted) == "sessions_live counts at least every listener held open");
    CHECK(verdict::describe(setups) == "deflate_streams rises between 0.1 and 0.5 per operation");
}

TEST_CASE("a reconciliation: a metric plus others, the others counted 0 where not exported")
{
    verdict::bound logged;
    logged.metric = "log_lines_written";
    logged.plus = {"log_lines_dropped", "log_queue_depth"};
    logged.min_per_op = 0.9;
    verdict::bound_context at;
    at.baseline = 0;
    at.ops = 1000;
    // Written, dropped and queued add up to the requests: held.
    std::map<std::string, double> all{{"log_lines_written", 600}, {"log_lines_dropped", 300}, {"log_queue_depth", 100}};
    REQUIRE(verdict::value_in(logged, all) == 1000.0);
    CHECK_FALSE(verdict::check_bound(logged, verdict::value_in(logged, all), at));
    // A server with no drop counter: the others still have to add up.
    std::map<std::string, double> no_drops{{"log_lines_written", 950}, {"log_queue_depth", 0}};
    CHECK_FALSE(verdict::check_bound(logged, verdict::value_in(logged, no_drops), at));
    // Lines thrown away uncounted.
    std::map<std::string, double> cleared{{"log_lines_written", 200}, {"log_queue_depth", 6}};
    CHECK(*verdict::check_bound(logged, verdict::value_in(logged, cleared), at) ==
          "log_lines_written + log_lines_dropped + log_queue_depth rose 0.206 per operation over 1000 operations, "
          "less than 0.9");
    // The metric itself is not optional.
    std::map<std::string, double> hidden{{"log_lines_dropped", 1000}};
    CHECK_FALSE(verdict::value_in(logged, hidden));
    CHECK(verdict::describe(logged) == "log_lines_written + log_lines_dropped + log_queue_depth rises at least 0.9 per operation");
}

TEST_CASE("a breach is said with its clause, when, where and what was seen")
{
    verdict::breach b{"reply status", "round 3", "http-churn", 12, "POST /x answered 204, expected 400"};
    CHECK(verdict::describe(b) == "reply status in round 3 (http-churn, 12 times): POST /x answered 204, expected 400");
    b.when = "after the last round";
    b.count = 1;
    CHECK(verdict::describe(b) == "reply status after the last round (http-churn): POST /x answered 204, expected 400");
}

TEST_CASE("a broken contract decides the verdict, whatever grew")
{
    CHECK(verdict::decide({true}, false, false, true) == verdict::outcome::broken);
    CHECK(verdict::decide({false}, false, false, true) == verdict::outcome::broken);
    CHECK(verdict::decide({true}, false, false, false) == verdict::outcome::leak);
    CHECK(verdict::to_string(verdict::outcome::broken) == "broken");
    CHECK(verdict::parse_outcome("broken") == verdict::outcome::broken);
}

TEST_CASE("templates: {k} repeats keys, {r} is the round, {c} the listener")
{
    workload::template_vars v;
    v.n = 17;
    v.k = 17 % 4;
    v.r = 3;
    v.c = 1;
    CHECK(workload::expand("/d-{k}/s?t={n}&r={r}&c={c}", v) == "/d-1/s?t=17&r=3&c=1");
    CHECK(workload::make_body("{\"m\":\"{pad}\",\"r\":{r}}", v, 20) == "{\"m\":\"xxxxxx\",\"r\":3}");  // 20 bytes in all
}

TEST_CASE("gunzip takes a whole gzip stream and nothing else")
{
    const std::string text = "device,ts,temp\nd-1,1,21.5\n";
    CHECK(workload::gunzip(gzip(text)) == text);
    auto cut = gzip(text);
    cut.resize(cut.size() - 6);
    CHECK_FALSE(workload::gunzip(cut));
    CHECK_FALSE(workload::gunzip(text));
}

TEST_CASE("a manifest's contract: listeners, bounds, epilogue, and what is refused")
{
    using labs::load_manifest;
    using labs::manifest_error;
    {
        temp_root t(lab_json(R"({ "kind": "ws-listen", "path": "/feed", "connections": 2, "ping_every_ms": 1000 },
                                 { "kind": "http-churn", "path": "/d-{k}", "keys": 8, "expect_header": "X-Cache: HIT" },
                                 { "kind": "http-keepalive", "path": "/d-{k}", "keys": 8, "pause_ms": 100, "expect_cached": true })",
                             R"( "contract": { "promises": ["pings"], "stop_within_s": 2,
                                   "bounds": [ { "metric": "sessions_live", "min": "listeners" },
                                               { "metric": "hwm_bytes", "max_rise": 1048576 } ] },)"));
        auto m = load_manifest(t.lab / "lab.json");
        REQUIRE(m.plan.steps.size() == 3);
        CHECK(m.plan.steps[0].ping_every_ms == 1000);
        CHECK(m.plan.steps[1].keys == 8);
        CHECK(m.plan.steps[2].pause_ms == 100);
        CHECK(m.plan.steps[2].expect_cached);
        CHECK_FALSE(m.plan.steps[1].expect_cached);
        REQUIRE(m.plan.bounds.size() == 2);
        CHECK(m.plan.bounds[0].min_listeners);
        CHECK(m.plan.bounds[1].unit == "bytes");
        CHECK(m.plan.stop_within_s == 2);
        CHECK(m.promises == std::vector<std::string>{"pings"});
        CHECK(m.fixtures.empty());
    }
    {
        temp_root t(lab_json(R"({ "kind": "ws-quiet", "path": "/feed", "quiet_ms": 100, "connections": 4, "concurrency": 4,
              "setup": { "method": "PUT", "path": "/settings/x", "body": "9", "expect_status": 204, "endpoint": "metrics" },
              "trigger": { "method": "PUT", "path": "/settings/x", "body": "1" } })"));
        auto m = load_manifest(t.lab / "lab.json");
        REQUIRE(m.plan.steps.size() == 1);
        REQUIRE(m.plan.steps[0].setup);
        CHECK(m.plan.steps[0].setup->to_metrics);
        CHECK(m.plan.steps[0].setup->expect_status == 204);
        REQUIRE(m.plan.steps[0].trigger);
        CHECK_FALSE(m.plan.steps[0].trigger->to_metrics);
        CHECK(m.plan.steps[0].trigger->body == "1");
    }
    {
        temp_root t(lab_json(R"({ "kind": "ws-listen", "path": "/live", "connections": 1, "read_pause_ms": 6000,
              "receive_buffer": 4096, "expect_sequence": { "field": "seq", "per": "sensor" } })"));
        auto m = load_manifest(t.lab / "lab.json");
        REQUIRE(m.plan.steps.size() == 1);
        CHECK(m.plan.steps[0].read_pause_ms == 6000);
        CHECK(m.plan.steps[0].receive_buffer == 4096);
        CHECK(m.plan.steps[0].sequence_field == "seq");
        CHECK(m.plan.steps[0].sequence_per == "sensor");
    }
    auto refused = [](const std::string& json, const std::string& what) {
        temp_root t(json);
        CHECK_THROWS_WITH(load_manifest(t.lab / "lab.json"), Catch::Contains(what));
    };
    refused(lab_json(R"({ "kind": "http-churn", "ping_every_ms": 5 })"), "only a ws-listen step has ping_every_ms");
    refused(lab_json(R"({ "kind": "ws-churn", "expect_header": "X: y" })"), "only an HTTP step");
    refused(lab_json(R"({ "kind": "http-churn", "expect_header": "no colon" })"), "expected \"Name: text\"");
    refused(lab_json(R"({ "kind": "ws-listen", "connections": 2, "push_every_ms": 100 })"), "push_every_ms needs the texts to expect");
    refused(lab_json(R"({ "kind": "http-churn", "with_next": true })"), "the last step has no next step");
    refused(lab_json(R"({ "kind": "ws-listen", "connections": 2, "with_next": true }, { "kind": "http-churn" })"),
            "a ws-listen step cannot run at the same time");
    refused(lab_json(R"({ "kind": "http-churn" })", R"( "contract": { "bounds": [ { "metric": "x" } ] },)"),
            "a bound needs min, max, max_rise, min_step, min_per_op, max_per_op, max_per_listener or max_per_held");
    refused(lab_json(R"({ "kind": "http-churn", "pause_ms": 100 })"), "only http-keepalive and http-unread steps have pause_ms");
    refused(lab_json(R"({ "kind": "http-churn", "receive_buffer": 4096 })"), "only ws-listen and http-unread steps have receive_buffer");
    refused(lab_json(R"({ "kind": "http-unread", "concurrency": 2 })"), "runs its clients one at a time");
    refused(lab_json(R"({ "kind": "http-churn" })", R"( "contract": { "bounds": [ { "metric": "x", "max": 1, "ops_of": "/r" } ] },)"),
            "counts the operations of min_per_op or max_per_op");
    refused(lab_json(R"({ "kind": "storage-fault", "fault": "half" })"), "expected full or pass");
    refused(lab_json(R"({ "kind": "http-churn", "body_repeat": 10 })"), "repeats the body, and the step has none");
    refused(lab_json(R"({ "kind": "http-keepalive", "pause_ms": 20000 })"), "must be shorter than op_timeout_s");
    refused(lab_json(R"({ "kind": "ws-churn", "expect_cached": true })"), "only an HTTP step");
    // A change made while connections are open: ws-quiet opens them all at once, and says where it goes.
    refused(lab_json(R"({ "kind": "ws-churn", "trigger": { "path": "/x" } })"), "only ws-listen and ws-quiet steps have a trigger");
    refused(lab_json(R"({ "kind": "ws-listen", "setup": { "path": "/x" } })"), "only a ws-quiet step has a setup");
    refused(lab_json(R"({ "kind": "ws-quiet", "quiet_ms": 100, "connections": 8, "concurrency": 4, "trigger": { "path": "/x" } })"),
            "concurrency >= connections");
    refused(lab_json(R"({ "kind": "ws-churn", "expect_sequence": { "field": "seq" } })"), "only a ws-listen step has expect_sequence");
    refused(lab_json(R"({ "kind": "ws-listen", "expect_sequence": { "per": "sensor" } })"), "field");
    refused(lab_json(R"({ "kind": "ws-quiet", "quiet_ms": 100, "setup": { "path": "/x", "endpoint": "admin" } })"),
            "expected \"server\"");
    refused(lab_json(R"({ "kind": "http-churn" })", R"( "contract": { "bounds": [ { "metric": "x", "min": "some" } ] },)"),
            "\"listeners\"");
}

TEST_CASE("wrong fixes: every patch described, a verdict that rejects, a reason that is a regex")
{
    temp_root t(lab_json(R"({ "kind": "http-churn" })"));
    fs::create_directories(t.fixes);
    std::ofstream(t.fixes / "no-cache.patch") << "--- a/server.cpp\n+++ b/server.cpp\n";
    auto write = [&](const std::string& json) { std::ofstream(t.fixes / "fixtures.json") << json; };

    write(R"({"fixtures": [ {"name": "no-cache", "cheat": "c", "expect": {"verdict": ["broken", "error"], "reason": "^BROKEN: reply header"}} ]})");
    auto m = labs::load_manifest(t.lab / "lab.json");
    REQUIRE(m.fixtures.size() == 1);
    CHECK(m.fixtures[0].verdicts == std::vector<verdict::outcome>{verdict::outcome::broken, verdict::outcome::error});

    write(R"({"fixtures": [ {"name": "no-cache", "cheat": "c", "expect": {"verdict": "clean", "reason": "x"}} ]})");
    CHECK_THROWS_WITH(labs::load_manifest(t.lab / "lab.json"), Catch::Contains("a wrong fix is \"broken\", \"leak\", \"error\" or \"flagged\""));
    write(R"({"fixtures": [ {"name": "no-cache", "cheat": "c", "expect": {"mode": "valgrind", "verdict": "flagged", "reason": "x"}} ]})");
    CHECK(labs::load_manifest(t.lab / "lab.json").fixtures.at(0).mode == "valgrind");
    write(R"({"fixtures": [ {"name": "no-cache", "cheat": "c", "expect": {"mode": "msan", "verdict": "flagged", "reason": "x"}} ]})");
    CHECK_THROWS_WITH(labs::load_manifest(t.lab / "lab.json"), Catch::Contains("not a tool mode"));
    write(R"({"fixtures": [ {"name": "no-cache", "cheat": "c", "expect": {"verdict": "leak", "reason": "(["}} ]})");
    CHECK_THROWS_WITH(labs::load_manifest(t.lab / "lab.json"), Catch::Contains("not a regular expression"));
    write(R"({"fixtures": [ {"name": "other", "cheat": "c", "expect": {"verdict": "leak", "reason": "x"}} ]})");
    CHECK_THROWS_WITH(labs::load_manifest(t.lab / "lab.json"), Catch::Contains("no "));
    write(R"({"fixtures": []})");
    CHECK_THROWS_WITH(labs::load_manifest(t.lab / "lab.json"), Catch::Contains("no-cache.patch: not listed in"));
}
