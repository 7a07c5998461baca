#include "leaklab/report/svg.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <limits>
#include <stdexcept>
#include <string>

using namespace leaklab::report;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;

namespace
{

// Non-overlapping occurrences of `needle` in `hay`.
std::size_t count_of(const std::string& hay, const std::string& needle)
{
    std::size_t n = 0;
    for(std::size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + needle.size()))
        ++n;
    return n;
}

// The text lowercased, to search for "nan" and "inf" in any spelling.
std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// Y tick labels are the only right-anchored text in the chart.
std::size_t y_tick_count(const std::string& svg)
{
    return count_of(svg, "text-anchor=\"end\"");
}

// A one-series chart of y against 0, 1, 2, ...
svg_chart chart_of(const std::vector<double>& y, const std::string& unit)
{
    svg_series s{"metric", "", {}, y};
    for(std::size_t i = 0; i < y.size(); ++i)
        s.x.push_back(static_cast<double>(i));
    return {"title", "operations", "value", unit, {s}};
}

} // namespace

TEST_CASE("render_svg produces a complete SVG document", "[svg]")
{
    const std::string svg = render_svg(chart_of({1, 2, 3}, ""));
    CHECK_THAT(svg, StartsWith("<svg"));
    CHECK_THAT(svg, EndsWith("</svg>\n"));
    CHECK_THAT(svg, Contains("width=\"720\"") && Contains("height=\"360\""));
}

TEST_CASE("one polyline per non-empty series, and a legend entry for each", "[svg]")
{
    svg_chart c{"t", "x", "y", "", {}};
    c.series.push_back({"first", "#ff0000", {0, 1, 2}, {1, 2, 3}});
    c.series.push_back({"empty", "", {}, {}});
    c.series.push_back({"second", "", {0, 1, 2}, {3, 2, 1}});
    const std::string svg = render_svg(c);
    CHECK(count_of(svg, "<polyline") == 2);
    CHECK_THAT(svg, Contains("stroke=\"#ff0000\""));
    CHECK_THAT(svg, Contains(">first<") && Contains(">second<") && Contains("empty (no data)"));
    // Markers differ by series: circles for the first (3 points + legend), a square
    // for the empty one's legend, triangles for the third (3 points + legend).
    CHECK(count_of(svg, "<circle") == 3 + 1);
    CHECK(count_of(svg, "<polygon") == 3 + 1);
}

TEST_CASE("each series differs in dash and marker as well as colour", "[svg]")
{
    svg_chart c{"t", "x", "y", "", {}};
    for(const char* label : {"leaky", "fixed", "yours"})
        c.series.push_back({label, "", {0, 1}, {1, 2}});
    const std::string svg = render_svg(c);
    // The first is solid, the second and third dashed differently: readable without colour.
    CHECK(count_of(svg, "stroke-dasharray=\"7 4\"") == 2);   // line and legend swatch
    CHECK(count_of(svg, "stroke-dasharray=\"12 3 3 3\"") == 2);
    // Okabe–Ito colours, not red against green.
    CHECK_THAT(svg, Contains("#D55E00") && Contains("#0072B2") && Contains("#009E73"));
    CHECK_THAT(svg, !Contains("#d62728") && !Contains("#2ca02c"));
}

TEST_CASE("a flat line at zero stays above the x axis", "[svg]")
{
    const std::string svg = render_svg(chart_of({0, 0, 0, 0}, ""));
    // The axis line is at y=306; the data at 0 must be drawn above it, not on it.
    const auto at = svg.find("<polyline");
    REQUIRE(at != std::string::npos);
    const std::string line = svg.substr(at, svg.find("/>", at) - at);
    CHECK_THAT(line, Contains(",298.0"));
    CHECK_THAT(line, !Contains(",306.0"));
}

TEST_CASE("bands are shaded and labelled, the reference line is clipped to the plot", "[svg]")
{
    svg_chart c = chart_of({0, 10, 20, 30, 40}, "");
    c.bands.push_back({0, 1, "warm-up (not judged)", "#eeeeee"});
    c.bands.push_back({2, 3, "backend stall", "#fdeede"});
    c.reference = svg_reference{1, 10, 12, "leak threshold 12/op"};
    const std::string svg = render_svg(c);
    CHECK(count_of(svg, "class=\"band\"") == 2);
    CHECK_THAT(svg, Contains(">warm-up (not judged)<") && Contains(">backend stall<"));
    CHECK_THAT(svg, Contains("class=\"reference\"") && Contains(">leak threshold 12/op<") && Contains(">threshold<"));
    // The threshold leaves the top of the axis (40) at x = 1 + 30/12 = 3.5: it stops there.
    const auto at = svg.find("class=\"reference\"");
    const std::string ref = svg.substr(at, svg.find("/>", at) - at);
    CHECK_THAT(ref, Contains("y2=\"52.0\""));
    // The reference never widens the axes: the y axis still ends at the data's 40.
    CHECK_THAT(svg, Contains(">40<"));
    CHECK_THAT(svg, !Contains(">100<") && !Contains(">500<"));
}

