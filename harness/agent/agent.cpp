// The heap agent: loaded into a server with LD_PRELOAD, it reports the process's heap in
// use (glibc's mallinfo2) to leaklab through a shared page, so a server that exports no
// metrics still gets heap_bytes. It never writes to the server's stdout or stderr, runs
// one thread with every signal blocked, and allocates nothing from the server's heap.
#include "agent_page.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <ctime>

namespace {

using namespace leaklab::agent;

page* shared = nullptr;
slot* mine = nullptr;

long futex(std::atomic<std::uint32_t>& word, int op, std::uint32_t value, const timespec* timeout)
{
    return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), op, value, timeout, nullptr, 0);
}

void measure(slot& s)
{
    const struct mallinfo2 m = mallinfo2();
    s.heap_bytes.store(m.uordblks + m.hblkhd, std::memory_order_release);
}

// Answers the harness: wait for a new request, measure, publish, wake the reader.
void* serve(void*)
{
    slot& s = *mine;
    std::uint32_t seen = s.answer.load(std::memory_order_acquire);
    for(;;)
    {
        const timespec second{1, 0};
        futex(s.request, FUTEX_WAIT, seen, &second);
        const std::uint32_t request = s.request.load(std::memory_order_acquire);
        if(request == seen)
            continue;
        measure(s);
        s.answer.store(request, std::memory_order_release);
        futex(s.answer, FUTEX_WAKE, INT_MAX, nullptr);
        seen = request;
    }
    return nullptr;
}

// This process's slot: the one an earlier image with the same pid had (exec), or a free one.
slot* claim()
{
    const std::int32_t self = static_cast<std::int32_t>(getpid());
    for(auto& s : shared->slots)
        if(s.pid.load() == self)
            return &s;
    for(auto& s : shared->slots)
    {
        std::int32_t free_slot = 0;
        if(s.pid.compare_exchange_strong(free_slot, self))
            return &s;
    }
    return nullptr;
}

// Claims a slot and starts the thread that serves it; signals stay with the server's threads.
void start_serving()
{
    mine = claim();
    if(!mine)
        return;
    mine->threads.store(0);
    measure(*mine);
    mine->answer.store(mine->request.load());

    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    if(pthread_create(&thread, &attr, serve, nullptr) == 0)
        mine->threads.store(1);
    else
        mine->pid.store(0);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

__attribute__((constructor)) void load()
{
    const char* path = std::getenv(page_env);
    if(!path || !*path)
        return;
    const int fd = open(path, O_RDWR | O_CLOEXEC);
    if(fd < 0)
        return;
    void* p = mmap(nullptr, sizeof(page), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if(p == MAP_FAILED)
        return;
    shared = static_cast<page*>(p);
    if(shared->magic != page_magic || shared->version != page_version)
    {
        munmap(p, sizeof(page));
        shared = nullptr;
        return;
    }
    // A forked worker is a process of its own: it gets a slot and a thread of its own.
    pthread_atfork(nullptr, nullptr, start_serving);
    start_serving();
}

} // namespace
