#include "leaklab/workload/listen.hpp"
#include "leaklab/workload/request.hpp"

#include <labkit/net.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace leaklab::workload {

using namespace std::chrono;
using net::use_awaitable;
constexpr auto no_throw = net::as_tuple(use_awaitable);

namespace {

// Seconds with one decimal, e.g. "2.4 s".
std::string secs(duration<double> d)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", duration<double>(d).count());
    return buf;
}

} // namespace

// What one listener has seen, written on the listener thread and read by check().
struct listener_state
{
    std::string path;
    bool connected = false;
    std::string open_error;                           // could not open: why
    steady_clock::time_point since;                   // connected at
    std::optional<steady_clock::time_point> closed;   // the server closed it
    std::string close_reason;
    std::optional<steady_clock::time_point> last_ping;
    std::optional<steady_clock::time_point> last_message;
    std::vector<std::optional<steady_clock::time_point>> last_each;  // per expect_each text
    std::string bad_message;                          // the first message without expect_body
    std::vector<steady_clock::time_point> triggers;   // when each trigger request was sent
    std::string trigger_breach;                       // a trigger the server answered wrongly
    std::string trigger_error;                        // a trigger that got no answer
    steady_clock::time_point reading_from;            // when it reads (after read_pause_ms)
    std::map<std::string, std::int64_t> last_seq;     // expect_sequence: the last number, per key
    std::string sequence_break;                       // the first message out of sequence
    bool reported_closed = false, reported_bad = false;
};

struct listener_group::impl
{
    step_spec step;
    tcp::endpoint ep;
    tcp::endpoint metrics_ep;  // the server's labkit metrics endpoint, for triggers sent there
    net::io_context ioc;
    net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
    std::thread thread;
    mutable std::mutex mutex;
    std::vector<std::shared_ptr<listener_state>> listeners;
    bool stopping = false;  // guarded by mutex: closes from here on are ours
    bool first_check = true;

    // Hold one listener open and record what arrives until the server closes it.
    net::awaitable<void> listen(std::shared_ptr<listener_state> st, std::shared_ptr<std::promise<void>> opened)
    {
        websocket::stream<beast::tcp_stream> ws(ioc);
        auto& lowest = beast::get_lowest_layer(ws);
        lowest.expires_after(duration_cast<steady_clock::duration>(duration<double>(step.op_timeout_s)));
        std::string error;
        // A small receive window, so a listener that stops reading backs the server up quickly.
        if(step.receive_buffer > 0)
        {
            beast::error_code ec;
            lowest.socket().open(ep.protocol(), ec);
            if(!ec)
                lowest.socket().set_option(net::socket_base::receive_buffer_size(static_cast<int>(step.receive_buffer)), ec);
        }
        auto [cec] = co_await lowest.async_connect(ep, no_throw);
        if(cec)
            error = "connect: " + cec.message();
        else
        {
            auto [hec] = co_await ws.async_handshake("127.0.0.1:" + std::to_string(ep.port()), st->path, no_throw);
            if(hec)
                error = "websocket handshake: " + hec.message();
        }
        lowest.expires_never();
        {
            std::lock_guard lock(mutex);
            st->connected = error.empty();
            st->open_error = error;
            st->since = steady_clock::now();
            st->reading_from = st->since + duration_cast<steady_clock::duration>(duration<double, std::milli>(step.read_pause_ms));
        }
        opened->set_value();
        if(!error.empty())
            co_return;

        // A slow client: nothing read (no pong either) for read_pause_ms, so the server's writes back up.
        if(step.read_pause_ms > 0)
        {
            net::steady_timer pause(ioc, st->reading_from);
            co_await pause.async_wait(no_throw);
        }

        // Pings are answered by the stream while a read is pending; count them as they come.
        ws.control_callback([this, st](websocket::frame_type kind, beast::string_view) {
            if(kind == websocket::frame_type::ping)
            {
                std::lock_guard lock(mutex);
                st->last_ping = steady_clock::now();
            }
        });
        beast::flat_buffer buffer;
        for(;;)
        {
            auto [rec, rn] = co_await ws.async_read(buffer, no_throw);
            const auto now = steady_clock::now();
            std::lock_guard lock(mutex);
            if(rec)
            {
                if(!stopping)
                {
                    st->closed = now;
                    st->close_reason = rec == websocket::error::closed
                                           ? "a close frame, code " + std::to_string(ws.reason().code)
                                           : rec.message();
                }
                co_return;
            }
            auto text = beast::buffers_to_string(buffer.data());
            buffer.consume(buffer.size());
            if(!step.expect_body.empty() && text.find(step.expect_body) == std::string::npos)
            {
                if(st->bad_message.empty())
                    st->bad_message = text;
                continue;
            }
            st->last_message = now;
            if(!step.sequence_field.empty())
                follow_sequence(*st, text);
            for(std::size_t j = 0; j < step.expect_each.size(); ++j)
                if(text.find(step.expect_each[j]) != std::string::npos)
                    st->last_each[j] = now;
        }
    }

