// leaklab compare NN: both variants side by side, with an SVG chart per metric.
// as_expected() is shared with verify (verify.cpp).
#include "leaklab/cli/common.hpp"

#include "leaklab/labs/build.hpp"
#include "leaklab/labs/manifest.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <regex>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace leaklab::cli {

namespace json = boost::json;

// The expectation for a variant holds: verdict, and every catalog metric flagged.
bool as_expected(const labs::manifest& lab, const std::string& variant, const run::result& r, std::string& why)
{
    // A wrong fix: rejected, and for the reason it was written to show.
    if(auto* fx = fixture_of(lab, variant))
    {
        const std::string line = one_line(r);
        if(std::find(fx->verdicts.begin(), fx->verdicts.end(), r.verdict) == fx->verdicts.end())
        {
            why = "expected it rejected (" + verdict::to_string(fx->verdicts.front()) + "), got " + line;
            return false;
        }
        if(!std::regex_search(line, std::regex(fx->reason)))
        {
            why = "rejected, but not for the reason expected (/" + fx->reason + "/): " + line;
            return false;
        }
        return true;
    }
    auto& ex = lab.expect.at(variant);
    // A defect only a tool sees: judged by the catch matrix's cell for that tool.
    if(!ex.mode.empty())
    {
        if(r.mode == ex.mode)
            return mode_as_expected(lab, ex.mode, variant, r, why).value_or(false);
        why = "judged by " + ex.mode + " alone (`leaklab check " + lab.id + " --variant " + variant + " --mode " + ex.mode +
              "`), got " + one_line(r);
        return false;
    }
    // A defect growth cannot see (undefined behaviour): one of its verdicts, for its reason.
    if(!ex.verdicts.empty())
    {
        const std::string line = one_line(r);
        if(std::find(ex.verdicts.begin(), ex.verdicts.end(), r.verdict) == ex.verdicts.end() ||
           !std::regex_search(line, std::regex(ex.reason)))
        {
            why = "expected " + verdict::to_string(ex.verdicts.front()) + " matching /" + ex.reason + "/, got " + line;
            return false;
        }
        return true;
    }
    if(r.verdict != ex.verdict)
    {
        why = "expected " + verdict::to_string(ex.verdict) + ", got " + verdict::to_string(r.verdict) +
              (r.verdict == verdict::outcome::error ? " (" + r.error + ")" : "");
        return false;
    }
    auto flagged = r.flagged();
    auto unjudged = [&](const std::string& name) {
        return std::any_of(r.metrics.begin(), r.metrics.end(), [&](auto& m) { return m.name == name && !m.judged; });
    };
    // A metric this run could not judge (RSS under ASan or qemu) is not expected flagged.
    for(auto& m : ex.flagged)
        if(std::find(flagged.begin(), flagged.end(), m) == flagged.end() && !unjudged(m))
        {
            why = m + " was not flagged";
            return false;
        }
    return true;
}

