// Telemetry gateway, sensor API: one pair of routes per sensor kind in the catalog.
// Devices post readings (POST /readings/KIND?device=ID, the value as the body), the
// dashboard asks for the latest one (GET /latest/KIND?device=ID).
#include <labkit/http.hpp>
#include <labkit/server.hpp>

#include <charconv>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using labkit::request;
using labkit::response;
constexpr std::string_view json = "application/json";

struct sensor_kind
{
    std::string name;
    std::string unit;
    double min;
    double max;
};

// The sensor kinds this gateway accepts, with their units and plausible ranges.
std::vector<sensor_kind> sensor_catalog()
{
    return {
        {"temperature", "celsius", -40, 85},
        {"humidity", "percent", 0, 100},
        {"pressure", "hectopascal", 300, 1100},
        {"co2", "ppm", 0, 5000},
    };
}

// The latest reading of every device, by sensor kind.
class latest_readings
{
    std::mutex mutex_;
    std::map<std::string, double> values_;

public:
    void put(const std::string& kind, std::string_view device, double value)
    {
        std::lock_guard lock(mutex_);
        values_[kind + "/" + std::string(device)] = value;
    }

    std::optional<double> get(const std::string& kind, std::string_view device)
    {
        std::lock_guard lock(mutex_);
        auto it = values_.find(kind + "/" + std::string(device));
        if(it == values_.end())
            return std::nullopt;
        return it->second;
    }
};

// Routes by method and path (the query string is the handler's business).
class router
{
public:
    using handler = std::function<response(const request&)>;

    void add(http::verb method, std::string path, handler h) { routes_[{method, std::move(path)}] = std::move(h); }

    response route(const request& req) const
    {
        auto target = req.target();
        auto path = target.substr(0, target.find('?'));
        auto it = routes_.find({req.method(), std::string(path)});
        if(it == routes_.end())
            return labkit::reply(req, http::status::not_found, json, R"({"error":"no such route"})");
        return it->second(req);
    }

private:
    std::map<std::pair<http::verb, std::string>, handler> routes_;
};

// The value of "device=" in a target such as /latest/humidity?device=d-7
std::string_view device_of(std::string_view target)
{
    auto pos = target.find("device=");
    if(pos == std::string_view::npos)
        return {};
    auto value = target.substr(pos + 7);
    return value.substr(0, value.find('&'));
}

std::string reading_json(const sensor_kind& kind, std::string_view device, double value)
{
    return R"({"device":")" + std::string(device) + R"(","sensor":")" + kind.name + R"(","value":)" +
           std::to_string(value) + R"(,"unit":")" + kind.unit + R"("})";
}

class http_session : public std::enable_shared_from_this<http_session>
{
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    request req_;
    response res_;
    const router& routes_;
    labkit::scoped_count live_{labkit::sessions()};

public:
    http_session(tcp::socket&& socket, const router& routes) : stream_(std::move(socket)), routes_(routes) {}

    void run()
    {
        net::dispatch(stream_.get_executor(), beast::bind_front_handler(&http_session::do_read, shared_from_this()));
    }

private:
    void do_read()
    {
        // Read a request, with a deadline
        req_ = {};
        stream_.expires_after(30s);
        http::async_read(stream_, buffer_, req_, beast::bind_front_handler(&http_session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t)
    {
        if(ec == http::error::end_of_stream)
            return do_close();
        if(ec)
            return fail(ec, "read");

        // Answer it through the route table
        res_ = routes_.route(req_);
        http::async_write(stream_, res_, beast::bind_front_handler(&http_session::on_write, shared_from_this()));
    }

    void on_write(beast::error_code ec, std::size_t)
    {
        if(ec)
            return fail(ec, "write");
        if(!res_.keep_alive())
            return do_close();
        do_read();
    }

    void do_close()
    {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
};

int main(int argc, char* argv[])
{
    latest_readings latest;
    router routes;

    // Two routes per sensor kind: post a reading, read the latest one.
    // Each handler keeps its own copy of its kind: the loop's variable ends with its iteration.
    for(auto kind : sensor_catalog())
    {
        routes.add(http::verb::post, "/readings/" + kind.name, [&latest, kind](const request& req) {
            auto device = device_of(req.target());
            double value = 0;
            auto& body = req.body();
            auto [end, err] = std::from_chars(body.data(), body.data() + body.size(), value);
            if(device.empty() || err != std::errc() || end != body.data() + body.size())
                return labkit::reply(req, http::status::bad_request, json,
                                     R"({"error":"want ?device=ID and a number"})");
            if(value < kind.min || value > kind.max)
                return labkit::reply(req, http::status::unprocessable_entity, json, R"({"error":"out of range"})");
            latest.put(kind.name, device, value);
            return labkit::reply(req, http::status::ok, json, reading_json(kind, device, value));
        });
        routes.add(http::verb::get, "/latest/" + kind.name, [&latest, kind](const request& req) {
            auto device = device_of(req.target());
            auto value = latest.get(kind.name, device);
            if(!value)
                return labkit::reply(req, http::status::not_found, json, R"({"error":"no reading yet"})");
            return labkit::reply(req, http::status::ok, json, reading_json(kind, device, *value));
        });
    }

    return labkit::run(argc, argv, [&](labkit::lab& lab) {
        labkit::accept(lab, [&](tcp::socket socket) { std::make_shared<http_session>(std::move(socket), routes)->run(); });
    });
}
