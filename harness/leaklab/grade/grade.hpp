// Grading: what a submission is, how one check of it is scored, and the files course tools
// read (Gradescope's results.json, JUnit XML, a CSV gradebook, an HTML summary). Running the
// checks is `leaklab grade` (cli/grade.cpp); everything decided about a score is here.
#ifndef LEAKLAB_GRADE_GRADE_HPP
#define LEAKLAB_GRADE_GRADE_HPP

#include "leaklab/labs/manifest.hpp"
#include "leaklab/process/child.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace leaklab::grade {

// One student's folder: the lab folders found in it (labs/NN-slug, any slug), and what else
// it holds, which grading ignores.
struct student
{
    std::string name;
    std::filesystem::path dir;
    std::map<std::string, std::filesystem::path> labs;  // by lab id
    std::vector<std::string> ignored;                    // paths relative to dir
};

// The students of a submissions folder, by name; hidden entries are skipped.
std::vector<student> find_students(const std::filesystem::path& root, const std::vector<labs::manifest>& labs);

// What happened to one check of one submission, stage by stage.
struct attempt
{
    std::vector<std::string> missing;         // student files not in the submission
    std::optional<std::string> build_error;   // the compiler's (or linker's) output, when it failed
    double build_s = 0;
    bool ran = false;
    std::optional<process::exit_status> exit; // the check's own process; nullopt: killed at the time limit
    double timeout_s = 0;
    double run_s = 0;
    std::uint64_t forks_refused = 0;          // the sandbox refused this many forks (its process ceiling)
    std::uint64_t process_limit = 0;
    std::optional<boost::json::object> result; // the check's --json
    std::string log_tail;                     // the end of what the check printed
};

// A scored check.
struct check
{
    std::string student, lab_id, lab_title, name;  // name: "lab 04: ... (growth)"
    double score = 0, max_score = 0;
    bool passed = false;
    std::string verdict;   // clean, leak, broken, error, ... or: missing, build, timeout, crash
    std::string reason;    // one line, for a gradebook cell
    std::string output;    // the evidence, a few lines, for the student
    double build_s = 0, run_s = 0;
    std::string beside_others;    // --jobs > 1: the verdict of its first run, beside other checks, when it was run again alone
    boost::json::object metrics;  // name -> {"values": [...], "flagged": bool}, from the run
};

// The score and its reason. Full marks only for CLEAN from a run that ended by itself; a
// submission that is missing, does not compile, hangs, crashes, or forks past the ceiling
// scores 0 with that reason.
check score(const attempt& a, const std::string& student, const labs::manifest& lab, const std::string& mode,
            double max_score);

// A check that passed, held back by another the lab also needs (lab 21's clean TSan run
// counts only if its growth run kept the contract): 0, with the other's reason.
check gated(check passed, const check& needed);

// Gradescope's results.json for one student (score, tests[], extra_data).
boost::json::object gradescope(const std::vector<check>& checks);

// GitHub Classroom: one student's checks as a runner result of its autograding reporter
// (classroom-resources/autograding-grading-reporter: version, status, max_score, tests[]
// with name, status, score, message), which the workflow hands on base64-encoded.
boost::json::object classroom(const std::vector<check>& checks);

// JUnit XML: one testsuite per student, one testcase per check.
std::string junit(const std::vector<check>& checks);

// The gradebook: one row per student, one column per lab, then the total and its maximum.
std::string csv(const std::vector<check>& checks);

// One self-contained HTML page: the gradebook, then each student's checks with their evidence.
std::string html(const std::vector<check>& checks, const std::vector<std::string>& notes);

// Every check, as JSON (what the other outputs are made from).
boost::json::array to_json(const std::vector<check>& checks);

} // namespace leaklab::grade

#endif
