// One HTTP request a step sends to change something in the server (a ws-listen trigger, a
// ws-quiet setup or trigger): on a connection of its own, answered, its status checked.
#ifndef LEAKLAB_WORKLOAD_REQUEST_HPP
#define LEAKLAB_WORKLOAD_REQUEST_HPP

#include "leaklab/workload/workload.hpp"

#include <labkit/net.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string>

namespace leaklab::workload {

struct request_outcome
{
    std::string what;     // "PUT /settings/max-reading-bytes"
    std::string error;    // no answer: why ("" when answered)
    std::string breach;   // answered with another status than the one expected ("" when right)
    std::chrono::steady_clock::time_point sent;
    bool ok() const { return error.empty() && breach.empty(); }
};

// Sends `t` (its path and body expanded with `v`) to `ep` and reads the reply, within timeout_s.
net::awaitable<request_outcome> send_request(tcp::endpoint ep, const trigger_spec& t, const template_vars& v,
                                             double timeout_s);

} // namespace leaklab::workload

#endif
