// The backend pool: a fixed number of Redis connections shared by all requests.
// A request takes an idle connection, uses it, and gives it back.
#ifndef POOL_HPP
#define POOL_HPP

#include "redis.hpp"

#include <boost/asio/detached.hpp>
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

    // An idle connection, as soon as there is one.
    net::awaitable<connection> acquire()
    {
        auto [ec, conn] = co_await idle_.async_receive(labkit::no_throw);
        co_return ec ? nullptr : conn;
    }

    // Give a connection back for the next request. async_send, not try_send: Boost 1.81's
    // channel refuses a try_send after a cancelled receive (asio#1241), and would drop it.
    void release(connection conn) { idle_.async_send(beast::error_code{}, std::move(conn), net::detached); }
};

#endif
