// Telemetry gateway, device feeds: each device streams readings over a WebSocket
// and is listed in the directory while it is online.
#include "directory.hpp"

#include <labkit/server.hpp>
#include <labkit/spawn.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <optional>

using net::use_awaitable;
constexpr auto no_throw = net::as_tuple(use_awaitable);

class device_session : public std::enable_shared_from_this<device_session>
{
    websocket::stream<beast::tcp_stream> ws_;
    std::optional<directory::membership> membership_;
    labkit::scoped_count live_{labkit::sessions()};

public:
    explicit device_session(tcp::socket&& socket) : ws_(std::move(socket)) {}

    void start()
    {
        labkit::spawn(ws_.get_executor(), serve(shared_from_this()), net::detached);
    }

    std::uint64_t id() const { return membership_ ? membership_->id() : 0; }

private:
    static net::awaitable<void> serve(std::shared_ptr<device_session> self)
    {
        auto& ws = self->ws_;
        ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));

        // Accept the handshake, then list the device as online
        auto [aec] = co_await ws.async_accept(no_throw);
        if(aec)
            co_return fail(aec, "accept");
        self->membership_.emplace(devices().join(self));

        // Acknowledge every reading by echoing it back
        beast::flat_buffer buffer;
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
};

int main(int argc, char* argv[])
{
    return labkit::run(argc, argv, [](labkit::lab& lab) {
        labkit::accept(lab, [](tcp::socket socket) { std::make_shared<device_session>(std::move(socket))->start(); });
    });
}
