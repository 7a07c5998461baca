// Telemetry gateway, dashboard API: GET /devices/<id>/summary serves a device's
// day at a glance (min, max and mean per half hour). Rendering a summary is
// costly, so rendered summaries are cached and shared by every connection.
#include <labkit/http.hpp>
#include <labkit/server.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

// Rendered summaries, by request target.
// At most `capacity` of them, none older than `ttl`: the least recently used goes first.
class summary_cache
{
    using clock = std::chrono::steady_clock;
    struct entry
    {
        std::string target;
        std::string summary;
        clock::time_point expires;
    };

    std::mutex mutex_;
    std::list<entry> entries_; // most recently used first
    std::unordered_map<std::string, std::list<entry>::iterator> index_;
    std::size_t capacity_ = 256;
    clock::duration ttl_ = std::chrono::seconds(10);
    labkit::gauge& size_ = labkit::named_gauge("cache_entries", "Summaries held in the response cache");

public:
    void limit(std::size_t capacity, clock::duration ttl)
    {
        std::lock_guard lock(mutex_);
        capacity_ = capacity;
        ttl_ = ttl;
    }

    // The summary cached for this target, if any and still fresh.
    std::optional<std::string> find(const std::string& target)
    {
        std::lock_guard lock(mutex_);
        auto it = index_.find(target);
        if(it == index_.end())
            return std::nullopt;
        if(it->second->expires <= clock::now())
        {
            entries_.erase(it->second);
            index_.erase(it);
            size_.set(static_cast<std::int64_t>(entries_.size()));
            return std::nullopt;
        }
        entries_.splice(entries_.begin(), entries_, it->second);
        return it->second->summary;
    }

    void put(const std::string& target, std::string summary)
    {
        std::lock_guard lock(mutex_);
        if(auto it = index_.find(target); it != index_.end())
        {
            entries_.erase(it->second);
            index_.erase(it);
        }
        entries_.push_front({target, std::move(summary), clock::now() + ttl_});
        index_.emplace(target, entries_.begin());

        // Evict the least recently used entries beyond the capacity
        while(entries_.size() > capacity_)
        {
            index_.erase(entries_.back().target);
            entries_.pop_back();
        }
        size_.set(static_cast<std::int64_t>(entries_.size()));
    }
};

// The gateway's one cache, shared by every connection for as long as it runs.
summary_cache& cache()
{
    static auto* instance = new summary_cache;
    return *instance;
}

// The device id in "/devices/<id>/summary[?query]", or "" for any other target.
std::string_view device_of(std::string_view target)
{
    target = target.substr(0, target.find('?'));
    constexpr std::string_view prefix = "/devices/", suffix = "/summary";
    if(!target.starts_with(prefix) || !target.ends_with(suffix) || target.size() <= prefix.size() + suffix.size())
        return {};
    return target.substr(prefix.size(), target.size() - prefix.size() - suffix.size());
}

// Render a device's day: min, max and mean of its readings per half hour.
std::string render_summary(std::string_view device)
{
    // When it was rendered (microseconds since the epoch): a cached copy keeps its time.
    auto now = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch());
    std::string out = R"({"device":")" + std::string(device) + R"(","rendered_at_us":)" + std::to_string(now.count()) +
                      R"(,"slots":[)";
    auto seed = static_cast<std::uint32_t>(std::hash<std::string_view>{}(device));
    for(int slot = 0; slot < 48; ++slot)
    {
        seed = seed * 1664525u + 1013904223u;
        double mean = 18.0 + (seed >> 8) % 700 / 100.0;
        char line[96];
        std::snprintf(line, sizeof line, R"(%s{"slot":%d,"min":%.2f,"max":%.2f,"mean":%.2f})", slot ? "," : "",
                      slot, mean - 1.25, mean + 1.25, mean);
        out += line;
    }
    return out + "]}";
}

// The reply to one request.
labkit::response handle(const labkit::request& req)
{
    std::string target(req.target());
    auto device = device_of(target);
    if(req.method() != http::verb::get || device.empty())
        return labkit::reply(req, http::status::not_found, "application/json", R"({"error":"no such resource"})");

    // Serve the cached summary, or render it and cache it; X-Cache says which
    auto cached = cache().find(target);
    auto summary = cached ? std::move(*cached) : render_summary(device);
    auto res = labkit::reply(req, http::status::ok, "application/json", std::move(summary));
    if(!cached)
        cache().put(target, res.body());
    res.set("X-Cache", cached ? "HIT" : "MISS");
    return res;
}

int main(int argc, char* argv[])
{
    return labkit::run(argc, argv, [](labkit::lab& lab) {
        cache().limit(static_cast<std::size_t>(lab.option<int>("cache-entries", 256)),
                      std::chrono::milliseconds(lab.option<int>("cache-ttl-ms", 10000)));
        labkit::serve_http(lab, handle);
    });
}