std::optional<bool> mode_as_expected(const labs::manifest& lab, const std::string& mode, const std::string& variant,
                                     const run::result& r, std::string& why)
{
    if(r.verdict == verdict::outcome::skipped)
    {
        why = r.skipped;
        return std::nullopt;
    }
    const auto& ex = lab.modes.at(mode).at(variant);
    // A leak expected where LeakSanitizer cannot run here (no ptrace): not a pass, not a fail.
    if(auto* m = tools::find_mode(mode))
        if(auto lim = tools::limited(*m, mode_host()); !lim.empty())
            if(std::any_of(ex.finds.begin(), ex.finds.end(), [](auto& k) { return k.find("leak") != std::string::npos; }))
            {
                why = lim;
                return std::nullopt;
            }
    if(r.verdict == verdict::outcome::error)
    {
        why = "the run did not come to a verdict: " + r.error;
        return false;
    }
    if(ex.finds.empty())
    {
        if(!r.findings.empty())
        {
            why = "expected no " + mode + " finding, got " + tools::headline(r.findings.front());
            return false;
        }
        // A fix is clean under the tool, growth and contract included.
        if(variant == "fixed" && r.verdict != verdict::outcome::clean)
        {
            why = "expected clean, got " + one_line(r);
            return false;
        }
        return true;
    }
    for(auto& kind : ex.finds)
        if(std::none_of(r.findings.begin(), r.findings.end(), [&](auto& f) { return f.kind == kind; }))
        {
            why = "expected a " + kind + " finding, got " +
                  (r.findings.empty() ? std::string("none (") + one_line(r) + ")" : tools::headline(r.findings.front()));
            return false;
        }
    if(!ex.site.empty())
    {
        const std::regex site(ex.site);
        // heapprof, heaptrack and tasks list the growing sites largest first: the lab's leak must be the first
        // of them of its kind (tasks: a coroutine's own count and its operation's may tie).
        auto first = r.findings.begin();
        if(mode == "heapprof" || mode == "heaptrack" || mode == "tasks")
            first = std::find_if(r.findings.begin(), r.findings.end(), [&](auto& f) { return f.kind == ex.finds.front(); });
        const auto last = mode == "heapprof" || mode == "heaptrack" || mode == "tasks" ? std::next(first) : r.findings.end();
        const bool at_site = std::any_of(first, last, [&](auto& f) {
            if(f.kind != ex.finds.front())
                return false;
            for(auto& st : f.stacks)
                if(auto* own = tools::first_own(st))
                    return std::regex_search(tools::where(*own), site);
            return false;
        });
        if(!at_site)
        {
            why = "the " + ex.finds.front() + " finding is not at /" + ex.site + "/: " +
                  tools::headline(first != r.findings.end() ? *first : r.findings.front());
            return false;
        }
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
        ("source", po::value<std::string>(), "also run your copy (the lab's student files from this folder) and draw it over leaky and fixed")
        ("out", po::value<std::string>(), "folder for the SVG charts (default: build/<preset>/leaklab-charts/<lab>)")
        ("json", po::value<std::string>(), "also write the results as JSON to this file");
    po::positional_options_description pos;
    pos.add("lab", 1);
    auto vm = parse(args, d, pos, c, "compare <lab> [--source DIR] [--out DIR] [--json FILE]");
    if(lab_name.empty())
        throw usage_error("which lab? e.g. `leaklab compare 01`");
    auto lab = labs::find_lab(c.root, lab_name);
    std::vector<std::pair<std::string, lab_run>> runs;
    runs.emplace_back("leaky", run_lab(lab, "leaky", std::nullopt, c));
    runs.emplace_back("fixed", run_lab(lab, "fixed", std::nullopt, c));
    if(vm.count("source"))
        runs.emplace_back("yours", run_lab(lab, "student", fs::path(vm["source"].as<std::string>()), c));
    auto& leaky = runs[0].second;

    // Side by side: each metric's final value and growth per operation in every run.
    std::cout << "lab " << lab.name() << ": " << lab.title << "\nworkload " << leaky.result.workload << "\n\n";
    std::cout << std::left << std::setw(20) << "metric" << std::right;
    for(auto& [label, lr] : runs)
        std::cout << std::setw(16) << (label + " final") << std::setw(16) << (label + " slope");
    std::cout << '\n';
    for(auto& name : report::chart_metrics([&] {
            std::vector<report::labelled_run> l;
            for(auto& [label, lr] : runs)
                l.push_back({label, &lr.result});
            return l;
        }()))
    {
        std::cout << std::left << std::setw(20) << name << std::right;
        for(auto& [label, lr] : runs)
        {
            auto m = std::find_if(lr.result.metrics.begin(), lr.result.metrics.end(), [&](auto& x) { return x.name == name; });
            if(m == lr.result.metrics.end())
            {
                std::cout << std::setw(16) << "-" << std::setw(16) << "-";
                continue;
            }
            std::ostringstream slope;
            slope << report::format_value(m->slope_per_op, m->unit) << "/op" << (m->flagged ? " *" : "  ");
            std::cout << std::setw(16) << report::format_value(m->final_value, m->unit) << std::setw(16) << slope.str();
        }
        std::cout << '\n';
    }
    std::cout << "(* = grows with every operation)\n\n";
    // The verdict and its reason in one line, whatever it is (BROKEN, FLAGGED and ERROR included).
    auto verdict_word = [](const run::result& r) { return one_line(r); };
    for(auto& [label, lr] : runs)
        std::cout << label << ": " << verdict_word(lr.result) << '\n';

    auto tree = labs::open_build_tree(c.root, c.preset, c.build_dir, true, c.no_build);
    fs::path out = vm.count("out") ? fs::path(vm["out"].as<std::string>()) : tree.dir / "leaklab-charts" / lab.name();
    std::vector<report::labelled_run> labelled;
    for(auto& [label, lr] : runs)
        labelled.push_back({label, &lr.result});
    auto files = report::write_charts(out, leaky.heading, labelled);
    std::cout << "\ncharts (" << files.size() << "): " << out.string() << "/\n";
    for(auto& f : files)
        std::cout << "  " << f.filename().string() << '\n';

    if(vm.count("json"))
    {
        json::object o;
        o["lab"] = lab.name();
        for(auto& [label, lr] : runs)
            o[label == "yours" ? "student" : label] = report::to_json(lr.heading, lr.result);
        report::write_json(vm["json"].as<std::string>(), o);
    }
    for(auto& [label, lr] : runs)
        if(lr.result.verdict == verdict::outcome::error)
            return exit_error;
    std::string why;
    if(!as_expected(lab, "leaky", runs[0].second.result, why) || !as_expected(lab, "fixed", runs[1].second.result, why))
        return exit_leak;
    // With --source, the exit code is your copy's verdict, as with check --source.
    return runs.size() > 2 ? exit_code(runs[2].second.result) : exit_clean;
}

} // namespace leaklab::cli
