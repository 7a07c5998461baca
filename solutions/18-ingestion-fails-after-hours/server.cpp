// Telemetry gateway, HTTP API: devices append readings to their own log with
// POST /devices/<device>/readings, one JSON object per request, and the support
// desk reads a log back with GET on the same path. Each device's log is a plain
// file, one line per reading, in a spool directory that the gateway creates when
// it starts (and removes when it stops).
#include <labkit/server.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

// An open file descriptor, closed when the owner goes out of scope, on every path.
class unique_fd
{
    int fd_;

public:
    explicit unique_fd(int fd) : fd_(fd) {}
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd()
    {
        if(fd_ >= 0)
            ::close(fd_);
    }
    int get() const { return fd_; }
};

// Append one reading to a device's log, one line per reading.
http::status append_reading(const std::filesystem::path& log, const std::string& reading)
{
    unique_fd fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if(fd.get() < 0)
        return http::status::service_unavailable;

    // A reading without a timestamp cannot be put in order
    if(reading.find("\"ts\":") == std::string::npos)
        return http::status::unprocessable_entity;

    std::string line = reading + '\n';
    bool written = ::write(fd.get(), line.data(), line.size()) == static_cast<ssize_t>(line.size());
    return written ? http::status::no_content : http::status::insufficient_storage;
}

// Read a device's whole log into `out`.
http::status read_log(const std::filesystem::path& log, std::string& out)
{
    std::ifstream in(log, std::ios::binary);
    if(!in)
        return std::filesystem::exists(log) ? http::status::service_unavailable : http::status::not_found;
    out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return http::status::ok;
}

// The spool directory: a fresh directory under /tmp, removed with its files at stop.
class spool
{
    std::filesystem::path path_;
    DIR* dir_ = nullptr;  // opened once, and used to list the files at stop

public:
    spool()
    {
        std::string name = "/tmp/telemetry-spool-XXXXXX";
        if(!::mkdtemp(name.data()) || !(dir_ = ::opendir(name.c_str())))
            throw std::runtime_error("cannot create a spool directory in /tmp");
        path_ = name;
    }
    spool(const spool&) = delete;
    spool& operator=(const spool&) = delete;
    ~spool() { ::closedir(dir_); }

    const std::filesystem::path& path() const { return path_; }

    void remove()
    {
        ::rewinddir(dir_);
        while(dirent* e = ::readdir(dir_))
            if(e->d_name[0] != '.')
                ::unlinkat(::dirfd(dir_), e->d_name, 0);
        ::rmdir(path_.c_str());
    }
};

class session : public std::enable_shared_from_this<session>
{
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> req_;
    http::response<http::string_body> res_;
    const std::filesystem::path& logs_;
    labkit::scoped_count live_{labkit::sessions()};

public:
    session(tcp::socket&& socket, const std::filesystem::path& logs) : stream_(std::move(socket)), logs_(logs) {}

    void run()
    {
        net::dispatch(stream_.get_executor(), beast::bind_front_handler(&session::do_read, shared_from_this()));
    }

    void do_read()
    {
        // Make the request empty before reading, otherwise the operation behavior is undefined
        req_ = {};

        // Set the timeout
        stream_.expires_after(std::chrono::seconds(30));

        // Read a request
        http::async_read(stream_, buffer_, req_, beast::bind_front_handler(&session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t)
    {
        // The device closed the connection
        if(ec == http::error::end_of_stream)
            return do_close();
        if(ec)
            return fail(ec, "read");

        handle_request();
        do_write();
    }

    void handle_request()
    {
        res_ = {};
        res_.version(req_.version());
        res_.keep_alive(req_.keep_alive());
        res_.set(http::field::server, "telemetry-gateway");
        res_.set(http::field::content_type, "application/json");

        // Only POST or GET /devices/<device>/readings, with a plain device name
        std::string_view target = req_.target();
        std::string_view prefix = "/devices/", suffix = "/readings";
        std::string_view device;
        if(target.starts_with(prefix) && target.ends_with(suffix) && target.size() > prefix.size() + suffix.size())
            device = target.substr(prefix.size(), target.size() - prefix.size() - suffix.size());
        bool get = req_.method() == http::verb::get;
        if((req_.method() != http::verb::post && !get) || device.empty() ||
           device.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string_view::npos)
        {
            res_.result(http::status::not_found);
            res_.body() = R"({"error":"try POST /devices/<device>/readings"})";
            res_.prepare_payload();
            return;
        }

        // Send the device's log back (GET), or store the reading in it (POST)
        auto log = logs_ / (std::string(device) + ".log");
        res_.result(get ? read_log(log, res_.body()) : append_reading(log, req_.body()));
        if(res_.result() == http::status::ok)
            res_.set(http::field::content_type, "application/x-ndjson");
        else if(res_.result() != http::status::no_content)
            res_.body() = R"({"error":")" + std::string(res_.reason()) + R"("})";
        res_.prepare_payload();
    }

    void do_write()
    {
        // Write the response
        http::async_write(stream_, res_,
                          beast::bind_front_handler(&session::on_write, shared_from_this(), res_.keep_alive()));
    }

    void on_write(bool keep_alive, beast::error_code ec, std::size_t)
    {
        if(ec)
            return fail(ec, "write");

        // The device asked to close the connection after this reply
        if(!keep_alive)
            return do_close();

        // Read another request
        do_read();
    }

    void do_close()
    {
        // Send a TCP shutdown
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);

        // At this point the connection is closed gracefully
    }
};

int main(int argc, char* argv[])
{
    return labkit::run(argc, argv, [](labkit::lab& lab) {
        // Create the spool directory, and remove it when the gateway stops
        auto logs = std::make_shared<spool>();
        lab.on_stop([logs] { logs->remove(); });

        labkit::accept(lab, [logs](tcp::socket socket) {
            std::make_shared<session>(std::move(socket), logs->path())->run();
        });
    });
}
