#include "labkit/settings.hpp"

#include <memory>
#include <mutex>
#include <vector>

namespace labkit {

namespace {

struct registry
{
    std::mutex mutex;
    std::vector<std::unique_ptr<live_setting>> owned;
};

// Never destroyed: settings are read by detached work until the process exits.
registry& the_registry()
{
    static auto* r = new registry;
    return *r;
}

} // namespace

live_setting& named_setting(const std::string& name, std::int64_t initial)
{
    auto& r = the_registry();
    std::lock_guard lock(r.mutex);
    for(auto& s : r.owned)
        if(s->name() == name)
            return *s;
    r.owned.push_back(std::make_unique<live_setting>(name, initial));
    return *r.owned.back();
}

live_setting* find_setting(const std::string& name)
{
    auto& r = the_registry();
    std::lock_guard lock(r.mutex);
    for(auto& s : r.owned)
        if(s->name() == name)
            return s.get();
    return nullptr;
}

} // namespace labkit
