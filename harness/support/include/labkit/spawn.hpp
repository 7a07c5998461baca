// labkit::spawn: co_spawn that counts the coroutine in coroutines_live while it runs (and,
// under `leaklab check --mode tasks`, records it under the stack it was spawned from).
// Without a completion token, an exception that ends the coroutine is reported on stderr
// (`coroutine: exception: ...`): net::detached would swallow it.
#ifndef LABKIT_SPAWN_HPP
#define LABKIT_SPAWN_HPP

#include "labkit/metrics.hpp"
#include "labkit/net.hpp"
#include "labkit/pending.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>

#include <exception>
#include <utility>

namespace labkit {

namespace detail {

template <class T>
boost::asio::awaitable<T> counted(boost::asio::awaitable<T> task, std::uint32_t spawned_at)
{
    scoped_count live(coroutines());
    tracking::task_scope recorded(spawned_at);
    co_return co_await std::move(task);
}

inline boost::asio::awaitable<void> counted(boost::asio::awaitable<void> task, std::uint32_t spawned_at)
{
    scoped_count live(coroutines());
    tracking::task_scope recorded(spawned_at);
    co_await std::move(task);
}

// The default completion: report the exception that ended the coroutine, if one did.
struct report_exception
{
    template <class... Result>
    void operator()(std::exception_ptr e, Result&&...) const
    {
        if(e)
            fail(e, "coroutine");
    }
};

} // namespace detail

template <class Executor, class T, class CompletionToken>
auto spawn(const Executor& ex, boost::asio::awaitable<T> task, CompletionToken&& token)
{
    return boost::asio::co_spawn(ex, detail::counted(std::move(task), tracking::capture_stack()),
                                 std::forward<CompletionToken>(token));
}

template <class Executor, class T>
void spawn(const Executor& ex, boost::asio::awaitable<T> task)
{
    spawn(ex, std::move(task), detail::report_exception{});
}

} // namespace labkit

#endif
