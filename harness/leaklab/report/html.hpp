// The HTML report: one self-contained file (inline CSS and SVG, no script, no font
// or image from outside), readable offline and on a Pi.
#ifndef LEAKLAB_REPORT_HTML_HPP
#define LEAKLAB_REPORT_HTML_HPP

#include "leaklab/report/report.hpp"

#include <string>
#include <vector>

namespace leaklab::report {

// The fix of one file: a unified diff of the lab's file against the solution's.
struct file_diff
{
    std::string file;
    std::string diff;   // `diff -u` output, "" when the files are the same
};

// One lab in the report: its runs (leaky, fixed), whether each met the lab's
// expectation, and the fix.
struct html_lab
{
    std::string name;           // "01-live-feed-memory-climbs"
    std::string title;
    std::string preset;         // the build the runs came from
    std::vector<std::pair<labelled_run, heading>> runs;
    std::vector<std::string> expected;  // per run: "" when as expected, else why not
    std::vector<file_diff> fix;
};

// The whole document. `generated` is a line saying when and how it was made.
std::string render_html(const std::vector<html_lab>& labs, const std::string& generated);

} // namespace leaklab::report

#endif
