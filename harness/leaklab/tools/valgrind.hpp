// Valgrind memcheck's reports, as findings (tools/sanitizer.hpp): its XML (--xml=yes:
// definitely, indirectly and possibly lost blocks, invalid reads and writes, uninitialised
// values) and, from its text log, the descriptors still open at exit (--track-fds=yes;
// memcheck 3.19 writes those only to the text log).
#ifndef LEAKLAB_TOOLS_VALGRIND_HPP
#define LEAKLAB_TOOLS_VALGRIND_HPP

#include "leaklab/tools/sanitizer.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace leaklab::tools {

// The errors of one memcheck XML file. Kinds: "definitely lost", "indirectly lost",
// "possibly lost", "still reachable", "invalid read", "invalid write", "invalid free",
// "uninitialised value", ... (memcheck's own kind, lower case, for the rest). Throws
// std::runtime_error on XML that does not parse.
std::vector<finding> parse_memcheck_xml(std::string_view xml);

// The descriptors a memcheck text log lists as open at exit, one finding ("open
// descriptor") per descriptor, with the stack that opened it; inherited and standard
// descriptors are left out.
std::vector<finding> parse_memcheck_fds(std::string_view log);

// Every valgrind.PID.xml and valgrind.PID.log in a run's folder: parsed, merged.
std::vector<finding> read_memcheck_reports(const std::filesystem::path& log_dir);

// Whether the program memcheck runs as process `pid` has ended: its XML report has the
// FINISHED status, which memcheck writes when the program exits and before its leak check
// (which, over a large heap, takes seconds more before the process itself exits).
bool memcheck_program_ended(const std::filesystem::path& log_dir, int pid);

} // namespace leaklab::tools

#endif
