// leaklab hint NN [--level N]: the hint ladder, one step at a time; the step after
// the last hint is the principle. leaklab explain NN: the principle alone.
#include "leaklab/cli/common.hpp"

#include <iostream>

namespace leaklab::cli {

namespace {

void print_principle(const labs::manifest& lab)
{
    std::cout << "the principle behind lab " << lab.id << ":\n\n";
    for(auto& para : lab.principle)
        std::cout << para << "\n\n";
    if(!lab.upstream.empty())
    {
        std::cout << "in the wild:\n";
        for(auto& u : lab.upstream)
            std::cout << "  - " << u << "\n";
        std::cout << "\n";
    }
}

} // namespace

int cmd_hint(const std::vector<std::string>& args)
{
    common c;
    std::string lab_name;
    std::size_t level = 1;
    po::options_description d = common_options(c, opts_base);
    d.add_options()("lab", po::value<std::string>(&lab_name), "the lab")
                   ("level", po::value<std::size_t>(&level),
                    "how far down the ladder: 1 = the gentlest hint; the level after the last hint is the principle");
    po::positional_options_description pos;
    pos.add("lab", 1);
    auto vm = parse(args, d, pos, c, "hint <lab> [--level N]");
    if(lab_name.empty())
        throw usage_error("which lab? e.g. `leaklab hint 01`");
    auto lab = labs::find_lab(c.root, lab_name);
    const std::size_t hints = lab.hints.size();
    const std::size_t top = hints + (lab.principle.empty() ? 0 : 1);
    if(top == 0)
    {
        std::cout << "lab " << lab.id << " has no hints.\n";
        return 0;
    }
    if(vm.count("level") && (level < 1 || level > top))
        throw usage_error("--level wants 1 to " + std::to_string(top) + " for lab " + lab.id + " (" +
                          std::to_string(hints) + " hints" + (lab.principle.empty() ? "" : ", then the principle") +
                          "), not " + std::to_string(level));
    for(std::size_t i = 0; i < std::min(level, hints); ++i)
        std::cout << "hint " << i + 1 << "/" << hints << ": " << lab.hints[i] << "\n\n";
    if(level > hints)
        print_principle(lab);
    else if(level < hints)
        std::cout << "(more: leaklab hint " << lab.id << " --level " << level + 1 << ")\n";
    else if(!lab.principle.empty())
        std::cout << "(the principle behind the fix, once you have tried: leaklab hint " << lab.id << " --level "
                  << top << ")\n";
    return 0;
}

int cmd_explain(const std::vector<std::string>& args)
{
    common c;
    std::string lab_name;
    po::options_description d = common_options(c, opts_base);
    d.add_options()("lab", po::value<std::string>(&lab_name), "the lab");
    po::positional_options_description pos;
    pos.add("lab", 1);
    parse(args, d, pos, c, "explain <lab>");
    if(lab_name.empty())
        throw usage_error("which lab? e.g. `leaklab explain 01`");
    auto lab = labs::find_lab(c.root, lab_name);
    if(lab.principle.empty())
    {
        std::cout << "lab " << lab.id << " has no principle written down; its solution is in solutions/" << lab.name()
                  << "/\n";
        return 0;
    }
    print_principle(lab);
    return 0;
}

} // namespace leaklab::cli
