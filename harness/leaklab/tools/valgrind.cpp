#include "leaklab/tools/valgrind.hpp"

#include "leaklab/process/child.hpp"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace leaklab::tools {

namespace fs = std::filesystem;
namespace pt = boost::property_tree;

namespace {

std::string kind_name(const std::string& kind)
{
    if(kind == "Leak_DefinitelyLost")
        return "definitely lost";
    if(kind == "Leak_IndirectlyLost")
        return "indirectly lost";
    if(kind == "Leak_PossiblyLost")
        return "possibly lost";
    if(kind == "Leak_StillReachable")
        return "still reachable";
    if(kind == "InvalidRead")
        return "invalid read";
    if(kind == "InvalidWrite")
        return "invalid write";
    if(kind == "InvalidFree")
        return "invalid free";
    if(kind == "MismatchedFree")
        return "mismatched free";
    if(kind == "UninitCondition" || kind == "UninitValue")
        return "uninitialised value";
    std::string out;
    for(char c : kind)
        out += (c >= 'A' && c <= 'Z') ? std::string(out.empty() ? "" : " ") + char(c - 'A' + 'a') : std::string(1, c);
    return out;
}

stack read_stack(const pt::ptree& s, const std::string& title)
{
    stack out{title, {}};
    std::size_t i = 0;
    for(auto& [name, f] : s)
    {
        if(name != "frame")
            continue;
        frame fr;
        fr.index = i++;
        fr.function = f.get<std::string>("fn", "");
        const auto dir = f.get<std::string>("dir", "");
        const auto file = f.get<std::string>("file", "");
        if(!file.empty())
            fr.file = dir.empty() ? file : dir + "/" + file;
        fr.line = f.get<unsigned>("line", 0);
        fr.module = f.get<std::string>("obj", "");
        out.frames.push_back(fr);
    }
    return out;
}

} // namespace

std::vector<finding> parse_memcheck_xml(std::string_view xml)
{
    pt::ptree tree;
    std::istringstream in{std::string(xml)};
    try
    {
        pt::read_xml(in, tree);
    }
    catch(const pt::xml_parser_error& e)
    {
        throw std::runtime_error(std::string("memcheck's XML does not parse: ") + e.what());
    }
    std::vector<finding> out;
    const auto* root = tree.get_child_optional("valgrindoutput").get_ptr();
    if(!root)
        return out;
    for(auto& [name, e] : *root)
    {
        if(name != "error")
            continue;
        finding f;
        f.tool = "memcheck";
        f.kind = kind_name(e.get<std::string>("kind", ""));
        f.message = e.get<std::string>("what", e.get<std::string>("xwhat.text", ""));
        f.bytes = e.get<std::uint64_t>("xwhat.leakedbytes", 0);
        f.objects = e.get<std::uint64_t>("xwhat.leakedblocks", 0);
        // Stacks in order, each titled by the text before it: the error, then each auxwhat.
        std::string title = f.kind.find("lost") != std::string::npos || f.kind == "still reachable" ? "allocated from:" : "at:";
        for(auto& [child, c] : e)
        {
            if(child == "auxwhat")
                title = c.get_value<std::string>() + ":";
            else if(child == "stack")
            {
                f.stacks.push_back(read_stack(c, title));
                title = "and:";
            }
        }
        out.push_back(std::move(f));
    }
    return out;
}

std::vector<finding> parse_memcheck_fds(std::string_view log)
{
    // "==12== Open AF_INET socket 7: 127.0.0.1:80 <-> 127.0.0.1:5555", "==12== Open file descriptor 5: /tmp/x",
    // then "==12==    at 0x4C3F0A7: open (open64.c:41)" / "by 0x...: fn (in /lib/libc.so.6)".
    static const std::regex open_re(R"(^==\d+== Open (.*?)(\d+): ?(.*)$)");
    static const std::regex frame_re(R"(^==\d+==\s+(at|by) 0x[0-9A-Fa-f]+: (.*?)(?: \(([^()]*?):(\d+)\)| \(in ([^()]*)\))?$)");
    std::vector<finding> out;
    finding* current = nullptr;
    std::istringstream in{std::string(log)};
    for(std::string line; std::getline(in, line);)
    {
        std::smatch m;
        if(std::regex_match(line, m, open_re))
        {
            current = nullptr;
            const std::string rest = m[3].str();
            if(rest.find("<inherited from parent>") != std::string::npos)
                continue;
            out.push_back({});
            current = &out.back();
            current->tool = "memcheck";
            current->kind = "open descriptor";
            // What is open: a file's path, or a socket's kind (its ports differ every time).
            const std::string what = m[1].str();
            current->message = what.find("socket") != std::string::npos || rest.empty() ? what.substr(0, what.size() - 1) : rest;
            current->objects = 1;
            current->stacks.push_back({"opened at:", {}});
            continue;
        }
        if(!current)
            continue;
        // Inherited from leaklab (its pipes and files) or valgrind's own log: not the server's.
        if(line.find("<inherited from parent>") != std::string::npos)
        {
            out.pop_back();
            current = nullptr;
            continue;
        }
        if(std::regex_match(line, m, frame_re))
        {
            frame f;
            f.index = current->stacks.back().frames.size();
            f.function = m[2].str();
            if(m[3].matched)
            {
                f.file = m[3].str();
                f.line = static_cast<unsigned>(std::stoul(m[4].str()));
            }
            if(m[5].matched)
                f.module = m[5].str();
            current->stacks.back().frames.push_back(f);
        }
        else
            current = nullptr;
    }
    // Under --xml=yes memcheck 3.19 lists no stack for a descriptor: the finding is what is open.
    for(auto& f : out)
        if(f.stacks.back().frames.empty())
            f.stacks.clear();
    return out;
}

std::vector<finding> read_memcheck_reports(const fs::path& log_dir)
{
    std::vector<finding> all;
    std::error_code ec;
    if(!fs::is_directory(log_dir, ec))
        return all;
    std::vector<fs::path> files;
    for(auto& e : fs::directory_iterator(log_dir, ec))
        if(e.path().filename().string().rfind("valgrind.", 0) == 0)
            files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for(auto& file : files)
    {
        const auto text = process::read_text(file);
        auto some = file.extension() == ".xml" ? parse_memcheck_xml(text) : parse_memcheck_fds(text);
        all.insert(all.end(), std::make_move_iterator(some.begin()), std::make_move_iterator(some.end()));
    }
    return merge(std::move(all));
}

bool memcheck_program_ended(const fs::path& log_dir, int pid)
{
    const auto file = log_dir / ("valgrind." + std::to_string(pid) + ".xml");
    std::error_code ec;
    return fs::exists(file, ec) && process::read_text(file).find("<state>FINISHED</state>") != std::string::npos;
}

} // namespace leaklab::tools
