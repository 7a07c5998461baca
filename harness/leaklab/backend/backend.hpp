// Backends a lab server talks to, started by leaklab for the run: a real Redis
// (Debian's redis-server) on a loopback port, behind a fault-injecting TCP proxy in
// leaklab itself (pass, added latency, stall, reset), the way toxiproxy is used.
#ifndef LEAKLAB_BACKEND_BACKEND_HPP
#define LEAKLAB_BACKEND_BACKEND_HPP

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace leaklab::backend {

enum class fault
{
    pass,     // forward everything
    latency,  // forward each chunk after a delay
    stall,    // forward nothing: bytes wait in the kernel, connections stay open
    reset     // reset every connection (RST) and every new one
};

// "pass", "latency", "stall", "reset"; throws std::invalid_argument otherwise.
fault parse_fault(const std::string& name);

class redis_behind_proxy
{
public:
    // Starts redis-server on a free loopback port and the proxy in front of it;
    // throws std::runtime_error with a clear message (e.g. redis-server missing).
    explicit redis_behind_proxy(const std::filesystem::path& log_dir);
    ~redis_behind_proxy();

    // The port a lab server should use: the proxy's.
    std::uint16_t port() const;

    void set_fault(fault f, std::chrono::milliseconds latency = std::chrono::milliseconds(0));

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace leaklab::backend

#endif
