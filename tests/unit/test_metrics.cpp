// The metric catalog and the serving decisions of verdict/.
#include "leaklab/verdict/metrics.hpp"
#include "leaklab/verdict/verdict.hpp"

#include <catch2/catch.hpp>

using namespace leaklab::verdict;
using Catch::Matchers::Contains;

TEST_CASE("the catalog says what each metric is", "[metrics]")
{
    CHECK(describe_metric("sessions_live").kind == metric_kind::count);
    CHECK(describe_metric("sessions_live").settles);
    CHECK(describe_metric("heap_bytes").kind == metric_kind::bytes);
    CHECK(describe_metric("heap_bytes").rule.per_op_threshold == 64);
    CHECK(describe_metric("rss_bytes").kind == metric_kind::rss);
    CHECK(describe_metric("rss_bytes").rule.min_excess == 1024 * 1024);
    CHECK_FALSE(describe_metric("rss_bytes").settles);
    CHECK_FALSE(describe_metric("hwm_bytes").judged);
    CHECK(describe_metric("failed_ops").kind == metric_kind::failures);
    CHECK(describe_metric("failed_ops").unit == "rate");
}

TEST_CASE("a metric the catalog does not list is a count, or bytes when its page says so", "[metrics]")
{
    // No guessing from the name: "cache_bytes" without a declared unit is a count.
    CHECK(describe_metric("devices_online").kind == metric_kind::count);
    CHECK(describe_metric("cache_bytes").kind == metric_kind::count);
    CHECK(describe_metric("cache_bytes", "bytes").kind == metric_kind::bytes);
    CHECK(describe_metric("cache_bytes", "bytes").unit == "bytes");
    CHECK(describe_metric("devices_online").rule.per_op_threshold == 0.01);
}

TEST_CASE("verdicts are an enum with stable names", "[metrics]")
{
    for(auto o : {outcome::clean, outcome::leak, outcome::error})
        CHECK(parse_outcome(to_string(o)) == o);
    CHECK_FALSE(parse_outcome("LEAK"));
    CHECK(decide({false, false}, false) == outcome::clean);
    CHECK(decide({false, true}, false) == outcome::leak);
    CHECK(decide({}, true) == outcome::leak);
}

TEST_CASE("round 1 must be served; a later round at half failed stops the run", "[metrics]")
{
    serving_rule rule;
    CHECK_FALSE(not_serving({1, 100, 1, ""}, rule));
    CHECK_THAT(*not_serving({1, 100, 2, "timeout"}, rule), Contains("2 of 100 operations failed in round 1 (first: timeout)"));
    CHECK(not_serving({1, 0, 0, ""}, rule));
    CHECK_FALSE(stopped_serving({1, 100, 100, ""}, rule));
    CHECK_FALSE(stopped_serving({3, 100, 49, ""}, rule));
    CHECK_THAT(*stopped_serving({3, 100, 50, "HTTP 503"}, rule), Contains("stopped serving in round 3"));
    rule.stop_when_failing = false;
    CHECK_FALSE(stopped_serving({3, 100, 100, ""}, rule));
}

namespace
{

std::vector<round_ops> rounds_with(const std::vector<std::size_t>& failed, std::size_t ops = 100)
{
    std::vector<round_ops> out;
    for(std::size_t i = 0; i < failed.size(); ++i)
        out.push_back({i + 1, ops, failed[i], failed[i] ? "timeout" : ""});
    return out;
}

} // namespace

TEST_CASE("failures are a rate: a steady 1 % is not a leak, a climbing rate is", "[metrics]")
{
    const auto rule = describe_metric("failed_ops").rule;
    // A loaded machine: 1 of 100 operations times out in every round. Cumulative, that was 0.01/op.
    auto steady = judge_failures(rounds_with({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}), rule, 1, std::nullopt);
    CHECK_FALSE(steady.flagged);
    CHECK_THAT(steady.reason, Contains("steady failure rate"));
    // Exhaustion: the rate climbs round after round.
    auto climbing = judge_failures(rounds_with({0, 0, 2, 5, 9, 14, 20, 27, 33, 38, 44, 49}), rule, 1, std::nullopt);
    CHECK(climbing.flagged);
    CHECK_THAT(climbing.reason, Contains("climbs from"));
    // A server that stopped serving is flagged with that reason, whatever the trend.
    auto stopped = judge_failures(rounds_with({0, 100}), rule, 1, std::string("the server stopped serving in round 2"));
    CHECK(stopped.flagged);
    CHECK(stopped.reason == "the server stopped serving in round 2");
    CHECK(judge_failures(rounds_with({0, 0, 0, 0, 0}), rule, 1, std::nullopt).reason == "no operation failed");
}

TEST_CASE("RSS is not judged where a runtime or an emulator grows it without a leak", "[metrics]")
{
    CHECK(not_judged_under("").empty());
    CHECK(not_judged_under("undefined").empty());
    CHECK(not_judged_under("address").count("rss_bytes") == 1);
    CHECK(not_judged_under("thread").count("hwm_bytes") == 1);
    // qemu-user keeps memory for every thread a program starts: RSS is the emulator's too. The
    // peak, used only by bounds (lab 14's "read the whole body first"), stays judged.
    auto emulated = not_judged_under("", true);
    CHECK(emulated.size() == 1);
    CHECK_THAT(emulated.at("rss_bytes"), Contains("qemu-user"));
    CHECK(emulated.count("hwm_bytes") == 0);
    // heap_bytes, the server's own count, is still judged everywhere.
    CHECK(not_judged_under("address", true).count("heap_bytes") == 0);
}

TEST_CASE("a crash mid-run is a leak only when the rounds before it already show growth", "[metrics]")
{
    CHECK(growth_explains_crash({false, true}, false));
    CHECK_FALSE(growth_explains_crash({false, false}, false));  // nothing grew: the crash is the error
    CHECK_FALSE(growth_explains_crash({true}, true));           // a broken contract is not explained by growth
    CHECK_FALSE(growth_explains_crash({}, false));
}
