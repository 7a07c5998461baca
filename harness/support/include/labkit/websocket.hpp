// The WebSocket handshake of the coroutine labs: after the HTTP request has been read (with
// labkit::read_request), `co_await labkit::accept(ws, req)` hands the connection to the
// WebSocket layer's own timeouts and answers the upgrade with the gateway's Server header.
#ifndef LABKIT_WEBSOCKET_HPP
#define LABKIT_WEBSOCKET_HPP

#include "labkit/http.hpp"

namespace labkit {

boost::asio::awaitable<beast::error_code> accept(websocket::stream<beast::tcp_stream>& ws, const request& req);

} // namespace labkit

#endif
