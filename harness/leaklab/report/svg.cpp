#include "leaklab/report/svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace leaklab::report
{

namespace
{

constexpr double width = 720, height = 360;
constexpr double plot_left = 76, plot_top = 52, plot_right = 540, plot_bottom = 306;
// The data area ends this far above the x axis, so values at the axis minimum stay visible.
constexpr double data_gap = 8;
constexpr double legend_x = 556;
constexpr std::size_t legend_max_chars = 20;
// Okabe & Ito's colour-blind-safe palette: vermillion, blue, bluish green, orange, purple, sky blue.
constexpr const char* palette[] = {"#D55E00", "#0072B2", "#009E73", "#E69F00", "#CC79A7", "#56B4E9"};
// Solid, dashed, dash-dot, long dash: none looks like the reference line's fine dots.
constexpr const char* dashes[] = {"none", "7 4", "12 3 3 3", "16 4"};
constexpr svg_marker markers[] = {svg_marker::circle, svg_marker::square, svg_marker::triangle, svg_marker::diamond};

// A finite data point.
struct point
{
    double x, y;
};

// The extent of the data on one axis.
struct extent
{
    double lo = std::numeric_limits<double>::infinity();
    double hi = -std::numeric_limits<double>::infinity();
    bool empty() const { return lo > hi; }
    void add(double v) { lo = std::min(lo, v), hi = std::max(hi, v); }
};

// An axis: its bounds in data units and its labelled ticks.
struct axis
{
    double lo, hi;
    std::vector<double> ticks;
    std::vector<std::string> labels;
};

// A display unit for tick labels: divide by `scale`, then append `suffix`.
struct display_unit
{
    double scale;
    std::string suffix;
};


// A label cut to at most `max` bytes on a UTF-8 boundary, with an ellipsis if cut.
std::string shorten(const std::string& s, std::size_t max)
{
    if(s.size() <= max)
        return s;
    std::size_t cut = max;
    while(cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
        --cut;
    return s.substr(0, cut) + "\xE2\x80\xA6";
}

// A coordinate with one decimal.
std::string coord(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

// The finite points of a series; throws if x and y differ in length.
std::vector<point> finite_points(const svg_series& s)
{
    if(s.x.size() != s.y.size())
        throw std::invalid_argument("render_svg: series '" + s.label + "' has x and y of different sizes");
    std::vector<point> pts;
    for(std::size_t i = 0; i < s.x.size(); ++i)
        if(std::isfinite(s.x[i]) && std::isfinite(s.y[i]))
            pts.push_back({s.x[i], s.y[i]});
    return pts;
}

// The unit to label ticks in, chosen from the largest magnitude on the axis.
display_unit pick_unit(double lo, double hi, bool bytes)
{
    const double mag = std::max(std::fabs(lo), std::fabs(hi));
    if(bytes)
    {
        if(mag >= 1024.0 * 1024 * 1024)
            return {1024.0 * 1024 * 1024, " GiB"};
        if(mag >= 1024.0 * 1024)
            return {1024.0 * 1024, " MiB"};
        if(mag >= 1024.0)
            return {1024.0, " KiB"};
        return {1, " B"};
    }
    if(mag >= 1e9)
        return {1e9, "G"};
    if(mag >= 1e6)
        return {1e6, "M"};
    if(mag >= 1e3)
        return {1e3, "k"};
    return {1, ""};
}

// Number of ticks a step gives when the axis is widened to multiples of it.
double tick_count(double lo, double hi, double step)
{
    return std::ceil(hi / step - 1e-9) - std::floor(lo / step + 1e-9) + 1;
}

// The 1/2/5 x 10^k step whose tick count is closest to 5 (4–6 when possible).
double nice_step(double lo, double hi)
{
    const int top = static_cast<int>(std::floor(std::log10(hi - lo)));
    double best = 0, best_score = std::numeric_limits<double>::infinity();
    for(int e = top - 2; e <= top + 1; ++e)
    {
        for(double m : {1.0, 2.0, 5.0})
        {
            const double step = m * std::pow(10.0, e);
            const double score = std::fabs(tick_count(lo, hi, step) - 5);
            if(score < best_score)
                best = step, best_score = score;
        }
    }
    return best;
}

// Decimals needed to tell ticks `step` apart, e.g. 0.5 -> 1, 0.05 -> 2, 20 -> 0.
int decimals_for(double step)
{
    const double d = std::ceil(-std::log10(step) - 1e-9);
    return static_cast<int>(std::clamp(d, 0.0, 9.0));
}

// A tick label: the scaled value without trailing zeros, plus its suffix; zero is just "0".
std::string tick_label(double scaled, int decimals, const std::string& suffix)
{
    if(scaled == 0)
        return "0";
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, scaled);
    std::string text = buf;
    if(text.find('.') != std::string::npos)
    {
        text.erase(text.find_last_not_of('0') + 1);
        if(text.back() == '.')
            text.pop_back();
    }
    return text + suffix;
}

// An axis over [lo, hi] with nice ticks in the chosen display unit.
axis make_axis(double lo, double hi, bool bytes)
{
    // Widen an empty span so nothing divides by zero.
    if(!(hi > lo))
    {
        const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.5;
        if(lo != 0)
            lo -= pad;
        hi += pad;
    }
    // Choose ticks in display units so that 7300 bytes gets 0, 2, 4, 6, 8 KiB.
    const display_unit u = pick_unit(lo, hi, bytes);
    const double slo = lo / u.scale, shi = hi / u.scale;
    const double step = nice_step(slo, shi);
    const double first = std::floor(slo / step + 1e-9);
    const int count = static_cast<int>(std::clamp(tick_count(slo, shi, step), 2.0, 100.0));
    const int decimals = decimals_for(step);
    // Ticks at whole multiples of the step; the axis spans exactly the first to the last.
    axis a{first * step * u.scale, (first + count - 1) * step * u.scale, {}, {}};
    for(int k = 0; k < count; ++k)
    {
        const double multiple = first + k;
        a.ticks.push_back(multiple * step * u.scale);
        a.labels.push_back(tick_label(multiple == 0 ? 0.0 : multiple * step, decimals, u.suffix));
    }
    return a;
}

// Maps data coordinates to pixel coordinates inside the plot area.
struct mapper
{
    axis xa, ya;
    double px(double x) const { return plot_left + (x - xa.lo) / (xa.hi - xa.lo) * (plot_right - plot_left); }
    double py(double y) const
    {
        return plot_bottom - data_gap - (y - ya.lo) / (ya.hi - ya.lo) * (plot_bottom - data_gap - plot_top);
    }
};

// The y label with a non-byte unit appended, e.g. "connections (count)".
std::string y_label_text(const svg_chart& c)
{
    if(c.unit.empty() || c.unit == "bytes")
        return c.y_label;
    return c.y_label.empty() ? c.unit : c.y_label + " (" + c.unit + ")";
}

// A series colour: its own, or one from the palette by position.
std::string series_color(const svg_series& s, std::size_t index)
{
    if(!s.color.empty())
        return s.color;
    return palette[index % std::size(palette)];
}

// A series' dash pattern and marker: its own, or by position.
std::string series_dash(const svg_series& s, std::size_t index)
{
    return s.dash.empty() ? dashes[index % std::size(dashes)] : s.dash;
}
svg_marker series_marker(const svg_series& s, std::size_t index)
{
    return s.marker ? *s.marker : markers[index % std::size(markers)];
}

// One marker centred on (x, y).
void write_marker(std::ostringstream& out, svg_marker mk, double x, double y)
{
    constexpr double r = 3;
    switch(mk)
    {
    case svg_marker::circle:
        out << "<circle cx=\"" << coord(x) << "\" cy=\"" << coord(y) << "\" r=\"" << coord(r) << "\"/>\n";
        break;
    case svg_marker::square:
        out << "<rect x=\"" << coord(x - r) << "\" y=\"" << coord(y - r) << "\" width=\"" << coord(2 * r)
            << "\" height=\"" << coord(2 * r) << "\"/>\n";
        break;
    case svg_marker::triangle:
        out << "<polygon points=\"" << coord(x) << ',' << coord(y - r - 1) << ' ' << coord(x - r - 0.5) << ','
            << coord(y + r) << ' ' << coord(x + r + 0.5) << ',' << coord(y + r) << "\"/>\n";
        break;
    case svg_marker::diamond:
        out << "<polygon points=\"" << coord(x) << ',' << coord(y - r - 1) << ' ' << coord(x + r + 1) << ','
            << coord(y) << ' ' << coord(x) << ',' << coord(y + r + 1) << ' ' << coord(x - r - 1) << ','
            << coord(y) << "\"/>\n";
        break;
    }
}

// Document header, white background and title.
void write_header(std::ostringstream& out, const svg_chart& c)
{
    out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
        << "\" viewBox=\"0 0 " << width << ' ' << height
        << "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\">\n";
    out << "<title>" << escape_xml(c.title) << "</title>\n";
    out << "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
    out << "<text x=\"" << coord((plot_left + plot_right) / 2) << "\" y=\"26\" text-anchor=\"middle\""
        << " font-size=\"15\" font-weight=\"bold\" fill=\"#222222\">" << escape_xml(c.title) << "</text>\n";
    if(!c.subtitle.empty())
        out << "<text x=\"" << coord((plot_left + plot_right) / 2) << "\" y=\"40\" text-anchor=\"middle\""
            << " font-size=\"11\" fill=\"#555555\">" << escape_xml(c.subtitle) << "</text>\n";
}

// Gridlines and tick labels for both axes.
void write_grid(std::ostringstream& out, const mapper& m)
{
    out << "<g stroke=\"#e3e3e3\" stroke-width=\"1\">\n";
    for(double t : m.ya.ticks)
        out << "<line x1=\"" << coord(plot_left) << "\" y1=\"" << coord(m.py(t)) << "\" x2=\"" << coord(plot_right)
            << "\" y2=\"" << coord(m.py(t)) << "\"/>\n";
    for(double t : m.xa.ticks)
        out << "<line x1=\"" << coord(m.px(t)) << "\" y1=\"" << coord(plot_top) << "\" x2=\"" << coord(m.px(t))
            << "\" y2=\"" << coord(plot_bottom) << "\"/>\n";
    out << "</g>\n<g fill=\"#555555\">\n";
    for(std::size_t i = 0; i < m.ya.ticks.size(); ++i)
        out << "<text x=\"" << coord(plot_left - 6) << "\" y=\"" << coord(m.py(m.ya.ticks[i]) + 4)
            << "\" text-anchor=\"end\">" << escape_xml(m.ya.labels[i]) << "</text>\n";
    for(std::size_t i = 0; i < m.xa.ticks.size(); ++i)
        out << "<text x=\"" << coord(m.px(m.xa.ticks[i])) << "\" y=\"" << coord(plot_bottom + 16)
            << "\" text-anchor=\"middle\">" << escape_xml(m.xa.labels[i]) << "</text>\n";
    out << "</g>\n";
}

// Axis lines (and a zero line when the y axis spans negative values) plus axis labels.
void write_axes(std::ostringstream& out, const mapper& m, const svg_chart& c)
{
    out << "<g stroke=\"#888888\" stroke-width=\"1\">\n";
    out << "<line x1=\"" << coord(plot_left) << "\" y1=\"" << coord(plot_bottom) << "\" x2=\"" << coord(plot_right)
        << "\" y2=\"" << coord(plot_bottom) << "\"/>\n";
    out << "<line x1=\"" << coord(plot_left) << "\" y1=\"" << coord(plot_top) << "\" x2=\"" << coord(plot_left)
        << "\" y2=\"" << coord(plot_bottom) << "\"/>\n";
    if(m.ya.lo < 0 && m.ya.hi > 0)
        out << "<line x1=\"" << coord(plot_left) << "\" y1=\"" << coord(m.py(0)) << "\" x2=\"" << coord(plot_right)
            << "\" y2=\"" << coord(m.py(0)) << "\"/>\n";
    out << "</g>\n";
    out << "<text x=\"" << coord((plot_left + plot_right) / 2) << "\" y=\"" << coord(height - 12)
        << "\" text-anchor=\"middle\" font-size=\"12\" fill=\"#333333\">" << escape_xml(c.x_label) << "</text>\n";
    const double mid_y = (plot_top + plot_bottom) / 2;
    out << "<text x=\"16\" y=\"" << coord(mid_y) << "\" text-anchor=\"middle\" font-size=\"12\""
        << " fill=\"#333333\" transform=\"rotate(-90 16 " << coord(mid_y) << ")\">" << escape_xml(y_label_text(c))
        << "</text>\n";
}

// Shaded bands behind the data, each with its label at the top.
void write_bands(std::ostringstream& out, const mapper& m, const std::vector<svg_band>& bands)
{
    for(const svg_band& b : bands)
    {
        const double x0 = std::clamp(m.px(std::min(b.x0, b.x1)), plot_left, plot_right);
        const double x1 = std::clamp(m.px(std::max(b.x0, b.x1)), plot_left, plot_right);
        if(!(x1 > x0))
            continue;
        out << "<g class=\"band\">\n<rect x=\"" << coord(x0) << "\" y=\"" << coord(plot_top) << "\" width=\""
            << coord(x1 - x0) << "\" height=\"" << coord(plot_bottom - plot_top) << "\" fill=\"" << escape_xml(b.fill)
            << "\"/>\n";
        if(!b.label.empty())
            out << "<text x=\"" << coord(x0 + 4) << "\" y=\"" << coord(plot_top + 12) << "\" font-size=\"10\""
                << " fill=\"#555555\">" << escape_xml(b.label) << "</text>\n";
        out << "</g>\n";
    }
}

// The reference line, clipped to the plot area, with its label near its end.
// Returns whether it was drawn.
bool write_reference(std::ostringstream& out, const mapper& m, const svg_reference& r)
{
    if(!std::isfinite(r.x0) || !std::isfinite(r.y0) || !std::isfinite(r.slope))
        return false;
    double xa = std::max(r.x0, m.xa.lo), xb = m.xa.hi;
    // Stop where the line leaves the top (or bottom) of the axis.
    if(r.slope > 0)
        xb = std::min(xb, r.x0 + (m.ya.hi - r.y0) / r.slope);
    else if(r.slope < 0)
        xb = std::min(xb, r.x0 + (m.ya.lo - r.y0) / r.slope);
    if(!(xb > xa))
        return false;
    // A line that leaves the plot almost at once (a steep threshold over a flat series
    // at zero) reads as a spike in the data: the legend says it is off the scale instead.
    if(xb - xa < (m.xa.hi - xa) / 3)
        return false;
    auto y_at = [&](double x) { return r.y0 + r.slope * (x - r.x0); };
    out << "<g class=\"reference\">\n<line x1=\"" << coord(m.px(xa)) << "\" y1=\"" << coord(m.py(y_at(xa)))
        << "\" x2=\"" << coord(m.px(xb)) << "\" y2=\"" << coord(m.py(y_at(xb)))
        << "\" stroke=\"#444444\" stroke-width=\"1.2\" stroke-dasharray=\"1 3\"/>\n";
    if(!r.label.empty())
    {
        // The label sits at the line's end, inside the plot, right-aligned when near the right edge.
        const double lx = m.px(xb), ly = m.py(y_at(xb));
        const bool right = lx > plot_right - 150;
        out << "<text x=\"" << coord(right ? lx - 4 : lx + 4) << "\" y=\"" << coord(std::clamp(ly - 6, plot_top + 24, plot_bottom - data_gap - 8))
            << "\" font-size=\"10\" fill=\"#444444\"" << (right ? " style=\"text-anchor:end\"" : "")
            << ">" << escape_xml(r.label) << "</text>\n";
    }
    out << "</g>\n";
    return true;
}

// One series: a polyline through its points and a marker on each.
void write_series(std::ostringstream& out, const mapper& m, const std::vector<point>& pts, const std::string& color,
                  const std::string& dash, svg_marker mk)
{
    if(pts.empty())
        return;
    const std::string col = escape_xml(color);
    out << "<polyline fill=\"none\" stroke=\"" << col << "\" stroke-width=\"2\" stroke-linejoin=\"round\"";
    if(dash != "none")
        out << " stroke-dasharray=\"" << escape_xml(dash) << "\"";
    out << " points=\"";
    for(std::size_t i = 0; i < pts.size(); ++i)
        out << (i ? " " : "") << coord(m.px(pts[i].x)) << ',' << coord(m.py(pts[i].y));
    out << "\"/>\n<g fill=\"" << col << "\">\n";
    for(const point& p : pts)
        write_marker(out, mk, m.px(p.x), m.py(p.y));
    out << "</g>\n";
}

// One legend entry: a swatch in the series' colour, dash and marker, and the (possibly shortened) label.
void write_legend_entry(std::ostringstream& out, std::size_t index, const svg_series& s, const std::string& color,
                        const std::string& dash, svg_marker mk, bool has_data)
{
    const double y = plot_top + 8 + 20 * static_cast<double>(index);
    const std::string col = escape_xml(color);
    out << "<g>\n<title>" << escape_xml(s.label) << "</title>\n";
    out << "<line x1=\"" << coord(legend_x) << "\" y1=\"" << coord(y) << "\" x2=\"" << coord(legend_x + 22)
        << "\" y2=\"" << coord(y) << "\" stroke=\"" << col << "\" stroke-width=\"2\"";
    if(dash != "none")
        out << " stroke-dasharray=\"" << escape_xml(dash) << "\"";
    out << "/>\n<g fill=\"" << col << "\">\n";
    write_marker(out, mk, legend_x + 11, y);
    out << "</g>\n";
    const std::string text = shorten(s.label, legend_max_chars) + (has_data ? "" : " (no data)");
    out << "<text x=\"" << coord(legend_x + 28) << "\" y=\"" << coord(y + 4) << "\" fill=\"#333333\">"
        << escape_xml(text) << "</text>\n</g>\n";
}

// The reference line's legend entry, below the series'.
void write_reference_legend(std::ostringstream& out, std::size_t index, const svg_reference& r, bool drawn)
{
    const double y = plot_top + 8 + 20 * static_cast<double>(index);
    out << "<g>\n<title>" << escape_xml(r.label) << "</title>\n<line x1=\"" << coord(legend_x) << "\" y1=\"" << coord(y)
        << "\" x2=\"" << coord(legend_x + 22) << "\" y2=\"" << coord(y)
        << "\" stroke=\"#444444\" stroke-width=\"1.2\" stroke-dasharray=\"1 3\"/>\n<text x=\"" << coord(legend_x + 28)
        << "\" y=\"" << coord(y + 4) << "\" fill=\"#333333\">" << (drawn ? "threshold" : "threshold: off scale")
        << "</text>\n</g>\n";
}

} // namespace

std::string escape_xml(const std::string& s)
{
    std::string out;
    out.reserve(s.size());
    for(char c : s)
    {
        switch(c)
        {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&apos;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string render_svg(const svg_chart& chart)
{
    // Gather the finite points of every series and their extent.
    std::vector<std::vector<point>> points;
    extent xs, ys;
    for(const svg_series& s : chart.series)
    {
        points.push_back(finite_points(s));
        for(const point& p : points.back())
            xs.add(p.x), ys.add(p.y);
    }
    // Axes: x over the data, y from 0 (or below, for negative data); defaults when empty.
    const bool no_data = xs.empty();
    const axis xa = no_data ? make_axis(0, 1, false) : make_axis(xs.lo, xs.hi, false);
    const axis ya = no_data ? make_axis(0, 1, chart.unit == "bytes")
                            : make_axis(std::min(0.0, ys.lo), std::max(0.0, ys.hi), chart.unit == "bytes");
    const mapper m{xa, ya};
    // Draw back to front: frame, bands, grid, axes, reference, data, legend.
    std::ostringstream out;
    write_header(out, chart);
    write_bands(out, m, chart.bands);
    write_grid(out, m);
    write_axes(out, m, chart);
    const bool reference_drawn = chart.reference && !no_data && write_reference(out, m, *chart.reference);
    for(std::size_t i = 0; i < chart.series.size(); ++i)
        write_series(out, m, points[i], series_color(chart.series[i], i), series_dash(chart.series[i], i),
                     series_marker(chart.series[i], i));
    for(std::size_t i = 0; i < chart.series.size(); ++i)
        write_legend_entry(out, i, chart.series[i], series_color(chart.series[i], i), series_dash(chart.series[i], i),
                           series_marker(chart.series[i], i), !points[i].empty());
    if(chart.reference && !no_data)
        write_reference_legend(out, chart.series.size(), *chart.reference, reference_drawn);
    if(no_data)
        out << "<text x=\"" << coord((plot_left + plot_right) / 2) << "\" y=\"" << coord((plot_top + plot_bottom) / 2)
            << "\" text-anchor=\"middle\" font-size=\"13\" fill=\"#999999\">no data</text>\n";
    out << "</svg>\n";
    return out.str();
}

} // namespace leaklab::report
