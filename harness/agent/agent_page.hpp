// The page the heap agent and the harness share: one slot per process the agent was
// loaded into. The harness creates the file and names it in LEAKLAB_AGENT_PAGE; each
// process claims a slot with its pid and answers requests with its heap in use.
#ifndef LEAKLAB_AGENT_PAGE_HPP
#define LEAKLAB_AGENT_PAGE_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace leaklab::agent {

inline constexpr std::uint32_t page_magic = 0x4c4b4147;  // "LKAG"
inline constexpr std::uint32_t page_version = 1;
inline constexpr std::size_t max_slots = 127;
inline constexpr const char* page_env = "LEAKLAB_AGENT_PAGE";

struct slot
{
    std::atomic<std::int32_t> pid;        // 0: free
    std::atomic<std::uint32_t> request;   // the harness adds one and wakes the agent (futex)
    std::atomic<std::uint32_t> answer;    // the agent copies request here once heap_bytes is fresh
    std::atomic<std::uint32_t> threads;   // threads the agent itself runs in this process
    std::atomic<std::uint64_t> heap_bytes;  // mallinfo2: uordblks + hblkhd
};

struct page
{
    std::uint32_t magic;
    std::uint32_t version;
    std::uint64_t reserved;
    slot slots[max_slots];
};

static_assert(std::atomic<std::uint32_t>::is_always_lock_free && std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(sizeof(slot) == 24);

} // namespace leaklab::agent

#endif
