// The tasks mode's reading of labkit's pending-operation dumps (GET /pending-ops, after each
// round from the warm-up on): the C++ analog of Go's goroutine profile, diffed. Each
// group of pending operations (or live coroutines) is put on a site in the server's own code,
// from the first of its stacks that reaches that code:
//   awaited at   the co_await that started it (labkit::no_throw notes it);
//   created at   the native stack when Asio created it (callback code);
//   follows      the operation whose handler started it (a composed operation's next step).
// The sites whose pending count grew from the first dump to the last, with how much per
// operation, and each site's count in every dump (the series verdict/sites.hpp judges).
#ifndef LEAKLAB_TOOLS_TASKS_HPP
#define LEAKLAB_TOOLS_TASKS_HPP

#include "leaklab/tools/sanitizer.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace leaklab::tools {

// One dump as labkit wrote it, stacks unresolved (frames carry module and offset only).
struct pending_dump
{
    struct group
    {
        std::int64_t count = 0;
        std::string kind;            // "deadline_timer.async_wait", "coroutine.spawn"
        std::uint32_t awaited = 0, created = 0, from = 0;   // stack ids, 0 for none
    };
    std::int64_t pending = 0;        // asio_ops_pending when it was written
    std::map<std::uint32_t, stack> stacks;
    std::vector<group> groups;
};

// Parses a dump; throws std::runtime_error when the text is not one.
pending_dump parse_pending_dump(std::string_view text);

// Fills in the frames of every stack in the server's binary with addr2line (tools/sanitizer.hpp
// symbolize); work_dir holds its output.
void resolve(pending_dump& d, const std::filesystem::path& work_dir);
// Every stack of several dumps of one process, in one batch.
void resolve(std::vector<pending_dump>& dumps, const std::filesystem::path& work_dir);
// The same with what addr2line already said (captured output, parse_addr2line).
void resolve(pending_dump& d, const symbol_table& table);

// "timer async_wait", "socket async_receive", "channel async_send", "coroutine".
std::string kind_label(const std::string& kind);

// Pending operations of one kind on one site (or, with no own frame anywhere, on the telling
// frame of their creation stack, `own` false).
struct pending_site
{
    std::string kind;
    std::string how;                 // "awaited at", "awaited in" (a coroutine, line unknown), "created at",
                                     // "follows an operation from", "spawned at"
    frame site;
    bool own = true;
    std::int64_t base = 0, final_count = 0;
    double per_op = 0;               // (final - base) / operations between the dumps
    stack largest;                   // the stack the site was read from
};

// The sites of a dump's groups with their counts (base 0, final_count the count).
std::vector<pending_site> sites_of(const pending_dump& d);

// Two dumps' sites matched (kind, how, file:line); growth per operation; largest growth
// first, sites that did not grow left out.
std::vector<pending_site> growing_sites(const std::vector<pending_site>& base, const std::vector<pending_site>& final_sites,
                                        std::size_t ops);

// A site's count in one dump's sites (sites_of): its groups there summed, 0 when it has none.
std::int64_t count_at(const pending_site& site, const std::vector<pending_site>& dump);

// A site as a finding: tool "tasks", kind "pending operations" (or "live coroutines").
finding as_finding(const pending_site& s, std::size_t ops);

// "+4,800 timer async_wait awaited at labs/07-.../server.cpp:127 in watch: 1.00 per op"
std::string describe(const pending_site& s, const std::filesystem::path& root = {});

} // namespace leaklab::tools

#endif
