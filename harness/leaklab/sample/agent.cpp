#include "leaklab/sample/agent.hpp"

#include "agent/agent_page.hpp"

#include <elf.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#ifndef LEAKLAB_BINARY_DIR
#define LEAKLAB_BINARY_DIR ""
#endif

namespace leaklab::sample {

namespace fs = std::filesystem;
using namespace std::chrono;

std::optional<fs::path> agent_library()
{
    // Beside this leaklab (its build tree, or a deployed kit), else where it was built.
    std::error_code ec;
    auto exe = fs::read_symlink("/proc/self/exe", ec);
    if(!ec && fs::is_regular_file(exe.parent_path().parent_path() / "lib" / "libleaklab-agent.so", ec))
        return exe.parent_path().parent_path() / "lib" / "libleaklab-agent.so";
    fs::path lib = fs::path(LEAKLAB_BINARY_DIR) / "lib" / "libleaklab-agent.so";
    if(fs::is_regular_file(lib, ec))
        return lib;
    return std::nullopt;
}

namespace {

fs::path in_path(const std::string& program)
{
    if(program.find('/') != std::string::npos)
        return program;
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "/usr/bin:/bin");
    for(std::string dir; std::getline(dirs, dir, ':');)
    {
        fs::path p = fs::path(dir.empty() ? "." : dir) / program;
        if(::access(p.c_str(), X_OK) == 0)
            return p;
    }
    return {};
}

// The DT_NEEDED names of a 64-bit ELF file, read through its program headers.
std::vector<std::string> needed_libraries(const std::string& image, const Elf64_Ehdr& eh)
{
    std::vector<std::string> out;
    auto phdr = [&](std::size_t i) {
        Elf64_Phdr ph;
        std::memcpy(&ph, image.data() + eh.e_phoff + i * sizeof(Elf64_Phdr), sizeof ph);
        return ph;
    };
    // A virtual address in the file, through the PT_LOAD segment that maps it.
    auto offset_of = [&](Elf64_Addr addr) -> std::optional<std::size_t> {
        for(std::size_t i = 0; i < eh.e_phnum; ++i)
            if(auto ph = phdr(i); ph.p_type == PT_LOAD && addr >= ph.p_vaddr && addr < ph.p_vaddr + ph.p_filesz)
                return static_cast<std::size_t>(addr - ph.p_vaddr + ph.p_offset);
        return std::nullopt;
    };
    for(std::size_t i = 0; i < eh.e_phnum; ++i)
    {
        auto ph = phdr(i);
        if(ph.p_type != PT_DYNAMIC || ph.p_offset + ph.p_filesz > image.size())
            continue;
        std::vector<Elf64_Xword> names;
        std::optional<std::size_t> strtab;
        for(std::size_t off = ph.p_offset; off + sizeof(Elf64_Dyn) <= ph.p_offset + ph.p_filesz; off += sizeof(Elf64_Dyn))
        {
            Elf64_Dyn d;
            std::memcpy(&d, image.data() + off, sizeof d);
            if(d.d_tag == DT_NULL)
                break;
            if(d.d_tag == DT_NEEDED)
                names.push_back(d.d_un.d_val);
            else if(d.d_tag == DT_STRTAB)
                strtab = offset_of(d.d_un.d_ptr);
        }
        if(!strtab)
            break;
        for(auto n : names)
            if(*strtab + n < image.size())
                out.emplace_back(image.c_str() + *strtab + n);
    }
    return out;
}

} // namespace

