// Reports of a run: the terminal table (and progress while it runs), JSON, charts.
#ifndef LEAKLAB_REPORT_REPORT_HPP
#define LEAKLAB_REPORT_REPORT_HPP

#include "leaklab/run/runner.hpp"

#include <boost/json/value.hpp>

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace leaklab::report {

// What the report says the run was of.
struct heading
{
    std::string lab;       // "01-live-feed-memory-climbs", or "" for a probe
    std::string title;
    std::string variant;   // "leaky", "fixed", "student", or "" for a probe
    std::string sanitizer; // the build's sanitizer ("address", "thread") or ""
};

// Progress on stderr: a line rewritten in place on a terminal, plain lines otherwise.
class progress
{
public:
    explicit progress(std::string label, bool quiet = false);
    ~progress();
    void operator()(const run::plan& p, const run::round_record& r);
    void done();

private:
    std::string label_;
    bool tty_;
    bool quiet_;
    bool open_line_ = false;
};

// What the server did with the clients left hanging, when the run waited for it:
// "the server let go of all 3600 clients left hanging (stall), 5.0 s after ...".
std::optional<std::string> held_note(const run::result& r);

// The verdict with its evidence: one row per metric, flagged ones marked.
void print_result(std::ostream& out, const heading& h, const run::result& r, bool color);

// The JSON object of one run (fields: lab, variant, workload, verdict, metrics[],
// rounds[], duration_s, error, warnings, command, server_exit).
boost::json::object to_json(const heading& h, const run::result& r);

// Writes JSON to a file, creating its folder; throws std::runtime_error if it cannot.
void write_json(const std::filesystem::path& file, const boost::json::value& v);

// "1.5 KiB", "12.3 MiB" for bytes; plain numbers otherwise.
std::string format_value(double v, const std::string& unit);
// "5.9 KiB/op", "1.25/op".
std::string format_slope(double v, const std::string& unit);
// "<0.0001", "0.03".
std::string format_p(double p);

// One run with the name its line gets on a chart ("leaky", "fixed", "yours").
struct labelled_run
{
    std::string label;
    const run::result* result;
};

// Every metric any of the runs measured, sorted.
std::vector<std::string> chart_metrics(const std::vector<labelled_run>& runs);

// One metric over the operations, a line per run (each its own colour, dash and
// marker), the warm-up and fault rounds shaded, and the leak threshold drawn from
// the first judged point.
std::string render_metric_chart(const heading& h, const std::vector<labelled_run>& runs, const std::string& name);

// One SVG file per metric in dir; returns the files.
std::vector<std::filesystem::path> write_charts(const std::filesystem::path& dir, const heading& h,
                                                const std::vector<labelled_run>& runs);

// One SVG chart per metric with both variants over the operations; returns the files.
std::vector<std::filesystem::path> write_compare_charts(const std::filesystem::path& dir, const heading& h,
                                                        const run::result& leaky, const run::result& fixed);

} // namespace leaklab::report

#endif
