// labkit::spawn: co_spawn that counts the coroutine in coroutines_live while it runs (and,
// under `leaklab check --mode tasks`, records it under the stack it was spawned from).
#ifndef LABKIT_SPAWN_HPP
#define LABKIT_SPAWN_HPP

#include "labkit/metrics.hpp"
#include "labkit/pending.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>

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

} // namespace detail

template <class Executor, class T, class CompletionToken>
auto spawn(const Executor& ex, boost::asio::awaitable<T> task, CompletionToken&& token)
{
    return boost::asio::co_spawn(ex, detail::counted(std::move(task), tracking::capture_stack()),
                                 std::forward<CompletionToken>(token));
}

} // namespace labkit

#endif
