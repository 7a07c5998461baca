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
    std::unordered_map<std::uint64_t, std::pair<std::string, std::weak_ptr<device_session>>> devices_;
    std::uint64_t next_id_ = 0;
    labkit::gauge& online_ = labkit::named_gauge("devices_online", "Devices the dashboard shows as online");

    void leave(std::uint64_t id)
    {
        std::lock_guard lock(mutex_);
        devices_.erase(id);
        online_.set(static_cast<std::int64_t>(devices_.size()));
    }

public:
    // Listed while it lives: the device leaves the directory when this is destroyed.
    class membership
    {
        directory* dir_;
        std::uint64_t id_;

    public:
        membership(directory* dir, std::uint64_t id) : dir_(dir), id_(id) {}
        membership(membership&& other) noexcept : dir_(std::exchange(other.dir_, nullptr)), id_(other.id_) {}
        ~membership()
        {
            if(dir_)
                dir_->leave(id_);
        }
        std::uint64_t id() const { return id_; }
    };

    // Register a device that just connected under its device id; it stays listed while the membership lives.
    membership join(std::string device_id, std::weak_ptr<device_session> device)
    {
        std::lock_guard lock(mutex_);
        auto id = ++next_id_;
        devices_.emplace(id, std::pair(std::move(device_id), std::move(device)));
        online_.set(static_cast<std::int64_t>(devices_.size()));
        return membership(this, id);
    }

    // The device with this device id, if it is online.
    std::shared_ptr<device_session> find(std::string_view device_id)
    {
        std::lock_guard lock(mutex_);
        for(auto& [id, entry] : devices_)
            if(entry.first == device_id)
                if(auto device = entry.second.lock())
                    return device;
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
