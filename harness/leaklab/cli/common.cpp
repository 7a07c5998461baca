#include "leaklab/cli/common.hpp"

#include "leaklab/labs/build.hpp"
#include "leaklab/process/child.hpp"
#include "leaklab/process/platform.hpp"
#include "leaklab/tools/heapprof.hpp"
#include "leaklab/tools/heaptrack.hpp"
#include "leaklab/tools/tasks.hpp"
#include "leaklab/tools/modes.hpp"
#include "leaklab/tools/tampering.hpp"
#include "leaklab/verdict/metrics.hpp"
#include "leaklab/verdict/sites.hpp"
#include "leaklab/workload/workload.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>

namespace leaklab::cli {

po::options_description common_options(common& c, unsigned sets)
{
    po::options_description d("common options");
    d.add_options()
        ("root", po::value<std::string>(), "the leaklab checkout (default: the one leaklab was built from, or $LEAKLAB_ROOT)");
    if(sets & opts_build)
        d.add_options()
            ("preset", po::value<std::string>(&c.preset), "build and run with this CMake preset (dev, asan, pi-aarch64, ...)")
            ("build-dir", po::value<std::string>(), "use this configured build tree instead of a preset's");
    if(sets & opts_run)
        d.add_options()
            ("rounds", po::value<std::size_t>(&c.rounds), "rounds of workload (default: the lab's)")
            ("scale", po::value<double>(&c.scale), "multiply connections per round by this (e.g. 0.25 under qemu)")
            ("profile", po::value<std::string>(&c.profile), "desktop (default) or pi: churn, concurrency, timeouts and memory in flight scaled to a Raspberry Pi-class board")
            ("keep-logs", po::bool_switch(&c.keep_logs), "keep the server's stdout/stderr logs after a run");
    if((sets & opts_build) && (sets & opts_run))
        d.add_options()("no-build", po::bool_switch(&c.no_build), "run the binaries as they are; never run cmake");
    d.add_options()
        ("quiet,q", po::bool_switch(&c.quiet), "no progress lines")
        ("no-color", "never colour the verdict")
        ("help,h", "this help");
    return d;
}

po::variables_map parse(const std::vector<std::string>& args, const po::options_description& d,
                        const po::positional_options_description& pos, common& c, const std::string& usage)
{
    po::variables_map vm;
    try
    {
        po::store(po::command_line_parser(args).options(d).positional(pos).run(), vm);
        po::notify(vm);
    }
    catch(const po::unknown_option& e)
    {
        // An option another command takes is refused here, never silently ignored.
        const std::string cmd = usage.substr(0, usage.find(' '));
        throw usage_error("`leaklab " + cmd + "` has no option " + e.get_option_name());
    }
    catch(const po::too_many_positional_options_error&)
    {
        throw usage_error("too many arguments: the usage is `leaklab " + usage + "`");
    }
    catch(const po::error& e)
    {
        throw usage_error(e.what());
    }
    if(vm.count("help"))
    {
        std::cout << "usage: leaklab " << usage << "\n" << d;
        std::exit(0);
    }
    if(vm.count("root"))
        c.root = vm["root"].as<std::string>();
    else
        c.root = labs::own_root();
    if(vm.count("build-dir"))
        c.build_dir = vm["build-dir"].as<std::string>();
    c.color = ::isatty(STDOUT_FILENO) && !vm.count("no-color") && !std::getenv("NO_COLOR");
    if(!(c.scale > 0 && c.scale <= 100))
        throw usage_error("--scale wants a number in (0, 100]");
    c.scale_given = vm.count("scale") > 0;
    if(c.profile != "desktop" && c.profile != "pi")
        throw usage_error("--profile wants desktop or pi, not '" + c.profile + "'");
    if(vm.count("rounds") && (c.rounds < run::min_trend_rounds + 1 || c.rounds > 1000))
        throw usage_error("--rounds wants " + std::to_string(run::min_trend_rounds + 1) +
                          " to 1000 (one warm-up round, then enough rounds to judge a trend)");
    return vm;
}

run::plan adjusted(run::plan p, const common& c)
{
    if(c.rounds)
    {
        p.rounds = c.rounds;
        p.warmup_rounds = std::min(p.warmup_rounds, p.rounds - run::min_trend_rounds);
    }
    const bool pi = c.profile == "pi";
    const double scale = pi && !c.scale_given ? 0.25 : c.scale;
    if(pi)
    {
        p.round_timeout_s *= 4;
        p.settle_max *= 2;
    }
    // A board's memory: what one step's clients send at once stays under a sixteenth of it.
    const double memory = pi ? process::read_platform().memory_bytes : 0;
    auto adjust = [&](workload::step_spec& s, bool scaled) {
        // Kept-alive clients send fewer requests each, so as many clients are there at once;
        // a step that repeats keys still asks for every key: a smaller run must not make a
        // warm cache look cold or a calibrated sensor look uncalibrated. A paced client keeps
        // its requests: how long it stays is what its step checks (longer than an idle limit).
        auto scaled_count = [&](std::size_t n) {
            return std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(double(n) * scale)));
        };
        if(scaled && s.kind == "http-keepalive" && s.requests > 1 && s.pause_ms <= 0)
            s.requests = scaled_count(s.requests);
        else if(scaled && !workload::find_kind(s.kind)->listens)
            s.connections = std::max(std::min(s.keys, s.connections), scaled_count(s.connections));
        s.concurrency = std::min(s.concurrency, s.connections);
        if(!pi)
            return;
        // An operation's own deadline is part of the contract (an answer within 0.5 s): it stays.
        s.within_ms *= 2;
        const double in_flight = double(std::max(s.body_bytes, s.message_bytes));
        while(memory > 0 && s.concurrency > 1 && in_flight * double(s.concurrency) > memory / 16)
            --s.concurrency;
    };
    for(auto& s : p.steps)
        adjust(s, true);
    for(auto& s : p.epilogue)
        adjust(s, false);
    return p;
}

