// Telemetry gateway, HTTP API: devices upload batches of readings with POST /readings.
// Every upload is audited: one that is still unanswered when the audit window closes
// is written to the audit log, so slow storage shows up in the operators' reports.
#include <labkit/http.hpp>
#include <labkit/server.hpp>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>

// One line that names a request in the audit log.
std::string describe(const http::request<http::string_body>& req)
{
    return std::string(req.method_string()) + " " + std::string(req.target()) + " (" +
           std::to_string(req.body().size()) + " bytes)";
}

// What the audit did, for the operators: uploads it watched, and uploads it logged as unanswered
labkit::gauge& uploads_audited = labkit::named_gauge("uploads_audited", "Uploads whose audit clock was started");
labkit::gauge& audit_log_lines = labkit::named_gauge("audit_log_lines", "Uploads logged as unanswered after the audit window");

class session : public std::enable_shared_from_this<session>
{
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> req_;
    http::response<http::string_body> res_;
    std::chrono::milliseconds audit_window_;
    labkit::scoped_count live_{labkit::sessions()};

public:
    session(tcp::socket&& socket, std::chrono::milliseconds audit_window)
        : stream_(std::move(socket)), audit_window_(audit_window)
    {
    }

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

        start_audit();
        handle_request();
        do_write();
    }

    // Start the audit clock: a request still unanswered when it runs out is logged
    void start_audit()
    {
        uploads_audited.add();
        auto audit = std::make_shared<net::steady_timer>(stream_.get_executor(), audit_window_);
        audit->async_wait([audit, req = req_](beast::error_code ec) {
            if(ec)
                return;
            audit_log_lines.add();
            std::clog << "audit: unanswered after the audit window: " << describe(req) << '\n';
        });
    }

    // Store the upload and build the reply
    void handle_request()
    {
        if(req_.target() != "/readings")
            res_ = labkit::reply(req_, http::status::not_found, "application/json", R"({"error":"no such resource"})");
        else if(req_.method() != http::verb::post)
            res_ = labkit::reply(req_, http::status::method_not_allowed, "application/json",
                                 R"({"error":"POST readings here"})");
        else
            res_ = labkit::reply(req_, http::status::created, "application/json",
                                 R"({"accepted":)" + std::to_string(req_.body().size()) + "}");
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
        auto window = std::chrono::milliseconds(lab.option<int>("audit-ms", 600000));
        labkit::accept(lab, [window](tcp::socket socket) {
            std::make_shared<session>(std::move(socket), window)->run();
        });
    });
}
