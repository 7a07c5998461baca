#include "leaklab/grade/grade.hpp"

#include <algorithm>
#include <csignal>
#include <iomanip>
#include <cstdio>
#include <set>
#include <sstream>

namespace leaklab::grade {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::string str(const json::object& o, const char* key)
{
    auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// At most n characters, cut at a line when it can be.
std::string capped(const std::string& text, std::size_t n)
{
    if(text.size() <= n)
        return text;
    auto cut = text.rfind('\n', n);
    return text.substr(0, cut == std::string::npos || cut < n / 2 ? n : cut) + "\n[... cut: " +
           std::to_string(text.size()) + " characters in all]";
}

// The last n lines.
std::string last_lines(const std::string& text, std::size_t n)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for(std::string line; std::getline(in, line);)
        lines.push_back(line);
    std::string out;
    for(std::size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
        out += lines[i] + (i + 1 < lines.size() ? "\n" : "");
    return out;
}

std::string number(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

std::string xml_escaped(const std::string& s)
{
    std::string out;
    for(unsigned char ch : s)
        switch(ch)
        {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        default:
            // Control characters other than tab and newline are not allowed in XML 1.0.
            if(ch < 0x20 && ch != '\n' && ch != '\t')
                out += ' ';
            else
                out += static_cast<char>(ch);
        }
    return out;
}

std::string csv_field(const std::string& s)
{
    if(s.find_first_of(",\"\n") == std::string::npos)
        return s;
    std::string out = "\"";
    for(char ch : s)
        out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return out + "\"";
}

// Why a run ended in an error, in the words of the sandbox's limits where one was hit.
std::string crash_reason(const json::object& r, const std::string& summary)
{
    const std::string exit = str(r, "server_exit"), stderr_tail = str(r, "stderr_tail");
    if(exit.find("signal " + std::to_string(SIGXFSZ)) != std::string::npos ||
       summary.find("signal " + std::to_string(SIGXFSZ)) != std::string::npos)
        return "the server wrote more output than the sandbox allows per file (64 MiB) and was stopped: " + summary;
    if(stderr_tail.find("bad_alloc") != std::string::npos || stderr_tail.find("out of memory") != std::string::npos)
        return "the server ran out of memory (the sandbox allows 2 GiB of address space): " + summary;
    return summary;
}

} // namespace

std::vector<student> find_students(const fs::path& root, const std::vector<labs::manifest>& labs)
{
    std::vector<student> out;
    std::error_code ec;
    for(auto& e : fs::directory_iterator(root, ec))
    {
        const auto name = e.path().filename().string();
        if(name.empty() || name[0] == '.' || !e.is_directory())
            continue;
        student s{name, e.path(), {}, {}};
        std::set<fs::path> used;
        for(auto& lab : labs)
        {
            // labs/NN-anything: the number is the contract, the slug may differ.
            for(auto& d : fs::directory_iterator(e.path() / "labs", ec))
                if(d.is_directory() && d.path().filename().string().rfind(lab.id + "-", 0) == 0)
                {
                    s.labs[lab.id] = d.path();
                    for(auto& f : lab.student_files)
                        used.insert(d.path() / f);
                }
        }
        for(auto it = fs::recursive_directory_iterator(e.path(), ec); it != fs::recursive_directory_iterator();
            it.increment(ec))
        {
            if(ec)
                break;
            if(it->is_regular_file() && !used.count(it->path()) && s.ignored.size() < 50)
                s.ignored.push_back(fs::relative(it->path(), e.path()).string());
        }
        out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return out;
}

check score(const attempt& a, const std::string& student, const labs::manifest& lab, const std::string& mode,
            double max_score)
{
    check c;
    c.student = student;
    c.lab_id = lab.id;
    c.lab_title = lab.title;
    c.name = "lab " + lab.id + " (" + mode + "): " + lab.title;
    c.max_score = max_score;
    c.build_s = a.build_s;
    c.run_s = a.run_s;
    auto fail = [&](std::string verdict, std::string reason, std::string output) {
        c.verdict = std::move(verdict);
        c.reason = std::move(reason);
        c.output = c.reason + (output.empty() ? "" : "\n\n" + capped(output, 4000));
        return c;
    };
    if(!a.missing.empty())
    {
        std::string files;
        for(auto& f : a.missing)
            files += (files.empty() ? "" : ", ") + f;
        return fail("missing", "not submitted: labs/" + lab.name() + "/ with " + files + " was not found", "");
    }
    if(a.build_error)
        return fail("build", "does not compile", *a.build_error);
    if(!a.ran)
        return fail("error", "not run", a.log_tail);
    if(!a.exit)
        return fail("timeout",
                    "the check did not finish within " + number(a.timeout_s) +
                        " s (a server that hangs, or answers too slowly); it was stopped with everything it started",
                    last_lines(a.log_tail, 15));
    if(a.forks_refused > 0)
        return fail("forks",
                    "the server tried to start more than " + std::to_string(a.process_limit) +
                        " processes and threads (the sandbox refused " + std::to_string(a.forks_refused) + " of them)",
                    last_lines(a.log_tail, 15));
    if(!a.result)
        return fail("error",
                    "the check ended without a result (" + a.exit->describe() + ")" +
                        (a.log_tail.empty() ? "" : ": " + last_lines(a.log_tail, 1)),
                    last_lines(a.log_tail, 15));

    const auto& r = *a.result;
    c.verdict = str(r, "verdict");
    const std::string summary = str(r, "summary");
    c.passed = c.verdict == "clean";
    c.reason = c.verdict == "error" ? crash_reason(r, summary) : summary;
    c.score = c.passed ? max_score : 0;

    // The evidence: the verdict, what grew, what broke, what the server said last.
    std::ostringstream out;
    out << c.reason << '\n';
    if(auto* metrics = r.if_contains("metrics"); metrics && metrics->is_array())
        for(auto& m : metrics->as_array())
            if(m.is_object() && m.as_object().if_contains("flagged") && m.at("flagged").as_bool())
                out << "  grows: " << str(m.as_object(), "name") << ": " << str(m.as_object(), "reason") << '\n';
    for(const char* list : {"breaches", "over_limits", "warnings"})
        if(auto* v = r.if_contains(list); v && v->is_array())
            for(std::size_t i = 0; i < v->as_array().size() && i < 3; ++i)
            {
                auto& e = v->as_array()[i];
                out << "  " << (std::string(list) == "warnings" ? "warning" : "contract") << ": "
                    << (e.is_string()   ? std::string(e.as_string())
                        : e.is_object() ? str(e.as_object(), "clause") + " " + str(e.as_object(), "when") + ": " +
                                              str(e.as_object(), "first")
                                        : json::serialize(e))
                    << '\n';
            }
    if(!c.passed && !str(r, "stderr_tail").empty())
        out << "the server's last lines on stderr:\n" << last_lines(str(r, "stderr_tail"), 5) << '\n';
    c.output = capped(out.str(), 4000);

    // Each metric's series, for charts.
    if(auto* rounds = r.if_contains("rounds"); rounds && rounds->is_array())
        for(auto& round : rounds->as_array())
            if(auto* values = round.as_object().if_contains("values"); values && values->is_object())
                for(auto& [name, v] : values->as_object())
                {
                    auto& m = c.metrics[name];
                    if(!m.is_object())
                        m = json::object{{"values", json::array{}}};
                    m.as_object()["values"].as_array().push_back(v);
                }
    if(auto* metrics = r.if_contains("metrics"); metrics && metrics->is_array())
        for(auto& m : metrics->as_array())
            if(auto* name = m.as_object().if_contains("name"); name && c.metrics.contains(name->as_string()))
                c.metrics[name->as_string()].as_object()["flagged"] = m.at("flagged");
    return c;
}

check gated(check c, const check& needed)
{
    c.passed = false;
    c.score = 0;
    c.verdict = "gated";
    c.reason = "the lab's " + needed.name.substr(0, needed.name.find(':')) + " check did not pass: " + needed.reason;
    c.output = c.reason + "\n\n" + c.output;
    return c;
}

json::array to_json(const std::vector<check>& checks)
{
    json::array out;
    for(auto& c : checks)
        out.push_back(json::object{{"student", c.student},   {"lab", c.lab_id},       {"name", c.name},
                                   {"score", c.score},       {"max_score", c.max_score}, {"passed", c.passed},
                                   {"verdict", c.verdict},   {"reason", c.reason},    {"output", c.output},
                                   {"build_s", c.build_s},   {"run_s", c.run_s},      {"metrics", c.metrics},
                                   {"beside_others", c.beside_others.empty() ? json::value(nullptr) : json::value(c.beside_others)}});
    return out;
}

json::object gradescope(const std::vector<check>& checks)
{
    json::array tests;
    double total = 0;
    for(auto& c : checks)
    {
        total += c.score;
        tests.push_back(json::object{{"name", c.name},
                                     {"score", c.score},
                                     {"max_score", c.max_score},
                                     {"status", c.passed ? "passed" : "failed"},
                                     {"output", c.output},
                                     {"visibility", "visible"},
                                     {"extra_data", json::object{{"verdict", c.verdict}, {"metrics", c.metrics}}}});
    }
    return json::object{{"score", total}, {"tests", std::move(tests)}};
}

json::object classroom(const std::vector<check>& checks)
{
    json::array tests;
    double max_score = 0;
    bool all_passed = true;
    for(auto& c : checks)
    {
        max_score += c.max_score;
        all_passed = all_passed && c.passed;
        std::ostringstream seconds;
        seconds << std::fixed << std::setprecision(1) << c.build_s + c.run_s << "s";
        tests.push_back(json::object{{"name", c.name},
                                     {"status", c.passed ? "pass" : "fail"},
                                     {"score", c.score},
                                     {"message", c.passed ? c.reason : c.reason + "\n" + c.output},
                                     {"test_code", "leaklab check " + c.lab_id},
                                     {"filename", ""},
                                     {"line_no", 0},
                                     {"execution_time", seconds.str()}});
    }
    return json::object{{"version", 1},
                        {"status", all_passed ? "pass" : "fail"},
                        {"max_score", max_score},
                        {"tests", std::move(tests)}};
}

std::string junit(const std::vector<check>& checks)
{
    std::map<std::string, std::vector<const check*>> by_student;
    for(auto& c : checks)
        by_student[c.student].push_back(&c);
    std::ostringstream out;
    std::size_t failures = 0;
    for(auto& c : checks)
        failures += !c.passed;
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"leaklab\" tests=\"" << checks.size()
        << "\" failures=\"" << failures << "\">\n";
    for(auto& [student, list] : by_student)
    {
        std::size_t failed = 0;
        double seconds = 0;
        for(auto* c : list)
        {
            failed += !c->passed;
            seconds += c->build_s + c->run_s;
        }
        out << "  <testsuite name=\"" << xml_escaped(student) << "\" tests=\"" << list.size() << "\" failures=\"" << failed
            << "\" time=\"" << number(seconds) << "\">\n";
        for(auto* c : list)
        {
            out << "    <testcase classname=\"" << xml_escaped(student) << "\" name=\"" << xml_escaped(c->name)
                << "\" time=\"" << number(c->build_s + c->run_s) << "\">\n";
            if(!c->passed)
                out << "      <failure message=\"" << xml_escaped(c->reason) << "\" type=\"" << xml_escaped(c->verdict)
                    << "\">" << xml_escaped(c->output) << "</failure>\n";
            out << "      <system-out>" << xml_escaped("score " + number(c->score) + " of " + number(c->max_score))
                << "</system-out>\n    </testcase>\n";
        }
        out << "  </testsuite>\n";
    }
    out << "</testsuites>\n";
    return out.str();
}

std::string csv(const std::vector<check>& checks)
{
    std::set<std::string> lab_ids;
    std::map<std::string, std::map<std::string, double>> scores;
    std::map<std::string, double> max_of;
    for(auto& c : checks)
    {
        lab_ids.insert(c.lab_id);
        scores[c.student][c.lab_id] += c.score;
        max_of[c.lab_id] += 0;
    }
    // A lab's maximum: what one student's checks of it are worth.
    for(auto& id : lab_ids)
    {
        std::map<std::string, double> per_student;
        for(auto& c : checks)
            if(c.lab_id == id)
                per_student[c.student] += c.max_score;
        max_of[id] = per_student.empty() ? 0 : per_student.begin()->second;
    }
    std::ostringstream out;
    out << "student";
    for(auto& id : lab_ids)
        out << ",lab " << id;
    out << ",total,max\n";
    double max_total = 0;
    for(auto& id : lab_ids)
        max_total += max_of[id];
    for(auto& [student, per_lab] : scores)
    {
        double total = 0;
        out << csv_field(student);
        for(auto& id : lab_ids)
        {
            out << ',' << number(per_lab[id]);
            total += per_lab[id];
        }
        out << ',' << number(total) << ',' << number(max_total) << '\n';
    }
    return out.str();
}

std::string html(const std::vector<check>& checks, const std::vector<std::string>& notes)
{
    std::set<std::string> lab_ids;
    std::map<std::string, std::vector<const check*>> by_student;
    for(auto& c : checks)
    {
        lab_ids.insert(c.lab_id);
        by_student[c.student].push_back(&c);
    }
    std::ostringstream out;
    out << "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>leaklab grades</title>\n<style>"
           "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
           "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
           ".pass{background:#e3f5e1}.fail{background:#fbe3e1}pre{white-space:pre-wrap;margin:.3em 0;font-size:12px}"
           "svg{vertical-align:middle}</style></head><body>\n<h1>leaklab grades</h1>\n";
    for(auto& n : notes)
        out << "<p>" << xml_escaped(n) << "</p>\n";
    out << "<table><tr><th>student</th>";
    for(auto& id : lab_ids)
        out << "<th>lab " << xml_escaped(id) << "</th>";
    out << "<th>total</th></tr>\n";
    for(auto& [student, list] : by_student)
    {
        double total = 0, max_total = 0;
        out << "<tr><td><a href=\"#" << xml_escaped(student) << "\">" << xml_escaped(student) << "</a></td>";
        for(auto& id : lab_ids)
        {
            double s = 0, m = 0;
            std::string why;
            bool all = true;
            for(auto* c : list)
                if(c->lab_id == id)
                {
                    s += c->score;
                    m += c->max_score;
                    all = all && c->passed;
                    if(!c->passed && why.empty())
                        why = c->reason;
                }
            total += s;
            max_total += m;
            out << "<td class=\"" << (all ? "pass" : "fail") << "\" title=\"" << xml_escaped(why) << "\">" << number(s)
                << " / " << number(m) << "</td>";
        }
        out << "<td>" << number(total) << " / " << number(max_total) << "</td></tr>\n";
    }
    out << "</table>\n";
    for(auto& [student, list] : by_student)
    {
        out << "<h2 id=\"" << xml_escaped(student) << "\">" << xml_escaped(student) << "</h2>\n";
        for(auto* c : list)
        {
            out << "<details class=\"" << (c->passed ? "pass" : "fail") << "\"><summary>" << xml_escaped(c->name) << ": "
                << number(c->score) << " / " << number(c->max_score) << " (" << xml_escaped(c->verdict) << ")</summary>\n<pre>"
                << xml_escaped(c->output) << "</pre>\n";
            // A small line per metric: its samples, round by round.
            for(auto& [name, m] : c->metrics)
            {
                auto& values = m.as_object().at("values").as_array();
                if(values.size() < 2)
                    continue;
                double lo = 1e300, hi = -1e300;
                for(auto& v : values)
                {
                    const double x = v.to_number<double>();
                    lo = std::min(lo, x);
                    hi = std::max(hi, x);
                }
                std::string points;
                for(std::size_t i = 0; i < values.size(); ++i)
                {
                    const double x = 4 + 152.0 * double(i) / double(values.size() - 1);
                    const double y = hi > lo ? 26 - 22 * (values[i].to_number<double>() - lo) / (hi - lo) : 15;
                    points += number(x) + "," + number(y) + " ";
                }
                const bool flagged = m.as_object().if_contains("flagged") && m.at("flagged").as_bool();
                out << "<div><svg width=\"160\" height=\"30\"><polyline fill=\"none\" stroke=\""
                    << (flagged ? "#c0392b" : "#2c7be5") << "\" stroke-width=\"1.5\" points=\"" << points
                    << "\"/></svg> " << xml_escaped(name) << ": " << number(lo) << " to " << number(hi) << "</div>\n";
            }
            out << "</details>\n";
        }
    }
    out << "</body></html>\n";
    return out.str();
}

} // namespace leaklab::grade
