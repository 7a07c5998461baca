// leaklab clean [lab] [--source DIR] [--dry-run]: removes the build trees of student
// copies (build/<preset>/student/*, one per --source folder): all of them, one lab's,
// or one copy's, and says how much it freed.
#include "leaklab/cli/common.hpp"

#include "leaklab/labs/build.hpp"
#include "leaklab/labs/manifest.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <iostream>
#include <set>

namespace leaklab::cli {

namespace {

// Disk space under a path, as du counts it (allocated blocks, links not followed).
std::uintmax_t disk_usage(const fs::path& p)
{
    struct stat st{};
    if(::lstat(p.c_str(), &st) != 0)
        return 0;
    std::uintmax_t total = std::uintmax_t(st.st_blocks) * 512;
    if(S_ISDIR(st.st_mode))
    {
        std::error_code ec;
        for(fs::directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec))
            total += disk_usage(it->path());
    }
    return total;
}

// The leaklab build trees to clean: the one named, or every one under build/ and leaklab's own.
std::vector<fs::path> trees(const common& c)
{
    std::vector<fs::path> candidates;
    if(!c.build_dir.empty())
        candidates.push_back(c.build_dir);
    else if(!c.preset.empty())
        candidates.push_back(c.root / "build" / c.preset);
    else
    {
        std::error_code ec;
        for(fs::directory_iterator it(c.root / "build", ec), end; !ec && it != end; it.increment(ec))
            candidates.push_back(it->path());
        try
        {
            candidates.push_back(labs::open_build_tree(c.root, "", "", true, true).dir);
        }
        catch(const std::exception&)
        {
        }
    }
    std::vector<fs::path> out;
    std::set<fs::path> seen;
    for(auto& d : candidates)
    {
        std::error_code ec;
        auto canon = fs::weakly_canonical(d, ec);
        if(ec || !fs::exists(canon / "leaklab-build.json") || !seen.insert(canon).second)
        {
            if(!c.build_dir.empty() || !c.preset.empty())
                throw usage_error(d.string() + " is not a leaklab build tree (no leaklab-build.json)");
            continue;
        }
        out.push_back(canon);
    }
    return out;
}

} // namespace

int cmd_clean(const std::vector<std::string>& args)
{
    common c;
    bool dry_run = false;
    std::string lab_name;
    po::options_description d = common_options(c, opts_build);
    d.add_options()
        ("lab", po::value<std::string>(&lab_name), "only this lab's student trees (default: every lab's)")
        ("source", po::value<std::string>(), "only the tree of this copy (needs the lab)")
        ("dry-run,n", po::bool_switch(&dry_run), "only say what would be removed and how much it holds");
    po::positional_options_description pos;
    pos.add("lab", 1);
    auto vm = parse(args, d, pos, c, "clean [lab] [--source DIR] [--dry-run] [--preset P | --build-dir DIR]");
    // The trees to keep out of it: by lab (its id starts the folder's name) or by copy.
    std::string only;
    bool exact = false;
    if(!lab_name.empty())
    {
        auto lab = labs::find_lab(c.root, lab_name);
        only = lab.id + "-";
        if(vm.count("source"))
        {
            only = labs::student_tree_name(lab.id, vm["source"].as<std::string>());
            exact = true;
        }
    }
    else if(vm.count("source"))
        throw usage_error("--source needs the lab too, e.g. `leaklab clean 01 --source ~/lab01`");

    std::uintmax_t freed = 0, held = 0;
    std::size_t removed = 0, found = 0;
    for(auto& tree : trees(c))
    {
        std::error_code ec;
        for(fs::directory_iterator it(tree / "student", ec), end; !ec && it != end; it.increment(ec))
        {
            auto path = it->path();
            const auto name = path.filename().string();
            if(!only.empty() && (exact ? name != only : !name.starts_with(only)))
                continue;
            auto before = disk_usage(path);
            ++found;
            held += before;
            if(dry_run)
            {
                std::cout << "would remove " << path.string() << " (" << report::format_value(double(before), "bytes")
                          << ")\n";
                continue;
            }
            std::error_code rm;
            fs::remove_all(path, rm);
            auto after = fs::exists(path) ? disk_usage(path) : 0;
            freed += before - std::min(before, after);
            if(rm)
                std::cerr << "leaklab clean: could not remove all of " << path.string() << ": " << rm.message() << '\n';
            else
                ++removed;
            std::cout << "removed " << path.string() << " (" << report::format_value(double(before - after), "bytes")
                      << ")\n";
        }
    }
    if(dry_run)
        std::cout << "clean: " << found << " student build tree" << (found == 1 ? "" : "s") << ", "
                  << report::format_value(double(held), "bytes") << " in all (dry run: nothing removed)\n";
    else
        std::cout << "clean: removed " << removed << " student build tree" << (removed == 1 ? "" : "s") << ", freed "
                  << report::format_value(double(freed), "bytes") << "\n";
    return removed == found || dry_run ? 0 : exit_error;
}

} // namespace leaklab::cli
