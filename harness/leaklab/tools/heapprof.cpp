#include "leaklab/tools/heapprof.hpp"

#include "leaklab/process/child.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace leaklab::tools {

namespace fs = std::filesystem;

namespace {

// "1213500  (000055802991cbbf) /usr/include/c++/12/bits/basic_string.tcc:156:std::...::_M_create"
// or, for a caller, the same without the bytes. pprof prints "??:0:_start" when it does not know.
bool parse_stack_line(const std::string& line, std::optional<std::int64_t>& bytes, frame& f, std::uint64_t& address)
{
    static const std::regex re(R"(^(-?\d+)?\s+\(([0-9a-fA-F]+)\) (.*?):(\d+):(.*)$)");
    std::smatch m;
    if(!std::regex_match(line, m, re))
        return false;
    bytes = m[1].matched ? std::optional<std::int64_t>(std::stoll(m[1].str())) : std::nullopt;
    address = std::stoull(m[2].str(), nullptr, 16);
    f = frame{};
    f.file = m[3].str() == "??" ? "" : m[3].str();
    f.line = static_cast<unsigned>(std::stoul(m[4].str()));
    f.function = m[5].str();
    return true;
}

std::string bytes_per_op_text(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, v >= 100 ? "%.0f" : "%.1f", v);
    return buf;
}

} // namespace

std::vector<heap_stack> parse_pprof_stacks(std::string_view text)
{
    std::vector<heap_stack> out;
    std::istringstream in{std::string(text)};
    for(std::string line; std::getline(in, line);)
    {
        while(!line.empty() && line.back() == '\r')
            line.pop_back();
        std::optional<std::int64_t> bytes;
        frame f;
        std::uint64_t address = 0;
        if(!parse_stack_line(line, bytes, f, address))
            continue;
        // A line with bytes opens a stack; the lines after it are its callers.
        if(bytes)
            out.push_back({*bytes, {"allocated from:", {}}, {}});
        else if(out.empty())
            continue;
        f.index = out.back().frames.frames.size();
        out.back().frames.frames.push_back(std::move(f));
        out.back().addresses.push_back(address);
    }
    return out;
}

std::map<std::pair<std::string, unsigned>, heap_site> sites_by_line(const std::vector<heap_stack>& stacks)
{
    // Each stack's bytes, on its first frame in the server's own code.
    std::map<std::pair<std::string, unsigned>, heap_site> by_line;
    std::map<std::pair<std::string, unsigned>, std::int64_t> largest;
    for(auto& s : stacks)
    {
        const frame* own = first_own(s.frames);
        if(!own)
            continue;
        const auto key = std::make_pair(own->file, own->line);
        auto& site = by_line[key];
        site.bytes += s.bytes;
        site.keys.push_back(raw_key(s));
        // The site's stack and function: those of the stack through it with the most bytes.
        if(site.stacks++ == 0 || s.bytes > largest[key])
        {
            largest[key] = s.bytes;
            site.site = *own;
            site.largest = s.frames;
        }
    }
    return by_line;
}

std::vector<heap_site> growing_sites(const std::vector<heap_stack>& stacks, std::size_t ops)
{
    auto by_line = sites_by_line(stacks);
    std::vector<heap_site> out;
    for(auto& [key, site] : by_line)
        if(site.bytes > 0)
        {
            site.bytes_per_op = ops > 0 ? double(site.bytes) / double(ops) : 0;
            out.push_back(std::move(site));
        }
    std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.bytes > b.bytes; });
    return out;
}

