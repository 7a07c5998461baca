// leaklab grade SUBMISSIONS --out DIR: every student's copy of every lab built against this
// tree's compiled Asio, Beast and precompiled header, checked in a sandbox, scored, and
// written out for course tools.
#include "leaklab/cli/common.hpp"

#include "leaklab/grade/grade.hpp"
#include "leaklab/labs/build.hpp"
#include "leaklab/process/platform.hpp"
#include "leaklab/process/sandbox.hpp"

#include <boost/algorithm/string.hpp>

#include <atomic>
#include <sys/resource.h>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

namespace leaklab::cli {

namespace json = boost::json;
using namespace std::chrono;

namespace {

// One student's copy of one lab, through its stages.
struct task
{
    const grade::student* who = nullptr;
    const labs::manifest* lab = nullptr;
    std::string mode = "growth";       // or the tool whose finding is the lab's defect (lab 21: tsan)
    const labs::build_tree* tree = nullptr;
    fs::path work;      // OUT/work/<student>/<NN>[-mode]
    fs::path src;       // work/src: the student files, and nothing else
    fs::path binary;
    grade::attempt a;
    std::string concurrent_verdict;  // with --jobs > 1: what the run beside others said
};

std::string text_of(const fs::path& p)
{
    return process::read_text(p, 1u << 20);
}

// Runs f(i) for every i in [0, n), `jobs` at a time.
template <class F>
void in_parallel(std::size_t n, std::size_t jobs, F f)
{
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> workers;
    for(std::size_t w = 0; w < std::max<std::size_t>(1, std::min(jobs, n)); ++w)
        workers.emplace_back([&] {
            for(std::size_t i; (i = next++) < n;)
                f(i);
        });
    for(auto& t : workers)
        t.join();
}

// This leaklab, to run the checks with: its path, read once (a leaklab rebuilt meanwhile is
// then run by that path, not looked for under its old, deleted file).
std::string self_exe()
{
    return fs::read_symlink("/proc/self/exe").string();
}

// The check of a built copy, in the sandbox; the result JSON, if the check wrote one.
void run_check(task& t, const std::string& exe, const common& c, const process::sandbox_support& box,
               process::sandbox_limits limits, seconds timeout)
{
    const auto& tree = *t.tree;
    // A sanitizer's runtime reserves terabytes of address space for its shadow memory.
    if(t.mode != "growth")
        limits.address_space = RLIM_INFINITY;
    std::error_code ec;
    const auto result = t.work / "result.json";
    fs::remove(result, ec);
    const auto logs = t.work / "check";
    std::vector<std::string> argv = {exe,
                                     "check", t.lab->id, "--source", t.src.string(), "--server-binary", t.binary.string(),
                                     "--json", result.string(), "--stop-within", "10", "--root", c.root.string(),
                                     "--build-dir", tree.dir.string(), "--no-build", "--quiet", "--no-color",
                                     "--mode", t.mode};
    auto r = process::run_sandboxed(argv, box, limits, logs, timeout, t.who->name + "-" + t.lab->id + "-" + t.mode);
    t.a.ran = true;
    t.a.exit = r.status;
    t.a.run_s = r.seconds;
    t.a.timeout_s = double(timeout.count());
    t.a.forks_refused = r.forks_refused;
    t.a.process_limit = limits.processes;
    t.a.log_tail = text_of(logs / "stdout.log") + text_of(logs / "stderr.log");
    t.a.result.reset();
    if(fs::exists(result, ec))
    {
        boost::system::error_code jec;
        auto v = json::parse(text_of(result), jec);
        if(!jec && v.is_object())
            t.a.result = v.as_object();
    }
}

std::string verdict_of(const task& t)
{
    if(!t.a.exit)
        return "timeout";
    if(!t.a.result)
        return "no result";
    auto* v = t.a.result->if_contains("verdict");
    return v && v->is_string() ? std::string(v->as_string()) : "no verdict";
}

void write_file(const fs::path& p, const std::string& text)
{
    fs::create_directories(p.parent_path());
    std::ofstream out(p);
    out << text;
    if(!out)
        throw std::runtime_error("cannot write " + p.string());
}

} // namespace

int cmd_grade(const std::vector<std::string>& args)
{
    common c;
    std::string submissions, out_dir, lab_spec, formats = "gradescope,junit,csv,html";
    std::size_t jobs = 1, build_jobs = 0;
    double check_timeout = 300, build_timeout = 180;
    po::options_description d = common_options(c, opts_build);
    d.add_options()
        ("submissions", po::value<std::string>(&submissions), "the folder with one folder per student, each holding labs/NN-slug/<the lab's student files>")
        ("out", po::value<std::string>(&out_dir), "where the grades, each student's evidence and the course tools' files go")
        ("labs", po::value<std::string>(&lab_spec), "the labs graded: 04, a list such as 01,04, or all (default: every lab any student submitted)")
        ("format", po::value<std::string>(&formats), "what to write besides summary.json: gradescope, classroom, junit, csv, html (default: all but classroom)")
        ("jobs", po::value<std::size_t>(&jobs), "copies checked at once (default 1); with more, a check that is not clean is run again alone, and that run decides")
        ("build-jobs", po::value<std::size_t>(&build_jobs), "copies compiled at once, before any check runs (default: one per usable core with 1 GiB of available memory each, and at least --jobs)")
        ("check-timeout", po::value<double>(&check_timeout), "seconds one check may take before it is stopped with all it started (default 300)")
        ("build-timeout", po::value<double>(&build_timeout), "seconds one copy may take to compile (default 180)");
    po::positional_options_description pos;
    pos.add("submissions", 1);
    const auto vm = parse(args, d, pos, c, "grade <submissions-dir> --out DIR [--labs 01,04|all] [--format gradescope,classroom,junit,csv,html] [--jobs N] [--build-jobs N]");
    if(submissions.empty() || !fs::is_directory(submissions))
        throw usage_error("which submissions? `leaklab grade <folder with one folder per student> --out DIR`" +
                          (submissions.empty() ? std::string() : " (" + submissions + " is not a folder)"));
    if(out_dir.empty())
        throw usage_error("--out DIR: where the grades go");
    if(jobs < 1 || jobs > 64)
        throw usage_error("--jobs wants 1 to 64");
    if(vm.count("build-jobs") && (build_jobs < 1 || build_jobs > 64))
        throw usage_error("--build-jobs wants 1 to 64");
    if(check_timeout < 10 || build_timeout < 10)
        throw usage_error("--check-timeout and --build-timeout want at least 10 s");
    std::set<std::string> wanted;
    boost::split(wanted, formats, boost::is_any_of(","), boost::token_compress_on);
    for(auto& f : wanted)
        if(f != "gradescope" && f != "classroom" && f != "junit" && f != "csv" && f != "html")
            throw usage_error("--format: unknown '" + f + "' (gradescope, classroom, junit, csv, html)");

    const fs::path out = fs::absolute(out_dir);
    auto all = labs::load_all(c.root);
    auto students = grade::find_students(submissions, all);
    if(students.empty())
        throw usage_error(submissions + " has no student folders");
    std::vector<const labs::manifest*> graded;
    {
        std::set<std::string> ids;
        if(lab_spec.empty())
            for(auto& s : students)
                for(auto& [id, dir] : s.labs)
                    ids.insert(id);
        else if(lab_spec != "all")
        {
            std::vector<std::string> names;
            boost::split(names, lab_spec, boost::is_any_of(","), boost::token_compress_on);
            for(auto& n : names)
                ids.insert(labs::find_lab(c.root, n).id);
        }
        for(auto& lab : all)
            if(lab_spec == "all" || ids.count(lab.id))
                graded.push_back(&lab);
    }
    if(graded.empty())
        throw usage_error("no lab to grade: no student folder holds labs/NN-slug (say which with --labs)");

    auto tree = labs::open_build_tree(c.root, c.preset, c.build_dir, c.quiet);
    // A lab whose defect only a tool finds (its leaky variant is judged in that mode) is also
    // graded in that mode, with the mode's own build tree: growth alone would pass it unchanged.
    std::map<std::string, labs::build_tree> tool_trees;
    for(auto* lab : graded)
        if(auto& m = lab->grade_mode(); !m.empty() && !tool_trees.count(m))
        {
            const auto* mode = tools::find_mode(m);
            if(auto why = tools::unavailable(*mode, mode_host()); !why.empty())
                throw std::runtime_error("lab " + lab->id + " is graded under " + m + ", which cannot run here: " + why);
            tool_trees.emplace(m, labs::open_build_tree(c.root, mode->preset, "", c.quiet));
        }
    const auto exe = self_exe();
    const auto box = process::probe_sandbox();
    process::sandbox_limits limits;
    limits.cpu_seconds = static_cast<std::uint64_t>(check_timeout) + 60;
    std::vector<std::string> notes = process::describe(box, limits);
    if(!c.quiet)
        for(auto& n : notes)
            std::cerr << "leaklab grade: sandbox: " << n << '\n';
    // Builds run before any check, so compiling several at once never shares the machine with
    // a measurement: one per usable core, each with 1 GiB of memory (the largest lab's
    // compile, 13's, peaks at 740 MiB), and at least --jobs, unless told.
    std::string build_note = "copies compiled " + std::to_string(build_jobs) + " at once (--build-jobs)";
    if(!vm.count("build-jobs"))
    {
        const auto p = process::read_platform();
        const auto by_memory = static_cast<std::size_t>(p.memory_available_bytes / (1u << 30));
        build_jobs = std::max({std::size_t{1}, jobs, std::min<std::size_t>(p.usable_cores, by_memory)});
        build_note = "copies compiled " + std::to_string(build_jobs) + " at once (" + std::to_string(p.usable_cores) +
                     " usable cores, " + process::human_bytes(p.memory_available_bytes) +
                     " of memory available; --build-jobs to change)";
    }
    notes.push_back(build_note);
    if(!c.quiet)
        std::cerr << "leaklab grade: build: " << build_note << '\n';

    std::vector<task> tasks;
    for(auto& s : students)
        for(auto* lab : graded)
        {
            task t;
            t.who = &s;
            t.lab = lab;
            t.tree = &tree;
            t.work = out / "work" / s.name / lab->id;
            t.src = t.work / "src";
            tasks.push_back(t);
            if(auto& m = lab->grade_mode(); !m.empty())
            {
                t.mode = m;
                t.tree = &tool_trees.at(m);
                t.work = out / "work" / s.name / (lab->id + "-" + m);
                t.src = t.work / "src";
                tasks.push_back(t);
            }
        }
    std::mutex print;
    auto say = [&](const std::string& line) {
        if(c.quiet)
            return;
        std::lock_guard lock(print);
        std::cerr << line << '\n';
    };

    // 1. Build every copy: its student files alone, compiled against this tree.
    const auto t0 = steady_clock::now();
    labs::build_shared(tree);
    for(auto& [m, t] : tool_trees)
        labs::build_shared(t);
    in_parallel(tasks.size(), build_jobs, [&](std::size_t i) {
        auto& t = tasks[i];
        std::error_code ec;
        fs::remove_all(t.work, ec);
        fs::create_directories(t.src);
        auto it = t.who->labs.find(t.lab->id);
        for(auto& f : t.lab->student_files)
            if(it == t.who->labs.end() || !fs::is_regular_file(it->second / f))
                t.a.missing.push_back(f);
            else
                fs::copy_file(it->second / f, t.src / f, fs::copy_options::overwrite_existing, ec);
        if(!t.a.missing.empty())
            return say("[build " + std::to_string(i + 1) + "/" + std::to_string(tasks.size()) + "] " + t.who->name + " " +
                       t.lab->id + ": not submitted");
        const auto started = steady_clock::now();
        try
        {
            // A copy graded by growth alone reads no stack: built without debug information.
            t.binary = labs::build_copy(*t.tree, *t.lab, t.src, t.work, seconds(static_cast<long>(build_timeout)),
                                        t.mode != "growth");
        }
        catch(const labs::build_error& e)
        {
            t.a.build_error = e.what();
        }
        t.a.build_s = duration<double>(steady_clock::now() - started).count();
        say("[build " + std::to_string(i + 1) + "/" + std::to_string(tasks.size()) + "] " + t.who->name + " " +
            t.lab->id + ": " + (t.a.build_error ? "does not compile" : "built") + " in " +
            std::to_string(t.a.build_s).substr(0, 4) + " s");
    });
    const double build_s = duration<double>(steady_clock::now() - t0).count();

    // 2. Check every copy that built, in the sandbox.
    const auto timeout = seconds(static_cast<long>(check_timeout));
    const auto t1 = steady_clock::now();
    in_parallel(tasks.size(), jobs, [&](std::size_t i) {
        auto& t = tasks[i];
        if(!t.a.missing.empty() || t.a.build_error)
            return;
        run_check(t, exe, c, box, limits, timeout);
        say("[check " + std::to_string(i + 1) + "/" + std::to_string(tasks.size()) + "] " + t.who->name + " " +
            t.lab->id + (t.mode == "growth" ? "" : " (" + t.mode + ")") + ": " + verdict_of(t) + " in " + std::to_string(t.a.run_s).substr(0, 4) + " s");
    });
    // 3. Beside other checks, a run shares the CPU; one that is not clean is run again alone,
    // and that run decides, so sharing the machine can cost time but never a grade.
    std::size_t rerun = 0, changed = 0;
    if(jobs > 1)
        for(auto& t : tasks)
            if(t.a.ran && verdict_of(t) != "clean")
            {
                t.concurrent_verdict = verdict_of(t);
                run_check(t, exe, c, box, limits, timeout);
                ++rerun;
                changed += verdict_of(t) != t.concurrent_verdict;
                say("[alone] " + t.who->name + " " + t.lab->id + ": " + t.concurrent_verdict + " beside others, " +
                    verdict_of(t) + " alone");
            }
    const double check_s = duration<double>(steady_clock::now() - t1).count();

    // 4. Score, keep the evidence, write the course tools' files.
    std::vector<grade::check> checks;
    std::uintmax_t disk = 0;
    for(auto& t : tasks)
    {
        // A lab graded under a tool too: the tool's check carries the points, and passes only
        // if the growth check (the contract, the counts) passed as well.
        const bool tool_graded = !t.lab->grade_mode().empty();
        const double points = !tool_graded ? t.lab->points : t.mode == "growth" ? 0 : t.lab->points;
        auto ch = grade::score(t.a, t.who->name, *t.lab, t.mode, points);
        if(tool_graded && t.mode != "growth" && ch.passed)
        {
            const auto& growth = checks.back();  // the same student's growth check of the lab, scored just before
            if(!growth.passed)
                ch = grade::gated(ch, growth);
        }
        ch.beside_others = t.concurrent_verdict;
        checks.push_back(ch);
        std::error_code ec;
        // The objects were needed only for the check's scan of them; the binary and logs stay.
        fs::remove_all(t.work / ("lab" + t.lab->id + "-student.dir"), ec);
        for(auto it = fs::recursive_directory_iterator(t.work, ec); it != fs::recursive_directory_iterator(); it.increment(ec))
            if(it->is_regular_file(ec))
                disk += it->file_size(ec);
    }
    for(auto& s : students)
        if(!s.ignored.empty())
        {
            std::string list;
            for(std::size_t i = 0; i < s.ignored.size() && i < 5; ++i)
                list += (i ? ", " : "") + s.ignored[i];
            notes.push_back(s.name + ": ignored " + std::to_string(s.ignored.size()) + " file(s) that are not a graded lab's student files (" +
                            list + (s.ignored.size() > 5 ? ", ..." : "") + ")");
        }
    if(jobs > 1)
        notes.push_back(std::to_string(rerun) + " check(s) not clean beside others were run again alone; " +
                        std::to_string(changed) + " changed verdict");
    write_file(out / "summary.json",
               json::serialize(json::object{{"checks", grade::to_json(checks)},
                                            {"notes", json::value_from(notes)},
                                            {"build_seconds", build_s},
                                            {"check_seconds", check_s},
                                            {"jobs", jobs},
                                            {"build_jobs", build_jobs},
                                            {"disk_bytes", disk}}) +
                   "\n");
    for(const char* f : {"gradescope", "classroom"})
        if(wanted.count(f))
            for(auto& s : students)
            {
                std::vector<grade::check> own;
                for(auto& ch : checks)
                    if(ch.student == s.name)
                        own.push_back(ch);
                auto doc = std::string(f) == "gradescope" ? grade::gradescope(own) : grade::classroom(own);
                write_file(out / f / s.name / "results.json", json::serialize(doc) + "\n");
            }
    if(wanted.count("junit"))
        write_file(out / "junit.xml", grade::junit(checks));
    if(wanted.count("csv"))
        write_file(out / "grades.csv", grade::csv(checks));
    if(wanted.count("html"))
        write_file(out / "index.html", grade::html(checks, notes));

    // The gradebook on stdout.
    std::cout << grade::csv(checks);
    for(auto& ch : checks)
        if(!ch.passed)
            std::cout << ch.student << " lab " << ch.lab_id << ": " << ch.reason << '\n';
    std::cout << "graded " << students.size() << " student(s) x " << graded.size() << " lab(s): builds " << std::fixed
              << std::setprecision(1) << build_s << " s, checks " << check_s << " s, " << (disk >> 20)
              << " MiB kept in " << (out / "work").string() << '\n';
    return exit_clean;
}

} // namespace leaklab::cli
