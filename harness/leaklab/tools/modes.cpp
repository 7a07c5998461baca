#include "leaklab/tools/modes.hpp"

#include "leaklab/tools/heaptrack.hpp"

#include <algorithm>

namespace leaklab::tools {

const std::vector<mode>& modes()
{
    static const std::vector<mode> all = {
        {"growth", "", "", "", "the trend verdict: counts and memory after every round, on any build (the default)"},
        {"asan", "asan", "address", "", "AddressSanitizer, LeakSanitizer at exit and UBSan: use after free, out of scope, leaks, UB"},
        {"lsan-live", "asan", "address", "", "LeakSanitizer while the server runs: a check on an admin call after the last "
                                             "round, before the server stops (no check at exit)"},
        {"tsan", "tsan", "thread", "", "ThreadSanitizer: data races, with both threads' stacks"},
        {"valgrind", "valgrind", "", "", "memcheck: lost blocks, invalid reads and writes, descriptors open at exit (slow: a quarter of the churn)"},
        {"heapprof", "gperf", "", "tcmalloc", "tcmalloc's heap profiler: a profile after every round from the warm-up on, the first and last "
                                  "diffed with google-pprof --base; the sites in the lab's code that keep growing"},
        {"heaptrack", "", "", "", "heaptrack: every allocation recorded with its stack, on a plain build (glibc's allocator); "
                                          "the record cut after every round from the warm-up on, each cut read by heaptrack_print; "
                                          "the sites in the lab's code that keep growing"},
        {"tasks", "", "", "", "what is pending and where: labkit records each pending operation and coroutine with its stacks, "
                              "dumps them after every round from the warm-up on; the sites in the lab's code that keep growing"},
    };
    return all;
}

const mode* find_mode(const std::string& name)
{
    for(auto& m : modes())
        if(m.name == name)
            return &m;
    return nullptr;
}

std::string mode_names()
{
    std::string out;
    for(auto& m : modes())
        out += (out.empty() ? "" : ", ") + m.name;
    return out;
}

bool is_tool_mode(const std::string& name)
{
    return name != "growth" && find_mode(name) != nullptr;
}

std::string tool_mode_names()
{
    std::string out;
    for(auto& m : modes())
        if(m.name != "growth")
            out += (out.empty() ? "" : ", ") + m.name;
    return out;
}

host this_host()
{
    host h;
    h.platform = process::read_platform();
    h.tools = process::find_tools();
    h.ptrace = !h.platform.emulated && process::ptrace_permitted();
    return h;
}

namespace {

bool have(const host& h, const std::string& name)
{
    return std::any_of(h.tools.begin(), h.tools.end(), [&](auto& t) { return t.name == name && !t.found.empty(); });
}

} // namespace

std::string unavailable(const mode& m, const host& h)
{
    if(m.name == "growth")
        return "";
    if(m.name == "heaptrack" && (!have(h, "heaptrack") || !find_heaptrack()))
        return "no heaptrack with its preload library, interpreter and heaptrack_print (Debian: heaptrack)";
    if(m.name == "heaptrack" && !have(h, "nm"))
        return "no nm to name the files of the functions heaptrack leaves without one (Debian: binutils)";
    if(m.name == "tasks" && !have(h, "addr2line"))
        return "no addr2line to read the pending operations' stacks (Debian: binutils)";
    if(h.platform.emulated)
        return m.name == "heapprof"    ? "leaklab runs emulated (qemu-user): google-pprof cannot read the emulated server's stacks"
               : m.name == "heaptrack" ? "leaklab runs emulated (qemu-user): heaptrack's preload library is the host's, not the server's"
               : m.name == "tasks"  ? "leaklab runs emulated (qemu-user): addr2line cannot read the emulated server's stacks"
                                    : "leaklab runs emulated (qemu-user): the sanitizers' runtimes do not run under it";
    if(m.name == "asan" || m.name == "lsan-live")
    {
        if(!have(h, "libasan"))
            return "no ASan runtime (libasan): g++ ships it (Debian: libasan8)";
        if(h.platform.arch == "aarch64" && h.platform.va_bits > 0 && h.platform.va_bits <= 39)
            return "a 39-bit virtual address space: ASan cannot map its shadow memory";
    }
    // The live check is LeakSanitizer alone: where it cannot run, the mode has nothing to run.
    if(m.name == "lsan-live")
        if(auto why = limited(*find_mode("asan"), h); !why.empty())
            return why;
    if(m.name == "valgrind" && !have(h, "valgrind"))
        return "no valgrind (Debian: valgrind)";
    if(m.name == "heapprof" && !have(h, "libtcmalloc"))
        return "no tcmalloc with its heap profiler (libtcmalloc, not tcmalloc_minimal; Debian: libgoogle-perftools-dev)";
    if(m.name == "heapprof" && !have(h, "google-pprof"))
        return "no google-pprof to diff the heap profiles (Debian: google-perftools)";
    if(m.name == "tsan" && !have(h, "libtsan"))
        return "no TSan runtime (libtsan): g++ ships it (Debian: libtsan2)";
    if(m.name == "tsan" && h.platform.word_bits != 64)
        return "a 32-bit userland: ThreadSanitizer supports only 64-bit targets";
    return "";
}

std::string limited(const mode& m, const host& h)
{
    if(m.name == "asan" && (!h.ptrace || h.platform.word_bits != 64))
        return h.platform.word_bits != 64 ? "LeakSanitizer supports only 64-bit targets: leaks at exit are not checked"
                                          : "ptrace is not permitted here (ptrace_scope, or a container without "
                                            "CAP_SYS_PTRACE): LeakSanitizer cannot run, leaks at exit are not checked";
    return "";
}

std::vector<std::string> environment(const mode& m, const std::filesystem::path& log_dir, const host& h)
{
    const std::string dir = log_dir.string();
    // Every option that decides what gets reported is set here: the environment wins over a
    // __asan_default_options (or the like) compiled into the server.
    // lsan-live: LeakSanitizer checks on the admin call only, not again at exit.
    if(m.name == "lsan-live")
        return {"ASAN_OPTIONS=log_path=" + dir + "/asan:detect_leaks=1:leak_check_at_exit=0"
                    ":symbolize=1:print_summary=1:halt_on_error=1:exitcode=1:quarantine_size_mb=256"
                    ":print_suppressions=1:allow_user_segv_handler=0",
                "UBSAN_OPTIONS=log_path=" + dir + "/ubsan:print_stacktrace=1:symbolize=1:halt_on_error=1",
                "LSAN_OPTIONS=log_path=" + dir + "/asan:print_suppressions=1:report_objects=0"};
    if(m.name == "asan")
        return {"ASAN_OPTIONS=log_path=" + dir + "/asan:detect_leaks=" + (limited(m, h).empty() ? "1" : "0") +
                    ":symbolize=1:print_summary=1:halt_on_error=1:exitcode=1:quarantine_size_mb=256"
                    ":print_suppressions=1:allow_user_segv_handler=0",
                "UBSAN_OPTIONS=log_path=" + dir + "/ubsan:print_stacktrace=1:symbolize=1:halt_on_error=1",
                "LSAN_OPTIONS=log_path=" + dir + "/asan:print_suppressions=1:report_objects=0"};
    // The profiler starts in labkit (LEAKLAB_HEAPPROF) and writes only on the admin call: no
    // periodic dumps every 1 GiB allocated or 100 MiB in use (0 turns each off).
    // Each allocation's stack is taken with libgcc's unwinder: Debian's default, libunwind,
    // blocks and restores signals at every frame, two system calls each, which on a virtual
    // machine with costly system calls slowed lab 01's leaky server (its heartbeats allocate)
    // from about 2,000 ops/s to 352 in its first round and 5 in its last.
    if(m.name == "heapprof")
        return {"LEAKLAB_HEAPPROF=" + dir + "/heapprof", "HEAP_PROFILE_ALLOCATION_INTERVAL=0",
                "HEAP_PROFILE_INUSE_INTERVAL=0", "HEAP_PROFILE_TIME_INTERVAL=0", "TCMALLOC_STACKTRACE_METHOD=libgcc"};
    // heaptrack's preload library records every allocation into one file, read after the run
    // (tools/heaptrack.hpp); the heaptrack script's interpreter is left out, so that nothing
    // stands between the server and leaklab's signals.
    if(m.name == "heaptrack")
        if(auto parts = find_heaptrack())
            return {"LD_PRELOAD=" + parts->preload.string(), "DUMP_HEAPTRACK_OUTPUT=" + dir + "/heaptrack.raw"};
    // labkit records pending operations with their stacks only when asked (labkit/pending.hpp).
    if(m.name == "tasks")
        return {"LEAKLAB_TASKS=1"};
    if(m.name == "tsan")
        return {"TSAN_OPTIONS=log_path=" + dir + "/tsan:symbolize=1:second_deadlock_stack=1:report_bugs=1"
                ":halt_on_error=0:exitcode=66:report_thread_leaks=1:report_signal_unsafe=1"};
    return {};
}

std::vector<std::string> command_prefix(const mode& m, const std::filesystem::path& log_dir)
{
    if(m.name == "tsan")
        return {"setarch", "-R"};
    if(m.name == "valgrind")
        return {"valgrind", "--tool=memcheck", "--leak-check=full", "--show-leak-kinds=definite,indirect,possible",
                "--errors-for-leak-kinds=definite,indirect,possible", "--track-fds=yes", "--num-callers=30",
                "--xml=yes", "--xml-file=" + (log_dir / "valgrind.%p.xml").string(),
                "--log-file=" + (log_dir / "valgrind.%p.log").string()};
    return {};
}

double slowdown(const mode& m)
{
    return m.name == "valgrind" ? 10 : 1;
}

double churn_scale(const mode& m)
{
    // A quarter, as on a Pi: a tenth left contract bounds per operation too few operations to hold.
    return m.name == "valgrind" ? 0.25 : 1;
}

} // namespace leaklab::tools
