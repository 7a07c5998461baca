// Grading: how a check is scored, and what course tools get.
#include "leaklab/grade/grade.hpp"

#include <catch2/catch.hpp>

using namespace leaklab;
namespace json = boost::json;

namespace {

labs::manifest lab04()
{
    labs::manifest m;
    m.dir = "labs/04-upload-api-memory-grows";
    m.id = "04";
    m.slug = "upload-api-memory-grows";
    m.title = "The upload API";
    m.student_files = {"server.cpp"};
    return m;
}

grade::attempt ran(json::object result)
{
    grade::attempt a;
    a.ran = true;
    a.exit = process::exit_status{true, 0, false};
    a.result = std::move(result);
    return a;
}

} // namespace

TEST_CASE("a check scores full marks only for CLEAN, and says why it did not")
{
    auto lab = lab04();
    auto clean = grade::score(ran({{"verdict", "clean"}, {"summary", "CLEAN: no metric keeps growing"}}), "ana", lab, "growth", 10);
    CHECK(clean.passed);
    CHECK(clean.score == 10);

    auto leak = grade::score(ran({{"verdict", "leak"}, {"summary", "LEAK: heap_bytes keeps growing"}}), "bo", lab, "growth", 10);
    CHECK_FALSE(leak.passed);
    CHECK(leak.score == 0);
    CHECK(leak.reason == "LEAK: heap_bytes keeps growing");

    grade::attempt missing;
    missing.missing = {"server.cpp"};
    CHECK(grade::score(missing, "cy", lab, "growth", 10).reason ==
          "not submitted: labs/04-upload-api-memory-grows/ with server.cpp was not found");

    grade::attempt broken_build;
    broken_build.build_error = "server.cpp:3: error: expected ';'";
    auto b = grade::score(broken_build, "di", lab, "growth", 10);
    CHECK(b.verdict == "build");
    CHECK(b.output.find("expected ';'") != std::string::npos);

    grade::attempt hung;
    hung.ran = true;
    hung.timeout_s = 300;
    CHECK(grade::score(hung, "ed", lab, "growth", 10).verdict == "timeout");

    // Clean, but it forked past the ceiling: zero.
    auto forks = ran({{"verdict", "clean"}, {"summary", "CLEAN"}});
    forks.forks_refused = 12;
    forks.process_limit = 512;
    CHECK(grade::score(forks, "fa", lab, "growth", 10).reason ==
          "the server tried to start more than 512 processes and threads (the sandbox refused 12 of them)");

    // Killed for writing too much: said in the sandbox's words.
    auto flood = grade::score(ran({{"verdict", "error"},
                                   {"summary", "ERROR: the server killed by signal 25 (File size limit exceeded)"},
                                   {"server_exit", "killed by signal 25 (File size limit exceeded)"}}),
                              "gu", lab, "growth", 10);
    CHECK(flood.reason.rfind("the server wrote more output than the sandbox allows", 0) == 0);
}

TEST_CASE("the gradebook, JUnit and Gradescope files carry each score and reason")
{
    auto lab = lab04();
    std::vector<grade::check> checks = {
        grade::score(ran({{"verdict", "clean"}, {"summary", "CLEAN"}}), "ana", lab, "growth", 10),
        grade::score(ran({{"verdict", "broken"}, {"summary", "BROKEN: reply status <503> & \"more\""}}), "o'neil, b", lab,
                     "growth", 10)};
    CHECK(grade::csv(checks) == "student,lab 04,total,max\nana,10,10,10\n\"o'neil, b\",0,0,10\n");
    const auto xml = grade::junit(checks);
    CHECK(xml.find("<testsuite name=\"o&apos;neil, b\" tests=\"1\" failures=\"1\"") != std::string::npos);
    CHECK(xml.find("message=\"BROKEN: reply status &lt;503&gt; &amp; &quot;more&quot;\" type=\"broken\"") !=
          std::string::npos);
    auto gs = grade::gradescope({checks[1]});
    CHECK(gs.at("score").as_double() == 0);
    auto& t = gs.at("tests").as_array()[0].as_object();
    CHECK(t.at("status").as_string() == "failed");
    CHECK(t.at("max_score").as_double() == 10);
    CHECK(t.at("visibility").as_string() == "visible");

    // GitHub Classroom's reporter: a runner result whose status fails when any check does,
    // the maximum summed, each test's score and its reason as the message.
    auto cr = grade::classroom(checks);
    CHECK(cr.at("version").as_int64() == 1);
    CHECK(cr.at("status").as_string() == "fail");
    CHECK(cr.at("max_score").as_double() == 20);
    auto& ct = cr.at("tests").as_array();
    REQUIRE(ct.size() == 2);
    CHECK(ct[0].at("status").as_string() == "pass");
    CHECK(ct[0].at("score").as_double() == 10);
    CHECK(ct[1].at("status").as_string() == "fail");
    CHECK(ct[1].at("score").as_double() == 0);
    CHECK(std::string(ct[1].at("message").as_string()).rfind("BROKEN: reply status <503>", 0) == 0);
    CHECK(grade::classroom({checks[0]}).at("status").as_string() == "pass");
}

TEST_CASE("a tool's clean run counts only with the lab's growth run passed too")
{
    auto lab = lab04();
    auto growth = grade::score(ran({{"verdict", "broken"}, {"summary", "BROKEN: reply status"}}), "ana", lab, "growth", 0);
    auto tsan = grade::score(ran({{"verdict", "clean"}, {"summary", "CLEAN"}}), "ana", lab, "tsan", 10);
    REQUIRE(tsan.passed);
    auto g = grade::gated(tsan, growth);
    CHECK_FALSE(g.passed);
    CHECK(g.score == 0);
    CHECK(g.verdict == "gated");
    CHECK(g.reason == "the lab's lab 04 (growth) check did not pass: BROKEN: reply status");
}
