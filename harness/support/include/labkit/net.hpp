// What every lab server includes: namespace aliases and the one fail() helper.
#ifndef LABKIT_NET_HPP
#define LABKIT_NET_HPP

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <exception>
#include <string_view>

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace labkit {

// Report a failure on stderr (rate-limited so a flood of errors cannot drown the log).
void fail(beast::error_code ec, std::string_view what);

// Report an exception that ended a task on stderr, rate-limited alike.
void fail(std::exception_ptr e, std::string_view what);

} // namespace labkit

using labkit::fail;

#endif
