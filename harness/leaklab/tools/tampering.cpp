#include "leaklab/tools/tampering.hpp"

#include "leaklab/process/child.hpp"

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace leaklab::tools {

namespace fs = std::filesystem;

namespace {

finding tamper(const fs::path& file, unsigned line, const std::string& what)
{
    finding f;
    f.tool = "leaklab";
    f.kind = "instrument tampering";
    f.message = what;
    frame fr;
    fr.file = file.string();
    fr.line = line;
    fr.function = what;
    f.stacks.push_back({"in the server's own code:", {fr}});
    return f;
}

// The text with comments blanked out (newlines kept, so lines still count).
std::string without_comments(std::string_view s)
{
    std::string out(s);
    enum { code, line_comment, block_comment, string, character } state = code;
    for(std::size_t i = 0; i < out.size(); ++i)
    {
        const char c = out[i], next = i + 1 < out.size() ? out[i + 1] : '\0';
        switch(state)
        {
        case code:
            if(c == '/' && next == '/')
                state = line_comment, out[i] = ' ';
            else if(c == '/' && next == '*')
                state = block_comment, out[i] = ' ', out[++i] = ' ';
            else if(c == '"')
                state = string;
            else if(c == '\'')
                state = character;
            break;
        case line_comment:
            if(c == '\n')
                state = code;
            else
                out[i] = ' ';
            break;
        case block_comment:
            if(c == '*' && next == '/')
                state = code, out[i] = ' ', out[++i] = ' ';
            else if(c != '\n')
                out[i] = ' ';
            break;
        case string:
            if(c == '\\')
                ++i;
            else if(c == '"')
                state = code;
            break;
        case character:
            if(c == '\\')
                ++i;
            else if(c == '\'')
                state = code;
            break;
        }
    }
    return out;
}

} // namespace

std::vector<finding> tampering_in_source(std::string_view text, const fs::path& file)
{
    static const std::vector<std::pair<std::regex, std::string>> rules = {
        {std::regex(R"(\bno_sanitize\w*|\b__no_sanitize\w*|\bdisable_sanitizer_instrumentation\b)"),
         "turns a sanitizer off for a function"},
        {std::regex(R"(\b__(asan|lsan|tsan|ubsan|msan|hwasan|sanitizer)_\w+)"),
         "uses a sanitizer's own interface (options, suppressions, disabling, or a replaced counter)"},
        {std::regex(R"(\b(_Exit|quick_exit|_exit)\s*\()"), "exits without running the at-exit checks"},
        {std::regex(R"(\bmallinfo2?\s*\([^)]*\)\s*(\{|noexcept|throw))"), "replaces mallinfo, which heap_bytes reads"},
        {std::regex(R"(#\s*pragma\s+(GCC\s+optimize|clang\s+attribute))"), "changes how the tool's build compiles it"},
    };
    std::vector<finding> out;
    std::istringstream in(without_comments(text));
    unsigned n = 0;
    for(std::string line; std::getline(in, line);)
    {
        ++n;
        for(auto& [re, why] : rules)
        {
            std::smatch m;
            if(std::regex_search(line, m, re))
                out.push_back(tamper(file, n, "`" + m[0].str() + "`: " + why));
        }
    }
    return out;
}

std::vector<finding> tampering_in_symbols(std::string_view nm_output, const fs::path& object)
{
    // Defined here: any of the runtimes' names. Referenced: the calls that silence or skip a tool.
    static const std::regex defined_re(R"(^_*(asan|lsan|tsan|ubsan|msan|hwasan|sanitizer)_\w*$|^(mallinfo|mallinfo2)$)");
    static const std::set<std::string> calls = {
        "__lsan_disable", "__lsan_enable", "__lsan_ignore_object", "__lsan_register_root_region",
        "__tsan_ignore_thread_begin", "__tsan_ignore_thread_end", "__sanitizer_set_report_path",
        "__sanitizer_set_report_fd", "__asan_set_error_report_callback", "__sanitizer_set_death_callback",
        "__asan_poison_memory_region", "__asan_unpoison_memory_region", "_Exit", "quick_exit", "_exit"};
    std::vector<finding> out;
    std::istringstream in{std::string(nm_output)};
    for(std::string line; std::getline(in, line);)
    {
        std::istringstream fields(line);
        std::string name, type;
        fields >> name >> type;
        if(name.empty() || type.empty())
            continue;
        const bool undefined = type == "U" || type == "w" || type == "v";
        // Global definitions only: the instrumentation's own local symbols (__asan_gen_...) are lower case.
        const bool global = type.size() == 1 && type[0] >= 'A' && type[0] <= 'Z';
        if(!undefined && global && name.rfind("__", 0) == 0 && std::regex_match(name, defined_re))
            out.push_back(tamper(object, 0, "`" + name + "` is defined in the server's own code: it replaces the tool's"));
        else if(!undefined && global && (name == "mallinfo" || name == "mallinfo2"))
            out.push_back(tamper(object, 0, "`" + name + "` is defined in the server's own code: heap_bytes reads it"));
        else if(undefined && calls.count(name))
            out.push_back(tamper(object, 0, "`" + name + "` is called by the server's own code"));
    }
    return out;
}

std::vector<finding> find_tampering(const std::vector<fs::path>& sources, const fs::path& build_dir,
                                    const std::string& target, const fs::path& work_dir)
{
    std::vector<finding> out;
    std::error_code ec;
    std::set<std::string> names;
    for(auto& src : sources)
    {
        names.insert(src.filename().string() + ".o");
        if(!fs::exists(src, ec))
            continue;
        auto some = tampering_in_source(process::read_text(src), src);
        out.insert(out.end(), some.begin(), some.end());
    }
    // The objects of the target compiled from those files.
    const std::string target_dir = target + ".dir";
    fs::create_directories(work_dir, ec);
    std::size_t n = 0;
    for(auto it = fs::recursive_directory_iterator(build_dir, fs::directory_options::skip_permission_denied, ec);
        it != fs::recursive_directory_iterator(); it.increment(ec))
    {
        if(ec)
            break;
        const auto& p = it->path();
        if(!names.count(p.filename().string()) || p.string().find("/" + target_dir + "/") == std::string::npos)
            continue;
        const auto listing = process::capture_command({"nm", "-P", p.string()},
                                                      work_dir / ("nm." + std::to_string(n++) + ".txt"), std::chrono::seconds(30));
        if(!listing)
            continue;
        auto some = tampering_in_symbols(*listing, p);
        out.insert(out.end(), some.begin(), some.end());
    }
    return out;
}

} // namespace leaklab::tools
