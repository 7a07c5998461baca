// leaklab check NN (--variant leaky|fixed | --source DIR): one run, the verdict and its evidence.
#include "leaklab/cli/common.hpp"

#include "leaklab/labs/manifest.hpp"
#include "leaklab/tools/modes.hpp"

#include <algorithm>
#include <iostream>

namespace leaklab::cli {

int cmd_check(const std::vector<std::string>& args)
{
    common c;
    std::string lab_name, variant;
    po::options_description d = common_options(c);
    d.add_options()
        ("lab", po::value<std::string>(&lab_name), "the lab: 01 or its slug")
        ("variant", po::value<std::string>(&variant), "leaky or fixed: the kit's own server, or a wrong fix the kit must reject (wf-NAME; `leaklab verify NN` lists them) (not with --source)")
        ("source", po::value<std::string>(), "check a student's copy: the lab's student files from this folder (instead of --variant)")
        ("mode", po::value<std::string>(&c.mode), ("growth (default), or a tool's: " + tools::mode_names() +
                                                   "; a tool mode builds its preset and its reports decide").c_str())
        ("json", po::value<std::string>(), "also write the result as JSON to this file")
        ("server-binary", po::value<std::string>(), "with --source: run this binary, already built from the folder's files, instead of building it (leaklab grade)")
        ("stop-within", po::value<double>(), "the server must exit within this many seconds of SIGTERM, or the contract is broken (leaklab grade: 10)");
    po::positional_options_description pos;
    pos.add("lab", 1);
    auto vm = parse(args, d, pos, c, "check <lab> (--variant leaky|fixed | --source DIR) [--mode growth|asan|lsan-live|tsan|valgrind|heapprof|heaptrack|tasks] [--json FILE]");
    if(lab_name.empty())
        throw usage_error("which lab? e.g. `leaklab check 01 --variant leaky` (`leaklab list` shows them)");
    std::optional<fs::path> source;
    if(vm.count("source"))
    {
        // --source checks the student's copy; a variant would be silently ignored, so refuse it.
        if(vm.count("variant") && variant != "student")
            throw usage_error("--variant " + variant + " cannot go with --source: --source checks the files in " +
                              vm["source"].as<std::string>() + ", not the kit's " + variant +
                              " server (drop one of the two)");
        source = fs::path(vm["source"].as<std::string>());
        variant = "student";
    }
    if(variant.empty())
        throw usage_error("--variant is required (leaky or fixed), or --source DIR for your copy");
    if(vm.count("server-binary"))
    {
        if(!source)
            throw usage_error("--server-binary goes with --source: the folder its student files were built from");
        c.server_binary = vm["server-binary"].as<std::string>();
        if(!fs::exists(c.server_binary))
            throw usage_error("--server-binary " + c.server_binary.string() + ": no such file");
    }
    if(vm.count("stop-within"))
        c.stop_within = vm["stop-within"].as<double>();
    auto lab = labs::find_lab(c.root, lab_name);
    if(!source)
        variant = variant_named(lab, variant);
    auto lr = run_lab(lab, variant, source, c);
    report::print_result(std::cout, lr.heading, lr.result, c.color);
    if(vm.count("json"))
    {
        auto j = report::to_json(lr.heading, lr.result);
        j["summary"] = one_line(lr.result);
        report::write_json(vm["json"].as<std::string>(), j);
    }
    return exit_code(lr.result);
}

} // namespace leaklab::cli