TEST_CASE("a threshold that would leave the plot at once is not drawn, and the legend says so", "[svg]")
{
    // A flat series at zero and a threshold of 1 per x over 0..100: it would leave a 0..1
    // axis right after its start, which reads as a spike in the data.
    svg_chart c = chart_of(std::vector<double>(101, 0.0), "");
    c.reference = svg_reference{1, 0, 1, "leak threshold 1/op"};
    const std::string svg = render_svg(c);
    CHECK_THAT(svg, !Contains("class=\"reference\""));
    CHECK_THAT(svg, Contains(">threshold: off scale<"));
}

TEST_CASE("text is XML-escaped", "[svg]")
{
    svg_chart c{"heap <after> 10 rounds & \"churn\"", "ops & <rounds>", "y'", "", {}};
    c.series.push_back({"a<b&c", "", {0, 1}, {1, 2}});
    const std::string svg = render_svg(c);
    CHECK_THAT(svg, Contains("heap &lt;after&gt; 10 rounds &amp; &quot;churn&quot;"));
    CHECK_THAT(svg, Contains("ops &amp; &lt;rounds&gt;"));
    CHECK_THAT(svg, Contains("a&lt;b&amp;c"));
    CHECK_THAT(svg, !Contains("<after>") && !Contains("a<b"));
}

TEST_CASE("byte ticks for 0..7300 are nice KiB values", "[svg]")
{
    const std::string svg = render_svg(chart_of({0, 3000, 7300}, "bytes"));
    CHECK_THAT(svg, Contains(">2 KiB<") && Contains(">4 KiB<") && Contains(">6 KiB<") && Contains(">8 KiB<"));
    CHECK_THAT(svg, !Contains("7300") && !Contains(" B<"));
    CHECK(y_tick_count(svg) == 5);
}

TEST_CASE("byte ticks switch to MiB and GiB", "[svg]")
{
    CHECK_THAT(render_svg(chart_of({0, 5.0 * 1024 * 1024}, "bytes")), Contains(">5 MiB<"));
    CHECK_THAT(render_svg(chart_of({0, 3.0 * 1024 * 1024 * 1024}, "bytes")), Contains(">3 GiB<"));
    CHECK_THAT(render_svg(chart_of({0, 700}, "bytes")), Contains(">600 B<"));
}

TEST_CASE("plain numbers use k and M suffixes and 4-6 ticks", "[svg]")
{
    const std::string k = render_svg(chart_of({0, 1500}, "count"));
    CHECK_THAT(k, Contains(">0.5k<") && Contains(">1.5k<"));
    CHECK_THAT(k, Contains("value (count)"));
    CHECK_THAT(render_svg(chart_of({0, 2.4e6}, "")), Contains(">2M<"));
    for(double top : {1.0, 7.0, 13.0, 99.0, 101.0, 0.003, 45678.0, 1e9})
    {
        const std::size_t ticks = y_tick_count(render_svg(chart_of({0, top}, "")));
        INFO("top " << top << " gave " << ticks << " ticks");
        CHECK(ticks >= 4);
        CHECK(ticks <= 6);
    }
}

TEST_CASE("the y axis starts at 0 unless data are negative", "[svg]")
{
    CHECK_THAT(render_svg(chart_of({100, 150, 200}, "")), Contains(">0<"));
    const std::string neg = render_svg(chart_of({-30, 10}, ""));
    CHECK_THAT(neg, Contains(">-20<") || Contains(">-30<"));
}

TEST_CASE("degenerate data never produce NaN or infinity", "[svg]")
{
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::vector<svg_chart> charts{
        chart_of({42, 42, 42, 42}, "bytes"),
        chart_of({42}, ""),
        chart_of({0, 0, 0}, ""),
        chart_of({}, "bytes"),
        chart_of({1, nan, 3}, ""),
        {"none", "", "", "", {}},
        {"one point at x=5", "", "", "", {{"p", "", {5}, {-3}}}},
    };
    for(const svg_chart& c : charts)
    {
        const std::string svg = lower(render_svg(c));
        INFO(svg);
        CHECK_THAT(svg, StartsWith("<svg"));
        CHECK_THAT(svg, !Contains("nan") && !Contains("inf"));
    }
}

TEST_CASE("a series with x and y of different sizes is rejected", "[svg]")
{
    svg_chart c{"t", "x", "y", "", {{"bad", "", {1, 2}, {1}}}};
    CHECK_THROWS_AS(render_svg(c), std::invalid_argument);
}
