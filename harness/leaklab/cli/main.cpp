// leaklab: build a lab's server, drive it with churn, and say whether it leaks.
//
// Exit codes: 0 clean (or as expected), 1 leak (or not as expected), 2 error.
#include "leaklab/labs/build.hpp"
#include "leaklab/labs/manifest.hpp"
#include "leaklab/process/child.hpp"
#include "leaklab/report/report.hpp"
#include "leaklab/run/runner.hpp"
#include "leaklab/workload/workload.hpp"

#include <boost/json.hpp>
#include <boost/program_options.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>

namespace po = boost::program_options;
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace leaklab;

namespace {

constexpr int exit_clean = 0;
constexpr int exit_leak = 1;
constexpr int exit_error = 2;

const char* overview =
    "usage: leaklab <command> [options]\n"
    "\n"
    "commands:\n"
    "  list                          the labs, with titles\n"
    "  check <lab> --variant V       build and run one variant (leaky, fixed), print the verdict\n"
    "        [--source DIR]          ... or a student's copy of the lab's files\n"
    "  compare <lab>                 both variants side by side, with an SVG chart per metric\n"
    "  probe --cmd '<cmd {port}>' --workload <kind>\n"
    "                                any server, black box: /proc signals (and --metrics-url)\n"
    "  verify <lab>|all [--runs N]   every leaky variant is flagged, every fix is clean, N times\n"
    "  hint <lab> [--level N]        the lab's hints, one step at a time\n"
    "  workloads                     the workload kinds\n"
    "\n"
    "exit codes: 0 clean, 1 leak, 2 error (compare/verify: 0 as expected, 1 not, 2 error)\n"
    "`leaklab <command> --help` shows a command's options.\n";

// A bad command line: message, then a pointer to --help, exit 2.
struct usage_error : std::runtime_error
{
    using std::runtime_error::runtime_error;
};

struct common
{
    fs::path root;
    std::string preset;
    fs::path build_dir;
    bool quiet = false;
    bool color = false;
    bool keep_logs = false;
    bool no_build = false;
    double scale = 1;
    std::size_t rounds = 0;
};

po::options_description common_options(common& c)
{
    po::options_description d("common options");
    d.add_options()
        ("root", po::value<std::string>(), "the leaklab checkout (default: the one leaklab was built from, or $LEAKLAB_ROOT)")
        ("preset", po::value<std::string>(&c.preset), "build and run with this CMake preset (dev, asan, pi-aarch64, ...)")
        ("build-dir", po::value<std::string>(), "use this configured build tree instead of a preset's")
        ("rounds", po::value<std::size_t>(&c.rounds), "rounds of workload (default: the lab's)")
        ("scale", po::value<double>(&c.scale), "multiply connections per round by this (e.g. 0.25 under qemu)")
        ("keep-logs", po::bool_switch(&c.keep_logs), "keep the server's stdout/stderr logs after a run")
        ("no-build", po::bool_switch(&c.no_build), "run the binaries as they are; never run cmake")
        ("quiet,q", po::bool_switch(&c.quiet), "no progress lines")
        ("no-color", "never colour the verdict")
        ("help,h", "this help");
    return d;
}

po::variables_map parse(const std::vector<std::string>& args, const po::options_description& d,
                        const po::positional_options_description& pos, common& c, const std::string& cmd)
{
    po::variables_map vm;
    try
    {
        po::store(po::command_line_parser(args).options(d).positional(pos).run(), vm);
        po::notify(vm);
    }
    catch(const po::error& e)
    {
        throw usage_error(e.what());
    }
    if(vm.count("help"))
    {
        std::cout << "usage: leaklab " << cmd << "\n" << d;
        std::exit(0);
    }
    if(vm.count("root"))
        c.root = vm["root"].as<std::string>();
    else if(const char* env = std::getenv("LEAKLAB_ROOT"))
        c.root = env;
    else
        c.root = LEAKLAB_SOURCE_DIR;
    if(vm.count("build-dir"))
        c.build_dir = vm["build-dir"].as<std::string>();
    c.color = ::isatty(STDOUT_FILENO) && !vm.count("no-color") && !std::getenv("NO_COLOR");
    if(!(c.scale > 0 && c.scale <= 100))
        throw usage_error("--scale wants a number in (0, 100]");
    if(vm.count("rounds") && (c.rounds < run::min_trend_rounds + 1 || c.rounds > 1000))
        throw usage_error("--rounds wants " + std::to_string(run::min_trend_rounds + 1) +
                          " to 1000 (one warm-up round, then enough rounds to judge a trend)");
    return vm;
}

// The plan adjusted by --rounds and --scale.
run::plan adjusted(run::plan p, const common& c)
{
    if(c.rounds)
    {
        p.rounds = c.rounds;
        p.warmup_rounds = std::min(p.warmup_rounds, p.rounds - run::min_trend_rounds);
    }
    for(auto& s : p.steps)
    {
        s.connections = std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(double(s.connections) * c.scale)));
        s.concurrency = std::min(s.concurrency, s.connections);
    }
    return p;
}

