// A small HTTP server that is not a lab and knows nothing of leaklab: no
// LISTENING line, no /metrics. `leaklab probe` must judge it from /proc alone.
//
//   hoard_http PORT [--hoard BYTES] [--keep N] [--lose BYTES] [--crash-after N] [--read-timeout-ms MS]
//
// Every request is answered 200 "ok". With --hoard, each request also keeps
// BYTES of memory forever (an "audit log" nobody reads); without it nothing is kept.
// With --keep N as well, the log keeps only the last N entries: a bounded cache that
// fills, then recycles (the plateau a leak check must not flag).
// With --crash-after, the server aborts on request N (for the harness's crash path).
// A client that sends nothing for --read-timeout-ms (default 30000) is dropped; 0 = never.
// With --lose, each request also allocates BYTES and drops the only pointer to them:
// memory nothing can reach, which LeakSanitizer reports at exit (a positive control).
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <iostream>
#include <memory>
#include <string>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

std::size_t hoard_bytes = 0;
std::size_t keep_entries = 0;  // 0 = keep every entry
std::size_t lose_bytes = 0;
long crash_after = -1;
long read_timeout_ms = 30000;
long served = 0;
std::deque<std::string> audit_log;

net::awaitable<void> serve(tcp::socket socket)
{
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for(;;)
    {
        http::request<http::string_body> req;
        if(read_timeout_ms > 0)
            stream.expires_after(std::chrono::milliseconds(read_timeout_ms));
        else
            stream.expires_never();
        auto [ec, n] = co_await http::async_read(stream, buffer, req, net::as_tuple(net::use_awaitable));
        if(ec)
            break;
        if(++served == crash_after)
            std::abort();
        // Keep a copy of the request "for auditing", padded to the configured size.
        if(hoard_bytes)
        {
            audit_log.emplace_back(std::string(req.target()) + std::string(hoard_bytes, '.'));
            if(keep_entries && audit_log.size() > keep_entries)
                audit_log.pop_front();
        }
        if(lose_bytes)
        {
            auto* scratch = new char[lose_bytes];
            scratch[0] = static_cast<char>(served);
            [[maybe_unused]] volatile char* lost = scratch;
        }
        http::response<http::string_body> res{http::status::ok, req.version()};
        res.set(http::field::content_type, "text/plain");
        res.keep_alive(req.keep_alive());
        res.body() = "ok\n";
        res.prepare_payload();
        auto [wec, wn] = co_await http::async_write(stream, res, net::as_tuple(net::use_awaitable));
        if(wec || !req.keep_alive())
            break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

net::awaitable<void> listen(tcp::acceptor& acceptor)
{
    for(;;)
    {
        auto [ec, socket] = co_await acceptor.async_accept(net::as_tuple(net::use_awaitable));
        if(ec)
            continue;
        net::co_spawn(acceptor.get_executor(), serve(std::move(socket)), net::detached);
    }
}

} // namespace

int main(int argc, char* argv[])
{
    if(argc < 2)
    {
        std::cerr << "usage: hoard_http PORT [--hoard BYTES] [--keep N] [--lose BYTES] [--crash-after N] [--read-timeout-ms MS]\n";
        return 2;
    }
    for(int i = 2; i + 1 < argc; i += 2)
    {
        if(std::strcmp(argv[i], "--hoard") == 0)
            hoard_bytes = std::strtoul(argv[i + 1], nullptr, 10);
        else if(std::strcmp(argv[i], "--keep") == 0)
            keep_entries = std::strtoul(argv[i + 1], nullptr, 10);
        else if(std::strcmp(argv[i], "--lose") == 0)
            lose_bytes = std::strtoul(argv[i + 1], nullptr, 10);
        else if(std::strcmp(argv[i], "--crash-after") == 0)
            crash_after = std::strtol(argv[i + 1], nullptr, 10);
        else if(std::strcmp(argv[i], "--read-timeout-ms") == 0)
            read_timeout_ms = std::strtol(argv[i + 1], nullptr, 10);
    }
    net::io_context ioc;
    tcp::acceptor acceptor(ioc);
    try
    {
        tcp::endpoint ep(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::atoi(argv[1])));
        acceptor.open(ep.protocol());
        acceptor.bind(ep);
        acceptor.listen();
    }
    catch(const boost::system::system_error& e)
    {
        std::cerr << "hoard_http: cannot listen on port " << argv[1] << ": " << e.code().message() << "\n";
        return 2;
    }
    net::co_spawn(ioc, listen(acceptor), net::detached);
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) { ioc.stop(); });
    ioc.run();
}
