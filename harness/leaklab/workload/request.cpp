#include "leaklab/workload/request.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace leaklab::workload {

using namespace std::chrono;

net::awaitable<request_outcome> send_request(tcp::endpoint ep, const trigger_spec& t, const template_vars& v,
                                             double timeout_s)
{
    constexpr auto no_throw = net::as_tuple(net::use_awaitable);
    beast::tcp_stream stream(co_await net::this_coro::executor);
    stream.expires_after(duration_cast<steady_clock::duration>(duration<double>(timeout_s)));
    http::request<http::string_body> req{http::string_to_verb(t.method), expand(t.path, v), 11};
    req.set(http::field::host, "127.0.0.1:" + std::to_string(ep.port()));
    req.set(http::field::user_agent, "leaklab");
    req.keep_alive(false);
    req.body() = expand(t.body, v);
    req.prepare_payload();

    request_outcome out;
    out.what = t.method + " " + std::string(req.target());
    out.sent = steady_clock::now();
    auto [cec] = co_await stream.async_connect(ep, no_throw);
    if(cec)
        out.error = "connect: " + cec.message();
    if(out.error.empty())
    {
        auto [wec, wn] = co_await http::async_write(stream, req, no_throw);
        if(wec)
            out.error = "HTTP write: " + wec.message();
    }
    http::response<http::string_body> res;
    if(out.error.empty())
    {
        beast::flat_buffer buffer;
        auto [rec, rn] = co_await http::async_read(stream, buffer, res, no_throw);
        if(rec)
            out.error = "HTTP read: " + rec.message();
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    if(out.error.empty() && res.result_int() != t.expect_status)
        out.breach = out.what + " answered " + std::to_string(res.result_int()) + ", expected " +
                     std::to_string(t.expect_status);
    co_return out;
}

} // namespace leaklab::workload
