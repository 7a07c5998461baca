// leaklab workloads: the kinds of client a workload step can use.
#include "leaklab/cli/common.hpp"

#include "leaklab/workload/workload.hpp"

#include <iomanip>
#include <iostream>

namespace leaklab::cli {

int cmd_workloads(const std::vector<std::string>&)
{
    for(auto& [name, what] : workload::kinds())
        std::cout << std::left << std::setw(18) << name << what << '\n';
    return 0;
}

} // namespace leaklab::cli
