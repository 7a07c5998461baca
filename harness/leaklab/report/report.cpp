#include "leaklab/report/report.hpp"
#include "leaklab/report/svg.hpp"
#include "leaklab/verdict/contract.hpp"
#include "leaklab/verdict/metrics.hpp"

#include <boost/json.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>

namespace leaklab::report {

namespace json = boost::json;

std::string format_value(double v, const std::string& unit)
{
    std::ostringstream s;
    if(unit == "rate")
    {
        s << std::setprecision(3) << v * 100 << '%';
        return s.str();
    }
    if(unit == "bytes")
    {
        const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        double a = std::abs(v);
        int i = 0;
        while(a >= 1024 && i < 4)
        {
            a /= 1024;
            v /= 1024;
            ++i;
        }
        s << std::fixed << std::setprecision(i == 0 ? 0 : 1) << v << ' ' << units[i];
        return s.str();
    }
    if(v == std::floor(v) && std::abs(v) < 1e15)
        s << static_cast<long long>(v);
    else
        s << std::setprecision(3) << v;
    return s.str();
}

std::string format_slope(double v, const std::string& unit)
{
    std::ostringstream s;
    if(unit == "bytes")
        return format_value(v, unit) + "/op";
    if(unit == "rate")
        return format_value(v, unit) + "/round";
    s << std::setprecision(3) << v << "/op";
    return s.str();
}

std::string format_p(double p)
{
    std::ostringstream s;
    if(p < 0.0001)
        return "<0.0001";
    s << std::setprecision(2) << p;
    return s.str();
}

progress::progress(std::string label, bool quiet)
    : label_(std::move(label)), tty_(::isatty(STDERR_FILENO) != 0), quiet_(quiet)
{
}

progress::~progress() { done(); }

void progress::operator()(const run::plan& p, const run::round_record& r)
{
    if(quiet_)
        return;
    std::ostringstream line;
    line << label_ << ": ";
    if(r.round == 0)
        line << "baseline taken";
    else
    {
        line << "round " << r.round << "/" << p.rounds << "  " << r.ops << " ops";
        if(r.seconds > 0)
            line << "  " << static_cast<long>(double(r.ops) / r.seconds) << " ops/s";
        if(r.failed)
            line << "  " << r.failed << " failed";
    }
    for(auto& info : verdict::catalog())
        if(auto it = r.values.find(info.name); info.in_progress && it != r.values.end())
            line << "  " << info.name << "=" << format_value(it->second, info.unit);
    if(tty_)
    {
        std::string text = line.str();
        if(text.size() > 150)
            text = text.substr(0, 150);
        std::cerr << "\r\033[K" << text << std::flush;
        open_line_ = true;
    }
    else
        std::cerr << line.str() << '\n';
}

void progress::done()
{
    if(open_line_)
        std::cerr << "\r\033[K" << std::flush;
    open_line_ = false;
}

std::optional<std::string> held_note(const run::result& r)
{
    if(!r.held || r.held->patience_s <= 0 || r.held->held == 0)
        return std::nullopt;
    const auto& h = *r.held;
    std::ostringstream o;
    o << std::fixed << std::setprecision(1);
    const std::string clients = std::to_string(h.held) + (h.held == 1 ? " client" : " clients");
    if(h.released == 0)
        o << "the server let go of none of the " << clients << " left hanging (" << r.workload << ") within the "
          << h.patience_s << " s patience window";
    else
        o << "the server let go of " << (h.released == h.held ? "all " + clients : std::to_string(h.released) + " of " + clients)
          << " left hanging (" << r.workload << "), " << h.median_release_s << " s after they went silent (median; max "
          << h.max_release_s << " s)";
    return o.str();
}

void print_result(std::ostream& out, const heading& h, const run::result& r, bool color)
{
    auto paint = [&](const std::string& s, const char* code) {
        return color ? std::string("\033[") + code + "m" + s + "\033[0m" : s;
    };
    if(!h.lab.empty())
        out << "lab " << h.lab << " (" << h.variant << ")" << (h.title.empty() ? "" : ": " + h.title) << '\n';
    else
        out << "probe: " << r.command << '\n';
    if(r.verdict == verdict::outcome::skipped)
    {
        out << "verdict: " << paint("SKIPPED", "1;33") << " (" << r.skipped
            << "; `leaklab doctor` says what this machine has)\n";
        return;
    }
    out << "workload " << r.workload << ": " << r.rounds_run << (r.rounds_run == 1 ? " round, " : " rounds, ")
        << r.ops_total << " operations";
    if(r.failed_total)
        out << " (" << r.failed_total << " failed)";
    out << ", " << std::fixed << std::setprecision(1) << r.duration_s << " s\n" << std::defaultfloat;

    if(!r.metrics.empty())
    {
        out << '\n'
            << std::left << std::setw(20) << "metric" << std::right << std::setw(12) << "baseline" << std::setw(12)
            << "final" << std::setw(14) << "slope" << std::setw(10) << "p" << std::setw(14) << "threshold"
            << "\n";
        for(auto& m : r.metrics)
        {
            std::ostringstream row;
            row << std::left << std::setw(20) << m.name << std::right << std::setw(12)
                << format_value(m.baseline, m.unit) << std::setw(12) << format_value(m.final_value, m.unit)
                << std::setw(14) << (m.judged ? format_slope(m.slope_per_op, m.unit) : "-") << std::setw(10)
                << (m.judged ? format_p(m.p_value) : "-")
                << std::setw(14) << format_slope(m.threshold, m.unit) << "  ";
            out << row.str()
                << (m.flagged     ? paint("GROWS", "1;31") + "  " + m.reason
                    : m.undecided ? paint("UNSURE", "1;33") + "  " + m.reason
                                  : m.reason)
                << '\n';
        }
    }

    for(auto& n : r.notes)
        out << "note: " << n << '\n';
    // The contract: each breach, or that every clause held.
    for(auto& b : r.breaches)
        out << paint("contract broken", "1;35") << ": " << verdict::describe(b) << '\n';
    for(auto& b : r.over_limits)
        out << paint("past a limit", "1;31") << ": " << verdict::describe(b) << '\n';
    if(r.breaches.empty() && r.over_limits.empty() && r.clauses > 0 && r.verdict != verdict::outcome::error &&
       r.error.empty())
        out << "contract: all " << r.clauses << " clauses held (every reply checked"
            << (r.clauses > 1 ? "; see the lab's contract" : "") << ")\n";
    if(auto held = held_note(r))
        out << "note: " << *held << '\n';
    for(auto& w : r.warnings)
        out << "warning: " << w << '\n';
    // What the tools said, next to what growth said: each finding, with its stacks' own frames.
    if(!r.findings.empty())
    {
        out << "\n" << (r.mode.empty() ? std::string("sanitizer") : r.mode) << " findings (" << r.findings.size()
            << (r.findings.size() == 1 ? "" : r.mode == "heapprof" || r.mode == "heaptrack" || r.mode == "tasks" ? ", largest first" : ", most reported first") << "):\n";
        for(std::size_t i = 0; i < r.findings.size() && i < 5; ++i)
        {
            const auto& f = r.findings[i];
            out << "  " << paint(f.tool + " " + f.kind, "1;31")
                << (f.count > 1 ? "  (" + std::to_string(f.count) + " reports)" : "")
                << (f.bytes_per_op > 0 || f.tool == "tasks" ? "  " + f.message
                    : f.bytes          ? "  " + std::to_string(f.bytes) + " bytes in " + std::to_string(f.objects) + " objects"
                                       : "")
                << '\n';
            std::size_t shown = 0;
            for(auto& st : f.stacks)
            {
                // The accesses, the free and the allocation tell the story; where a thread was started does not.
                if(st.title.rfind("Thread T", 0) == 0 || shown == 3)
                    continue;
                ++shown;
                // The frames in the server's own code (three at most), or the one that says most when none is.
                std::vector<const tools::frame*> own;
                for(auto& fr : st.frames)
                    if(tools::own_code(fr) && fr.function != "main" && own.size() < 3)
                        own.push_back(&fr);
                out << "    " << (st.title.empty() ? std::string("at:") : st.title.substr(0, 90)) << '\n';
                if(own.empty())
                    if(auto* t = tools::telling_frame(st))
                        out << "      " << tools::where(*t).substr(0, 140)
                            << (tools::own_code(*t) ? "" : "  (not in the server's own code)") << '\n';
                for(auto* fr : own)
                    out << "      " << tools::where(*fr).substr(0, 140) << '\n';
            }
        }
        if(r.findings.size() > 5)
            out << "  ... and " << r.findings.size() - 5 << " more (--json has them all; --keep-logs keeps the reports)\n";
    }
    else if(!r.tool_reports.empty())
    {
        out << "sanitizer reports from the server:\n";
        for(auto& line : r.tool_reports)
            out << "  " << line << '\n';
    }
    else if(!h.sanitizer.empty() && r.verdict != verdict::outcome::error)
        out << h.sanitizer << " sanitizer: no reports at exit"
            << (r.verdict == verdict::outcome::leak ? " (this leak is invisible to it)" : "") << '\n';
    out << '\n';
    if(r.verdict == verdict::outcome::leak && !r.stopped_serving.empty())
        out << "verdict: " << paint("LEAK", "1;31") << " (" << r.stopped_serving << ")\n";
    else if(r.verdict == verdict::outcome::leak && r.flagged().empty() && !r.over_limits.empty())
        out << "verdict: " << paint("LEAK", "1;31") << " (past a limit of its contract: " << r.over_limits.front().clause
            << ")\n";
    else if(r.verdict == verdict::outcome::leak)
    {
        std::string names;
        for(auto& n : r.flagged())
            names += (names.empty() ? "" : ", ") + n;
        out << "verdict: " << paint("LEAK", "1;31") << " (" << names << (r.flagged().size() == 1 ? " keeps" : " keep")
            << " growing with every operation)\n";
        // Counts say how many; the tasks mode says which and where (a lab server: labkit records them).
        const auto f = r.flagged();
        if(r.mode.empty() && !h.lab.empty() &&
           std::any_of(f.begin(), f.end(), [](auto& n) { return n == "asio_ops_pending" || n == "coroutines_live"; }))
            out << "next: add --mode tasks to this command: it lists the pending operations and coroutines by the line "
                   "that started them\n";
    }
    else if(r.verdict == verdict::outcome::clean)
        out << "verdict: " << paint("CLEAN", "1;32") << " (no metric keeps growing with the operations)\n";
    else if(r.verdict == verdict::outcome::inconclusive)
        out << "verdict: " << paint("INCONCLUSIVE", "1;33") << " (" << r.undecided_summary()
            << (r.blind.empty() ? "; a longer run decides: --rounds N or --scale X" : "") << ")\n";
    else if(r.verdict == verdict::outcome::flagged)
        out << "verdict: " << paint("FLAGGED", "1;31") << " (" << tools::headline(r.findings.front()) << ")\n";
    else if(r.verdict == verdict::outcome::skipped)
        out << "verdict: " << paint("SKIPPED", "1;33") << " (" << r.skipped << ")\n";
    else if(r.verdict == verdict::outcome::broken)
        out << "verdict: " << paint("BROKEN", "1;35") << " (the server broke its contract: "
            << (r.breaches.empty() ? std::string("see above") : r.breaches.front().clause) << ")\n";
    else
    {
        out << "verdict: " << paint("ERROR", "1;33") << ": " << r.error << '\n';
        if(!r.stderr_tail.empty())
        {
            out << "last lines the server wrote on stderr:\n";
            std::istringstream in(r.stderr_tail);
            for(std::string line; std::getline(in, line);)
                out << "  | " << line << '\n';
        }
    }
}

json::object to_json(const heading& h, const run::result& r)
{
    json::object o;
    o["lab"] = h.lab.empty() ? json::value(nullptr) : json::value(h.lab);
    o["variant"] = h.variant.empty() ? json::value(nullptr) : json::value(h.variant);
    o["workload"] = r.workload;
    o["verdict"] = verdict::to_string(r.verdict);
    json::array metrics;
    for(auto& m : r.metrics)
    {
        json::object jm;
        jm["name"] = m.name;
        jm["unit"] = m.unit;
        jm["kind"] = m.kind;
        jm["baseline"] = m.baseline;
        jm["final"] = m.final_value;
        jm["judged"] = m.judged;
        jm["slope_per_op"] = m.judged ? json::value(m.slope_per_op) : json::value(nullptr);
        jm["late_slope_per_op"] = m.judged ? json::value(m.late_slope_per_op) : json::value(nullptr);
        jm["p_value"] = m.judged ? json::value(m.p_value) : json::value(nullptr);
        jm["threshold_per_op"] = m.threshold;
        jm["undecided"] = m.undecided;
        jm["alpha"] = m.alpha;
        jm["flagged"] = m.flagged;
        jm["reason"] = m.reason;
        metrics.push_back(std::move(jm));
    }
    o["metrics"] = std::move(metrics);
    json::array flagged;
    for(auto& n : r.flagged())
        flagged.push_back(json::value(n));
    o["flagged"] = std::move(flagged);
    json::array rounds;
    for(auto& rr : r.rounds)
    {
        json::object jr;
        jr["round"] = rr.round;
        jr["ops"] = rr.ops;
        jr["failed"] = rr.failed;
        jr["cumulative_ops"] = rr.cumulative_ops;
        jr["seconds"] = rr.seconds;
        jr["settled"] = rr.settled;
        jr["settle_ms"] = rr.settle_ms;
        jr["timed_out"] = rr.timed_out;
        if(!rr.first_error.empty())
            jr["first_error"] = rr.first_error;
        json::object values;
        for(auto& [k, v] : rr.values)
            values[k] = v;
        jr["values"] = std::move(values);
        rounds.push_back(std::move(jr));
    }
    o["rounds"] = std::move(rounds);
    o["rounds_run"] = r.rounds_run;
    o["warmup_rounds"] = r.warmup_rounds;
    json::array phases;
    for(auto& ph : r.phases)
        phases.push_back(json::object{{"first_round", ph.first_round}, {"last_round", ph.last_round}, {"label", ph.label}});
    o["phases"] = std::move(phases);
    o["ops_total"] = r.ops_total;
    o["failed_total"] = r.failed_total;
    o["duration_s"] = r.duration_s;
    if(r.verdict == verdict::outcome::error)
        o["error"] = r.error;
    if(!r.stopped_serving.empty())
        o["stopped_serving"] = r.stopped_serving;
    json::array breaches;
    for(auto& b : r.breaches)
        breaches.push_back(json::object{{"clause", b.clause},
                                        {"when", b.when},
                                        {"step", b.step},
                                        {"count", b.count},
                                        {"first", b.first}});
    o["breaches"] = std::move(breaches);
    json::array limits;
    for(auto& b : r.over_limits)
        limits.push_back(json::object{{"clause", b.clause}, {"when", b.when}, {"step", b.step}, {"count", b.count},
                                      {"first", b.first}});
    o["over_limits"] = std::move(limits);
    o["contract_clauses"] = r.clauses;
    json::array warnings;
    for(auto& w : r.warnings)
        warnings.push_back(json::value(w));
    o["warnings"] = std::move(warnings);
    json::array notes;
    for(auto& n : r.notes)
        notes.push_back(json::value(n));
    o["notes"] = std::move(notes);
    if(r.held)
        o["held_clients"] = json::object{{"held", r.held->held},
                                         {"released", r.held->released},
                                         {"median_release_s", r.held->median_release_s},
                                         {"max_release_s", r.held->max_release_s},
                                         {"patience_s", r.held->patience_s},
                                         {"waited_s", r.held->waited_s}};
    o["heap_source"] = r.heap_source.empty() ? json::value(nullptr) : json::value(r.heap_source);
    json::object tools;
    tools["sanitizer"] = h.sanitizer.empty() ? json::value(nullptr) : json::value(h.sanitizer);
    json::array reports;
    for(auto& line : r.tool_reports)
        reports.push_back(json::value(line));
    tools["reports"] = std::move(reports);
    tools["mode"] = r.mode.empty() ? json::value("growth") : json::value(r.mode);
    if(!r.skipped.empty())
        tools["skipped"] = r.skipped;
    json::array findings;
    for(auto& f : r.findings)
    {
        json::array stacks;
        for(auto& st : f.stacks)
        {
            json::array frames;
            for(auto& fr : st.frames)
                frames.push_back(json::object{{"function", fr.function},
                                              {"file", fr.file.empty() ? json::value(nullptr) : json::value(fr.file)},
                                              {"line", fr.line},
                                              {"own", tools::own_code(fr)}});
            stacks.push_back(json::object{{"title", st.title}, {"frames", std::move(frames)}});
        }
        json::object jf{{"tool", f.tool}, {"kind", f.kind}, {"message", f.message}, {"count", f.count},
                        {"headline", tools::headline(f)}, {"stacks", std::move(stacks)}};
        if(f.bytes)
        {
            jf["bytes"] = f.bytes;
            jf["objects"] = f.objects;
        }
        if(f.bytes_per_op > 0)
            jf["bytes_per_op"] = f.bytes_per_op;
        findings.push_back(std::move(jf));
    }
    tools["findings"] = std::move(findings);
    o["tools"] = std::move(tools);
    o["command"] = r.command;
    o["server_exit"] = r.server_exit;
    if(!r.stderr_tail.empty())
        o["stderr_tail"] = r.stderr_tail;
    return o;
}

void write_json(const std::filesystem::path& file, const json::value& v)
{
    if(file.has_parent_path())
        std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file);
    out << json::serialize(v) << '\n';
    if(!out)
        throw std::runtime_error("cannot write " + file.string());
}

