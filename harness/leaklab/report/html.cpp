#include "leaklab/report/html.hpp"
#include "leaklab/report/svg.hpp"

#include <sstream>

namespace leaklab::report {

namespace {

// HTML text shares the charts' escaping.
std::string esc(const std::string& s) { return escape_xml(s); }

constexpr const char* style = R"(
:root { --fg:#1d1d1f; --muted:#5f6368; --line:#d9d9de; --leak:#b3261e; --clean:#1e6b35; --error:#8a5a00; }
* { box-sizing:border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color:var(--fg);
       margin:0 auto; max-width:1180px; padding:24px; line-height:1.45; }
h1 { font-size:1.7em; margin:0 0 4px; } h2 { margin-top:2.2em; border-top:2px solid var(--line); padding-top:.8em; }
h3 { margin:1.4em 0 .4em; font-size:1.05em; }
.muted { color:var(--muted); }
table { border-collapse:collapse; margin:.4em 0 1em; font-size:.9em; }
th, td { border-bottom:1px solid var(--line); padding:4px 10px; text-align:left; vertical-align:top; }
th { background:#f4f4f6; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.verdict { font-weight:700; padding:1px 7px; border-radius:4px; border:1px solid currentColor; white-space:nowrap; }
.verdict.leak { color:var(--leak); } .verdict.clean { color:var(--clean); } .verdict.error { color:var(--error); } .verdict.inconclusive { color:var(--error); }
tr.flagged td { background:#fdf0ef; }
.grows { color:var(--leak); font-weight:700; }
.charts { display:grid; grid-template-columns:repeat(auto-fill, minmax(440px, 1fr)); gap:14px; }
figure.chart { margin:0; border:1px solid var(--line); border-radius:6px; padding:6px; background:#fff; }
figure.chart svg { width:100%; height:auto; display:block; }
pre.diff { background:#f8f8fa; border:1px solid var(--line); border-radius:6px; padding:8px 10px; overflow-x:auto;
           font-size:.82em; line-height:1.35; }
pre.diff .add { background:#e6f4ea; color:#0b5d1e; display:block; }
pre.diff .del { background:#fce8e6; color:#8c1d18; display:block; }
pre.diff .hunk { color:#6b4fbb; display:block; }
pre.diff .file { color:var(--muted); display:block; font-weight:700; }
.mismatch { color:var(--leak); font-weight:700; }
nav ol { columns:2; font-size:.92em; }
@media print { h2 { break-before:page; } .charts { grid-template-columns:1fr 1fr; } }
)";

std::string verdict_badge(const std::string& v)
{
    std::string word = v == "leak" ? "LEAK" : v == "clean" ? "CLEAN" : v == "inconclusive" ? "INCONCLUSIVE" : "ERROR";
    return "<span class=\"verdict " + esc(v) + "\">" + word + "</span>";
}

std::string flagged_list(const run::result& r)
{
    if(!r.stopped_serving.empty())
        return "stopped serving";
    std::string s;
    for(auto& n : r.flagged())
        s += (s.empty() ? "" : ", ") + n;
    return s;
}

// One run's verdict table, as the terminal prints it.
void write_table(std::ostringstream& out, const std::string& label, const heading& h, const run::result& r)
{
    out << "<h3>" << esc(label) << " " << verdict_badge(verdict::to_string(r.verdict));
    if(!flagged_list(r).empty())
        out << " <span class=\"muted\">" << esc(flagged_list(r)) << "</span>";
    out << "</h3>\n<p class=\"muted\">workload " << esc(r.workload) << ": " << r.rounds_run << " rounds, "
        << r.ops_total << " operations";
    if(r.failed_total)
        out << " (" << r.failed_total << " failed)";
    out << "; build " << esc(h.sanitizer.empty() ? "without sanitizer" : h.sanitizer + " sanitizer") << "</p>\n";
    if(r.verdict == verdict::outcome::error)
        out << "<p class=\"mismatch\">" << esc(r.error) << "</p>\n";
    if(!r.stopped_serving.empty())
        out << "<p class=\"mismatch\">" << esc(r.stopped_serving) << "</p>\n";
    if(r.metrics.empty())
        return;
    out << "<table><tr><th>metric</th><th>baseline</th><th>final</th><th>slope</th><th>p</th><th>threshold</th>"
           "<th>reading</th></tr>\n";
    for(auto& m : r.metrics)
    {
        out << "<tr" << (m.flagged ? " class=\"flagged\"" : "") << "><td>" << esc(m.name) << "</td><td class=\"num\">"
            << esc(format_value(m.baseline, m.unit)) << "</td><td class=\"num\">" << esc(format_value(m.final_value, m.unit))
            << "</td><td class=\"num\">" << (m.judged ? esc(format_slope(m.slope_per_op, m.unit)) : "-")
            << "</td><td class=\"num\">" << (m.judged ? esc(format_p(m.p_value)) : "-") << "</td><td class=\"num\">"
            << esc(format_slope(m.threshold, m.unit)) << "</td><td>" << (m.flagged ? "<span class=\"grows\">GROWS</span> " : "")
            << esc(m.reason) << "</td></tr>\n";
    }
    out << "</table>\n";
    for(auto& n : r.notes)
        out << "<p class=\"muted\">note: " << esc(n) << "</p>\n";
    if(auto held = held_note(r))
        out << "<p class=\"muted\">note: " << esc(*held) << "</p>\n";
    for(auto& w : r.warnings)
        out << "<p class=\"muted\">warning: " << esc(w) << "</p>\n";
}

void write_diff(std::ostringstream& out, const file_diff& d)
{
    out << "<h4>" << esc(d.file) << "</h4>\n";
    if(d.diff.empty())
    {
        out << "<p class=\"muted\">the same in the lab and the solution</p>\n";
        return;
    }
    out << "<pre class=\"diff\">";
    std::istringstream in(d.diff);
    for(std::string line; std::getline(in, line);)
    {
        const char* cls = line.rfind("+++", 0) == 0 || line.rfind("---", 0) == 0 ? "file"
                          : line.rfind("@@", 0) == 0                             ? "hunk"
                          : !line.empty() && line[0] == '+'                      ? "add"
                          : !line.empty() && line[0] == '-'                      ? "del"
                                                                                 : nullptr;
        if(cls)
            out << "<span class=\"" << cls << "\">" << esc(line) << "</span>";
        else
            out << esc(line) << '\n';
    }
    out << "</pre>\n";
}

} // namespace

std::string render_html(const std::vector<html_lab>& labs, const std::string& generated)
{
    std::ostringstream out;
    out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<title>leaklab report</title>\n<style>"
        << style << "</style>\n</head>\n<body>\n";
    out << "<h1>leaklab report</h1>\n<p class=\"muted\">" << esc(generated) << "</p>\n";

    // The catch matrix: what this run measured, per lab and variant, against the lab's expectation.
    out << "<h2 id=\"matrix\">Catch matrix, measured</h2>\n<p class=\"muted\">Growth under churn: each variant's verdict "
           "and the metrics it flagged. A row is as expected when the leaky variant is flagged with the lab's metrics "
           "and the fix is clean.</p>\n";
    out << "<table><tr><th>lab</th><th>symptom</th>";
    std::vector<std::string> labels;
    if(!labs.empty())
        for(auto& [lr, h] : labs.front().runs)
            labels.push_back(lr.label);
    for(auto& l : labels)
        out << "<th>" << esc(l) << "</th>";
    out << "<th>as expected</th></tr>\n";
    for(auto& lab : labs)
    {
        out << "<tr><td><a href=\"#lab-" << esc(lab.name) << "\">" << esc(lab.name.substr(0, 2)) << "</a></td><td>"
            << esc(lab.title) << "</td>";
        std::string why;
        for(std::size_t i = 0; i < lab.runs.size(); ++i)
        {
            auto& r = *lab.runs[i].first.result;
            out << "<td>" << verdict_badge(verdict::to_string(r.verdict)) << " <span class=\"muted\">" << esc(flagged_list(r)) << "</span></td>";
            if(i < lab.expected.size() && !lab.expected[i].empty())
                why += (why.empty() ? "" : "; ") + lab.runs[i].first.label + ": " + lab.expected[i];
        }
        out << "<td>" << (why.empty() ? "yes" : "<span class=\"mismatch\">no: " + esc(why) + "</span>") << "</td></tr>\n";
    }
    out << "</table>\n";

    out << "<nav><ol>\n";
    for(auto& lab : labs)
        out << "<li><a href=\"#lab-" << esc(lab.name) << "\">" << esc(lab.name) << "</a></li>\n";
    out << "</ol></nav>\n";

    for(auto& lab : labs)
    {
        out << "<section class=\"lab\" id=\"lab-" << esc(lab.name) << "\">\n<h2>Lab " << esc(lab.name.substr(0, 2)) << ": "
            << esc(lab.title) << "</h2>\n<p class=\"muted\">" << esc(lab.name) << ", preset " << esc(lab.preset) << "</p>\n";
        std::vector<labelled_run> runs;
        for(auto& [lr, h] : lab.runs)
            runs.push_back(lr);
        // Charts first: the picture, then the numbers behind it.
        out << "<div class=\"charts\">\n";
        const heading& h0 = lab.runs.empty() ? heading{} : lab.runs.front().second;
        for(auto& name : chart_metrics(runs))
            out << "<figure class=\"chart\" data-metric=\"" << esc(name) << "\">\n"
                << render_metric_chart(h0, runs, name) << "</figure>\n";
        out << "</div>\n";
        for(auto& [lr, h] : lab.runs)
            write_table(out, lr.label, h, *lr.result);

        out << "<h3>Tool findings</h3>\n";
        bool any = false;
        for(auto& [lr, h] : lab.runs)
        {
            auto& r = *lr.result;
            if(!r.findings.empty())
            {
                // Each finding: its headline, then its stacks' frames in the server's own code.
                any = true;
                out << "<p>" << esc(lr.label) << ":</p><pre class=\"diff\">";
                for(auto& f : r.findings)
                {
                    out << esc(tools::headline(f)) << '\n';
                    for(auto& st : f.stacks)
                        if(auto* own = tools::first_own(st))
                            out << "  " << esc(st.title) << "  " << esc(tools::where(*own)) << '\n';
                }
                out << "</pre>\n";
            }
            else if(!r.tool_reports.empty())
            {
                any = true;
                out << "<p>" << esc(lr.label) << ":</p><pre class=\"diff\">";
                for(auto& line : r.tool_reports)
                    out << esc(line) << '\n';
                out << "</pre>\n";
            }
        }
        if(!any)
        {
            const bool sanitized = !h0.sanitizer.empty();
            out << "<p class=\"muted\">"
                << (sanitized ? "The " + esc(h0.sanitizer) + " sanitizer reported nothing at exit in either run."
                              : std::string("This build has no sanitizer, so no tool ran: build the report with "
                                            "<code>--preset asan</code> to see what the exit-time tools say."))
                << "</p>\n";
        }

        out << "<h3 class=\"fix\">The fix</h3>\n";
        for(auto& d : lab.fix)
            write_diff(out, d);
        out << "</section>\n";
    }
    out << "</body>\n</html>\n";
    return out.str();
}

} // namespace leaklab::report
