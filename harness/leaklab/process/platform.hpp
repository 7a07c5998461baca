// What this machine is, as far as the tools care: its CPU and word size, page size and
// virtual-address bits, whether leaklab itself runs emulated, what the kernel lets a
// process trace, what is preloaded into every program, which tools are installed, and
// what that rules out (leaklab doctor prints it). Every reading comes from a file under
// a root folder, "/" unless a test fakes one.
#ifndef LEAKLAB_PROCESS_PLATFORM_HPP
#define LEAKLAB_PROCESS_PLATFORM_HPP

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace leaklab::process {

struct platform
{
    std::string arch;                // this leaklab's machine as uname -m says (aarch64, armv7l, x86_64)
    unsigned cores = 0;
    unsigned usable_cores = 0;       // what this process may run on: its CPU affinity, within a cgroup's CPU quota
    double memory_bytes = 0;         // MemTotal
    double memory_available_bytes = 0;  // MemAvailable, within a cgroup's memory limit; 0 unknown
    long page_size = 0;              // bytes: 4096, or 16384 on a Pi 5's default kernel
    int va_bits = 0;                 // user-space virtual-address bits (47 on x86-64, 39 or 48 on arm64), 0 unknown
    int word_bits = 0;               // 64 or 32: this userland
    bool emulated = false;           // running under qemu-user on another CPU
    std::string model;               // the board, from the device tree ("Raspberry Pi 4 Model B Rev 1.4"), if any
    bool armv6 = false;              // an ARMv6 CPU (Pi Zero, Pi 1)
    int ptrace_scope = -1;           // /proc/sys/kernel/yama/ptrace_scope, -1 when absent
    std::vector<std::string> preloads;  // /etc/ld.so.preload entries
};

// Reads the facts from root/proc, root/etc and root/sys; page_size and word_bits come from
// this process unless the root holds a "leaklab-page-size" file (a test's fake).
platform read_platform(const std::filesystem::path& root = "/");

// What limits the tools on this platform, one line each, with the reason (empty: nothing).
std::vector<std::string> platform_limits(const platform& p);

// Whether a process here may be stopped and read by a child of its own, as LeakSanitizer
// does at exit (PR_SET_PTRACER, PTRACE_ATTACH): tried for real, in a child.
bool ptrace_permitted();

// A tool leaklab can use, and where it was found.
struct tool
{
    std::string name;    // "valgrind", "libasan", ...
    std::string what;    // what it is for
    std::string found;   // a path or version; empty when missing
    std::string hint;    // how to get it when missing
};

std::vector<tool> find_tools();

// The human size of a byte count: "16 KiB", "3.8 GiB".
std::string human_bytes(double b);

} // namespace leaklab::process

#endif
