#include "leaklab/tools/tasks.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace leaklab::tools {

namespace fs = std::filesystem;

namespace {

std::string count_per_op_text(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

// "awaited=14" -> 14
std::uint32_t id_field(const std::string& word, const std::string& name)
{
    if(word.rfind(name + "=", 0) != 0)
        throw std::runtime_error("not a pending-operations dump: expected " + name + "=ID, got \"" + word + "\"");
    return static_cast<std::uint32_t>(std::stoul(word.substr(name.size() + 1)));
}

bool is_coroutine(const std::string& kind)
{
    return kind.rfind("coroutine.", 0) == 0;
}

} // namespace

pending_dump parse_pending_dump(std::string_view text)
{
    std::istringstream in{std::string(text)};
    std::string line;
    if(!std::getline(in, line) || line.rfind("labkit-pending 1", 0) != 0)
        throw std::runtime_error("not a pending-operations dump (no \"labkit-pending 1\" line)");
    pending_dump d;
    std::vector<std::string> modules;
    while(std::getline(in, line))
    {
        std::istringstream words(line);
        std::string what;
        words >> what;
        if(what == "pending")
            words >> d.pending;
        else if(what == "module")
        {
            std::size_t i = 0;
            words >> i;
            std::string path;
            std::getline(words >> std::ws, path);
            if(modules.size() <= i)
                modules.resize(i + 1);
            modules[i] = path;
        }
        else if(what == "stack")
        {
            std::uint32_t id = 0;
            words >> id;
            stack s;
            for(std::string a; words >> a;)
            {
                frame f;
                f.index = s.frames.size();
                if(const auto colon = a.find(':'); colon != std::string::npos)
                {
                    const auto m = std::stoul(a.substr(0, colon));
                    f.module = m < modules.size() ? modules[m] : "";
                    f.offset = std::stoull(a.substr(colon + 1), nullptr, 16);
                }
                s.frames.push_back(std::move(f));
            }
            d.stacks[id] = std::move(s);
        }
        else if(what == "group")
        {
            pending_dump::group g;
            std::string a, c, f;
            words >> g.count >> g.kind >> a >> c >> f;
            g.awaited = id_field(a, "awaited");
            g.created = id_field(c, "created");
            g.from = id_field(f, "from");
            d.groups.push_back(std::move(g));
        }
    }
    return d;
}

namespace {

// Every stack of the dumps as one finding's stacks, changed by `f` and put back.
template <class F>
void on_stacks(std::vector<pending_dump*> dumps, F f)
{
    std::vector<finding> all(1);
    for(auto* d : dumps)
        for(auto& [id, s] : d->stacks)
            all[0].stacks.push_back(s);
    f(all);
    std::size_t i = 0;
    for(auto* d : dumps)
        for(auto& [id, s] : d->stacks)
            s = all[0].stacks[i++];
}

// Where a site is, so that the same site in two dumps is one. The function too: sites whose
// line is not known are told apart by it.
std::string key(const pending_site& s)
{
    return s.kind + "|" + s.how + "|" + s.site.file + ":" + std::to_string(s.site.line) + "|" + short_function(s.site.function);
}

} // namespace

void resolve(pending_dump& d, const fs::path& work_dir)
{
    // One batch: symbolize() runs addr2line once per binary over every stack.
    on_stacks({&d}, [&](std::vector<finding>& all) { symbolize(all, work_dir); });
}

void resolve(std::vector<pending_dump>& dumps, const fs::path& work_dir)
{
    std::vector<pending_dump*> all;
    for(auto& d : dumps)
        all.push_back(&d);
    on_stacks(all, [&](std::vector<finding>& stacks) { symbolize(stacks, work_dir); });
}

void resolve(pending_dump& d, const symbol_table& table)
{
    on_stacks({&d}, [&](std::vector<finding>& all) { apply_symbols(all, table); });
}

std::string kind_label(const std::string& kind)
{
    if(is_coroutine(kind))
        return "coroutine";
    const auto dot = kind.find('.');
    std::string object = kind.substr(0, dot);
    const std::string op = dot == std::string::npos ? "" : kind.substr(dot + 1);
    // Asio names every waitable timer's service after the oldest of them.
    if(object == "deadline_timer")
        object = "timer";
    return op.empty() ? object : object + " " + op;
}

std::vector<pending_site> sites_of(const pending_dump& d)
{
    auto stack_of = [&](std::uint32_t id) -> const stack* {
        auto it = id ? d.stacks.find(id) : d.stacks.end();
        return it == d.stacks.end() ? nullptr : &it->second;
    };
    std::vector<pending_site> out;
    for(auto& g : d.groups)
    {
        pending_site s;
        s.kind = g.kind;
        s.final_count = g.count;
        const std::pair<std::uint32_t, const char*> tries[] = {
            {g.awaited, "awaited at"},
            {g.created, is_coroutine(g.kind) ? "spawned at" : "created at"},
            {g.from, "follows an operation from"}};
        bool found = false;
        for(auto& [id, how] : tries)
            if(const stack* st = stack_of(id))
                if(const frame* own = first_own(*st))
                {
                    s.how = how;
                    s.site = *own;
                    s.largest = *st;
                    found = true;
                    break;
                }
        if(!found)
        {
            // No stack reaches the server's own code: the frame that says most of the first one.
            s.own = false;
            for(auto& [id, how] : tries)
                if(const stack* st = stack_of(id))
                {
                    s.how = how;
                    s.largest = *st;
                    if(const frame* t = telling_frame(*st))
                        s.site = *t;
                    break;
                }
        }
        // GCC 12 gives a call made inside a co_await the coroutine's closing line (seen in every
        // coroutine lab): the coroutine is named, the line is not. A stack captured by
        // labkit::no_throw is always such a call.
        if(s.own && s.how == "awaited at")
        {
            for(auto& f : s.largest.frames)
                if(f.index == s.site.index && f.function == s.site.function && f.line == s.site.line)
                    f.line = 0;
            s.how = "awaited in";
            s.site.line = 0;
        }
        s.largest.title = s.how + ":";
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<pending_site> growing_sites(const std::vector<pending_site>& base, const std::vector<pending_site>& final_sites,
                                        std::size_t ops)
{
    // Groups that land on the same site are one site.
    std::map<std::string, pending_site> by;
    for(auto& s : base)
    {
        auto [it, added] = by.emplace(key(s), s);
        if(added)
            it->second.final_count = 0;
        it->second.base += s.final_count;
    }
    for(auto& s : final_sites)
    {
        auto [it, added] = by.emplace(key(s), s);
        if(added)
            it->second.final_count = 0;
        it->second.final_count += s.final_count;
        it->second.largest = s.largest;
    }
    std::vector<pending_site> out;
    for(auto& [k, s] : by)
        if(s.final_count > s.base)
        {
            s.per_op = ops > 0 ? double(s.final_count - s.base) / double(ops) : 0;
            out.push_back(s);
        }
    // Largest growth first; an operation before the coroutine waiting on it.
    std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) {
        const auto ga = a.final_count - a.base, gb = b.final_count - b.base;
        if(ga != gb)
            return ga > gb;
        return !is_coroutine(a.kind) && is_coroutine(b.kind);
    });
    return out;
}

std::int64_t count_at(const pending_site& site, const std::vector<pending_site>& dump)
{
    const auto k = key(site);
    std::int64_t n = 0;
    for(auto& s : dump)
        if(key(s) == k)
            n += s.final_count;
    return n;
}

finding as_finding(const pending_site& s, std::size_t ops)
{
    finding f;
    f.tool = "tasks";
    f.kind = is_coroutine(s.kind) ? "live coroutines" : "pending operations";
    f.message = "+" + grouped(s.final_count - s.base) + " " + kind_label(s.kind) + " (" + grouped(s.base) + " after the warm-up, " +
                grouped(s.final_count) + " at the end, " + grouped(std::int64_t(ops)) + " operations apart), " +
                count_per_op_text(s.per_op) + " per op";
    f.count = 1;
    f.stacks.push_back(s.largest);
    return f;
}

std::string describe(const pending_site& s, const fs::path& root)
{
    const std::string at = where(s.site, root);
    return "+" + grouped(s.final_count - s.base) + " " + kind_label(s.kind) + " " +
           (s.own ? s.how + " " : "outside the lab's code, " + s.how + " ") + (at.empty() ? "an unknown frame" : at) + ": " +
           count_per_op_text(s.per_op) + " per op";
}

} // namespace leaklab::tools
