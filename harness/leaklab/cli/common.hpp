// What every leaklab command shares: the common options, parsing, exit codes, and
// running one lab (a variant or a student's copy). One file per command beside it.
#ifndef LEAKLAB_CLI_COMMON_HPP
#define LEAKLAB_CLI_COMMON_HPP

#include "leaklab/labs/manifest.hpp"
#include "leaklab/report/report.hpp"
#include "leaklab/run/runner.hpp"
#include "leaklab/tools/modes.hpp"

#include <boost/program_options.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace leaklab::cli {

namespace po = boost::program_options;
namespace fs = std::filesystem;

constexpr int exit_clean = 0;
constexpr int exit_leak = 1;
constexpr int exit_error = 2;
constexpr int exit_inconclusive = 3;  // probe: too small a run to tell, even extended
constexpr int exit_broken = 4;        // the server broke its lab's contract (a fix that removed the feature)
constexpr int exit_flagged = 5;       // a tool mode: the tool reported an error in the server
constexpr int exit_skipped = 6;       // a tool mode that cannot run here: no verdict

// A bad command line: message, then a pointer to --help, exit 2.
struct usage_error : std::runtime_error
{
    using std::runtime_error::runtime_error;
};

struct common
{
    fs::path root;
    std::string preset;
    fs::path build_dir;
    bool quiet = false;
    bool color = false;
    bool keep_logs = false;
    bool no_build = false;
    double scale = 1;
    bool scale_given = false;
    std::size_t rounds = 0;
    std::string profile = "desktop";  // or "pi": a Raspberry Pi-class board (see adjusted())
    std::string mode;                  // "" or "growth": the trend verdict; "asan", "tsan": a tool's (tools/modes.hpp)
    fs::path server_binary;            // check --server-binary: a copy already built (leaklab grade builds it)
    std::optional<double> stop_within; // check --stop-within: a graceful stop is part of the contract (grade)
};

// Which common options a command takes: every command has --root, --quiet, --no-color
// and --help; those that build add --preset and --build-dir, those that run a server add
// --rounds, --scale and --keep-logs, and those that do both --no-build. A command is
// given only the options it uses, so no flag is silently ignored.
enum option_sets : unsigned { opts_base = 0, opts_build = 1, opts_run = 2, opts_lab = opts_build | opts_run };
po::options_description common_options(common& c, unsigned sets = opts_lab);

// Parses a command's arguments; --help prints `usage: leaklab <usage>` and the options, exit 0.
po::variables_map parse(const std::vector<std::string>& args, const po::options_description& d,
                        const po::positional_options_description& pos, common& c, const std::string& usage);

// The plan adjusted by --rounds, --scale and --profile. The pi profile scales churn to a
// quarter (unless --scale says otherwise), gives every round four times as long, settling
// and a listener's time to be told twice as long, and keeps a step's bodies in flight under
// a sixteenth of the board's memory. Thresholds, and an operation's own deadline, stay.
run::plan adjusted(run::plan p, const common& c);

// Removes a run's server logs unless kept (--keep-logs) or needed (an error).
void cleanup_logs(const fs::path& dir, const run::result& r, const common& c);

struct lab_run
{
    report::heading heading;
    run::result result;
};

// Build one variant (or a student's copy) of a lab and run it; `built` is called
// between the build and the run. A failed build throws labs::build_error. Under a tool
// mode (c.mode) the mode's preset is built, its server runs with the tool's options, and
// the tool's reports decide; a mode that cannot run here is skipped (not built, not run).
lab_run run_lab(const labs::manifest& lab, const std::string& variant, const std::optional<fs::path>& source,
                const common& c, const std::function<void()>& built = {});

int exit_code(const run::result& r);

// The verdict and its reason in one line: "LEAK: sessions_live, heap_bytes keep growing ...".
std::string one_line(const run::result& r);

// The expectation for a variant holds: the verdict, and every catalog metric flagged; for a
// wrong fix ("wf-NAME"), one of its verdicts with a one-line reason its regex matches (compare.cpp).
bool as_expected(const labs::manifest& lab, const std::string& variant, const run::result& r, std::string& why);

// This machine as the tool modes need it (read once: the ptrace trial forks).
const tools::host& mode_host();

// A cell of the catch matrix holds: under `mode`, the variant's findings are what lab.json's
// "modes" says (the kinds it must report, at its site; or none, and a fixed variant clean).
// nullopt: the mode was skipped here (why says why).
std::optional<bool> mode_as_expected(const labs::manifest& lab, const std::string& mode, const std::string& variant,
                                     const run::result& r, std::string& why);

// The wrong fix a variant names ("wf-NAME"), or nullptr.
const labs::fixture* fixture_of(const labs::manifest& lab, const std::string& variant);

// A variant named on the command line: leaky, fixed, or a wrong fix (NAME or wf-NAME);
// throws usage_error listing what the lab has.
std::string variant_named(const labs::manifest& lab, const std::string& name);

// The commands, one file each.
int cmd_list(const std::vector<std::string>& args);
int cmd_check(const std::vector<std::string>& args);
int cmd_compare(const std::vector<std::string>& args);
int cmd_verify(const std::vector<std::string>& args);
int cmd_probe(const std::vector<std::string>& args);
int cmd_workloads(const std::vector<std::string>& args);
int cmd_contract(const std::vector<std::string>& args);
int cmd_doctor(const std::vector<std::string>& args);
int cmd_hint(const std::vector<std::string>& args);
int cmd_explain(const std::vector<std::string>& args);
int cmd_watch(const std::vector<std::string>& args);
int cmd_reset(const std::vector<std::string>& args);
int cmd_clean(const std::vector<std::string>& args);
int cmd_report(const std::vector<std::string>& args);
int cmd_grade(const std::vector<std::string>& args);
int cmd_autograder_bundle(const std::vector<std::string>& args);

} // namespace leaklab::cli

#endif
