#include "leaklab/workload/workload.hpp"

#include <labkit/net.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <functional>
#include <map>
#include <stdexcept>

namespace leaklab::workload {

using namespace std::chrono;
using net::use_awaitable;

const std::vector<std::pair<std::string, std::string>>& kinds()
{
    static const std::vector<std::pair<std::string, std::string>> k = {
        {"ws-churn", "open a WebSocket, echo `messages` messages, close it normally"},
        {"ws-abort", "open a WebSocket, echo `messages` messages, then reset the TCP connection (no close frame)"},
        {"http-churn", "one HTTP request per new connection (Connection: close)"},
        {"http-keepalive", "`requests` HTTP requests on each kept-alive connection"},
        {"stall", "connect, send part of a request, go silent; the connection stays open until the run ends"},
    };
    return k;
}

std::string expand(const std::string& tmpl, std::uint64_t n, std::uint64_t i)
{
    std::string out;
    out.reserve(tmpl.size() + 16);
    for(std::size_t p = 0; p < tmpl.size();)
    {
        if(tmpl.compare(p, 3, "{n}") == 0)
        {
            out += std::to_string(n);
            p += 3;
        }
        else if(tmpl.compare(p, 3, "{i}") == 0)
        {
            out += std::to_string(i);
            p += 3;
        }
        else
            out += tmpl[p++];
    }
    return out;
}

namespace {

// One failed operation: which stage, and why.
struct op_error : std::runtime_error
{
    using std::runtime_error::runtime_error;
};

void check(beast::error_code ec, const char* stage)
{
    if(ec)
        throw op_error(std::string(stage) + ": " + ec.message());
}

using op_fn = std::function<net::awaitable<void>(std::uint64_t n)>;

} // namespace

struct engine::impl
{
    net::io_context ioc{1};
    tcp::endpoint ep;
    steady_clock::time_point deadline;
    std::uint64_t counter = 0;  // per-run request counter for "{n}"
    std::vector<beast::tcp_stream> held;

    // The stream's every operation ends at the earlier of the op deadline and the step's.
    void arm(beast::tcp_stream& s, const step_spec& st)
    {
        auto op_deadline = steady_clock::now() + duration_cast<steady_clock::duration>(duration<double>(st.op_timeout_s));
        s.expires_at(std::min(op_deadline, deadline));
    }

    net::awaitable<void> ws_op(const step_spec& st, std::uint64_t n, bool abort)
    {
        websocket::stream<beast::tcp_stream> ws(ioc);
        auto& tcp = beast::get_lowest_layer(ws);
        arm(tcp, st);
        auto [cec] = co_await tcp.async_connect(ep, net::as_tuple(use_awaitable));
        check(cec, "connect");
        auto [hec] = co_await ws.async_handshake("127.0.0.1:" + std::to_string(ep.port()), expand(st.path, n),
                                                 net::as_tuple(use_awaitable));
        check(hec, "websocket handshake");

        // Echo each message and check the reply.
        beast::flat_buffer buffer;
        for(std::size_t i = 0; i < st.messages; ++i)
        {
            auto msg = expand(st.message, n, i);
            ws.text(true);
            auto [wec, wn] = co_await ws.async_write(net::buffer(msg), net::as_tuple(use_awaitable));
            check(wec, "websocket write");
            auto [rec, rn] = co_await ws.async_read(buffer, net::as_tuple(use_awaitable));
            check(rec, "websocket read");
            if(beast::buffers_to_string(buffer.data()) != msg)
                throw op_error("websocket reply is not the echo of the message sent");
            buffer.consume(buffer.size());
        }

        if(abort)
        {
            // Reset: linger 0 then close sends RST, no close frame, no FIN.
            beast::error_code ignored;
            tcp.socket().set_option(net::socket_base::linger(true, 0), ignored);
            tcp.socket().close(ignored);
            co_return;
        }
        auto [xec] = co_await ws.async_close(websocket::close_code::normal, net::as_tuple(use_awaitable));
        check(xec, "websocket close");
    }

    http::request<http::string_body> make_request(const step_spec& st, std::uint64_t n, bool keep_alive)
    {
        http::request<http::string_body> req;
        req.method(http::string_to_verb(st.method));
        req.target(expand(st.path, n));
        req.version(11);
        req.set(http::field::host, "127.0.0.1:" + std::to_string(ep.port()));
        req.set(http::field::user_agent, "leaklab");
        req.keep_alive(keep_alive);
        if(!st.body.empty())
        {
            req.body() = expand(st.body, n);
            req.set(http::field::content_type, "application/json");
        }
        req.prepare_payload();
        return req;
    }

    void check_response(const step_spec& st, const http::response<http::string_body>& res)
    {
        if(res.result_int() != st.expect_status)
            throw op_error("HTTP status " + std::to_string(res.result_int()) + ", expected " +
                           std::to_string(st.expect_status));
        if(!st.expect_body.empty() && res.body().find(st.expect_body) == std::string::npos)
            throw op_error("HTTP reply body does not contain \"" + st.expect_body + "\"");
    }

