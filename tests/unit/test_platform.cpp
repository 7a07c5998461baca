// The platform as doctor sees it, read from a fake root: a Raspberry Pi 5 with 16 KiB
// pages, a 39-bit arm64 kernel and libarmmem preloaded; a 32-bit Pi Zero; a Pi binary
// emulated on an x86 host.
#include "leaklab/process/platform.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace leaklab::process;

namespace {

struct fake_root
{
    fs::path dir = fs::temp_directory_path() / ("leaklab-platform-" + std::to_string(std::rand()));
    fake_root() { fs::create_directories(dir); }
    ~fake_root() { fs::remove_all(dir); }
    void write(const std::string& file, const std::string& text)
    {
        fs::create_directories((dir / file).parent_path());
        std::ofstream(dir / file, std::ios::binary) << text;
    }
};

bool says(const std::vector<std::string>& lines, const std::string& what)
{
    return std::any_of(lines.begin(), lines.end(), [&](auto& l) { return l.find(what) != std::string::npos; });
}

} // namespace

TEST_CASE("a Raspberry Pi 5: 16 KiB pages, a 39-bit kernel, libarmmem preloaded")
{
    fake_root r;
    r.write("proc/cpuinfo", "processor\t: 0\nCPU implementer\t: 0x41\nCPU architecture: 8\n");
    r.write("proc/meminfo", "MemTotal:        8245100 kB\nMemFree: 1 kB\n");
    r.write("sys/firmware/devicetree/base/model", std::string("Raspberry Pi 5 Model B Rev 1.0") + '\0');
    r.write("etc/ld.so.preload", "/usr/lib/arm-linux-gnueabihf/libarmmem-${PLATFORM}.so\n");
    r.write("proc/sys/kernel/yama/ptrace_scope", "1\n");
    r.write("leaklab-fake", "arch aarch64\npage_size 16384\nword_bits 64\nva_bits 39\n");
    auto p = read_platform(r.dir);
    CHECK(p.arch == "aarch64");
    CHECK(p.page_size == 16384);
    CHECK(p.memory_bytes == 8245100.0 * 1024);
    CHECK(p.model == "Raspberry Pi 5 Model B Rev 1.0");
    CHECK_FALSE(p.emulated);
    CHECK_FALSE(p.armv6);
    CHECK(p.ptrace_scope == 1);
    auto limits = platform_limits(p);
    CHECK(says(limits, "pages are 16 KiB"));
    CHECK(says(limits, "39-bit virtual addresses"));
    CHECK(says(limits, "libarmmem"));
    CHECK_FALSE(says(limits, "32-bit userland"));
    CHECK_FALSE(says(limits, "qemu-user"));
}

TEST_CASE("a Pi Zero on a 32-bit OS: ARMv6, and no LeakSanitizer")
{
    fake_root r;
    r.write("proc/cpuinfo", "processor\t: 0\nmodel name\t: ARMv6-compatible processor rev 7 (v6l)\nCPU architecture: 7\n");
    r.write("leaklab-fake", "arch armv6l\npage_size 4096\nword_bits 32\n");
    auto p = read_platform(r.dir);
    CHECK(p.armv6);
    auto limits = platform_limits(p);
    CHECK(says(limits, "ARMv6"));
    CHECK(says(limits, "32-bit userland"));
    CHECK_FALSE(says(limits, "pages are"));
}

TEST_CASE("an arm build run under qemu-user on an x86 host is emulated")
{
    fake_root r;
    r.write("proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme\n");
    r.write("leaklab-fake", "arch aarch64\npage_size 4096\nword_bits 64\n");
    auto p = read_platform(r.dir);
    CHECK(p.emulated);
    CHECK(says(platform_limits(p), "ASan, LSan, TSan and valgrind do not run under qemu-user"));
}

TEST_CASE("this machine: a page size and a word size read from the process")
{
    auto p = read_platform();
    CHECK(p.page_size >= 4096);
    CHECK((p.word_bits == 32 || p.word_bits == 64));
    CHECK(p.va_bits > 30);
    CHECK(human_bytes(16384) == "16 KiB");
    CHECK(human_bytes(3.5 * 1024 * 1024 * 1024) == "3.5 GiB");
}

TEST_CASE("in a container: the cgroup's CPU quota and memory limit bound what a build may use")
{
    fake_root r;
    r.write("proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\n");
    r.write("proc/meminfo", "MemTotal:       24000000 kB\nMemAvailable:   20000000 kB\n");
    r.write("leaklab-fake", "arch x86_64\ncores 8\n");
    SECTION("no cgroup files: the cores and MemAvailable as they are")
    {
        auto p = read_platform(r.dir);
        CHECK(p.usable_cores == 8);
        CHECK(p.memory_available_bytes == 20000000.0 * 1024);
    }
    SECTION("a quota of 1.5 CPUs is 2 cores; 3 GiB allowed with 1 GiB in use leaves 2 GiB")
    {
        r.write("sys/fs/cgroup/cpu.max", "150000 100000\n");
        r.write("sys/fs/cgroup/memory.max", "3221225472\n");
        r.write("sys/fs/cgroup/memory.current", "1073741824\n");
        auto p = read_platform(r.dir);
        CHECK(p.usable_cores == 2);
        CHECK(p.memory_available_bytes == 2147483648.0);
    }
    SECTION("no limits set (\"max\"): nothing changes")
    {
        r.write("sys/fs/cgroup/cpu.max", "max 100000\n");
        r.write("sys/fs/cgroup/memory.max", "max\n");
        auto p = read_platform(r.dir);
        CHECK(p.usable_cores == 8);
        CHECK(p.memory_available_bytes == 20000000.0 * 1024);
    }
}
