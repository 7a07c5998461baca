#include "labkit/handler_tracking.hpp"
#include "labkit/pending.hpp"

#include <boost/stacktrace/stacktrace.hpp>

#include <link.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace labkit::tracking {

std::atomic<std::int64_t> ops_pending{0};
std::atomic<const boost::asio::execution_context*> untracked_context{nullptr};
std::atomic<bool> recording{false};
const char awaited_marker[] = "labkit:awaited";

namespace {

// The co_await being initiated on this thread, and the root of the handler running on it.
thread_local std::uint32_t awaited_now = 0;
thread_local std::uint32_t root_now = 0;

// Deep enough to reach a lab's frame under Asio's and Beast's own.
constexpr std::size_t max_frames = 48;

struct group_key
{
    std::string kind;
    std::uint32_t awaited = 0, created = 0, from = 0;
    bool operator<(const group_key& o) const
    {
        return std::tie(kind, awaited, created, from) < std::tie(o.kind, o.awaited, o.created, o.from);
    }
};

// What is recorded: stacks (return addresses) and groups of pending operations, both interned.
struct table
{
    std::mutex m;
    std::map<std::vector<std::uintptr_t>, std::uint32_t> stack_ids;
    std::vector<const std::vector<std::uintptr_t>*> stacks;   // by id - 1
    std::map<group_key, std::uint32_t> group_ids;
    std::vector<std::pair<const group_key*, std::int64_t>> groups;  // by id - 1: key, pending now
    std::unordered_map<const void*, std::uint32_t> live;            // operation -> group
    std::uint64_t recorded = 0;
};

table& tab()
{
    static table* t = new table;   // never destroyed: operations complete during static destruction
    return *t;
}

std::uint32_t intern_group(table& t, group_key key)
{
    auto [it, added] = t.group_ids.emplace(std::move(key), std::uint32_t(t.groups.size() + 1));
    if(added)
        t.groups.push_back({&it->first, 0});
    return it->second;
}

} // namespace

std::uint32_t capture_stack()
{
    if(!recording.load(std::memory_order_relaxed))
        return 0;
    const boost::stacktrace::stacktrace st(0, max_frames);
    std::vector<std::uintptr_t> frames;
    frames.reserve(st.size());
    for(auto& f : st)
        frames.push_back(reinterpret_cast<std::uintptr_t>(f.address()));
    auto& t = tab();
    std::lock_guard lock(t.m);
    auto [it, added] = t.stack_ids.emplace(std::move(frames), std::uint32_t(t.stacks.size() + 1));
    if(added)
        t.stacks.push_back(&it->first);
    return it->second;
}

void record_creation(tracked_handler& h, const char* object_type, const char* op_name)
{
    group_key key;
    key.kind = std::string(object_type ? object_type : "?") + "." + (op_name ? op_name : "?");
    key.awaited = awaited_now;
    // The native stack says nothing more when the co_await is known.
    if(!key.awaited)
    {
        key.created = capture_stack();
        key.from = root_now;
    }
    h.root_ = key.awaited ? key.awaited : key.from ? key.from : key.created;
    auto& t = tab();
    std::lock_guard lock(t.m);
    const auto g = intern_group(t, std::move(key));
    ++t.groups[g - 1].second;
    ++t.recorded;
    t.live[&h] = g;
    h.recorded_ = true;
}

void record_completion(const tracked_handler& h)
{
    auto& t = tab();
    std::lock_guard lock(t.m);
    if(auto it = t.live.find(&h); it != t.live.end())
    {
        --t.groups[it->second - 1].second;
        t.live.erase(it);
    }
}

std::uint32_t enter_handler(std::uint32_t root)
{
    return std::exchange(root_now, root);
}

void leave_handler(std::uint32_t previous)
{
    root_now = previous;
}

std::uint32_t enter_awaited(std::uint32_t stack)
{
    return std::exchange(awaited_now, stack);
}

