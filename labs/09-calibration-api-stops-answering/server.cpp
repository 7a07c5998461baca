// Telemetry gateway, calibration API: PUT /calibration uploads "sensor=offset",
// GET /reading?sensor=ID serves a reading corrected by the sensor's offset.
#include "calibration.hpp"

#include <labkit/server.hpp>
#include <labkit/spawn.hpp>

#include <boost/asio/detached.hpp>

#include <chrono>
#include <memory>
#include <string>

using labkit::no_throw;

// The reply to one request.
http::response<http::string_body> handle(const http::request<http::string_body>& req, calibration& table)
{
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::server, "telemetry-gateway");
    res.set(http::field::content_type, "text/plain");
    res.keep_alive(req.keep_alive());
    std::string_view target = req.target();

    if(req.method() == http::verb::put && target == "/calibration")
    {
        if(table.update(req.body()))
            res.result(http::status::no_content);
        else
        {
            res.result(http::status::bad_request);
            res.body() = "expected sensor=offset\n";
        }
    }
    else if(req.method() == http::verb::get && target.starts_with("/reading?sensor="))
        res.body() = std::to_string(21.5 + table.offset(target.substr(16))) + "\n";
    else
    {
        res.result(http::status::not_found);
        res.body() = "no such endpoint\n";
    }
    res.prepare_payload();
    return res;
}

net::awaitable<void> session(beast::tcp_stream stream, std::shared_ptr<calibration> table)
{
    labkit::scoped_count live(labkit::sessions());
    beast::flat_buffer buffer;
    for(;;)
    {
        // Read a request, within the deadline
        http::request<http::string_body> req;
        stream.expires_after(std::chrono::seconds(30));
        auto [rec, rn] = co_await http::async_read(stream, buffer, req, no_throw);
        if(rec == http::error::end_of_stream)
            break;
        if(rec)
            co_return fail(rec, "read");

        // Answer it
        auto res = handle(req, *table);
        auto [wec, wn] = co_await http::async_write(stream, res, no_throw);
        if(wec)
            co_return fail(wec, "write");
        if(!res.keep_alive())
            break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

int main(int argc, char* argv[])
{
    return labkit::run(argc, argv, [](labkit::lab& lab) {
        auto table = std::make_shared<calibration>();
        labkit::accept(lab, [table](tcp::socket socket) {
            auto ex = socket.get_executor();
            labkit::spawn(ex, session(beast::tcp_stream(std::move(socket)), table), net::detached);
        });
    });
}
