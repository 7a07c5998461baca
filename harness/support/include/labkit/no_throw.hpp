// labkit::no_throw: the completion token of the labs' coroutines. It is as_tuple(use_awaitable),
// so `auto [ec, n] = co_await stream.async_read(..., no_throw);` gets an error as a value. Under
// `leaklab check --mode tasks` it also notes the stack of the co_await, so an operation pending
// long after is put on the line that awaits it (Asio starts the operation only after the
// coroutine has suspended, when that line is no longer on the stack).
#ifndef LABKIT_NO_THROW_HPP
#define LABKIT_NO_THROW_HPP

#include "labkit/pending.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <utility>

namespace labkit {

struct no_throw_t
{
    // as_tuple(use_awaitable), carrying the co_await's stack when pending operations are recorded.
    static boost::asio::as_tuple_t<boost::asio::use_awaitable_t<>> here()
    {
        const auto stack = tracking::capture_stack();
        if(!stack)
            return boost::asio::as_tuple(boost::asio::use_awaitable);
        return boost::asio::as_tuple(boost::asio::use_awaitable_t<>(tracking::awaited_marker, int(stack), nullptr));
    }
};

inline constexpr no_throw_t no_throw{};

} // namespace labkit

template <class... Signatures>
struct boost::asio::async_result<labkit::no_throw_t, Signatures...>
    : boost::asio::async_result<boost::asio::as_tuple_t<boost::asio::use_awaitable_t<>>, Signatures...>
{
    using base = boost::asio::async_result<boost::asio::as_tuple_t<boost::asio::use_awaitable_t<>>, Signatures...>;

    template <class Initiation, class RawToken, class... Args>
    static auto initiate(Initiation&& initiation, RawToken&&, Args&&... args)
    {
        return base::initiate(std::forward<Initiation>(initiation), labkit::no_throw_t::here(), std::forward<Args>(args)...);
    }
};

#endif
