// Sanitizer reports (AddressSanitizer, LeakSanitizer, UndefinedBehaviorSanitizer,
// ThreadSanitizer), parsed into findings: the kind of error, its stacks, and the frames in
// the server's own code with file:line. The runtimes write them to per-run log files
// (log_path) or to stderr; frames the runtime could not symbolize are resolved with addr2line.
#ifndef LEAKLAB_TOOLS_SANITIZER_HPP
#define LEAKLAB_TOOLS_SANITIZER_HPP

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace leaklab::tools {

struct frame
{
    std::size_t index = 0;     // #N in its stack
    std::string function;      // as printed ("" when only the module is known)
    std::string file;          // "" when the runtime could not say (see symbolize)
    unsigned line = 0;
    std::string module;        // printed as (module+0xoffset), if at all
    std::uint64_t offset = 0;
};

struct stack
{
    std::string title;         // "READ of size 8 at 0x... thread T0", "freed by thread T0 here:", ...
    std::vector<frame> frames;
};

struct finding
{
    std::string tool;          // "AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "ThreadSanitizer",
                               // "memcheck", "heapprof", "heaptrack", "tasks"
    std::string kind;          // "heap-use-after-free", "stack-use-after-scope", "direct leak", "indirect leak",
                               // "data race", "undefined behaviour", "SEGV", ...
    std::string message;       // the report's first line, without the ==pid== prefix
    std::uint64_t bytes = 0;   // a leak's bytes and objects
    std::uint64_t objects = 0;
    std::vector<stack> stacks;
    std::size_t count = 1;     // reports merged into this one (same kind, same sites)
    double bytes_per_op = 0;   // heapprof, heaptrack: the growth per operation of the run (bytes stays the total)
};

// Every report in a log, in order. Text that is not a report is skipped.
std::vector<finding> parse_reports(std::string_view text);

// Fills in function and file:line of frames printed as (module+0xoffset) only, with
// `addr2line -i` (inlined frames expand to their chain), one call per binary, bounded in
// time; libraries of the system are left as they are. work_dir holds addr2line's output.
void symbolize(std::vector<finding>& findings, const std::filesystem::path& work_dir);

// What addr2line said of a binary's addresses: (module, address) -> the frame's inlined chain,
// innermost first. parse_addr2line reads `addr2line -C -f -i -a` output into it; apply_symbols
// puts it in the frames it names (symbolize does both, around running addr2line).
using symbol_table = std::map<std::pair<std::string, std::uint64_t>, std::vector<frame>>;
void parse_addr2line(std::string_view output, const std::string& module, symbol_table& into);
void apply_symbols(std::vector<finding>& findings, const symbol_table& table);

// Whether a frame is in the server's own code: a file outside the system's headers and
// sources and outside labkit, the support library every lab links.
bool own_code(const frame& f);

// The first frame of a stack in the server's own code, or nullptr. main() does not count:
// every stack of a single-threaded server ends there.
const frame* first_own(const stack& s);

// The frame that says most of a stack with no own frame: the first one outside the
// sanitizer's runtime, the allocator and the standard library's internals (for a use after
// free, the destructor that released the last owner; a library's detail namespaces are
// skipped too), or nullptr.
const frame* telling_frame(const stack& s);

// Reports of the same tool and kind whose stacks start in the same own lines, merged
// (counted, bytes and objects added), most frequent first.
std::vector<finding> merge(std::vector<finding> findings);

// "feed_session::on_read::{lambda#1}": a function without its template arguments and parameters.
std::string short_function(std::string_view name);

// 1213500 -> "1,213,500"
std::string grouped(std::int64_t v);

// "server.cpp:126 in feed_session::on_commit", paths shortened by dropping `root/`.
std::string where(const frame& f, const std::filesystem::path& root = {});

// One line: "AddressSanitizer heap-use-after-free at labs/19-.../server.cpp:126 in feed_session::on_commit"
// (a leak adds its bytes and objects; a count above 1 says how many reports).
std::string headline(const finding& f, const std::filesystem::path& root = {});

// The reports of a run: every file in log_dir whose name starts with one of the runtimes'
// log_path prefixes ("asan.", "tsan.", "ubsan."), then the server's stderr log. Parsed,
// symbolized and merged.
std::vector<finding> read_run_reports(const std::filesystem::path& log_dir, const std::filesystem::path& stderr_log);

// The runtimes' SUMMARY lines in the same files, once each (the short form older reports showed).
std::vector<std::string> summary_lines(const std::filesystem::path& log_dir, const std::filesystem::path& stderr_log);

} // namespace leaklab::tools

#endif
