// The device directory: which devices are online right now, for the operator
// dashboard and for pushing commands to a device by id.
#ifndef DIRECTORY_HPP
#define DIRECTORY_HPP

#include <labkit/metrics.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

class device_session;

class directory
{
    std::mutex mutex_;
    std::unordered_map<std::uint64_t, std::pair<std::string, std::shared_ptr<device_session>>> devices_;
    std::uint64_t next_id_ = 0;
    labkit::gauge& online_ = labkit::named_gauge("devices_online", "Devices the dashboard shows as online");

public:
    // Register a device that just connected under its device id; returns its entry's id.
    std::uint64_t join(std::string device_id, std::shared_ptr<device_session> device)
    {
        std::lock_guard lock(mutex_);
        auto id = ++next_id_;
        devices_.emplace(id, std::pair(std::move(device_id), std::move(device)));
        online_.set(static_cast<std::int64_t>(devices_.size()));
        return id;
    }

    // The device with this device id, if it is online.
    std::shared_ptr<device_session> find(std::string_view device_id)
    {
        std::lock_guard lock(mutex_);
        for(auto& [id, entry] : devices_)
            if(entry.first == device_id)
                return entry.second;
        return nullptr;
    }
};

// The gateway's one directory, shared by every feed and the dashboard.
inline directory& devices()
{
    static auto* instance = new directory;
    return *instance;
}

#endif
