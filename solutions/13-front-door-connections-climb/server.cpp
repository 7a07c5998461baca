// Telemetry gateway: devices stream readings over a WebSocket on /live and the
// gateway acknowledges each one; dashboards poll GET /readings/latest on kept-alive
// HTTP connections. The idle limit for kept-alive connections is a command-line
// option, advertised to clients in the Keep-Alive header and enforced on every read.
#include <labkit/server.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

// The newest reading any device sent, and how many readings have arrived.
struct readings
{
    std::string latest = "null";
    std::uint64_t count = 0;
};

readings& received()
{
    static readings r;
    return r;
}

class websocket_session : public std::enable_shared_from_this<websocket_session>
{
    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buffer_;
    std::chrono::milliseconds idle_limit_;
    labkit::scoped_count live_{labkit::sessions()};

public:
    websocket_session(tcp::socket&& socket, std::chrono::milliseconds idle_limit)
        : ws_(std::move(socket)), idle_limit_(idle_limit)
    {
    }

    // Accept the upgrade request the HTTP session has read
    void run(http::request<http::string_body> req)
    {
        // Time the handshake and idle feeds: a quiet device is pinged, one that no longer answers is dropped
        auto timeout = websocket::stream_base::timeout::suggested(beast::role_type::server);
        timeout.idle_timeout = idle_limit_;
        ws_.set_option(timeout);
        ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
            res.set(http::field::server, "telemetry-gateway");
        }));
        ws_.async_accept(req, beast::bind_front_handler(&websocket_session::on_accept, shared_from_this()));
    }

    void on_accept(beast::error_code ec)
    {
        if(ec)
            return fail(ec, "accept");

        do_read();
    }

    void do_read()
    {
        // Read a reading
        ws_.async_read(buffer_, beast::bind_front_handler(&websocket_session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t)
    {
        // The device closed the feed
        if(ec == websocket::error::closed)
            return;
        if(ec)
            return fail(ec, "read");

        // Keep it as the latest reading, then acknowledge it by sending it back
        auto& r = received();
        r.latest = beast::buffers_to_string(buffer_.data());
        ++r.count;
        ws_.text(ws_.got_text());
        ws_.async_write(buffer_.data(), beast::bind_front_handler(&websocket_session::on_write, shared_from_this()));
    }

    void on_write(beast::error_code ec, std::size_t)
    {
        if(ec)
            return fail(ec, "write");

        buffer_.consume(buffer_.size());
        do_read();
    }
};

class http_session : public std::enable_shared_from_this<http_session>
{
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> res_;
    std::chrono::milliseconds idle_limit_;
    labkit::scoped_count live_{labkit::sessions()};

public:
    http_session(tcp::socket&& socket, std::chrono::milliseconds idle_limit)
        : stream_(std::move(socket)), idle_limit_(idle_limit)
    {
    }

    void run()
    {
        net::dispatch(stream_.get_executor(), beast::bind_front_handler(&http_session::do_read, shared_from_this()));
    }

    void do_read()
    {
        // A fresh parser for every request; dashboards and devices send no large bodies
        parser_.emplace();
        parser_->body_limit(16 * 1024);

        // Every read has a deadline: a whole request within the idle limit, or the connection closes
        stream_.expires_after(idle_limit_);

        // Read a request
        http::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&http_session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t)
    {
        // The client closed the connection
        if(ec == http::error::end_of_stream)
            return do_close();
        if(ec)
            return fail(ec, "read");

        // A device opens its live feed: the connection becomes a WebSocket session
        if(websocket::is_upgrade(parser_->get()))
            return std::make_shared<websocket_session>(stream_.release_socket(), idle_limit_)->run(parser_->release());

        handle_request(parser_->release());
        do_write();
    }

    // Build the reply to a dashboard's request
    void handle_request(const http::request<http::string_body>& req)
    {
        res_ = {};
        res_.version(req.version());
        res_.keep_alive(req.keep_alive());
        res_.set(http::field::server, "telemetry-gateway");
        res_.set(http::field::content_type, "application/json");
        if(req.keep_alive() && idle_limit_ >= std::chrono::seconds(1))
            res_.set(http::field::keep_alive,
                     "timeout=" + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(idle_limit_).count()));

        if(req.method() == http::verb::get && req.target() == "/readings/latest")
        {
            auto& r = received();
            res_.body() = R"({"count":)" + std::to_string(r.count) + R"(,"latest":)" + r.latest + "}";
        }
        else
        {
            res_.result(http::status::not_found);
            res_.body() = R"({"error":"no such resource"})";
        }
        res_.prepare_payload();
    }

    void do_write()
    {
        // Write the response
        http::async_write(stream_, res_,
                          beast::bind_front_handler(&http_session::on_write, shared_from_this(), res_.keep_alive()));
    }

    void on_write(bool keep_alive, beast::error_code ec, std::size_t)
    {
        if(ec)
            return fail(ec, "write");

        // The client asked to close the connection after this reply
        if(!keep_alive)
            return do_close();

        // Read another request
        do_read();
    }

    void do_close()
    {
        // Send a TCP shutdown
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);

        // At this point the connection is closed gracefully
    }
};

int main(int argc, char* argv[])
{
    return labkit::run(argc, argv, [](labkit::lab& lab) {
        auto idle_limit = std::chrono::milliseconds(lab.option<int>("idle-timeout-ms", 30000));
        labkit::accept(lab, [idle_limit](tcp::socket socket) {
            std::make_shared<http_session>(std::move(socket), idle_limit)->run();
        });
    });
}
