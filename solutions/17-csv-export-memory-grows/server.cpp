// Telemetry gateway, HTTP API: the dashboard downloads a device's history as CSV
// with GET /export/<device>.csv. Exports are large and repetitive, so the gateway
// always sends them gzip-compressed, with one zlib stream per connection that is
// reset between responses.
#include <labkit/server.hpp>

#include <zlib.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

// Deflate streams set up since the start: one per connection, however many exports it carries.
labkit::gauge& deflate_streams = labkit::named_gauge("deflate_streams", "Deflate streams set up, one per connection");

// A day of readings for one device, one line every five minutes.
std::string device_history(std::string_view device)
{
    std::string csv = "device,ts,temp_c\n";
    for(int i = 0; i < 288; ++i)
    {
        csv.append(device).append(",").append(std::to_string(1'763'942'400 + 300 * i));
        csv.append(",").append(std::to_string(18 + i % 7)).append(".5\n");
    }
    return csv;
}

// Compress one body as a complete gzip member ("" if zlib fails), then make the
// stream ready for the next.
std::string gzip(z_stream& zs, std::string_view in)
{
    std::string out(deflateBound(&zs, in.size()), '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&zs, Z_FINISH);
    out.erase(out.size() - zs.avail_out);
    deflateReset(&zs);
    if(rc != Z_STREAM_END)
        out.clear();
    return out;
}

// Ends a deflate stream and frees it: whoever owns the pointer owns the stream.
struct deflate_end
{
    void operator()(z_stream* zs) const
    {
        deflateEnd(zs);
        delete zs;
    }
};

class session : public std::enable_shared_from_this<session>
{
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> req_;
    http::response<http::string_body> res_;
    std::unique_ptr<z_stream, deflate_end> zs_{new z_stream{}};
    int level_;
    labkit::scoped_count live_{labkit::sessions()};

public:
    session(tcp::socket&& socket, int level) : stream_(std::move(socket)), level_(level) {}

    void run()
    {
        // One gzip stream (windowBits 15 + 16) for every response on this connection
        if(deflateInit2(zs_.get(), level_, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return fail(beast::error_code(ENOMEM, beast::generic_category()), "deflateInit2");
        deflate_streams.add();

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
        // The client hung up between requests; the gzip stream ends with the session
        if(ec == http::error::end_of_stream)
            return do_close();
        if(ec)
            return fail(ec, "read");

        handle_request();
        do_write();
    }

    void handle_request()
    {
        res_ = {};
        res_.version(req_.version());
        res_.keep_alive(req_.keep_alive());
        res_.set(http::field::server, "telemetry-gateway");

        std::string_view target = req_.target();
        std::string_view prefix = "/export/", suffix = ".csv";
        if(req_.method() != http::verb::get || !target.starts_with(prefix) || !target.ends_with(suffix) ||
           target.size() <= prefix.size() + suffix.size())
        {
            res_.result(http::status::not_found);
            res_.set(http::field::content_type, "application/json");
            res_.body() = R"({"error":"try GET /export/<device>.csv"})";
            res_.prepare_payload();
            return;
        }

        // Send the device's history, compressed
        auto device = target.substr(prefix.size(), target.size() - prefix.size() - suffix.size());
        res_.result(http::status::ok);
        res_.set(http::field::content_type, "text/csv");
        res_.set(http::field::content_encoding, "gzip");
        res_.body() = gzip(*zs_, device_history(device));
        if(res_.body().empty())
        {
            res_.result(http::status::internal_server_error);
            res_.erase(http::field::content_encoding);
        }
        res_.prepare_payload();
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
        auto level = lab.option<int>("level", Z_DEFAULT_COMPRESSION);
        labkit::accept(lab, [level](tcp::socket socket) {
            std::make_shared<session>(std::move(socket), level)->run();
        });
    });
}