void leave_awaited(std::uint32_t previous)
{
    awaited_now = previous;
}

task_scope::task_scope(std::uint32_t spawned_at) : group_(0)
{
    if(!spawned_at)
        return;
    auto& t = tab();
    std::lock_guard lock(t.m);
    group_ = intern_group(t, {"coroutine.spawn", 0, spawned_at, root_now});
    ++t.groups[group_ - 1].second;
}

task_scope::~task_scope()
{
    if(!group_)
        return;
    auto& t = tab();
    std::lock_guard lock(t.m);
    --t.groups[group_ - 1].second;
}

void start_recording()
{
    const char* v = std::getenv("LEAKLAB_TASKS");
    if(v && std::string(v) == "1")
        recording.store(true);
}

namespace {

struct module
{
    std::string path;
    std::uintptr_t bias = 0;
    std::vector<std::pair<std::uintptr_t, std::uintptr_t>> ranges;   // loaded segments
};

std::vector<module> loaded_modules()
{
    std::vector<module> out;
    dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void* data) {
            auto& mods = *static_cast<std::vector<module>*>(data);
            module m;
            m.path = info->dlpi_name ? info->dlpi_name : "";
            m.bias = info->dlpi_addr;
            for(int i = 0; i < info->dlpi_phnum; ++i)
                if(info->dlpi_phdr[i].p_type == PT_LOAD)
                    m.ranges.push_back({info->dlpi_addr + info->dlpi_phdr[i].p_vaddr,
                                        info->dlpi_addr + info->dlpi_phdr[i].p_vaddr + info->dlpi_phdr[i].p_memsz});
            // The program itself has no name here: its path is /proc/self/exe's target.
            if(m.path.empty() && mods.empty())
            {
                char buf[4096];
                const auto n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
                m.path = n > 0 ? std::string(buf, std::size_t(n)) : "";
            }
            if(!m.path.empty())
                mods.push_back(std::move(m));
            return 0;
        },
        &out);
    return out;
}

} // namespace

pending_answer dump_pending()
{
    if(!recording.load())
        return {409, "pending operations are not recorded: start the server with LEAKLAB_TASKS=1\n"};
    auto& t = tab();
    std::lock_guard lock(t.m);
    const auto modules = loaded_modules();
    std::ostringstream out;
    out << "labkit-pending 1\n";
    out << "pending " << ops_pending.load() << " recorded " << t.recorded << "\n";
    for(std::size_t i = 0; i < modules.size(); ++i)
        out << "module " << i << ' ' << modules[i].path << '\n';
    // Only the stacks a pending group names; return addresses as module:offset, innermost first.
    std::vector<bool> named(t.stacks.size() + 1, false);
    for(auto& [key, n] : t.groups)
        if(n > 0)
            named[key->awaited] = named[key->created] = named[key->from] = true;
    for(std::size_t id = 1; id <= t.stacks.size(); ++id)
    {
        if(!named[id])
            continue;
        out << "stack " << id;
        for(auto a : *t.stacks[id - 1])
        {
            const auto pc = a;
            bool found = false;
            for(std::size_t mi = 0; mi < modules.size() && !found; ++mi)
                for(auto& [lo, hi] : modules[mi].ranges)
                    if(pc >= lo && pc < hi)
                    {
                        char buf[40];
                        std::snprintf(buf, sizeof buf, " %zu:%lx", mi, static_cast<unsigned long>(pc - modules[mi].bias));
                        out << buf;
                        found = true;
                        break;
                    }
            if(!found)
                out << " ?";
        }
        out << '\n';
    }
    for(auto& [key, n] : t.groups)
        if(n > 0)
            out << "group " << n << ' ' << key->kind << " awaited=" << key->awaited << " created=" << key->created
                << " from=" << key->from << '\n';
    return {200, out.str()};
}

} // namespace labkit::tracking
