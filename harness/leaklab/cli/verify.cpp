// leaklab verify NN|all [--runs N]: every leaky variant is flagged with the catalog's
// metrics and every fix is clean, N times.
#include "leaklab/cli/common.hpp"

#include "leaklab/labs/manifest.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace leaklab::cli {

namespace json = boost::json;

int cmd_verify(const std::vector<std::string>& args)
{
    common c;
    std::string lab_name;
    std::size_t runs = 1;
    po::options_description d = common_options(c);
    d.add_options()
        ("lab", po::value<std::string>(&lab_name), "the lab: 01, its slug, or all")
        ("runs", po::value<std::size_t>(&runs), "runs of each variant (default 1)")
        ("variant", po::value<std::string>(), "only this variant (leaky or fixed)")
        ("json", po::value<std::string>(), "write every run's result as JSON to this file");
    po::positional_options_description pos;
    pos.add("lab", 1);
    auto vm = parse(args, d, pos, c, "verify <lab>|all [--runs N] [--variant V]");
    if(lab_name.empty())
        throw usage_error("which lab? e.g. `leaklab verify 01` or `leaklab verify all`");
    if(runs < 1 || runs > 1000)
        throw usage_error("--runs wants 1 to 1000");
    std::vector<labs::manifest> labs_to_run = lab_name == "all" ? labs::load_all(c.root)
                                                                : std::vector<labs::manifest>{labs::find_lab(c.root, lab_name)};
    std::vector<std::string> variants = {"leaky", "fixed"};
    if(vm.count("variant"))
        variants = {vm["variant"].as<std::string>()};

    std::size_t passed = 0, failed = 0;
    json::array all;
    for(auto& lab : labs_to_run)
        for(auto& variant : variants)
        {
            if(!lab.expect.count(variant))
                throw usage_error("--variant must be leaky or fixed");
            for(std::size_t i = 1; i <= runs; ++i)
            {
                auto lr = run_lab(lab, variant, std::nullopt, c);
                std::string why;
                bool ok = as_expected(lab, variant, lr.result, why);
                (ok ? passed : failed)++;
                std::ostringstream flagged;
                for(auto& n : lr.result.flagged())
                    flagged << (flagged.tellp() ? "," : "") << n;
                std::cout << (ok ? "ok   " : "FAIL ") << lab.id << " " << std::left << std::setw(6) << variant
                          << std::right << " run " << i << "/" << runs << ": " << lr.result.verdict;
                if(!lr.result.flagged().empty())
                    std::cout << " [" << flagged.str() << "]";
                std::cout << std::fixed << std::setprecision(1) << " in " << lr.result.duration_s << " s"
                          << std::defaultfloat << (ok ? "" : "  -- " + why) << std::endl;
                all.push_back(report::to_json(lr.heading, lr.result));
            }
        }
    if(vm.count("json"))
        report::write_json(vm["json"].as<std::string>(), all);
    std::cout << "verify: " << passed << " passed, " << failed << " failed" << std::endl;
    return failed ? 1 : 0;
}

} // namespace leaklab::cli
