#include "labkit/handler_tracking.hpp"

namespace labkit::tracking {

std::atomic<std::int64_t> ops_pending{0};
std::atomic<const boost::asio::execution_context*> untracked_context{nullptr};

} // namespace labkit::tracking
