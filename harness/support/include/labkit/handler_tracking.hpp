// Counts outstanding Asio asynchronous operations: the C++ analog of a goroutine count.
//
// Named by BOOST_ASIO_CUSTOM_HANDLER_TRACKING on every target, so every translation
// unit (including the separately compiled Asio in netcore) sees these hooks. An
// operation counts +1 when Asio creates it and -1 when its completion object is
// built in do_complete, which also runs for operations destroyed without running
// (an io_context torn down with work still queued). Operations of the metrics
// endpoint's own io_context are not counted, so scraping does not move the count.
//
// With LEAKLAB_TASKS=1 (`leaklab check --mode tasks`) each operation is also recorded while
// it is pending: its kind ("deadline_timer.async_wait") and where it came from, the C++
// analog of Go's goroutine profile. Three stacks can say where (labkit/pending.hpp dumps them):
//   awaited  the co_await that started it (labkit::no_throw notes it, see labkit/no_throw.hpp);
//   created  the native stack when Asio created it (callback code: the do_X that armed it);
//   from     where the handler running at that moment came from (a composed operation's
//            next step continues the one the lab started).
// Off, the cost is one relaxed load per operation.
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
// Whether pending operations are recorded with their kind and stacks (LEAKLAB_TASKS=1).
extern std::atomic<bool> recording;
// The file name an awaited-at location carries (use_awaitable_t's file_name_): its line is a stack id.
extern const char awaited_marker[];

struct tracked_handler
{
    bool counted_ = false;
    bool recorded_ = false;
    std::uint32_t root_ = 0;   // the stack the operation is put on, for the operations its handler starts
};

// Recording (tracking.cpp): called only while `recording` is on.
void record_creation(tracked_handler& h, const char* object_type, const char* op_name);
void record_completion(const tracked_handler& h);
// Enters a handler's invocation (its operation's root stack); returns what leave() restores.
std::uint32_t enter_handler(std::uint32_t root);
void leave_handler(std::uint32_t previous);
// Sets the stack of the co_await being initiated; returns what it replaced.
std::uint32_t enter_awaited(std::uint32_t stack);
void leave_awaited(std::uint32_t previous);

struct hooks
{
    static void init() {}

    template <class Object, class Native>
    static void creation(boost::asio::execution_context& ctx, tracked_handler& h, const char* object_type,
                         const Object&, const Native&, const char* op_name)
    {
        if(&ctx == untracked_context.load(std::memory_order_relaxed))
            return;
        h.counted_ = true;
        ops_pending.fetch_add(1, std::memory_order_relaxed);
        if(recording.load(std::memory_order_relaxed))
            record_creation(h, object_type, op_name);
    }

    struct completion
    {
        std::uint32_t root_ = 0;
        std::uint32_t previous_ = 0;
        bool entered_ = false;

        explicit completion(const tracked_handler& h) : root_(h.root_)
        {
            if(h.counted_)
                ops_pending.fetch_sub(1, std::memory_order_relaxed);
            if(h.recorded_)
                record_completion(h);
        }
        template <class... Args> void invocation_begin(Args&&...)
        {
            if(root_)
            {
                previous_ = enter_handler(root_);
                entered_ = true;
            }
        }
        void invocation_end()
        {
            if(entered_)
                leave_handler(previous_);
            entered_ = false;
        }
        ~completion() { invocation_end(); }
    };

    // A source location Asio notes while it starts an operation: labkit::no_throw's carries
    // the stack of the co_await (awaited_marker, stack id).
    struct location
    {
        std::uint32_t previous_ = 0;
        bool entered_ = false;

        location(const char* file, int line, const char*)
        {
            if(file == awaited_marker && line > 0)
            {
                previous_ = enter_awaited(static_cast<std::uint32_t>(line));
                entered_ = true;
            }
        }
        location(const location&) = delete;
        location& operator=(const location&) = delete;
        ~location()
        {
            if(entered_)
                leave_awaited(previous_);
        }
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
#define BOOST_ASIO_HANDLER_LOCATION(args) ::labkit::tracking::hooks::location tracked_location args
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
