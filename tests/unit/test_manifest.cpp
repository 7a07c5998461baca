// Manifests: every real lab loads; broken ones fail with the file and field named.
#include "leaklab/labs/manifest.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using leaklab::labs::load_manifest;
using leaklab::labs::manifest_error;

namespace {

// A lab folder in a fresh temporary root, with this lab.json.
struct temp_lab
{
    fs::path root;
    fs::path file;

    temp_lab(const std::string& folder, const std::string& json)
    {
        root = fs::temp_directory_path() / ("leaklab-test-" + std::to_string(std::rand()));
        fs::create_directories(root / "labs" / folder);
        file = root / "labs" / folder / "lab.json";
        std::ofstream(file) << json;
    }
    ~temp_lab() { fs::remove_all(root); }
};

const char* good = R"({
  "id": "07", "slug": "some-lab", "title": "A title", "student_files": ["server.cpp"],
  "workload": { "rounds": 10, "steps": [ { "kind": "http-churn", "path": "/item?id={n}", "connections": 50 } ] },
  "thresholds": { "heap_bytes": { "per_op": 128 } },
  "expect": { "leaky": { "verdict": "leak", "flagged": ["heap_bytes"] }, "fixed": { "verdict": "clean" } }
})";

std::string replace(std::string s, const std::string& from, const std::string& to)
{
    auto pos = s.find(from);
    REQUIRE(pos != std::string::npos);
    return s.replace(pos, from.size(), to);
}

} // namespace

TEST_CASE("every lab in the repository has a valid manifest")
{
    auto all = leaklab::labs::load_all(LEAKLAB_TEST_ROOT);
    REQUIRE(all.size() >= 2);
    for(auto& m : all)
    {
        INFO(m.name());
        CHECK(fs::exists(m.dir / "README.md"));
        CHECK(m.hints.size() == 3);
        CHECK(!m.upstream.empty());
        // A leaky variant names what grows; a control lab (growth that is not a leak)
        // expects clean from both variants; a defect growth cannot see (undefined behaviour)
        // says how the run ends, or that a tool alone judges it, and a tool finds it.
        auto& leaky = m.expect.at("leaky");
        const bool by_tool = !leaky.verdicts.empty() || !leaky.mode.empty();
        if(!by_tool)
            CHECK(leaky.flagged.empty() == (leaky.verdict == leaklab::verdict::outcome::clean));
        else
            CHECK(std::any_of(m.modes.begin(), m.modes.end(), [](auto& kv) { return !kv.second.at("leaky").finds.empty(); }));
        // The catch matrix covers every lab: at least one tool mode, both variants.
        CHECK(!m.modes.empty());
        CHECK(m.expect.at("fixed").verdict == leaklab::verdict::outcome::clean);
        // Every student file exists in both the lab and its solution, and the fix changes something.
        bool differs = false;
        for(auto& f : m.student_files)
        {
            auto fixed = fs::path(LEAKLAB_TEST_ROOT) / "solutions" / m.name() / f;
            CHECK(fs::exists(m.dir / f));
            CHECK(fs::exists(fixed));
            std::ifstream a(m.dir / f), b(fixed);
            std::string text_a((std::istreambuf_iterator<char>(a)), {}), text_b((std::istreambuf_iterator<char>(b)), {});
            differs = differs || text_a != text_b;
        }
        CHECK(differs);
    }
}

TEST_CASE("a good manifest loads with its fields")
{
    temp_lab lab("07-some-lab", good);
    auto m = load_manifest(lab.file);
    CHECK(m.id == "07");
    CHECK(m.plan.rounds == 10);
    CHECK(m.plan.warmup_rounds == 1);
    REQUIRE(m.plan.steps.size() == 1);
    CHECK(m.plan.steps[0].connections == 50);
    CHECK(m.plan.steps[0].path == "/item?id={n}");
    CHECK(*m.plan.thresholds.at("heap_bytes").per_op == 128);
    CHECK(m.expect.at("leaky").flagged == std::vector<std::string>{"heap_bytes"});
}

