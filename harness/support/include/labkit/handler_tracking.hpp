// Counts outstanding Asio asynchronous operations: the C++ analog of a goroutine count.
//
// Named by BOOST_ASIO_CUSTOM_HANDLER_TRACKING on every target, so every translation
// unit (including the separately compiled Asio in netcore) sees these hooks. An
// operation counts +1 when Asio creates it and -1 when its completion object is
// built in do_complete, which also runs for operations destroyed without running
// (an io_context torn down with work still queued). Operations of the metrics
// endpoint's own io_context are not counted, so scraping does not move the count.
#ifndef LABKIT_HANDLER_TRACKING_HPP
#define LABKIT_HANDLER_TRACKING_HPP

#include <atomic>
#include <cstdint>

namespace boost::asio { class execution_context; }

namespace labkit::tracking {

// Operations created and not yet completed or destroyed.
extern std::atomic<std::int64_t> ops_pending;
// The io_context whose operations are not counted (the metrics endpoint's).
extern std::atomic<const boost::asio::execution_context*> untracked_context;

struct tracked_handler
{
    bool counted_ = false;
};

struct hooks
{
    static void init() {}

    template <class... Args>
    static void creation(boost::asio::execution_context& ctx, tracked_handler& h, Args&&...)
    {
        if(&ctx == untracked_context.load(std::memory_order_relaxed))
            return;
        h.counted_ = true;
        ops_pending.fetch_add(1, std::memory_order_relaxed);
    }

    struct completion
    {
        explicit completion(const tracked_handler& h)
        {
            if(h.counted_)
                ops_pending.fetch_sub(1, std::memory_order_relaxed);
        }
        template <class... Args> void invocation_begin(Args&&...) {}
        void invocation_end() {}
    };

    template <class... Args> static void operation(Args&&...) {}
    template <class... Args> static void reactor_registration(Args&&...) {}
    template <class... Args> static void reactor_deregistration(Args&&...) {}
    template <class... Args> static void reactor_events(Args&&...) {}
    template <class... Args> static void reactor_operation(Args&&...) {}
};

} // namespace labkit::tracking

#define BOOST_ASIO_INHERIT_TRACKED_HANDLER : public ::labkit::tracking::tracked_handler
#define BOOST_ASIO_ALSO_INHERIT_TRACKED_HANDLER , public ::labkit::tracking::tracked_handler
#define BOOST_ASIO_HANDLER_TRACKING_INIT ::labkit::tracking::hooks::init()
#define BOOST_ASIO_HANDLER_LOCATION(args) (void)0
#define BOOST_ASIO_HANDLER_CREATION(args) ::labkit::tracking::hooks::creation args
#define BOOST_ASIO_HANDLER_COMPLETION(args) ::labkit::tracking::hooks::completion tracked_completion args
#define BOOST_ASIO_HANDLER_INVOCATION_BEGIN(args) tracked_completion.invocation_begin args
#define BOOST_ASIO_HANDLER_INVOCATION_END tracked_completion.invocation_end()
#define BOOST_ASIO_HANDLER_OPERATION(args) ::labkit::tracking::hooks::operation args
#define BOOST_ASIO_HANDLER_REACTOR_REGISTRATION(args) ::labkit::tracking::hooks::reactor_registration args
#define BOOST_ASIO_HANDLER_REACTOR_DEREGISTRATION(args) ::labkit::tracking::hooks::reactor_deregistration args
#define BOOST_ASIO_HANDLER_REACTOR_READ_EVENT 1
#define BOOST_ASIO_HANDLER_REACTOR_WRITE_EVENT 2
#define BOOST_ASIO_HANDLER_REACTOR_ERROR_EVENT 4
#define BOOST_ASIO_HANDLER_REACTOR_EVENTS(args) ::labkit::tracking::hooks::reactor_events args
#define BOOST_ASIO_HANDLER_REACTOR_OPERATION(args) ::labkit::tracking::hooks::reactor_operation args

#endif