    net::awaitable<void> http_exchange(beast::tcp_stream& s, beast::flat_buffer& buffer, const step_spec& st,
                                       std::uint64_t n, bool keep_alive)
    {
        auto req = make_request(st, n, keep_alive);
        auto [wec, wn] = co_await http::async_write(s, req, net::as_tuple(use_awaitable));
        check(wec, "HTTP write");
        http::response_parser<http::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        auto [rec, rn] = co_await http::async_read(s, buffer, parser, net::as_tuple(use_awaitable));
        check(rec, "HTTP read");
        check_response(st, parser.get());
    }

    net::awaitable<void> http_churn_op(const step_spec& st, std::uint64_t n)
    {
        beast::tcp_stream s(ioc);
        arm(s, st);
        auto [cec] = co_await s.async_connect(ep, net::as_tuple(use_awaitable));
        check(cec, "connect");
        beast::flat_buffer buffer;
        co_await http_exchange(s, buffer, st, n, false);
        // Close from the client side, so TIME-WAIT lands here and not on the server.
        beast::error_code ignored;
        s.socket().shutdown(tcp::socket::shutdown_both, ignored);
        s.socket().close(ignored);
    }

    net::awaitable<void> stall_op(const step_spec& st, std::uint64_t n)
    {
        beast::tcp_stream s(ioc);
        arm(s, st);
        auto [cec] = co_await s.async_connect(ep, net::as_tuple(use_awaitable));
        check(cec, "connect");
        // Half a request line and one header, then silence.
        std::string partial = "GET " + expand(st.path, n) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
        auto [wec, wn] = co_await net::async_write(s, net::buffer(partial), net::as_tuple(use_awaitable));
        check(wec, "stall write");
        s.expires_never();
        held.push_back(std::move(s));
    }

    // A worker runs operations one after another until the step's count is used up.
    net::awaitable<void> worker(const op_fn& op, std::size_t& next, std::size_t total, step_result& r)
    {
        while(next < total && steady_clock::now() < deadline)
        {
            ++next;
            ++r.ops;
            std::uint64_t n = counter++;
            try
            {
                co_await op(n);
            }
            catch(const std::exception& e)
            {
                ++r.failed;
                if(r.first_error.empty())
                    r.first_error = e.what();
            }
        }
    }

    // keep-alive: a worker keeps one connection and sends its share of requests on it.
    net::awaitable<void> keepalive_worker(const step_spec& st, std::size_t& next, std::size_t total, step_result& r)
    {
        std::optional<beast::tcp_stream> s;
        beast::flat_buffer buffer;
        while(next < total && steady_clock::now() < deadline)
        {
            ++next;
            ++r.ops;
            std::uint64_t n = counter++;
            try
            {
                if(!s)
                {
                    s.emplace(ioc);
                    arm(*s, st);
                    auto [cec] = co_await s->async_connect(ep, net::as_tuple(use_awaitable));
                    check(cec, "connect");
                    buffer.clear();
                }
                arm(*s, st);
                co_await http_exchange(*s, buffer, st, n, true);
            }
            catch(const std::exception& e)
            {
                ++r.failed;
                if(r.first_error.empty())
                    r.first_error = e.what();
                s.reset();
            }
        }
        if(s)
        {
            beast::error_code ignored;
            s->socket().shutdown(tcp::socket::shutdown_both, ignored);
        }
    }
};

engine::engine() : impl_(std::make_unique<impl>()) {}
engine::~engine() = default;

std::size_t engine::held_connections() const { return impl_->held.size(); }

step_result engine::run(const step_spec& st, std::uint16_t port, milliseconds time_bound)
{
    auto& m = *impl_;
    m.ep = tcp::endpoint(net::ip::make_address("127.0.0.1"), port);
    auto start = steady_clock::now();
    m.deadline = start + time_bound;

    step_result r;
    std::size_t next = 0;
    std::size_t total = st.kind == "http-keepalive" ? st.connections * std::max<std::size_t>(1, st.requests)
                                                    : st.connections;
    std::size_t workers = std::max<std::size_t>(1, std::min(st.concurrency, total));

    op_fn op;
    if(st.kind == "ws-churn")
        op = [&](std::uint64_t n) { return m.ws_op(st, n, false); };
    else if(st.kind == "ws-abort")
        op = [&](std::uint64_t n) { return m.ws_op(st, n, true); };
    else if(st.kind == "http-churn")
        op = [&](std::uint64_t n) { return m.http_churn_op(st, n); };
    else if(st.kind == "stall")
        op = [&](std::uint64_t n) { return m.stall_op(st, n); };
    else if(st.kind != "http-keepalive")
        throw std::invalid_argument("unknown workload kind '" + st.kind + "'");

    m.ioc.restart();
    for(std::size_t w = 0; w < workers; ++w)
    {
        if(st.kind == "http-keepalive")
            net::co_spawn(m.ioc, m.keepalive_worker(st, next, total, r), net::detached);
        else
            net::co_spawn(m.ioc, m.worker(op, next, total, r), net::detached);
    }
    // Every stream expires at the deadline, so run() returns by then (plus a little).
    m.ioc.run();

    r.seconds = duration<double>(steady_clock::now() - start).count();
    r.timed_out = next < total || steady_clock::now() >= m.deadline;
    return r;
}

} // namespace leaklab::workload
