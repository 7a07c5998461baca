// The device directory: which devices are online right now, for the operator
// dashboard and for pushing commands to a device by id.
#ifndef DIRECTORY_HPP
#define DIRECTORY_HPP

#include <labkit/metrics.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

class device_session;

class directory
{
    std::mutex mutex_;
    std::unordered_map<std::uint64_t, std::shared_ptr<device_session>> devices_;
    std::uint64_t next_id_ = 0;
    labkit::gauge& online_ = labkit::named_gauge("devices_online", "Devices the dashboard shows as online");

public:
    // Register a device that just connected; returns its id.
    std::uint64_t join(std::shared_ptr<device_session> device)
    {
        std::lock_guard lock(mutex_);
        auto id = ++next_id_;
        devices_.emplace(id, std::move(device));
        online_.set(static_cast<std::int64_t>(devices_.size()));
        return id;
    }

    // The device with this id, if it is online.
    std::shared_ptr<device_session> find(std::uint64_t id)
    {
        std::lock_guard lock(mutex_);
        auto it = devices_.find(id);
        return it == devices_.end() ? nullptr : it->second;
    }
};

// The gateway's one directory, shared by every feed and the dashboard.
inline directory& devices()
{
    static auto* instance = new directory;
    return *instance;
}

#endif
