// One connection to Redis, speaking just enough RESP for INCR.
#ifndef REDIS_HPP
#define REDIS_HPP

#include <labkit/net.hpp>
#include <labkit/no_throw.hpp>

#include <optional>
#include <string>

class redis_connection
{
    tcp::socket socket_;
    std::string buffer_;

public:
    // Connect now, before the server starts serving.
    redis_connection(net::any_io_executor ex, unsigned short port) : socket_(ex)
    {
        socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    }

    // INCR key: the new count, or nothing if the backend failed.
    net::awaitable<std::optional<long long>> incr(const std::string& key)
    {
        using labkit::no_throw;
        auto command = "*2\r\n$4\r\nINCR\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n";
        auto [wec, wn] = co_await net::async_write(socket_, net::buffer(command), no_throw);
        if(wec)
            co_return std::nullopt;
        auto [rec, n] = co_await net::async_read_until(socket_, net::dynamic_buffer(buffer_), "\r\n", no_throw);
        if(rec)
            co_return std::nullopt;
        auto line = buffer_.substr(0, n - 2);
        buffer_.erase(0, n);
        if(line.empty() || line[0] != ':')
            co_return std::nullopt;
        co_return std::stoll(line.substr(1));
    }
};

#endif