namespace {

// A folder of its own for each run: the pid alone is not enough, since every check leaklab
// grade runs in a PID namespace of its own is pid 1 there, and a tool's reports left by one
// run must never be read as another's.
fs::path log_dir(const labs::build_tree& tree, const std::string& name)
{
    static std::atomic<unsigned> runs{0};
    const auto now = std::chrono::system_clock::now().time_since_epoch().count();
    return labs::runs_dir(tree) / (name + "-" + std::to_string(::getpid()) + "-" + std::to_string(now % 1000000000) +
                                   "-" + std::to_string(runs++));
}

} // namespace

void cleanup_logs(const fs::path& dir, const run::result& r, const common& c)
{
    std::error_code ec;
    if(c.keep_logs || r.verdict == verdict::outcome::error || r.verdict == verdict::outcome::flagged)
    {
        if(!c.quiet)
            std::cerr << "leaklab: the server's logs are in " << dir.string() << "\n";
        return;
    }
    fs::remove_all(dir, ec);
}

const tools::host& mode_host()
{
    static const tools::host h = tools::this_host();
    return h;
}

namespace {

const tools::host& host() { return mode_host(); }

// The tool mode asked for, or nullptr for growth; checks that --preset or --build-dir agree.
const tools::mode* tool_mode(const common& c)
{
    if(c.mode.empty() || c.mode == "growth")
        return nullptr;
    auto* m = tools::find_mode(c.mode);
    if(!m)
        throw usage_error("no mode \"" + c.mode + "\": the modes are " + tools::mode_names());
    // A mode on its own build (asan, tsan, ...) refuses another; tasks runs on a plain one.
    if(!c.preset.empty() && !m->preset.empty() && c.preset != m->preset)
        throw usage_error("--mode " + m->name + " runs the " + m->preset + " build; --preset " + c.preset +
                          " is another (drop --preset)");
    return m;
}


// A path under the checkout, shortened: "labs/19-.../server.cpp".
void relative_to_root(std::vector<tools::finding>& findings, const fs::path& root)
{
    std::error_code ec;
    std::string prefix = fs::weakly_canonical(root, ec).string();
    if(prefix.empty() || prefix.back() != '/')
        prefix += '/';
    for(auto& f : findings)
        for(auto& s : f.stacks)
            for(auto& fr : s.frames)
                if(fr.file.rfind(prefix, 0) == 0)
                    fr.file = fr.file.substr(prefix.size());
}

// The rule the run judged a metric by: the catalog's, with the lab's own threshold and the
// alpha the run applied. A site of that metric is held to it (verdict/sites.hpp).
verdict::metric_rule rule_in_run(const run::result& r, const std::string& name)
{
    auto rule = verdict::describe_metric(name).rule;
    for(auto& m : r.metrics)
        if(m.name == name && m.judged)
        {
            rule.per_op_threshold = m.threshold;
            rule.alpha = m.alpha;
        }
    return rule;
}

// The heapprof mode's evidence: the first and last profiles diffed (their stacks named by
// pprof), each site in the lab's code that grew judged over every profile of the run
// (verdict/sites.hpp): those that keep growing as findings, the largest others as notes.
void add_heap_growth(run::result& r, const fs::path& binary, const fs::path& log_dir, const fs::path& root)
{
    if(r.heap_profiles.size() < 2)
    {
        if(r.verdict != verdict::outcome::error)
            r.notes.push_back("no heap profile diff: the run ended before its last round");
        return;
    }
    const auto& base = r.heap_profiles.front();
    const auto& last = r.heap_profiles.back();
    const std::size_t ops = last.cumulative_ops - base.cumulative_ops;
    try
    {
        const auto stacks = tools::diff_profiles(binary, base.file, last.file, log_dir);
        auto sites = tools::growing_sites(stacks, ops);
        // Every profile's bytes on each site: the series it is judged on.
        std::vector<tools::raw_profile> profiles;
        std::vector<double> at_ops;
        for(auto& p : r.heap_profiles)
        {
            profiles.push_back(tools::read_raw_profile(p.file));
            at_ops.push_back(double(p.cumulative_ops));
        }
        std::size_t below = 0;
        const auto shown_root = fs::weakly_canonical(root);
        for(auto& s : sites)
        {
            std::vector<double> series;
            for(auto& p : profiles)
                series.push_back(double(tools::bytes_at(s, p)));
            const auto j = verdict::judge_site(rule_in_run(r, "heap_bytes"), at_ops, series, sites.size());
            if(j.grows)
                r.findings.push_back(tools::as_finding(s, ops));
            else if(below++ < 3)
                r.notes.push_back("heapprof: " + tools::describe(s, shown_root) + ", not a leak: " + j.reason);
        }
        // Growth past the threshold no frame of the lab's code is on (memory a library allocates
        // from its own handlers): said, not a finding, since no line of the lab can be named.
        if(auto other = tools::outside_own(stacks, ops); verdict::heap_site_grows(other.bytes_per_op))
            r.notes.push_back("heapprof: outside the lab's code (stacks that never reach it), the most at " +
                              tools::describe(other) + " in all");
        r.notes.push_back("heapprof: " + std::to_string(profiles.size()) + " profiles, after round " +
                          std::to_string(r.warmup_rounds) + " to after the last, " + std::to_string(ops) +
                          " operations apart; " + std::to_string(sites.size()) + " sites in the lab's code grew");
    }
    catch(const std::exception& e)
    {
        r.verdict = verdict::outcome::error;
        r.error = e.what();
    }
}

// The tasks mode's evidence: every dump of pending operations read and their stacks resolved,
// each site in the lab's code whose count grew from the first dump to the last judged over all
// of them (verdict/sites.hpp): those that keep growing as findings; the largest others (and
// growth outside the lab's code) as notes.
void add_pending_growth(run::result& r, const fs::path& log_dir, const fs::path& root)
{
    if(r.pending_dumps.size() < 2)
    {
        if(r.verdict != verdict::outcome::error)
            r.notes.push_back("no diff of pending operations: the run ended before its last round");
        return;
    }
    const auto& base = r.pending_dumps.front();
    const auto& last = r.pending_dumps.back();
    const std::size_t ops = last.cumulative_ops - base.cumulative_ops;
    try
    {
        std::vector<tools::pending_dump> dumps;
        std::vector<double> at_ops;
        for(auto& d : r.pending_dumps)
        {
            dumps.push_back(tools::parse_pending_dump(process::read_text(d.file)));
            at_ops.push_back(double(d.cumulative_ops));
        }
        tools::resolve(dumps, log_dir);
        std::vector<std::vector<tools::pending_site>> at;
        for(auto& d : dumps)
            at.push_back(tools::sites_of(d));
        const auto sites = tools::growing_sites(at.front(), at.back(), ops);
        std::size_t below = 0, outside = 0;
        const auto shown_root = fs::weakly_canonical(root);
        for(auto& s : sites)
        {
            std::vector<double> series;
            for(auto& d : at)
                series.push_back(double(tools::count_at(s, d)));
            const auto j = verdict::judge_site(rule_in_run(r, "asio_ops_pending"), at_ops, series, sites.size());
            if(j.grows && s.own)
                r.findings.push_back(tools::as_finding(s, ops));
            // Growth no frame of the lab's code is on (a library's own work) is said, not a finding.
            else if(j.grows && outside++ < 3)
                r.notes.push_back("tasks: " + tools::describe(s, shown_root));
            else if(!j.grows && s.own && below++ < 3)
                r.notes.push_back("tasks: " + tools::describe(s, shown_root) + ", not a leak: " + j.reason);
        }
        r.notes.push_back("tasks: " + std::to_string(dumps.size()) + " dumps of pending operations, after round " +
                          std::to_string(r.warmup_rounds) + " to after the last, " + std::to_string(ops) +
                          " operations apart; " + std::to_string(sites.size()) + " sites grew");
    }
    catch(const std::exception& e)
    {
        r.verdict = verdict::outcome::error;
        r.error = e.what();
    }
}

// The heaptrack mode's evidence: what was in use at every cut of heaptrack's record, by site
// in the lab's code; each site that grew from the first cut to the last judged over all of
// them (verdict/sites.hpp), as the heapprof mode's sites are.
void add_heaptrack_growth(run::result& r, const fs::path& binary, const fs::path& log_dir, const fs::path& root)
{
    if(r.heap_profiles.size() < 2)
    {
        if(r.verdict != verdict::outcome::error)
            r.notes.push_back("no heaptrack diff: the run ended before its last round");
        return;
    }
    const std::size_t ops = r.heap_profiles.back().cumulative_ops - r.heap_profiles.front().cumulative_ops;
    try
    {
        const auto parts = tools::find_heaptrack();
        if(!parts)
            throw std::runtime_error("heaptrack's parts are gone since the run started");
        const auto files = tools::read_function_files(binary, log_dir);
        using site_map = std::map<std::pair<std::string, unsigned>, tools::heap_site>;
        std::vector<site_map> at;
        std::vector<double> at_ops;
        std::vector<tools::heap_stack> first, last;
        for(std::size_t i = 0; i < r.heap_profiles.size(); ++i)
        {
            const auto& cut = r.heap_profiles[i];
            auto stacks = tools::in_use_at(*parts, cut.file, cut.length, log_dir, cut.name);
            tools::place_frames(stacks, files, fs::weakly_canonical(binary).string());
            at.push_back(tools::sites_by_line(stacks));
            at_ops.push_back(double(cut.cumulative_ops));
            if(i == 0)
                first = std::move(stacks);
            else if(i + 1 == r.heap_profiles.size())
                last = std::move(stacks);
        }
        // The sites that grew from the first cut to the last, largest first.
        std::vector<tools::heap_site> sites;
        for(auto& [key, s] : at.back())
        {
            const auto before = at.front().count(key) ? at.front().at(key).bytes : 0;
            if(s.bytes > before)
            {
                tools::heap_site grown = s;
                grown.bytes = s.bytes - before;
                grown.bytes_per_op = ops > 0 ? double(grown.bytes) / double(ops) : 0;
                sites.push_back(grown);
            }
        }
        std::stable_sort(sites.begin(), sites.end(), [](auto& a, auto& b) { return a.bytes > b.bytes; });
        std::size_t below = 0;
        const auto shown_root = fs::weakly_canonical(root);
        for(auto& s : sites)
        {
            const auto key = std::make_pair(s.site.file, s.site.line);
            std::vector<double> series;
            for(auto& m : at)
                series.push_back(m.count(key) ? double(m.at(key).bytes) : 0.0);
            const auto j = verdict::judge_site(rule_in_run(r, "heap_bytes"), at_ops, series, sites.size());
            if(j.grows)
                r.findings.push_back(tools::as_finding(s, ops, "heaptrack"));
            else if(below++ < 3)
                r.notes.push_back("heaptrack: " + tools::describe(s, shown_root) + ", not a leak: " + j.reason);
        }
        // What grew on stacks that never reach the lab's code: said, not a finding.
        for(auto& s : first)
            s.bytes = -s.bytes;
        last.insert(last.end(), first.begin(), first.end());
        if(auto other = tools::outside_own(last, ops); verdict::heap_site_grows(other.bytes_per_op))
            r.notes.push_back("heaptrack: outside the lab's code (stacks that never reach it), the most at " +
                              tools::describe(other) + " in all");
        r.notes.push_back("heaptrack: the record cut " + std::to_string(r.heap_profiles.size()) + " times, after round " +
                          std::to_string(r.warmup_rounds) + " to after the last, " + std::to_string(ops) +
                          " operations apart; " + std::to_string(sites.size()) + " sites in the lab's code grew");
    }
    catch(const std::exception& e)
    {
        r.verdict = verdict::outcome::error;
        r.error = e.what();
    }
}

} // namespace