namespace {

// The x of a round (its cumulative operations) in a run, if it ran.
std::optional<double> x_of_round(const run::result& r, std::size_t round)
{
    for(auto& rr : r.rounds)
        if(rr.round == round)
            return double(rr.cumulative_ops);
    return std::nullopt;
}

std::optional<double> value_at(const run::result& r, std::size_t round, const std::string& name)
{
    for(auto& rr : r.rounds)
        if(rr.round == round)
            if(auto it = rr.values.find(name); it != rr.values.end())
                return it->second;
    return std::nullopt;
}

const run::metric_result* metric_of(const run::result& r, const std::string& name)
{
    for(auto& m : r.metrics)
        if(m.name == name)
            return &m;
    return nullptr;
}

} // namespace

std::vector<std::string> chart_metrics(const std::vector<labelled_run>& runs)
{
    std::set<std::string> names;
    for(auto& lr : runs)
        for(auto& m : lr.result->metrics)
            names.insert(m.name);
    return {names.begin(), names.end()};
}

std::string render_metric_chart(const heading& h, const std::vector<labelled_run>& runs, const std::string& name)
{
    svg_chart c;
    c.title = (h.lab.empty() ? std::string("probe") : "lab " + h.lab) + ": " + name;
    c.x_label = "operations";
    c.y_label = name;
    const auto info = verdict::describe_metric(name);
    const bool failures = info.kind == verdict::metric_kind::failures;
    c.unit = failures ? "" : info.unit;
    if(failures)
        c.y_label = name + " (failed fraction of each round)";
    // What each line means, in words: the verdict on this metric and its slope.
    std::string subtitle;
    for(auto& lr : runs)
    {
        auto* m = metric_of(*lr.result, name);
        std::string part = lr.label + ": ";
        if(!m)
            part += "not measured";
        else if(!m->judged)
            part += "not judged";
        else
            part += (m->flagged ? "grows " : "not flagged, ") + format_slope(m->slope_per_op, m->unit);
        subtitle += (subtitle.empty() ? "" : "   |   ") + part;
    }
    c.subtitle = subtitle;
    for(auto& lr : runs)
    {
        svg_series s{lr.label, "", {}, {}};
        for(auto& rr : lr.result->rounds)
            if(failures)
            {
                // Failures are judged as a rate per round: draw the rate.
                s.x.push_back(double(rr.cumulative_ops));
                s.y.push_back(rr.ops ? double(rr.failed) / double(rr.ops) : 0.0);
            }
            else if(auto it = rr.values.find(name); it != rr.values.end())
            {
                s.x.push_back(double(rr.cumulative_ops));
                s.y.push_back(it->second);
            }
        c.series.push_back(std::move(s));
    }
    if(runs.empty())
        return render_svg(c);
    // Phases, from the first run (every variant runs the same plan): warm-up, then faults.
    const run::result& first = *runs.front().result;
    if(first.warmup_rounds > 0)
        if(auto x0 = x_of_round(first, 0), x1 = x_of_round(first, first.warmup_rounds); x0 && x1)
            c.bands.push_back({*x0, *x1, "warm-up (not judged)", "#eeeeee"});
    for(auto& ph : first.phases)
        if(auto x0 = x_of_round(first, ph.first_round - 1), x1 = x_of_round(first, ph.last_round); x0 && x1)
            c.bands.push_back({*x0, *x1, ph.label, "#fdeede"});
    // The leak threshold per operation, drawn from the lowest first judged point.
    const std::size_t first_judged = 1 + first.warmup_rounds;
    for(auto& lr : runs)
        if(auto* m = metric_of(*lr.result, name); !failures && m && m->judged && m->threshold > 0)
        {
            std::optional<double> y0;
            for(auto& other : runs)
                if(auto v = value_at(*other.result, first_judged, name))
                    y0 = y0 ? std::min(*y0, *v) : *v;
            if(auto x0 = x_of_round(first, first_judged); x0 && y0)
                c.reference = svg_reference{*x0, *y0, m->threshold,
                                            "leak threshold " + format_value(m->threshold, m->unit) + "/op"};
            break;
        }
    return render_svg(c);
}

std::vector<std::filesystem::path> write_charts(const std::filesystem::path& dir, const heading& h,
                                                const std::vector<labelled_run>& runs)
{
    std::filesystem::create_directories(dir);
    std::vector<std::filesystem::path> files;
    for(auto& name : chart_metrics(runs))
    {
        auto file = dir / (name + ".svg");
        std::ofstream(file) << render_metric_chart(h, runs, name);
        files.push_back(file);
    }
    return files;
}

std::vector<std::filesystem::path> write_compare_charts(const std::filesystem::path& dir, const heading& h,
                                                        const run::result& leaky, const run::result& fixed)
{
    return write_charts(dir, h, {{"leaky", &leaky}, {"fixed", &fixed}});
}

} // namespace leaklab::report
