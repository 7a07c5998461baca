#include "labkit/heap_profile.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#if defined(LEAKLAB_TCMALLOC)
#include <gperftools/heap-profiler.h>
#endif

namespace labkit {

namespace {

std::mutex dump_mutex;

// The prefix the profiler writes under, or "" when profiling is off.
std::string& prefix()
{
    static std::string p;
    return p;
}

// "/heap-profile?name=base" -> "base"; "" when the name is missing or not [A-Za-z0-9_-]+.
std::string profile_name(std::string_view target)
{
    const auto at = target.find("name=");
    if(at == std::string_view::npos)
        return "";
    auto name = target.substr(at + 5);
    name = name.substr(0, name.find('&'));
    for(char c : name)
        if(!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
            return "";
    return std::string(name.substr(0, 64));
}

} // namespace

void start_heap_profiler()
{
#if defined(LEAKLAB_TCMALLOC)
    const char* p = std::getenv("LEAKLAB_HEAPPROF");
    if(!p || !*p || IsHeapProfilerRunning())
        return;
    prefix() = p;
    HeapProfilerStart(p);
#endif
}

heap_profile_answer dump_heap_profile(std::string_view target)
{
#if defined(LEAKLAB_TCMALLOC)
    if(prefix().empty() || !IsHeapProfilerRunning())
        return {409, "the heap profiler is off: start the server with LEAKLAB_HEAPPROF=<prefix>\n"};
    const auto name = profile_name(target);
    if(name.empty())
        return {400, "name the profile: POST /heap-profile?name=<letters, digits, _ or ->\n"};
    // The profile as text (every live allocation site), written where leaklab reads it.
    std::lock_guard lock(dump_mutex);
    char* text = GetHeapProfile();
    if(!text)
        return {500, "the heap profiler returned no profile\n"};
    const std::string path = prefix() + "." + name + ".heap";
    std::FILE* f = std::fopen(path.c_str(), "w");
    const std::size_t size = std::strlen(text);
    const bool written = f && std::fwrite(text, 1, size, f) == size;
    if(f)
        std::fclose(f);
    std::free(text);
    if(!written)
        return {500, "cannot write " + path + "\n"};
    return {200, path + "\n"};
#else
    (void)target;
    return {501, "this server is not built with tcmalloc: heap profiles need the gperf preset\n"};
#endif
}

} // namespace labkit
