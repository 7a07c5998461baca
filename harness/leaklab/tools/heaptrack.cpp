#include "leaklab/tools/heaptrack.hpp"

#include "leaklab/process/child.hpp"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace leaklab::tools {

namespace fs = std::filesystem;

namespace {

std::optional<fs::path> on_path(const std::string& name)
{
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "");
    for(std::string dir; std::getline(dirs, dir, ':');)
    {
        const fs::path p = fs::path(dir.empty() ? "." : dir) / name;
        std::error_code ec;
        if(fs::is_regular_file(p, ec))
            return p;
    }
    return std::nullopt;
}

// The length of the raw file's prefix that ends with its last whole line within `length`.
std::uintmax_t whole_lines(const fs::path& raw, std::uintmax_t length)
{
    std::ifstream in(raw, std::ios::binary);
    if(!in)
        throw std::runtime_error("cannot read heaptrack's record " + raw.string());
    const std::uintmax_t from = length > 65536 ? length - 65536 : 0;
    in.seekg(static_cast<std::streamoff>(from));
    std::string tail(static_cast<std::size_t>(length - from), '\0');
    in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
    tail.resize(static_cast<std::size_t>(in.gcount()));
    const auto nl = tail.rfind('\n');
    if(nl == std::string::npos)
        throw std::runtime_error("heaptrack's record has no whole line in its first " + std::to_string(length) + " bytes");
    return from + nl + 1;
}

} // namespace

std::optional<heaptrack_parts> find_heaptrack()
{
    const auto script = on_path("heaptrack");
    const auto print = on_path("heaptrack_print");
    if(!script || !print)
        return std::nullopt;
    std::error_code ec;
    const fs::path lib = fs::canonical(*script, ec).parent_path().parent_path() / "lib" / "heaptrack";
    heaptrack_parts p{lib / "libheaptrack_preload.so", lib / "libexec" / "heaptrack_interpret", *print};
    if(!fs::is_regular_file(p.preload, ec) || !fs::is_regular_file(p.interpret, ec))
        return std::nullopt;
    return p;
}

std::int64_t heaptrack_bytes(std::string_view text)
{
    static const std::string units = "BKMGT";
    if(text.empty() || units.find(text.back()) == std::string::npos)
        throw std::invalid_argument("not a heaptrack size: \"" + std::string(text) + "\"");
    double scale = 1;
    for(std::size_t i = 0; i < units.find(text.back()); ++i)
        scale *= 1000;
    const std::string number(text.substr(0, text.size() - 1));
    char* end = nullptr;
    const double v = std::strtod(number.c_str(), &end);
    if(number.empty() || end != number.c_str() + number.size())
        throw std::invalid_argument("not a heaptrack size: \"" + std::string(text) + "\"");
    return static_cast<std::int64_t>(v * scale + (v >= 0 ? 0.5 : -0.5));
}

std::vector<heap_stack> parse_heaptrack_leaks(std::string_view text)
{
    std::vector<heap_stack> out;
    std::istringstream in{std::string(text)};
    bool in_stack = false;
    for(std::string line; std::getline(in, line);)
    {
        while(!line.empty() && line.back() == '\r')
            line.pop_back();
        // "65.54K leaked over 59 calls from": a stack opens.
        if(const auto at = line.find(" leaked over "); at != std::string::npos && !line.empty() && line[0] != ' ')
        {
            out.push_back({heaptrack_bytes(line.substr(0, at)), {"allocated from:", {}}, {}});
            in_stack = true;
            continue;
        }
        if(!in_stack || line.empty() || line.find_first_not_of(' ') == std::string::npos)
        {
            in_stack = false;
            continue;
        }
        const auto indent = line.find_first_not_of(' ');
        const std::string body = line.substr(indent);
        auto& frames = out.back().frames.frames;
        // "    at file:line" and "    in module" belong to the frame above them.
        if(indent >= 4 && body.rfind("at ", 0) == 0 && !frames.empty())
        {
            const auto colon = body.rfind(':');
            if(colon != std::string::npos && colon > 3)
            {
                frames.back().file = body.substr(3, colon - 3);
                frames.back().line = static_cast<unsigned>(std::strtoul(body.c_str() + colon + 1, nullptr, 10));
            }
        }
        else if(indent >= 4 && body.rfind("in ", 0) == 0 && !frames.empty())
            frames.back().module = body.substr(3);
        else
        {
            frame f;
            f.index = frames.size();
            f.function = body;
            frames.push_back(std::move(f));
        }
    }
    return out;
}

