#include "labkit/server.hpp"
#include "labkit/handler_tracking.hpp"
#include "labkit/heap_profile.hpp"
#include "labkit/leak_check.hpp"
#include "labkit/pending.hpp"
#include "labkit/settings.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

namespace labkit {

using namespace std::chrono_literals;

namespace {

// Report one failure on stderr: the first 20, then one in a thousand, so a flood cannot fill the disk.
void report(std::string_view what, const std::string& message)
{
    static std::atomic<std::uint64_t> count{0};
    auto n = ++count;
    if(n <= 20 || n % 1000 == 0)
    {
        static std::mutex m;
        std::lock_guard lock(m);
        std::cerr << what << ": " << message;
        if(n > 20)
            std::cerr << " (" << n << " failures so far)";
        std::cerr << '\n';
    }
}

} // namespace

void fail(beast::error_code ec, std::string_view what)
{
    report(what, ec.message());
}

void fail(std::exception_ptr e, std::string_view what)
{
    try
    {
        std::rethrow_exception(e);
    }
    catch(const std::exception& x)
    {
        report(what, std::string("exception: ") + x.what());
    }
    catch(...)
    {
        report(what, "exception of a type that is not std::exception");
    }
}

lab::lab(net::io_context& ioc, tcp::endpoint ep, int threads, std::map<std::string, std::string> extra)
    : ioc_(ioc), endpoint_(ep), threads_(threads), extra_(std::move(extra))
{
}

std::string lab::env_name(const std::string& name)
{
    std::string out = "LABKIT_";
    for(char c : name)
        out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::vector<std::string> lab::unused_options() const
{
    std::vector<std::string> out;
    for(auto& [name, value] : extra_)
        if(!used_.count(name))
            out.push_back(name);
    return out;
}

void lab::run_stop_hooks()
{
    for(auto& fn : stop_hooks_)
        fn();
}

namespace {

struct options
{
    int port = 0;
    int threads = 1;
    int metrics_port = 0;
    std::map<std::string, std::string> extra;
};

const char* usage_text =
    "usage: %s [--port N] [--threads K] [--metrics-port N] [--<lab option> VALUE ...]\n"
    "  --port N           listen on 127.0.0.1:N (0 = any free port; default 0)\n"
    "  --threads K        io_context threads (default 1)\n"
    "  --metrics-port N   serve GET /metrics on 127.0.0.1:N (0 = any free port, -1 = off)\n"
    "Prints \"METRICS <port>\" and then \"LISTENING <port>\" on stdout when ready;\n"
    "stops gracefully on SIGTERM or SIGINT.\n";

int to_int(const std::string& name, const std::string& value, int lo, int hi)
{
    try
    {
        std::size_t used = 0;
        int v = std::stoi(value, &used);
        if(used == value.size() && v >= lo && v <= hi)
            return v;
    }
    catch(const std::exception&)
    {
    }
    throw usage_error("--" + name + " wants a whole number from " + std::to_string(lo) +
                      " to " + std::to_string(hi) + ", not '" + value + "'");
}

options parse(int argc, char* argv[])
{
    options o;
    for(int i = 1; i < argc; ++i)
    {
        std::string arg = argv[i];
        if(arg == "-h" || arg == "--help")
            throw usage_error("");
        if(arg.rfind("--", 0) != 0 || arg.size() == 2)
            throw usage_error("unexpected argument '" + arg + "'");
        std::string name = arg.substr(2), value;
        if(auto eq = name.find('='); eq != std::string::npos)
        {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        else if(i + 1 < argc)
            value = argv[++i];
        else
            throw usage_error("--" + name + " needs a value");

        if(name == "port")
            o.port = to_int(name, value, 0, 65535);
        else if(name == "threads")
            o.threads = to_int(name, value, 1, 256);
        else if(name == "metrics-port")
            o.metrics_port = to_int(name, value, -1, 65535);
        else
            o.extra[name] = value;
    }
    return o;
}

// A live setting read or changed: GET or PUT /settings/<name>.
void answer_setting(const http::request<http::string_body>& req, http::response<http::string_body>& res)
{
    auto name = std::string(req.target().substr(std::string_view("/settings/").size()));
    auto* s = find_setting(name);
    res.set(http::field::content_type, "text/plain");
    if(!s)
    {
        res.result(http::status::not_found);
        res.body() = "no live setting '" + name + "'\n";
        return;
    }
    if(req.method() == http::verb::get)
    {
        res.result(http::status::ok);
        res.body() = std::to_string(s->value()) + "\n";
        return;
    }
    if(req.method() != http::verb::put)
    {
        res.result(http::status::method_not_allowed);
        res.body() = "try GET or PUT /settings/" + name + "\n";
        return;
    }
    std::int64_t v = 0;
    const auto& b = req.body();
    auto [end, err] = std::from_chars(b.data(), b.data() + b.size(), v);
    if(err != std::errc() || end != b.data() + b.size())
    {
        res.result(http::status::bad_request);
        res.body() = "the body must be an integer\n";
        return;
    }
    s->set(v);
    res.result(http::status::no_content);
}

// One scrape or setting: read a request, answer /metrics or /settings/<name>, close or keep alive.
net::awaitable<void> metrics_session(tcp::socket socket)
{
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for(;;)
    {
        http::request_parser<http::string_body> parser;
        parser.body_limit(1024);
        stream.expires_after(10s);
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, net::as_tuple(net::use_awaitable));
        if(ec)
            break;
        const auto& req = parser.get();
        http::response<http::string_body> res;
        res.version(req.version());
        res.keep_alive(req.keep_alive());
        if(req.target() == "/metrics")
        {
            res.result(http::status::ok);
            res.set(http::field::content_type, "text/plain; version=0.0.4");
            res.body() = render_metrics();
        }
        else if(req.target().starts_with("/settings/"))
            answer_setting(req, res);
        else if(req.target().starts_with("/heap-profile"))
        {
            // An admin call: tcmalloc's heap profile, written to a file (labkit/heap_profile.hpp).
            auto a = req.method() == http::verb::post ? dump_heap_profile(req.target())
                                                      : heap_profile_answer{405, "try POST /heap-profile?name=<name>\n"};
            res.result(static_cast<http::status>(a.status));
            res.set(http::field::content_type, "text/plain");
            res.body() = a.body;
        }
        else if(req.target() == "/leak-check")
        {
            // An admin call: LeakSanitizer's check now, its report in the run's log (labkit/leak_check.hpp).
            auto a = req.method() == http::verb::post ? check_leaks_now()
                                                      : leak_check_answer{405, "try POST /leak-check\n"};
            res.result(static_cast<http::status>(a.status));
            res.set(http::field::content_type, "text/plain");
            res.body() = std::move(a.body);
        }
        else if(req.target() == "/pending-ops")
        {
            // An admin call: the pending operations by kind and stack (labkit/pending.hpp).
            auto a = req.method() == http::verb::get ? tracking::dump_pending()
                                                     : tracking::pending_answer{405, "try GET /pending-ops\n"};
            res.result(static_cast<http::status>(a.status));
            res.set(http::field::content_type, "text/plain");
            res.body() = std::move(a.body);
        }
        else
        {
            res.result(http::status::not_found);
            res.set(http::field::content_type, "text/plain");
            res.body() = "try GET /metrics\n";
        }
        res.prepare_payload();
        auto [wec, wn] = co_await http::async_write(stream, res, net::as_tuple(net::use_awaitable));
        if(wec || !req.keep_alive())
            break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

net::awaitable<void> metrics_listener(tcp::acceptor& acceptor)
{
    for(;;)
    {
        auto [ec, socket] = co_await acceptor.async_accept(net::as_tuple(net::use_awaitable));
        if(ec == net::error::operation_aborted)
            co_return;
        if(ec)
        {
            fail(ec, "metrics accept");
            continue;
        }
        net::co_spawn(acceptor.get_executor(), metrics_session(std::move(socket)), net::detached);
    }
}

// Accepts connections forever; each socket gets its own strand.
class listener : public std::enable_shared_from_this<listener>
{
    net::io_context& ioc_;
    tcp::acceptor acceptor_;
    net::steady_timer pause_;
    std::function<void(tcp::socket)> on_connection_;

public:
    listener(net::io_context& ioc, tcp::endpoint ep, std::function<void(tcp::socket)> fn)
        : ioc_(ioc), acceptor_(net::make_strand(ioc)), pause_(acceptor_.get_executor()),
          on_connection_(std::move(fn))
    {
        acceptor_.open(ep.protocol());
        acceptor_.set_option(net::socket_base::reuse_address(true));
        acceptor_.bind(ep);
        acceptor_.listen(net::socket_base::max_listen_connections);
    }

    unsigned short port() const { return acceptor_.local_endpoint().port(); }

    void do_accept()
    {
        acceptor_.async_accept(net::make_strand(ioc_),
                               beast::bind_front_handler(&listener::on_accept, shared_from_this()));
    }

    void on_accept(beast::error_code ec, tcp::socket socket)
    {
        if(ec == net::error::operation_aborted)
            return;
        if(ec)
        {
            fail(ec, "accept");
            // Out of descriptors: pause instead of spinning, then keep accepting.
            pause_.expires_after(50ms);
            pause_.async_wait(beast::bind_front_handler(&listener::on_pause, shared_from_this()));
            return;
        }
        on_connection_(std::move(socket));
        do_accept();
    }

    void on_pause(beast::error_code ec)
    {
        if(!ec)
            do_accept();
    }
};

} // namespace

void accept(lab& l, std::function<void(tcp::socket)> on_connection)
{
    // --send-buffer N: a fixed kernel send buffer per connection (no autotuning up to
    // megabytes), so a client that stops reading pushes back on the server within seconds.
    if(auto bytes = l.option<int>("send-buffer", 0); bytes > 0)
        on_connection = [bytes, next = std::move(on_connection)](tcp::socket socket) {
            beast::error_code ignored;
            socket.set_option(net::socket_base::send_buffer_size(bytes), ignored);
            next(std::move(socket));
        };
    std::shared_ptr<listener> lst;
    try
    {
        lst = std::make_shared<listener>(l.ioc(), l.endpoint(), std::move(on_connection));
    }
    catch(const boost::system::system_error& e)
    {
        throw std::runtime_error("cannot listen on " + l.endpoint().address().to_string() + ":" +
                                 std::to_string(l.endpoint().port()) + ": " + e.code().message());
    }
    l.listening_port = lst->port();
    lst->do_accept();
}

int run(int argc, char* argv[], std::function<void(lab&)> setup)
{
    const char* prog = argc > 0 ? argv[0] : "lab";
    options opt;
    try
    {
        opt = parse(argc, argv);
    }
    catch(const usage_error& e)
    {
        if(*e.what())
            std::fprintf(stderr, "%s: %s\n", prog, e.what());
        std::fprintf(stderr, usage_text, prog);
        return *e.what() ? 2 : 0;
    }

    // The heap profiler, when leaklab's heapprof mode asks for it, sees every allocation of the lab.
    start_heap_profiler();
    // Pending operations recorded with their stacks, when leaklab's tasks mode asks for it.
    tracking::start_recording();

    net::io_context ioc{opt.threads};
    net::io_context metrics_ioc{1};
    tracking::untracked_context.store(&metrics_ioc);

    // The metrics endpoint, on its own io_context and thread so scraping never
    // waits behind the lab's work and never moves its counts.
    std::optional<tcp::acceptor> metrics_acceptor;
    if(opt.metrics_port >= 0)
    {
        try
        {
            tcp::endpoint ep(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(opt.metrics_port));
            metrics_acceptor.emplace(metrics_ioc, ep);
        }
        catch(const boost::system::system_error& e)
        {
            std::fprintf(stderr, "%s: cannot serve metrics on 127.0.0.1:%d: %s\n", prog, opt.metrics_port,
                         e.code().message().c_str());
            return 2;
        }
        net::co_spawn(metrics_ioc, metrics_listener(*metrics_acceptor), net::detached);
    }

    // The lab sets itself up: its listener, its shared state, its options.
    lab l(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(opt.port)),
          opt.threads, opt.extra);
    try
    {
        setup(l);
        auto unused = l.unused_options();
        if(!unused.empty())
            throw usage_error("unknown option --" + unused.front());
        if(l.listening_port == 0)
            throw std::runtime_error("the lab never called labkit::accept");
    }
    catch(const usage_error& e)
    {
        std::fprintf(stderr, "%s: %s\n", prog, e.what());
        std::fprintf(stderr, usage_text, prog);
        return 2;
    }
    catch(const std::exception& e)
    {
        std::fprintf(stderr, "%s: cannot start: %s\n", prog, e.what());
        return 2;
    }

    std::thread metrics_thread;
    if(metrics_acceptor)
        metrics_thread = std::thread([&] { metrics_ioc.run(); });

    // Stop on SIGTERM or SIGINT: the lab's hooks, then the io_context.
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code ec, int) {
        if(ec)
            return;
        l.run_stop_hooks();
        ioc.stop();
    });

    if(metrics_acceptor)
        std::cout << "METRICS " << metrics_acceptor->local_endpoint().port() << '\n';
    std::cout << "LISTENING " << l.listening_port << std::endl;

    // Run the io_context on K threads; an exception escaping a handler is a crash.
    auto run_loop = [&] {
        try
        {
            ioc.run();
        }
        catch(const std::exception& e)
        {
            std::fprintf(stderr, "%s: unhandled exception in a handler: %s\n", prog, e.what());
            std::abort();
        }
    };
    std::vector<std::thread> workers;
    for(int i = 1; i < opt.threads; ++i)
        workers.emplace_back(run_loop);
    run_loop();
    for(auto& t : workers)
        t.join();

    metrics_ioc.stop();
    if(metrics_thread.joinable())
        metrics_thread.join();
    return 0;
}

} // namespace labkit