fs::path log_dir(const labs::build_tree& tree, const std::string& name)
{
    return labs::runs_dir(tree) / (name + "-" + std::to_string(::getpid()));
}

void cleanup_logs(const fs::path& dir, const run::result& r, const common& c)
{
    std::error_code ec;
    if(c.keep_logs || r.verdict == "error")
    {
        if(!c.quiet)
            std::cerr << "leaklab: the server's logs are in " << dir.string() << "\n";
        return;
    }
    fs::remove_all(dir, ec);
}

struct lab_run
{
    report::heading heading;
    run::result result;
};

// Build one variant (or a student's copy) of a lab and run it.
lab_run run_lab(const labs::manifest& lab, const std::string& variant, const std::optional<fs::path>& source,
                const common& c)
{
    auto tree = labs::open_build_tree(c.root, c.preset, c.build_dir, c.quiet, c.no_build);
    auto binary = labs::build_variant(tree, lab, variant, source, c.quiet, c.no_build);

    run::target t;
    t.argv = labs::server_command(tree, binary);
    t.argv.insert(t.argv.end(), lab.server_args.begin(), lab.server_args.end());
    t.labkit = true;
    t.env = lab.env;
    t.nofile = lab.nofile;
    // Emulated servers start slowly; give them more time.
    t.start_timeout = std::chrono::milliseconds(static_cast<long>(lab.start_timeout_s * 1000 * (tree.runner.empty() ? 1 : 4)));
    t.log_dir = log_dir(tree, lab.name() + "-" + variant);

    lab_run out;
    out.heading = {lab.name(), lab.title, variant, tree.sanitizer};
    auto plan = adjusted(lab.plan, c);
    // Sanitizers hold freed memory back (ASan's quarantine) or map shadow memory, so
    // RSS grows without a leak; their own heap count (heap_bytes) stays exact.
    if(tree.sanitizer == "address")
        plan.unjudged["rss_bytes"] = "under ASan freed memory waits in a quarantine, so RSS grows without a leak (heap_bytes is ASan's own count)";
    else if(tree.sanitizer == "thread")
        plan.unjudged["rss_bytes"] = "under TSan RSS includes shadow memory that grows with use (heap_bytes is TSan's own count)";
    report::progress prog(lab.id + " " + variant, c.quiet);
    out.result = run::execute(t, plan, std::ref(prog));
    prog.done();
    cleanup_logs(t.log_dir, out.result, c);
    return out;
}

int exit_code(const run::result& r)
{
    return r.verdict == "clean" ? exit_clean : r.verdict == "leak" ? exit_leak : exit_error;
}

int cmd_list(const std::vector<std::string>& args)
{
    common c;
    po::options_description d = common_options(c);
    d.add_options()("json", po::value<std::string>(), "write the list as JSON to this file");
    auto vm = parse(args, d, {}, c, "list [--json FILE]");
    auto all = labs::load_all(c.root);
    json::array arr;
    for(auto& m : all)
    {
        std::cout << m.id << "  " << m.slug << "\n      " << m.title << "\n";
        json::object o;
        o["id"] = m.id;
        o["slug"] = m.slug;
        o["title"] = m.title;
        o["section"] = m.section;
        o["style"] = m.style;
        o["workload"] = run::describe_workload(m.plan);
        arr.push_back(std::move(o));
    }
    std::cout << all.size() << " labs\n";
    if(vm.count("json"))
        report::write_json(vm["json"].as<std::string>(), arr);
    return 0;
}