    // expect_sequence: this message's number must be one more than the last one with its key.
    void follow_sequence(listener_state& st, const std::string& text)
    {
        if(!st.sequence_break.empty())
            return;
        boost::system::error_code ec;
        auto v = boost::json::parse(text, ec);
        const auto* o = ec ? nullptr : v.if_object();
        const auto* seq = o ? o->if_contains(step.sequence_field) : nullptr;
        const auto* key = o && !step.sequence_per.empty() ? o->if_contains(step.sequence_per) : nullptr;
        if(!seq || !(seq->is_int64() || seq->is_uint64()) || (!step.sequence_per.empty() && !key))
        {
            st.sequence_break = "a message without an integer \"" + step.sequence_field + "\"" +
                                (step.sequence_per.empty() ? "" : " and a \"" + step.sequence_per + "\"") + ": " +
                                clip(text);
            return;
        }
        const std::string k = !key ? "" : key->is_string() ? std::string(key->as_string()) : boost::json::serialize(*key);
        const auto n = seq->to_number<std::int64_t>();
        auto it = st.last_seq.find(k);
        if(it != st.last_seq.end() && n != it->second + 1)
            st.sequence_break = (k.empty() ? "" : step.sequence_per + " " + k + ": ") + step.sequence_field + " " +
                                std::to_string(n) + " came after " + std::to_string(it->second) +
                                (n > it->second + 1 ? " (" + std::to_string(n - it->second - 1) + " missing)"
                                                    : " (repeated or out of order)");
        st.last_seq[k] = n;
    }

    // One trigger request for listener c: sent, answered, its status checked.
    net::awaitable<void> send_trigger(std::size_t c, std::size_t round, std::shared_ptr<listener_state> st)
    {
        template_vars v;
        v.c = c;
        v.r = round;
        request_outcome out;
        if(step.trigger->to_metrics && metrics_ep.port() == 0)
            out.error = "this server has no labkit metrics endpoint to send " + step.trigger->method + " " +
                        step.trigger->path + " to";
        else
            out = co_await send_request(step.trigger->to_metrics ? metrics_ep : ep, *step.trigger, v, step.op_timeout_s);
        std::lock_guard lock(mutex);
        if(!out.error.empty())
        {
            if(st->trigger_error.empty())
                st->trigger_error = out.what + ": " + out.error;
        }
        else if(!out.breach.empty())
        {
            if(st->trigger_breach.empty())
                st->trigger_breach = out.breach;
        }
        else
            st->triggers.push_back(out.sent);
    }

    // Run `make` for every listener on the listener thread and wait for all of them.
    template <class Make>
    void on_each_and_wait(Make make)
    {
        std::vector<std::future<void>> done;
        for(std::size_t c = 0; c < listeners.size(); ++c)
        {
            auto p = std::make_shared<std::promise<void>>();
            done.push_back(p->get_future());
            net::co_spawn(ioc, make(c, listeners[c]), [p](std::exception_ptr) { p->set_value(); });
        }
        for(auto& f : done)
            f.wait();
    }
};

listener_group::listener_group(const step_spec& step, std::uint16_t port, std::uint16_t metrics_port)
    : impl_(std::make_unique<impl>())
{
    auto& m = *impl_;
    m.step = step;
    m.ep = tcp::endpoint(net::ip::make_address("127.0.0.1"), port);
    m.metrics_ep = tcp::endpoint(net::ip::make_address("127.0.0.1"), metrics_port);
    m.thread = std::thread([&m] { m.ioc.run(); });
    std::vector<std::future<void>> opened;
    for(std::size_t c = 0; c < step.connections; ++c)
    {
        auto st = std::make_shared<listener_state>();
        template_vars v;
        v.c = c;
        st->path = expand(step.path, v);
        st->last_each.resize(step.expect_each.size());
        m.listeners.push_back(st);
        auto p = std::make_shared<std::promise<void>>();
        opened.push_back(p->get_future());
        net::co_spawn(m.ioc, m.listen(st, p), net::detached);
    }
    for(auto& f : opened)
        f.wait();
}

listener_group::~listener_group()
{
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
    }
    impl_->work.reset();
    impl_->ioc.stop();
    impl_->thread.join();
}

std::size_t listener_group::open() const
{
    std::lock_guard lock(impl_->mutex);
    return std::count_if(impl_->listeners.begin(), impl_->listeners.end(),
                         [](auto& l) { return l->connected && !l->closed; });
}

