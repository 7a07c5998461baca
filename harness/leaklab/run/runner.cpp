#include "leaklab/run/runner.hpp"
#include "leaklab/tools/valgrind.hpp"

#include "leaklab/backend/backend.hpp"
#include "leaklab/process/child.hpp"
#include "leaklab/sample/agent.hpp"
#include "leaklab/verdict/metrics.hpp"
#include "leaklab/workload/workload.hpp"

#include <algorithm>
#include <cstdio>
#include <csignal>
#include <fstream>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace leaklab::run {

using namespace std::chrono;

std::vector<std::string> result::flagged() const
{
    std::vector<std::string> out;
    for(auto& m : metrics)
        if(m.flagged)
            out.push_back(m.name);
    return out;
}

std::string result::undecided_summary() const
{
    if(!blind.empty())
        return blind;
    std::string names;
    for(auto& m : metrics)
        if(m.undecided)
            names += (names.empty() ? "" : ", ") + m.name;
    return names + " could not be told from noise at " + std::to_string(ops_total) + " operations";
}

std::string describe_workload(const plan& p)
{
    std::string out;
    for(auto& s : p.steps)
        out += (out.empty() ? "" : "+") + s.kind;
    return out;
}

namespace {

std::string ms_text(double ms)
{
    std::ostringstream o;
    o << ms / 1000 << " s";
    return o.str();
}

// A text with its line breaks and tabs shown as \n and \t, for one line.
std::string printable(const std::string& s)
{
    std::string out;
    for(char c : s)
        out += c == '\n' ? std::string("\\n") : c == '\t' ? std::string("\\t") : std::string(1, c);
    return out;
}

// What one step's replies (or listeners) must be, in words.
std::string describe_step(const workload::step_spec& s)
{
    std::ostringstream o;
    const bool http = s.kind.rfind("http-", 0) == 0 || s.kind == "idle-keepalive";
    if(s.kind == "ws-listen")
    {
        o << s.connections << " listener" << (s.connections == 1 ? "" : "s") << " on " << s.path
          << " stay open for the whole run";
        if(s.ping_every_ms > 0)
            o << "; each is pinged at least every " << ms_text(s.ping_every_ms) << " (a gap of twice that is a breach)";
        for(auto& text : s.expect_each)
            o << "; each gets a message with " << text << " at least every " << ms_text(s.push_every_ms);
        if(!s.expect_body.empty())
            o << "; every message contains \"" << printable(s.expect_body) << "\"";
        if(!s.sequence_field.empty())
            o << "; " << (s.sequence_per.empty() ? "the" : "each " + s.sequence_per + "'s") << " " << s.sequence_field
              << " rises by exactly 1 from one message to the next (nothing dropped or repeated)";
        if(s.read_pause_ms > 0)
            o << "; each reads nothing for " << ms_text(s.read_pause_ms) << " after it opens"
              << (s.receive_buffer ? " (a " + std::to_string(s.receive_buffer) + "-byte receive buffer)" : std::string())
              << ", so the server's writes back up; it is judged once it reads again";
        if(s.trigger)
            o << "; after " << s.trigger->method << " " << s.trigger->path << " (answered " << s.trigger->expect_status
              << ") each round, each gets a message within " << ms_text(s.within_ms);
        return o.str();
    }
    if(s.kind == "backend-fault")
        return "the backend's fault is set to " + s.fault;
    if(s.kind == "storage-fault")
        return s.fault == "full" ? std::string("the server's disk is full (no file may grow)")
                                 : std::string("the server's disk has room again");
    o << s.kind << " " << (http ? s.method + " " : "") << s.path << ": ";
    if(http)
    {
        o << "every reply is " << s.expect_status;
        if(!s.expect_header.empty())
            o << " with " << s.expect_header;
        if(s.expect_gzip)
            o << ", gzip-encoded and whole";
        if(!s.expect_body.empty())
            o << ", its body containing \"" << printable(s.expect_body) << "\"";
        if(s.expect_cached)
            o << "; a repeat's body is the last one made for it (served from the cache)";
        if(s.pause_ms > 0)
            o << "; a client asking every " << ms_text(s.pause_ms) << " is kept";
        if(s.kind == "http-reset-reply" || s.kind == "stall" || s.kind == "idle-keepalive")
            o << (s.kind == "http-reset-reply" ? " (the client resets before the reply: the server must survive it)"
                                               : " (then the client goes silent)");
    }
    else if(s.kind == "stall")
        o << "a client that sends part of a request, then goes silent (nothing to answer)";
    else if(s.kind == "ws-quiet")
    {
        o << "a device silent for " << ms_text(s.quiet_ms) << (s.messages > 1 ? " before each message" : "")
          << " that answers pings is kept";
        // A change made while the devices are connected: they must apply it.
        auto request = [](const workload::trigger_spec& t) {
            return t.method + " " + t.path + (t.body.empty() ? "" : " " + printable(t.body)) +
                   (t.to_metrics ? " on the metrics endpoint" : "");
        };
        if(s.setup)
            o << "; connected after " << request(*s.setup);
        if(s.trigger)
            o << ", then " << request(*s.trigger) << " while they are: they apply it";
    }
    else if(s.kind.rfind("ws-", 0) == 0 || s.kind == "half-open")
        o << "every message is echoed back";
    if(s.expect_close_code)
        o << "; its last message is refused: the server closes with code " << s.expect_close_code;
    if(s.with_next)
        o << " (at the same time as the next step)";
    return o.str();
}

std::string replace_all(std::string s, const std::string& from, const std::string& to)
{
    for(std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
        s.replace(pos, from.size(), to);
    return s;
}

std::string join(const std::vector<std::string>& argv)
{
    std::string out;
    for(auto& a : argv)
        out += (out.empty() ? "" : " ") + (a.find(' ') == std::string::npos ? a : "'" + a + "'");
    return out;
}

// Judge every metric that was sampled at the baseline and after every round, and the
// failure rate of the rounds. What each metric is comes from the catalog.
std::vector<metric_result> judge_all(const plan& p, const std::vector<round_record>& rounds,
                                     const std::map<std::string, std::string>& units,
                                     const std::optional<std::string>& stopped)
{
    std::vector<metric_result> out;
    std::vector<double> x;
    for(auto& r : rounds)
        x.push_back(static_cast<double>(r.cumulative_ops));
    auto ignored = [&](const std::string& name) {
        return std::find(p.ignore_metrics.begin(), p.ignore_metrics.end(), name) != p.ignore_metrics.end();
    };
    // A rule with the plan's overrides applied.
    auto rule_for = [&](const verdict::metric_info& info) {
        auto rule = info.rule;
        if(auto o = p.thresholds.find(info.name); o != p.thresholds.end())
        {
            if(o->second.per_op)
                rule.per_op_threshold = *o->second.per_op;
            if(o->second.min_excess)
                rule.min_excess = *o->second.min_excess;
            if(o->second.alpha)
                rule.alpha = *o->second.alpha;
        }
        return rule;
    };
    auto result_of = [](const verdict::metric_info& info, const verdict::metric_rule& rule,
                        const verdict::metric_judgement& j) {
        metric_result m;
        m.name = info.name;
        m.unit = info.unit;
        m.kind = verdict::to_string(info.kind);
        m.baseline = j.baseline;
        m.final_value = j.final_value;
        m.slope_per_op = j.slope_per_op;
        m.late_slope_per_op = j.late_slope_per_op;
        m.p_value = j.p_value;
        m.threshold = rule.per_op_threshold;
        m.alpha = rule.alpha;
        m.flagged = j.flagged;
        m.reason = j.reason;
        return m;
    };
    // Every metric seen in any sample; one a server registers lazily (a gauge created
    // on first use) counts from 0 until it appears. One that vanishes is not judged.
    std::set<std::string> names;
    for(auto& r : rounds)
        for(auto& kv : r.values)
            names.insert(kv.first);
    for(auto& name : names)
    {
        auto u = units.find(name);
        const auto info = verdict::describe_metric(name, u == units.end() ? "" : u->second);
        // Failures are judged from the rounds below; what is not judged and ignored metrics are left out.
        if(info.kind == verdict::metric_kind::failures || !info.judged || ignored(name))
            continue;
        std::vector<double> y;
        bool seen = false, vanished = false;
        for(auto& r : rounds)
        {
            auto it = r.values.find(name);
            if(it != r.values.end())
                seen = true;
            else if(seen)
                vanished = true;
            y.push_back(it == r.values.end() ? 0.0 : it->second);
        }
        if(vanished)
            continue;

        // Probe: a byte metric with no override is judged by what this run can resolve.
        if(p.evidence && (info.kind == verdict::metric_kind::bytes || info.kind == verdict::metric_kind::rss) &&
           !p.thresholds.count(name) && !p.unjudged.count(name))
        {
            auto rule = p.evidence_rule;
            rule.unit = info.unit;
            const auto e = verdict::judge_evidence(x, y, rule, 1 + p.warmup_rounds);
            metric_result m = result_of(info, e.applied, e.j);
            m.undecided = e.decision == verdict::evidence::inconclusive;
            out.push_back(m);
            continue;
        }
        const auto rule = rule_for(info);
        if(auto why = p.unjudged.find(name); why != p.unjudged.end())
        {
            metric_result m = result_of(info, rule, {});
            m.baseline = y.front();
            m.final_value = y.back();
            m.judged = false;
            m.reason = "not judged: " + why->second;
            out.push_back(m);
            continue;
        }
        // Index 0 is the baseline; the warm-up rounds after it are left out of the trend.
        out.push_back(result_of(info, rule, verdict::judge(x, y, rule, 1 + p.warmup_rounds)));
    }
    // The failure rate of each round of load, in the table where failed_ops always was.
    const auto failures = verdict::describe_metric("failed_ops");
    if(!ignored(failures.name) && rounds.size() > 1)
    {
        std::vector<verdict::round_ops> ops;
        for(auto it = rounds.begin() + 1; it != rounds.end(); ++it)
            ops.push_back({it->round, it->ops, it->failed, it->first_error});
        const auto rule = rule_for(failures);
        metric_result m = result_of(failures, rule, verdict::judge_failures(ops, rule, p.warmup_rounds, stopped));
        auto at = std::find_if(out.begin(), out.end(), [&](auto& r) { return r.name > m.name; });
        out.insert(at, m);
    }
    return out;
}

// Asks the server to write a heap profile (labkit's admin call) and names the file it wrote.
heap_profile write_heap_profile(std::optional<std::uint16_t> metrics_port, const std::string& name, std::size_t ops)
{
    if(!metrics_port)
        throw std::runtime_error("a heap profile needs the server's metrics endpoint, and it has none");
    auto body = sample::http_post(*metrics_port, "/heap-profile?name=" + name, std::chrono::milliseconds(30000));
    while(!body.empty() && (body.back() == '\n' || body.back() == '\r'))
        body.pop_back();
    return {name, body, ops};
}

// Notes how long heaptrack's record of the server is now: what it holds up to here is the
// round's. Its writer flushes within milliseconds of the last allocation; the settle before
// this has been quiet for longer.
heap_profile cut_heaptrack_record(const std::filesystem::path& record, const std::string& name, std::size_t ops)
{
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::error_code ec;
    const auto length = std::filesystem::file_size(record, ec);
    if(ec)
        throw std::runtime_error("heaptrack wrote no record at " + record.string() + " (" + ec.message() + ")");
    return {name, record, ops, length};
}

// Asks the server for its pending operations (labkit's admin call) and saves them in the log folder.
heap_profile save_pending_dump(std::optional<std::uint16_t> metrics_port, const std::filesystem::path& log_dir,
                               const std::string& name, std::size_t ops)
{
    if(!metrics_port)
        throw std::runtime_error("a dump of pending operations needs the server's metrics endpoint, and it has none");
    const auto body = sample::http_get(*metrics_port, "/pending-ops", std::chrono::milliseconds(30000));
    std::error_code ec;
    std::filesystem::create_directories(log_dir, ec);
    const auto file = log_dir / ("pending." + name + ".txt");
    std::ofstream(file, std::ios::binary) << body;
    return {name, file, ops};
}

} // namespace

result execute(const target& t, const plan& p, const progress_fn& progress)
{
    auto started = steady_clock::now();
    result r;
    r.workload = describe_workload(p);
    // Contract clauses: a step that checks its replies or listens, each bound, each epilogue step.
    if(p.contract)
    {
        for(auto& st : p.steps)
            r.clauses += st.kind != "backend-fault" && st.kind != "storage-fault";
        r.clauses += p.bounds.size() + p.epilogue.size();
    }
    r.warmup_rounds = p.warmup_rounds;
    // Fault phases: a backend-fault step sets the proxy's fault, which holds until a later step changes it.
    {
        std::string fault = "pass";
        for(std::size_t round = 1; round <= p.rounds; ++round)
        {
            for(auto& st : p.steps)
                if(st.kind == "backend-fault" && (st.from_round == 0 || round >= st.from_round) &&
                   (st.until_round == 0 || round <= st.until_round))
                    fault = st.fault.empty() ? "pass" : st.fault;
            if(fault == "pass")
                continue;
            if(!r.phases.empty() && r.phases.back().last_round + 1 == round && r.phases.back().label == "backend " + fault)
                r.phases.back().last_round = round;
            else
                r.phases.push_back({round, round, "backend " + fault});
        }
    }

    // The command line: a free port for "{port}", labkit's own flags for a lab server.
    auto argv = t.argv;
    std::optional<std::uint16_t> chosen_port;
    if(std::any_of(argv.begin(), argv.end(), [](auto& a) { return a.find("{port}") != std::string::npos; }))
    {
        chosen_port = process::free_port();
        for(auto& a : argv)
            a = replace_all(a, "{port}", std::to_string(*chosen_port));
    }
    if(t.labkit)
        argv.insert(argv.end(), {"--port", "0", "--metrics-port", "0"});
    r.command = join(argv);

    std::optional<backend::redis_behind_proxy> redis;
    std::optional<process::child> server;
    std::size_t current_round = 0;
    try
    {
        // The lab's backend first, so the server can connect to it on start.
        if(p.backend == "redis")
        {
            redis.emplace(t.log_dir);
            for(auto& a : argv)
                a = replace_all(a, "{backend_port}", std::to_string(redis->port()));
            r.command = join(argv);
        }

        // The heap agent, where it can load into the server's program.
        std::optional<sample::heap_agent> agent;
        if(t.heap_agent && !argv.empty())
        {
            auto lib = sample::agent_library();
            if(!lib)
                r.notes.push_back("the heap agent was not built with this leaklab: heap_bytes is not measured");
            else if(auto why = sample::agent_unsuitable(argv.front()))
                r.notes.push_back("the heap agent cannot load: " + *why + "; heap_bytes is not measured");
            else
                agent.emplace(t.log_dir, *lib);
        }

        process::spawn_options so;
        so.argv = argv;
        so.env = t.env;
        if(agent)
            for(auto& e : agent->environment())
                so.env.push_back(e);
        so.nofile = t.nofile;
        so.log_dir = t.log_dir;
        so.ignore_sigxfsz = std::any_of(p.steps.begin(), p.steps.end(), [](auto& s) { return s.kind == "storage-fault"; });
        server.emplace(process::child::spawn(so));
        auto ready = server->wait_ready(t.start_timeout, chosen_port);
        auto metrics_port = ready.metrics_port ? ready.metrics_port : t.metrics_port;
        sample::sampler sampler(server->pid(), metrics_port, t.metrics_path);
        sampler.measure_tree(t.process_tree);
        if(agent)
            sampler.use_agent(&*agent);
        workload::engine engine;
        engine.metrics_port(metrics_port.value_or(0));

        sample::sampler::settle_policy policy;
        policy.min_wait = p.settle_min;
        policy.max_wait = p.settle_max;
        policy.quiet = p.settle_quiet;
        policy.compared = [&sampler](const std::string& name) {
            auto u = sampler.units().find(name);
            return verdict::describe_metric(name, u == sampler.units().end() ? "" : u->second).settles;
        };
        verdict::serving_rule serving;
        serving.max_first_round_failure_rate = p.max_failure_rate;
        serving.stop_failure_rate = p.stop_failure_rate;
        serving.stop_when_failing = p.stop_when_failing;
        std::optional<std::string> stopped;

        // Baseline: the server at rest before any load.
        {
            round_record base;
            auto s = sampler.settle(policy);
            base.values = s.value;
            base.values["failed_ops"] = 0;
            base.settled = s.stable;
            base.settle_ms = double(s.waited.count());
            r.rounds.push_back(base);
            if(progress)
                progress(p, base);
            if(base.values.count("heap_bytes"))
                r.heap_source = sampler.agent_processes() > 0 ? "agent" : "metrics";
            if(agent && sampler.agent_processes() == 0 && r.heap_source.empty())
                r.notes.push_back("the heap agent did not load into the server (a static, setuid or non-glibc "
                                  "program behind a script?): heap_bytes is not measured");
            else if(r.heap_source == "agent")
                r.notes.push_back("heap_bytes from the heap agent (glibc mallinfo2) in " +
                                  std::to_string(sampler.agent_processes()) +
                                  (sampler.agent_processes() == 1 ? " process" : " processes") +
                                  "; its thread is left out of threads");
        }

        std::vector<round_record> failing;
        held_clients held;
        held.patience_s = p.patience_s.value_or(0);
        bool gave_up_waiting = false;
        // Rounds planned so far: the plan's, doubled when an evidence look is inconclusive.
        plan shown = p;
        std::size_t looks = 1;
        const auto load_started = steady_clock::now();

        // A limit gone past: kept once, the first time, with what was seen.
        auto over_limit = [&](const std::string& clause, const std::string& when, const std::string& step,
                              std::size_t count, const std::string& what) {
            if(std::none_of(r.over_limits.begin(), r.over_limits.end(), [&](auto& b) { return b.clause == clause; }))
                r.over_limits.push_back({clause, when, step, count, what});
        };

        // The operations answered as expected so far, by step path (a bound's ops_of).
        std::map<std::string, std::size_t> answered_on;

        // One pass over a list of steps (a round's, or the epilogue's): each step's replies
        // checked against its contract, a breach kept with when it happened.
        auto run_steps = [&](const std::vector<workload::step_spec>& steps, std::size_t round, round_record& rec,
                             std::vector<verdict::breach>& breaches, const std::string& when, double& settle_min) {
            auto account = [&](const workload::step_spec& step, workload::step_result sr) {
                // Without a contract (probe), a wrong reply is one more failed operation.
                if(!p.contract && sr.breaches > 0)
                {
                    sr.failed += sr.breaches;
                    if(sr.first_error.empty())
                        sr.first_error = sr.first_breach;
                    sr.breaches = 0;
                }
                rec.ops += sr.ops;
                answered_on[step.path] += sr.ops - std::min(sr.ops, sr.failed + sr.breaches);
                rec.failed += sr.failed;
                rec.breaches += step.limit ? 0 : sr.breaches;
                rec.timed_out = rec.timed_out || sr.timed_out;
                if(rec.first_error.empty() && !sr.first_error.empty())
                    rec.first_error = step.kind + ": " + sr.first_error;
                // A step whose contract is a limit (how long a cache may keep an entry): past it is a LEAK.
                if(sr.breaches > 0 && step.limit)
                    over_limit(sr.breach_clause + " of " + step.kind + " " + step.path, when, step.kind, sr.breaches,
                               sr.first_breach);
                else if(sr.breaches > 0)
                    breaches.push_back({sr.breach_clause, when, step.kind, sr.breaches, sr.first_breach});
                // A limit on the step's failures: past it is a LEAK, kept the first time.
                if(p.contract && step.max_failure_rate && sr.ops > 0 &&
                   double(sr.failed) > *step.max_failure_rate * double(sr.ops))
                    over_limit("failure limit of " + step.kind + " " + step.path, when, step.kind, sr.failed,
                               std::to_string(sr.failed) + " of " + std::to_string(sr.ops) + " operations failed, more than " +
                                   std::to_string(*step.max_failure_rate * 100).substr(0, 4) + "% (first: " +
                                   sr.first_error + ")");
                settle_min = std::max(settle_min, step.settle_min_ms);
            };
            auto active = [&](const workload::step_spec& step) {
                return !((step.from_round && round < step.from_round) || (step.until_round && round > step.until_round));
            };
            auto round_deadline = steady_clock::now() + duration_cast<steady_clock::duration>(duration<double>(p.round_timeout_s));
            for(std::size_t i = 0; i < steps.size(); ++i)
            {
                auto& step = steps[i];
                if(!active(step))
                    continue;
                if(step.kind == "backend-fault")
                {
                    if(!redis)
                        throw std::runtime_error("a backend-fault step needs a backend (\"backend\": {\"kind\": \"redis\"})");
                    redis->set_fault(backend::parse_fault(step.fault),
                                     milliseconds(static_cast<long>(step.latency_ms)));
                    continue;
                }
                if(step.kind == "storage-fault")
                {
                    process::fill_disk(server->pid(), step.fault == "full");
                    continue;
                }
                if(workload::find_kind(step.kind)->listens)
                {
                    auto sr = engine.listen(step, ready.port, round);
                    rec.seconds += sr.seconds;
                    account(step, sr);
                    continue;
                }
                auto left = duration_cast<milliseconds>(round_deadline - steady_clock::now());
                if(left.count() <= 0)
                {
                    rec.timed_out = true;
                    break;
                }
                // A step marked with_next runs at the same time as the steps after it.
                std::vector<const workload::step_spec*> group{&step};
                while(steps[i].with_next && i + 1 < steps.size())
                    if(active(steps[++i]))
                        group.push_back(&steps[i]);
                auto results = engine.run_together(group, ready.port, left, round);
                rec.seconds += results.front().seconds;
                for(std::size_t k = 0; k < group.size(); ++k)
                    account(*group[k], results[k]);
            }
        };

        // The contract's bounds on the metrics of a sample taken after a round.
        auto check_bounds = [&](const round_record& rec, std::vector<verdict::breach>& breaches, const std::string& when) {
            for(auto& b : p.bounds)
            {
                if(p.unjudged.count(b.metric) ||
                   std::any_of(b.plus.begin(), b.plus.end(), [&](auto& m) { return p.unjudged.count(m) > 0; }))
                    continue;  // the sanitizer's runtime makes it meaningless (the note says why)
                auto in = [&](const round_record& x) { return verdict::value_in(b, x.values); };
                // The sample before this one: the baseline for round 1, which is not a round of load.
                verdict::bound_context at;
                at.baseline = in(r.rounds.front());
                at.previous = r.rounds.size() > 1 ? in(r.rounds.back()) : std::nullopt;
                at.listeners = engine.listeners();
                {
                    auto h = engine.check_held();
                    at.held = h.held - h.released;
                }
                at.ops = double(rec.cumulative_ops);
                if(!b.ops_of.empty())
                {
                    at.ops = 0;
                    for(auto& [path, n] : answered_on)
                        if(path.rfind(b.ops_of, 0) == 0)
                            at.ops += double(n);
                }
                auto why = verdict::check_bound(b, in(rec), at);
                if(why && b.limit)
                    over_limit(verdict::describe(b), when, "metrics", 1, *why);
                else if(why)
                    breaches.push_back({verdict::describe(b), when, "metrics", 1, *why});
            }
        };
        // The server dying mid-run: what and when. A leak that ran it out of a resource (threads
        // on a 32-bit board) is still judged on the rounds it served; anything else is an error.
        std::optional<std::string> crashed;
        try
        {
            for(std::size_t round = 1; round <= shown.rounds; ++round)
            {
                current_round = round;
                round_record rec;
                rec.round = round;
                double settle_min = double(p.settle_min.count());
                std::vector<verdict::breach> round_breaches;
                run_steps(p.steps, round, rec, round_breaches, "round " + std::to_string(round), settle_min);
                // Count what ran before anything can end the run, so an error's header agrees with its message.
                r.rounds_run = round;
                r.ops_total += rec.ops;
                r.failed_total += rec.failed;
                if(auto st = server->poll())
                    throw std::runtime_error("the server " + st->describe() + " during round " + std::to_string(round));

                // A server that cannot serve the workload at all is an error, not a verdict.
                const verdict::round_ops served{round, rec.ops, rec.failed, rec.first_error};
                if(round == 1)
                    if(auto why = verdict::not_serving(served, serving))
                        throw std::runtime_error(*why);

                // Patience: the clients this round left hanging get time for the server's own
                // deadline to let go of them, so the sample shows what a round leaves behind
                // once the server had its chance. A server that let go of none in a whole window
                // is not waited for again: it will not (or not within the patience).
                if(held.patience_s > 0 && !gave_up_waiting && engine.held_connections() > 0)
                {
                    auto state = engine.check_held();
                    const std::size_t before = state.released;
                    const auto wait_start = steady_clock::now();
                    const auto until = wait_start + duration_cast<steady_clock::duration>(duration<double>(held.patience_s));
                    while(state.released < state.held && steady_clock::now() < until)
                    {
                        std::this_thread::sleep_for(20ms);
                        state = engine.check_held();
                        if(auto st = server->poll())
                            throw std::runtime_error("the server " + st->describe() + " while clients were held in round " +
                                                     std::to_string(round));
                    }
                    held.waited_s += duration<double>(steady_clock::now() - wait_start).count();
                    if(state.released == before && state.released < state.held)
                    {
                        gave_up_waiting = true;
                        r.notes.push_back("round " + std::to_string(round) + ": the server let go of none of its " +
                                          std::to_string(state.held - before) + " held clients in " +
                                          std::to_string(held.patience_s).substr(0, 4) +
                                          " s, so later rounds did not wait (--patience waits longer)");
                    }
                }

                policy.min_wait = milliseconds(static_cast<long>(settle_min));
                auto s = sampler.settle(policy);
                rec.values = s.value;
                rec.settled = s.stable;
                rec.settle_ms = double(s.waited.count());
                rec.cumulative_ops = r.ops_total;
                rec.values["failed_ops"] = double(r.failed_total);
                check_bounds(rec, round_breaches, "round " + std::to_string(round));
                if(rec.failed > 0)
                    failing.push_back(rec);
                if(rec.timed_out)
                {
                    std::ostringstream msg;
                    msg << "round " << round << " hit its time bound of " << p.round_timeout_s << " s";
                    r.warnings.push_back(msg.str());
                }
                r.rounds.push_back(rec);
                if(progress)
                    progress(shown, rec);
                // The heap profiles (or pending-operation dumps) the sites are judged on: one after
                // each round, from the round that ends the warm-up on, once it settled.
                if(round >= std::max<std::size_t>(1, p.warmup_rounds))
                {
                    char name[32];
                    std::snprintf(name, sizeof name, "round-%02zu", round);
                    if(t.heap_profiles)
                        r.heap_profiles.push_back(write_heap_profile(metrics_port, name, r.ops_total));
                    if(t.pending_dumps)
                        r.pending_dumps.push_back(save_pending_dump(metrics_port, t.log_dir, name, r.ops_total));
                    if(!t.heaptrack_record.empty())
                        r.heap_profiles.push_back(cut_heaptrack_record(t.heaptrack_record, name, r.ops_total));
                }

                // A server that broke its contract is not measured further: the verdict is that.
                if(!round_breaches.empty())
                {
                    r.breaches = round_breaches;
                    break;
                }

                // A server that served round 1 and then stops answering will not recover
                // (a lock never released, descriptors exhausted): the run ends with that evidence.
                if((stopped = verdict::stopped_serving(served, serving)))
                {
                    r.stopped_serving = *stopped;
                    break;
                }

                // An evidence look: too small a run to tell is extended, if time allows, not called clean.
                if(round == shown.rounds && p.evidence && looks < p.evidence_rule.looks)
                {
                    auto tentative = judge_all(p, r.rounds, sampler.units(), stopped);
                    std::string undecided;
                    for(auto& m : tentative)
                        if(m.undecided && !m.flagged)
                            undecided += (undecided.empty() ? "" : ", ") + m.name;
                    const double spent = duration<double>(steady_clock::now() - started).count();
                    const double per_round = duration<double>(steady_clock::now() - load_started).count() / double(round);
                    // A flagged metric decides the run, unless patience may still clear it (held clients).
                    const bool decided = engine.held_connections() == 0 &&
                                         std::any_of(tentative.begin(), tentative.end(), [](auto& m) { return m.flagged; });
                    if(!undecided.empty() && !decided)
                    {
                        if(spent + per_round * double(round) <= p.max_seconds)
                        {
                            r.notes.push_back("extended to " + std::to_string(2 * round) + " rounds: at " +
                                              std::to_string(r.ops_total) + " operations " + undecided +
                                              " could not be told from noise");
                            shown.rounds = 2 * round;
                            ++looks;
                        }
                        else
                            r.notes.push_back("not extended past " + std::to_string(round) + " rounds: another " +
                                              std::to_string(round) + " would pass the " +
                                              std::to_string(static_cast<int>(p.max_seconds)) + " s time cap");
                    }
                }
            }
        }
        catch(const std::exception& e)
        {
            // A sampler's reset can arrive before the exit does: give the exit a moment to show.
            std::optional<process::exit_status> st;
            for(int i = 0; i < 50 && !(st = server->poll()); ++i)
                std::this_thread::sleep_for(20ms);
            if(!st)
                throw;
            const std::string what = e.what();
            crashed = what.find(st->describe()) != std::string::npos
                          ? what
                          : "the server " + st->describe() + " during round " + std::to_string(current_round) + " (" +
                                what + ")";
        }

        // A run cut short by a crash has no last profile: its sites are not judged (one profile kept).
        if(crashed)
        {
            r.heap_profiles.resize(std::min<std::size_t>(1, r.heap_profiles.size()));
            r.pending_dumps.resize(std::min<std::size_t>(1, r.pending_dumps.size()));
        }
        // LeakSanitizer's check while the server still runs, once the last round settled.
        if(t.live_leak_check && !crashed && metrics_port)
        {
            const auto answer = sample::http_post(*metrics_port, "/leak-check", std::chrono::milliseconds(120000));
            r.notes.push_back("LeakSanitizer's check while the server ran, after the last round: " +
                              answer.substr(0, answer.find('\n')));
        }

        // After the last round: the listeners' last look (the newest triggers get their time),
        // then the epilogue's steps, which must be served as the contract says.
        if(r.breaches.empty() && !stopped && !crashed)
        {
            const std::string when = "after the last round";
            round_record after;
            double ignored_settle = 0;
            for(auto& step : p.steps)
                if(workload::find_kind(step.kind)->listens)
                {
                    auto sr = engine.listen(step, ready.port, shown.rounds, true);
                    if(sr.breaches > 0)
                        r.breaches.push_back({sr.breach_clause, when, step.kind, sr.breaches, sr.first_breach});
                }
            if(!p.epilogue.empty())
            {
                run_steps(p.epilogue, shown.rounds + 1, after, r.breaches, when, ignored_settle);
                if(auto st = server->poll())
                    throw std::runtime_error("the server " + st->describe() + " after the last round");
                // The epilogue is the contract's last word: a server that does not serve it breaks it.
                if(double(after.failed) > p.max_failure_rate * double(std::max<std::size_t>(after.ops, 1)))
                    r.breaches.push_back({"served after the last round", when, "epilogue", after.failed,
                                          std::to_string(after.failed) + " of " + std::to_string(after.ops) +
                                              " operations failed (first: " + after.first_error + ")"});
            }
        }

        // What the server did with the clients left hanging, over the whole run.
        if(engine.held_connections() > 0)
        {
            auto state = engine.check_held();
            held.held = state.held;
            held.released = state.released;
            held.median_release_s = state.median_release_s;
            held.max_release_s = state.max_release_s;
            r.held = held;
        }

        // Failures, in one line however many rounds had them.
        if(!failing.empty())
        {
            std::size_t failed = 0, ops = 0;
            for(auto& f : failing)
            {
                failed += f.failed;
                ops += f.ops;
            }
            std::string which = failing.size() == 1 ? "round " + std::to_string(failing.front().round)
                                                    : std::to_string(failing.size()) + " rounds (" +
                                                          std::to_string(failing.front().round) + " to " +
                                                          std::to_string(failing.back().round) + ")";
            r.warnings.push_back(std::to_string(failed) + " of " + std::to_string(ops) + " operations failed in " +
                                 which + " (first: " + failing.front().first_error + ")");
        }

        r.metrics = judge_all(p, r.rounds, sampler.units(), stopped);
        std::vector<bool> flags;
        for(auto& m : r.metrics)
            flags.push_back(m.flagged);
        const bool undecided = std::any_of(r.metrics.begin(), r.metrics.end(), [](auto& m) { return m.undecided; });
        r.verdict = verdict::decide(flags, stopped.has_value() || !r.over_limits.empty(), undecided, !r.breaches.empty());
        if(crashed)
        {
            // Growth the rounds before the crash already show is the verdict, and the crash its end.
            if(!verdict::growth_explains_crash(flags, !r.breaches.empty()))
                throw std::runtime_error(*crashed);
            r.warnings.push_back(*crashed + ": the growth above ran it out of what it needed");
        }
        std::size_t unsettled = std::count_if(r.rounds.begin(), r.rounds.end(), [](auto& x) { return !x.settled; });
        if(unsettled > 0)
            r.warnings.push_back(std::to_string(unsettled) + " of " + std::to_string(r.rounds.size()) +
                                 " samples were taken before the counts stopped moving (settle cap " +
                                 std::to_string(p.settle_max.count()) + " ms)");
    }
    catch(const std::exception& e)
    {
        r.verdict = verdict::outcome::error;
        r.error = e.what();
        // A sampler that found the process gone means the server died: say how.
        if(server)
            if(auto st = server->poll(); st && r.error.find(st->describe()) == std::string::npos)
                r.error = "the server " + st->describe() +
                          (current_round ? " during round " + std::to_string(current_round) : std::string()) +
                          " (" + r.error + ")";
    }

    if(server)
    {
        const auto grace = duration_cast<milliseconds>(duration<double>(p.stop_within_s.value_or(p.stop_grace_s.value_or(3.0))));
        const bool died_before = server->poll().has_value();  // a crash mid-run, already said
        const pid_t pid = server->pid();
        auto st = server->stop(
            grace, [&] { return tools::memcheck_program_ended(t.log_dir, pid); }, t.memcheck_exit);
        r.server_exit = st.describe();
        // A contract that promises a graceful stop: a server that had to be killed broke it.
        if(p.stop_within_s && st.forced && r.verdict != verdict::outcome::error)
        {
            r.breaches.push_back({"graceful stop", "after SIGTERM", "stop", 1,
                                  "the server did not exit within " + ms_text(*p.stop_within_s * 1000) +
                                      " of SIGTERM and was killed"});
            r.verdict = verdict::decide({}, false, false, true);
        }
        r.stderr_tail = server->stderr_tail(20);
        // What the sanitizers reported: the per-run log files (log_path) and stderr.
        r.tool_reports = tools::summary_lines(t.log_dir, server->stderr_path());
        r.findings = tools::read_run_reports(t.log_dir, server->stderr_path());
        try
        {
            auto memcheck = tools::read_memcheck_reports(t.log_dir);
            r.findings.insert(r.findings.end(), memcheck.begin(), memcheck.end());
        }
        catch(const std::exception& e)
        {
            r.warnings.push_back(e.what());  // a report memcheck did not finish (killed mid-write)
        }
        // How the server ended, when not with exit code 0: forced, SIGTERM's default action, or a code.
        if(r.verdict != verdict::outcome::error && !died_before && !(st.exited && st.code == 0))
            r.warnings.push_back(st.forced ? "the server did not stop on SIGTERM within " +
                                                 ms_text(double(grace.count())) + " and was " + st.describe()
                                 : !st.exited && st.code == SIGTERM
                                     ? std::string("the server ended by SIGTERM's default action (it has no handler "
                                                   "for SIGTERM; a graceful stop exits with code 0)")
                                 : r.tool_reports.empty() ? "the server " + st.describe() + " after SIGTERM"
                                                          : "the server " + st.describe() +
                                                                " after SIGTERM: the sanitizer's exit code, see its reports");
    }
    r.duration_s = duration<double>(steady_clock::now() - started).count();
    return r;
}

std::vector<std::string> describe_checks(const plan& p)
{
    std::vector<std::string> out;
    for(auto& s : p.steps)
        if(s.kind != "backend-fault" && s.kind != "storage-fault")
            out.push_back(describe_step(s) + (s.limit ? " (a limit: past it is a leak)" : "") +
                          (s.from_round || s.until_round
                               ? " (rounds " + std::to_string(std::max<std::size_t>(1, s.from_round)) + " to " +
                                     (s.until_round ? std::to_string(s.until_round) : std::string("the end")) + ")"
                               : ""));
    for(auto& b : p.bounds)
        out.push_back("after every round: " + verdict::describe(b));
    for(auto& s : p.epilogue)
        out.push_back("after the last round: " + describe_step(s));
    if(p.stop_within_s)
        out.push_back("on SIGTERM the server exits within " + ms_text(*p.stop_within_s * 1000));
    return out;
}

} // namespace leaklab::run
