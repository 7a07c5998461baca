// Everything a lab server needs that is not its lesson: arguments, the LISTENING
// line, graceful stop on SIGTERM/SIGINT, worker threads, the metrics endpoint and
// an accept loop. A lab's main() is one call:
//
//   int main(int argc, char* argv[])
//   {
//       return labkit::run(argc, argv, [](labkit::lab& lab) {
//           auto ttl = lab.option<int>("ttl-ms", 5000);
//           labkit::accept(lab, [ttl](tcp::socket s) {
//               std::make_shared<session>(std::move(s), ttl)->run();
//           });
//           // or, with a coroutine per connection:
//           // labkit::accept(lab, [ttl](tcp::socket s) { return session(std::move(s), ttl); });
//       });
//   }
//
// Command line: --port N (0 = any free port), --threads K, --metrics-port N
// (0 = any free port, -1 = none), plus the lab's own --name value options.
// On stdout: "METRICS <port>" then exactly one "LISTENING <port>" when ready.
#ifndef LABKIT_SERVER_HPP
#define LABKIT_SERVER_HPP

#include "labkit/metrics.hpp"
#include "labkit/net.hpp"
#include "labkit/no_throw.hpp"
#include "labkit/spawn.hpp"

#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace labkit {

// A bad command line, reported with the usage text and exit code 2.
struct usage_error : std::runtime_error
{
    using std::runtime_error::runtime_error;
};

// What a lab's setup function gets: the io_context, where to listen, its options.
class lab
{
public:
    lab(net::io_context& ioc, tcp::endpoint ep, int threads, std::map<std::string, std::string> extra);

    net::io_context& ioc() { return ioc_; }
    tcp::endpoint endpoint() const { return endpoint_; }
    int threads() const { return threads_; }

    // The lab's own option --name value; else the environment's LABKIT_NAME (the name in
    // capitals, '-' as '_': how a harness sets an option that a server which does not know
    // it ignores, as deployments do); else the default.
    template <class T>
    T option(const std::string& name, T def)
    {
        used_.insert(name);
        std::string text, from = "--" + name;
        if(auto it = extra_.find(name); it != extra_.end())
            text = it->second;
        else if(const char* env = std::getenv(env_name(name).c_str()))
        {
            text = env;
            from = env_name(name);
        }
        else
            return def;
        std::istringstream in(text);
        T v{};
        if(!(in >> v) || !in.eof())
            throw usage_error(from + ": cannot read '" + text + "'");
        return v;
    }

    // The environment variable for an option: "cache-ttl-ms" -> "LABKIT_CACHE_TTL_MS".
    static std::string env_name(const std::string& name);

    // Called on SIGTERM/SIGINT before the io_context stops.
    void on_stop(std::function<void()> fn) { stop_hooks_.push_back(std::move(fn)); }

    // The port the server listens on (set by labkit::accept).
    unsigned short listening_port = 0;

    // Internal: options the lab never asked for, and the stop hooks.
    std::vector<std::string> unused_options() const;
    void run_stop_hooks();

private:
    net::io_context& ioc_;
    tcp::endpoint endpoint_;
    int threads_;
    std::map<std::string, std::string> extra_;
    std::set<std::string> used_;
    std::vector<std::function<void()>> stop_hooks_;
};

// Parse the command line, start the metrics endpoint and threads, run until a signal.
// Returns the process exit code: 0 after a graceful stop, 2 for a bad command line
// or a failed start (for instance, the port is taken).
int run(int argc, char* argv[], std::function<void(lab&)> setup);

// Accept connections on lab.endpoint() forever; each socket gets its own strand.
// --send-buffer N (a lab option) fixes each connection's kernel send buffer at N bytes.
// Accept errors are reported and the loop goes on (after a short pause when out of
// descriptors).
void accept(lab& l, std::function<void(tcp::socket)> on_connection);

// The coroutine form: each connection runs the coroutine session(socket) returns, on the
// socket's strand, started with labkit::spawn (so counted, and an exception is reported).
//
//   labkit::accept(lab, [](tcp::socket socket) { return session(std::move(socket)); });
template <class Session>
    requires std::is_same_v<std::invoke_result_t<Session&, tcp::socket>, boost::asio::awaitable<void>>
void accept(lab& l, Session session)
{
    accept(l, std::function<void(tcp::socket)>([session = std::move(session)](tcp::socket socket) mutable {
               auto ex = socket.get_executor();
               spawn(ex, session(std::move(socket)));
           }));
}

} // namespace labkit

#endif
