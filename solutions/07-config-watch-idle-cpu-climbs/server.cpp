// Telemetry gateway, config watch: the operator dashboard opens /watch?device=ID
// and is told each time that device's configuration changes (POST /config?device=ID).
#include <labkit/server.hpp>
#include <labkit/spawn.hpp>
#include <labkit/websocket.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/detached.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>

using labkit::no_throw;

// The configuration revision of each device, bumped by every config push.
class config_store
{
    std::mutex mutex_;
    std::unordered_map<std::string, std::uint64_t> revisions_;

public:
    std::uint64_t revision(const std::string& device)
    {
        std::lock_guard lock(mutex_);
        auto it = revisions_.find(device);
        return it == revisions_.end() ? 0 : it->second;
    }

    std::uint64_t bump(const std::string& device)
    {
        std::lock_guard lock(mutex_);
        return ++revisions_[device];
    }
};

config_store& configs()
{
    static auto* instance = new config_store;
    return *instance;
}

// The value of "device=" in a target such as /watch?device=d-7
std::string device_of(beast::string_view target)
{
    auto pos = target.find("device=");
    if(pos == beast::string_view::npos)
        return {};
    auto value = target.substr(pos + 7);
    return std::string(value.substr(0, value.find('&')));
}

std::string revision_json(const std::string& device, std::uint64_t revision)
{
    return R"({"device":")" + device + R"(","config_revision":)" + std::to_string(revision) + "}";
}

class watch_session : public std::enable_shared_from_this<watch_session>
{
    websocket::stream<beast::tcp_stream> ws_;
    std::string device_;
    std::chrono::milliseconds poll_;
    net::cancellation_signal stop_watch_;
    labkit::scoped_count live_{labkit::sessions()};

public:
    watch_session(beast::tcp_stream&& stream, std::string device, std::chrono::milliseconds poll)
        : ws_(std::move(stream)), device_(std::move(device)), poll_(poll)
    {
    }

    void start(labkit::request req)
    {
        labkit::spawn(ws_.get_executor(), serve(shared_from_this(), std::move(req)));
    }

private:
    static net::awaitable<void> serve(std::shared_ptr<watch_session> self, labkit::request req)
    {
        auto& ws = self->ws_;

        // Accept the upgrade the dashboard sent
        auto aec = co_await labkit::accept(ws, req);
        if(aec)
            co_return fail(aec, "accept");

        // Watch the device's configuration in the background, for as long as the session lasts
        labkit::spawn(ws.get_executor(), watch(self),
                      net::bind_cancellation_slot(self->stop_watch_.slot(), net::detached));

        // Read (and ignore) whatever the dashboard sends, until it leaves
        beast::flat_buffer buffer;
        beast::error_code ec;
        while(!ec)
        {
            std::tie(ec, std::ignore) = co_await ws.async_read(buffer, no_throw);
            buffer.clear();
        }
        if(ec != websocket::error::closed)
            fail(ec, "read");

        // The dashboard is gone, and so is every task started for it
        self->stop_watch_.emit(net::cancellation_type::terminal);
    }

    // Poll the revision on a timer; tell the dashboard each time it moves
    static net::awaitable<void> watch(std::shared_ptr<watch_session> self)
    {
        net::steady_timer timer(self->ws_.get_executor());
        auto seen = configs().revision(self->device_);
        for(;;)
        {
            timer.expires_after(self->poll_);
            auto [tec] = co_await timer.async_wait(no_throw);
            if(tec)
                co_return;

            auto now = configs().revision(self->device_);
            if(now == seen)
                continue;
            seen = now;
            auto note = revision_json(self->device_, now);
            auto [wec, wn] = co_await self->ws_.async_write(net::buffer(note), no_throw);
            if(wec)
                co_return fail(wec, "write");
        }
    }
};

// One connection: a dashboard's WebSocket upgrade, or a config push over plain HTTP.
net::awaitable<void> serve_connection(tcp::socket socket, std::chrono::milliseconds poll)
{
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    labkit::request req;

    // Read the request, with a deadline
    auto rec = co_await labkit::read_request(stream, buffer, req);
    if(rec)
        co_return fail(rec, "read");

    auto device = device_of(req.target());
    if(websocket::is_upgrade(req) && req.target().starts_with("/watch") && !device.empty())
    {
        std::make_shared<watch_session>(std::move(stream), std::move(device), poll)->start(std::move(req));
        co_return;
    }

    // Push a new configuration: only its revision matters here
    auto res = req.method() == http::verb::post && req.target().starts_with("/config") && !device.empty()
                   ? labkit::reply(req, http::status::ok, "application/json",
                                   revision_json(device, configs().bump(device)))
                   : labkit::reply(req, http::status::not_found, "application/json",
                                   R"({"error":"try POST /config?device=ID or a WebSocket on /watch?device=ID"})");
    res.keep_alive(false);
    co_await labkit::send(stream, std::move(res));
}

int main(int argc, char* argv[])
{
    return labkit::run(argc, argv, [](labkit::lab& lab) {
        auto poll = std::chrono::milliseconds(lab.option<int>("poll-ms", 1000));
        labkit::accept(lab, [poll](tcp::socket socket) { return serve_connection(std::move(socket), poll); });
    });
}
