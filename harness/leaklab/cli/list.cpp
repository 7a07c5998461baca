// leaklab list [--json FILE]: the labs, by the service and the symptom a student sees.
#include "leaklab/cli/common.hpp"

#include "leaklab/labs/manifest.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <iostream>

namespace leaklab::cli {

namespace json = boost::json;

int cmd_list(const std::vector<std::string>& args)
{
    common c;
    po::options_description d = common_options(c, opts_base);
    d.add_options()("json", po::value<std::string>(), "write the list as JSON to this file");
    auto vm = parse(args, d, {}, c, "list [--json FILE]");
    auto all = labs::load_all(c.root);
    json::array arr;
    for(auto& m : all)
    {
        std::cout << m.id << "  " << m.slug << "\n      " << m.title << "\n";
        json::object o;
        o["id"] = m.id;
        o["slug"] = m.slug;
        o["title"] = m.title;
        o["section"] = m.section;
        o["style"] = m.style;
        o["workload"] = run::describe_workload(m.plan);
        arr.push_back(std::move(o));
    }
    std::cout << all.size() << " labs\n";
    if(vm.count("json"))
        report::write_json(vm["json"].as<std::string>(), arr);
    return 0;
}

} // namespace leaklab::cli
