// leaklab verify NN|NN,NN|all [--runs N] [--summary] [--no-fixtures] [--modes LIST]: every
// leaky variant is flagged with the catalog's metrics, every fix is clean and every wrong fix
// is rejected for its reason, N times; --summary adds the flip table and each variant's
// narrowest margin (scripts/flake-check.sh prints it). --modes runs the catch matrix: each
// tool mode a lab declares, on its leaky and fixed variants, printed as a table.
#include "leaklab/cli/common.hpp"

#include "leaklab/labs/build.hpp"
#include "leaklab/labs/manifest.hpp"
#include "leaklab/tools/modes.hpp"
#include "leaklab/verdict/metrics.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

namespace leaklab::cli {

namespace json = boost::json;

namespace {

// A number with three significant digits.
std::string num(double v)
{
    std::ostringstream s;
    s << std::setprecision(3) << v;
    return s.str();
}

// How one lab variant did over its runs, and how close it came to the other verdict.
struct tally
{
    std::string lab, variant;
    std::size_t runs = 0, as_expected = 0;
    std::map<std::string, std::size_t> verdicts;
    // Leaky: the weakest evidence any run gave for a metric that must be flagged.
    double min_ratio = std::numeric_limits<double>::infinity(); // slope / threshold (late slope / half threshold)
    double max_p = 0;
    double alpha = 0.001;
    std::string weakest;
    // Fixed: the largest slope any run showed against its threshold.
    double max_ratio = -std::numeric_limits<double>::infinity();
    double p_of_max = 1;
    std::string closest;
    // A wrong fix: the reasons it was rejected for, as counted.
    std::map<std::string, std::size_t> rejected_for;
};

void add_run(tally& t, const labs::manifest& lab, const std::string& variant, const run::result& r, bool ok)
{
    ++t.runs;
    t.as_expected += ok;
    ++t.verdicts[verdict::to_string(r.verdict)];
    if(fixture_of(lab, variant))
    {
        // What rejected it: the breached clause, the flagged metrics, or the error.
        std::string why = r.verdict == verdict::outcome::broken && !r.breaches.empty() ? r.breaches.front().clause
                        : r.verdict == verdict::outcome::leak && !r.stopped_serving.empty() ? std::string("stopped serving")
                        : r.verdict == verdict::outcome::leak && r.flagged().empty() && !r.over_limits.empty()
                            ? "limit: " + r.over_limits.front().clause
                        : r.verdict == verdict::outcome::leak ? [&] {
                              std::string names;
                              for(auto& n : r.flagged())
                                  names += (names.empty() ? "" : ",") + n;
                              return names;
                          }()
                        : verdict::to_string(r.verdict);
        ++t.rejected_for[why];
        return;
    }
    const auto& ex = lab.expect.at(variant);
    for(auto& m : r.metrics)
    {
        if(!m.judged || !(m.threshold > 0))
            continue;
        const bool failures = m.kind == verdict::to_string(verdict::metric_kind::failures);
        const bool must = std::find(ex.flagged.begin(), ex.flagged.end(), m.name) != ex.flagged.end();
        if(ex.verdict == verdict::outcome::leak && must)
        {
            // A server that stopped serving is flagged by that, not by a slope.
            if(failures && !r.stopped_serving.empty())
            {
                if(t.weakest.empty())
                    t.weakest = m.name + ": stopped serving";
                continue;
            }
            const double ratio = std::min(m.slope_per_op / m.threshold, m.late_slope_per_op / (m.threshold / 2));
            if(ratio < t.min_ratio)
            {
                t.min_ratio = ratio;
                t.weakest = m.name;
            }
            t.max_p = std::max(t.max_p, m.p_value);
            t.alpha = m.alpha;
        }
        else if(ex.verdict == verdict::outcome::clean && !failures)
        {
            const double ratio = m.slope_per_op / m.threshold;
            if(ratio > t.max_ratio)
            {
                t.max_ratio = ratio;
                t.p_of_max = m.p_value;
                t.closest = m.name;
            }
        }
    }
}

void print_summary(const std::vector<tally>& all, const std::vector<labs::manifest>& labs)
{
    std::size_t width = 9;
    for(auto& t : all)
        width = std::max(width, t.variant.size() + 1);
    std::cout << "\nlab  " << std::left << std::setw(int(width)) << "variant" << std::right
              << "runs  as expected  flips  verdicts            narrowest margin\n";
    for(auto& t : all)
    {
        std::string verdicts;
        for(auto& [v, n] : t.verdicts)
            verdicts += (verdicts.empty() ? "" : ", ") + v + " " + std::to_string(n);
        std::string margin;
        auto lab = std::find_if(labs.begin(), labs.end(), [&](auto& l) { return l.id == t.lab; });
        const bool wrong_fix = fixture_of(*lab, t.variant) != nullptr;
        const bool leaky = !wrong_fix && lab->expect.at(t.variant).verdict == verdict::outcome::leak;
        if(wrong_fix)
            for(auto& [why, n] : t.rejected_for)
                margin += (margin.empty() ? "rejected for: " : "; ") + why + (t.rejected_for.size() > 1 ? " " + std::to_string(n) : "");
        else if(leaky && std::isfinite(t.min_ratio))
            margin = "weakest flagged: " + t.weakest + " at " + num(t.min_ratio) + "x its threshold, p <= " + num(t.max_p) +
                     " (needs < 0.001)";
        else if(leaky)
            margin = t.weakest.empty() ? "-" : t.weakest;
        else if(std::isfinite(t.max_ratio))
            margin = "largest slope: " + t.closest + " at " + num(t.max_ratio) + "x its threshold (p " + num(t.p_of_max) + ")";
        std::cout << std::left << std::setw(5) << t.lab << std::setw(int(width)) << t.variant << std::right << std::setw(4)
                  << t.runs << std::setw(13) << t.as_expected << std::setw(7) << t.runs - t.as_expected << "  "
                  << std::left << std::setw(20) << verdicts << margin << std::right << '\n';
    }

    // The three narrowest margins of all: how many times its threshold the weakest flagged
    // metric of a leak reached, and how many times the largest slope of a fix stayed below it.
    std::vector<std::pair<double, std::string>> margins;
    for(auto& t : all)
    {
        if(std::isfinite(t.min_ratio))
            margins.push_back({t.min_ratio, t.lab + " " + t.variant + ": " + t.weakest + " at " + num(t.min_ratio) +
                                                "x its threshold (p <= " + num(t.max_p) + ")"});
        if(std::isfinite(t.max_ratio) && t.max_ratio > 0)
            margins.push_back({1 / t.max_ratio, t.lab + " " + t.variant + ": " + t.closest + " at " + num(t.max_ratio) +
                                                    "x its threshold, " + num(1 / t.max_ratio) + "x below it (p " +
                                                    num(t.p_of_max) + ")"});
    }
    std::sort(margins.begin(), margins.end());
    if(!margins.empty())
        std::cout << "narrowest margins (times past, or below, the threshold):\n";
    for(std::size_t i = 0; i < margins.size() && i < 3; ++i)
        std::cout << "  " << margins[i].second << '\n';
}

// One cell of the catch matrix.
struct cell
{
    std::string lab, mode, variant;
    std::string expected;   // "heap-use-after-free at /site/", or "nothing"
    std::string result;     // "pass", "FAIL", "skipped"
    std::string finding;    // what the tool reported (its headline), or the verdict
    double seconds = 0;
};

std::string expected_text(const labs::mode_expectation& ex)
{
    if(ex.finds.empty())
        return "nothing";
    std::string out;
    for(auto& k : ex.finds)
        out += (out.empty() ? "" : " + ") + k;
    return out;
}

void print_matrix(const std::vector<cell>& cells)
{
    std::size_t mode_w = 6, expected_w = 10;
    for(auto& c : cells)
    {
        mode_w = std::max(mode_w, c.mode.size() + 2);
        expected_w = std::max(expected_w, c.expected.size() + 2);
    }
    std::cout << "\ncatch matrix (lab x mode x variant; what the tool must report, and what it did):\n"
              << std::left << std::setw(5) << "lab" << std::setw(int(mode_w)) << "mode" << std::setw(8) << "variant"
              << std::setw(int(expected_w)) << "expected" << std::setw(9) << "result" << std::setw(9) << "time"
              << "finding\n";
    for(auto& c : cells)
    {
        std::ostringstream t;
        t << std::fixed << std::setprecision(1) << c.seconds << " s";
        std::cout << std::setw(5) << c.lab << std::setw(int(mode_w)) << c.mode << std::setw(8) << c.variant
                  << std::setw(int(expected_w)) << c.expected << std::setw(9) << c.result << std::setw(9) << t.str()
                  << c.finding.substr(0, 150) << '\n';
    }
    std::cout << std::right;
}

// "all", one lab, or a comma-separated list of labs.
std::vector<labs::manifest> labs_named(const fs::path& root, const std::string& names)
{
    if(names == "all")
        return labs::load_all(root);
    std::vector<labs::manifest> out;
    std::istringstream in(names);
    for(std::string one; std::getline(in, one, ',');)
        if(!one.empty())
            out.push_back(labs::find_lab(root, one));
    return out;
}

} // namespace

int cmd_verify(const std::vector<std::string>& args)
{
    common c;
    std::string lab_name;
    std::size_t runs = 1;
    po::options_description d = common_options(c);
    d.add_options()
        ("lab", po::value<std::string>(&lab_name), "the lab: 01, its slug, a list such as 01,09, or all")
        ("runs", po::value<std::size_t>(&runs), "runs of each variant (default 1)")
        ("variant", po::value<std::string>(), "only this variant: leaky, fixed, or a wrong fix (wf-NAME)")
        ("no-fixtures", po::bool_switch(), "only the leaky and fixed variants, not the wrong fixes")
        ("summary", po::bool_switch(), "after the runs: the flip table and each variant's narrowest margin")
        ("modes", po::value<std::string>(), ("the catch matrix: these modes (a list of " + tools::mode_names() +
                                             ", or all) on each lab that declares them; growth, when listed, "
                                             "runs the usual variants and wrong fixes").c_str())
        ("json", po::value<std::string>(), "write every run's result as JSON to this file");
    po::positional_options_description pos;
    pos.add("lab", 1);
    auto vm = parse(args, d, pos, c, "verify <lab>|all [--runs N] [--variant V] [--no-fixtures] [--summary] [--modes asan,tsan|all]");
    if(lab_name.empty())
        throw usage_error("which lab? e.g. `leaklab verify 01` or `leaklab verify all`");
    if(runs < 1 || runs > 1000)
        throw usage_error("--runs wants 1 to 1000");
    std::vector<labs::manifest> labs_to_run = labs_named(c.root, lab_name);
    const bool fixtures = !vm["no-fixtures"].as<bool>();
    // Which modes: growth alone unless --modes says otherwise.
    std::vector<std::string> modes = {"growth"};
    if(vm.count("modes"))
    {
        modes.clear();
        const std::string list = vm["modes"].as<std::string>();
        if(list == "all")
            for(auto& m : tools::modes())
                modes.push_back(m.name);
        std::istringstream in(list == "all" ? std::string() : list);
        for(std::string one; std::getline(in, one, ',');)
        {
            if(!tools::find_mode(one))
                throw usage_error("--modes: no mode \"" + one + "\" (the modes are " + tools::mode_names() + ", or all)");
            modes.push_back(one);
        }
    }
    const bool growth = std::find(modes.begin(), modes.end(), "growth") != modes.end();

    // What runs: leaky, fixed, then every wrong fix the kit must reject (with tool modes only:
    // the wrong fixes judged under those tools); then the catch matrix, every tool mode asked
    // for that a lab declares, on its leaky and fixed variants.
    struct job
    {
        const labs::manifest* lab;
        std::string variant, mode;  // mode: "" for growth, or the tool the variant is judged by
        bool matrix = false;
    };
    std::vector<job> jobs;
    for(auto& lab : labs_to_run)
    {
        std::vector<std::string> variants;
        if(growth)
            variants = {"leaky", "fixed"};
        if(fixtures)
            for(auto& fx : lab.fixtures)
                if(growth ? true : !fx.mode.empty())
                    variants.push_back("wf-" + fx.name);
        if(vm.count("variant"))
        {
            const auto one = variant_named(lab, vm["variant"].as<std::string>());
            const auto* fx = fixture_of(lab, one);
            variants.clear();
            if(growth || (fx && !fx->mode.empty()))
                variants.push_back(one);
        }
        for(auto& variant : variants)
        {
            // A variant judged under a tool runs in that mode, when it is asked for; the leaky
            // variant of a lab only a tool can judge is a cell of the catch matrix below.
            std::string home;
            if(auto* fx = fixture_of(lab, variant))
                home = fx->mode;
            else if(variant == "leaky" && !lab.expect.at("leaky").mode.empty())
            {
                if(!vm.count("modes"))
                    std::cout << "--   " << lab.id << " leaky : judged by " << lab.expect.at("leaky").mode
                              << " alone (the catch matrix: --modes " << lab.expect.at("leaky").mode << ")" << std::endl;
                continue;
            }
            if(!home.empty() && std::find(modes.begin(), modes.end(), home) == modes.end())
            {
                std::cout << "--   " << lab.id << " " << variant << ": judged by " << home << " (add --modes " << home << ")"
                          << std::endl;
                continue;
            }
            jobs.push_back({&lab, variant, home, false});
        }
    }
    for(auto& lab : labs_to_run)
        for(auto& mode : modes)
        {
            if(mode == "growth" || !lab.modes.count(mode))
                continue;
            std::vector<std::string> variants = {"leaky", "fixed"};
            if(vm.count("variant"))
                variants = {variant_named(lab, vm["variant"].as<std::string>())};
            for(auto& variant : variants)
                if((variant == "leaky" || variant == "fixed") && lab.modes.at(mode).count(variant))
                    jobs.push_back({&lab, variant, mode, true});
        }

    // Every server the runs need, built first, a build per tree: ninja compiles them side by
    // side (a server under ASan takes a minute to compile; one at a time leaves a core idle).
    // A mode that cannot run here builds nothing; a failed build is told by its run below.
    auto preset_of = [&](const job& j) {
        const auto* m = j.mode.empty() ? nullptr : tools::find_mode(j.mode);
        return m && !m->preset.empty() && c.build_dir.empty() ? m->preset : c.preset;
    };
    std::set<std::string> built;  // the presets whose servers are all built
    {
        std::map<std::string, std::vector<std::string>> by_preset;
        for(auto& j : jobs)
        {
            const auto* m = j.mode.empty() ? nullptr : tools::find_mode(j.mode);
            if(m && !tools::unavailable(*m, mode_host()).empty())
                continue;
            auto& targets = by_preset[preset_of(j)];
            const auto target = "lab" + j.lab->id + "-" + j.variant;
            if(std::find(targets.begin(), targets.end(), target) == targets.end())
                targets.push_back(target);
        }
        for(auto& [preset, targets] : by_preset)
            try
            {
                auto tree = labs::open_build_tree(c.root, preset, c.build_dir, c.quiet, c.no_build);
                if(!c.no_build && !tree.prebuilt && labs::build_variants(tree, targets, c.quiet))
                    built.insert(preset);
            }
            catch(const std::exception&)
            {
                // Said again, with its cause, by the first run that needs this tree.
            }
    }

    std::size_t passed = 0, failed = 0, skipped = 0;
    json::array all;
    std::vector<tally> tallies;
    std::vector<cell> cells;
    for(auto& j : jobs)
    {
        const auto& lab = *j.lab;
        const auto& variant = j.variant;
        common cv = c;
        cv.mode = j.mode;
        cv.no_build = c.no_build || built.count(preset_of(j));
        if(!j.matrix)
        {
            tally t;
            t.lab = lab.id;
            t.variant = variant;
            for(std::size_t i = 1; i <= runs; ++i)
            {
                auto lr = run_lab(lab, variant, std::nullopt, cv);
                std::string why;
                bool ok = as_expected(lab, variant, lr.result, why);
                (ok ? passed : failed)++;
                add_run(t, lab, variant, lr.result, ok);
                std::ostringstream flagged;
                for(auto& n : lr.result.flagged())
                    flagged << (flagged.tellp() ? "," : "") << n;
                std::cout << (ok ? "ok   " : "FAIL ") << lab.id << " " << std::left << std::setw(6) << variant
                          << std::right << " run " << i << "/" << runs << ": " << verdict::to_string(lr.result.verdict);
                if(!lr.result.flagged().empty())
                    std::cout << " [" << flagged.str() << "]";
                if(!lr.result.breaches.empty())
                    std::cout << " [" << lr.result.breaches.front().clause << "]";
                std::cout << std::fixed << std::setprecision(1) << " in " << lr.result.duration_s << " s"
                          << std::defaultfloat << (ok ? "" : "  -- " + why) << std::endl;
                all.push_back(report::to_json(lr.heading, lr.result));
            }
            tallies.push_back(t);
            continue;
        }
        const auto& mode = j.mode;
        for(std::size_t i = 1; i <= runs; ++i)
        {
            auto lr = run_lab(lab, variant, std::nullopt, cv);
            std::string why;
            auto ok = mode_as_expected(lab, mode, variant, lr.result, why);
            cell x{lab.id, mode, variant, expected_text(lab.modes.at(mode).at(variant)),
                   !ok ? "skipped" : *ok ? "pass" : "FAIL",
                   lr.result.findings.empty() ? one_line(lr.result) : tools::headline(lr.result.findings.front()),
                   lr.result.duration_s};
            if(!ok)
                ++skipped;
            else
                (*ok ? passed : failed)++;
            std::cout << (!ok ? "skip " : *ok ? "ok   " : "FAIL ") << lab.id << " " << std::left << std::setw(6)
                      << variant << std::right << " " << mode << " run " << i << "/" << runs << ": "
                      << verdict::to_string(lr.result.verdict) << std::fixed << std::setprecision(1) << " in "
                      << lr.result.duration_s << " s" << std::defaultfloat << (ok && *ok ? "" : "  -- " + why)
                      << std::endl;
            if(ok && !*ok)
                x.finding = why;
            cells.push_back(x);
            all.push_back(report::to_json(lr.heading, lr.result));
        }
    }
    if(!cells.empty())
        print_matrix(cells);
    if(vm.count("json"))
        report::write_json(vm["json"].as<std::string>(), all);
    if(vm["summary"].as<bool>())
        print_summary(tallies, labs_to_run);
    std::cout << "verify: " << passed << " passed, " << failed << " failed"
              << (skipped ? ", " + std::to_string(skipped) + " skipped (the mode cannot run here)" : std::string()) << std::endl;
    // Nothing checked is no pass: a matrix with no cell, or one the machine could not run.
    if(passed + failed == 0)
    {
        std::cout << "verify: nothing was checked" << (skipped ? "" : " (no lab here declares those modes)") << std::endl;
        return skipped ? exit_skipped : exit_error;
    }
    return failed ? 1 : 0;
}

} // namespace leaklab::cli
