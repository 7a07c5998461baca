// Telemetry gateway, device feeds: each device streams readings over a WebSocket
// (/feed?device=ID) and is listed in the directory while it is online; the
// dashboard looks a device up with GET /devices/ID.
#include "directory.hpp"

#include <labkit/server.hpp>
#include <labkit/spawn.hpp>
#include <labkit/websocket.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

using labkit::no_throw;

class device_session : public std::enable_shared_from_this<device_session>
{
    websocket::stream<beast::tcp_stream> ws_;
    std::optional<directory::membership> membership_;
    labkit::scoped_count live_{labkit::sessions()};

public:
    explicit device_session(tcp::socket&& socket) : ws_(std::move(socket)) {}

    void start()
    {
        labkit::spawn(ws_.get_executor(), serve(shared_from_this()));
    }

    std::uint64_t id() const { return membership_ ? membership_->id() : 0; }

private:
    static net::awaitable<void> serve(std::shared_ptr<device_session> self)
    {
        auto& ws = self->ws_;

        // Read the request: a device opening its feed, or the dashboard looking one up
        beast::flat_buffer buffer;
        labkit::request req;
        auto hec = co_await labkit::read_request(ws.next_layer(), buffer, req);
        if(hec)
            co_return fail(hec, "read");
        if(!websocket::is_upgrade(req))
            co_return co_await lookup(self, req);

        // Accept the handshake, then list the device as online under its id
        auto aec = co_await labkit::accept(ws, req);
        if(aec)
            co_return fail(aec, "accept");
        self->membership_.emplace(devices().join(device_id(req.target()), self));

        // Acknowledge every reading by echoing it back
        for(;;)
        {
            auto [rec, rn] = co_await ws.async_read(buffer, no_throw);
            if(rec == websocket::error::closed)
                co_return;
            if(rec)
                co_return fail(rec, "read");

            ws.text(ws.got_text());
            auto [wec, wn] = co_await ws.async_write(buffer.data(), no_throw);
            if(wec)
                co_return fail(wec, "write");
            buffer.consume(buffer.size());
        }
    }

    // The device's id from /feed?device=ID
    static std::string device_id(std::string_view target)
    {
        auto at = target.find("device=");
        if(at == std::string_view::npos)
            return {};
        auto id = target.substr(at + 7);
        return std::string(id.substr(0, id.find('&')));
    }

    // GET /devices/ID: 200 while that device is online, 404 otherwise
    static net::awaitable<void> lookup(std::shared_ptr<device_session> self, const labkit::request& req)
    {
        std::string_view target = req.target(), prefix = "/devices/";
        bool online = req.method() == http::verb::get && target.starts_with(prefix) &&
                      devices().find(target.substr(prefix.size())) != nullptr;
        auto res = labkit::reply(req, online ? http::status::ok : http::status::not_found, "application/json",
                                 online ? R"({"online":true})" : R"({"online":false})");
        res.keep_alive(false);
        co_await labkit::send(self->ws_.next_layer(), std::move(res));
    }
};

int main(int argc, char* argv[])
{
    return labkit::run(argc, argv, [](labkit::lab& lab) {
        labkit::accept(lab, [](tcp::socket socket) { std::make_shared<device_session>(std::move(socket))->start(); });
    });
}
