// Telemetry gateway, batch uploads: a device keeps one connection open and POSTs
// batches of readings to /uploads?device=ID. Each connection stages its batches in a
// scratch buffer borrowed from a pool, so a busy gateway does not allocate per request.
#include <labkit/http.hpp>
#include <labkit/server.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

using labkit::no_throw;

// Scratch buffers of a fixed size, reused from one connection to the next.
class buffer_pool
{
    std::mutex mutex_;
    std::vector<std::unique_ptr<std::vector<char>>> idle_;
    std::size_t buffer_size_;
    labkit::gauge& buffers_ = labkit::named_gauge("pool_buffers", "scratch buffers owned by the pool");

public:
    explicit buffer_pool(std::size_t buffer_size) : buffer_size_(buffer_size) {}

    // An idle buffer, or a new one when every buffer is lent out.
    std::unique_ptr<std::vector<char>> acquire()
    {
        std::lock_guard lock(mutex_);
        if(idle_.empty())
        {
            buffers_.add();
            return std::make_unique<std::vector<char>>(buffer_size_);
        }
        auto buf = std::move(idle_.back());
        idle_.pop_back();
        return buf;
    }

    // Take a buffer back for the next connection.
    void release(std::unique_ptr<std::vector<char>> buf)
    {
        std::lock_guard lock(mutex_);
        idle_.push_back(std::move(buf));
    }
};

// Copy the batch into the scratch buffer and count its readings (one per line).
std::size_t stage(const std::string& batch, std::vector<char>& scratch)
{
    auto n = std::min(batch.size(), scratch.size());
    std::copy_n(batch.data(), n, scratch.data());
    return static_cast<std::size_t>(std::count(scratch.data(), scratch.data() + n, '\n'));
}

net::awaitable<void> session(beast::tcp_stream stream, std::shared_ptr<buffer_pool> pool)
{
    labkit::scoped_count live(labkit::sessions());
    auto scratch = pool->acquire();
    beast::flat_buffer buffer;
    for(;;)
    {
        // Read a request, within the deadline
        labkit::request req;
        auto rec = co_await labkit::read_request(stream, buffer, req);
        if(rec == http::error::end_of_stream)
            break;
        if(rec)
        {
            fail(rec, "read");
            break;
        }

        // Stage the batch and answer with what it held
        auto res = req.method() == http::verb::post && req.target().starts_with("/uploads?device=")
                       ? labkit::reply(req, http::status::ok, "text/plain",
                                       "stored " + std::to_string(stage(req.body(), *scratch)) + " readings\n")
                       : labkit::reply(req, http::status::not_found, "text/plain", "no such endpoint\n");
        auto [wec, wn] = co_await http::async_write(stream, res, no_throw);
        if(wec)
        {
            fail(wec, "write");
            break;
        }
        if(!res.keep_alive())
            break;
    }
    pool->release(std::move(scratch));
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

int main(int argc, char* argv[])
{
    return labkit::run(argc, argv, [](labkit::lab& lab) {
        auto kib = static_cast<std::size_t>(lab.option<int>("buffer-kib", 256));
        auto pool = std::make_shared<buffer_pool>(kib * 1024);
        labkit::accept(lab, [pool](tcp::socket socket) {
            return session(beast::tcp_stream(std::move(socket)), pool);
        });
    });
}
