// Telemetry gateway, live feed: devices stream readings over a WebSocket and the
// gateway acknowledges each one. Fleet settings are refreshed on a timer and
// pushed to every open feed over the settings bus.
#include "bus.hpp"

#include <labkit/server.hpp>
#include <labkit/settings.hpp>

#include <chrono>
#include <memory>

class session : public std::enable_shared_from_this<session>
{
    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buffer_;
    std::uint64_t listener_id_ = 0;
    labkit::scoped_count live_{labkit::sessions()};

public:
    explicit session(tcp::socket&& socket) : ws_(std::move(socket)) {}

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

        // Apply settings changes on this feed's strand for as long as the feed is open
        listener_id_ = fleet_settings().subscribe([weak = weak_from_this()](const settings& s) {
            if(auto self = weak.lock())
                net::post(self->ws_.get_executor(), [self, s] { self->apply(s); });
        });

        do_read();
    }

    void apply(const settings& s) { ws_.read_message_max(s.max_reading_bytes); }

    void do_read()
    {
        ws_.async_read(buffer_, beast::bind_front_handler(&session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t)
    {
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
            return fail(ec, "write");

        buffer_.consume(buffer_.size());
        do_read();
    }
};

// Fetches the fleet settings on a timer and publishes them on the bus.
class refresher : public std::enable_shared_from_this<refresher>
{
    net::steady_timer timer_;
    std::chrono::milliseconds interval_;
    labkit::live_setting& max_reading_bytes_;

public:
    refresher(net::io_context& ioc, std::chrono::milliseconds interval, labkit::live_setting& max_reading_bytes)
        : timer_(ioc), interval_(interval), max_reading_bytes_(max_reading_bytes)
    {
    }

    void run() { do_wait(); }
    void stop() { timer_.cancel(); }

    void do_wait()
    {
        timer_.expires_after(interval_);
        timer_.async_wait(beast::bind_front_handler(&refresher::on_wait, shared_from_this()));
    }

    void on_wait(beast::error_code ec)
    {
        if(ec)
            return;

        // Ask the fleet config service (labkit's PUT /settings/max-reading-bytes) and publish its answer
        settings s;
        s.max_reading_bytes = static_cast<std::size_t>(max_reading_bytes_.value());
        fleet_settings().publish(s);
        do_wait();
    }
};

int main(int argc, char* argv[])
{
    return labkit::run(argc, argv, [](labkit::lab& lab) {
        auto& limit = labkit::named_setting("max-reading-bytes",
                                            lab.option<std::int64_t>("max-reading-bytes", settings{}.max_reading_bytes));
        auto interval = std::chrono::milliseconds(lab.option<int>("refresh-ms", 5000));

        // Refresh the settings until the gateway stops
        auto r = std::make_shared<refresher>(lab.ioc(), interval, limit);
        r->run();
        lab.on_stop([r] { r->stop(); });

        labkit::accept(lab, [](tcp::socket socket) { std::make_shared<session>(std::move(socket))->run(); });
    });
}
