#include "leaklab/sample/sampler.hpp"

#include "leaklab/sample/agent.hpp"

#include <labkit/net.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace leaklab::sample {

using namespace std::chrono;

sample read_proc(pid_t pid)
{
    auto dir = std::filesystem::path("/proc") / std::to_string(pid);
    std::ifstream status(dir / "status");
    if(!status)
        throw std::runtime_error("process " + std::to_string(pid) + " is gone");
    sample s;
    std::string key;
    while(status >> key)
    {
        if(key == "VmRSS:" || key == "VmHWM:")
        {
            double kib = 0;
            status >> kib;
            s[key == "VmRSS:" ? "rss_bytes" : "hwm_bytes"] = kib * 1024;
        }
        else if(key == "Threads:")
        {
            double n = 0;
            status >> n;
            s["threads"] = n;
        }
        status.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    std::error_code ec;
    double fds = 0;
    for(auto it = std::filesystem::directory_iterator(dir / "fd", ec); !ec && it != std::filesystem::directory_iterator();
        it.increment(ec))
        ++fds;
    if(!ec)
        s["fds"] = fds;
    return s;
}

std::vector<pid_t> process_tree(pid_t root)
{
    std::vector<pid_t> out{root};
    for(std::size_t i = 0; i < out.size() && out.size() < 4096; ++i)
    {
        std::error_code ec;
        auto tasks = std::filesystem::path("/proc") / std::to_string(out[i]) / "task";
        for(auto it = std::filesystem::directory_iterator(tasks, ec); !ec && it != std::filesystem::directory_iterator();
            it.increment(ec))
        {
            std::ifstream children(it->path() / "children");
            for(pid_t child; children >> child;)
                if(std::find(out.begin(), out.end(), child) == out.end())
                    out.push_back(child);
        }
    }
    return out;
}

sample read_tree(const std::vector<pid_t>& pids)
{
    sample total;
    double processes = 0;
    for(std::size_t i = 0; i < pids.size(); ++i)
    {
        sample one;
        try
        {
            one = read_proc(pids[i]);
        }
        catch(const std::runtime_error&)
        {
            if(i == 0)
                throw;
            continue;  // a worker that exited between the listing and the read
        }
        for(auto& [k, v] : one)
            total[k] += v;
        ++processes;
    }
    total["processes"] = processes;
    return total;
}

namespace {

// One request without a body to 127.0.0.1:port, bounded in time; the body of a 200 reply.
std::string http_call(http::verb verb, std::uint16_t port, const std::string& path, milliseconds timeout)
{
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    http::request<http::empty_body> req{verb, path, 11};
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    req.set(http::field::user_agent, "leaklab");
    http::response<http::string_body> res;
    beast::flat_buffer buffer;
    beast::error_code result;

    // Connect, write, read, each bounded by the same deadline.
    stream.expires_after(timeout);
    stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), [&](beast::error_code ec) {
        if(ec)
        {
            result = ec;
            return;
        }
        http::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
            if(ec)
            {
                result = ec;
                return;
            }
            http::async_read(stream, buffer, res, [&](beast::error_code ec, std::size_t) { result = ec; });
        });
    });
    ioc.run();
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

    std::string where = std::string(http::to_string(verb)) + " http://127.0.0.1:" + std::to_string(port) + path;
    if(result)
        throw std::runtime_error(where + ": " + result.message());
    if(res.result() != http::status::ok)
        throw std::runtime_error(where + ": HTTP " + std::to_string(res.result_int()) +
                                 (res.body().empty() ? "" : " (" + res.body().substr(0, res.body().find('\n')) + ")"));
    return res.body();
}

} // namespace

std::string http_get(std::uint16_t port, const std::string& path, milliseconds timeout)
{
    return http_call(http::verb::get, port, path, timeout);
}

std::string http_post(std::uint16_t port, const std::string& path, milliseconds timeout)
{
    return http_call(http::verb::post, port, path, timeout);
}

sample parse_prometheus(const std::string& text)
{
    sample s;
    std::istringstream in(text);
    std::string line;
    while(std::getline(in, line))
    {
        if(line.empty() || line[0] == '#')
            continue;
        // The name runs to the first space outside {labels}.
        std::size_t end = 0;
        int depth = 0;
        for(; end < line.size(); ++end)
        {
            if(line[end] == '{')
                ++depth;
            else if(line[end] == '}')
                --depth;
            else if(line[end] == ' ' && depth == 0)
                break;
        }
        if(end >= line.size())
            continue;
        std::istringstream value(line.substr(end + 1));
        double v = 0;
        if(value >> v && std::isfinite(v))
            s[line.substr(0, end)] = v;
    }
    return s;
}

std::map<std::string, std::string> parse_prometheus_units(const std::string& text)
{
    std::map<std::string, std::string> units;
    std::istringstream in(text);
    for(std::string line; std::getline(in, line);)
    {
        std::istringstream words(line);
        std::string hash, keyword, name, unit;
        if(words >> hash >> keyword >> name >> unit && hash == "#" && keyword == "UNIT")
            units[name] = unit;
    }
    return units;
}

sampler::sampler(pid_t pid, std::optional<std::uint16_t> metrics_port, std::string metrics_path)
    : pid_(pid), metrics_port_(metrics_port), metrics_path_(std::move(metrics_path))
{
}

sample sampler::take()
{
    sample s;
    std::vector<pid_t> pids{pid_};
    if(tree_)
    {
        pids = process_tree(pid_);
        s = read_tree(pids);
    }
    else
        s = read_proc(pid_);
    if(metrics_port_)
    {
        const std::string page = http_get(*metrics_port_, metrics_path_, 2000ms);
        for(auto& [k, v] : parse_prometheus(page))
            s[k] = v;
        for(auto& [k, u] : parse_prometheus_units(page))
            units_[k] = u;
    }
    if(agent_ && !s.count("heap_bytes"))
    {
        auto r = agent_->read(pids, 500ms);
        agent_processes_ = r.processes;
        if(r.processes > 0)
        {
            s["heap_bytes"] = r.heap_bytes;
            if(auto t = s.find("threads"); t != s.end())
                t->second -= double(r.threads);
        }
    }
    return s;
}

sampler::settled sampler::settle(const settle_policy& policy)
{
    auto start = steady_clock::now();
    if(policy.min_wait.count() > 0)
        std::this_thread::sleep_for(policy.min_wait);

    // Counts have stopped moving when no task count changed by more than a hair
    // (jitter of in-flight operations on a busy server) between two polls.
    auto same = [&](const sample& a, const sample& b) {
        for(auto& [k, v] : a)
        {
            if(!policy.compared || !policy.compared(k))
                continue;
            auto it = b.find(k);
            if(it == b.end())
                return false;
            double tolerance = std::max(0.0, std::floor(std::abs(v) * 0.001));
            if(std::abs(it->second - v) > tolerance)
                return false;
        }
        return true;
    };

    settled out;
    sample prev = take();
    auto last_change = steady_clock::now();
    auto sleep = 1ms;
    for(;;)
    {
        std::this_thread::sleep_for(sleep);
        sample cur = take();
        auto now = steady_clock::now();
        out.waited = duration_cast<milliseconds>(now - start);
        if(!same(prev, cur))
            last_change = now;
        else if(now - last_change >= policy.quiet)
        {
            out.value = cur;
            out.stable = true;
            return out;
        }
        if(now - start >= policy.max_wait)
        {
            out.value = cur;
            return out;
        }
        prev = std::move(cur);
        sleep = std::min(sleep * 2, milliseconds(100));
    }
}

} // namespace leaklab::sample
