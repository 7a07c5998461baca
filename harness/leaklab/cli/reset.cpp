// leaklab reset NN [--source DIR] [--yes]: put the lab's student files back as the kit
// ships them, after a backup of the files it replaces.
//   --source DIR: DIR's student files become copies of labs/NN-slug's.
//   no --source:  labs/NN-slug's own student files come back from git (HEAD).
#include "leaklab/cli/common.hpp"

#include "leaklab/process/child.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

namespace leaklab::cli {

namespace {

std::string read_bytes(const fs::path& file)
{
    std::ifstream in(file, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The file as the kit ships it: from labs/NN-slug, or for the kit's own folder from git.
std::string shipped(const common& c, const labs::manifest& lab, const std::string& file, bool from_git)
{
    if(!from_git)
    {
        if(!fs::exists(lab.dir / file))
            throw std::runtime_error(file + " is missing from " + lab.dir.string());
        return read_bytes(lab.dir / file);
    }
    auto rel = fs::relative(lab.dir / file, c.root).generic_string();
    auto tmp = fs::temp_directory_path() / ("leaklab-reset-" + std::to_string(::getpid()));
    int rc = process::run_command({"git", "-C", c.root.string(), "show", "HEAD:" + rel}, tmp, std::chrono::seconds(30));
    auto text = read_bytes(tmp);
    std::error_code ec;
    fs::remove(tmp, ec);
    if(rc != 0)
        throw std::runtime_error("cannot read the shipped " + rel + " from git in " + c.root.string() +
                                 " (is it a git checkout?); with a copy of your own, use --source DIR");
    return text;
}

std::string timestamp()
{
    auto t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&t));
    return buf;
}

} // namespace

int cmd_reset(const std::vector<std::string>& args)
{
    common c;
    std::string lab_name;
    bool yes = false;
    po::options_description d = common_options(c, opts_base);
    d.add_options()
        ("lab", po::value<std::string>(&lab_name), "the lab")
        ("source", po::value<std::string>(), "your copy of the lab (default: the lab folder in the kit, restored from git)")
        ("yes,y", po::bool_switch(&yes), "do not ask (needed when there is no terminal to ask on)");
    po::positional_options_description pos;
    pos.add("lab", 1);
    auto vm = parse(args, d, pos, c, "reset <lab> [--source DIR] [--yes]");
    if(lab_name.empty())
        throw usage_error("which lab? e.g. `leaklab reset 01 --source ~/lab01`");
    auto lab = labs::find_lab(c.root, lab_name);
    const bool from_git = !vm.count("source");
    fs::path dir = from_git ? lab.dir : fs::absolute(vm["source"].as<std::string>());
    if(!fs::is_directory(dir))
        throw usage_error("--source " + dir.string() + ": no such directory");
    if(!from_git && fs::equivalent(dir, lab.dir))
        throw usage_error("--source is the kit's own lab folder; drop --source to restore it from git");

    // Which files differ from the shipped ones.
    std::vector<std::pair<std::string, std::string>> changed;  // file, shipped text
    for(auto& f : lab.student_files)
    {
        auto text = shipped(c, lab, f, from_git);
        if(!fs::exists(dir / f) || read_bytes(dir / f) != text)
            changed.emplace_back(f, std::move(text));
    }
    if(changed.empty())
    {
        std::cout << "reset: the student files in " << dir.string() << " are already as shipped; nothing to do\n";
        return 0;
    }
    std::string names;
    for(auto& [f, text] : changed)
        names += (names.empty() ? "" : ", ") + f;
    if(!yes)
    {
        if(!::isatty(STDIN_FILENO))
            throw usage_error("reset would overwrite " + names + " in " + dir.string() +
                              "; there is no terminal to ask on, so pass --yes to confirm");
        std::cout << "reset " << names << " in " << dir.string() << " to lab " << lab.id
                  << " as shipped? (a backup is kept) [y/N] " << std::flush;
        std::string answer;
        std::getline(std::cin, answer);
        if(answer != "y" && answer != "Y" && answer != "yes")
        {
            std::cout << "reset: nothing changed\n";
            return 0;
        }
    }

    auto backup = dir / ".leaklab-backup" / timestamp();
    for(int i = 2; fs::exists(backup); ++i)
        backup = dir / ".leaklab-backup" / (timestamp() + "-" + std::to_string(i));
    fs::create_directories(backup);
    for(auto& [f, text] : changed)
    {
        if(fs::exists(dir / f))
        {
            fs::create_directories((backup / f).parent_path());
            fs::copy_file(dir / f, backup / f);
        }
        std::ofstream out(dir / f, std::ios::binary | std::ios::trunc);
        out << text;
        if(!out.flush())
            throw std::runtime_error("cannot write " + (dir / f).string());
    }
    std::cout << "reset: " << names << " restored to lab " << lab.id << " as shipped; your version is in "
              << backup.string() << "/\n";
    return 0;
}

} // namespace leaklab::cli
