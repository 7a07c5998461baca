// Telemetry gateway, durable feed: devices stream readings over a WebSocket and
// each reading is acknowledged only once the journal has committed it to storage.
// The journal commits in groups, one write per commit period.
#include <labkit/server.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

// Commits readings in groups: whatever arrived during one commit period is written
// at once, then every reading's completion handler is called.
class journal
{
public:
    using commit_handler = std::function<void(beast::error_code)>;

    journal(net::any_io_executor ex, std::chrono::milliseconds period)
        : timer_(std::move(ex)), period_(period)
    {
    }

    void append(std::string reading, commit_handler done)
    {
        pending_.push_back({std::move(reading), std::move(done)});
        waiting_.add();
        if(pending_.size() == 1)
        {
            timer_.expires_after(period_);
            timer_.async_wait([this](beast::error_code ec) { commit(ec); });
        }
    }

private:
    struct entry
    {
        std::string reading;
        commit_handler done;
    };

    void commit(beast::error_code ec)
    {
        if(ec)
            return;
        auto batch = std::exchange(pending_, {});
        waiting_.sub(static_cast<std::int64_t>(batch.size()));

        // Write the group (the storage backend is out of scope here), then report each reading committed
        for(auto& e : batch)
            e.done({});
    }

    net::steady_timer timer_;
    std::chrono::milliseconds period_;
    std::vector<entry> pending_;
    labkit::gauge& waiting_ = labkit::named_gauge("journal_pending", "Readings waiting for the next group commit");
};

class feed_session : public std::enable_shared_from_this<feed_session>
{
    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buffer_;
    journal& journal_;
    std::deque<std::string> acks_;
    labkit::scoped_count live_{labkit::sessions()};

public:
    feed_session(tcp::socket&& socket, journal& j) : ws_(std::move(socket)), journal_(j) {}

    void run()
    {
        net::dispatch(ws_.get_executor(), beast::bind_front_handler(&feed_session::on_run, shared_from_this()));
    }

private:
    void on_run()
    {
        // Let the WebSocket layer time the handshake and idle connections
        ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
        ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
            res.set(http::field::server, "telemetry-gateway");
        }));

        // Accept the websocket handshake
        ws_.async_accept(beast::bind_front_handler(&feed_session::on_accept, shared_from_this()));
    }

    void on_accept(beast::error_code ec)
    {
        if(ec)
            return fail(ec, "accept");
        do_read();
    }

    void do_read()
    {
        ws_.async_read(buffer_, beast::bind_front_handler(&feed_session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t)
    {
        // The device closed the feed
        if(ec == websocket::error::closed)
            return;
        if(ec)
            return fail(ec, "read");

        // Hand the reading to the journal; acknowledge it once it is committed
        auto reading = beast::buffers_to_string(buffer_.data());
        buffer_.consume(buffer_.size());
        journal_.append(reading, [this, reading](beast::error_code ec) { on_commit(ec, reading); });

        // Keep reading while the journal works
        do_read();
    }

    void on_commit(beast::error_code ec, std::string reading)
    {
        if(ec)
            return fail(ec, "commit");

        // Acknowledge by echoing the reading back, one write at a time
        acks_.push_back(std::move(reading));
        if(acks_.size() == 1)
            do_write();
    }

    void do_write()
    {
        ws_.text(true);
        ws_.async_write(net::buffer(acks_.front()),
                        beast::bind_front_handler(&feed_session::on_write, shared_from_this()));
    }

    void on_write(beast::error_code ec, std::size_t)
    {
        if(ec)
            return fail(ec, "write");

        acks_.pop_front();
        if(!acks_.empty())
            do_write();
    }
};

int main(int argc, char* argv[])
{
    return labkit::run(argc, argv, [](labkit::lab& lab) {
        auto period = std::chrono::milliseconds(lab.option<int>("commit-ms", 20));
        auto j = std::make_shared<journal>(lab.ioc().get_executor(), period);
        labkit::accept(lab, [j](tcp::socket socket) {
            std::make_shared<feed_session>(std::move(socket), *j)->run();
        });
    });
}
