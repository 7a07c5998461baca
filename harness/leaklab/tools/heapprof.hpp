// The heapprof mode's reading of gperftools heap profiles (labkit writes one on the admin
// call after each round from the warm-up on): `google-pprof --text --stacks --lines
// --show_bytes --base=FIRST BINARY LAST` lists every allocation stack with the bytes it holds
// more (or less) at the end, and the growth is put on the first frame of each stack in the
// server's own code (own_code, tools/sanitizer.hpp): the sites that grew, with file:line. Each
// profile, read raw, gives a site's bytes at that moment: the series verdict/sites.hpp judges.
#ifndef LEAKLAB_TOOLS_HEAPPROF_HPP
#define LEAKLAB_TOOLS_HEAPPROF_HPP

#include "leaklab/tools/sanitizer.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace leaklab::tools {

// One allocation stack of the diff: the bytes it holds more at the end (negative: fewer).
struct heap_stack
{
    std::int64_t bytes = 0;
    stack frames;              // innermost first, as pprof prints them
    std::vector<std::uint64_t> addresses;  // as pprof prints them: a caller's return address less 1
};

// An allocation site in the server's own code and what the stacks through it grew by.
struct heap_site
{
    frame site;                // the first own frame (file:line, function)
    std::int64_t bytes = 0;    // summed over its stacks
    double bytes_per_op = 0;   // bytes / operations between the first and the last profile
    std::size_t stacks = 0;
    stack largest;             // the stack through it that grew most
    std::vector<std::vector<std::uint64_t>> keys;  // its stacks as a raw profile names them (raw_key)
};

// A raw heap profile as the heap profiler writes it: the bytes in use of each stack of return
// addresses ("  12244: 50163668 [ 12244: 50163668] @ 0x55d86726105f 0x55d8672669ca ...").
// Every profile of one run comes from one process, so an address means the same in each.
using raw_profile = std::map<std::vector<std::uint64_t>, std::int64_t>;
raw_profile parse_raw_profile(std::string_view text);
raw_profile read_raw_profile(const std::filesystem::path& file);

// A stack of pprof's output as a raw profile's key: the return addresses pprof lowered by 1.
std::vector<std::uint64_t> raw_key(const heap_stack& s);

// The bytes in use a profile holds on a site's stacks.
std::int64_t bytes_at(const heap_site& s, const raw_profile& p);

// Every stack of pprof's --text --stacks output ("1213500  (0000558029) file:line:function",
// then one "(address) file:line:function" line per caller). Other lines are skipped.
std::vector<heap_stack> parse_pprof_stacks(std::string_view text);

// Each stack's bytes put on its first frame in the server's own code, summed per file:line
// (stacks with no own frame are left out); a site's stack and function are those of the
// stack through it with the most bytes.
std::map<std::pair<std::string, unsigned>, heap_site> sites_by_line(const std::vector<heap_stack>& stacks);

// The growth put on sites: each stack on its first own frame (stacks with none are left out),
// summed per file:line; the sites that grew, largest first.
std::vector<heap_site> growing_sites(const std::vector<heap_stack>& stacks, std::size_t ops);

// The growth of the stacks that never pass through the server's own code (main aside), as
// one site: its frame is the telling frame (tools/sanitizer.hpp) of the largest such stack.
// bytes 0 when they did not grow. The profile's own text (GetHeapProfile) is left out.
heap_site outside_own(const std::vector<heap_stack>& stacks, std::size_t ops);

// Runs google-pprof on the two profiles (bounded in time; work_dir holds its output) and
// returns its stacks. Throws std::runtime_error when pprof fails.
std::vector<heap_stack> diff_profiles(const std::filesystem::path& binary, const std::filesystem::path& base,
                                      const std::filesystem::path& final_profile, const std::filesystem::path& work_dir);

// A site as a finding: tool "heapprof" (or the tool named), kind "heap growth", its bytes,
// bytes per operation and largest stack.
finding as_finding(const heap_site& s, std::size_t ops, const std::string& tool = "heapprof");

// "labs/03-.../server.cpp:47 in bus::subscribe: 28,672 bytes, 8.7 B/op"
std::string describe(const heap_site& s, const std::filesystem::path& root = {});

} // namespace leaklab::tools

#endif
