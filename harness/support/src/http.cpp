#include "labkit/http.hpp"
#include "labkit/metrics.hpp"
#include "labkit/no_throw.hpp"
#include "labkit/server.hpp"
#include "labkit/spawn.hpp"
#include "labkit/websocket.hpp"

namespace labkit {

response reply(const request& req, http::status status, std::string_view type, std::string body)
{
    response res{status, req.version()};
    res.set(http::field::server, "telemetry-gateway");
    res.set(http::field::content_type, type);
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

net::awaitable<beast::error_code> read_request(beast::tcp_stream& stream, beast::flat_buffer& buffer, request& req)
{
    stream.expires_after(request_deadline);
    auto [ec, n] = co_await http::async_read(stream, buffer, req, no_throw);
    co_return ec;
}

net::awaitable<beast::error_code> send(beast::tcp_stream& stream, response res)
{
    auto [ec, n] = co_await http::async_write(stream, res, no_throw);
    if(ec)
        fail(ec, "write");
    else if(!res.keep_alive())
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    co_return ec;
}

net::awaitable<void> serve_http(beast::tcp_stream stream, handler handle)
{
    scoped_count live(sessions());
    beast::flat_buffer buffer;
    for(;;)
    {
        // Read a request, within the deadline
        request req;
        auto rec = co_await read_request(stream, buffer, req);
        if(rec == http::error::end_of_stream)
            break;
        if(rec)
            co_return fail(rec, "read");

        // Answer it
        auto res = handle(req);
        bool keep_alive = res.keep_alive();
        if(co_await send(stream, std::move(res)) || !keep_alive)
            co_return;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

void serve_http(lab& l, handler handle)
{
    accept(l, [handle = std::move(handle)](tcp::socket socket) {
        return serve_http(beast::tcp_stream(std::move(socket)), handle);
    });
}

net::awaitable<beast::error_code> accept(websocket::stream<beast::tcp_stream>& ws, const request& req)
{
    // The WebSocket layer times the connection from here on
    beast::get_lowest_layer(ws).expires_never();
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "telemetry-gateway"); }));
    auto [ec] = co_await ws.async_accept(req, no_throw);
    co_return ec;
}

} // namespace labkit
