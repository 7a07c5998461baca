// What the HTTP labs share that is not their lesson: a reply with the gateway's headers,
// reading one request within the deadline, and the request-reply loop of a connection.
//
//   // A lab whose lesson lives in handle():
//   labkit::serve_http(lab, [table](const labkit::request& req) { return handle(req, *table); });
#ifndef LABKIT_HTTP_HPP
#define LABKIT_HTTP_HPP

#include "labkit/net.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace labkit {

class lab;

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

// How long a client may take to send one request.
inline constexpr std::chrono::seconds request_deadline{30};

// A complete reply to req: status, Content-Type and body, the gateway's Server header,
// req's HTTP version and keep-alive, and the Content-Length.
response reply(const request& req, http::status status, std::string_view type, std::string body);

// Read one request within request_deadline. http::error::end_of_stream: the client
// closed the connection between requests.
boost::asio::awaitable<beast::error_code> read_request(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                                       request& req);

// Write res (a failure is reported with fail()); after a reply that closes the connection,
// shut down the sending side.
boost::asio::awaitable<beast::error_code> send(beast::tcp_stream& stream, response res);

// Serve a connection: read a request, answer it with handler(req), until the client closes,
// a reply says Connection: close, or an error (reported with fail()). Counted in sessions_live.
using handler = std::function<response(const request&)>;
boost::asio::awaitable<void> serve_http(beast::tcp_stream stream, handler handle);

// Accept connections on lab.endpoint() and serve each with serve_http in a coroutine of its own.
void serve_http(lab& l, handler handle);

} // namespace labkit

#endif
