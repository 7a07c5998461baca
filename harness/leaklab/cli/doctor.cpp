// leaklab doctor: which tools and runtimes are here, whether leaklab runs emulated, what
// the kernel and the board allow, and so which presets (and the tools behind them) work.
#include "leaklab/cli/common.hpp"
#include "leaklab/process/sandbox.hpp"

#include "leaklab/process/platform.hpp"
#include "leaklab/tools/modes.hpp"

#include <boost/json.hpp>

#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>

namespace leaklab::cli {

namespace json = boost::json;

int cmd_doctor(const std::vector<std::string>& args)
{
    common c;
    po::options_description d = common_options(c, opts_base);
    d.add_options()
        ("json", po::value<std::string>(), "also write the findings as JSON to this file")
        ("fake-root", po::value<std::string>(), "read /proc, /etc and /sys under this folder instead (tests)");
    auto vm = parse(args, d, {}, c, "doctor [--json FILE]");
    const fs::path root = vm.count("fake-root") ? fs::path(vm["fake-root"].as<std::string>()) : fs::path("/");
    const auto p = process::read_platform(root);
    const auto tools = process::find_tools();
    const bool faked = root != "/";
    const bool ptrace = !faked && !p.emulated && process::ptrace_permitted();
    std::map<std::string, std::string> found;
    for(auto& t : tools)
        found[t.name] = t.found;

    std::cout << "machine   " << p.arch << ", " << p.cores << " cores, " << process::human_bytes(p.memory_bytes)
              << ", pages of " << process::human_bytes(double(p.page_size)) << ", "
              << (p.va_bits ? std::to_string(p.va_bits) + "-bit" : std::string("unknown")) << " user address space, "
              << p.word_bits << "-bit userland, " << (p.emulated ? "EMULATED (qemu-user)" : "native") << '\n';
    if(!p.model.empty())
        std::cout << "board     " << p.model << '\n';
    std::cout << "ptrace    "
              << (faked ? std::string("not tried (a fake root)")
                  : p.emulated ? std::string("not tried (emulated)")
                  : ptrace ? std::string("a child may trace its parent: LeakSanitizer can check for leaks at exit")
                           : std::string("NOT permitted (ptrace_scope ") + std::to_string(p.ptrace_scope) +
                                 ", or a container without CAP_SYS_PTRACE): LeakSanitizer cannot check for leaks")
              << "\n\ntools\n";
    for(auto& t : tools)
        std::cout << "  " << (t.found.empty() ? "no " : "yes") << "  " << std::left << std::setw(24) << t.name
                  << std::setw(58) << (t.found.empty() ? "-" : t.found) << std::right << t.what
                  << (t.found.empty() ? " (" + t.hint + ")" : "") << '\n';

    // What each preset needs, and whether it is here.
    auto native_tool = [&](bool have, const std::string& missing) -> std::string {
        if(p.emulated)
            return "no: emulated (these tools do not run under qemu-user)";
        return have ? "yes" : "no: " + missing;
    };
    const bool lsan64 = p.word_bits == 64;
    const bool asan_va = !(p.arch == "aarch64" && p.va_bits > 0 && p.va_bits <= 39);
    std::vector<std::pair<std::string, std::string>> presets = {
        {"growth verdicts (dev)", "yes"},
        {"--preset asan", native_tool(!found["libasan"].empty() && asan_va,
                                      found["libasan"].empty() ? "no libasan" : "39-bit virtual addresses") +
                              (!p.emulated && !found["libasan"].empty() && asan_va && !(lsan64 && (ptrace || faked))
                                   ? " (ASan and UBSan; LeakSanitizer cannot run here)"
                                   : "")},
        {"--preset tsan", native_tool(!found["libtsan"].empty(), "no libtsan")},
        {"--preset valgrind", native_tool(!found["valgrind"].empty(), "no valgrind")},
        {"--preset gperf", native_tool(!found["libtcmalloc"].empty() && !found["google-pprof"].empty(),
                                       "needs libtcmalloc and google-pprof")},
    };
    for(auto [arch, qemu, gxx, triple] : {std::tuple{"aarch64", "qemu-aarch64", "aarch64-linux-gnu-g++", "aarch64-linux-gnu"},
                                          std::tuple{"armhf", "qemu-arm", "arm-linux-gnueabihf-g++", "arm-linux-gnueabihf"}})
    {
        const char* pi_root = std::getenv("LEAKLAB_PI_ROOT");
        const bool root_ready = fs::exists(fs::path(pi_root ? pi_root : "/opt/leaklab/pi") / triple / ".leaklab-root");
        std::string status = found[qemu].empty() ? "no: " + std::string(qemu) + " missing"
                           : found[gxx].empty()  ? "no: " + std::string(gxx) + " missing"
                           : !root_ready         ? std::string("no: the target root is missing (scripts/setup.sh)")
                                                 : std::string("yes (under ") + qemu + ")";
        presets.push_back({std::string("--preset pi-") + arch, status});
    }
    std::cout << "\nwhat works here\n";
    for(auto& [name, status] : presets)
        std::cout << "  " << std::left << std::setw(26) << name << std::right << status << '\n';
    // The modes of `check --mode` and `verify --modes`: usable here, limited, or skipped and why.
    tools::host h{p, tools, ptrace || faked};
    std::vector<std::pair<std::string, std::string>> mode_status;
    std::cout << "\nmodes (leaklab check --mode M)\n";
    for(auto& m : tools::modes())
    {
        const auto no = tools::unavailable(m, h);
        const auto lim = no.empty() ? tools::limited(m, h) : std::string();
        const std::string status = !no.empty() ? "skipped: " + no : lim.empty() ? std::string("yes") : "yes, but " + lim;
        mode_status.push_back({m.name, status});
        std::cout << "  " << std::left << std::setw(26) << m.name << std::right << status << '\n';
    }
    // What leaklab grade's sandbox can do here.
    const auto box = process::probe_sandbox();
    std::cout << "\ngrading sandbox (leaklab grade)\n";
    for(auto& line : process::describe(box, process::sandbox_limits{}))
        std::cout << "  - " << line << '\n';
    const auto limits = process::platform_limits(p);
    std::cout << "\nlimits\n";
    if(limits.empty())
        std::cout << "  none found\n";
    for(auto& l : limits)
        std::cout << "  - " << l << '\n';

    if(vm.count("json"))
    {
        json::object o;
        o["arch"] = p.arch;
        o["cores"] = p.cores;
        o["memory_bytes"] = p.memory_bytes;
        o["page_size"] = p.page_size;
        o["va_bits"] = p.va_bits;
        o["word_bits"] = p.word_bits;
        o["emulated"] = p.emulated;
        o["model"] = p.model;
        o["ptrace"] = ptrace;
        json::object t;
        for(auto& x : tools)
            t[x.name] = x.found.empty() ? json::value(nullptr) : json::value(x.found);
        o["tools"] = std::move(t);
        json::object pr;
        for(auto& [name, status] : presets)
            pr[name] = status;
        o["presets"] = std::move(pr);
        json::object md;
        for(auto& [name, status] : mode_status)
            md[name] = status;
        o["modes"] = std::move(md);
        json::array l;
        for(auto& x : limits)
            l.push_back(json::value(x));
        o["limits"] = std::move(l);
        o["grade_sandbox"] = json::object{{"namespaces", box.namespaces},
                                          {"namespaces_why", box.namespaces_why},
                                          {"pids_cgroup", box.pids_root.string()},
                                          {"nproc_enforced", box.nproc_enforced}};
        report::write_json(vm["json"].as<std::string>(), o);
    }
    return 0;
}

} // namespace leaklab::cli
