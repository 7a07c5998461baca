// leaklab probe --cmd '<server {port}>' --workload KIND: any server, judged as a black box.
#include "leaklab/cli/common.hpp"

#include "leaklab/labs/manifest.hpp"
#include "leaklab/workload/workload.hpp"

#include <boost/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

namespace leaklab::cli {

// The default time cap when the workload leaves clients hanging and probe waits for them.
constexpr double held_max_seconds = 150;

int cmd_probe(const std::vector<std::string>& args)
{
    common c;
    std::string cmd, kind, metrics_url, path = "/";
    std::size_t connections = 300, concurrency = 16, messages = 1;
    double start_timeout = 10, patience = 10, max_seconds = 60;
    po::options_description d = common_options(c, opts_run);
    d.add_options()
        ("cmd", po::value<std::string>(&cmd), "the server's command line; {port} is replaced by a free port")
        ("workload", po::value<std::string>(&kind), "the workload kind (`leaklab workloads`)")
        ("path", po::value<std::string>(&path), "request target (\"{n}\" = a per-request counter)")
        ("connections", po::value<std::size_t>(&connections), "connections per round (default 300)")
        ("concurrency", po::value<std::size_t>(&concurrency), "clients at once (default 16)")
        ("messages", po::value<std::size_t>(&messages), "ws-*: messages echoed per connection (default 1)")
        ("metrics-url", po::value<std::string>(&metrics_url), "the server's Prometheus endpoint, e.g. http://127.0.0.1:9100/metrics")
        ("start-timeout", po::value<double>(&start_timeout), "seconds to wait for the server to be ready (default 10)")
        ("patience", po::value<double>(&patience),
         "seconds to wait after each round for the server to let go of the clients left hanging (default 10)")
        ("max-seconds", po::value<double>(&max_seconds),
         "cap on the whole run when probe extends an inconclusive one (default 60; 150 when the workload "
         "leaves clients hanging)")
        ("no-agent", po::bool_switch(), "do not preload the heap agent (heap_bytes then comes only from --metrics-url)")
        ("plan", po::value<std::string>(), "a JSON file with a full workload plan (as in lab.json) instead of --workload")
        ("json", po::value<std::string>(), "also write the result as JSON to this file");
    auto vm = parse(args, d, {}, c, "probe --cmd '<command with {port}>' --workload <kind> [--json FILE]");
    if(cmd.empty())
        throw usage_error("--cmd is required: the server's command line, with {port} where its port goes");
    if(kind.empty() && !vm.count("plan"))
        throw usage_error("--workload is required (`leaklab workloads` lists them)");
    if(start_timeout <= 0 || start_timeout > 600)
        throw usage_error("--start-timeout wants seconds in (0, 600]");
    if(!(patience >= 0 && patience <= 600))
        throw usage_error("--patience wants seconds in [0, 600]");
    if(!(max_seconds >= 1 && max_seconds <= 3600))
        throw usage_error("--max-seconds wants seconds in [1, 3600]");

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
    // A plan file states its own contract; --workload only asks that the server serves it.
    plan.contract = vm.count("plan") > 0;
    // A black-box server's deadlines are unknown: wait for them, unless the plan or --patience says how long.
    if(vm.count("patience") || !plan.patience_s)
        plan.patience_s = patience;
    // Byte metrics judged by what this run can resolve, extended while it cannot decide.
    plan.evidence = true;
    // Growth is never evidence below 16 pages of RSS: 64 KiB with 4 KiB pages, more on a
    // kernel with larger ones (a Pi 5's 16 KiB pages: 256 KiB).
    plan.evidence_rule.floor = std::max(plan.evidence_rule.floor, 16.0 * double(::sysconf(_SC_PAGESIZE)));
    // Twelve rounds that each wait out a 5 s deadline take about 65 s: the default cap of a
    // workload that leaves clients hanging leaves room for one extension of them.
    const bool holds = std::any_of(plan.steps.begin(), plan.steps.end(), [](auto& s) {
        auto k = workload::find_kind(s.kind);
        return k && k->holds;
    });
    if(!vm.count("max-seconds") && holds && *plan.patience_s > 0)
        max_seconds = held_max_seconds;
    plan.max_seconds = max_seconds;

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
    // The whole process tree the command starts, and its heap through the preload agent.
    t.process_tree = true;
    t.heap_agent = !vm["no-agent"].as<bool>();
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

} // namespace leaklab::cli
