#include "leaklab/workload/workload.hpp"

#include "leaklab/workload/listen.hpp"
#include "leaklab/workload/request.hpp"

#include <labkit/net.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <poll.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <deque>
#include <memory_resource>
#include <functional>
#include <optional>
#include <sstream>
#include <map>
#include <stdexcept>
#include <unordered_map>

namespace leaklab::workload {

using namespace std::chrono;
using net::use_awaitable;

namespace {

using problem = std::optional<std::pair<std::string, std::string>>;
using has_fn = std::function<bool(const std::string&)>;

// Fields only one kind uses are refused on the others.
problem only_for(const std::string& kind, const step_spec& s, const has_fn& has)
{
    if(kind != "ws-quiet" && has("quiet_ms"))
        return std::pair{std::string("quiet_ms"), std::string("only a ws-quiet step has quiet_ms")};
    if(kind != "http-keepalive" && kind != "http-unread" && has("pause_ms"))
        return std::pair{std::string("pause_ms"), std::string("only http-keepalive and http-unread steps have pause_ms")};
    if(has("pause_ms") && s.pause_ms >= s.op_timeout_s * 1000)
        return std::pair{std::string("pause_ms"), "must be shorter than op_timeout_s (" + std::to_string(s.op_timeout_s) + " s)"};
    if(kind != "backend-fault" && kind != "storage-fault" && (has("fault") || !s.fault.empty()))
        return std::pair{std::string("fault"), std::string("only backend-fault and storage-fault steps have a fault")};
    for(const char* f : {"ping_every_ms", "push_every_ms", "expect_each", "within_ms", "read_pause_ms", "expect_sequence"})
        if(kind != "ws-listen" && has(f))
            return std::pair{std::string(f), "only a ws-listen step has " + std::string(f)};
    if(kind != "ws-listen" && kind != "http-unread" && has("receive_buffer"))
        return std::pair{std::string("receive_buffer"), std::string("only ws-listen and http-unread steps have receive_buffer")};
    if(kind != "ws-listen" && kind != "ws-quiet" && has("trigger"))
        return std::pair{std::string("trigger"), std::string("only ws-listen and ws-quiet steps have a trigger")};
    if(kind != "ws-quiet" && has("setup"))
        return std::pair{std::string("setup"), std::string("only a ws-quiet step has a setup")};
    if(has("expect_close_code") && kind != "ws-churn" && kind != "ws-quiet")
        return std::pair{std::string("expect_close_code"), std::string("only ws-churn and ws-quiet steps wait for a close")};
    if(has("expect_close_code") && s.messages == 0)
        return std::pair{std::string("expect_close_code"), std::string("needs a message to refuse (messages >= 1)")};
    if(has("message_bytes") && kind.rfind("ws-", 0) != 0 && kind != "half-open")
        return std::pair{std::string("message_bytes"), std::string("only a WebSocket step sends messages")};
    const bool http = kind.rfind("http-", 0) == 0 || kind == "idle-keepalive";
    for(const char* f : {"expect_header", "expect_gzip", "expect_cached"})
        if(!http && has(f))
            return std::pair{std::string(f), "only an HTTP step (http-churn, http-keepalive, idle-keepalive) has " +
                                                 std::string(f)};
    if(!s.expect_header.empty() && s.expect_header.find(':') == std::string::npos)
        return std::pair{std::string("expect_header"), std::string("expected \"Name: text\"")};
    return std::nullopt;
}

kind_spec make_kind(std::string name, std::string what, bool holds = false,
                    std::function<problem(const step_spec&, const has_fn&)> extra = {})
{
    kind_spec k;
    k.name = name;
    k.what = std::move(what);
    k.holds = holds;
    k.validate = [name, extra](const step_spec& s, const has_fn& has) -> problem {
        if(auto p = only_for(name, s, has))
            return p;
        return extra ? extra(s, has) : std::nullopt;
    };
    return k;
}

std::vector<kind_spec> make_registry()
{
    std::vector<kind_spec> r;
    r.push_back(make_kind("ws-churn", "open a WebSocket, echo `messages` messages, close it normally"));
    r.push_back(make_kind("ws-abort", "open a WebSocket, echo `messages` messages, then reset the TCP connection (no close frame)"));
    r.push_back(make_kind("ws-reset-reply", "open a WebSocket, echo `messages` messages, send one more and reset the TCP connection before its reply: the server writes to a reset peer"));
    r.push_back(make_kind("http-churn", "one HTTP request per new connection (Connection: close)"));
    r.push_back(make_kind("http-reset-reply", "send one HTTP request and reset the TCP connection before the reply: the server writes to a reset peer"));
    r.push_back(make_kind("http-keepalive", "`requests` HTTP requests on each kept-alive connection, `pause_ms` apart; a "
                                            "paced client the server drops while it waits less than twice that is a breach"));
    r.push_back(make_kind("http-unread",
                          "a client that stops reading: pipeline `requests` HTTP requests on one connection "
                          "(`receive_buffer` bytes of socket buffer) and read none of the replies; `pause_ms` "
                          "later (500 by default) a second client's request must be answered within op_timeout_s, "
                          "or it is a breach: one stuck client must not hold up the others",
                          false, [](const step_spec& s, const has_fn&) -> problem {
                              if(s.concurrency > 1)
                                  return std::pair{std::string("concurrency"),
                                                   std::string("an http-unread step runs its clients one at a time (concurrency 1)")};
                              return std::nullopt;
                          }));
    r.push_back(make_kind("stall", "slowloris: connect, send part of a request, go silent; the connection stays open until the run ends", true));
    r.push_back(make_kind("idle-keepalive", "send `requests` HTTP requests on a kept-alive connection, then go silent; it stays open until the run ends", true));
    r.push_back(make_kind(
        "ws-quiet",
        "open a WebSocket and, `messages` times, stay silent for `quiet_ms` while answering pings, then send a message and "
        "wait for its echo; then close; the server dropping it is a breach. A `setup` request goes out before the "
        "connections open, a `trigger` once they all are: a change the open connections must apply",
        false, [](const step_spec& s, const has_fn&) -> problem {
            if(s.quiet_ms <= 0)
                return std::pair{std::string("quiet_ms"), std::string("a ws-quiet step needs quiet_ms > 0")};
            if(s.messages == 0)
                return std::pair{std::string("messages"),
                                 std::string("a ws-quiet step sends at least one message after its quiet time")};
            if(s.quiet_ms >= s.op_timeout_s * 1000)
                return std::pair{std::string("quiet_ms"), "must be shorter than op_timeout_s (" + std::to_string(s.op_timeout_s) +
                                                              " s), which bounds the whole operation"};
            // The trigger goes out once every connection is open: they must all be open at once.
            if(s.trigger && s.concurrency < s.connections)
                return std::pair{std::string("concurrency"),
                                 std::string("a ws-quiet step with a trigger opens all its connections at once "
                                             "(concurrency >= connections)")};
            return std::nullopt;
        }));
    r.push_back(make_kind("half-open", "open a WebSocket, echo `messages` messages, then neither read nor write (a peer that vanished); it stays open until the run ends", true));
    r.push_back(make_kind("backend-fault", "set the fault of the lab's backend proxy: pass, latency (latency_ms), stall, reset", false,
                          [](const step_spec& s, const has_fn&) -> problem {
                              if(!(s.fault == "pass" || s.fault == "latency" || s.fault == "stall" || s.fault == "reset"))
                                  return std::pair{std::string("fault"), std::string("expected pass, latency, stall or reset")};
                              return std::nullopt;
                          }));
    r.back().engine_runs = false;
    r.push_back(make_kind("storage-fault",
                          "fill the server's disk, as far as it can tell: `fault` full lowers the server's "
                          "RLIMIT_FSIZE to 1 byte (SIGXFSZ ignored), so every write that grows a file fails with "
                          "EFBIG; pass restores it. It holds until a later storage-fault step changes it",
                          false, [](const step_spec& s, const has_fn&) -> problem {
                              if(!(s.fault == "full" || s.fault == "pass"))
                                  return std::pair{std::string("fault"), std::string("expected full or pass")};
                              return std::nullopt;
                          }));
    r.back().engine_runs = false;
    r.push_back(make_kind(
        "ws-listen",
        "hold `connections` WebSockets open from the step's first round to the end of the run and check what the "
        "server sends on its own: a ping every `ping_every_ms`, each text of `expect_each` every `push_every_ms`, a "
        "message within `within_ms` of each `trigger` request, an `expect_sequence` without gaps (after a "
        "`read_pause_ms` that backs the server up); a listener the server closes is a breach",
        false, [](const step_spec& s, const has_fn&) -> problem {
            if(!s.expect_each.empty() && s.push_every_ms <= 0)
                return std::pair{std::string("push_every_ms"), std::string("expect_each needs push_every_ms > 0")};
            if(s.push_every_ms > 0 && s.expect_each.empty())
                return std::pair{std::string("expect_each"), std::string("push_every_ms needs the texts to expect")};
            if(s.connections > 64)
                return std::pair{std::string("connections"), std::string("at most 64 listeners a step")};
            if(s.trigger && s.within_ms <= 0)
                return std::pair{std::string("within_ms"), std::string("a trigger needs within_ms > 0")};
            return std::nullopt;
        }));
    r.back().engine_runs = false;
    r.back().listens = true;
    return r;
}

} // namespace

const std::vector<kind_spec>& registry()
{
    static const std::vector<kind_spec> r = make_registry();
    return r;
}

const kind_spec* find_kind(const std::string& name)
{
    for(auto& k : registry())
        if(k.name == name)
            return &k;
    return nullptr;
}

const std::vector<std::pair<std::string, std::string>>& kinds()
{
    static const std::vector<std::pair<std::string, std::string>> k = [] {
        std::vector<std::pair<std::string, std::string>> out;
        for(auto& spec : registry())
            out.emplace_back(spec.name, spec.what);
        return out;
    }();
    return k;
}

std::string expand(const std::string& tmpl, std::uint64_t n, std::uint64_t i)
{
    template_vars v;
    v.n = n;
    v.i = i;
    v.k = n;
    return expand(tmpl, v);
}

std::string expand(const std::string& tmpl, const template_vars& v)
{
    std::string out;
    out.reserve(tmpl.size() + 16);
    for(std::size_t p = 0; p < tmpl.size();)
    {
        const char c = p + 2 < tmpl.size() && tmpl[p] == '{' && tmpl[p + 2] == '}' ? tmpl[p + 1] : 0;
        const std::uint64_t* value = c == 'n' ? &v.n : c == 'i' ? &v.i : c == 'k' ? &v.k : c == 'r' ? &v.r
                                   : c == 'c' ? &v.c : nullptr;
        if(value)
        {
            out += std::to_string(*value);
            p += 3;
        }
        else
            out += tmpl[p++];
    }
    return out;
}

std::string make_body(const std::string& tmpl, std::uint64_t n, std::size_t bytes)
{
    template_vars v;
    v.n = n;
    v.k = n;
    return make_body(tmpl, v, bytes);
}

std::optional<std::string> gunzip(const std::string& data)
{
    z_stream zs{};
    // 16 + MAX_WBITS: a gzip wrapper, nothing else.
    if(inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return std::nullopt;
    std::string out;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    int rc = Z_OK;
    char chunk[16384];
    while(rc == Z_OK)
    {
        zs.next_out = reinterpret_cast<Bytef*>(chunk);
        zs.avail_out = sizeof chunk;
        rc = inflate(&zs, Z_NO_FLUSH);
        out.append(chunk, sizeof chunk - zs.avail_out);
        if(rc == Z_BUF_ERROR && zs.avail_in == 0)
            break;  // the stream stops before its end
    }
    const bool whole = rc == Z_STREAM_END && zs.avail_in == 0;
    inflateEnd(&zs);
    if(!whole)
        return std::nullopt;
    return out;
}

std::string make_body(const std::string& tmpl, const template_vars& v, std::size_t bytes)
{
    std::string body = expand(tmpl, v);
    auto pad = body.find("{pad}");
    if(pad == std::string::npos)
        return body;
    std::size_t rest = body.size() - 5;
    body.replace(pad, 5, bytes > rest ? std::string(bytes - rest, 'x') : std::string());
    return body;
}

namespace {

// One failed operation: which stage, and why.
struct op_error : std::runtime_error
{
    using std::runtime_error::runtime_error;
};

// The server answered, but not as the step's contract says: which promise, and what came.
struct op_breach : op_error
{
    std::string clause;
    op_breach(std::string c, const std::string& what) : op_error(what), clause(std::move(c)) {}
};

// At most n characters of a reply, for a message.
void check(beast::error_code ec, const char* stage)
{
    if(ec)
        throw op_error(std::string(stage) + ": " + ec.message());
}

using op_fn = std::function<net::awaitable<void>(std::uint64_t n)>;

} // namespace

// One client's current operation: its socket and the time it must be done by,
// and the read buffer it reuses from one connection to the next.
struct slot
{
    tcp::socket* socket = nullptr;
    steady_clock::time_point deadline;
    bool expired = false;  // the watchdog closed the socket
    beast::flat_buffer buffer;
    std::string request;   // the request being sent, its capacity reused
    std::string target;    // its target, for messages
    // Response headers are parsed into this arena, reset per reply: no malloc per header.
    std::array<std::byte, 4096> arena_bytes;
    std::pmr::monotonic_buffer_resource arena{arena_bytes.data(), arena_bytes.size()};
};

// A connection a step left hanging: since when it has been silent, and when the server let go of it.
struct held_connection
{
    tcp::socket socket;
    steady_clock::time_point silent_since;
    std::optional<steady_clock::time_point> released;
};

struct engine::impl
{
    // One thread, and nothing is ever posted to it from another: no locking needed.
    net::io_context ioc{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE};
    tcp::endpoint ep;
    steady_clock::time_point deadline;
    std::uint64_t counter = 0;  // per-run request counter for "{n}"
    // The last body seen for each target of a step that repeats keys or expects cached replies.
    std::unordered_map<std::string, std::string> last_body;
    std::size_t round = 1;      // the round being run, for "{r}"
    // The listeners of each ws-listen step, held from its first round to the end of the run.
    std::map<const step_spec*, std::unique_ptr<listener_group>> listening;
    std::uint16_t metrics_port = 0;  // the server's labkit metrics endpoint, for requests sent there

    // A ws-quiet step's trigger waits for every connection of the step to be open (or gone).
    struct gate
    {
        std::size_t expected = 0, arrived = 0, gone = 0;
        bool open = false;  // the trigger has been sent
    };
    std::map<const step_spec*, gate> gates;

    // The template variables of request n (message i) of a step.
    template_vars vars(const step_spec& st, std::uint64_t n, std::uint64_t i = 0) const
    {
        template_vars v;
        v.n = n;
        v.i = i;
        v.k = st.keys ? n % st.keys : n;
        v.r = round;
        return v;
    }
    std::vector<held_connection> held;
    std::deque<slot> slots;  // a deque: slots never move (each holds its own arena)
    std::size_t running = 0;    // workers not yet finished
    net::steady_timer tick{ioc};

    // A worker is done; the last one stops the watchdog at once.
    void finished()
    {
        if(--running == 0)
            tick.cancel();
    }

    // Start an operation on this socket: it must end by the earlier of the
    // operation's own timeout and the step's deadline, or the watchdog closes it.
    void begin(slot& sl, tcp::socket& s, const step_spec& st)
    {
        auto op_deadline = steady_clock::now() + duration_cast<steady_clock::duration>(duration<double>(st.op_timeout_s));
        sl.socket = &s;
        sl.deadline = std::min(op_deadline, deadline);
        sl.expired = false;
    }

    // Closes every socket whose operation is past its deadline; ends with the workers.
    // One timer for the whole step costs far less than a timer per read and write.
    net::awaitable<void> watchdog()
    {
        while(running > 0)
        {
            tick.expires_after(20ms);
            co_await tick.async_wait(net::as_tuple(use_awaitable));
            auto now = steady_clock::now();
            for(auto& sl : slots)
                if(sl.socket && now >= sl.deadline && !sl.expired)
                {
                    beast::error_code ignored;
                    sl.expired = true;
                    sl.socket->close(ignored);
                }
        }
    }

    // Open, wait until the step's trigger has been sent (by conduct()).
    net::awaitable<void> wait_for_trigger(slot& sl, const step_spec& st)
    {
        auto& g = gates[&st];
        ++g.arrived;
        net::steady_timer poll(ioc);
        while(!g.open)
        {
            if(steady_clock::now() >= sl.deadline)
                throw op_error("open, but the step's trigger was not sent in time");
            poll.expires_after(5ms);
            co_await poll.async_wait(net::as_tuple(use_awaitable));
        }
    }

    // A setup or trigger request of a step: where it goes, and what came back.
    net::awaitable<void> send_change(const trigger_spec& t, const step_spec& st, step_result& r, const char* clause)
    {
        ++r.ops;
        request_outcome out;
        if(t.to_metrics && metrics_port == 0)
            out.error = "this server has no labkit metrics endpoint to send " + t.method + " " + t.path + " to";
        else
            out = co_await send_request(t.to_metrics ? tcp::endpoint(ep.address(), metrics_port) : ep, t,
                                        vars(st, 0), st.op_timeout_s);
        if(!out.error.empty())
        {
            ++r.failed;
            if(r.first_error.empty())
                r.first_error = out.what + ": " + out.error;
        }
        else if(!out.breach.empty())
        {
            ++r.breaches;
            if(r.first_breach.empty())
            {
                r.breach_clause = clause;
                r.first_breach = out.breach;
            }
        }
    }

    // A ws-quiet step with a setup or a trigger: the setup, quiet_ms for the server to apply it,
    // the step's workers, and the trigger once all their connections are open.
    net::awaitable<void> conduct(const step_spec& st, step_result& r, std::function<void()> start_workers)
    {
        if(st.setup)
        {
            co_await send_change(*st.setup, st, r, "setup reply");
            net::steady_timer wait(ioc, duration_cast<steady_clock::duration>(duration<double, std::milli>(st.quiet_ms)));
            co_await wait.async_wait(net::as_tuple(use_awaitable));
        }
        start_workers();
        if(!st.trigger)
            co_return;
        auto& g = gates[&st];
        net::steady_timer poll(ioc);
        while(g.arrived + g.gone < g.expected && steady_clock::now() < deadline)
        {
            poll.expires_after(5ms);
            co_await poll.async_wait(net::as_tuple(use_awaitable));
        }
        co_await send_change(*st.trigger, st, r, "trigger reply");
        g.open = true;
    }

    // How a WebSocket operation ends: a close handshake, a reset, or silence with the socket kept.
    enum class ws_end
    {
        close,
        abort,
        reset_reply,
        hold
    };

    // A quiet but live peer: a read stays pending (so pings are answered) while nothing is
    // sent for quiet_ms; then the message goes out and the pending read must bring its echo.
    net::awaitable<void> ws_quiet_echo(websocket::stream<tcp::socket>& ws, beast::flat_buffer& buffer,
                                       const step_spec& st, const std::string& msg, bool refused)
    {
        using namespace net::experimental::awaitable_operators;
        auto start = steady_clock::now();
        std::size_t pings = 0;
        ws.control_callback([&pings](websocket::frame_type kind, beast::string_view) {
            if(kind == websocket::frame_type::ping)
                ++pings;
        });
        // The callback counts into this frame: remove it on every way out.
        struct uninstall
        {
            websocket::stream<tcp::socket>& ws;
            ~uninstall() { ws.control_callback(); }
        } guard{ws};
        bool sent = false;
        auto reader = [&]() -> net::awaitable<void> {
            auto [rec, rn] = co_await ws.async_read(buffer, net::as_tuple(use_awaitable));
            if(rec == net::error::operation_aborted)
                co_return;  // the write failed first: its error is the one to report
            // The message this step sends must be refused: a close with that code, once it is sent.
            if(refused && sent)
                co_return check_refused(ws, rec, st);
            if(rec)
            {
                auto ms = duration_cast<milliseconds>(steady_clock::now() - start).count();
                throw op_breach("quiet client kept", "the server dropped a quiet WebSocket after " + std::to_string(ms) +
                                                         " ms, though it answered " + std::to_string(pings) + " ping(s) (" +
                                                         rec.message() + ")");
            }
        };
        auto writer = [&]() -> net::awaitable<void> {
            net::steady_timer quiet(ioc, duration_cast<steady_clock::duration>(duration<double, std::milli>(st.quiet_ms)));
            auto [tec] = co_await quiet.async_wait(net::as_tuple(use_awaitable));
            if(tec)
                co_return;  // the read failed first: its error is the one to report
            ws.text(true);
            sent = true;
            auto [wec, wn] = co_await ws.async_write(net::buffer(msg), net::as_tuple(use_awaitable));
            check(wec, "websocket write");
        };
        co_await (reader() && writer());
        if(refused)
            co_return;
        if(beast::buffers_to_string(buffer.data()) != msg)
            throw op_breach("echo", "the reply is not the echo of the message sent: " + clip(beast::buffers_to_string(buffer.data())));
        buffer.consume(buffer.size());
    }

    // The reply to a message the server must refuse: a close with the step's code, not an echo.
    void check_refused(websocket::stream<tcp::socket>& ws, beast::error_code rec, const step_spec& st)
    {
        const std::string want = "expected the server to close with code " + std::to_string(st.expect_close_code);
        if(!rec)
            throw op_breach("refused message", "the server accepted a message it must refuse (" + want + ")");
        // A close frame that came before the connection broke (the server closed with
        // unread data behind it) still says how the server refused.
        if(rec != websocket::error::closed && ws.reason().code != st.expect_close_code)
            check(rec, "websocket read");
        if(ws.reason().code != st.expect_close_code)
            throw op_breach("refused message", "the server closed with code " + std::to_string(ws.reason().code) + ", " +
                                                   want);
    }

    // A WebSocket message: the template expanded, "{pad}" filled up to message_bytes.
    std::string ws_message(const step_spec& st, std::uint64_t n, std::uint64_t i)
    {
        return make_body(st.message, vars(st, n, i), st.message_bytes);
    }

    net::awaitable<void> ws_op(slot& sl, const step_spec& st, std::uint64_t n, ws_end end)
    {
        websocket::stream<tcp::socket> ws(ioc);
        auto& sock = ws.next_layer();
        begin(sl, sock, st);
        // An operation that ends before it is open still counts for the step's trigger.
        struct leave_gate
        {
            impl& m;
            const step_spec& st;
            bool arrived = false;
            ~leave_gate()
            {
                if(st.trigger && !arrived)
                    ++m.gates[&st].gone;
            }
        } gate_guard{*this, st};
        auto [cec] = co_await sock.async_connect(ep, net::as_tuple(use_awaitable));
        check(cec, "connect");
        auto [hec] = co_await ws.async_handshake("127.0.0.1:" + std::to_string(ep.port()), expand(st.path, vars(st, n)),
                                                 net::as_tuple(use_awaitable));
        check(hec, "websocket handshake");
        if(st.trigger)
        {
            gate_guard.arrived = true;
            co_await wait_for_trigger(sl, st);
        }

        // Echo each message and check the reply.
        beast::flat_buffer buffer;
        std::size_t i = 0;
        for(; i < st.messages; ++i)
        {
            // A quiet device: silent before each message, so it is quiet after readings too.
            if(st.quiet_ms > 0)
            {
                const bool last = i + 1 == st.messages;
                co_await ws_quiet_echo(ws, buffer, st, ws_message(st, n, i), st.expect_close_code && last);
                if(st.expect_close_code && last)
                    co_return;  // the server refused it and closed
                continue;
            }
            auto msg = ws_message(st, n, i);
            ws.text(true);
            auto [wec, wn] = co_await ws.async_write(net::buffer(msg), net::as_tuple(use_awaitable));
            check(wec, "websocket write");
            auto [rec, rn] = co_await ws.async_read(buffer, net::as_tuple(use_awaitable));
            // The last message must be refused: the server closes, and the operation ends there.
            if(st.expect_close_code && i + 1 == st.messages)
                co_return check_refused(ws, rec, st);
            check(rec, "websocket read");
            if(beast::buffers_to_string(buffer.data()) != msg)
                throw op_breach("echo", "the reply is not the echo of the message sent: " +
                                            clip(beast::buffers_to_string(buffer.data())));
            buffer.consume(buffer.size());
        }

        if(end == ws_end::reset_reply)
        {
            // One more message, and the reset right behind it: the server's reply meets a reset peer.
            auto msg = ws_message(st, n, st.messages);
            ws.text(true);
            auto [wec, wn] = co_await ws.async_write(net::buffer(msg), net::as_tuple(use_awaitable));
            check(wec, "websocket write");
        }
        if(end == ws_end::abort || end == ws_end::reset_reply)
        {
            // Reset: linger 0 then close sends RST, no close frame, no FIN.
            beast::error_code ignored;
            sock.set_option(net::socket_base::linger(true, 0), ignored);
            sock.close(ignored);
            co_return;
        }
        if(end == ws_end::hold)
        {
            // Go silent: no close frame, no FIN, no pong; the kernel still acknowledges what arrives.
            sl.socket = nullptr;
            held.push_back({std::move(sock), steady_clock::now(), {}});
            co_return;
        }
        auto [xec] = co_await ws.async_close(websocket::close_code::normal, net::as_tuple(use_awaitable));
        check(xec, "websocket close");
    }

    // The request as bytes on the wire, written into `out`: only the target and body vary.
    void request_text(std::string& out, std::string& target_out, const step_spec& st, std::uint64_t n, bool keep_alive)
    {
        std::string body = st.body.empty() ? std::string() : make_body(st.body, vars(st, n), st.body_bytes);
        if(st.body_repeat > 1)
        {
            // One batch of body_repeat copies: a body bigger than any one buffer the server may read into
            std::string one = std::move(body);
            body.reserve(one.size() * st.body_repeat);
            for(std::size_t i = 0; i < st.body_repeat; ++i)
                body += one;
        }
        out.clear();
        const std::string target = expand(st.path, vars(st, n));
        out.append(st.method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1:");
        out.append(std::to_string(ep.port())).append("\r\nUser-Agent: leaklab\r\n");
        if(!keep_alive)
            out.append("Connection: close\r\n");
        if(!body.empty())
            out.append("Content-Type: application/json\r\n");
        if(!body.empty() || st.method == "POST" || st.method == "PUT" || st.method == "PATCH")
            out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
        out.append("\r\n").append(body);
        target_out = target;
    }

    using response_fields = http::basic_fields<std::pmr::polymorphic_allocator<char>>;
    using response = http::response<http::string_body, response_fields>;

    // The reply against the step's contract: its status, a header, gzip, text in the body.
    void check_response(const step_spec& st, const response& res, std::string_view target, const std::string& body)
    {
        const std::string what = st.method + " " + std::string(target);
        // 503 is the server declining to serve now: a failure (judged as a rate, and as
        // "stopped serving"), not a wrong answer, unless the step expects it.
        if(res.result_int() == 503 && st.expect_status != 503)
            throw op_error(what + " answered 503 Service Unavailable (body: " + clip(res.body()) + ")");
        if(res.result_int() != st.expect_status)
            throw op_breach("reply status", what + " answered " + std::to_string(res.result_int()) + ", expected " +
                                                std::to_string(st.expect_status) + " (body: " + clip(res.body()) + ")");
        if(!st.expect_header.empty())
        {
            const auto colon = st.expect_header.find(':');
            const std::string name = st.expect_header.substr(0, colon);
            std::string want = st.expect_header.substr(colon + 1);
            want.erase(0, want.find_first_not_of(' '));
            auto it = res.find(name);
            if(it == res.end())
                throw op_breach("reply header", what + ": no " + name + " header (expected \"" + st.expect_header + "\")");
            if(std::string(it->value()).find(want) == std::string::npos)
                throw op_breach("reply header", what + ": " + name + ": " + std::string(it->value()) + ", expected \"" +
                                                    st.expect_header + "\"");
        }
        std::string inflated;
        const std::string* text = &res.body();
        if(st.expect_gzip)
        {
            auto enc = res.find(http::field::content_encoding);
            if(enc == res.end() || std::string(enc->value()).find("gzip") == std::string::npos)
                throw op_breach("gzip reply", what + ": not gzip-encoded (no Content-Encoding: gzip)");
            auto out = gunzip(res.body());
            if(!out)
                throw op_breach("gzip reply", what + ": says gzip, but the " + std::to_string(res.body().size()) +
                                                  "-byte body is not a whole gzip stream");
            inflated = std::move(*out);
            text = &inflated;
        }
        if(!body.empty() && text->find(body) == std::string::npos)
            throw op_breach("reply body", what + ": the body does not contain \"" + body + "\" (" +
                                              clip(*text) + ")");        if(!st.reject_body.empty())
            if(auto at = text->find(st.reject_body); at != std::string::npos)
                throw op_breach("reply body", what + ": the body contains \"" + st.reject_body + "\", which it must not (" +
                                                  clip(text->substr(at > 80 ? at - 80 : 0)) + ")");
    }

    // One request and its reply, checked; true when the reply lets the connection be used again.
    net::awaitable<bool> http_exchange(slot& sl, tcp::socket& s, const step_spec& st, std::uint64_t n, bool keep_alive)
    {
        request_text(sl.request, sl.target, st, n, keep_alive);
        auto [wec, wn] = co_await net::async_write(s, net::buffer(sl.request), net::as_tuple(use_awaitable));
        check(wec, "HTTP write");
        // Wait until the reply arrives, so the first read finds data (no speculative EAGAIN).
        auto [aec] = co_await s.async_wait(tcp::socket::wait_read, net::as_tuple(use_awaitable));
        check(aec, "HTTP read");
        sl.arena.release();
        http::response_parser<http::string_body, std::pmr::polymorphic_allocator<char>> parser(
            std::piecewise_construct, std::make_tuple(), std::make_tuple(&sl.arena));
        parser.body_limit(64 * 1024 * 1024);
        auto [rec, rn] = co_await http::async_read(s, sl.buffer, parser, net::as_tuple(use_awaitable));
        check(rec, "HTTP read");
        check_response(st, parser.get(), sl.target, st.expect_body.empty() ? st.expect_body : expand(st.expect_body, vars(st, n)));
        // A reply served from a cache is the one made before, byte for byte, not made again.
        if(st.keys > 0 || st.expect_cached)
        {
            auto& last = last_body[sl.target];
            if(st.expect_cached && !last.empty() && last != parser.get().body())
                throw op_breach("cached reply", st.method + " " + sl.target + ": a repeat's body differs from the last "
                                                "reply to it, so it was made again (now: " +
                                                    clip(parser.get().body()) + ", before: " + clip(last) + ")");
            last = parser.get().body();
        }
        co_return parser.get().keep_alive();
    }

    net::awaitable<void> http_churn_op(slot& sl, const step_spec& st, std::uint64_t n)
    {
        tcp::socket s(ioc);
        begin(sl, s, st);
        auto [cec] = co_await s.async_connect(ep, net::as_tuple(use_awaitable));
        check(cec, "connect");
        sl.buffer.clear();
        co_await http_exchange(sl, s, st, n, false);
        // Close from the client side, so TIME-WAIT lands here and not on the server.
        beast::error_code ignored;
        s.close(ignored);
    }

    // A whole request, then a reset before the reply: the server's write meets a reset peer.
    net::awaitable<void> http_reset_op(slot& sl, const step_spec& st, std::uint64_t n)
    {
        tcp::socket s(ioc);
        begin(sl, s, st);
        auto [cec] = co_await s.async_connect(ep, net::as_tuple(use_awaitable));
        check(cec, "connect");
        request_text(sl.request, sl.target, st, n, true);
        auto [wec, wn] = co_await net::async_write(s, net::buffer(sl.request), net::as_tuple(use_awaitable));
        check(wec, "HTTP write");
        beast::error_code ignored;
        s.set_option(net::socket_base::linger(true, 0), ignored);
        s.close(ignored);
    }

    net::awaitable<void> stall_op(slot& sl, const step_spec& st, std::uint64_t n)
    {
        tcp::socket s(ioc);
        begin(sl, s, st);
        auto [cec] = co_await s.async_connect(ep, net::as_tuple(use_awaitable));
        check(cec, "connect");
        // Half a request line and one header, then silence.
        std::string partial = "GET " + expand(st.path, vars(st, n)) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
        auto [wec, wn] = co_await net::async_write(s, net::buffer(partial), net::as_tuple(use_awaitable));
        check(wec, "stall write");
        sl.socket = nullptr;
        held.push_back({std::move(s), steady_clock::now(), {}});
    }

    // A client that stops reading: `requests` requests pipelined on one connection with a
    // small receive buffer, none of the replies read. While it hangs, a request on a second
    // connection must be answered in time: one stuck client must not hold up the others.
    net::awaitable<void> http_unread_op(slot& sl, const step_spec& st, std::uint64_t n)
    {
        tcp::socket stuck(ioc);
        begin(sl, stuck, st);
        beast::error_code ec;
        stuck.open(ep.protocol(), ec);
        check(ec, "socket");
        if(st.receive_buffer > 0)
            stuck.set_option(net::socket_base::receive_buffer_size(static_cast<int>(st.receive_buffer)), ec);
        auto [cec] = co_await stuck.async_connect(ep, net::as_tuple(use_awaitable));
        check(cec, "connect");
        // The requests outlive this operation until their write ends (the reset below aborts it).
        request_text(sl.request, sl.target, st, n, true);
        auto flood = std::make_shared<std::string>();
        flood->reserve(sl.request.size() * st.requests);
        for(std::size_t i = 0; i < st.requests; ++i)
            *flood += sl.request;
        // Send it all, reading nothing (a server that stops reading the pipeline, backpressure,
        // leaves part of it unsent), and give the server the pause to take in what it can and
        // to queue, or write into a full buffer, its replies; then the other client asks.
        net::async_write(stuck, net::buffer(*flood), [flood](beast::error_code, std::size_t) {});
        net::steady_timer pause(ioc, duration_cast<steady_clock::duration>(
                                         duration<double, std::milli>(st.pause_ms > 0 ? st.pause_ms : 500)));
        co_await pause.async_wait(net::as_tuple(use_awaitable));

        tcp::socket other(ioc);
        begin(sl, other, st);
        try
        {
            auto [oec] = co_await other.async_connect(ep, net::as_tuple(use_awaitable));
            check(oec, "connect");
            sl.buffer.clear();
            co_await http_exchange(sl, other, st, n, false);
        }
        catch(const std::exception& e)
        {
            if(!sl.expired)
                throw;
            // No answer in time while the other client hangs: the server's contract, not a failure.
            sl.expired = false;
            stuck.set_option(net::socket_base::linger(true, 0), ec);
            stuck.close(ec);
            throw op_breach("served beside a client that stopped reading",
                            "one client pipelined " + std::to_string(st.requests) + " requests and read none of the "
                            "replies; another client's " + st.method + " " + sl.target + " then got no answer within " +
                            std::to_string(static_cast<long>(st.op_timeout_s * 1000)) + " ms (" + e.what() + ")");
        }
        // The stuck client goes with a reset: the server's pending writes to it fail.
        stuck.set_option(net::socket_base::linger(true, 0), ec);
        stuck.close(ec);
        other.close(ec);
    }

    net::awaitable<void> idle_keepalive_op(slot& sl, const step_spec& st, std::uint64_t n)
    {
        tcp::socket s(ioc);
        begin(sl, s, st);
        auto [cec] = co_await s.async_connect(ep, net::as_tuple(use_awaitable));
        check(cec, "connect");
        sl.buffer.clear();
        for(std::size_t i = 0; i < st.requests; ++i)
        {
            begin(sl, s, st);
            co_await http_exchange(sl, s, st, n, true);
        }
        // Keep the connection open and say nothing more.
        sl.socket = nullptr;
        held.push_back({std::move(s), steady_clock::now(), {}});
    }

    // Count one breach of the step's contract.
    static void breached(step_result& r, const op_breach& b)
    {
        ++r.breaches;
        if(r.first_breach.empty())
        {
            r.breach_clause = b.clause;
            r.first_breach = b.what();
        }
    }

    // Count one failed operation; an operation the watchdog cut short timed out. A breach
    // (the server answered, wrongly) is counted as that, not as a failure.
    void failed(step_result& r, const slot& sl, const std::exception& e, const step_spec& st)
    {
        if(auto* b = dynamic_cast<const op_breach*>(&e); b && !sl.expired)
            return breached(r, *b);
        ++r.failed;
        if(r.first_error.empty())
        {
            std::ostringstream msg;
            if(sl.expired)
                msg << "no answer within " << st.op_timeout_s << " s (" << e.what() << ")";
            else
                msg << e.what();
            r.first_error = msg.str();
        }
    }

    // A worker runs operations one after another until the step's count is used up.
    net::awaitable<void> worker(slot& sl, const op_fn& op, std::size_t& next, std::size_t total, step_result& r,
                                const step_spec& st)
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
                failed(r, sl, e, st);
            }
            sl.socket = nullptr;
        }
        finished();
    }

