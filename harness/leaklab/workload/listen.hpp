// Listeners: WebSockets a ws-listen step holds open from its first round to the end of
// the run, to check what the server sends on its own (pings, pushed samples, a message
// after something changed). They run on a thread of their own, so a ping's time is when it
// arrived, not when the round loop next looked, and pings are answered while the harness
// samples.
#ifndef LEAKLAB_WORKLOAD_LISTEN_HPP
#define LEAKLAB_WORKLOAD_LISTEN_HPP

#include "leaklab/workload/workload.hpp"

#include <cstdint>
#include <memory>

namespace leaklab::workload {

class listener_group
{
public:
    // Opens step.connections listeners on 127.0.0.1:port, each within the step's op_timeout_s;
    // those that could not open are counted as failed operations of the first check.
    // Triggers with to_metrics go to metrics_port (the server's labkit metrics endpoint).
    listener_group(const step_spec& step, std::uint16_t port, std::uint16_t metrics_port = 0);
    ~listener_group();
    listener_group(const listener_group&) = delete;
    listener_group& operator=(const listener_group&) = delete;

    // Sends the step's triggers (if any), then checks every listener: still open, pinged and
    // pushed to often enough, told after every trigger older than within_ms. `last`: wait
    // for the newest triggers' time first.
    step_result check(std::size_t round, bool last);

    // Listeners open now.
    std::size_t open() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace leaklab::workload

#endif
