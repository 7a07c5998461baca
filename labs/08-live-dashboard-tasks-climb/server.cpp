// Telemetry gateway, live readings: the operator dashboard opens /live?device=ID
// and the gateway streams that device's sensor readings to it as they are sampled.
#include <labkit/server.hpp>
#include <labkit/spawn.hpp>
#include <labkit/websocket.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>

using namespace net::experimental::awaitable_operators;
using labkit::no_throw;

// Readings on their way to one dashboard; bounded, so a slow dashboard slows the sampling.
using reading_queue = net::experimental::channel<void(beast::error_code, std::string)>;
constexpr std::size_t queue_limit = 8;

// The sensors every device reports.
constexpr const char* sensors[] = {"temp_c", "humidity"};

// The value of "device=" in a target such as /live?device=d-7
std::string device_of(beast::string_view target)
{
    auto pos = target.find("device=");
    if(pos == beast::string_view::npos)
        return "unknown";
    auto value = target.substr(pos + 7);
    return std::string(value.substr(0, value.find('&')));
}

// Sample one sensor on a timer and queue each reading for the dashboard
net::awaitable<void> sample(std::shared_ptr<reading_queue> readings, std::string device, std::string sensor,
                            std::chrono::milliseconds every)
{
    net::steady_timer timer(readings->get_executor());
    for(std::uint64_t seq = 1;; ++seq)
    {
        timer.expires_after(every);
        auto [tec] = co_await timer.async_wait(no_throw);
        if(tec)
            co_return;

        auto reading = R"({"device":")" + device + R"(","sensor":")" + sensor + R"(","value":)" +
                       std::to_string(20 + seq % 7) + R"(,"seq":)" + std::to_string(seq) + "}";
        auto [sec] = co_await readings->async_send(beast::error_code{}, std::move(reading), no_throw);
        if(sec)
            co_return;
    }
}

// Write queued readings to the dashboard as they arrive
net::awaitable<void> forward(websocket::stream<beast::tcp_stream>& ws, reading_queue& readings)
{
    for(;;)
    {
        auto [rec, reading] = co_await readings.async_receive(no_throw);
        if(rec)
            co_return;
        auto [wec, wn] = co_await ws.async_write(net::buffer(reading), no_throw);
        if(wec)
            co_return fail(wec, "write");
    }
}

// Read (and ignore) whatever the dashboard sends, until it leaves
net::awaitable<void> read_until_closed(websocket::stream<beast::tcp_stream>& ws)
{
    beast::flat_buffer buffer;
    beast::error_code ec;
    while(!ec)
    {
        std::tie(ec, std::ignore) = co_await ws.async_read(buffer, no_throw);
        buffer.clear();
    }
    if(ec != websocket::error::closed)
        fail(ec, "read");
}

net::awaitable<void> serve(tcp::socket socket, std::chrono::milliseconds every)
{
    labkit::scoped_count live(labkit::sessions());
    websocket::stream<beast::tcp_stream> ws(std::move(socket));

    // Read the upgrade request, to learn which device to stream
    beast::flat_buffer buffer;
    labkit::request req;
    auto hec = co_await labkit::read_request(ws.next_layer(), buffer, req);
    if(hec)
        co_return fail(hec, "read");
    auto aec = co_await labkit::accept(ws, req);
    if(aec)
        co_return fail(aec, "accept");

    // Start one sampler per sensor, all feeding this dashboard's queue
    auto readings = std::make_shared<reading_queue>(ws.get_executor(), queue_limit);
    auto device = device_of(req.target());
    for(auto sensor : sensors)
        labkit::spawn(ws.get_executor(), sample(readings, device, sensor, every));

    // Stream until the dashboard leaves
    co_await (read_until_closed(ws) || forward(ws, *readings));
}

int main(int argc, char* argv[])
{
    return labkit::run(argc, argv, [](labkit::lab& lab) {
        auto every = std::chrono::milliseconds(lab.option<int>("sample-ms", 250));
        labkit::accept(lab, [every](tcp::socket socket) { return serve(std::move(socket), every); });
    });
}
