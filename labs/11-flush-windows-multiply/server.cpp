// Telemetry gateway, HTTP API: devices post readings, the gateway sums them in
// windows and flushes each window to the store on a schedule. Operators change
// the flush period with POST /admin/reload, without a restart.
#include <labkit/http.hpp>
#include <labkit/server.hpp>
#include <labkit/spawn.hpp>

#include <charconv>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

using namespace std::chrono_literals;
using labkit::no_throw;

// Readings summed over the current window, and the last windows flushed to the store.
class aggregates
{
    struct window
    {
        std::uint64_t count = 0;
        double sum = 0;
    };

    std::mutex mutex_;
    window current_;
    std::deque<window> store_;
    static constexpr std::size_t store_limit = 60;
    std::uint64_t flushed_ = 0;  // readings in every window flushed so far
    labkit::gauge& windowed_ = labkit::named_gauge("readings_windowed", "Readings in a window, open or flushed");

public:
    void add(double value)
    {
        std::lock_guard lock(mutex_);
        ++current_.count;
        current_.sum += value;
        windowed_.set(static_cast<std::int64_t>(flushed_ + current_.count));
    }

    // Close the current window and keep the last store_limit windows
    void flush()
    {
        std::lock_guard lock(mutex_);
        flushed_ += current_.count;
        store_.push_back(std::exchange(current_, {}));
        if(store_.size() > store_limit)
            store_.pop_front();
    }

    std::string summary()
    {
        std::lock_guard lock(mutex_);
        std::uint64_t count = 0;
        for(auto& w : store_)
            count += w.count;
        return "open window: " + std::to_string(current_.count) + " readings\n" + "stored: " +
               std::to_string(store_.size()) + " windows, " + std::to_string(count) + " readings\n";
    }
};

// The flush schedule: closes a window of aggregates every period.
class flush_schedule
{
    net::strand<net::any_io_executor> strand_;
    aggregates& totals_;
    labkit::gauge& jobs_ = labkit::named_gauge("scheduled_jobs", "Periodic flush jobs running");
    labkit::gauge& period_ = labkit::named_gauge("flush_period_ms", "Period of the newest flush job, in ms");

    net::awaitable<void> flush_every(std::chrono::milliseconds period)
    {
        labkit::scoped_count running(jobs_);
        period_.set(period.count());
        net::steady_timer timer(strand_);
        for(;;)
        {
            timer.expires_after(period);
            auto [ec] = co_await timer.async_wait(no_throw);
            if(ec)
                co_return;
            totals_.flush();
        }
    }

public:
    flush_schedule(net::any_io_executor ex, aggregates& totals) : strand_(net::make_strand(ex)), totals_(totals) {}

    // Flush every period from now on; a reload calls this again with the new period
    void start(std::chrono::milliseconds period)
    {
        net::dispatch(strand_, [this, period] {
            labkit::spawn(strand_, flush_every(period));
        });
    }
};

struct gateway
{
    aggregates totals;
    flush_schedule schedule;

    explicit gateway(net::any_io_executor ex) : schedule(ex, totals) {}
};

// The new flush period from a reload's body, "flush_ms=N"; 0 when malformed
std::chrono::milliseconds parse_period(const std::string& body)
{
    constexpr std::string_view key = "flush_ms=";
    int ms = 0;
    auto* end = body.data() + body.size();
    if(body.compare(0, key.size(), key) != 0 || std::from_chars(body.data() + key.size(), end, ms).ptr != end ||
       ms < 10)
        return 0ms;
    return std::chrono::milliseconds(ms);
}

labkit::response handle(const labkit::request& req, gateway& gw)
{
    auto target = req.target();
    auto& body = req.body();
    if(req.method() == http::verb::post && target.starts_with("/readings"))
    {
        // Sum the reading into the open window
        double value = 0;
        if(std::from_chars(body.data(), body.data() + body.size(), value).ptr != body.data() + body.size())
            return labkit::reply(req, http::status::bad_request, "text/plain", "");
        gw.totals.add(value);
        return labkit::reply(req, http::status::accepted, "text/plain", "");
    }
    if(req.method() == http::verb::get && target == "/stats")
        return labkit::reply(req, http::status::ok, "text/plain", gw.totals.summary());
    if(req.method() == http::verb::post && target == "/admin/reload")
    {
        // Restart the schedule with the new period
        auto period = parse_period(body);
        if(period == 0ms)
            return labkit::reply(req, http::status::bad_request, "text/plain", "");
        gw.schedule.start(period);
        return labkit::reply(req, http::status::ok, "text/plain",
                             "reloaded: flushing every " + std::to_string(period.count()) + " ms\n");
    }
    return labkit::reply(req, http::status::not_found, "text/plain", "");
}

int main(int argc, char* argv[])
{
    return labkit::run(argc, argv, [](labkit::lab& lab) {
        auto period = std::chrono::milliseconds(lab.option<int>("flush-ms", 1000));
        auto gw = std::make_shared<gateway>(lab.ioc().get_executor());
        gw->schedule.start(period);
        labkit::serve_http(lab, [gw](const labkit::request& req) { return handle(req, *gw); });
    });
}
