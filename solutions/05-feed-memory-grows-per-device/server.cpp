// Telemetry gateway, live feed: devices stream readings over a WebSocket. Every
// message to a device (acknowledgements now, commands later) goes out through
// the feed's downlink, which queues messages and writes them one at a time.
#include <labkit/server.hpp>

#include <deque>
#include <memory>
#include <string>

class session;

// The outbound half of a feed: a queue of messages for the device.
class downlink : public std::enable_shared_from_this<downlink>
{
    // The session owns the downlink, never the other way round: a weak_ptr back,
    // so the pair is destroyed as soon as the session's handlers let go of it
    std::weak_ptr<session> session_;
    std::deque<std::string> queue_;
    static constexpr std::size_t queue_limit = 64;

public:
    explicit downlink(std::weak_ptr<session> s) : session_(std::move(s)) {}

    void send(std::string message)
    {
        // A device that stops reading does not get to grow the queue without bound
        if(queue_.size() >= queue_limit)
            return;
        queue_.push_back(std::move(message));
        if(queue_.size() == 1)
            do_write();
    }

    void do_write();
    void on_write(std::shared_ptr<session>, beast::error_code ec, std::size_t);
};

class session : public std::enable_shared_from_this<session>
{
    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buffer_;
    std::shared_ptr<downlink> downlink_;
    labkit::scoped_count live_{labkit::sessions()};

    friend class downlink;

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

        // Open the downlink, then start reading
        downlink_ = std::make_shared<downlink>(shared_from_this());
        ws_.text(true);
        do_read();
    }

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

        // Acknowledge the reading by echoing it back, and read the next one
        downlink_->send(beast::buffers_to_string(buffer_.data()));
        buffer_.consume(buffer_.size());
        do_read();
    }
};

void downlink::do_write()
{
    // The feed is gone: nothing left to write to
    auto s = session_.lock();
    if(!s)
        return;

    // Write the oldest message; the write keeps the feed alive until it completes, the next one goes then
    s->ws_.async_write(net::buffer(queue_.front()),
                       beast::bind_front_handler(&downlink::on_write, shared_from_this(), s));
}

void downlink::on_write(std::shared_ptr<session>, beast::error_code ec, std::size_t)
{
    if(ec)
        return fail(ec, "write");

    queue_.pop_front();
    if(!queue_.empty())
        do_write();
}

int main(int argc, char* argv[])
{
    return labkit::run(argc, argv, [](labkit::lab& lab) {
        labkit::accept(lab, [](tcp::socket socket) { std::make_shared<session>(std::move(socket))->run(); });
    });
}