heap_site outside_own(const std::vector<heap_stack>& stacks, std::size_t ops)
{
    // The last profile's own text, held while it is written, is the measurement's, not the server's.
    auto profile_text = [](const stack& s) {
        return std::any_of(s.frames.begin(), s.frames.end(), [](auto& f) { return f.function == "GetHeapProfile"; });
    };
    heap_site out;
    std::int64_t largest = 0;
    for(auto& s : stacks)
    {
        if(first_own(s.frames) || profile_text(s.frames))
            continue;
        out.bytes += s.bytes;
        ++out.stacks;
        if(s.bytes > largest)
            if(const frame* t = telling_frame(s.frames))
            {
                largest = s.bytes;
                out.site = *t;
                out.largest = s.frames;
            }
    }
    out.bytes = std::max<std::int64_t>(0, out.bytes);
    out.bytes_per_op = ops > 0 ? double(out.bytes) / double(ops) : 0;
    return out;
}

raw_profile parse_raw_profile(std::string_view text)
{
    // "heap profile: ..." opens it; "MAPPED_LIBRARIES:" ends the stacks.
    if(text.rfind("heap profile:", 0) != 0)
        throw std::runtime_error("not a heap profile (no \"heap profile:\" header)");
    raw_profile out;
    std::istringstream in{std::string(text)};
    std::string line;
    std::getline(in, line);
    while(std::getline(in, line) && line.rfind("MAPPED_LIBRARIES:", 0) != 0)
    {
        // "  inuse_objects: inuse_bytes [alloc_objects: alloc_bytes] @ addresses"
        const auto colon = line.find(':');
        const auto at = line.find(" @ ");
        if(colon == std::string::npos || at == std::string::npos)
            continue;
        const std::int64_t bytes = std::stoll(line.substr(colon + 1));
        std::vector<std::uint64_t> key;
        std::istringstream addresses(line.substr(at + 3));
        for(std::string a; addresses >> a;)
            key.push_back(std::stoull(a, nullptr, 16));
        out[key] += bytes;
    }
    return out;
}

raw_profile read_raw_profile(const fs::path& file)
{
    const auto text = process::read_text(file);
    if(text.empty())
        throw std::runtime_error("cannot read the heap profile " + file.string());
    return parse_raw_profile(text);
}

std::vector<std::uint64_t> raw_key(const heap_stack& s)
{
    std::vector<std::uint64_t> key = s.addresses;
    for(std::size_t i = 1; i < key.size(); ++i)
        ++key[i];
    return key;
}

std::int64_t bytes_at(const heap_site& s, const raw_profile& p)
{
    std::int64_t sum = 0;
    for(auto& key : s.keys)
        if(auto it = p.find(key); it != p.end())
            sum += it->second;
    return sum;
}

std::vector<heap_stack> diff_profiles(const fs::path& binary, const fs::path& base, const fs::path& final_profile,
                                      const fs::path& work_dir)
{
    // --lines: file:line for every frame; --show_bytes: bytes, not megabytes; --stacks: each stack whole.
    const std::vector<std::string> argv = {"google-pprof", "--text", "--stacks", "--lines", "--show_bytes",
                                           "--base=" + base.string(), binary.string(), final_profile.string()};
    auto out = process::capture_command(argv, work_dir / "pprof.txt", std::chrono::seconds(120));
    if(!out)
        throw std::runtime_error("google-pprof could not diff " + base.filename().string() + " and " +
                                 final_profile.filename().string() + " (see " + (work_dir / "pprof.txt").string() + ")");
    return parse_pprof_stacks(*out);
}

finding as_finding(const heap_site& s, std::size_t ops, const std::string& tool)
{
    finding f;
    f.tool = tool;
    f.kind = "heap growth";
    f.message = grouped(s.bytes) + " bytes more over " + grouped(std::int64_t(ops)) + " operations, " +
                bytes_per_op_text(s.bytes_per_op) + " B/op";
    f.bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.bytes));
    f.bytes_per_op = s.bytes_per_op;
    f.stacks.push_back(s.largest);
    f.stacks.back().title = "grows from:";
    return f;
}

std::string describe(const heap_site& s, const fs::path& root)
{
    return where(s.site, root) + ": " + grouped(s.bytes) + " bytes, " + bytes_per_op_text(s.bytes_per_op) + " B/op";
}

} // namespace leaklab::tools