    // How each kind of the registry runs: the operation one of its workers repeats.
    // http-keepalive has none: its workers keep one connection each (keepalive_worker).
    op_fn op_for(slot& sl, const step_spec& st)
    {
        static const std::map<std::string, std::function<op_fn(impl&, slot&, const step_spec&)>> ops = {
            {"ws-churn", [](impl& m, slot& sl, const step_spec& st) -> op_fn {
                 return [&m, &sl, &st](std::uint64_t n) { return m.ws_op(sl, st, n, ws_end::close); };
             }},
            {"ws-quiet", [](impl& m, slot& sl, const step_spec& st) -> op_fn {
                 return [&m, &sl, &st](std::uint64_t n) { return m.ws_op(sl, st, n, ws_end::close); };
             }},
            {"ws-abort", [](impl& m, slot& sl, const step_spec& st) -> op_fn {
                 return [&m, &sl, &st](std::uint64_t n) { return m.ws_op(sl, st, n, ws_end::abort); };
             }},
            {"ws-reset-reply", [](impl& m, slot& sl, const step_spec& st) -> op_fn {
                 return [&m, &sl, &st](std::uint64_t n) { return m.ws_op(sl, st, n, ws_end::reset_reply); };
             }},
            {"half-open", [](impl& m, slot& sl, const step_spec& st) -> op_fn {
                 return [&m, &sl, &st](std::uint64_t n) { return m.ws_op(sl, st, n, ws_end::hold); };
             }},
            {"http-churn", [](impl& m, slot& sl, const step_spec& st) -> op_fn {
                 return [&m, &sl, &st](std::uint64_t n) { return m.http_churn_op(sl, st, n); };
             }},
            {"http-reset-reply", [](impl& m, slot& sl, const step_spec& st) -> op_fn {
                 return [&m, &sl, &st](std::uint64_t n) { return m.http_reset_op(sl, st, n); };
             }},
            {"idle-keepalive", [](impl& m, slot& sl, const step_spec& st) -> op_fn {
                 return [&m, &sl, &st](std::uint64_t n) { return m.idle_keepalive_op(sl, st, n); };
             }},
            {"stall", [](impl& m, slot& sl, const step_spec& st) -> op_fn {
                 return [&m, &sl, &st](std::uint64_t n) { return m.stall_op(sl, st, n); };
             }},
            {"http-unread", [](impl& m, slot& sl, const step_spec& st) -> op_fn {
                 return [&m, &sl, &st](std::uint64_t n) { return m.http_unread_op(sl, st, n); };
             }},
        };
        auto it = ops.find(st.kind);
        return it == ops.end() ? op_fn{} : it->second(*this, sl, st);
    }

