// leaklab autograder-bundle --labs 04 --out autograder.zip: a Gradescope autograder. Its
// setup.sh installs the Debian packages and builds the kit once; its run_autograder grades
// /autograder/submission with `leaklab grade` into /autograder/results/results.json.
#include "leaklab/cli/common.hpp"

#include "leaklab/process/child.hpp"
#include "leaklab/process/platform.hpp"

#include <boost/algorithm/string.hpp>

#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace leaklab::cli {

int cmd_autograder_bundle(const std::vector<std::string>& args)
{
    common c;
    std::string lab_spec, out_file;
    po::options_description d = common_options(c, opts_base);
    d.add_options()
        ("labs", po::value<std::string>(&lab_spec), "the labs it grades: 04, or a list such as 04,05")
        ("out", po::value<std::string>(&out_file), "the zip to write (Gradescope's autograder upload)");
    parse(args, d, {}, c, "autograder-bundle --labs 04[,05] --out autograder.zip");
    if(lab_spec.empty() || out_file.empty())
        throw usage_error("say which labs and where: `leaklab autograder-bundle --labs 04 --out autograder.zip`");
    std::vector<std::string> names, ids;
    boost::split(names, lab_spec, boost::is_any_of(","), boost::token_compress_on);
    for(auto& n : names)
        ids.push_back(labs::find_lab(c.root, n).id);
    const fs::path out = fs::absolute(out_file);

    // The kit as it is under version control, without its own tests, slides and benchmarks
    // (solutions stay: each copy is compiled with the fixed server's commands).
    const auto stage = fs::temp_directory_path() / ("leaklab-bundle-" + std::to_string(::getpid()));
    fs::remove_all(stage);
    fs::create_directories(stage / "leaklab");
    auto listing = process::capture_command({"git", "-C", c.root.string(), "ls-files"}, stage / "files.txt",
                                            std::chrono::seconds(60));
    if(!listing)
        throw std::runtime_error(c.root.string() + " is not a git checkout: the bundle takes the files under version control");
    std::istringstream in(*listing);
    std::size_t files = 0;
    for(std::string f; std::getline(in, f);)
    {
        if(f.empty() || f.rfind("tests/", 0) == 0 || f.rfind("slides/", 0) == 0 || f.rfind(".ci/", 0) == 0 ||
           f == "BENCHMARKS.md")
            continue;
        fs::create_directories((stage / "leaklab" / f).parent_path());
        fs::copy_file(c.root / f, stage / "leaklab" / f, fs::copy_options::overwrite_existing);
        ++files;
    }
    for(const char* script : {"setup.sh", "run_autograder"})
    {
        fs::copy_file(c.root / "scripts" / "autograder" / script, stage / script, fs::copy_options::overwrite_existing);
        fs::permissions(stage / script, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                        fs::perm_options::add);
    }
    {
        std::ofstream labs_txt(stage / "labs.txt");
        labs_txt << boost::join(ids, ",") << '\n';
    }
    fs::create_directories(out.parent_path());
    fs::remove(out);
    const int rc = process::run_command({"sh", "-c", "cd " + process::shell_quoted(stage.string()) + " && zip -q -r " +
                                                         process::shell_quoted(out.string()) +
                                                         " setup.sh run_autograder labs.txt leaklab"},
                                        stage / "zip.log", std::chrono::seconds(300));
    const auto zip_log = process::read_text(stage / "zip.log", 4096);
    fs::remove_all(stage);
    if(rc != 0)
        throw std::runtime_error("zip failed (exit " + std::to_string(rc) + "; Debian: zip): " + zip_log);
    std::cout << "autograder bundle: " << out.string() << " (" << files << " files of the kit, "
              << process::human_bytes(fs::file_size(out)) << "), grading lab" << (ids.size() > 1 ? "s " : " ")
              << boost::join(ids, ", ") << "\n"
              << "Upload it as a Gradescope autograder (Ubuntu or Debian base image). Submissions: the lab's files at the "
                 "top, or labs/NN-slug/<files> for several labs.\n";
    return exit_clean;
}

} // namespace leaklab::cli