std::vector<heap_stack> in_use_at(const heaptrack_parts& parts, const fs::path& raw, std::uintmax_t length,
                                  const fs::path& work_dir, const std::string& name)
{
    const auto whole = whole_lines(raw, length);
    const fs::path data = work_dir / ("heaptrack." + name + ".txt");
    const std::string cmd = "head -c " + std::to_string(whole) + " " + process::shell_quoted(raw.string()) + " | " +
                            process::shell_quoted(parts.interpret.string()) + " > " + process::shell_quoted(data.string());
    if(process::run_command({"sh", "-c", cmd}, work_dir / ("heaptrack." + name + ".interpret.log"), std::chrono::seconds(300)) != 0)
        throw std::runtime_error("heaptrack_interpret could not read the record up to " + name + " (see " +
                                 (work_dir / ("heaptrack." + name + ".interpret.log")).string() + ")");
    auto printed = process::capture_command({parts.print.string(), "--file", data.string(), "--print-leaks=1",
                                             "--print-peaks=0", "--print-allocators=0", "--print-temporary=0",
                                             "--merge-backtraces=0", "--peak-limit=1000000"},
                                            work_dir / ("heaptrack." + name + ".print.txt"), std::chrono::seconds(300));
    std::error_code ec;
    fs::remove(data, ec);
    fs::remove(work_dir / ("heaptrack." + name + ".interpret.log"), ec);
    if(!printed)
        throw std::runtime_error("heaptrack_print could not read the record up to " + name);
    return parse_heaptrack_leaks(*printed);
}

std::string shortened(std::string_view name)
{
    std::string out;
    int depth = 0;
    for(std::size_t i = 0; i < name.size(); ++i)
    {
        const char c = name[i];
        // "operator<" and "operator<<" are names, not template brackets.
        if(depth == 0 && c == '<' && out.size() >= 8 && out.compare(out.size() - 8, 8, "operator") == 0)
        {
            out += c;
            if(i + 1 < name.size() && name[i + 1] == '<')
                out += name[++i];
            continue;
        }
        if(c == '<')
        {
            if(depth++ == 0)
                out += "<>";
            continue;
        }
        if(c == '>' && depth > 0)
        {
            --depth;
            continue;
        }
        if(depth == 0)
            out += c;
    }
    return out;
}

function_files read_function_files(const fs::path& binary, const fs::path& work_dir)
{
    auto out = process::capture_command({"nm", "-C", "-l", "--defined-only", binary.string()}, work_dir / "nm.txt",
                                        std::chrono::seconds(120));
    if(!out)
        throw std::runtime_error("nm could not read the symbols of " + binary.string());
    function_files files;
    std::istringstream in(*out);
    for(std::string line; std::getline(in, line);)
    {
        // "000000000001c64c W session::start_audit()	/work/.../server.cpp:68"
        const auto tab = line.rfind('\t');
        if(tab == std::string::npos || line.size() < 20)
            continue;
        const auto name_at = line.find(' ', line.find(' ') + 1);
        if(name_at == std::string::npos || name_at > tab)
            continue;
        const std::string where = line.substr(tab + 1);
        const auto colon = where.rfind(':');
        files.emplace(shortened(std::string_view(line).substr(name_at + 1, tab - name_at - 1)),
                      colon == std::string::npos ? where : where.substr(0, colon));
    }
    return files;
}

void place_frames(std::vector<heap_stack>& stacks, const function_files& files, const std::string& module)
{
    for(auto& s : stacks)
    {
        std::string current;   // the module of the frame above: an inlined frame prints none
        for(auto& f : s.frames.frames)
        {
            if(!f.module.empty())
                current = f.module;
            if(!f.file.empty() || current != module)
                continue;
            if(auto it = files.find(shortened(f.function)); it != files.end())
            {
                f.file = it->second;
                f.line = 0;
            }
        }
    }
}

} // namespace leaklab::tools