lab_run run_lab(const labs::manifest& lab, const std::string& variant, const std::optional<fs::path>& source,
                const common& c, const std::function<void()>& built)
{
    const tools::mode* mode = tool_mode(c);
    if(mode)
        if(auto why = tools::unavailable(*mode, host()); !why.empty())
        {
            // Never a false clean: a mode that cannot run says why, and has its own exit code.
            lab_run out;
            out.heading = {lab.name(), lab.title, variant, ""};
            out.result.verdict = verdict::outcome::skipped;
            out.result.mode = mode->name;
            out.result.skipped = mode->name + " cannot run here: " + why;
            return out;
        }
    common cc = c;
    if(mode && !mode->preset.empty())
        cc.preset = mode->preset;
    auto tree = labs::open_build_tree(cc.root, cc.preset, cc.build_dir, cc.quiet, cc.no_build);
    if(mode && (tree.sanitizer != mode->sanitizer || tree.allocator != mode->allocator || !tree.runner.empty()))
        throw usage_error("--mode " + mode->name + " needs a build tree configured with the " +
                          (mode->preset.empty() ? std::string("dev (or release)") : mode->preset) + " preset; " + tree.dir.string() + " is built " +
                          (!tree.runner.empty() ? std::string("for another machine (it runs under an emulator)")
                           : tree.allocator != mode->allocator
                               ? (tree.allocator.empty() ? std::string("with glibc's allocator") : "with " + tree.allocator)
                           : tree.sanitizer.empty() ? std::string("without a sanitizer")
                                                    : "with " + tree.sanitizer) +
                          " (drop --build-dir, or give one made with --preset " + (mode->preset.empty() ? std::string("dev") : mode->preset) + ")");
    // A slow tool (memcheck) gets a share of the churn, unless --scale says otherwise.
    if(mode && tools::churn_scale(*mode) < 1 && !cc.scale_given)
    {
        cc.scale = tools::churn_scale(*mode);
        cc.scale_given = true;
    }
    auto binary = !cc.server_binary.empty() ? fs::absolute(cc.server_binary)
                                            : labs::build_variant(tree, lab, variant, source, cc.quiet, cc.no_build);
    if(built)
        built();

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
    if(auto* fx = fixture_of(lab, variant))
        out.heading.variant = "wrong fix " + fx->name;
    auto plan = adjusted(lab.plan, cc);
    if(cc.stop_within && !plan.stop_within_s)
        plan.stop_within_s = cc.stop_within;
    // A descriptor limit chosen so that a leak exhausts it within the run shrinks with the run.
    const double scale = cc.profile == "pi" && !cc.scale_given ? 0.25 : cc.scale;
    if(t.nofile && scale < 1)
        t.nofile = std::max<std::uint64_t>(64, static_cast<std::uint64_t>(std::llround(double(*t.nofile) * scale)));
    // What the sanitizer's runtime or an emulator makes meaningless as growth evidence (the
    // catalog says): the server runs under qemu when its tree has a runner (a Pi build here)
    // or when leaklab itself does (a deployed kit tried on this desktop).
    const bool emulated = !tree.runner.empty() || process::read_platform().emulated;
    for(auto& [name, why] : verdict::not_judged_under(tree.sanitizer, emulated))
        plan.unjudged[name] = why;
    if(mode)
    {
        // The tool's reports go to files of their own in the run's log folder.
        std::error_code ec;
        fs::create_directories(t.log_dir, ec);
        auto env = tools::environment(*mode, t.log_dir, host());
        t.env.insert(t.env.end(), env.begin(), env.end());
        auto prefix = tools::command_prefix(*mode, t.log_dir);
        t.argv.insert(t.argv.begin(), prefix.begin(), prefix.end());
        // Under a slow tool the server gets that many times the time to start, answer a round,
        // settle and stop (memcheck checks for leaks as it exits); a reply's own deadline stays.
        for(auto& [name, why] : verdict::not_judged_in_mode(mode->name))
            plan.unjudged[name] = why;
        if(const double slow = tools::slowdown(*mode); slow > 1)
        {
            t.start_timeout = std::chrono::milliseconds(static_cast<long>(double(t.start_timeout.count()) * slow));
            plan.round_timeout_s *= slow;
            plan.settle_max *= 4;
            if(plan.stop_within_s)
                *plan.stop_within_s *= slow;
            plan.stop_grace_s = 3.0 * slow;
        }
        // memcheck checks for leaks after the program ends: over a large heap that takes longer
        // than the stop deadline, which is the program's, not the tool's.
        if(mode->name == "valgrind")
            t.memcheck_exit = std::chrono::minutes(2);
    }
    t.heap_profiles = mode && mode->name == "heapprof";
    t.pending_dumps = mode && mode->name == "tasks";
    t.live_leak_check = mode && mode->name == "lsan-live";
    if(mode && mode->name == "heaptrack")
        t.heaptrack_record = t.log_dir / "heaptrack.raw";
    report::progress prog(lab.id + " " + variant + (mode ? " (" + mode->name + ")" : ""), cc.quiet);
    out.result = run::execute(t, plan, std::ref(prog));
    prog.done();
    if(t.heap_profiles)
        add_heap_growth(out.result, binary, t.log_dir, cc.root);
    if(t.pending_dumps)
        add_pending_growth(out.result, t.log_dir, cc.root);
    if(!t.heaptrack_record.empty())
        add_heaptrack_growth(out.result, binary, t.log_dir, cc.root);
    // The server's own files, and the objects built from them: do they turn an instrument off?
    {
        std::vector<fs::path> sources;
        fs::path objects = tree.dir / "labs" / lab.name();
        const auto* fx = fixture_of(lab, variant);
        for(auto& f : lab.student_files)
            sources.push_back(source ? *source / f
                              : variant == "leaky" ? lab.dir / f
                              : variant == "fixed" ? cc.root / "solutions" / lab.name() / f
                              : fx ? objects / ("wf-" + fx->name) / f
                                   : fs::path());
        if(source)
            objects = binary.parent_path().parent_path();
        auto tampering = tools::find_tampering(sources, objects, binary.filename().string(), t.log_dir);
        if(!tampering.empty())
        {
            auto& r = out.result;
            r.findings.insert(r.findings.begin(), tampering.begin(), tampering.end());
            r.verdict = verdict::with_tampering(r.verdict, tampering.size());
        }
    }
    relative_to_root(out.result.findings, cc.root);
    if(mode)
    {
        auto& r = out.result;
        r.mode = mode->name;
        if(auto lim = tools::limited(*mode, host()); !lim.empty())
            r.notes.push_back(lim);
        const auto run_verdict = r.verdict;
        r.verdict = verdict::with_tool_reports(r.verdict, r.findings.size());
        // A tool that checks at exit (LeakSanitizer, memcheck) said nothing because it never ran:
        // the server was killed, or ended by a signal, instead of exiting.
        const bool exit_check = (mode->name == "asan" && tools::limited(*mode, host()).empty()) || mode->name == "valgrind";
        // The metrics this lab's leak shows in, all unjudged under the tool: clean cannot be said.
        {
            std::vector<std::string> blind;
            for(auto& name : lab.expect.at("leaky").flagged)
                if(plan.unjudged.count(name))
                    blind.push_back(name);
            // ... unless the tool itself finds this lab's leak (the catch matrix says so): then its
            // silence is the evidence (memcheck names lab 06's lost readings).
            const bool tool_sees_it = lab.modes.count(mode->name) && !lab.modes.at(mode->name).at("leaky").finds.empty();
            const bool all = !blind.empty() && blind.size() == lab.expect.at("leaky").flagged.size() && !tool_sees_it;
            // A lab whose defect only another tool finds (a race, for tsan): this tool cannot clear it.
            const auto& judged_by = lab.expect.at("leaky").mode;
            const bool other_tool = !judged_by.empty() && judged_by != mode->name;
            const auto before = r.verdict;
            r.verdict = verdict::with_blind_spot(r.verdict, all || other_tool);
            if(r.verdict != before && other_tool)
                r.blind = "this lab's defect is found by " + judged_by + ", and " + mode->name +
                          " does not look for it: run --mode " + judged_by;
            else if(r.verdict != before)
            {
                std::string names;
                for(std::size_t i = 0; i < blind.size(); ++i)
                    names += (i == 0 ? "" : i + 1 == blind.size() ? " and " : ", ") + blind[i];
                r.blind = names + (blind.size() == 1 ? ", where this lab's leak shows, is" : ", where this lab's leak shows, are") +
                          " not judged under " + mode->name + " and the tool found nothing: the growth check (no --mode) decides";
            }
        }
        // Only a clean verdict rests on it: a leak or a broken contract stands on its own evidence.
        if(exit_check && r.verdict == verdict::outcome::clean && r.server_exit.rfind("exited with code", 0) != 0)
        {
            r.error = std::string(mode->name == "asan" ? "LeakSanitizer" : "memcheck") +
                      "'s check at exit never ran: the server " + r.server_exit + " instead of exiting";
            r.verdict = verdict::outcome::error;
        }
        // A sanitizer that stopped the server at its first report: the report is the verdict, the stop its end.
        if(r.verdict == verdict::outcome::flagged && run_verdict == verdict::outcome::error)
        {
            r.notes.push_back("the run ended early: " + r.error +
                              (mode->preset == "asan" ? " (asan stops the server at the first error it reports)"
                                                    : " (the tool's reports explain it)"));
            r.error.clear();
            r.clauses = 0;  // a run cut short held no clause to the end
        }
    }
    cleanup_logs(t.log_dir, out.result, cc);
    return out;
}

