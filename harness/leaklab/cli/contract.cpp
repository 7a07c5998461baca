// leaklab contract NN: what the lab's server must keep doing (its promises), and the checks
// that hold it to them. A fix that breaks one is BROKEN (exit 4), whatever it does to growth.
#include "leaklab/cli/common.hpp"

#include "leaklab/labs/manifest.hpp"

#include <iostream>

namespace leaklab::cli {

int cmd_contract(const std::vector<std::string>& args)
{
    common c;
    std::string lab_name;
    po::options_description d = common_options(c, opts_base);
    d.add_options()("lab", po::value<std::string>(&lab_name), "the lab: 01 or its slug");
    po::positional_options_description pos;
    pos.add("lab", 1);
    parse(args, d, pos, c, "contract <lab>");
    if(lab_name.empty())
        throw usage_error("which lab? e.g. `leaklab contract 01`");
    auto lab = labs::find_lab(c.root, lab_name);
    std::cout << "lab " << lab.name() << ": " << lab.title << "\n\n";
    if(!lab.promises.empty())
    {
        std::cout << "Your server must keep its promises:\n";
        for(auto& p : lab.promises)
            std::cout << "  - " << p << '\n';
        std::cout << '\n';
    }
    std::cout << "Checked on every run (a breach ends the run: verdict BROKEN, exit 4):\n";
    for(auto& line : run::describe_checks(lab.plan))
        std::cout << "  - " << line << '\n';
    return 0;
}

} // namespace leaklab::cli