    // keep-alive: a worker keeps one connection and sends its share of requests on it.
    net::awaitable<void> keepalive_worker(slot& sl, const step_spec& st, std::size_t& next, std::size_t total,
                                          step_result& r)
    {
        std::optional<tcp::socket> s;
        std::size_t answered = 0;  // replies on this connection so far
        auto last_reply = steady_clock::now();
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
                    begin(sl, *s, st);
                    auto [cec] = co_await s->async_connect(ep, net::as_tuple(use_awaitable));
                    check(cec, "connect");
                    sl.buffer.clear();
                    answered = 0;
                }
                // A paced client: it waits between requests, well within any idle limit.
                if(st.pause_ms > 0 && answered > 0)
                {
                    net::steady_timer pause(ioc, duration_cast<steady_clock::duration>(duration<double, std::milli>(st.pause_ms)));
                    co_await pause.async_wait(net::as_tuple(use_awaitable));
                }
                begin(sl, *s, st);
                const bool again = co_await http_exchange(sl, *s, st, n, true);
                last_reply = steady_clock::now();
                ++answered;
                // The server said Connection: close: the next request goes on a new connection.
                if(!again)
                    s.reset();
            }
            catch(const std::exception& e)
            {
                const double waited_ms = duration<double, std::milli>(steady_clock::now() - last_reply).count();
                const bool paced = st.pause_ms > 0 && answered > 0 && !dynamic_cast<const op_breach*>(&e);
                // The server kept a paced client that had been answered, and stopped answering it:
                // the connection went mute after a pause.
                if(paced && sl.expired)
                    breached(r, op_breach("paced client answered",
                                     "the server answered " + std::to_string(answered) +
                                         (answered == 1 ? " request" : " requests") + " on a kept-alive connection, then nothing to the next one, sent after a " +
                                         std::to_string(static_cast<long>(st.pause_ms)) + " ms pause, within " +
                                         std::to_string(static_cast<long>(st.op_timeout_s * 1000)) + " ms"));
                // ... or dropped it although it had waited less than twice its pause (plus a
                // margin for a loaded machine): not an idle connection.
                else if(paced && !sl.expired && waited_ms < 2 * st.pause_ms + 100)
                    failed(r, sl,
                           op_breach("paced client kept", "the server dropped a kept-alive client after " +
                                                              std::to_string(answered) + " replies, " +
                                                              std::to_string(static_cast<long>(waited_ms)) +
                                                              " ms after the last, though it asks every " +
                                                              std::to_string(static_cast<long>(st.pause_ms)) + " ms (" +
                                                              e.what() + ")"),
                           st);
                else
                    failed(r, sl, e, st);
                s.reset();
            }
            sl.socket = nullptr;
        }
        if(s)
        {
            beast::error_code ignored;
            s->shutdown(tcp::socket::shutdown_both, ignored);
        }
        finished();
    }
};