step_result listener_group::check(std::size_t round, bool last)
{
    auto& m = *impl_;
    const auto& step = m.step;
    step_result r;
    const auto started = steady_clock::now();
    const auto within = duration_cast<steady_clock::duration>(duration<double, std::milli>(step.within_ms));

    // The first check counts the opening of every listener as an operation.
    if(m.first_check)
    {
        m.first_check = false;
        std::lock_guard lock(m.mutex);
        for(auto& l : m.listeners)
        {
            ++r.ops;
            if(!l->connected)
            {
                ++r.failed;
                if(r.first_error.empty())
                    r.first_error = "listener " + l->path + ": " + l->open_error;
            }
        }
    }

    // Each open listener's trigger: the request that should make the server tell it something.
    if(step.trigger && !last)
    {
        m.on_each_and_wait([&](std::size_t c, std::shared_ptr<listener_state> st) -> net::awaitable<void> {
            bool open;
            {
                std::lock_guard lock(m.mutex);
                open = st->connected && !st->closed;
            }
            if(open)
                co_await m.send_trigger(c, round, st);
        });
    }

    // After the last round, every listener has been open long enough to miss two pings (or
    // pushes) after a first one: a short run cannot pass for a server that stopped sending.
    if(last && (step.ping_every_ms > 0 || step.push_every_ms > 0))
    {
        const auto enough = duration_cast<steady_clock::duration>(
            duration<double, std::milli>(3.2 * std::max(step.ping_every_ms, step.push_every_ms)));
        std::optional<steady_clock::time_point> youngest;
        {
            std::lock_guard lock(m.mutex);
            for(auto& l : m.listeners)
                if(l->connected)
                    youngest = std::max(youngest.value_or(l->reading_from), l->reading_from);
        }
        if(youngest && steady_clock::now() < *youngest + enough)
            std::this_thread::sleep_until(*youngest + enough);
    }

    // After the last round, give the newest triggers their time before judging them.
    if(last && step.trigger)
    {
        std::optional<steady_clock::time_point> newest;
        {
            std::lock_guard lock(m.mutex);
            for(auto& l : m.listeners)
                if(!l->triggers.empty())
                    newest = std::max(newest.value_or(l->triggers.back()), l->triggers.back());
        }
        while(newest && steady_clock::now() < *newest + within)
        {
            bool all_told = true;
            {
                std::lock_guard lock(m.mutex);
                for(auto& l : m.listeners)
                    if(!l->triggers.empty() && !(l->last_message && *l->last_message > l->triggers.back()) && !l->closed)
                        all_told = false;
            }
            if(all_told)
                break;
            std::this_thread::sleep_for(20ms);
        }
    }

    const auto now = steady_clock::now();
    std::lock_guard lock(m.mutex);
    auto breach = [&](const std::string& clause, const std::string& what) {
        ++r.breaches;
        if(r.first_breach.empty())
        {
            r.breach_clause = clause;
            r.first_breach = what;
        }
    };
    for(std::size_t c = 0; c < m.listeners.size(); ++c)
    {
        auto& l = m.listeners[c];
        if(!l->connected)
            continue;
        const std::string who = "listener " + l->path;
        if(step.trigger)
            r.ops += 1;
        if(!l->trigger_error.empty())
        {
            ++r.failed;
            if(r.first_error.empty())
                r.first_error = l->trigger_error;
            l->trigger_error.clear();
        }
        if(!l->trigger_breach.empty())
        {
            breach("trigger reply", l->trigger_breach);
            l->trigger_breach.clear();
        }
        if(l->closed)
        {
            // Reported once: a dropped listener is one breach, not one per round.
            if(!l->reported_closed)
            {
                l->reported_closed = true;
                breach("listener kept open", "the server closed " + who + " after " + secs(*l->closed - l->since) +
                                                 " (" + l->close_reason + ")");
            }
            continue;
        }
        if(!l->bad_message.empty() && !l->reported_bad)
        {
            l->reported_bad = true;
            breach("pushed message", who + " got a message without \"" + step.expect_body + "\": " + clip(l->bad_message));
        }
        if(!l->sequence_break.empty())
            breach("in sequence", who + ": " + l->sequence_break);
        // A slow listener is judged on pings and pushes only once it reads again.
        if(now < l->reading_from)
            continue;
        if(step.ping_every_ms > 0)
        {
            const auto since = now - std::max(l->last_ping.value_or(l->since), l->reading_from);
            if(since > 2 * duration<double, std::milli>(step.ping_every_ms))
                breach("pings", who + ": no ping for " + secs(since) + " (the server should ping every " +
                                    secs(duration<double, std::milli>(step.ping_every_ms)) + ")");
        }
        if(step.push_every_ms > 0)
            for(std::size_t j = 0; j < step.expect_each.size(); ++j)
            {
                const auto since = now - std::max(l->last_each[j].value_or(l->since), l->reading_from);
                if(since > 2 * duration<double, std::milli>(step.push_every_ms))
                {
                    breach("pushed messages", who + ": no message with " + step.expect_each[j] + " for " + secs(since) +
                                                  " (expected every " +
                                                  secs(duration<double, std::milli>(step.push_every_ms)) + ")");
                    break;
                }
            }
        // Every trigger older than within_ms (all of them after the last round) must be followed by a message.
        for(auto it = l->triggers.rbegin(); it != l->triggers.rend(); ++it)
        {
            if(!last && now - *it < within)
                continue;
            if(!(l->last_message && *l->last_message > *it))
                breach("told after a change", who + " was not told within " + secs(within) + " of the trigger " +
                                                  step.trigger->method + " " +
                                                  expand(step.trigger->path, template_vars{0, 0, 0, round, c}) +
                                                  (l->last_message ? "" : " (no message at all)"));
            break;  // a later message covers every earlier trigger
        }
    }
    r.seconds = duration<double>(steady_clock::now() - started).count();
    return r;
}

} // namespace leaklab::workload
