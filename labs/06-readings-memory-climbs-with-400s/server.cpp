// Telemetry gateway, HTTP API: devices upload single readings with POST /readings;
// the gateway decodes each one and keeps the newest for the dashboard, which asks
// for the latest with GET /readings/latest.
#include "reading.hpp"

#include <labkit/server.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

// The newest readings, for the dashboard; the oldest drop off the end.
class recent_readings
{
    std::mutex mutex_;
    std::deque<std::unique_ptr<reading>> items_;
    std::size_t limit_;

public:
    explicit recent_readings(std::size_t limit) : limit_(limit) {}

    void add(std::unique_ptr<reading> r)
    {
        std::scoped_lock lock(mutex_);
        items_.push_front(std::move(r));
        if(items_.size() > limit_)
            items_.pop_back();
    }

    std::string latest()
    {
        std::scoped_lock lock(mutex_);
        return items_.empty() ? std::string("{}") : items_.front()->payload;
    }
};

class session : public std::enable_shared_from_this<session>
{
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> req_;
    http::response<http::string_body> res_;
    recent_readings& recent_;
    labkit::scoped_count live_{labkit::sessions()};

public:
    session(tcp::socket&& socket, recent_readings& recent) : stream_(std::move(socket)), recent_(recent) {}

    void run()
    {
        net::dispatch(stream_.get_executor(), beast::bind_front_handler(&session::do_read, shared_from_this()));
    }

    void do_read()
    {
        // Make the request empty before reading, otherwise the operation behavior is undefined
        req_ = {};

        // Set the timeout
        stream_.expires_after(std::chrono::seconds(30));

        // Read a request
        http::async_read(stream_, buffer_, req_, beast::bind_front_handler(&session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t)
    {
        // The device closed the connection
        if(ec == http::error::end_of_stream)
            return do_close();
        if(ec)
            return fail(ec, "read");

        // Answer the request; an upload that does not decode is the device's error
        start_response(http::status::ok);
        try
        {
            handle_request();
        }
        catch(const bad_reading& e)
        {
            start_response(http::status::bad_request);
            res_.body() = std::string(R"({"error":")") + e.what() + R"("})";
        }
        res_.prepare_payload();
        do_write();
    }

    void start_response(http::status status)
    {
        res_ = {};
        res_.result(status);
        res_.version(req_.version());
        res_.keep_alive(req_.keep_alive());
        res_.set(http::field::server, "telemetry-gateway");
        res_.set(http::field::content_type, "application/json");
    }

    void handle_request()
    {
        if(req_.method() == http::verb::post && req_.target() == "/readings")
            return store_reading();
        if(req_.method() == http::verb::get && req_.target() == "/readings/latest")
        {
            res_.body() = recent_.latest();
            return;
        }
        res_.result(http::status::not_found);
        res_.body() = R"({"error":"no such resource"})";
    }

    // Decode the upload and keep it for the dashboard
    void store_reading()
    {
        auto* r = new reading;
        r->payload = req_.body();
        r->received = std::chrono::system_clock::now();
        decode_reading(r->payload, *r);

        res_.result(http::status::created);
        res_.body() = R"({"stored":")" + r->device + R"("})";
        recent_.add(std::unique_ptr<reading>(r));
    }

    void do_write()
    {
        // Write the response
        http::async_write(stream_, res_,
                          beast::bind_front_handler(&session::on_write, shared_from_this(), res_.keep_alive()));
    }

    void on_write(bool keep_alive, beast::error_code ec, std::size_t)
    {
        if(ec)
            return fail(ec, "write");

        // The device asked to close the connection after this reply
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
        auto recent = std::make_shared<recent_readings>(lab.option<int>("keep", 64));
        labkit::accept(lab, [recent](tcp::socket socket) {
            std::make_shared<session>(std::move(socket), *recent)->run();
        });
    });
}
