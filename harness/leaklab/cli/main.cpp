// leaklab: build a lab's server, drive it with churn, and say whether it leaks.
//
// Exit codes: 0 clean (or as expected), 1 leak (or not as expected), 2 error.
#include "leaklab/cli/common.hpp"
#include "leaklab/process/child.hpp"

#include <sys/resource.h>

#include <iostream>

using namespace leaklab;
using namespace leaklab::cli;

namespace {

const char* overview =
    "usage: leaklab <command> [options]\n"
    "\n"
    "commands:\n"
    "  list                          the labs: the service, and the symptom its operators see\n"
    "  check <lab> --variant V       build and run one variant (leaky, fixed), print the verdict\n"
    "  check ... --mode M            under a tool (asan, lsan-live, tsan, valgrind, heapprof, heaptrack, tasks): its findings decide\n"
    "  check <lab> --source DIR      ... or a student's copy of the lab's files (no --variant)\n"
    "  watch <lab> [--source DIR]    re-build and re-check on every save of a student file\n"
    "  reset <lab> [--source DIR]    restore the lab's student files as shipped (keeps a backup)\n"
    "  clean [lab] [--dry-run]       remove the build trees of student copies, say how much it freed\n"
    "  compare <lab> [--source DIR]  both variants side by side (and your copy), with an SVG chart per metric\n"
    "  report [--labs 01,02|all]     one self-contained HTML file: charts, verdicts, the fix, the catch matrix\n"
    "  probe --cmd '<cmd {port}>' --workload <kind>\n"
    "                                any server, black box: /proc signals (and --metrics-url)\n"
    "  verify <lab>|all [--runs N]   every leaky variant is flagged, every fix is clean, N times\n"
    "  verify ... --modes asan,...   the catch matrix: what each tool must find, as a table\n"
    "  hint <lab> [--level N]        the lab's hints, one step at a time; the last level is the principle\n"
    "  explain <lab>                 the principle behind the fix (after you have tried)\n"
    "  contract <lab>                what the lab's server must keep doing, and how each promise is checked\n"
    "  grade <dir> --out DIR         every student's copy of every lab, sandboxed and scored: Gradescope,\n"
    "                                JUnit, CSV and HTML for course tools\n"
    "  autograder-bundle --labs 04 --out autograder.zip\n"
    "                                a Gradescope autograder that grades with leaklab grade\n"
    "  doctor                        which tools and presets work on this machine, and what limits them\n"
    "  workloads                     the workload kinds\n"
    "\n"
    "exit codes: 0 clean, 1 leak, 2 error, 3 inconclusive (probe, or a tool blind to the lab's defect),\n"
    "4 broken (the server broke its contract), 5 flagged (a tool's finding), 6 skipped (the mode cannot run here);\n"
    "compare/verify/report: 0 as expected, 1 not, 2 error (verify: 6 when every cell was skipped)\n"
    "`leaklab <command> --help` shows a command's options.\n";

} // namespace

int main(int argc, char* argv[])
{
    // watch stops cleanly on the first Ctrl-C (the children are killed either way).
    process::install_interrupt_handler(argc > 1 && std::string(argv[1]) == "watch");

    // Stalled clients stay connected for a whole run: allow as many descriptors as the system lets us.
    rlimit rl{};
    if(::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
    std::vector<std::string> args(argv + 1, argv + argc);
    if(args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help")
    {
        std::cout << overview;
        return args.empty() ? exit_error : 0;
    }
    if(args[0] == "--version")
    {
        std::cout << "leaklab " << LEAKLAB_VERSION << '\n';
        return 0;
    }
    std::string cmd = args[0];
    args.erase(args.begin());
    try
    {
        if(cmd == "list")
            return cmd_list(args);
        if(cmd == "check")
            return cmd_check(args);
        if(cmd == "compare")
            return cmd_compare(args);
        if(cmd == "probe")
            return cmd_probe(args);
        if(cmd == "verify")
            return cmd_verify(args);
        if(cmd == "hint")
            return cmd_hint(args);
        if(cmd == "explain")
            return cmd_explain(args);
        if(cmd == "watch")
            return cmd_watch(args);
        if(cmd == "reset")
            return cmd_reset(args);
        if(cmd == "clean")
            return cmd_clean(args);
        if(cmd == "report")
            return cmd_report(args);
        if(cmd == "workloads")
            return cmd_workloads(args);
        if(cmd == "contract")
            return cmd_contract(args);
        if(cmd == "doctor")
            return cmd_doctor(args);
        if(cmd == "grade")
            return cmd_grade(args);
        if(cmd == "autograder-bundle")
            return cmd_autograder_bundle(args);
        std::cerr << "leaklab: unknown command '" << cmd << "'\n\n" << overview;
        return exit_error;
    }
    catch(const usage_error& e)
    {
        std::cerr << "leaklab " << cmd << ": " << e.what() << "\n(see `leaklab " << cmd << " --help`)\n";
    }
    catch(const std::exception& e)
    {
        std::cerr << "leaklab " << cmd << ": " << e.what() << '\n';
    }
    return exit_error;
}
