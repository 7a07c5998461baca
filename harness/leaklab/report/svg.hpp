// A small, dependency-free SVG line chart for leaklab reports.
#ifndef LEAKLAB_REPORT_SVG_HPP
#define LEAKLAB_REPORT_SVG_HPP

#include <optional>
#include <string>
#include <vector>

namespace leaklab::report
{

// How a series' points are marked. Each series differs from the others in colour,
// dash and marker, so the chart reads without colour (and in greyscale print).
enum class svg_marker { circle, square, triangle, diamond };

// One line on the chart. An empty color picks one from a colour-blind-safe palette
// (Okabe–Ito); an empty dash and no marker pick them by position too.
// Points whose x or y is NaN or infinite are skipped.
struct svg_series
{
    std::string label;
    std::string color;
    std::vector<double> x, y;
    std::string dash = {};                   // stroke-dasharray, "" = by position ("none" = solid)
    std::optional<svg_marker> marker = {};   // by position when unset
};

// A shaded span of the x axis with a label at its top, e.g. the warm-up rounds
// (not judged) or the rounds a backend fault was injected.
struct svg_band
{
    double x0 = 0, x1 = 0;
    std::string label;
    std::string fill = "#f0f0f0";
};

// A sloped reference line: from (x0, y0) rising `slope` per x unit, e.g. the leak
// threshold per operation from the first judged point. It never widens the axes:
// it is clipped to the plot area.
struct svg_reference
{
    double x0 = 0, y0 = 0, slope = 0;
    std::string label;
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
    std::vector<svg_band> bands = {};
    std::optional<svg_reference> reference = {};
};

// A complete standalone SVG document (720x360): title, axes with 4–6 nice
// ticks (1/2/5 x 10^k), light grey gridlines, shaded bands, one polyline with
// markers per non-empty series, the reference line, and a legend. The y axis
// includes 0, and the data area stops short of the x axis so a flat line at 0
// stays visible. All text is XML-escaped. Throws std::invalid_argument if a
// series has x.size() != y.size().
std::string render_svg(const svg_chart& chart);

// Text safe to place in XML or HTML content or a quoted attribute (& < > " ' escaped).
std::string escape_xml(const std::string& s);

} // namespace leaklab::report

#endif
