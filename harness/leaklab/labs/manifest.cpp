#include "leaklab/labs/manifest.hpp"

#include "leaklab/tools/modes.hpp"
#include "leaklab/verdict/metrics.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace leaklab::labs {

namespace json = boost::json;

bool http_verb_unknown(const std::string& m);

namespace {

// Reads one JSON object, naming the file and the field in every error, and
// rejecting keys it does not know (a typo must not silently become a default).
class reader
{
public:
    reader(const json::value& v, std::string where, std::set<std::string> known)
        : where_(std::move(where)), known_(std::move(known))
    {
        if(!v.is_object())
            throw manifest_error(where_ + ": expected an object");
        obj_ = &v.as_object();
        for(auto& kv : *obj_)
            if(!known_.count(std::string(kv.key())))
                throw manifest_error(where_ + ": unknown field \"" + std::string(kv.key()) + "\" (known: " +
                                     join(known_) + ")");
    }

    const std::string& where() const { return where_; }
    bool has(const char* key) const { return obj_->contains(key); }
    const json::value& at(const char* key) const { return obj_->at(key); }
    std::string path(const char* key) const { return where_ + "." + key; }

    bool boolean(const char* key, bool def) const
    {
        if(!has(key))
            return def;
        if(!at(key).is_bool())
            throw manifest_error(path(key) + ": expected true or false");
        return at(key).as_bool();
    }

    std::string string(const char* key, std::optional<std::string> def = std::nullopt) const
    {
        if(!has(key))
        {
            if(def)
                return *def;
            throw manifest_error(where_ + ": missing required field \"" + key + "\"");
        }
        if(!at(key).is_string())
            throw manifest_error(path(key) + ": expected a string");
        return std::string(at(key).as_string());
    }

    double number(const char* key, double def, double lo, double hi) const
    {
        if(!has(key))
            return def;
        auto& v = at(key);
        double d = v.is_double() ? v.as_double() : v.is_int64() ? double(v.as_int64())
                 : v.is_uint64() ? double(v.as_uint64()) : NAN;
        if(std::isnan(d))
            throw manifest_error(path(key) + ": expected a number");
        if(d < lo || d > hi)
        {
            std::ostringstream msg;
            msg << path(key) << ": " << d << " is out of range [" << lo << ", " << hi << "]";
            throw manifest_error(msg.str());
        }
        return d;
    }

    std::size_t count(const char* key, std::size_t def, std::size_t lo, std::size_t hi) const
    {
        double d = number(key, double(def), double(lo), double(hi));
        if(d != std::floor(d))
            throw manifest_error(path(key) + ": expected a whole number");
        return static_cast<std::size_t>(d);
    }

    std::vector<std::string> strings(const char* key, bool required = false) const
    {
        std::vector<std::string> out;
        if(!has(key))
        {
            if(required)
                throw manifest_error(where_ + ": missing required field \"" + key + "\"");
            return out;
        }
        if(!at(key).is_array())
            throw manifest_error(path(key) + ": expected an array of strings");
        for(auto& e : at(key).as_array())
        {
            if(!e.is_string())
                throw manifest_error(path(key) + ": expected an array of strings");
            out.emplace_back(e.as_string());
        }
        return out;
    }

