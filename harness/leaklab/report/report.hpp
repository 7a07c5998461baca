// Reports of a run: the terminal table (and progress while it runs), JSON, charts.
#ifndef LEAKLAB_REPORT_REPORT_HPP
#define LEAKLAB_REPORT_REPORT_HPP

#include "leaklab/run/runner.hpp"

#include <boost/json/value.hpp>

#include <filesystem>
#include <iosfwd>
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

// The verdict with its evidence: one row per metric, flagged ones marked.
void print_result(std::ostream& out, const heading& h, const run::result& r, bool color);

// The JSON object of one run (fields: lab, variant, workload, verdict, metrics[],
// rounds[], duration_s, error, warnings, command, server_exit).
boost::json::object to_json(const heading& h, const run::result& r);

// Writes JSON to a file, creating its folder; throws std::runtime_error if it cannot.
void write_json(const std::filesystem::path& file, const boost::json::value& v);

// "1.5 KiB", "12.3 MiB" for bytes; plain numbers otherwise.
std::string format_value(double v, const std::string& unit);

// One SVG chart per metric with both variants over the operations; returns the files.
std::vector<std::filesystem::path> write_compare_charts(const std::filesystem::path& dir, const heading& h,
                                                        const run::result& leaky, const run::result& fixed);

} // namespace leaklab::report

#endif
