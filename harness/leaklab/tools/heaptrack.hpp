// The heaptrack mode's reading of one run's allocations. heaptrack's preload library records
// every allocation and free of the server, with its stack, in one raw file for the whole run;
// leaklab notes the file's length after every round from the warm-up on (a cut). A cut's
// prefix, read by heaptrack_interpret and then `heaptrack_print --print-leaks`, says what was
// in use at that moment, by stack: heaptrack's own "leaked" is "not freed by the end of the
// data", and the data ends at the cut. Each stack goes on its first frame in the server's own
// code, as the heapprof mode's do (tools/heapprof.hpp), and each site has its bytes at every cut.
#ifndef LEAKLAB_TOOLS_HEAPTRACK_HPP
#define LEAKLAB_TOOLS_HEAPTRACK_HPP

#include "leaklab/tools/heapprof.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leaklab::tools {

// heaptrack's parts, found next to the `heaptrack` script on PATH as it finds them itself
// (../lib/heaptrack/libheaptrack_preload.so, ../lib/heaptrack/libexec/heaptrack_interpret).
struct heaptrack_parts
{
    std::filesystem::path preload, interpret, print;
};
std::optional<heaptrack_parts> find_heaptrack();

// `heaptrack_print --print-leaks --merge-backtraces=0` output: every stack still holding memory,
// with its bytes ("65.54K leaked over 59 calls from", heaptrack's units of 1000, two decimals)
// and frames ("  function", "    at file:line", "    in module"), innermost first.
std::vector<heap_stack> parse_heaptrack_leaks(std::string_view text);

// "65.54K" -> 65540; throws std::invalid_argument on anything else.
std::int64_t heaptrack_bytes(std::string_view text);

// The memory in use at a cut: the raw file's first `length` bytes, up to the last whole line,
// interpreted and printed (bounded in time; work_dir holds the interpreted data meanwhile).
// Throws std::runtime_error when a step fails.
std::vector<heap_stack> in_use_at(const heaptrack_parts& parts, const std::filesystem::path& raw, std::uintmax_t length,
                                  const std::filesystem::path& work_dir, const std::string& name);

// heaptrack 1.4's symbolizer leaves many frames of the server's own binary with a function
// name and no file or line (all of lab 04's, seen with DWARF 5 and 4 alike). The binary's
// symbol table says which file defines each function (`nm -C -l --defined-only`): such a frame
// gets that file and line 0 ("in session::start_audit", the line not known). Names are
// matched with their template arguments shortened to "<>", as heaptrack_print shortens them.
using function_files = std::map<std::string, std::string>;
function_files read_function_files(const std::filesystem::path& binary, const std::filesystem::path& work_dir);
// "std::vector<int, std::allocator<int> >::push_back(int&&)" -> "std::vector<>::push_back(int&&)"
std::string shortened(std::string_view name);
// Gives a file to every frame of `module` that has none and whose function the table knows.
void place_frames(std::vector<heap_stack>& stacks, const function_files& files, const std::string& module);

} // namespace leaklab::tools

#endif
