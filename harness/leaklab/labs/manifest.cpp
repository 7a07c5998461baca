#include "leaklab/labs/manifest.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
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
                        "method", "body", "body_bytes", "expect_status", "expect_body", "op_timeout_s", "settle_min_ms",
                        "from_round", "until_round", "fault", "latency_ms", "quiet_ms"});
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
    s.expect_status = static_cast<unsigned>(r.count("expect_status", s.expect_status, 100, 599));
    s.expect_body = r.string("expect_body", s.expect_body);
    s.op_timeout_s = r.number("op_timeout_s", s.op_timeout_s, 0.1, 600);
    s.settle_min_ms = r.number("settle_min_ms", s.settle_min_ms, 0, 600'000);
    s.from_round = r.count("from_round", 0, 0, 1000);
    s.until_round = r.count("until_round", 0, 0, 1000);
    s.fault = r.string("fault", "");
    s.latency_ms = r.number("latency_ms", 0, 0, 600'000);
    s.quiet_ms = r.number("quiet_ms", 0, 0, 600'000);
    if(auto bad = workload::find_kind(s.kind)->validate(s, [&](const std::string& f) { return r.has(f.c_str()); }))
        throw manifest_error(r.path(bad->first.c_str()) + ": " + bad->second);
    return s;
}

run::plan parse_plan_value(const json::value& v, const std::string& where)
{
    reader r(v, where, {"rounds", "warmup_rounds", "round_timeout_s", "steps", "max_failure_rate", "stop_failure_rate",
                        "stop_when_failing", "patience_s"});
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

} // namespace

run::plan parse_plan(const std::string& json_text, const std::string& where)
{
    return parse_plan_value(parse_json(json_text, where), where);
}

manifest load_manifest(const std::filesystem::path& file)
{
    std::string where = file.string();
    auto v = parse_json(read_file(file), where);
    reader r(v, where, {"id", "slug", "title", "section", "summary", "style", "student_files", "server_args",
                        "env", "rlimit_nofile", "start_timeout_s", "backend", "workload", "settle", "thresholds",
                        "ignore_metrics", "expect", "hints", "principle", "diagnosis", "upstream", "spoilers"});
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
    m.plan.ignore_metrics = r.strings("ignore_metrics");

    if(!r.has("expect"))
        throw manifest_error(where + ": missing required field \"expect\"");
    reader e(r.at("expect"), r.path("expect"), {"leaky", "fixed"});
    for(const char* variant : {"leaky", "fixed"})
    {
        if(!e.has(variant))
            throw manifest_error(e.where() + ": missing required field \"" + variant + "\"");
        reader x(e.at(variant), e.path(variant), {"verdict", "flagged"});
        expectation ex;
        auto v = verdict::parse_outcome(x.string("verdict"));
        if(!v || *v == verdict::outcome::error || *v == verdict::outcome::inconclusive)
            throw manifest_error(x.path("verdict") + ": expected \"leak\" or \"clean\"");
        ex.verdict = *v;
        ex.flagged = x.strings("flagged");
        if(ex.verdict == verdict::outcome::leak && ex.flagged.empty())
            throw manifest_error(x.path("flagged") + ": a leak names the metrics that must grow");
        if(ex.verdict == verdict::outcome::clean && !ex.flagged.empty())
            throw manifest_error(x.path("flagged") + ": a clean verdict flags nothing");
        m.expect[variant] = ex;
    }
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
        reader ir(iv, iw, {"summary", "diagnosis", "spoilers", "principle", "upstream"});
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
