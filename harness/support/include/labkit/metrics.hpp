// Task counts and gauges a lab server exports on GET /metrics (Prometheus text).
//
// Built in: sessions_live, coroutines_live, asio_ops_pending, heap_bytes.
// A lab adds its own with labkit::gauge("name", "help").
#ifndef LABKIT_METRICS_HPP
#define LABKIT_METRICS_HPP

#include <atomic>
#include <cstdint>
#include <string>

namespace labkit {

// An integer gauge with a stable address, registered for /metrics.
class gauge
{
public:
    gauge(std::string name, std::string help);
    gauge(const gauge&) = delete;
    gauge& operator=(const gauge&) = delete;

    void add(std::int64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
    void sub(std::int64_t n = 1) { value_.fetch_sub(n, std::memory_order_relaxed); }
    void set(std::int64_t v) { value_.store(v, std::memory_order_relaxed); }
    std::int64_t value() const { return value_.load(std::memory_order_relaxed); }
    const std::string& name() const { return name_; }
    const std::string& help() const { return help_; }

private:
    std::string name_;
    std::string help_;
    std::atomic<std::int64_t> value_{0};
};

// Returns the lab gauge with this name, creating it on first use.
gauge& named_gauge(const std::string& name, const std::string& help);

// Sessions constructed and not yet destroyed.
gauge& sessions();
// Coroutines started with labkit::spawn and not yet finished.
gauge& coroutines();

// Holds one count of a gauge for as long as it lives: a member of whatever is counted.
class scoped_count
{
public:
    explicit scoped_count(gauge& g) : g_(&g) { g_->add(); }
    scoped_count(const scoped_count& other) : g_(other.g_) { g_->add(); }
    scoped_count& operator=(const scoped_count&) = delete;
    ~scoped_count() { g_->sub(); }

private:
    gauge* g_;
};

// Bytes the allocator has handed out and not taken back (mallinfo2, or the
// sanitizer's or tcmalloc's own count when one of them owns the heap).
std::uint64_t heap_bytes();

// The whole /metrics page.
std::string render_metrics();

} // namespace labkit

#endif
