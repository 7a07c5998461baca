// The settings bus: the gateway pushes the fleet's live settings to every
// listener, so open feeds apply a change without reconnecting.
#ifndef BUS_HPP
#define BUS_HPP

#include <labkit/metrics.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

// The settings a feed applies while it is open.
struct settings
{
    std::size_t max_reading_bytes = 64 * 1024;
};

class settings_bus
{
public:
    using listener = std::function<void(const settings&)>;

private:
    std::mutex mutex_;
    std::map<std::uint64_t, listener> listeners_;
    std::uint64_t next_id_ = 0;
    labkit::gauge& count_ = labkit::named_gauge("bus_listeners", "Callbacks subscribed to the settings bus");

public:
    // Call `fn` with every settings update; returns the listener's id.
    std::uint64_t subscribe(listener fn)
    {
        std::lock_guard lock(mutex_);
        auto id = ++next_id_;
        listeners_.emplace(id, std::move(fn));
        count_.set(static_cast<std::int64_t>(listeners_.size()));
        return id;
    }

    // Stop calling the listener with this id.
    void unsubscribe(std::uint64_t id)
    {
        std::lock_guard lock(mutex_);
        listeners_.erase(id);
        count_.set(static_cast<std::int64_t>(listeners_.size()));
    }

    // Hand the settings to every listener (outside the lock, so a listener may subscribe).
    void publish(const settings& s)
    {
        std::vector<listener> targets;
        {
            std::lock_guard lock(mutex_);
            targets.reserve(listeners_.size());
            for(auto& [id, fn] : listeners_)
                targets.push_back(fn);
        }
        for(auto& fn : targets)
            fn(s);
    }
};

// The gateway's one settings bus, shared by every feed and the refresher.
inline settings_bus& fleet_settings()
{
    static auto* instance = new settings_bus;
    return *instance;
}

#endif
