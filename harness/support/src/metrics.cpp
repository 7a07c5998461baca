#include "labkit/metrics.hpp"
#include "labkit/handler_tracking.hpp"

#include <malloc.h>

#include <memory>
#include <mutex>
#include <sstream>
#include <vector>

// Present only when a sanitizer runtime or tcmalloc is linked in.
extern "C" std::size_t __sanitizer_get_current_allocated_bytes() __attribute__((weak));
extern "C" int MallocExtension_GetNumericProperty(const char* name, std::size_t* value) __attribute__((weak));

namespace labkit {

namespace {

struct registry
{
    std::mutex mutex;
    std::vector<gauge*> gauges;
    std::vector<std::unique_ptr<gauge>> owned;
};

registry& the_registry()
{
    static registry r;
    return r;
}

} // namespace

gauge::gauge(std::string name, std::string help)
    : name_(std::move(name)), help_(std::move(help))
{
    auto& r = the_registry();
    std::lock_guard lock(r.mutex);
    r.gauges.push_back(this);
}

gauge& named_gauge(const std::string& name, const std::string& help)
{
    auto& r = the_registry();
    {
        std::lock_guard lock(r.mutex);
        for(auto* g : r.gauges)
            if(g->name() == name)
                return *g;
    }
    auto g = std::make_unique<gauge>(name, help);
    auto& ref = *g;
    std::lock_guard lock(r.mutex);
    r.owned.push_back(std::move(g));
    return ref;
}

gauge& sessions()
{
    static gauge& g = named_gauge("sessions_live", "Sessions constructed and not yet destroyed");
    return g;
}

gauge& coroutines()
{
    static gauge& g = named_gauge("coroutines_live", "Coroutines started with labkit::spawn and not yet finished");
    return g;
}

std::uint64_t heap_bytes()
{
    if(__sanitizer_get_current_allocated_bytes)
        return __sanitizer_get_current_allocated_bytes();
    std::size_t v = 0;
    if(MallocExtension_GetNumericProperty &&
       MallocExtension_GetNumericProperty("generic.current_allocated_bytes", &v))
        return v;
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

std::string render_metrics()
{
    // Make sure the built-in gauges exist even before their first use.
    sessions();
    coroutines();

    std::ostringstream out;
    auto line = [&](const std::string& name, const std::string& help, auto value) {
        out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " gauge\n"
            << name << ' ' << value << '\n';
    };
    line("asio_ops_pending", "Asio asynchronous operations created and not yet completed",
         tracking::ops_pending.load(std::memory_order_relaxed));
    line("heap_bytes", "Heap bytes allocated and not freed", heap_bytes());
    out << "# UNIT heap_bytes bytes\n";

    auto& r = the_registry();
    std::lock_guard lock(r.mutex);
    for(auto* g : r.gauges)
        line(g->name(), g->help(), g->value());
    return out.str();
}

} // namespace labkit
