// labkit's shared HTTP pieces, on a real loopback connection: what four labs' servers now
// run instead of a session loop of their own.
#include <catch2/catch.hpp>

#include <labkit/http.hpp>
#include <labkit/metrics.hpp>
#include <labkit/spawn.hpp>

#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

// A listening socket on 127.0.0.1 and a connected client, both on one io_context.
struct loopback
{
    net::io_context ioc;
    tcp::acceptor acceptor{ioc, {net::ip::make_address("127.0.0.1"), 0}};
    tcp::socket client{ioc};
    tcp::socket server{ioc};

    loopback()
    {
        client.connect(acceptor.local_endpoint());
        server = acceptor.accept();
    }
};

// Capture std::cerr while alive.
struct captured_cerr
{
    std::ostringstream text;
    std::streambuf* old = std::cerr.rdbuf(text.rdbuf());
    ~captured_cerr() { std::cerr.rdbuf(old); }
};

labkit::request make_request(http::verb method, std::string target, unsigned version = 11)
{
    labkit::request req{method, target, version};
    req.set(http::field::host, "localhost");
    return req;
}

} // namespace

TEST_CASE("reply fills in the headers every lab sets by hand", "[labkit]")
{
    auto res = labkit::reply(make_request(http::verb::get, "/x"), http::status::created, "application/json",
                             R"({"ok":true})");
    CHECK(res.result() == http::status::created);
    CHECK(res.version() == 11);
    CHECK(res[http::field::server] == "telemetry-gateway");
    CHECK(res[http::field::content_type] == "application/json");
    CHECK(res[http::field::content_length] == "11");
    CHECK(res.keep_alive());
    CHECK(res.body() == R"({"ok":true})");

    // An HTTP/1.0 request without keep-alive gets a reply that closes
    auto old = labkit::reply(make_request(http::verb::get, "/x", 10), http::status::not_found, "text/plain", "no\n");
    CHECK(old.version() == 10);
    CHECK_FALSE(old.keep_alive());
}

TEST_CASE("serve_http answers each request, stops after Connection: close, and counts the session", "[labkit]")
{
    loopback lo;
    auto before = labkit::sessions().value();
    std::vector<std::string> seen;
    labkit::spawn(lo.ioc.get_executor(), labkit::serve_http(beast::tcp_stream(std::move(lo.server)),
                                                            [&](const labkit::request& req) {
                                                                seen.emplace_back(req.target());
                                                                return labkit::reply(req, http::status::ok,
                                                                                     "text/plain", "hi\n");
                                                            }));
    std::thread io([&] { lo.ioc.run(); });

    // Two requests on one connection, the second asking to close
    beast::flat_buffer buffer;
    auto first = make_request(http::verb::get, "/one");
    http::write(lo.client, first);
    labkit::response r1;
    http::read(lo.client, buffer, r1);
    auto second = make_request(http::verb::get, "/two");
    second.keep_alive(false);
    http::write(lo.client, second);
    labkit::response r2;
    http::read(lo.client, buffer, r2);

    // Then the server shuts its side: the next read sees the end of the stream
    char byte;
    beast::error_code ec;
    lo.client.read_some(net::buffer(&byte, 1), ec);
    io.join();

    CHECK(r1.body() == "hi\n");
    CHECK(r2.body() == "hi\n");
    CHECK_FALSE(r2.keep_alive());
    CHECK(ec == net::error::eof);
    CHECK(seen == std::vector<std::string>{"/one", "/two"});
    CHECK(labkit::sessions().value() == before);
}

TEST_CASE("spawn without a token reports the exception that ended the coroutine", "[labkit]")
{
    net::io_context ioc;
    captured_cerr err;
    auto before = labkit::coroutines().value();
    labkit::spawn(ioc.get_executor(), []() -> net::awaitable<void> {
        throw std::runtime_error("the store went away");
        co_return;
    }());
    ioc.run();
    CHECK(err.text.str() == "coroutine: exception: the store went away\n");
    CHECK(labkit::coroutines().value() == before);
}
