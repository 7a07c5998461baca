// Live settings: integers an operator changes while the server runs, standing in for a
// fleet config service. The metrics endpoint serves them:
//   GET /settings/<name>           the value, as text
//   PUT /settings/<name>  <value>  a new value (204), or 400 when the body is not an integer
// A lab reads the value when it needs it (on each refresh, say): nothing is pushed.
#ifndef LABKIT_SETTINGS_HPP
#define LABKIT_SETTINGS_HPP

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

namespace labkit {

class live_setting
{
public:
    live_setting(std::string name, std::int64_t initial) : name_(std::move(name)), value_(initial) {}
    live_setting(const live_setting&) = delete;
    live_setting& operator=(const live_setting&) = delete;

    std::int64_t value() const { return value_.load(std::memory_order_relaxed); }
    void set(std::int64_t v) { value_.store(v, std::memory_order_relaxed); }
    const std::string& name() const { return name_; }

private:
    std::string name_;
    std::atomic<std::int64_t> value_;
};

// The live setting with this name, created with `initial` on first use.
live_setting& named_setting(const std::string& name, std::int64_t initial);

// The live setting with this name, if a lab created it.
live_setting* find_setting(const std::string& name);

} // namespace labkit

#endif