int cmd_check(const std::vector<std::string>& args)
{
    common c;
    std::string lab_name, variant;
    po::options_description d = common_options(c);
    d.add_options()
        ("lab", po::value<std::string>(&lab_name), "the lab: 01 or its slug")
        ("variant", po::value<std::string>(&variant), "leaky or fixed (with --source: the student's copy)")
        ("source", po::value<std::string>(), "build the lab's student files from this folder instead")
        ("json", po::value<std::string>(), "also write the result as JSON to this file");
    po::positional_options_description pos;
    pos.add("lab", 1);
    auto vm = parse(args, d, pos, c, "check <lab> --variant leaky|fixed [--source DIR] [--json FILE]");
    if(lab_name.empty())
        throw usage_error("which lab? e.g. `leaklab check 01 --variant leaky` (`leaklab list` shows them)");
    std::optional<fs::path> source;
    if(vm.count("source"))
    {
        source = fs::path(vm["source"].as<std::string>());
        if(variant.empty())
            variant = "student";
    }
    if(variant.empty())
        throw usage_error("--variant is required: leaky or fixed");
    if(!source && variant != "leaky" && variant != "fixed")
        throw usage_error("--variant must be leaky or fixed, not '" + variant + "'");
    if(source)
        variant = "student";

    auto lab = labs::find_lab(c.root, lab_name);
    auto lr = run_lab(lab, variant, source, c);
    report::print_result(std::cout, lr.heading, lr.result, c.color);
    if(vm.count("json"))
        report::write_json(vm["json"].as<std::string>(), report::to_json(lr.heading, lr.result));
    return exit_code(lr.result);
}

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

int cmd_probe(const std::vector<std::string>& args)
{
    common c;
    std::string cmd, kind, metrics_url, path = "/";
    std::size_t connections = 300, concurrency = 16, messages = 1;
    double start_timeout = 10;
    po::options_description d = common_options(c);
    d.add_options()
        ("cmd", po::value<std::string>(&cmd), "the server's command line; {port} is replaced by a free port")
        ("workload", po::value<std::string>(&kind), "the workload kind (`leaklab workloads`)")
        ("path", po::value<std::string>(&path), "request target (\"{n}\" = a per-request counter)")
        ("connections", po::value<std::size_t>(&connections), "connections per round (default 300)")
        ("concurrency", po::value<std::size_t>(&concurrency), "clients at once (default 16)")
        ("messages", po::value<std::size_t>(&messages), "ws-*: messages echoed per connection (default 1)")
        ("metrics-url", po::value<std::string>(&metrics_url), "the server's Prometheus endpoint, e.g. http://127.0.0.1:9100/metrics")
        ("start-timeout", po::value<double>(&start_timeout), "seconds to wait for the server to be ready (default 10)")
        ("plan", po::value<std::string>(), "a JSON file with a full workload plan (as in lab.json) instead of --workload")
        ("json", po::value<std::string>(), "also write the result as JSON to this file");
    auto vm = parse(args, d, {}, c, "probe --cmd '<command with {port}>' --workload <kind> [--json FILE]");
    if(cmd.empty())
        throw usage_error("--cmd is required: the server's command line, with {port} where its port goes");
    if(kind.empty() && !vm.count("plan"))
        throw usage_error("--workload is required (`leaklab workloads` lists them)");
    if(start_timeout <= 0 || start_timeout > 600)
        throw usage_error("--start-timeout wants seconds in (0, 600]");

    run::plan plan;
    if(vm.count("plan"))
    {
        std::ifstream in(vm["plan"].as<std::string>());
        if(!in)
            throw usage_error("--plan: cannot read " + vm["plan"].as<std::string>());
        std::ostringstream text;
        text << in.rdbuf();
        plan = labs::parse_plan(text.str(), vm["plan"].as<std::string>());
    }
    else
    {
        auto& kinds = workload::kinds();
        if(std::none_of(kinds.begin(), kinds.end(), [&](auto& k) { return k.first == kind; }))
            throw usage_error("unknown workload '" + kind + "' (`leaklab workloads` lists them)");
        workload::step_spec s;
        s.kind = kind;
        s.path = path;
        s.connections = connections;
        s.concurrency = concurrency;
        s.messages = messages;
        plan.steps.push_back(s);
    }
    plan = adjusted(plan, c);

    run::target t;
    // The command line is split on spaces; quote with '...' to keep spaces in one argument.
    std::string cur;
    bool quoted = false, any = false;
    for(char ch : cmd)
    {
        if(ch == '\'')
        {
            quoted = !quoted;
            any = true;
        }
        else if(ch == ' ' && !quoted)
        {
            if(any || !cur.empty())
                t.argv.push_back(cur);
            cur.clear();
            any = false;
        }
        else
            cur += ch;
    }
    if(any || !cur.empty())
        t.argv.push_back(cur);
    if(quoted)
        throw usage_error("--cmd has an unmatched quote");
    if(!metrics_url.empty())
    {
        // Only loopback: http://127.0.0.1:PORT/PATH or http://localhost:PORT/PATH.
        std::string rest;
        for(const char* prefix : {"http://127.0.0.1:", "http://localhost:"})
            if(metrics_url.rfind(prefix, 0) == 0)
                rest = metrics_url.substr(std::string(prefix).size());
        auto slash = rest.find('/');
        int port = 0;
        try
        {
            port = std::stoi(rest.substr(0, slash));
        }
        catch(const std::exception&)
        {
        }
        if(rest.empty() || port <= 0 || port > 65535)
            throw usage_error("--metrics-url must look like http://127.0.0.1:PORT/metrics (loopback only)");
        t.metrics_port = static_cast<std::uint16_t>(port);
        t.metrics_path = slash == std::string::npos ? "/" : rest.substr(slash);
    }
    t.start_timeout = std::chrono::milliseconds(static_cast<long>(start_timeout * 1000));
    t.log_dir = fs::temp_directory_path() / ("leaklab-probe-" + std::to_string(::getpid()));

    report::progress prog("probe", c.quiet);
    auto r = run::execute(t, plan, std::ref(prog));
    prog.done();
    cleanup_logs(t.log_dir, r, c);
    report::heading h;
    report::print_result(std::cout, h, r, c.color);
    if(vm.count("json"))
        report::write_json(vm["json"].as<std::string>(), report::to_json(h, r));
    return exit_code(r);
}

