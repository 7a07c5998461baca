// Telemetry gateway, device counters: GET /hits?device=ID counts the request in
// Redis (INCR hits:ID) and answers the new count. Redis connections come from a pool.
#include "pool.hpp"

#include <labkit/http.hpp>
#include <labkit/server.hpp>

#include <chrono>
#include <memory>
#include <string>

using labkit::no_throw;

// The reply to one request.
net::awaitable<labkit::response> handle(const labkit::request& req, pool& backends)
{
    std::string_view target = req.target();
    if(req.method() != http::verb::get || !target.starts_with("/hits?device="))
        co_return labkit::reply(req, http::status::not_found, "text/plain", "no such endpoint\n");

    // Count the hit in Redis, on a pooled connection
    auto conn = co_await backends.acquire();
    std::optional<long long> count;
    if(conn)
    {
        count = co_await conn->incr("hits:" + std::string(target.substr(13)));
        backends.release(std::move(conn));
    }
    if(!count)
        co_return labkit::reply(req, http::status::service_unavailable, "text/plain", "backend unavailable\n");
    co_return labkit::reply(req, http::status::ok, "text/plain", std::to_string(*count) + "\n");
}

net::awaitable<void> session(beast::tcp_stream stream, std::shared_ptr<pool> backends)
{
    labkit::scoped_count live(labkit::sessions());
    beast::flat_buffer buffer;
    for(;;)
    {
        // Read a request, within the deadline
        labkit::request req;
        auto rec = co_await labkit::read_request(stream, buffer, req);
        if(rec == http::error::end_of_stream)
            break;
        if(rec)
            co_return fail(rec, "read");

        // Answer it
        stream.expires_never();
        auto res = co_await handle(req, *backends);
        stream.expires_after(std::chrono::seconds(30));
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
        auto port = static_cast<unsigned short>(lab.option<int>("backend-port", 6379));
        auto size = static_cast<std::size_t>(lab.option<int>("pool-size", 4));
        auto backends = std::make_shared<pool>(lab.ioc().get_executor(), size, port);
        labkit::accept(lab, [backends](tcp::socket socket) {
            return session(beast::tcp_stream(std::move(socket)), backends);
        });
    });
}
