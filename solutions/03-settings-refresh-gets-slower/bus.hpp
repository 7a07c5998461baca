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
#include <utility>
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
    // Subscribed while it lives: the listener leaves the bus when this is destroyed.
    class subscription
    {
        settings_bus* bus_;
        std::uint64_t id_;

    public:
        subscription(settings_bus* bus, std::uint64_t id) : bus_(bus), id_(id) {}
        subscription(subscription&& other) noexcept : bus_(std::exchange(other.bus_, nullptr)), id_(other.id_) {}
        ~subscription()
        {
            if(bus_)
                bus_->unsubscribe(id_);
        }
    };

    // Call `fn` with every settings update for as long as the subscription lives.
    [[nodiscard]] subscription subscribe(listener fn)
    {
        std::lock_guard lock(mutex_);
        auto id = ++next_id_;
        listeners_.emplace(id, std::move(fn));
        count_.set(static_cast<std::int64_t>(listeners_.size()));
        return subscription(this, id);
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
