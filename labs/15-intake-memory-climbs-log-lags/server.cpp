// Telemetry gateway, reading intake: devices POST /readings?device=ID with a JSON
// body and get 202 Accepted. Every request is recorded in the access log, which one
// writer appends to a file on the gateway's slow storage.
#include <labkit/http.hpp>
#include <labkit/server.hpp>
#include <labkit/spawn.hpp>

#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>

#include <unistd.h>

using labkit::no_throw;
namespace fs = std::filesystem;

// The access log: request handlers post lines, one writer coroutine appends them.
class access_log
{
    std::mutex mutex_;
    std::deque<std::string> queue_;
    net::steady_timer timer_;
    std::ofstream file_;
    std::chrono::milliseconds sink_;
    labkit::gauge& depth_ = labkit::named_gauge("log_queue_depth", "access-log lines waiting for the writer");
    labkit::gauge& written_ = labkit::named_gauge("log_lines_written", "access-log lines written to the file");

public:
    access_log(net::any_io_executor ex, const fs::path& file, std::chrono::milliseconds sink)
        : timer_(ex), file_(file, std::ios::app), sink_(sink)
    {
    }

    // Queue one line for the writer and return at once.
    void post(std::string line)
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(line));
        depth_.set(static_cast<std::int64_t>(queue_.size()));
    }

    // Append queued lines to the file; each flush costs the storage `sink_`.
    net::awaitable<void> run_writer()
    {
        for(;;)
        {
            // Take the oldest line
            std::string line;
            {
                std::lock_guard lock(mutex_);
                if(!queue_.empty())
                {
                    line = std::move(queue_.front());
                    queue_.pop_front();
                }
                depth_.set(static_cast<std::int64_t>(queue_.size()));
            }

            // Write it and wait for the storage to take it
            if(!line.empty())
            {
                file_ << line << '\n';
                file_.flush();
                written_.add();
            }
            timer_.expires_after(sink_);
            auto [ec] = co_await timer_.async_wait(no_throw);
            if(ec)
                co_return;
        }
    }
};

// The reply to one request, and its line in the access log.
labkit::response handle(const labkit::request& req, const tcp::endpoint& peer, access_log& log)
{
    auto res = req.method() == http::verb::post && req.target().starts_with("/readings?device=")
                   ? labkit::reply(req, http::status::accepted, "text/plain", "accepted\n")
                   : labkit::reply(req, http::status::not_found, "text/plain", "no such endpoint\n");

    // Record the request
    auto now = std::chrono::system_clock::now().time_since_epoch();
    log.post(std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()) + " " +
             peer.address().to_string() + ":" + std::to_string(peer.port()) + " " + std::string(req.method_string()) +
             " " + std::string(req.target()) + " " + std::to_string(res.result_int()) + " in=" +
             std::to_string(req.body().size()) + "B out=" + std::to_string(res.body().size()) + "B");
    return res;
}

int main(int argc, char* argv[])
{
    return labkit::run(argc, argv, [](labkit::lab& lab) {
        auto sink = std::chrono::milliseconds(lab.option<int>("sink-ms", 20));

        // The log lives in a scratch directory of its own, removed on stop
        auto dir = fs::temp_directory_path() / ("gateway-log-" + std::to_string(::getpid()));
        fs::create_directories(dir);
        auto log = std::make_shared<access_log>(lab.ioc().get_executor(), dir / "access.log", sink);
        labkit::spawn(lab.ioc().get_executor(), log->run_writer());
        lab.on_stop([dir] {
            std::error_code ignored;
            fs::remove_all(dir, ignored);
        });

        // Each connection's requests are logged with its peer's address
        labkit::accept(lab, [log](tcp::socket socket) {
            beast::error_code ec;
            auto peer = socket.remote_endpoint(ec);
            return labkit::serve_http(beast::tcp_stream(std::move(socket)),
                                      [log, peer](const labkit::request& req) { return handle(req, peer, *log); });
        });
    });
}
