// The backend pool: a fixed number of Redis connections shared by all requests.
// A request takes an idle connection, uses it, and gives it back.
#ifndef POOL_HPP
#define POOL_HPP

#include "redis.hpp"

#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>

#include <chrono>
#include <memory>

class pool
{
    using connection = std::shared_ptr<redis_connection>;
    net::experimental::channel<void(beast::error_code, connection)> idle_;

public:
    pool(net::any_io_executor ex, std::size_t size, unsigned short port) : idle_(ex, size)
    {
        for(std::size_t i = 0; i < size; ++i)
            idle_.try_send(beast::error_code{}, std::make_shared<redis_connection>(ex, port));
    }

    // An idle connection, or nothing once the deadline passes: the wait is cancelled
    // then, so a request never queues longer than its deadline (the caller answers 503).
    net::awaitable<connection> acquire(std::chrono::milliseconds deadline = std::chrono::milliseconds(100))
    {
        using namespace net::experimental::awaitable_operators;
        connection conn;
        net::steady_timer timer(co_await net::this_coro::executor, deadline);
        // Kept whichever finishes first: a connection handed over as the deadline fires is not lost
        co_await (receive_into(conn) || timer.async_wait(labkit::no_throw));
        co_return conn;
    }

    // Give a connection back for the next request. async_send, not try_send: Boost 1.81's
    // channel refuses a try_send after a cancelled receive (asio#1241), and would drop it.
    void release(connection conn) { idle_.async_send(beast::error_code{}, std::move(conn), net::detached); }

private:
    net::awaitable<void> receive_into(connection& out)
    {
        auto [ec, conn] = co_await idle_.async_receive(labkit::no_throw);
        if(!ec)
            out = std::move(conn);
    }
};

#endif
