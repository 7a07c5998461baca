// Telemetry gateway, legacy device port: older field units keep an HTTP/1.1
// connection open and post their readings one request at a time. A blocking
// server with a thread per connection; replies go out through the connection's
// outbox and its own sender thread, so a unit that is slow to read its replies
// does not hold up reading the next request.
#include <labkit/http.hpp>
#include <labkit/server.hpp>

#include <charconv>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>

using labkit::response;

// Answer one request: readings are accepted, anything else is not found.
response handle(const labkit::request& req)
{
    auto& body = req.body();
    double value = 0;
    if(req.method() != http::verb::post || !req.target().starts_with("/readings"))
        return labkit::reply(req, http::status::not_found, "text/plain", "");
    if(std::from_chars(body.data(), body.data() + body.size(), value).ptr != body.data() + body.size())
        return labkit::reply(req, http::status::bad_request, "text/plain", "");
    return labkit::reply(req, http::status::accepted, "text/plain", "ok\n");
}

class connection : public std::enable_shared_from_this<connection>
{
    tcp::socket socket_;
    std::mutex mutex_;
    std::condition_variable_any ready_;
    std::deque<response> outbox_;
    labkit::scoped_count live_{labkit::sessions()};
    std::jthread sender_;

public:
    explicit connection(tcp::socket&& socket) : socket_(std::move(socket)) {}

    // Serve the unit on the calling thread until it leaves
    void run()
    {
        // Start the sender: it belongs to this connection, which stops and joins it when
        // the unit leaves (sender_ is the last member, so it ends before the others go)
        sender_ = std::jthread([this](std::stop_token stop) { send_loop(stop); });

        beast::flat_buffer buffer;
        for(;;)
        {
            // Read a request
            labkit::request req;
            beast::error_code ec;
            http::read(socket_, buffer, req, ec);
            if(ec == http::error::end_of_stream)
                return;
            if(ec)
                return fail(ec, "read");

            // Hand the reply to the sender
            auto res = handle(req);
            bool keep_alive = res.keep_alive();
            queue(std::move(res));
            if(!keep_alive)
                return;
        }
    }

private:
    void queue(response res)
    {
        {
            std::lock_guard lock(mutex_);
            outbox_.push_back(std::move(res));
        }
        ready_.notify_one();
    }

    // Write the queued replies in order
    void send_loop(std::stop_token stop)
    {
        for(;;)
        {
            // Sends what is queued, then returns once a stop is requested
            std::unique_lock lock(mutex_);
            if(!ready_.wait(lock, stop, [this] { return !outbox_.empty(); }))
                return;
            auto res = std::move(outbox_.front());
            outbox_.pop_front();
            lock.unlock();

            beast::error_code ec;
            http::write(socket_, res, ec);
            if(ec)
                return fail(ec, "write");
        }
    }
};

int main(int argc, char* argv[])
{
    return labkit::run(argc, argv, [](labkit::lab& lab) {
        labkit::accept(lab, [](tcp::socket socket) {
            // One thread per connection, blocking I/O from here on
            std::thread([conn = std::make_shared<connection>(std::move(socket))] { conn->run(); }).detach();
        });
    });
}
