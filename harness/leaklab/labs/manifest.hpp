// Lab manifests (labs/NN-slug/lab.json): the only place lab knowledge lives.
#ifndef LEAKLAB_LABS_MANIFEST_HPP
#define LEAKLAB_LABS_MANIFEST_HPP

#include "leaklab/run/plan.hpp"
#include "leaklab/verdict/verdict.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace leaklab::labs {

// A manifest that cannot be used; what() names the file and the field.
struct manifest_error : std::runtime_error
{
    using std::runtime_error::runtime_error;
};

struct expectation
{
    verdict::outcome verdict = verdict::outcome::clean;  // leak or clean; or the first of `verdicts`
    std::vector<std::string> flagged;  // metrics that must be flagged (leak only)
    // A leaky variant whose defect growth cannot see (undefined behaviour: it crashes, or
    // answers wrong): the verdicts it may get (error, broken) and a regex its one-line
    // verdict must match. Empty for a growth lab.
    std::vector<verdict::outcome> verdicts;
    std::string reason;
    // A defect only a tool sees reliably (a race that crashes one run in three): "tsan". The
    // variant is then judged in that mode only, by the catch matrix (verdict flagged).
    std::string mode;
};

// What a tool mode must show for one variant (lab.json "modes": {"asan": {"leaky": ...}}):
// the kinds of finding it must report ("heap-use-after-free", "direct leak", "data race"),
// or none at all (an empty list: the tool is deliberately blind to this defect, or the
// variant is fixed); `site`, a regex the first own frame of a finding of the first kind
// must match ("server.cpp:[0-9]+ in feed_session::on_commit").
struct mode_expectation
{
    std::vector<std::string> finds;
    std::string site;
    std::string why;   // the lesson, when a tool is expected to see nothing
};

// A wrong fix: a patch to the solution that a student under pressure might submit, and
// what the kit must say of it (tests/wrong-fixes/NN-slug/fixtures.json).
struct fixture
{
    std::string name;                  // the patch's file name without .patch; the binary is labNN-wf-<name>
    std::filesystem::path patch;
    std::string cheat;                 // what the wrong fix does, in words
    std::vector<verdict::outcome> verdicts;  // what the kit may say (broken, leak or error)
    std::string reason;                // an ECMAScript regex the one-line verdict must match
    std::string mode;                  // "" (growth), or the tool mode it is run in ("asan", "tsan")
};

struct manifest
{
    std::filesystem::path dir;         // labs/NN-slug
    std::string id;                    // "01"
    std::string slug;                  // "live-feed-memory-climbs": the service and the symptom
    std::string title;                 // what a student sees in production, never the diagnosis
    std::string section;
    std::string summary;
    std::string style;                 // "callback" or "coroutine"
    std::vector<std::string> student_files;
    std::vector<std::string> server_args;
    std::vector<std::string> env;      // extra "NAME=value" for the server
    std::optional<std::uint64_t> nofile;
    double start_timeout_s = 10;
    run::plan plan;
    std::map<std::string, expectation> expect;  // by variant: "leaky", "fixed"
    // The catch matrix: by mode ("asan", "tsan"), by variant ("leaky", "fixed").
    std::map<std::string, std::map<std::string, mode_expectation>> modes;
    double points = 10;                // leaklab grade: what the lab is worth (instructor.json "points")
    // leaklab grade: a tool a wrong fix can hide from growth behind (instructor.json
    // "graded_under": lab 09's lock removed races, and only TSan sees it).
    std::string graded_under;
    std::vector<std::string> hints;
    std::vector<std::string> principle; // paragraphs: the lesson, shown after the last hint
    std::string diagnosis;             // instructor-facing: the bug's name (a slug, from solutions/NN-slug/instructor.json)
    std::vector<std::string> upstream;
    std::vector<std::string> spoilers;  // words naming the defect or its fix: never in the README a student reads
    std::vector<std::string> promises;  // the contract in words (its clauses are the plan's checks and bounds)
    std::vector<fixture> fixtures;      // wrong fixes the kit must reject (tests/wrong-fixes/NN-slug), if present

    std::string name() const { return id + "-" + slug; }
    // The tool mode leaklab grade also checks a submission under, "" for growth alone: the
    // mode that judges the leaky variant, else "graded_under".
    const std::string& grade_mode() const
    {
        const auto& m = expect.at("leaky").mode;
        return m.empty() ? graded_under : m;
    }
};

// Loads and checks one lab.json.
manifest load_manifest(const std::filesystem::path& file);

// Every lab under root/labs, in order; a broken manifest is an error, not skipped.
std::vector<manifest> load_all(const std::filesystem::path& root);

// Finds a lab by id ("01", "1"), slug or diagnosis; throws manifest_error listing the labs if none.
manifest find_lab(const std::filesystem::path& root, const std::string& id_or_slug);

// Parses the "workload" object shared by manifests and probe files.
run::plan parse_plan(const std::string& json_text, const std::string& where);

} // namespace leaklab::labs

#endif
