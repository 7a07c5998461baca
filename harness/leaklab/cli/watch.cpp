// leaklab watch NN [--source DIR]: re-build and re-check the student's copy on every
// save of one of its student files; shows each verdict with its one-line reason and
// the time from the save to the verdict. Ctrl-C stops it. Polls the files' mtimes
// (every --interval ms): simple, and it works on every file system and editor.
#include "leaklab/cli/common.hpp"

#include "leaklab/labs/build.hpp"
#include "leaklab/process/child.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

namespace leaklab::cli {

namespace {

using namespace std::chrono;

// A file's modification time in nanoseconds since the epoch; -1 when it is missing.
long long mtime_ns(const fs::path& p)
{
    struct stat st{};
    if(::stat(p.c_str(), &st) != 0)
        return -1;
    return (long long)st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
}

using snapshot = std::map<std::string, long long>;

snapshot take(const fs::path& dir, const std::vector<std::string>& files)
{
    snapshot s;
    for(auto& f : files)
        s[f] = mtime_ns(dir / f);
    return s;
}

std::string clock_now()
{
    auto t = std::time(nullptr);
    char buf[16];
    std::strftime(buf, sizeof buf, "%H:%M:%S", std::localtime(&t));
    return buf;
}

long long now_ns()
{
    return duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
}

} // namespace

int cmd_watch(const std::vector<std::string>& args)
{
    common c;
    std::string lab_name;
    std::size_t max_checks = 0, interval_ms = 300;
    double timeout_s = 0;
    bool full = false;
    po::options_description d = common_options(c);
    d.add_options()
        ("lab", po::value<std::string>(&lab_name), "the lab")
        ("source", po::value<std::string>(), "your copy of the lab (default: the lab folder in the kit)")
        ("report", po::bool_switch(&full), "print the whole verdict table after each check, not only its line")
        ("interval", po::value<std::size_t>(&interval_ms), "how often to look at the files, in ms (default 300)")
        ("max-checks", po::value<std::size_t>(&max_checks), "stop after this many checks (default: until Ctrl-C)")
        ("timeout", po::value<double>(&timeout_s), "stop after this many seconds (default: until Ctrl-C)");
    po::positional_options_description pos;
    pos.add("lab", 1);
    auto vm = parse(args, d, pos, c, "watch <lab> [--source DIR] [--report] [--max-checks N] [--timeout S]");
    if(lab_name.empty())
        throw usage_error("which lab? e.g. `leaklab watch 01 --source ~/lab01`");
    if(vm.count("interval") && (interval_ms < 20 || interval_ms > 60'000))
        throw usage_error("--interval wants 20 to 60000 ms");
    if(vm.count("max-checks") && max_checks < 1)
        throw usage_error("--max-checks wants at least 1");
    if(vm.count("timeout") && !(timeout_s > 0))
        throw usage_error("--timeout wants a number of seconds above 0");
    if(c.no_build)
        throw usage_error("--no-build cannot go with watch: watch re-builds your copy on every save");
    auto lab = labs::find_lab(c.root, lab_name);
    fs::path dir = vm.count("source") ? fs::absolute(vm["source"].as<std::string>()) : lab.dir;
    if(!fs::is_directory(dir))
        throw usage_error("--source " + dir.string() + ": no such directory");

    std::string files;
    for(auto& f : lab.student_files)
        files += (files.empty() ? "" : ", ") + (dir / f).string();
    std::cout << "watch: lab " << lab.id << ", " << files << "\n"
              << "watch: every save re-builds and re-checks it; Ctrl-C stops\n"
              << std::flush;

    common quiet = c;
    quiet.quiet = true;  // watch says itself what it is doing
    auto started = steady_clock::now();
    auto out_of_time = [&] {
        return timeout_s > 0 && duration<double>(steady_clock::now() - started).count() >= timeout_s;
    };
    std::size_t checks = 0;
    int last = exit_error;
    std::string stop_reason;
    snapshot seen = take(dir, lab.student_files);
    std::string why = "first check";
    long long saved_ns = -1;  // when the change was saved (-1: the first check, no save)
    while(true)
    {
        // Check now.
        std::cout << "[" << clock_now() << "] " << why << ": building ... " << std::flush;
        std::string line;
        try
        {
            auto lr = run_lab(lab, "student", dir, quiet, [] { std::cout << "checking ... " << std::flush; });
            last = exit_code(lr.result);
            line = one_line(lr.result);
            if(full)
            {
                std::cout << "\n";
                report::print_result(std::cout, lr.heading, lr.result, c.color);
            }
        }
        catch(const labs::build_error& e)
        {
            last = exit_error;
            line = "ERROR: your copy does not build";
            if(!process::interrupted())
                std::cout << "\n" << e.what();
        }
        ++checks;
        if(process::interrupted())
        {
            std::cout << "\nwatch: stopped (Ctrl-C) during check " << checks << "; its result is void\n";
            return last;
        }
        std::cout << "\n[" << clock_now() << "] " << line;
        if(saved_ns >= 0)
            std::cout << std::fixed << std::setprecision(1) << "  (" << double(now_ns() - saved_ns) / 1e9
                      << " s from save to verdict)" << std::defaultfloat;
        std::cout << "\n" << std::flush;

        if(max_checks && checks >= max_checks)
        {
            stop_reason = "after " + std::to_string(checks) + " checks (--max-checks)";
            break;
        }
        // Wait for the next save.
        std::string changed;
        while(changed.empty())
        {
            if(process::interrupted())
            {
                std::cout << "watch: stopped (Ctrl-C) after " << checks << " checks\n";
                return last;
            }
            if(out_of_time())
                break;
            std::this_thread::sleep_for(milliseconds(interval_ms));
            auto now = take(dir, lab.student_files);
            for(auto& [f, t] : now)
                if(t != seen[f])
                    changed += (changed.empty() ? "" : ", ") + f;
            if(changed.empty())
                continue;
            // An editor may write a file in several steps: wait until it stays put (and exists).
            for(int i = 0; i < 50; ++i)
            {
                std::this_thread::sleep_for(milliseconds(std::min<std::size_t>(interval_ms, 150)));
                auto again = take(dir, lab.student_files);
                bool missing = std::any_of(again.begin(), again.end(), [](auto& kv) { return kv.second < 0; });
                if(again == now && !missing)
                    break;
                now = again;
            }
            saved_ns = 0;
            for(auto& [f, t] : now)
                if(t != seen[f])
                    saved_ns = std::max(saved_ns, t);
            seen = now;
        }
        if(changed.empty())
        {
            std::ostringstream s;
            s << "after " << timeout_s << " s (--timeout)";
            stop_reason = s.str();
            break;
        }
        why = "change seen in " + changed;
    }
    std::cout << "watch: stopped " << stop_reason << "; the last check: " << (last == 0 ? "CLEAN" : last == 1 ? "LEAK" : "ERROR")
              << "\n";
    return last;
}

} // namespace leaklab::cli