    static std::string join(const std::set<std::string>& s)
    {
        std::string out;
        for(auto& k : s)
            out += (out.empty() ? "" : ", ") + k;
        return out;
    }

private:
    std::string where_;
    std::set<std::string> known_;
    const json::object* obj_;
};

json::value parse_json(const std::string& text, const std::string& where)
{
    boost::system::error_code ec;
    json::parse_options opt;
    opt.allow_comments = false;
    auto v = json::parse(text, ec, {}, opt);
    if(ec)
        throw manifest_error(where + ": not valid JSON (" + ec.message() + ")");
    return v;
}

workload::step_spec parse_step(const json::value& v, const std::string& where)
{
    reader r(v, where, {"kind", "path", "connections", "requests", "concurrency", "messages", "message",
                        "method", "body", "body_bytes", "body_repeat", "expect_status", "expect_body", "reject_body", "op_timeout_s", "settle_min_ms",
                        "from_round", "until_round", "fault", "latency_ms", "quiet_ms", "expect_header",
                        "expect_gzip", "keys", "with_next", "ping_every_ms", "push_every_ms", "expect_each",
                        "trigger", "within_ms", "message_bytes", "expect_close_code", "max_failure_rate", "limit",
                        "pause_ms", "expect_cached", "setup", "read_pause_ms", "receive_buffer",
                        "expect_sequence"});
    workload::step_spec s;
    s.kind = r.string("kind");
    auto& kinds = workload::kinds();
    if(std::none_of(kinds.begin(), kinds.end(), [&](auto& k) { return k.first == s.kind; }))
    {
        std::string names;
        for(auto& k : kinds)
            names += (names.empty() ? "" : ", ") + k.first;
        throw manifest_error(r.path("kind") + ": unknown workload \"" + s.kind + "\" (known: " + names + ")");
    }
    s.path = r.string("path", s.path);
    if(s.path.empty() || s.path[0] != '/')
        throw manifest_error(r.path("path") + ": must start with '/'");
    s.connections = r.count("connections", s.connections, 1, 1'000'000);
    s.requests = r.count("requests", s.requests, 1, 1'000'000);
    s.concurrency = r.count("concurrency", s.concurrency, 1, 10'000);
    s.messages = r.count("messages", s.messages, 0, 100'000);
    s.message = r.string("message", s.message);
    s.method = r.string("method", s.method);
    if(http_verb_unknown(s.method))
        throw manifest_error(r.path("method") + ": unknown HTTP method \"" + s.method + "\"");
    s.body = r.string("body", s.body);
    s.body_bytes = r.count("body_bytes", s.body_bytes, 0, 64 * 1024 * 1024);
    s.body_repeat = r.count("body_repeat", s.body_repeat, 1, 1'000'000);
    if(s.body_repeat > 1 && s.body.empty())
        throw manifest_error(r.path("body_repeat") + ": repeats the body, and the step has none");
    s.expect_status = static_cast<unsigned>(r.count("expect_status", s.expect_status, 100, 599));
    s.expect_body = r.string("expect_body", s.expect_body);
    s.reject_body = r.string("reject_body", "");
    s.op_timeout_s = r.number("op_timeout_s", s.op_timeout_s, 0.1, 600);
    s.settle_min_ms = r.number("settle_min_ms", s.settle_min_ms, 0, 600'000);
    s.from_round = r.count("from_round", 0, 0, 1000);
    s.until_round = r.count("until_round", 0, 0, 1000);
    s.fault = r.string("fault", "");
    s.latency_ms = r.number("latency_ms", 0, 0, 600'000);
    s.quiet_ms = r.number("quiet_ms", 0, 0, 600'000);
    s.pause_ms = r.number("pause_ms", 0, 0, 600'000);
    s.expect_cached = r.boolean("expect_cached", false);
    s.expect_header = r.string("expect_header", "");
    s.limit = r.boolean("limit", false);
    if(r.has("max_failure_rate"))
        s.max_failure_rate = r.number("max_failure_rate", 0, 0, 1);
    s.message_bytes = r.count("message_bytes", 0, 0, 64 * 1024 * 1024);
    s.expect_close_code = static_cast<unsigned>(r.count("expect_close_code", 0, 1000, 4999));
    s.expect_gzip = r.boolean("expect_gzip", false);
    s.keys = r.count("keys", 0, 0, 1'000'000);
    s.with_next = r.boolean("with_next", false);
    s.ping_every_ms = r.number("ping_every_ms", 0, 0, 600'000);
    s.push_every_ms = r.number("push_every_ms", 0, 0, 600'000);
    s.expect_each = r.strings("expect_each");
    s.within_ms = r.number("within_ms", s.within_ms, 1, 600'000);
    s.read_pause_ms = r.number("read_pause_ms", 0, 0, 600'000);
    s.receive_buffer = r.count("receive_buffer", 0, 0, 64 * 1024 * 1024);
    if(r.has("expect_sequence"))
    {
        reader q(r.at("expect_sequence"), r.path("expect_sequence"), {"field", "per"});
        s.sequence_field = q.string("field");
        s.sequence_per = q.string("per", "");
    }
    // A request the step sends to change something: {method, path, body, expect_status, endpoint}.
    auto change = [&](const char* field) {
        reader t(r.at(field), r.path(field), {"method", "path", "body", "expect_status", "endpoint"});
        workload::trigger_spec trig;
        trig.method = t.string("method", trig.method);
        if(http_verb_unknown(trig.method))
            throw manifest_error(t.path("method") + ": unknown HTTP method \"" + trig.method + "\"");
        trig.path = t.string("path");
        if(trig.path.empty() || trig.path[0] != '/')
            throw manifest_error(t.path("path") + ": must start with '/'");
        trig.body = t.string("body", "");
        trig.expect_status = static_cast<unsigned>(t.count("expect_status", trig.expect_status, 100, 599));
        const auto endpoint = t.string("endpoint", "server");
        if(endpoint != "server" && endpoint != "metrics")
            throw manifest_error(t.path("endpoint") + ": expected \"server\" (the port it serves on) or \"metrics\" "
                                                      "(its labkit metrics endpoint, where live settings are changed)");
        trig.to_metrics = endpoint == "metrics";
        return trig;
    };
    if(r.has("trigger"))
        s.trigger = change("trigger");
    if(r.has("setup"))
        s.setup = change("setup");
    if(auto bad = workload::find_kind(s.kind)->validate(s, [&](const std::string& f) { return r.has(f.c_str()); }))
        throw manifest_error(r.path(bad->first.c_str()) + ": " + bad->second);
    return s;
}

// with_next joins a step to the next one in time: both must be client steps the engine runs.
void check_with_next(const std::vector<workload::step_spec>& steps, const std::string& where)
{
    for(std::size_t i = 0; i < steps.size(); ++i)
    {
        if(!steps[i].with_next)
            continue;
        const std::string at = where + "[" + std::to_string(i) + "].with_next";
        if(i + 1 == steps.size())
            throw manifest_error(at + ": the last step has no next step to run with");
        for(auto* k : {workload::find_kind(steps[i].kind), workload::find_kind(steps[i + 1].kind)})
            if(!k->engine_runs)
                throw manifest_error(at + ": a " + k->name + " step cannot run at the same time as another");
    }
}

// The contract's bounds on metrics: {"metric", "min" (a number or "listeners"), "max", "max_rise", "unit"}.
std::vector<verdict::bound> parse_bounds(const json::value& v, const std::string& where)
{
    if(!v.is_array())
        throw manifest_error(where + ": expected an array of {metric, min, max, max_rise}");
    std::vector<verdict::bound> out;
    for(std::size_t i = 0; i < v.as_array().size(); ++i)
    {
        const std::string at = where + "[" + std::to_string(i) + "]";
        reader r(v.as_array()[i], at, {"metric", "min", "max", "max_rise", "min_step", "min_per_op", "max_per_op", "unit", "limit",
                                                  "max_per_listener", "max_per_held", "plus", "ops_of"});
        verdict::bound b;
        b.metric = r.string("metric");
        b.plus = r.strings("plus");
        b.ops_of = r.string("ops_of", "");
        if(!b.ops_of.empty() && !r.has("min_per_op") && !r.has("max_per_op"))
            throw manifest_error(r.path("ops_of") + ": counts the operations of min_per_op or max_per_op, and the bound has neither");
        b.limit = r.boolean("limit", false);
        if(r.has("min") && r.at("min").is_string())
        {
            if(r.string("min") != "listeners")
                throw manifest_error(r.path("min") + ": a number, or \"listeners\" (every ws-listen connection counted)");
            b.min_listeners = true;
        }
        else if(r.has("min"))
            b.min = r.number("min", 0, -1e18, 1e18);
        if(r.has("max"))
            b.max = r.number("max", 0, -1e18, 1e18);
        if(r.has("max_rise"))
            b.max_rise = r.number("max_rise", 0, 0, 1e18);
        if(r.has("max_per_listener"))
            b.max_per_listener = r.number("max_per_listener", 0, 0, 1e9);
        if(r.has("max_per_held"))
            b.max_per_held = r.number("max_per_held", 0, 0, 1e9);
        if(r.has("min_step"))
            b.min_step = r.number("min_step", 0, 0, 1e18);
        if(r.has("min_per_op"))
            b.min_per_op = r.number("min_per_op", 0, -1e18, 1e18);
        if(r.has("max_per_op"))
            b.max_per_op = r.number("max_per_op", 0, -1e18, 1e18);
        b.unit = r.string("unit", verdict::describe_metric(b.metric).unit == "bytes" ? "bytes" : "");
        if(!b.min && !b.max && !b.max_rise && !b.min_listeners && !b.min_step && !b.min_per_op && !b.max_per_op &&
           !b.max_per_listener && !b.max_per_held)
            throw manifest_error(at + ": a bound needs min, max, max_rise, min_step, min_per_op, max_per_op, "
                                      "max_per_listener or max_per_held");
        if(b.min && b.max && *b.min > *b.max)
            throw manifest_error(at + ": min is above max");
        out.push_back(b);
    }
    return out;
}

run::plan parse_plan_value(const json::value& v, const std::string& where)
{
    reader r(v, where, {"rounds", "warmup_rounds", "round_timeout_s", "steps", "max_failure_rate", "stop_failure_rate",
                        "stop_when_failing", "patience_s", "epilogue"});
    run::plan p;
    p.rounds = r.count("rounds", p.rounds, 2, 1000);
    p.warmup_rounds = r.count("warmup_rounds", p.warmup_rounds, 0, 100);
    if(p.rounds < p.warmup_rounds + run::min_trend_rounds)
        throw manifest_error(where + ": rounds (" + std::to_string(p.rounds) + ") must exceed warmup_rounds by at least " +
                             std::to_string(run::min_trend_rounds) +
                             " (fewer rounds cannot show a significant trend at p<0.001)");
    p.round_timeout_s = r.number("round_timeout_s", p.round_timeout_s, 0.5, 3600);
    p.max_failure_rate = r.number("max_failure_rate", p.max_failure_rate, 0, 1);
    p.stop_failure_rate = r.number("stop_failure_rate", p.stop_failure_rate, 0.01, 1);
    if(r.has("patience_s"))
        p.patience_s = r.number("patience_s", 0, 0, 600);
    if(r.has("stop_when_failing"))
    {
        if(!r.at("stop_when_failing").is_bool())
            throw manifest_error(r.path("stop_when_failing") + ": expected true or false");
        p.stop_when_failing = r.at("stop_when_failing").as_bool();
    }
    if(!r.has("steps") || !r.at("steps").is_array() || r.at("steps").as_array().empty())
        throw manifest_error(where + ".steps: expected a non-empty array of workload steps");
    auto& steps = r.at("steps").as_array();
    for(std::size_t i = 0; i < steps.size(); ++i)
        p.steps.push_back(parse_step(steps[i], where + ".steps[" + std::to_string(i) + "]"));
    check_with_next(p.steps, where + ".steps");
    if(r.has("epilogue"))
    {
        if(!r.at("epilogue").is_array())
            throw manifest_error(r.path("epilogue") + ": expected an array of workload steps");
        auto& after = r.at("epilogue").as_array();
        for(std::size_t i = 0; i < after.size(); ++i)
        {
            const std::string at = where + ".epilogue[" + std::to_string(i) + "]";
            p.epilogue.push_back(parse_step(after[i], at));
            if(workload::find_kind(p.epilogue.back().kind)->listens || workload::find_kind(p.epilogue.back().kind)->holds)
                throw manifest_error(at + ".kind: an epilogue step runs once; a " + p.epilogue.back().kind +
                                     " step belongs in steps");
            if(p.epilogue.back().from_round || p.epilogue.back().until_round)
                throw manifest_error(at + ": an epilogue step runs once, after the last round: no from_round or until_round");
        }
        check_with_next(p.epilogue, where + ".epilogue");
    }
    return p;
}

void parse_thresholds(const json::value& v, const std::string& where, run::plan& p)
{
    if(!v.is_object())
        throw manifest_error(where + ": expected an object of metric -> {per_op, min_excess, alpha}");
    for(auto& kv : v.as_object())
    {
        std::string name(kv.key());
        reader r(kv.value(), where + "." + name, {"per_op", "min_excess", "alpha"});
        run::rule_override o;
        if(r.has("per_op"))
            o.per_op = r.number("per_op", 0, 0, 1e12);
        if(r.has("min_excess"))
            o.min_excess = r.number("min_excess", 0, 0, 1e15);
        if(r.has("alpha"))
            o.alpha = r.number("alpha", 0.001, 1e-12, 0.5);
        p.thresholds[name] = o;
    }
}

std::string read_file(const std::filesystem::path& file)
{
    std::ifstream in(file);
    if(!in)
        throw manifest_error(file.string() + ": cannot read the file");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The wrong fixes of one lab: every NAME.patch in the folder, described in its fixtures.json.
std::vector<fixture> load_fixtures(const std::filesystem::path& dir)
{
    std::vector<fixture> out;
    const auto file = dir / "fixtures.json";
    if(!std::filesystem::exists(file))
        return out;
    const std::string where = file.string();
    auto v = parse_json(read_file(file), where);
    reader r(v, where, {"fixtures"});
    if(!r.has("fixtures") || !r.at("fixtures").is_array())
        throw manifest_error(where + ": expected {\"fixtures\": [...]}");
    std::set<std::string> names;
    for(std::size_t i = 0; i < r.at("fixtures").as_array().size(); ++i)
    {
        const std::string at = where + ".fixtures[" + std::to_string(i) + "]";
        reader f(r.at("fixtures").as_array()[i], at, {"name", "cheat", "expect"});
        fixture fx;
        fx.name = f.string("name");
        if(fx.name.empty() || fx.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
            throw manifest_error(f.path("name") + ": lower-case letters, digits and '-' only");
        if(!names.insert(fx.name).second)
            throw manifest_error(f.path("name") + ": \"" + fx.name + "\" twice");
        fx.patch = dir / (fx.name + ".patch");
        if(!std::filesystem::exists(fx.patch))
            throw manifest_error(f.path("name") + ": no " + fx.patch.string());
        fx.cheat = f.string("cheat");
        reader e(f.at("expect"), f.path("expect"), {"verdict", "reason", "mode"});
        fx.mode = e.string("mode", "");
        if(!fx.mode.empty() && !tools::is_tool_mode(fx.mode))
            throw manifest_error(e.path("mode") + ": not a tool mode (" + tools::tool_mode_names() + ")");
        std::vector<std::string> verdicts =
            e.has("verdict") && e.at("verdict").is_string() ? std::vector<std::string>{e.string("verdict")} : e.strings("verdict", true);
        for(auto& name : verdicts)
        {
            auto o = verdict::parse_outcome(name);
            if(!o || *o == verdict::outcome::clean || *o == verdict::outcome::inconclusive || *o == verdict::outcome::skipped)
                throw manifest_error(e.path("verdict") + ": a wrong fix is \"broken\", \"leak\", \"error\" or " +
                                     "\"flagged\" (a tool's finding, or its own code tampering with one), not \"" + name + "\"");
            fx.verdicts.push_back(*o);
        }
        fx.reason = e.string("reason");
        try
        {
            std::regex check(fx.reason);
        }
        catch(const std::regex_error& ex)
        {
            throw manifest_error(e.path("reason") + ": not a regular expression (" + ex.what() + ")");
        }
        out.push_back(fx);
    }
    // A patch nobody describes would never be run: refuse it.
    for(auto& entry : std::filesystem::directory_iterator(dir))
        if(entry.path().extension() == ".patch" && !names.count(entry.path().stem().string()))
            throw manifest_error(entry.path().string() + ": not listed in " + where);
    return out;
}

} // namespace

run::plan parse_plan(const std::string& json_text, const std::string& where)
{
    return parse_plan_value(parse_json(json_text, where), where);
}

// The catch matrix: what each tool mode must report of each variant ("modes", in lab.json or
// in the instructor's file beside the solution, where what a tool names may spoil the lab).
void parse_modes(const reader& r, manifest& m)
{
    if(r.has("modes"))
    {
        if(!r.at("modes").is_object())
            throw manifest_error(r.path("modes") + ": expected {\"asan\": {\"leaky\": {...}, \"fixed\": {...}}, ...}");
        for(auto& kv : r.at("modes").as_object())
        {
            const std::string mode(kv.key());
            const auto& value = kv.value();
            if(!tools::is_tool_mode(mode))
                throw manifest_error(r.path("modes") + "." + mode + ": not a tool mode (" + tools::tool_mode_names() + ")");
            reader mr(value, r.path("modes") + "." + mode, {"leaky", "fixed"});
            for(const char* variant : {"leaky", "fixed"})
            {
                if(!mr.has(variant))
                    throw manifest_error(mr.where() + ": missing required field \"" + variant + "\"");
                reader x(mr.at(variant), mr.path(variant), {"finds", "site", "why"});
                mode_expectation me;
                if(!x.has("finds"))
                    throw manifest_error(x.where() + ": missing required field \"finds\" (an empty list: nothing)");
                me.finds = x.strings("finds");
                me.site = x.string("site", "");
                me.why = x.string("why", "");
                if(!me.site.empty() && me.finds.empty())
                    throw manifest_error(x.path("site") + ": a site needs a finding to be at");
                if(std::string(variant) == "fixed" && !me.finds.empty())
                    throw manifest_error(x.path("finds") + ": a fixed variant is clean under every tool");
                if(std::string(variant) == "leaky" && me.finds.empty() && me.why.empty())
                    throw manifest_error(x.path("why") + ": say why the tool cannot see this defect (the lesson)");
                try
                {
                    std::regex check(me.site);
                }
                catch(const std::regex_error& err)
                {
                    throw manifest_error(x.path("site") + ": not a regular expression (" + err.what() + ")");
                }
                m.modes[mode][variant] = me;
            }
        }
    }
}

manifest load_manifest(const std::filesystem::path& file)
{
    std::string where = file.string();
    auto v = parse_json(read_file(file), where);
    reader r(v, where, {"id", "slug", "title", "section", "summary", "style", "student_files", "server_args",
                        "env", "rlimit_nofile", "start_timeout_s", "backend", "workload", "settle", "thresholds",
                        "ignore_metrics", "expect", "hints", "principle", "diagnosis", "upstream", "spoilers",
                        "contract", "modes"});
    manifest m;
    m.dir = file.parent_path();
    m.id = r.string("id");
    if(m.id.size() != 2 || !std::isdigit(static_cast<unsigned char>(m.id[0])) ||
       !std::isdigit(static_cast<unsigned char>(m.id[1])))
        throw manifest_error(r.path("id") + ": expected two digits such as \"01\"");
    m.slug = r.string("slug");
    m.title = r.string("title");
    m.section = r.string("section", "");
    m.summary = r.string("summary", "");
    m.style = r.string("style", "callback");
    m.student_files = r.strings("student_files", true);
    if(m.student_files.empty())
        throw manifest_error(r.path("student_files") + ": name at least one file a student edits");
    m.server_args = r.strings("server_args");
    m.env = r.strings("env");
    if(r.has("rlimit_nofile"))
        m.nofile = r.count("rlimit_nofile", 0, 16, 1'048'576);
    m.start_timeout_s = r.number("start_timeout_s", m.start_timeout_s, 0.5, 600);
    if(r.has("backend"))
    {
        reader b(r.at("backend"), r.path("backend"), {"kind"});
        m.plan.backend = b.string("kind");
        if(m.plan.backend != "redis")
            throw manifest_error(b.path("kind") + ": the only backend is \"redis\"");
    }
    if(!r.has("workload"))
        throw manifest_error(where + ": missing required field \"workload\"");
    {
        auto backend = m.plan.backend;
        m.plan = parse_plan_value(r.at("workload"), r.path("workload"));
        m.plan.backend = backend;
    }

    if(r.has("settle"))
    {
        reader s(r.at("settle"), r.path("settle"), {"min_ms", "max_ms", "quiet_ms"});
        m.plan.settle_min = std::chrono::milliseconds(s.count("min_ms", 0, 0, 600'000));
        m.plan.settle_max = std::chrono::milliseconds(s.count("max_ms", 3000, 10, 600'000));
        m.plan.settle_quiet = std::chrono::milliseconds(s.count("quiet_ms", 50, 1, 60'000));
    }
    if(r.has("thresholds"))
        parse_thresholds(r.at("thresholds"), r.path("thresholds"), m.plan);
    if(r.has("contract"))
    {
        reader c(r.at("contract"), r.path("contract"), {"bounds", "promises", "stop_within_s"});
        if(c.has("bounds"))
            m.plan.bounds = parse_bounds(c.at("bounds"), c.path("bounds"));
        if(c.has("stop_within_s"))
            m.plan.stop_within_s = c.number("stop_within_s", 3, 0.1, 60);
        m.promises = c.strings("promises");
    }
    m.plan.ignore_metrics = r.strings("ignore_metrics");

    if(!r.has("expect"))
        throw manifest_error(where + ": missing required field \"expect\"");
    reader e(r.at("expect"), r.path("expect"), {"leaky", "fixed"});
    for(const char* variant : {"leaky", "fixed"})
    {
        if(!e.has(variant))
            throw manifest_error(e.where() + ": missing required field \"" + variant + "\"");
        reader x(e.at(variant), e.path(variant), {"verdict", "flagged", "reason", "mode"});
        expectation ex;
        if(x.has("mode"))
        {
            // Judged by a tool alone: the catch matrix's cell for this mode must expect a finding.
            ex.mode = x.string("mode");
            if(std::string(variant) != "leaky" || x.string("verdict", "") != "flagged")
                throw manifest_error(x.path("mode") + ": only a leaky variant judged by a tool: {\"verdict\": \"flagged\", \"mode\": \"tsan\"}");
            ex.verdict = verdict::outcome::flagged;
            m.expect[variant] = ex;
            continue;
        }
        if(x.has("verdict") && x.at("verdict").is_array())
        {
            // A defect growth cannot see: the run crashes or answers wrong, for a stated reason.
            for(auto& name : x.strings("verdict", true))
            {
                auto o = verdict::parse_outcome(name);
                if(!o || (*o != verdict::outcome::error && *o != verdict::outcome::broken && *o != verdict::outcome::leak))
                    throw manifest_error(x.path("verdict") + ": a list holds \"error\", \"broken\" or \"leak\", not \"" +
                                         name + "\"");
                ex.verdicts.push_back(*o);
            }
            if(std::string(variant) != "leaky" || ex.verdicts.empty())
                throw manifest_error(x.path("verdict") + ": only a leaky variant may expect a list of verdicts");
            if(!x.has("reason"))
                throw manifest_error(x.path("reason") + ": a list of verdicts needs the reason they must be for");
            ex.verdict = ex.verdicts.front();
            ex.reason = x.string("reason");
            try
            {
                std::regex check(ex.reason);
            }
            catch(const std::regex_error& err)
            {
                throw manifest_error(x.path("reason") + ": not a regular expression (" + err.what() + ")");
            }
            m.expect[variant] = ex;
            continue;
        }
        if(x.has("reason"))
            throw manifest_error(x.path("reason") + ": only with a list of verdicts");
        auto v = verdict::parse_outcome(x.string("verdict"));
        if(!v || (*v != verdict::outcome::leak && *v != verdict::outcome::clean))
            throw manifest_error(x.path("verdict") + ": expected \"leak\" or \"clean\"");
        ex.verdict = *v;
        ex.flagged = x.strings("flagged");
        if(ex.verdict == verdict::outcome::leak && ex.flagged.empty())
            throw manifest_error(x.path("flagged") + ": a leak names the metrics that must grow");
        if(ex.verdict == verdict::outcome::clean && !ex.flagged.empty())
            throw manifest_error(x.path("flagged") + ": a clean verdict flags nothing");
        m.expect[variant] = ex;
    }
    parse_modes(r, m);
    m.hints = r.strings("hints");
    m.principle = r.strings("principle");
    m.diagnosis = r.string("diagnosis", "");
    m.upstream = r.strings("upstream");
    m.spoilers = r.strings("spoilers");

    // What names the defect or the fix lives beside the solution, not in the folder a
    // student copies: solutions/NN-slug/instructor.json (its fields win over lab.json's).
    auto instructor = m.dir.parent_path().parent_path() / "solutions" / m.dir.filename() / "instructor.json";
    if(std::filesystem::exists(instructor))
    {
        std::string iw = instructor.string();
        auto iv = parse_json(read_file(instructor), iw);
        reader ir(iv, iw, {"summary", "diagnosis", "spoilers", "principle", "upstream", "modes", "points",
                                  "graded_under"});
        if(ir.has("points"))
            m.points = ir.number("points", 10, 0, 1000);
        parse_modes(ir, m);
        if(ir.has("graded_under"))
        {
            m.graded_under = ir.string("graded_under");
            if(!tools::find_mode(m.graded_under) || m.graded_under == "growth")
                throw manifest_error(ir.path("graded_under") + ": not a tool mode (" + tools::tool_mode_names() + ")");
            if(!m.modes.count(m.graded_under))
                throw manifest_error(ir.path("graded_under") + ": modes." + m.graded_under +
                                     " must say what the fixed variant shows under it");
        }
        if(ir.has("summary"))
            m.summary = ir.string("summary");
        if(ir.has("diagnosis"))
            m.diagnosis = ir.string("diagnosis");
        if(ir.has("spoilers"))
            m.spoilers = ir.strings("spoilers");
        if(ir.has("principle"))
            m.principle = ir.strings("principle");
        if(ir.has("upstream"))
            m.upstream = ir.strings("upstream");
    }

    if(auto& lx = m.expect.at("leaky"); !lx.mode.empty() && !m.modes.empty())
        if(!m.modes.count(lx.mode) || m.modes.at(lx.mode).at("leaky").finds.empty())
            throw manifest_error(where + ": expect.leaky is judged by " + lx.mode + ", so modes." + lx.mode +
                                 ".leaky must name what it finds");
    m.fixtures = load_fixtures(m.dir.parent_path().parent_path() / "tests" / "wrong-fixes" / m.dir.filename());

    // The folder is NN-slug, exactly: scripts and handouts rely on it.
    auto folder = m.dir.filename().string();
    if(folder != m.name())
        throw manifest_error(where + ": the folder is \"" + folder + "\" but id and slug say \"" + m.name() + "\"");
    return m;
}

std::vector<manifest> load_all(const std::filesystem::path& root)
{
    std::vector<std::filesystem::path> files;
    auto labs = root / "labs";
    if(!std::filesystem::is_directory(labs))
        throw manifest_error(labs.string() + ": no labs folder here (is --root the leaklab checkout?)");
    for(auto& entry : std::filesystem::directory_iterator(labs))
        if(entry.is_directory() && std::filesystem::exists(entry.path() / "lab.json"))
            files.push_back(entry.path() / "lab.json");
    std::sort(files.begin(), files.end());
    std::vector<manifest> out;
    for(auto& f : files)
        out.push_back(load_manifest(f));
    return out;
}

manifest find_lab(const std::filesystem::path& root, const std::string& id_or_slug)
{
    std::string want = id_or_slug;
    if(want.size() == 1 && std::isdigit(static_cast<unsigned char>(want[0])))
        want = "0" + want;
    auto labs = root / "labs";
    std::string known;
    if(std::filesystem::is_directory(labs))
    {
        std::vector<std::filesystem::path> dirs;
        for(auto& entry : std::filesystem::directory_iterator(labs))
            if(entry.is_directory())
                dirs.push_back(entry.path());
        std::sort(dirs.begin(), dirs.end());
        for(auto& d : dirs)
        {
            auto name = d.filename().string();
            auto dash = name.find('-');
            if(dash == std::string::npos)
                continue;
            if(name.substr(0, dash) == want || name.substr(dash + 1) == want || name == want)
                return load_manifest(d / "lab.json");
            known += "\n  " + name;
        }
        // An instructor's script may still name a lab by its diagnosis (the folder's old name).
        for(auto& d : dirs)
            if(std::filesystem::exists(d / "lab.json"))
            {
                auto m = load_manifest(d / "lab.json");
                if(!m.diagnosis.empty() && (m.diagnosis == want || m.id + "-" + m.diagnosis == want))
                    return m;
            }
    }
    throw manifest_error("no lab \"" + id_or_slug + "\"; the labs are:" + (known.empty() ? " (none found)" : known));
}

bool http_verb_unknown(const std::string& m)
{
    static const std::set<std::string> verbs = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};
    return !verbs.count(m);
}

} // namespace leaklab::labs
