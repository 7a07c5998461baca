#include "leaklab/verdict/metrics.hpp"

#include <algorithm>

namespace leaklab::verdict {

namespace {

// Task counts return to their baseline when nothing leaks: 1 per 100 operations that keeps going is a leak.
metric_info count(std::string name, std::string what)
{
    metric_info m;
    m.name = std::move(name);
    m.kind = metric_kind::count;
    m.rule = {0.01, 0.001, 0};
    m.settles = true;
    m.what = std::move(what);
    return m;
}

// Exact byte counts: 64 bytes per operation and 64 KiB in all.
metric_info bytes(std::string name, std::string what)
{
    metric_info m;
    m.name = std::move(name);
    m.kind = metric_kind::bytes;
    m.unit = "bytes";
    m.rule = {64, 0.001, 64 * 1024, "bytes"};
    m.what = std::move(what);
    return m;
}

std::vector<metric_info> make_catalog()
{
    std::vector<metric_info> c;
    c.push_back(count("sessions_live", "sessions constructed and not yet destroyed"));
    c.back().in_progress = true;
    c.push_back(count("coroutines_live", "coroutines started with labkit::spawn still running"));
    c.push_back(count("asio_ops_pending", "Asio asynchronous operations created and not yet completed"));
    c.back().in_progress = true;
    c.push_back(bytes("heap_bytes", "heap bytes allocated and not freed"));
    c.back().in_progress = true;
    {
        // RSS moves in pages and is shaped by the allocator: 1 KiB per operation and 1 MiB in all.
        metric_info m;
        m.name = "rss_bytes";
        m.kind = metric_kind::rss;
        m.unit = "bytes";
        m.rule = {1024, 0.001, 1024 * 1024, "bytes"};
        m.what = "resident memory (/proc/PID/status VmRSS)";
        m.in_progress = true;
        c.push_back(m);
    }
    {
        metric_info m;
        m.name = "hwm_bytes";
        m.kind = metric_kind::high_water;
        m.unit = "bytes";
        m.rule = {1024, 0.001, 1024 * 1024, "bytes"};
        m.judged = false;
        m.why_not_judged = "a high-water mark only ever rises";
        m.what = "peak resident memory (/proc/PID/status VmHWM)";
        c.push_back(m);
    }
    c.push_back(count("threads", "threads of the server process (/proc/PID/status)"));
    c.push_back(count("fds", "open file descriptors (/proc/PID/fd)"));
    c.push_back(count("processes", "processes in the server's tree: the command and its descendants (probe)"));
    {
        // The rule's threshold is a rise of the failure rate per round (see verdict.hpp).
        metric_info m;
        m.name = "failed_ops";
        m.kind = metric_kind::failures;
        m.unit = "rate";
        m.rule = {0.01, 0.001, 0.05, "rate"};
        m.what = "the workload's failed operations (error, timeout, wrong reply), as a rate per round";
        c.push_back(m);
    }
    return c;
}

} // namespace

const std::vector<metric_info>& catalog()
{
    static const std::vector<metric_info> c = make_catalog();
    return c;
}

metric_info describe_metric(const std::string& name, const std::string& declared_unit)
{
    const auto& c = catalog();
    auto it = std::find_if(c.begin(), c.end(), [&](const metric_info& m) { return m.name == name; });
    if(it != c.end())
        return *it;
    if(declared_unit == "bytes")
        return bytes(name, "a byte count the server exports");
    return count(name, "a count the server exports");
}

std::map<std::string, std::string> not_judged_in_mode(const std::string& mode)
{
    if(mode != "valgrind")
        return {};
    return {{"heap_bytes", "memcheck replaces the allocator, so mallinfo2 sees nothing (its leak check at exit says what is lost)"},
            {"rss_bytes", "under memcheck RSS includes its shadow memory and translated code"},
            {"hwm_bytes", "under memcheck its shadow memory raises the peak of RSS without a leak"}};
}

std::map<std::string, std::string> not_judged_under(const std::string& sanitizer, bool emulated)
{
    std::map<std::string, std::string> out;
    // ASan holds freed memory in a quarantine, TSan maps shadow memory; their heap count stays exact.
    if(sanitizer == "address")
        out = {{"rss_bytes", "under ASan freed memory waits in a quarantine, so RSS grows without a leak "
                             "(heap_bytes is ASan's own count)"},
               {"hwm_bytes", "under ASan the quarantine and shadow memory raise the peak of RSS without a leak"}};
    if(sanitizer == "thread")
        out = {{"rss_bytes", "under TSan RSS includes shadow memory that grows with use (heap_bytes is TSan's own count)"},
               {"hwm_bytes", "under TSan shadow memory raises the peak of RSS without a leak"}};
    // qemu-user 7.2 keeps about 280 KiB (aarch64) or 170 KiB (armhf) for each thread started
    // and joined, measured with a program that only does that: the emulator's, not the server's.
    // The peak stays judged: only a bound uses it, and a bound's margin (megabytes over the
    // baseline) is far above what the emulator adds when no threads are started.
    if(emulated)
        out["rss_bytes"] = "under qemu-user RSS includes the emulator, which keeps memory for every thread the "
                           "server starts, joined or not (heap_bytes is the server's own count)";
    return out;
}

std::string to_string(metric_kind k)
{
    switch(k)
    {
    case metric_kind::count: return "count";
    case metric_kind::bytes: return "bytes";
    case metric_kind::rss: return "rss";
    case metric_kind::high_water: return "high-water";
    case metric_kind::failures: return "failures";
    }
    return "count";
}

} // namespace leaklab::verdict
