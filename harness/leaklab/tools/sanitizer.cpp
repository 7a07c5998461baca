#include "leaklab/tools/sanitizer.hpp"

#include "leaklab/process/child.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

namespace leaklab::tools {

namespace fs = std::filesystem;

namespace {

std::string_view trim(std::string_view s)
{
    while(!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while(!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// "==1234==ERROR: ..." -> "ERROR: ..."
std::string_view without_pid(std::string_view s)
{
    if(s.size() > 4 && s.substr(0, 2) == "==")
        if(auto end = s.find("==", 2); end != std::string_view::npos && end < 16)
            return s.substr(end + 2);
    return s;
}

std::uint64_t to_u64(std::string_view s, int base = 10)
{
    std::uint64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v, base);
    return v;
}

// "path/file.cpp:126" or "path/file.cpp:126:9": the file and the line.
bool file_line(std::string_view token, std::string& file, unsigned& line)
{
    auto colon = token.rfind(':');
    if(colon == std::string_view::npos || colon == 0)
        return false;
    auto digits = [](std::string_view d) {
        return !d.empty() && std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    std::string_view num = token.substr(colon + 1);
    std::string_view path = token.substr(0, colon);
    // file:line:column
    if(auto c2 = path.rfind(':'); c2 != std::string_view::npos && digits(num) && digits(path.substr(c2 + 1)))
    {
        num = path.substr(c2 + 1);
        path = path.substr(0, c2);
    }
    if(!digits(num) || path.find('.') == std::string_view::npos)
        return false;
    file = std::string(path);
    line = static_cast<unsigned>(to_u64(num));
    return true;
}

// "    #3 0x55d0 in journal::commit(boost::system::error_code) (/path/lab19-leaky+0xa761b7)" (ASan),
// "    #2 fleet::reading(...) /path/server.cpp:41 (lab21-leaky+0x15976)" (TSan).
bool parse_frame(std::string_view line, frame& f)
{
    auto s = trim(line);
    if(s.size() < 3 || s[0] != '#' || s[1] < '0' || s[1] > '9')
        return false;
    auto sp = s.find(' ');
    if(sp == std::string_view::npos)
        return false;
    f = frame{};
    f.index = static_cast<std::size_t>(to_u64(s.substr(1, sp - 1)));
    s = trim(s.substr(sp + 1));
    // ASan: the program counter, then "in".
    if(s.substr(0, 2) == "0x")
    {
        auto after = s.find(' ');
        s = after == std::string_view::npos ? std::string_view() : trim(s.substr(after + 1));
        if(s.substr(0, 3) == "in ")
            s = trim(s.substr(3));
    }
    // The module and offset at the end: "(module+0xoffset)".
    if(!s.empty() && s.back() == ')')
    {
        auto open = s.rfind(" (");
        auto plus = s.rfind("+0x");
        if(s.front() == '(' && open == std::string_view::npos)
            open = 0;
        else if(open != std::string_view::npos)
            ++open;
        if(open != std::string_view::npos && plus != std::string_view::npos && plus > open)
        {
            f.module = std::string(s.substr(open + 1, plus - open - 1));
            f.offset = to_u64(s.substr(plus + 3, s.size() - 1 - (plus + 3)), 16);
            s = trim(s.substr(0, open));
        }
    }
    // The file:line at the end, or "<null>" (TSan's "not known").
    if(auto last = s.rfind(' '); last != std::string_view::npos)
    {
        auto token = s.substr(last + 1);
        if(token == "<null>")
            s = trim(s.substr(0, last));
        else if(file_line(token, f.file, f.line))
            s = trim(s.substr(0, last));
    }
    f.function = std::string(s);
    return true;
}

// "heap-use-after-free on address 0x..." -> "heap-use-after-free"; "data race (pid=1)" -> "data race".
std::string kind_of(std::string_view message)
{
    for(std::string_view cut : {" on address", " on unknown address", " (pid=", " (", " at pc", " on "})
        if(auto at = message.find(cut); at != std::string_view::npos)
            message = message.substr(0, at);
    return std::string(trim(message));
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// A line that opens one of a report's stacks: "READ of size 8 at ... thread T0", "freed by
// thread T0 here:", "  Previous write of size 8 at ... by main thread:", "Address ... is
// located in stack of thread T0 at offset 32 in frame".
bool stack_title(std::string_view line)
{
    auto t = trim(line);
    if(t.empty() || t[0] == '#')
        return false;
    return t.back() == ':' || starts_with(t, "READ of size") || starts_with(t, "WRITE of size") ||
           t.find("is located in stack of thread") != std::string_view::npos;
}

} // namespace

std::vector<finding> parse_reports(std::string_view text)
{
    static const std::regex leak_re(R"(^(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\) allocated from:)");
    static const std::regex ubsan_re(R"(^(\S+):(\d+):(\d+): runtime error: (.*)$)");
    std::vector<finding> out;
    finding* current = nullptr;   // the report being read
    bool in_report = false;
    bool lsan = false;            // inside LeakSanitizer's list of leaks
    std::istringstream in{std::string(text)};
    for(std::string raw; std::getline(in, raw);)
    {
        std::string_view line = without_pid(raw);
        while(!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        std::smatch m;
        const std::string l(line);
        // A report's first line: "ERROR: AddressSanitizer: heap-use-after-free on address ...".
        if(starts_with(line, "ERROR: ") || starts_with(line, "WARNING: "))
        {
            auto rest = line.substr(line.find(' ') + 1);
            auto colon = rest.find(": ");
            if(colon != std::string_view::npos && rest.substr(0, colon).find("Sanitizer") != std::string_view::npos)
            {
                const std::string tool(rest.substr(0, colon));
                in_report = true;
                lsan = tool == "LeakSanitizer";
                current = nullptr;
                if(!lsan)  // LeakSanitizer's findings are the leaks it lists next
                {
                    out.push_back({});
                    current = &out.back();
                    current->tool = tool;
                    current->message = std::string(trim(rest));
                    current->kind = kind_of(rest.substr(colon + 2));
                }
                continue;
            }
        }
        if(std::regex_search(l, m, leak_re))
        {
            out.push_back({});
            current = &out.back();
            current->tool = "LeakSanitizer";
            current->kind = m[1].str() == "Direct" ? "direct leak" : "indirect leak";
            current->message = std::string(trim(line));
            current->bytes = to_u64(m[2].str());
            current->objects = to_u64(m[3].str());
            current->stacks.push_back({"allocated from:", {}});
            in_report = true;
            continue;
        }
        if(std::regex_search(l, m, ubsan_re))
        {
            out.push_back({});
            current = &out.back();
            current->tool = "UndefinedBehaviorSanitizer";
            current->kind = "undefined behaviour";
            current->message = "runtime error: " + m[4].str();
            frame f;
            f.file = m[1].str();
            f.line = static_cast<unsigned>(to_u64(m[2].str()));
            current->stacks.push_back({"at:", {f}});
            in_report = true;
            continue;
        }
        if(!in_report || !current)
            continue;
        if(starts_with(line, "SUMMARY: "))
        {
            in_report = lsan = false;
            current = nullptr;
            continue;
        }
        frame f;
        if(parse_frame(line, f))
        {
            if(current->stacks.empty())
                current->stacks.push_back({"", {}});
            // UBSan's first frame repeats the error's location: keep the fuller one.
            auto& frames = current->stacks.back().frames;
            if(current->tool == "UndefinedBehaviorSanitizer" && frames.size() == 1 && frames[0].function.empty())
                frames.clear();
            frames.push_back(f);
            continue;
        }
        if(stack_title(line))
            current->stacks.push_back({std::string(trim(line)), {}});
    }
    // Stacks that never got a frame are titles of something else (a shadow legend, a frame's objects).
    for(auto& fnd : out)
        fnd.stacks.erase(std::remove_if(fnd.stacks.begin(), fnd.stacks.end(), [](auto& s) { return s.frames.empty(); }),
                         fnd.stacks.end());
    return out;
}

namespace {

// The program's own frames a runtime left as (module+0xoffset): not the system's libraries.
bool needs_symbols(const frame& f)
{
    return f.file.empty() && !f.module.empty() && f.module.find(".so") == std::string::npos &&
           f.module.rfind("/lib", 0) != 0 && f.module.rfind("/usr/", 0) != 0;
}

// A return address points after its call: look up the byte before (not for the top frame).
std::uint64_t lookup_address(const frame& f)
{
    return f.index == 0 ? f.offset : f.offset - 1;
}

} // namespace

void parse_addr2line(std::string_view output, const std::string& module, symbol_table& into)
{
    std::istringstream in{std::string(output)};
    std::uint64_t at = 0;
    bool have = false;
    std::string line, fn;
    while(std::getline(in, line))
    {
        if(starts_with(line, "0x") && line.find(' ') == std::string::npos)
        {
            at = to_u64(std::string_view(line).substr(2), 16);
            have = true;
            continue;
        }
        if(!have || !std::getline(in, fn))
            break;
        // line is the function, fn the "file:line (discriminator N)"
        frame f;
        f.function = line;
        std::string loc = fn.substr(0, fn.find(' '));
        if(!file_line(loc, f.file, f.line) || f.file == "??")
            f.file.clear();
        f.module = module;
        f.offset = at;
        into[{module, at}].push_back(f);
    }
}

void apply_symbols(std::vector<finding>& findings, const symbol_table& resolved)
{
    for(auto& fnd : findings)
        for(auto& s : fnd.stacks)
        {
            std::vector<frame> frames;
            for(auto& f : s.frames)
            {
                auto it = needs_symbols(f) ? resolved.find({f.module, lookup_address(f)}) : resolved.end();
                if(it == resolved.end() || std::none_of(it->second.begin(), it->second.end(), [](auto& r) { return !r.file.empty(); }))
                {
                    frames.push_back(f);
                    continue;
                }
                for(auto r : it->second)
                {
                    r.index = f.index;
                    r.offset = f.offset;
                    frames.push_back(r);
                }
            }
            s.frames = std::move(frames);
        }
}

void symbolize(std::vector<finding>& findings, const fs::path& work_dir)
{
    // The program's own frames the runtime left as (module+0xoffset), by module.
    std::map<std::string, std::vector<std::uint64_t>> wanted;
    for(auto& fnd : findings)
        for(auto& s : fnd.stacks)
            for(auto& f : s.frames)
                if(needs_symbols(f) && fs::exists(f.module))
                    wanted[f.module].push_back(lookup_address(f));
    if(wanted.empty())
        return;
    symbol_table resolved;
    std::error_code ec;
    fs::create_directories(work_dir, ec);
    std::size_t n = 0;
    for(auto& [module, offsets] : wanted)
    {
        std::sort(offsets.begin(), offsets.end());
        offsets.erase(std::unique(offsets.begin(), offsets.end()), offsets.end());
        std::vector<std::string> argv = {"addr2line", "-C", "-f", "-i", "-a", "-e", module};
        for(auto o : offsets)
        {
            std::ostringstream h;
            h << "0x" << std::hex << o;
            argv.push_back(h.str());
        }
        const auto output = process::capture_command(argv, work_dir / ("addr2line." + std::to_string(n++) + ".txt"),
                                                     std::chrono::seconds(60));
        if(output)
            parse_addr2line(*output, module, resolved);
    }
    apply_symbols(findings, resolved);
}

bool own_code(const frame& f)
{
    // Absolute paths outside /usr, or paths made relative to the checkout ("labs/05-.../server.cpp");
    // the runtimes' and libc's own sources print as "../sysdeps/...".
    if(f.file.empty() || f.file.rfind("/usr/", 0) == 0 || f.file.rfind("../", 0) == 0 || f.file.rfind("./", 0) == 0)
        return false;
    return f.file.find("harness/support/") == std::string::npos;
}

const frame* first_own(const stack& s)
{
    for(auto& f : s.frames)
        if(own_code(f) && f.function != "main")
            return &f;
    return nullptr;
}

const frame* telling_frame(const stack& s)
{
    for(auto& f : s.frames)
    {
        const auto fn = short_function(f.function);
        if(f.file.rfind("../", 0) == 0 || fn.empty() || fn.rfind("std::", 0) == 0 || fn.rfind("__", 0) == 0 ||
           fn.rfind("operator new", 0) == 0 || fn.rfind("operator delete", 0) == 0 || fn == "malloc" || fn == "free" ||
           fn == "calloc" || fn == "realloc" || fn == "pthread_create" || fn.find("::detail::") != std::string::npos)
            continue;
        return &f;
    }
    return nullptr;
}

std::vector<finding> merge(std::vector<finding> findings)
{
    auto key = [](const finding& f) {
        std::string k = f.tool + "|" + f.kind + (f.stacks.empty() ? "|" + f.message : std::string());
        for(std::size_t i = 0; i < f.stacks.size() && i < 2; ++i)
        {
            const frame* o = first_own(f.stacks[i]);
            k += "|" + (o                               ? o->file + ":" + std::to_string(o->line)
                        : f.stacks[i].frames.empty() ? std::string()
                                                     : f.stacks[i].frames.front().function);
        }
        return k;
    };
    std::vector<finding> out;
    std::map<std::string, std::size_t> at;
    for(auto& f : findings)
    {
        auto [it, fresh] = at.emplace(key(f), out.size());
        if(fresh)
        {
            out.push_back(std::move(f));
            continue;
        }
        auto& into = out[it->second];
        into.count += f.count;
        into.bytes += f.bytes;
        into.objects += f.objects;
    }
    // Errors first (a use after free, a race), then direct leaks, descriptors left open, then
    // indirect leaks (memory only a leaked object pointed to); within each, the most reported,
    // then the most bytes.
    auto rank = [](const finding& f) {
        const auto& k = f.kind;
        if(k == "indirect leak" || k == "indirectly lost" || k == "possibly lost" || k == "still reachable")
            return 3;
        if(k == "open descriptor")
            return 2;
        return k == "direct leak" || k == "definitely lost" ? 1 : 0;
    };
    std::stable_sort(out.begin(), out.end(), [&](auto& a, auto& b) {
        if(rank(a) != rank(b))
            return rank(a) < rank(b);
        if(a.count != b.count)
            return a.count > b.count;
        return a.bytes > b.bytes;
    });
    return out;
}

std::string short_function(std::string_view name)
{
    std::string out;
    int angle = 0, paren = 0;
    for(std::size_t i = 0; i < name.size(); ++i)
    {
        const char c = name[i];
        // "operator()", "operator<", "operator<<" are names, not brackets.
        if(angle == 0 && paren == 0 && name.substr(i).rfind("operator", 0) == 0)
        {
            std::size_t j = i + 8;
            std::string op = "operator";
            if(name.substr(j, 2) == "()")
                op += "()", j += 2;
            else
                while(j < name.size() && std::string_view("<>=!+-*/%&|^[]~").find(name[j]) != std::string_view::npos &&
                      !(name[j] == '(' ))
                    op += name[j++];
            out += op;
            i = j - 1;
            continue;
        }
        if(c == '<')
            ++angle;
        else if(c == '>' && angle > 0)
            --angle;
        else if(c == '(' && angle == 0)
            ++paren;
        else if(c == ')' && angle == 0 && paren > 0)
            --paren;
        else if(angle == 0 && paren == 0)
            out += c;
    }
    // "{lambda#1}" keeps its number; a trailing " const" goes, and so does the " [clone .actor]"
    // GCC gives the function a coroutine's body is compiled into.
    for(std::string_view tail : {" [clone .actor]", " const", " &&", " &"})
        if(out.size() > tail.size() && out.compare(out.size() - tail.size(), tail.size(), tail) == 0)
            out.erase(out.size() - tail.size());
    return out;
}

std::string grouped(std::int64_t v)
{
    std::string digits = std::to_string(v < 0 ? -v : v);
    for(int i = int(digits.size()) - 3; i > 0; i -= 3)
        digits.insert(std::size_t(i), ",");
    return (v < 0 ? "-" : "") + digits;
}

std::string where(const frame& f, const fs::path& root)
{
    std::string file = f.file;
    const std::string prefix = root.empty() ? std::string() : (root.string().back() == '/' ? root.string() : root.string() + "/");
    if(!prefix.empty() && file.rfind(prefix, 0) == 0)
        file = file.substr(prefix.size());
    // Line 0: the file is known and the line is not.
    std::string out = file.empty() ? std::string() : f.line == 0 ? file : file + ":" + std::to_string(f.line);
    const auto fn = short_function(f.function);
    if(!fn.empty())
        out += (out.empty() ? "" : " in ") + fn;
    return out;
}

std::string headline(const finding& f, const fs::path& root)
{
    // The kit's own finding: the server's code turns an instrument off (tools/tampering.hpp).
    if(f.tool == "leaklab" && !f.stacks.empty() && !f.stacks.front().frames.empty())
    {
        auto at = f.stacks.front().frames.front();
        at.function.clear();
        return "the server's own code tampers with the instruments at " + where(at, root) + ": " + f.message;
    }
    std::string out = f.tool + " " + f.kind;
    const frame* site = nullptr;
    for(auto& s : f.stacks)
        if((site = first_own(s)))
            break;
    if(site)
        out += " at " + where(*site, root);
    else if(!f.stacks.empty())
    {
        if(const frame* t = telling_frame(f.stacks.front()))
            out += " in " + where(*t, root);
    }
    else if(!f.message.empty())
        out += ": " + f.message;
    if(f.bytes_per_op > 0 || f.tool == "tasks")
        out += " (" + f.message + ")";
    else if(f.bytes)
        out += " (" + std::to_string(f.bytes) + " bytes in " + std::to_string(f.objects) + " objects)";
    if(f.count > 1)
        out += ", " + std::to_string(f.count) + " reports";
    return out;
}

namespace {

std::vector<fs::path> report_files(const fs::path& log_dir, const fs::path& stderr_log)
{
    std::vector<fs::path> files;
    std::error_code ec;
    if(!log_dir.empty() && fs::is_directory(log_dir, ec))
        for(auto& e : fs::directory_iterator(log_dir, ec))
        {
            const auto name = e.path().filename().string();
            for(const char* prefix : {"asan.", "tsan.", "ubsan."})
                if(name.rfind(prefix, 0) == 0)
                    files.push_back(e.path());
        }
    std::sort(files.begin(), files.end());
    if(!stderr_log.empty() && fs::exists(stderr_log, ec))
        files.push_back(stderr_log);
    return files;
}


} // namespace

std::vector<finding> read_run_reports(const fs::path& log_dir, const fs::path& stderr_log)
{
    std::vector<finding> all;
    for(auto& file : report_files(log_dir, stderr_log))
    {
        auto some = parse_reports(process::read_text(file));
        all.insert(all.end(), std::make_move_iterator(some.begin()), std::make_move_iterator(some.end()));
    }
    symbolize(all, log_dir.empty() ? fs::temp_directory_path() : log_dir);
    return merge(std::move(all));
}

std::vector<std::string> summary_lines(const fs::path& log_dir, const fs::path& stderr_log)
{
    std::vector<std::string> out;
    for(auto& file : report_files(log_dir, stderr_log))
    {
        std::ifstream in(file);
        for(std::string line; std::getline(in, line) && out.size() < 20;)
            if(line.rfind("SUMMARY: ", 0) == 0 && line.find("Sanitizer") != std::string::npos &&
               std::find(out.begin(), out.end(), line) == out.end())
                out.push_back(line);
    }
    return out;
}

} // namespace leaklab::tools
