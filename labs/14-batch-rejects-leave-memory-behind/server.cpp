// Telemetry gateway, HTTP API: each device uploads its batch of readings with
// POST /devices/<id>/batch. The API documents a limit of 1 MiB per batch. The
// last upload of each device is kept, accepted or not, so support can see what
// a device sent (GET /devices/<id>/batch).
#include <labkit/server.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

// What each device uploaded last, by device id.
std::unordered_map<std::string, std::string>& last_uploads()
{
    static std::unordered_map<std::string, std::string> uploads;
    return uploads;
}

// The device id in "/devices/<id>/batch", or "" for any other target.
std::string device_of(beast::string_view target)
{
    constexpr beast::string_view prefix = "/devices/", suffix = "/batch";
    if(!target.starts_with(prefix) || !target.ends_with(suffix) || target.size() <= prefix.size() + suffix.size())
        return {};
    return std::string(target.substr(prefix.size(), target.size() - prefix.size() - suffix.size()));
}

class session : public std::enable_shared_from_this<session>
{
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> res_;
    std::size_t batch_limit_;
    labkit::scoped_count live_{labkit::sessions()};

public:
    session(tcp::socket&& socket, std::size_t batch_limit) : stream_(std::move(socket)), batch_limit_(batch_limit) {}

    void run()
    {
        net::dispatch(stream_.get_executor(), beast::bind_front_handler(&session::do_read, shared_from_this()));
    }

    void do_read()
    {
        // A fresh parser for every request
        parser_.emplace();
        parser_->body_limit(boost::none);

        // Set the timeout
        stream_.expires_after(std::chrono::seconds(30));

        // Read a request
        http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t)
    {
        // The device closed the connection
        if(ec == http::error::end_of_stream)
            return do_close();
        if(ec)
            return fail(ec, "read");

        handle_request(parser_->release());
        do_write();
    }

    // Keep the upload and build the reply
    void handle_request(http::request<http::string_body> req)
    {
        start_reply(req.version(), req.keep_alive());
        auto device = device_of(req.target());

        if(device.empty())
        {
            res_.result(http::status::not_found);
            res_.body() = R"({"error":"no such resource"})";
        }
        else if(req.method() == http::verb::get)
        {
            // Show support what the device sent last
            auto it = last_uploads().find(device);
            if(it == last_uploads().end())
            {
                res_.result(http::status::not_found);
                res_.body() = R"({"error":"nothing uploaded yet"})";
            }
            else
                res_.body() = it->second;
        }
        else if(req.method() != http::verb::post)
        {
            res_.result(http::status::method_not_allowed);
            res_.body() = R"({"error":"POST batches here"})";
        }
        else
        {
            auto size = req.body().size();
            last_uploads()[device] = std::move(req.body());
            if(size > batch_limit_)
            {
                res_.result(http::status::payload_too_large);
                res_.body() = R"({"error":"a batch is limited to )" + std::to_string(batch_limit_) + R"( bytes"})";
            }
            else
            {
                res_.result(http::status::created);
                res_.body() = R"({"accepted":)" + std::to_string(size) + "}";
            }
        }
        res_.prepare_payload();
    }

    void start_reply(unsigned version, bool keep_alive)
    {
        res_ = {};
        res_.version(version);
        res_.keep_alive(keep_alive);
        res_.set(http::field::server, "telemetry-gateway");
        res_.set(http::field::content_type, "application/json");
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
        auto limit = static_cast<std::size_t>(lab.option<int>("batch-limit-kib", 1024)) * 1024;
        labkit::accept(lab, [limit](tcp::socket socket) { std::make_shared<session>(std::move(socket), limit)->run(); });
    });
}