int cmd_hint(const std::vector<std::string>& args)
{
    common c;
    std::string lab_name;
    std::size_t level = 1;
    po::options_description d = common_options(c);
    d.add_options()("lab", po::value<std::string>(&lab_name), "the lab")
                   ("level", po::value<std::size_t>(&level), "how far down the hint ladder (1 = gentlest)");
    po::positional_options_description pos;
    pos.add("lab", 1);
    parse(args, d, pos, c, "hint <lab> [--level N]");
    if(lab_name.empty())
        throw usage_error("which lab? e.g. `leaklab hint 01`");
    auto lab = labs::find_lab(c.root, lab_name);
    if(lab.hints.empty())
    {
        std::cout << "lab " << lab.id << " has no hints.\n";
        return 0;
    }
    level = std::clamp<std::size_t>(level, 1, lab.hints.size());
    for(std::size_t i = 0; i < level; ++i)
        std::cout << "hint " << i + 1 << "/" << lab.hints.size() << ": " << lab.hints[i] << "\n\n";
    if(level < lab.hints.size())
        std::cout << "(more: leaklab hint " << lab.id << " --level " << level + 1 << ")\n";
    return 0;
}

int cmd_workloads()
{
    for(auto& [name, what] : workload::kinds())
        std::cout << std::left << std::setw(16) << name << what << '\n';
    return 0;
}

} // namespace

int main(int argc, char* argv[])
{
    process::install_interrupt_handler();

    // Stalled clients stay connected for a whole run: allow as many descriptors as the system lets us.
    rlimit rl{};
    if(::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
    std::vector<std::string> args(argv + 1, argv + argc);
    if(args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help")
    {
        std::cout << overview;
        return args.empty() ? exit_error : 0;
    }
    if(args[0] == "--version")
    {
        std::cout << "leaklab " << LEAKLAB_VERSION << '\n';
        return 0;
    }
    std::string cmd = args[0];
    args.erase(args.begin());
    try
    {
        if(cmd == "list")
            return cmd_list(args);
        if(cmd == "check")
            return cmd_check(args);
        if(cmd == "compare")
            return cmd_compare(args);
        if(cmd == "probe")
            return cmd_probe(args);
        if(cmd == "verify")
            return cmd_verify(args);
        if(cmd == "hint")
            return cmd_hint(args);
        if(cmd == "workloads")
            return cmd_workloads();
        std::cerr << "leaklab: unknown command '" << cmd << "'\n\n" << overview;
        return exit_error;
    }
    catch(const usage_error& e)
    {
        std::cerr << "leaklab " << cmd << ": " << e.what() << "\n(see `leaklab " << cmd << " --help`)\n";
    }
    catch(const std::exception& e)
    {
        std::cerr << "leaklab " << cmd << ": " << e.what() << '\n';
    }
    return exit_error;
}