std::optional<std::string> agent_unsuitable(const std::string& program)
{
    const fs::path p = in_path(program);
    struct stat st{};
    if(p.empty() || ::stat(p.c_str(), &st) != 0)
        return std::nullopt;  // not found here: the server start will say so
    if(st.st_mode & (S_ISUID | S_ISGID))
        return p.string() + " is setuid or setgid, and the loader ignores LD_PRELOAD for it";

    std::ifstream in(p, std::ios::binary);
    std::string image((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if(image.size() < sizeof(Elf64_Ehdr) || std::memcmp(image.data(), ELFMAG, SELFMAG) != 0)
        return std::nullopt;  // a script: the agent loads into whatever it runs, if that can take it
    Elf64_Ehdr eh;
    std::memcpy(&eh, image.data(), sizeof eh);
#if defined(__x86_64__)
    constexpr int host_machine = EM_X86_64;
#elif defined(__aarch64__)
    constexpr int host_machine = EM_AARCH64;
#else
    constexpr int host_machine = -1;
#endif
    if(eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != host_machine)
        return p.string() + " is built for another machine";
    if(eh.e_phoff + std::size_t(eh.e_phnum) * sizeof(Elf64_Phdr) > image.size())
        return p.string() + " has no readable program headers";
    bool dynamic = false;
    for(std::size_t i = 0; i < eh.e_phnum; ++i)
    {
        Elf64_Phdr ph;
        std::memcpy(&ph, image.data() + eh.e_phoff + i * sizeof ph, sizeof ph);
        dynamic = dynamic || ph.p_type == PT_INTERP;
    }
    if(!dynamic)
        return p.string() + " is statically linked, so nothing can be preloaded into it";
    for(auto& lib : needed_libraries(image, eh))
        for(const char* runtime : {"libasan.so", "libtsan.so", "libhwasan.so", "liblsan.so"})
            if(lib.rfind(runtime, 0) == 0)
                return p.string() + " links " + lib + ", which must be the first library loaded";
    return std::nullopt;
}

namespace {

long futex(std::atomic<std::uint32_t>& word, int op, std::uint32_t value, const timespec* timeout)
{
    return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), op, value, timeout, nullptr, 0);
}

} // namespace

heap_agent::heap_agent(const fs::path& dir, fs::path library)
    : file_(dir / "agent.page"), library_(std::move(library))
{
    fs::create_directories(dir);
    const int fd = ::open(file_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if(fd < 0 || ::ftruncate(fd, sizeof(agent::page)) != 0)
    {
        if(fd >= 0)
            ::close(fd);
        throw std::runtime_error("cannot create the heap agent's page " + file_.string() + ": " + std::strerror(errno));
    }
    void* p = ::mmap(nullptr, sizeof(agent::page), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if(p == MAP_FAILED)
        throw std::runtime_error("cannot map the heap agent's page: " + std::string(std::strerror(errno)));
    page_ = static_cast<agent::page*>(p);
    page_->version = agent::page_version;
    std::atomic_thread_fence(std::memory_order_release);
    page_->magic = agent::page_magic;
}

heap_agent::~heap_agent()
{
    if(page_)
        ::munmap(page_, sizeof(agent::page));
    std::error_code ec;
    fs::remove(file_, ec);
}

std::vector<std::string> heap_agent::environment() const
{
    std::string preload = library_.string();
    if(const char* old = std::getenv("LD_PRELOAD"); old && *old)
        preload += std::string(":") + old;
    return {std::string(agent::page_env) + "=" + file_.string(), "LD_PRELOAD=" + preload};
}

heap_agent::reading heap_agent::read(const std::vector<pid_t>& pids, milliseconds timeout)
{
    // Ask every process at once, then collect the answers.
    std::vector<std::pair<agent::slot*, std::uint32_t>> asked;
    for(auto& s : page_->slots)
    {
        const pid_t pid = s.pid.load();
        if(pid == 0 || std::find(pids.begin(), pids.end(), pid) == pids.end())
            continue;
        const std::uint32_t request = s.request.fetch_add(1) + 1;
        futex(s.request, FUTEX_WAKE, INT_MAX, nullptr);
        asked.emplace_back(&s, request);
    }
    reading r;
    const auto deadline = steady_clock::now() + timeout;
    for(auto& [s, request] : asked)
    {
        for(std::uint32_t a; (a = s->answer.load(std::memory_order_acquire)) != request;)
        {
            auto left = duration_cast<nanoseconds>(deadline - steady_clock::now());
            if(left.count() <= 0)
            {
                ++r.late;
                break;
            }
            const timespec ts{static_cast<time_t>(left.count() / 1000000000), static_cast<long>(left.count() % 1000000000)};
            futex(s->answer, FUTEX_WAIT, a, &ts);
        }
        r.heap_bytes += double(s->heap_bytes.load(std::memory_order_acquire));
        r.threads += s->threads.load();
        ++r.processes;
    }
    return r;
}

} // namespace leaklab::sample
