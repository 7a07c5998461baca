// The tool modes of `leaklab check --mode M` and `leaklab verify --modes`: which build each
// needs, how its server runs (environment, a command prefix), and whether it can run here.
// growth is the default mode: the trend verdict on a plain build.
#ifndef LEAKLAB_TOOLS_MODES_HPP
#define LEAKLAB_TOOLS_MODES_HPP

#include "leaklab/process/platform.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace leaklab::tools {

struct mode
{
    std::string name;      // "growth", "asan", "lsan-live", "tsan", "valgrind", "heapprof", "heaptrack", "tasks"
    std::string preset;    // the CMake preset its server is built with ("" for growth: any)
    std::string sanitizer; // what that preset's build tree records ("address", "thread", "" for none)
    std::string allocator; // and the allocator it links ("tcmalloc" for gperf, "" for glibc's)
    std::string what;      // one line for --help and doctor
};

// Every mode, growth first.
const std::vector<mode>& modes();

// The mode of that name, or nullptr.
const mode* find_mode(const std::string& name);

// "growth, asan, tsan, valgrind"
std::string mode_names();

// A tool mode (not growth) of that name: what a lab's catch matrix and a wrong fix may name.
bool is_tool_mode(const std::string& name);

// "asan, tsan, valgrind": the tool modes.
std::string tool_mode_names();

// What a mode's run depends on here.
struct host
{
    process::platform platform;
    std::vector<process::tool> tools;
    bool ptrace = false;   // LeakSanitizer can stop the process at exit (process::ptrace_permitted)
};

// This machine (runs the ptrace trial once).
host this_host();

// Why the mode cannot run on this host ("" when it can): the tool or runtime is missing,
// leaklab runs emulated, or the platform rules the tool out.
std::string unavailable(const mode& m, const host& h);

// What the mode cannot check on this host although it runs ("" when nothing): the asan mode
// without ptrace runs ASan and UBSan but not LeakSanitizer.
std::string limited(const mode& m, const host& h);

// The server's environment in the mode: each runtime writes its reports to log_dir
// (log_path=log_dir/asan.PID ...), stacks are printed for UBSan, LeakSanitizer runs at exit
// when it can.
std::vector<std::string> environment(const mode& m, const std::filesystem::path& log_dir, const host& h);

// A prefix for the server's command: TSan runs under `setarch -R` (no address-space
// randomization: GCC 12's TSan fails with "unexpected memory mapping" on kernels that
// randomize more bits than it expects); valgrind's memcheck writes its XML and its text
// log (the descriptors open at exit) to log_dir.
std::vector<std::string> command_prefix(const mode& m, const std::filesystem::path& log_dir);

// How much slower the server runs under the mode's tool: memcheck's 10 (it runs every
// instruction on a synthetic CPU, one thread at a time). The run gives the server that
// many times the time to start, to answer a round, to settle and to stop.
double slowdown(const mode& m);

// The share of the lab's churn a mode's run makes: a quarter under memcheck, all otherwise.
double churn_scale(const mode& m);

} // namespace leaklab::tools

#endif
