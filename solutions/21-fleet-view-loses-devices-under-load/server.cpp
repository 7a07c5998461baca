// Telemetry gateway, fleet view: each device streams readings over a WebSocket
// (/feed?device=ID) and is listed as online, with its reading count, while its
// feed is open; the dashboard asks GET /devices/ID or GET /devices for the count.
#include <labkit/server.hpp>
#include <labkit/websocket.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

using labkit::no_throw;

// The devices online now: since when, and how many readings each has sent.
// Sessions on every io thread use it at once: each call holds the lock for the whole
// of its use of the map.
class fleet
{
public:
    struct presence
    {
        std::chrono::steady_clock::time_point since;
        std::uint64_t readings = 0;
    };

    void join(const std::string& device)
    {
        std::lock_guard lock(mutex_);
        online_[device] = presence{std::chrono::steady_clock::now(), 0};
        count_.set(static_cast<std::int64_t>(online_.size()));
    }

    void reading(const std::string& device)
    {
        std::lock_guard lock(mutex_);
        auto it = online_.find(device);
        if(it != online_.end())
            ++it->second.readings;
    }

    void leave(const std::string& device)
    {
        std::lock_guard lock(mutex_);
        online_.erase(device);
        count_.set(static_cast<std::int64_t>(online_.size()));
    }

    std::optional<presence> find(const std::string& device)
    {
        std::lock_guard lock(mutex_);
        auto it = online_.find(device);
        if(it == online_.end())
            return std::nullopt;
        return it->second;
    }

    std::size_t size()
    {
        std::lock_guard lock(mutex_);
        return online_.size();
    }

private:
    std::mutex mutex_;
    std::unordered_map<std::string, presence> online_;
    labkit::gauge& count_ = labkit::named_gauge("devices_online", "Devices listed as online");
};

fleet& devices()
{
    static auto* instance = new fleet;
    return *instance;
}

// The device's id from /feed?device=ID
std::string device_id(std::string_view target)
{
    auto at = target.find("device=");
    if(at == std::string_view::npos)
        return {};
    auto id = target.substr(at + 7);
    return std::string(id.substr(0, id.find('&')));
}

// GET /devices/ID: 200 with the device's reading count while it is online, 404 otherwise;
// GET /devices: how many are online
labkit::response lookup(const labkit::request& req)
{
    std::string_view target = req.target(), prefix = "/devices/";
    if(req.method() == http::verb::get && target == "/devices")
        return labkit::reply(req, http::status::ok, "application/json",
                             R"({"online":)" + std::to_string(devices().size()) + "}");
    if(auto p = req.method() == http::verb::get && target.starts_with(prefix)
                    ? devices().find(std::string(target.substr(prefix.size())))
                    : std::nullopt)
        return labkit::reply(req, http::status::ok, "application/json",
                             R"({"online":true,"readings":)" + std::to_string(p->readings) + "}");
    return labkit::reply(req, http::status::not_found, "application/json", R"({"online":false})");
}

// One device's feed: listed while it lasts, every reading counted and acknowledged.
net::awaitable<void> feed(websocket::stream<beast::tcp_stream>& ws, const std::string& device)
{
    beast::flat_buffer buffer;
    for(;;)
    {
        auto [rec, rn] = co_await ws.async_read(buffer, no_throw);
        if(rec == websocket::error::closed)
            co_return;
        if(rec)
            co_return fail(rec, "read");
        devices().reading(device);

        // Acknowledge the reading by echoing it back
        ws.text(ws.got_text());
        auto [wec, wn] = co_await ws.async_write(buffer.data(), no_throw);
        if(wec)
            co_return fail(wec, "write");
        buffer.consume(buffer.size());
    }
}

// One connection: a device opening its feed, or the dashboard asking about the fleet.
net::awaitable<void> serve(tcp::socket socket)
{
    labkit::scoped_count live(labkit::sessions());
    websocket::stream<beast::tcp_stream> ws(std::move(socket));

    // Read the request, with a deadline
    beast::flat_buffer buffer;
    labkit::request req;
    auto hec = co_await labkit::read_request(ws.next_layer(), buffer, req);
    if(hec)
        co_return fail(hec, "read");

    auto device = device_id(req.target());
    if(!websocket::is_upgrade(req) || device.empty())
    {
        auto res = lookup(req);
        res.keep_alive(false);
        co_await labkit::send(ws.next_layer(), std::move(res));
        co_return;
    }

    // Accept the feed; the WebSocket layer times it from here on
    auto aec = co_await labkit::accept(ws, req);
    if(aec)
        co_return fail(aec, "accept");

    // Online for as long as the feed lasts
    devices().join(device);
    co_await feed(ws, device);
    devices().leave(device);
}

int main(int argc, char* argv[])
{
    return labkit::run(argc, argv, [](labkit::lab& lab) {
        labkit::accept(lab, [](tcp::socket socket) { return serve(std::move(socket)); });
    });
}