TEST_CASE("broken manifests name the file and the field")
{
    auto fails_with = [](const std::string& folder, const std::string& json, const std::string& needle) {
        temp_lab lab(folder, json);
        try
        {
            load_manifest(lab.file);
            FAIL("no error for: " << needle);
        }
        catch(const manifest_error& e)
        {
            std::string what = e.what();
            INFO(what);
            CHECK(what.find(lab.file.string()) != std::string::npos);
            CHECK(what.find(needle) != std::string::npos);
        }
    };
    fails_with("07-some-lab", "{ not json", "not valid JSON");
    fails_with("07-some-lab", replace(good, R"("title": "A title", )", ""), "missing required field \"title\"");
    fails_with("07-some-lab", replace(good, "\"connections\"", "\"conections\""), "unknown field \"conections\"");
    fails_with("07-some-lab", replace(good, "http-churn", "http-chrun"), "unknown workload \"http-chrun\"");
    fails_with("07-some-lab", replace(good, "\"rounds\": 10", "\"rounds\": 4"), "must exceed warmup_rounds");
    fails_with("07-some-lab", replace(good, "\"connections\": 50", "\"connections\": -3"), "out of range");
    fails_with("07-some-lab", replace(good, "\"verdict\": \"clean\"", "\"verdict\": \"fine\""), "expected \"leak\" or \"clean\"");
    fails_with("07-some-lab", replace(good, "/item?id={n}", "item"), "must start with '/'");
    fails_with("08-other-name", good, "the folder is \"08-other-name\"");
    // ws-quiet needs a quiet time, shorter than the operation's own deadline; other kinds have none.
    fails_with("07-some-lab", replace(good, "\"http-churn\"", "\"ws-quiet\""), "a ws-quiet step needs quiet_ms > 0");
    fails_with("07-some-lab", replace(good, "\"http-churn\"", "\"ws-quiet\", \"quiet_ms\": 5000, \"op_timeout_s\": 2"),
               "must be shorter than op_timeout_s");
    fails_with("07-some-lab", replace(good, "\"http-churn\"", "\"http-churn\", \"quiet_ms\": 500"),
               "only a ws-quiet step has quiet_ms");
    // The catch matrix: a known tool mode, both variants, a finding for a site, a lesson for a blind spot.
    const std::string leaky = R"("leaky": { "verdict": "leak", "flagged": ["heap_bytes"] })";
    auto with_modes = [&](const std::string& modes) {
        return replace(good, R"("thresholds")", "\"modes\": " + modes + ", \"thresholds\"");
    };
    fails_with("07-some-lab", with_modes(R"({"massif": {}})"), "not a tool mode (asan, lsan-live, tsan, valgrind, heapprof, heaptrack, tasks)");
    fails_with("07-some-lab", with_modes(R"({"asan": {"leaky": {"finds": ["direct leak"]}}})"),
               "missing required field \"fixed\"");
    fails_with("07-some-lab", with_modes(R"({"asan": {"leaky": {"finds": []}, "fixed": {"finds": []}}})"),
               "say why the tool cannot see this defect");
    fails_with("07-some-lab", with_modes(R"({"asan": {"leaky": {"finds": [], "why": "x", "site": "a"}, "fixed": {"finds": []}}})"),
               "a site needs a finding");
    fails_with("07-some-lab", with_modes(R"({"asan": {"leaky": {"finds": ["direct leak"]}, "fixed": {"finds": ["direct leak"]}}})"),
               "a fixed variant is clean under every tool");
    // A leaky variant growth cannot judge: a crash or broken contract for a stated reason, or a tool alone.
    fails_with("07-some-lab", replace(good, leaky, R"("leaky": { "verdict": ["error", "clean"], "reason": "x" })"),
               "a list holds \"error\", \"broken\" or \"leak\"");
    fails_with("07-some-lab", replace(good, leaky, R"("leaky": { "verdict": ["error"] })"), "needs the reason");
    fails_with("07-some-lab",
               replace(with_modes(R"({"asan": {"leaky": {"finds": ["direct leak"]}, "fixed": {"finds": []}}})"), leaky,
                       R"("leaky": { "verdict": "flagged", "mode": "tsan" })"),
               "so modes.tsan.leaky must name what it finds");

    fails_with("07-some-lab", replace(good, leaky, R"("leaky": { "verdict": "leak", "mode": "tsan" })"),
               "only a leaky variant judged by a tool");
}

TEST_CASE("the catch matrix and tool-judged variants load")
{
    temp_lab lab("07-some-lab",
                 replace(replace(good, R"("leaky": { "verdict": "leak", "flagged": ["heap_bytes"] })",
                                 R"("leaky": { "verdict": "flagged", "mode": "tsan" })"),
                         R"("thresholds")",
                         R"("modes": {"tsan": {"leaky": {"finds": ["data race"], "site": "server[.]cpp"}, "fixed": {"finds": []}},
                                      "asan": {"leaky": {"finds": [], "why": "no memory is lost"}, "fixed": {"finds": []}}},
                            "thresholds")"));
    auto m = load_manifest(lab.file);
    CHECK(m.expect.at("leaky").mode == "tsan");
    CHECK(m.expect.at("leaky").verdict == leaklab::verdict::outcome::flagged);
    CHECK(m.modes.at("tsan").at("leaky").finds == std::vector<std::string>{"data race"});
    CHECK(m.modes.at("tsan").at("leaky").site == "server[.]cpp");
    CHECK(m.modes.at("asan").at("leaky").finds.empty());
    CHECK(m.modes.at("asan").at("leaky").why == "no memory is lost");
}

TEST_CASE("labs are found by id or slug, and a miss lists the labs")
{
    temp_lab lab("07-some-lab", good);
    CHECK(leaklab::labs::find_lab(lab.root, "07").slug == "some-lab");
    CHECK(leaklab::labs::find_lab(lab.root, "7").slug == "some-lab");
    CHECK(leaklab::labs::find_lab(lab.root, "some-lab").id == "07");
    CHECK_THROWS_WITH(leaklab::labs::find_lab(lab.root, "99"), Catch::Contains("07-some-lab"));
}