engine::engine() : impl_(std::make_unique<impl>()) {}
engine::~engine() = default;

std::size_t engine::held_connections() const { return impl_->held.size(); }

held_state engine::check_held()
{
    held_state out;
    out.held = impl_->held.size();
    const auto now = steady_clock::now();
    std::vector<double> after;
    for(auto& h : impl_->held)
    {
        // The server let go when its end closed (FIN or RST); a reply it sent first does not count.
        if(!h.released)
        {
            pollfd p{h.socket.native_handle(), POLLRDHUP, 0};
            if(::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
                h.released = now;
        }
        if(h.released)
            after.push_back(duration<double>(*h.released - h.silent_since).count());
    }
    out.released = after.size();
    if(!after.empty())
    {
        std::sort(after.begin(), after.end());
        out.median_release_s = after[after.size() / 2];
        out.max_release_s = after.back();
    }
    return out;
}

step_result engine::run(const step_spec& st, std::uint16_t port, milliseconds time_bound, std::size_t round)
{
    return run_together({&st}, port, time_bound, round).front();
}

std::vector<step_result> engine::run_together(const std::vector<const step_spec*>& steps, std::uint16_t port,
                                              milliseconds time_bound, std::size_t round)
{
    auto& m = *impl_;
    m.ep = tcp::endpoint(net::ip::make_address("127.0.0.1"), port);
    m.round = round;
    auto start = steady_clock::now();
    m.deadline = start + time_bound;

    // Each step: its own count of operations and its own workers; all share one io_context.
    struct share
    {
        std::size_t next = 0, total = 0;
    };
    std::vector<step_result> results(steps.size());
    std::vector<share> shares(steps.size());
    std::vector<std::size_t> workers(steps.size());
    std::size_t all_workers = 0;
    for(std::size_t i = 0; i < steps.size(); ++i)
    {
        const auto& st = *steps[i];
        const kind_spec* kind = find_kind(st.kind);
        if(!kind || !kind->engine_runs)
            throw std::invalid_argument("the workload engine cannot run a '" + st.kind + "' step");
        shares[i].total = st.kind == "http-keepalive" ? st.connections * std::max<std::size_t>(1, st.requests)
                                                      : st.connections;
        workers[i] = std::max<std::size_t>(1, std::min(st.concurrency, shares[i].total));
        all_workers += workers[i];
    }

    m.ioc.restart();
    m.slots.clear();
    for(std::size_t w = 0; w < all_workers; ++w)
        m.slots.emplace_back();
    m.running = all_workers;
    std::vector<op_fn> ops(all_workers);
    m.gates.clear();
    std::size_t w = 0;
    for(std::size_t i = 0; i < steps.size(); ++i)
    {
        const auto& st = *steps[i];
        const std::size_t first = w;
        w += workers[i];
        // Each worker's operations register their socket in the worker's own slot.
        for(std::size_t k = first; k < w; ++k)
            if(st.kind != "http-keepalive")
            {
                ops[k] = m.op_for(m.slots[k], st);
                if(!ops[k])
                    throw std::logic_error("workload kind '" + st.kind + "' is in the registry but the engine cannot run it");
            }
        auto start = [&m, &st, &ops, &shares, &results, i, first, last = w] {
            for(std::size_t k = first; k < last; ++k)
            {
                auto& sl = m.slots[k];
                if(st.kind == "http-keepalive")
                    net::co_spawn(m.ioc, m.keepalive_worker(sl, st, shares[i].next, shares[i].total, results[i]),
                                  net::detached);
                else
                    net::co_spawn(m.ioc, m.worker(sl, ops[k], shares[i].next, shares[i].total, results[i], st),
                                  net::detached);
            }
        };
        if(st.setup || st.trigger)
        {
            m.gates[&st].expected = shares[i].total;
            net::co_spawn(m.ioc, m.conduct(st, results[i], start), net::detached);
        }
        else
            start();
    }
    net::co_spawn(m.ioc, m.watchdog(), net::detached);
    // The watchdog closes whatever is past its deadline, so run() returns by then (plus a tick).
    m.ioc.run();

    const double seconds = duration<double>(steady_clock::now() - start).count();
    for(std::size_t i = 0; i < steps.size(); ++i)
    {
        results[i].seconds = seconds;
        results[i].timed_out = shares[i].next < shares[i].total || steady_clock::now() >= m.deadline;
    }
    return results;
}

step_result engine::listen(const step_spec& st, std::uint16_t port, std::size_t round, bool last)
{
    auto& group = impl_->listening[&st];
    if(!group)
    {
        if(last)
            return {};
        group = std::make_unique<listener_group>(st, port, impl_->metrics_port);
    }
    return group->check(round, last);
}

void engine::metrics_port(std::uint16_t port) { impl_->metrics_port = port; }

std::size_t engine::listeners() const
{
    std::size_t n = 0;
    for(auto& [step, group] : impl_->listening)
        n += group ? group->open() : 0;
    return n;
}

} // namespace leaklab::workload
