// Telemetry gateway, calibration API: PUT /calibration uploads "sensor=offset",
// GET /reading?sensor=ID serves a reading corrected by the sensor's offset.
#include "calibration.hpp"

#include <labkit/http.hpp>
#include <labkit/server.hpp>

#include <memory>
#include <string>

// The reply to one request.
labkit::response handle(const labkit::request& req, calibration& table)
{
    std::string_view target = req.target();
    if(req.method() == http::verb::put && target == "/calibration")
    {
        if(!table.update(req.body()))
            return labkit::reply(req, http::status::bad_request, "text/plain", "expected sensor=offset\n");
        return labkit::reply(req, http::status::no_content, "text/plain", "");
    }
    if(req.method() == http::verb::get && target.starts_with("/reading?sensor="))
        return labkit::reply(req, http::status::ok, "text/plain",
                             std::to_string(21.5 + table.offset(target.substr(16))) + "\n");
    return labkit::reply(req, http::status::not_found, "text/plain", "no such endpoint\n");
}

int main(int argc, char* argv[])
{
    return labkit::run(argc, argv, [](labkit::lab& lab) {
        auto table = std::make_shared<calibration>();
        labkit::serve_http(lab, [table](const labkit::request& req) { return handle(req, *table); });
    });
}
