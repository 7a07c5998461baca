// A small, dependency-free SVG line chart for leaklab reports.
#ifndef LEAKLAB_REPORT_SVG_HPP
#define LEAKLAB_REPORT_SVG_HPP

#include <string>
#include <vector>

namespace leaklab::report
{

// One line on the chart. An empty color picks one from a built-in palette.
// Points whose x or y is NaN or infinite are skipped.
struct svg_series
{
    std::string label;
    std::string color;
    std::vector<double> x, y;
};

// The whole chart. unit == "bytes" labels the y ticks in B/KiB/MiB/GiB;
// any other non-empty unit is appended to the y label and ticks use k/M/G.
struct svg_chart
{
    std::string title;
    std::string x_label;
    std::string y_label;
    std::string unit;
    std::vector<svg_series> series;
    std::string subtitle = {};  // one line under the title ("" = none)
};

// A complete standalone SVG document (720x360): title, axes with 4–6 nice
// ticks (1/2/5 x 10^k), light grey gridlines, one polyline with circle markers
// per non-empty series, and a legend. The y axis includes 0. All text is
// XML-escaped. Throws std::invalid_argument if a series has x.size() != y.size().
std::string render_svg(const svg_chart& chart);

} // namespace leaklab::report

#endif
