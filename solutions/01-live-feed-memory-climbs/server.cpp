// Telemetry gateway, live feed: devices stream readings over a WebSocket, the
// gateway acknowledges each reading and pings every device on a heartbeat.
#include <labkit/server.hpp>

#include <chrono>
#include <memory>

class session : public std::enable_shared_from_this<session>
{
    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buffer_;
    net::steady_timer heartbeat_;
    std::chrono::milliseconds interval_;
    labkit::scoped_count live_{labkit::sessions()};

public:
    session(tcp::socket&& socket, std::chrono::milliseconds interval)
        : ws_(std::move(socket)), heartbeat_(ws_.get_executor()), interval_(interval)
    {
    }

    void run()
    {
        net::dispatch(ws_.get_executor(), beast::bind_front_handler(&session::on_run, shared_from_this()));
    }

    void on_run()
    {
        // Let the WebSocket layer time the handshake and idle connections
        ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
        ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
            res.set(http::field::server, "telemetry-gateway");
        }));

        // Accept the websocket handshake
        ws_.async_accept(beast::bind_front_handler(&session::on_accept, shared_from_this()));
    }

    void on_accept(beast::error_code ec)
    {
        if(ec)
            return fail(ec, "accept");

        do_heartbeat();
        do_read();
    }

    void do_heartbeat()
    {
        heartbeat_.expires_after(interval_);
        heartbeat_.async_wait(beast::bind_front_handler(&session::on_heartbeat, shared_from_this()));
    }

    void on_heartbeat(beast::error_code ec)
    {
        // Cancelled, or expired just before the feed ended: a timer that already fired still completes with success
        if(ec || !ws_.is_open())
            return;

        // Ping the device; a device that stops answering is caught by the idle timeout
        ws_.async_ping({}, beast::bind_front_handler(&session::on_ping, shared_from_this()));
    }

    void on_ping(beast::error_code ec)
    {
        if(ec && ec != websocket::error::closed && ec != net::error::operation_aborted)
            return fail(ec, "ping");

        // One ping at a time: the next heartbeat starts once this ping is written, while the feed lasts
        if(!ec && ws_.is_open())
            do_heartbeat();
    }

    // The feed is over: stop the heartbeat, whose handler owns this session
    void stop()
    {
        heartbeat_.cancel();
    }

    void do_read()
    {
        ws_.async_read(buffer_, beast::bind_front_handler(&session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t)
    {
        if(ec)
            stop();

        // The device closed the feed
        if(ec == websocket::error::closed)
            return;
        if(ec)
            return fail(ec, "read");

        // Acknowledge the reading by echoing it back
        ws_.text(ws_.got_text());
        ws_.async_write(buffer_.data(), beast::bind_front_handler(&session::on_write, shared_from_this()));
    }

    void on_write(beast::error_code ec, std::size_t)
    {
        if(ec)
        {
            stop();
            return fail(ec, "write");
        }

        buffer_.consume(buffer_.size());
        do_read();
    }
};

int main(int argc, char* argv[])
{
    return labkit::run(argc, argv, [](labkit::lab& lab) {
        auto interval = std::chrono::milliseconds(lab.option<int>("heartbeat-ms", 15000));
        labkit::accept(lab, [interval](tcp::socket socket) {
            std::make_shared<session>(std::move(socket), interval)->run();
        });
    });
}
