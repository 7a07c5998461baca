// leaklab compare NN: both variants side by side, with an SVG chart per metric.
// as_expected() is shared with verify (verify.cpp).
#include "leaklab/cli/common.hpp"

#include "leaklab/labs/build.hpp"
#include "leaklab/labs/manifest.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace leaklab::cli {

namespace json = boost::json;

// The expectation for a variant holds: verdict, and every catalog metric flagged.
bool as_expected(const labs::manifest& lab, const std::string& variant, const run::result& r, std::string& why)
{
    auto& ex = lab.expect.at(variant);
    if(r.verdict != ex.verdict)
    {
        why = "expected " + ex.verdict + ", got " + r.verdict + (r.verdict == "error" ? " (" + r.error + ")" : "");
        return false;
    }
    auto flagged = r.flagged();
    for(auto& m : ex.flagged)
        if(std::find(flagged.begin(), flagged.end(), m) == flagged.end())
        {
            why = m + " was not flagged";
            return false;
        }
    return true;
}

int cmd_compare(const std::vector<std::string>& args)
{
    common c;
    std::string lab_name;
    po::options_description d = common_options(c);
    d.add_options()
        ("lab", po::value<std::string>(&lab_name), "the lab: 01 or its slug")
        ("out", po::value<std::string>(), "folder for the SVG charts (default: build/<preset>/leaklab-charts/<lab>)")
        ("json", po::value<std::string>(), "also write both results as JSON to this file");
    po::positional_options_description pos;
    pos.add("lab", 1);
    auto vm = parse(args, d, pos, c, "compare <lab> [--out DIR] [--json FILE]");
    if(lab_name.empty())
        throw usage_error("which lab? e.g. `leaklab compare 01`");
    auto lab = labs::find_lab(c.root, lab_name);
    auto leaky = run_lab(lab, "leaky", std::nullopt, c);
    auto fixed = run_lab(lab, "fixed", std::nullopt, c);

    // Side by side: each metric's growth per operation in both variants.
    std::cout << "lab " << lab.name() << ": " << lab.title << "\nworkload " << leaky.result.workload << "\n\n";
    std::cout << std::left << std::setw(20) << "metric" << std::right << std::setw(16) << "leaky final"
              << std::setw(16) << "leaky slope" << std::setw(16) << "fixed final" << std::setw(16) << "fixed slope" << '\n';
    for(auto& m : leaky.result.metrics)
    {
        auto f = std::find_if(fixed.result.metrics.begin(), fixed.result.metrics.end(), [&](auto& x) { return x.name == m.name; });
        std::ostringstream slope_l, slope_f;
        slope_l << report::format_value(m.slope_per_op, m.unit) << "/op" << (m.flagged ? " *" : "  ");
        std::cout << std::left << std::setw(20) << m.name << std::right << std::setw(16)
                  << report::format_value(m.final_value, m.unit) << std::setw(16) << slope_l.str();
        if(f != fixed.result.metrics.end())
        {
            slope_f << report::format_value(f->slope_per_op, f->unit) << "/op" << (f->flagged ? " *" : "  ");
            std::cout << std::setw(16) << report::format_value(f->final_value, f->unit) << std::setw(16) << slope_f.str();
        }
        std::cout << '\n';
    }
    std::cout << "(* = grows with every operation)\n\n";
    auto verdict_word = [](const run::result& r) {
        return r.verdict == "leak" ? std::string("LEAK") : r.verdict == "clean" ? std::string("CLEAN") : "ERROR: " + r.error;
    };
    std::cout << "leaky: " << verdict_word(leaky.result) << "\nfixed: " << verdict_word(fixed.result) << "\n";

    auto tree = labs::open_build_tree(c.root, c.preset, c.build_dir, true, c.no_build);
    fs::path out = vm.count("out") ? fs::path(vm["out"].as<std::string>()) : tree.dir / "leaklab-charts" / lab.name();
    auto files = report::write_compare_charts(out, leaky.heading, leaky.result, fixed.result);
    std::cout << "\ncharts (" << files.size() << "): " << out.string() << "/\n";
    for(auto& f : files)
        std::cout << "  " << f.filename().string() << '\n';

    if(vm.count("json"))
    {
        json::object o;
        o["lab"] = lab.name();
        o["leaky"] = report::to_json(leaky.heading, leaky.result);
        o["fixed"] = report::to_json(fixed.heading, fixed.result);
        report::write_json(vm["json"].as<std::string>(), o);
    }
    if(leaky.result.verdict == "error" || fixed.result.verdict == "error")
        return exit_error;
    std::string why;
    return as_expected(lab, "leaky", leaky.result, why) && as_expected(lab, "fixed", fixed.result, why) ? 0 : 1;
}

} // namespace leaklab::cli
