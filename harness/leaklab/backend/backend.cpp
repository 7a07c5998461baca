#include "leaklab/backend/backend.hpp"

#include "leaklab/process/child.hpp"

#include <labkit/net.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <atomic>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace leaklab::backend {

using namespace std::chrono;
using net::use_awaitable;

fault parse_fault(const std::string& name)
{
    if(name == "pass")
        return fault::pass;
    if(name == "latency")
        return fault::latency;
    if(name == "stall")
        return fault::stall;
    if(name == "reset")
        return fault::reset;
    throw std::invalid_argument("unknown fault \"" + name + "\" (known: pass, latency, stall, reset)");
}

struct redis_behind_proxy::impl
{
    std::optional<process::child> redis;
    std::uint16_t redis_port = 0;

    net::io_context ioc{1};
    tcp::acceptor acceptor{ioc};
    std::thread thread;
    std::atomic<fault> mode{fault::pass};
    std::atomic<long> latency_ms{0};
    std::list<std::pair<tcp::socket, tcp::socket>> links;  // client side, backend side

    // Copy one direction, obeying the fault in force for each chunk.
    net::awaitable<void> pump(tcp::socket& from, tcp::socket& to)
    {
        std::array<char, 16384> buf;
        for(;;)
        {
            auto [rec, n] = co_await from.async_read_some(net::buffer(buf), net::as_tuple(use_awaitable));
            if(rec)
                break;
            // Stalled: hold the bytes until the fault changes.
            while(mode.load() == fault::stall)
            {
                net::steady_timer wait(ioc);
                wait.expires_after(20ms);
                co_await wait.async_wait(net::as_tuple(use_awaitable));
            }
            if(mode.load() == fault::reset)
                break;
            if(mode.load() == fault::latency)
            {
                net::steady_timer wait(ioc);
                wait.expires_after(milliseconds(latency_ms.load()));
                co_await wait.async_wait(net::as_tuple(use_awaitable));
            }
            auto [wec, wn] = co_await net::async_write(to, net::buffer(buf.data(), n), net::as_tuple(use_awaitable));
            if(wec)
                break;
        }
        beast::error_code ignored;
        if(mode.load() == fault::reset)
        {
            from.set_option(net::socket_base::linger(true, 0), ignored);
            to.set_option(net::socket_base::linger(true, 0), ignored);
        }
        from.close(ignored);
        to.close(ignored);
    }

    net::awaitable<void> serve(std::list<std::pair<tcp::socket, tcp::socket>>::iterator link)
    {
        auto& [client, server] = *link;
        auto [cec] = co_await server.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), redis_port),
                                                   net::as_tuple(use_awaitable));
        if(cec)
        {
            beast::error_code ignored;
            client.close(ignored);
            links.erase(link);
            co_return;
        }
        // Both directions at once; the link ends when both pumps have.
        auto done = std::make_shared<int>(0);
        auto finish = [this, link, done](std::exception_ptr) {
            if(++*done == 2)
                links.erase(link);
        };
        net::co_spawn(ioc, pump(client, server), finish);
        net::co_spawn(ioc, pump(server, client), finish);
    }

    net::awaitable<void> accept_loop()
    {
        for(;;)
        {
            auto [ec, socket] = co_await acceptor.async_accept(net::as_tuple(use_awaitable));
            if(ec == net::error::operation_aborted)
                co_return;
            if(ec)
                continue;
            if(mode.load() == fault::reset)
            {
                beast::error_code ignored;
                socket.set_option(net::socket_base::linger(true, 0), ignored);
                socket.close(ignored);
                continue;
            }
            links.emplace_back(std::move(socket), tcp::socket(ioc));
            net::co_spawn(ioc, serve(std::prev(links.end())), net::detached);
        }
    }
};

redis_behind_proxy::redis_behind_proxy(const std::filesystem::path& log_dir) : impl_(std::make_unique<impl>())
{
    auto& m = *impl_;
    // Redis on loopback only, nothing written to disk.
    m.redis_port = process::free_port();
    process::spawn_options so;
    so.argv = {"redis-server", "--port", std::to_string(m.redis_port), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--protected-mode", "yes"};
    so.log_dir = log_dir / "redis";
    try
    {
        m.redis.emplace(process::child::spawn(so));
    }
    catch(const std::exception& e)
    {
        throw std::runtime_error(std::string(e.what()) +
                                 " -- this lab needs Debian's redis-server (scripts/setup.sh installs it)");
    }
    m.redis->wait_ready(10s, m.redis_port);

    // The proxy in front of it, on its own thread.
    tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
    m.acceptor.open(ep.protocol());
    m.acceptor.bind(ep);
    m.acceptor.listen();
    net::co_spawn(m.ioc, m.accept_loop(), net::detached);
    m.thread = std::thread([&m] { m.ioc.run(); });
}

redis_behind_proxy::~redis_behind_proxy()
{
    // Stop the proxy's thread; its sockets close as the io_context goes.
    auto& m = *impl_;
    m.ioc.stop();
    if(m.thread.joinable())
        m.thread.join();
    if(m.redis)
        m.redis->stop(2000ms);
}

std::uint16_t redis_behind_proxy::port() const { return impl_->acceptor.local_endpoint().port(); }

void redis_behind_proxy::set_fault(fault f, milliseconds latency)
{
    auto& m = *impl_;
    m.latency_ms.store(latency.count());
    m.mode.store(f);
    // A reset takes effect on the connections open now, too.
    if(f == fault::reset)
        net::post(m.ioc, [&m] {
            for(auto& [a, b] : m.links)
            {
                beast::error_code ignored;
                a.set_option(net::socket_base::linger(true, 0), ignored);
                b.set_option(net::socket_base::linger(true, 0), ignored);
                a.close(ignored);
                b.close(ignored);
            }
        });
}

} // namespace leaklab::backend
