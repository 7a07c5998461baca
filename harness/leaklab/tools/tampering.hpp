// A server that turns the kit's instruments off or fakes them is not judged on what they
// then say. Found in the server's own source files and in their compiled objects: the
// sanitizers' attributes and interface (no_sanitize, __asan_/__lsan_/__tsan_/__ubsan_/
// __sanitizer_ functions defined or called: default options and suppressions that silence
// a tool, a replaced __sanitizer_get_current_allocated_bytes that fakes heap_bytes), an exit
// that skips the at-exit leak check (_Exit, quick_exit, _exit), a replaced mallinfo.
#ifndef LEAKLAB_TOOLS_TAMPERING_HPP
#define LEAKLAB_TOOLS_TAMPERING_HPP

#include "leaklab/tools/sanitizer.hpp"

#include <filesystem>
#include <string_view>
#include <vector>

namespace leaklab::tools {

// What a source text does to the instruments, one finding each (tool "leaklab", kind
// "instrument tampering", the file and line as its one frame). Comments are not read.
std::vector<finding> tampering_in_source(std::string_view text, const std::filesystem::path& file);

// The same, from an object file's symbol table (`nm -P`): what a macro or a token paste
// hid from the source reading. Symbols the compiler's instrumentation itself references
// (__asan_report_load8, __tsan_read8, ...) are not tampering.
std::vector<finding> tampering_in_symbols(std::string_view nm_output, const std::filesystem::path& object);

// Both, for a server's own files and the objects compiled from them (objects: every
// NAME.o under build_dir/.../CMakeFiles/TARGET.dir for each source NAME). Missing files are skipped.
std::vector<finding> find_tampering(const std::vector<std::filesystem::path>& sources,
                                    const std::filesystem::path& build_dir, const std::string& target,
                                    const std::filesystem::path& work_dir);

} // namespace leaklab::tools

#endif