int exit_code(const run::result& r)
{
    switch(r.verdict)
    {
    case verdict::outcome::clean: return exit_clean;
    case verdict::outcome::leak: return exit_leak;
    case verdict::outcome::error: return exit_error;
    case verdict::outcome::inconclusive: return exit_inconclusive;
    case verdict::outcome::broken: return exit_broken;
    case verdict::outcome::flagged: return exit_flagged;
    case verdict::outcome::skipped: return exit_skipped;
    }
    return exit_error;
}

std::string one_line(const run::result& r)
{
    if(r.verdict == verdict::outcome::clean)
        return "CLEAN: no metric keeps growing with the operations";
    if(r.verdict == verdict::outcome::leak)
    {
        if(!r.stopped_serving.empty())
            return "LEAK: " + r.stopped_serving;
        if(r.flagged().empty() && !r.over_limits.empty())
            return "LEAK: past a limit of its contract: " + verdict::describe(r.over_limits.front());
        std::string names;
        for(auto& n : r.flagged())
            names += (names.empty() ? "" : ", ") + n;
        return "LEAK: " + names + (r.flagged().size() == 1 ? " keeps" : " keep") + " growing with every operation";
    }
    if(r.verdict == verdict::outcome::inconclusive)
        return "INCONCLUSIVE: " + r.undecided_summary();
    if(r.verdict == verdict::outcome::broken)
        return "BROKEN: " + (r.breaches.empty() ? std::string("the contract") : verdict::describe(r.breaches.front()));
    if(r.verdict == verdict::outcome::flagged)
        return "FLAGGED: " + (r.findings.empty() ? std::string("the tool's reports") : tools::headline(r.findings.front())) +
               (r.findings.size() > 1 ? " (and " + std::to_string(r.findings.size() - 1) + " more)" : "");
    if(r.verdict == verdict::outcome::skipped)
        return "SKIPPED: " + r.skipped;
    auto first = r.error.substr(0, r.error.find('\n'));
    return "ERROR: " + first;
}

const labs::fixture* fixture_of(const labs::manifest& lab, const std::string& variant)
{
    if(variant.rfind("wf-", 0) != 0)
        return nullptr;
    for(auto& fx : lab.fixtures)
        if("wf-" + fx.name == variant)
            return &fx;
    return nullptr;
}

std::string variant_named(const labs::manifest& lab, const std::string& name)
{
    if(name == "leaky" || name == "fixed")
        return name;
    for(auto& fx : lab.fixtures)
        if(name == fx.name || name == "wf-" + fx.name)
            return "wf-" + fx.name;
    std::string known = "leaky, fixed";
    for(auto& fx : lab.fixtures)
        known += ", wf-" + fx.name;
    throw usage_error("--variant must be one of lab " + lab.id + "'s: " + known + " (not '" + name + "')");
}

} // namespace leaklab::cli
