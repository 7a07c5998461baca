// The calibration table: one offset per sensor, uploaded by operators and
// applied to every reading the API serves. Shared by all io threads.
#ifndef CALIBRATION_HPP
#define CALIBRATION_HPP

#include <charconv>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

class calibration
{
    std::mutex mutex_;
    std::unordered_map<std::string, double> offsets_;

public:
    // Apply one update, "sensor=offset"; false if it is malformed.
    bool update(std::string_view body)
    {
        // Held until the scope ends, on every return path
        std::scoped_lock lock(mutex_);
        auto eq = body.find('=');
        if(eq == std::string_view::npos || eq == 0)
            return false;
        double offset = 0;
        auto [end, ec] = std::from_chars(body.data() + eq + 1, body.data() + body.size(), offset);
        if(ec != std::errc() || end != body.data() + body.size())
            return false;
        offsets_[std::string(body.substr(0, eq))] = offset;
        return true;
    }

    // The offset for a sensor: 0 until it is calibrated.
    double offset(std::string_view sensor)
    {
        std::scoped_lock lock(mutex_);
        auto it = offsets_.find(std::string(sensor));
        return it == offsets_.end() ? 0.0 : it->second;
    }
};

#endif
