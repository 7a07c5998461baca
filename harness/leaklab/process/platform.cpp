#include "leaklab/process/platform.hpp"

#include <sched.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

namespace leaklab::process {

namespace fs = std::filesystem;

namespace {

// The whole file: /proc's files say their size is 0, so process::read_text reads none of them.
std::string read_whole(const fs::path& file)
{
    std::ifstream in(file, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// "key : value" lines (cpuinfo, meminfo), first occurrence of each key.
std::map<std::string, std::string> fields(const std::string& text)
{
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    for(std::string line; std::getline(in, line);)
    {
        auto colon = line.find(':');
        if(colon == std::string::npos)
            continue;
        auto trim = [](std::string s) {
            s.erase(0, s.find_first_not_of(" \t"));
            s.erase(s.find_last_not_of(" \t\r") + 1);
            return s;
        };
        out.emplace(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
    return out;
}

// The highest end address of this process's mappings: its bit length is the user VA size on arm64.
int va_bits_from_maps(const fs::path& maps)
{
    std::ifstream in(maps);
    unsigned long long top = 0;
    for(std::string line; std::getline(in, line);)
    {
        auto dash = line.find('-');
        auto space = line.find(' ');
        // The kernel's own page at the top (x86's [vsyscall]) is not user space.
        if(dash == std::string::npos || space == std::string::npos || space < dash ||
           line.find("[vsyscall]") != std::string::npos)
            continue;
        top = std::max(top, std::strtoull(line.substr(dash + 1, space - dash - 1).c_str(), nullptr, 16));
    }
    int bits = 0;
    while(top)
    {
        ++bits;
        top >>= 1;
    }
    return bits;
}

// The first line a command prints, or "" when it cannot run.
std::string first_line(const std::string& command)
{
    std::unique_ptr<FILE, int (*)(FILE*)> p(::popen((command + " 2>/dev/null").c_str(), "r"), ::pclose);
    if(!p)
        return {};
    char buf[512];
    if(!std::fgets(buf, sizeof buf, p.get()))
        return {};
    std::string s(buf);
    s.erase(s.find_last_not_of("\r\n") + 1);
    return s;
}

// A program on PATH, or "".
std::string on_path(const std::string& name)
{
    const char* path = std::getenv("PATH");
    std::istringstream in(path ? path : "/usr/bin:/bin");
    for(std::string dir; std::getline(in, dir, ':');)
    {
        auto candidate = fs::path(dir.empty() ? "." : dir) / name;
        if(::access(candidate.c_str(), X_OK) == 0)
            return candidate.string();
    }
    return {};
}

// A library the compiler links: its path, or "" (g++ echoes the bare name when it has none).
std::string compiler_library(const std::string& file)
{
    auto found = first_line("g++ -print-file-name=" + file);
    return !found.empty() && found.front() == '/' && fs::exists(found) ? fs::canonical(found).string() : std::string();
}

} // namespace

std::string human_bytes(double b)
{
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while(b >= 1024 && i < 4)
    {
        b /= 1024;
        ++i;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, b == std::floor(b) ? "%.0f %s" : "%.1f %s", b, units[i]);
    return buf;
}

platform read_platform(const fs::path& root)
{
    platform p;
    utsname u{};
    if(::uname(&u) == 0)
        p.arch = u.machine;
    p.page_size = ::sysconf(_SC_PAGESIZE);
    p.word_bits = static_cast<int>(sizeof(void*) * 8);
    p.cores = std::thread::hardware_concurrency();

    const auto cpuinfo_text = read_whole(root / "proc/cpuinfo");
    const auto cpu = fields(cpuinfo_text);
    const auto mem = fields(read_whole(root / "proc/meminfo"));
    if(auto it = mem.find("MemTotal"); it != mem.end())
        p.memory_bytes = std::strtod(it->second.c_str(), nullptr) * 1024;
    if(auto it = mem.find("MemAvailable"); it != mem.end())
        p.memory_available_bytes = std::strtod(it->second.c_str(), nullptr) * 1024;
    // In a container, what its cgroup (v2, mounted at sys/fs/cgroup) allows is the limit.
    const auto cgroup = root / "sys/fs/cgroup";
    if(const auto limit = read_whole(cgroup / "memory.max"); !limit.empty() && limit.rfind("max", 0) != 0)
    {
        const double left = std::strtod(limit.c_str(), nullptr) -
                            std::strtod(read_whole(cgroup / "memory.current").c_str(), nullptr);
        if(p.memory_available_bytes == 0 || left < p.memory_available_bytes)
            p.memory_available_bytes = std::max(0.0, left);
    }
    p.usable_cores = p.cores;
    if(cpu_set_t set; root == "/" && ::sched_getaffinity(0, sizeof set, &set) == 0)
        p.usable_cores = static_cast<unsigned>(CPU_COUNT(&set));
    // What the kernel gives user space, not what the CPU could: the top of this process's mappings.
    if(root == "/")
        p.va_bits = va_bits_from_maps("/proc/self/maps");

    // A test's fake machine: "key value" lines override what this process sees.
    if(std::ifstream fake(root / "leaklab-fake"); fake)
        for(std::string key, value; fake >> key >> value;)
        {
            if(key == "arch")
                p.arch = value;
            else if(key == "page_size")
                p.page_size = std::atol(value.c_str());
            else if(key == "word_bits")
                p.word_bits = std::atoi(value.c_str());
            else if(key == "va_bits")
                p.va_bits = std::atoi(value.c_str());
            else if(key == "cores")
                p.cores = p.usable_cores = static_cast<unsigned>(std::atoi(value.c_str()));
        }

    {  // a container's CPU quota (cgroup v2)
        std::istringstream quota(read_whole(cgroup / "cpu.max"));  // "max 100000", or "150000 100000": 1.5 CPUs
        std::string q;
        double period = 0;
        if(quota >> q >> period && q != "max" && period > 0)
            p.usable_cores = std::clamp(static_cast<unsigned>(std::ceil(std::strtod(q.c_str(), nullptr) / period)), 1u,
                                        std::max(1u, p.usable_cores));
    }
    // An ARM program whose /proc/cpuinfo describes an x86 CPU runs under qemu-user.
    const bool arm = p.arch.rfind("arm", 0) == 0 || p.arch == "aarch64";
    const bool x86_cpu = cpuinfo_text.find("vendor_id") != std::string::npos;
    p.emulated = (arm && x86_cpu) || (p.arch == "x86_64" && cpu.count("CPU implementer"));
    for(auto dt : {"sys/firmware/devicetree/base/model", "proc/device-tree/model"})
        if(auto m = read_whole(root / dt); !m.empty())
        {
            p.model = m.substr(0, m.find('\0'));
            break;
        }
    auto arch_field = cpu.find("CPU architecture");
    auto model_name = cpu.find("model name");
    p.armv6 = p.arch == "armv6l" || (arch_field != cpu.end() && arch_field->second == "6") ||
              (model_name != cpu.end() && model_name->second.find("ARMv6") != std::string::npos);
    if(auto s = read_whole(root / "proc/sys/kernel/yama/ptrace_scope"); !s.empty())
        p.ptrace_scope = std::atoi(s.c_str());
    std::istringstream pre(read_whole(root / "etc/ld.so.preload"));
    for(std::string entry; pre >> entry;)
        if(entry[0] != '#')
            p.preloads.push_back(entry);
    return p;
}

// GCC 12 at -O2 warns that moving these long literals into the vector overruns a short
// string's buffer (-Warray-bounds); a known false positive (GCC PR 105329).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
std::vector<std::string> platform_limits(const platform& p)
{
    std::vector<std::string> out;
    if(p.emulated)
        out.push_back("leaklab runs under qemu-user here: growth verdicts work, from the server's own counts (RSS "
                      "includes the emulator, which keeps memory for every thread started, so it is shown, not "
                      "judged), but ASan, LSan, TSan and valgrind do not run under qemu-user");
    if(p.page_size > 0 && p.page_size != 4096)
        out.push_back("pages are " + human_bytes(double(p.page_size)) +
                      " (a Raspberry Pi 5's default kernel): RSS moves in steps of that size. leaklab reads RSS in "
                      "bytes and judges it per operation, with a 1 MiB minimum of growth, so verdicts hold; a leak "
                      "smaller than a page per operation shows in heap_bytes first");
    if(p.word_bits == 32)
        out.push_back("a 32-bit userland: GCC's LeakSanitizer supports only 64-bit targets, so the asan preset "
                      "checks addresses and undefined behaviour here but reports no leaks at exit");
    if(p.arch == "aarch64" && p.va_bits > 0 && p.va_bits <= 39)
        out.push_back("39-bit virtual addresses (an arm64 kernel built with VA_BITS=39): AddressSanitizer cannot map "
                      "its shadow memory, so the asan preset fails to start; use growth, valgrind or heap profiles");
    for(auto& lib : p.preloads)
        if(lib.find("libarmmem") != std::string::npos)
            out.push_back("/etc/ld.so.preload loads " + lib +
                          " into every program (Raspberry Pi OS): valgrind reports false invalid reads inside its "
                          "memcpy and memset; for valgrind runs, comment that line out (as root) while you measure");
    if(p.armv6)
        out.push_back("an ARMv6 CPU (Raspberry Pi Zero or 1): Debian's armhf binaries, and so the pi-armhf preset, "
                      "need ARMv7; build on the board with Raspberry Pi OS's own compiler (native build)");
    if(p.ptrace_scope >= 2)
        out.push_back("ptrace_scope is " + std::to_string(p.ptrace_scope) +
                      ": no process may trace another, so LeakSanitizer cannot run its leak check at exit");
    return out;
}
#pragma GCC diagnostic pop

bool ptrace_permitted()
{
    // LeakSanitizer stops the program from a child it allowed to trace it: try the same.
    const pid_t parent = ::getpid();
    int ready[2];
    if(::pipe(ready) != 0)
        return false;
    const pid_t child = ::fork();
    if(child < 0)
        return false;
    if(child == 0)
    {
        ::close(ready[1]);
        char c;
        if(::read(ready[0], &c, 1) != 1)
            ::_exit(2);
        ::alarm(5);
        if(::ptrace(PTRACE_ATTACH, parent, nullptr, nullptr) != 0)
            ::_exit(1);
        int status = 0;
        ::waitpid(parent, &status, __WALL);
        ::ptrace(PTRACE_DETACH, parent, nullptr, nullptr);
        ::_exit(0);
    }
    ::close(ready[0]);
    ::prctl(PR_SET_PTRACER, child, 0, 0, 0);
    (void)::write(ready[1], "x", 1);
    ::close(ready[1]);
    int status = 0;
    while(::waitpid(child, &status, 0) < 0 && errno == EINTR)
    {
    }
    ::prctl(PR_SET_PTRACER, 0, 0, 0, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::vector<tool> find_tools()
{
    std::vector<tool> out;
    auto program = [&](const std::string& name, const std::string& what, const std::string& hint) {
        out.push_back({name, what, on_path(name), hint});
    };
    auto library = [&](const std::string& name, const std::string& file, const std::string& what, const std::string& hint) {
        out.push_back({name, what, compiler_library(file), hint});
    };
    library("libasan", "libasan.so", "ASan + LSan + UBSan (--preset asan)", "g++ ships it (Debian: libasan8)");
    library("libtsan", "libtsan.so", "ThreadSanitizer (--preset tsan)", "g++ ships it (Debian: libtsan2)");
    program("valgrind", "memcheck: leaks and descriptors at exit (--preset valgrind)", "apt-get install valgrind");
    library("libtcmalloc", "libtcmalloc.so", "gperftools heap profiles (--preset gperf)", "apt-get install libgoogle-perftools-dev");
    program("google-pprof", "reads and diffs gperftools heap profiles", "apt-get install google-perftools");
    program("addr2line", "reads the stacks of pending operations (--mode tasks) and sanitizer frames", "apt-get install binutils");
    program("heaptrack", "records every allocation with its stack (--mode heaptrack)", "apt-get install heaptrack");
    program("heaptrack_print", "reads heaptrack's records", "apt-get install heaptrack");
    program("nm", "names the file of each function heaptrack leaves without one", "apt-get install binutils");
    program("qemu-aarch64", "runs the pi-aarch64 preset's servers here", "apt-get install qemu-user");
    program("qemu-arm", "runs the pi-armhf preset's servers here", "apt-get install qemu-user");
    program("aarch64-linux-gnu-g++", "builds the pi-aarch64 preset", "apt-get install g++-aarch64-linux-gnu");
    program("arm-linux-gnueabihf-g++", "builds the pi-armhf preset", "apt-get install g++-arm-linux-gnueabihf");
    program("redis-server", "lab 10's backend", "apt-get install redis-server");
    return out;
}

} // namespace leaklab::process
