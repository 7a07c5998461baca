#include "leaklab/labs/build.hpp"

#include "leaklab/process/child.hpp"

#include <boost/algorithm/string/replace.hpp>
#include <boost/json.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <iostream>
#include <optional>
#include <sstream>

namespace leaklab::labs {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string tail(const std::filesystem::path& file, std::size_t max_lines)
{
    std::ifstream in(file);
    std::vector<std::string> lines;
    std::string line;
    while(std::getline(in, line))
        lines.push_back(line);
    std::string out;
    for(std::size_t i = lines.size() > max_lines ? lines.size() - max_lines : 0; i < lines.size(); ++i)
        out += "  " + lines[i] + "\n";
    return out;
}

void run_or_throw(const std::vector<std::string>& argv, const std::filesystem::path& log, const std::string& what,
                  std::chrono::seconds timeout = 1800s)
{
    int rc = process::run_command(argv, log, timeout);
    if(rc != 0)
        throw build_error(what + " failed (" + (rc < 0 ? "timed out" : "exit " + std::to_string(rc)) +
                          "); the end of " + log.string() + ":\n" + tail(log, 40));
}

std::string read_text(const std::filesystem::path& file)
{
    std::ifstream in(file);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

std::filesystem::path own_tree()
{
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if(!ec)
    {
        auto tree = exe.parent_path().parent_path();
        if(std::filesystem::exists(tree / "leaklab-build.json", ec))
            return tree;
    }
    return LEAKLAB_BINARY_DIR;
}

std::filesystem::path own_root()
{
    if(const char* env = std::getenv("LEAKLAB_ROOT"))
        return env;
    boost::system::error_code ec;
    auto v = json::parse(read_text(own_tree() / "leaklab-build.json"), ec);
    if(!ec && v.is_object() && v.as_object().contains("source_dir") && v.as_object().at("source_dir").is_string())
    {
        // "." : a deployed kit is its own checkout.
        std::string dir(v.as_object().at("source_dir").as_string());
        return dir == "." ? own_tree() : std::filesystem::path(dir);
    }
    return LEAKLAB_SOURCE_DIR;
}

build_tree open_build_tree(const std::filesystem::path& root, const std::string& preset,
                           const std::filesystem::path& build_dir, bool quiet, bool no_build)
{
    build_tree t;
    t.root = root;
    t.preset = preset;
    t.dir = !build_dir.empty() ? build_dir : !preset.empty() ? root / "build" / preset : own_tree();
    auto info_file = t.dir / "leaklab-build.json";
    if(!std::filesystem::exists(info_file))
    {
        if(preset.empty() || no_build)
            throw build_error(t.dir.string() + " is not a configured leaklab build tree (no leaklab-build.json); "
                              "configure it with `cmake --preset <name>` or pass --preset");
        if(!quiet)
            std::cerr << "leaklab: configuring preset " << preset << " (first use) ...\n";
        std::filesystem::create_directories(root / "build");
        run_or_throw({"cmake", "-S", root.string(), "--preset", preset}, root / "build" / ("configure-" + preset + ".log"),
                     "configuring preset " + preset);
    }
    boost::system::error_code ec;
    auto v = json::parse(read_text(info_file), ec);
    if(ec || !v.is_object())
        throw build_error(info_file.string() + ": unreadable (" + ec.message() + "); reconfigure the tree");
    auto& o = v.as_object();
    auto str = [&](const char* k) { return o.contains(k) && o.at(k).is_string() ? std::string(o.at(k).as_string()) : std::string(); };
    t.sanitizer = str("sanitizer");
    t.allocator = str("allocator");
    t.build_type = str("build_type");
    t.toolchain_file = str("toolchain_file");
    t.prebuilt = str("prebuilt") == "1";
    t.source_dir = str("source_dir").empty() || str("source_dir") == "." ? root : std::filesystem::path(str("source_dir"));
    if(o.contains("runner") && o.at("runner").is_array())
        for(auto& part : o.at("runner").as_array())
            if(part.is_string())
                t.runner.emplace_back(part.as_string());
    return t;
}

// The contents of a student's files, to tell whether they changed while being built.
static std::size_t content_hash(const std::filesystem::path& dir, const std::vector<std::string>& files)
{
    std::size_t h = 0;
    for(auto& f : files)
    {
        std::ifstream in(dir / f, std::ios::binary);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        h ^= std::hash<std::string>{}(f + '\0' + text) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    }
    return h;
}

std::string student_tree_name(const std::string& lab_id, const std::filesystem::path& source)
{
    auto src = std::filesystem::absolute(source);
    auto key = std::to_string(std::hash<std::string>{}(src.string()) % 1000000007ULL);
    return lab_id + "-" + src.filename().string() + "-" + key;
}

namespace {

// How the tree builds a lab's fixed server, to build a student's copy the same way: each
// source's compile command (compile_commands.json) and the link command (`ninja -t
// commands`), as the build tree ran them.
struct recipe
{
    struct compile
    {
        std::string directory, command, file, output;
    };
    std::vector<compile> compiles;
    std::string link;
};

std::optional<recipe> fixed_recipe(const build_tree& tree, const manifest& lab)
{
    const auto db = tree.dir / "compile_commands.json";
    if(!std::filesystem::exists(db) || !std::filesystem::exists(tree.dir / "build.ninja"))
        return std::nullopt;
    boost::system::error_code ec;
    auto v = json::parse(read_text(db), ec);
    if(ec || !v.is_array())
        return std::nullopt;
    const std::string target = "lab" + lab.id + "-fixed";
    recipe r;
    for(auto& e : v.as_array())
    {
        if(!e.is_object())
            continue;
        auto& o = e.as_object();
        auto str = [&](const char* k) { return o.contains(k) && o.at(k).is_string() ? std::string(o.at(k).as_string()) : std::string(); };
        // The object this command writes: its -o (CMake 3.25 leaves out the "output" field).
        const std::string command = str("command");
        const auto o_at = command.find(" -o ");
        if(o_at == std::string::npos)
            continue;
        const auto start = o_at + 4;
        const std::string output = command.substr(start, command.find(' ', start) - start);
        if(output.find("CMakeFiles/" + target + ".dir/") == std::string::npos)
            continue;
        r.compiles.push_back({str("directory"), command, str("file"), output});
    }
    if(r.compiles.empty())
        return std::nullopt;
    // A work file of its own: copies of one lab may be built at once (leaklab grade --jobs).
    static std::atomic<unsigned> calls{0};
    auto commands = process::capture_command({"ninja", "-C", tree.dir.string(), "-t", "commands", target},
                                             tree.dir / "leaklab-logs" /
                                                 ("commands-" + target + "." + std::to_string(::getpid()) + "." +
                                                  std::to_string(calls++) + ".txt"),
                                             60s);
    if(!commands)
        return std::nullopt;
    std::istringstream in(*commands);
    for(std::string line; std::getline(in, line);)
        if(line.find("-o bin/" + target + " ") != std::string::npos)
            r.link = line;
    if(r.link.empty())
        return std::nullopt;
    return r;
}

// A student's copy built with the fixed server's own commands, the student's folder in the
// place of the solution's: the tree's precompiled header, Asio, Beast and labkit are used as
// they are, so a copy costs its objects and its binary, not a build tree. Objects go to
// dir/labNN-student.dir (where the tampering check looks), the binary to dir/bin.
std::filesystem::path fast_build(const build_tree& tree, const manifest& lab, const recipe& r,
                                 const std::filesystem::path& src, const std::filesystem::path& dir,
                                 std::chrono::seconds timeout = 1800s, bool traces = true)
{
    // The solution's folder as the tree's commands name it (the checkout it was configured from).
    const std::string solution = (tree.source_dir / "solutions" / lab.name()).string();
    const auto objects = dir / ("lab" + lab.id + "-student.dir");
    const auto binary = dir / "bin" / ("lab" + lab.id + "-student");
    std::filesystem::create_directories(objects);
    std::filesystem::create_directories(binary.parent_path());
    std::string link = r.link;
    for(auto& c : r.compiles)
    {
        const auto object = objects / (std::filesystem::path(c.file).filename().string() + ".o");
        std::string cmd = c.command;
        boost::algorithm::replace_all(cmd, c.output, object.string());
        boost::algorithm::replace_all(cmd, solution, src.string());
        // Debug sections compressed: half the object, for a little more time. In a tree of plain
        // builds (growth, tasks, heaptrack) line tables and inlined frames are all a copy's
        // traces need: -g1 keeps both and cuts the compile by a quarter (lab 04: 7.3 s to 5.5 s).
        // A copy judged by growth alone reads no trace: -g0 saves another second. No -g level
        // changes the code GCC generates. The tools' trees keep their full -g.
        cmd += " -gz";
        if(tree.sanitizer.empty() && tree.allocator.empty())
            cmd += traces ? " -g1" : " -g0";
        boost::algorithm::replace_all(link, c.output, object.string());
        run_or_throw({"sh", "-c", "cd " + process::shell_quoted(c.directory) + " && " + cmd}, dir / "build.log",
                     "compiling " + std::filesystem::path(c.file).filename().string() + " of " + src.string(), timeout);
    }
    // Without traces the binary keeps no debug information at all (Asio's and labkit's
    // included): half the binary, and a link a quarter as long; the symbol table stays.
    boost::algorithm::replace_all(link, "-o bin/lab" + lab.id + "-fixed ",
                                  "-o " + binary.string() +
                                      (traces ? " -Wl,--compress-debug-sections=zlib " : " -Wl,--strip-debug "));
    run_or_throw({"sh", "-c", "cd " + process::shell_quoted(tree.dir.string()) + " && " + link}, dir / "link.log",
                 "linking " + src.string(), timeout);
    return binary;
}

} // namespace

bool build_variants(const build_tree& tree, const std::vector<std::string>& targets, bool quiet, bool no_build)
{
    if(no_build || tree.prebuilt || targets.empty())
        return true;
    std::filesystem::create_directories(tree.dir / "leaklab-logs");
    if(!quiet)
        std::cerr << "leaklab: building " << targets.size() << " server" << (targets.size() > 1 ? "s" : "") << " in "
                  << tree.dir.string() << " ...\n";
    std::vector<std::string> argv = {"cmake", "--build", tree.dir.string(), "--target"};
    argv.insert(argv.end(), targets.begin(), targets.end());
    try
    {
        run_or_throw(argv, tree.dir / "leaklab-logs" / "build-variants.log", "building the servers");
        return true;
    }
    catch(const build_error&)
    {
        return false;
    }
}

void build_shared(const build_tree& tree)
{
    run_or_throw({"cmake", "--build", tree.dir.string(), "--target", "leaklab_pch", "labkit"},
                 tree.dir / "leaklab-logs" / "build-labkit.log", "building labkit");
}

std::filesystem::path build_copy(const build_tree& tree, const manifest& lab, const std::filesystem::path& src,
                                 const std::filesystem::path& dir, std::chrono::seconds timeout, bool traces)
{
    auto r = fixed_recipe(tree, lab);
    if(!r)
        throw build_error(tree.dir.string() + " cannot build copies the fast way (it needs the Ninja generator, "
                          "compile_commands.json and the target lab" + lab.id + "-fixed)");
    return fast_build(tree, lab, *r, std::filesystem::absolute(src), dir, timeout, traces);
}

std::filesystem::path build_variant(const build_tree& tree, const manifest& lab, const std::string& variant,
                                    const std::optional<std::filesystem::path>& source, bool quiet, bool no_build)
{
    if(tree.prebuilt && source)
        throw build_error(tree.dir.string() + " is a deployed kit: it runs the servers built with it, and builds "
                          "nothing. Build your copy with the cross preset on the desktop and deploy it (README, "
                          "Raspberry Pi), or build on the board from a checkout");
    if((no_build || tree.prebuilt) && !source)
    {
        auto binary = tree.dir / "bin" / ("lab" + lab.id + "-" + variant);
        if(!std::filesystem::exists(binary))
            throw build_error(binary.string() + " does not exist; build it" +
                              (tree.prebuilt ? " (and deploy it again)" : " (or drop --no-build)"));
        return binary;
    }
    std::filesystem::create_directories(tree.dir / "leaklab-logs");
    if(!source)
    {
        if(variant != "leaky" && !std::filesystem::exists(tree.root / "solutions" / lab.name()))
            throw build_error("this copy of the kit has no solutions (a student handout): it builds the leaky "
                              "servers and your copies (--source DIR), not --variant " + variant);
        std::string target = "lab" + lab.id + "-" + variant;
        if(!quiet)
            std::cerr << "leaklab: building " << target << " in " << tree.dir.string() << " ...\n";
        run_or_throw({"cmake", "--build", tree.dir.string(), "--target", target},
                     tree.dir / "leaklab-logs" / ("build-" + target + ".log"), "building " + target);
        return tree.dir / "bin" / target;
    }

    // A student's copy: its own small build tree, importing labkit from this one.
    auto src = std::filesystem::absolute(*source);
    if(!std::filesystem::is_directory(src))
        throw build_error("--source " + source->string() + ": no such directory");
    for(auto& f : lab.student_files)
        if(!std::filesystem::exists(src / f))
            throw build_error("--source " + src.string() + " has no " + f + " (lab " + lab.id +
                              "'s student files are in lab.json: student_files)");
    auto dir = tree.dir / "student" / student_tree_name(lab.id, src);
    // The fast way: the tree's own commands for the fixed server, pointed at the copy.
    if(auto r = fixed_recipe(tree, lab))
    {
        const auto binary = dir / "bin" / ("lab" + lab.id + "-student");
        const auto stamp = dir / "leaklab-built.hash";
        std::size_t built = 0;
        if(std::ifstream in(stamp); in >> built && built == content_hash(src, lab.student_files) &&
                                    std::filesystem::exists(binary))
            return binary;
        std::filesystem::create_directories(dir);
        std::filesystem::remove(stamp);
        for(int attempt = 0;; ++attempt)
        {
            if(!quiet)
                std::cerr << "leaklab: building " << src.string() << " ...\n";
            const auto before = content_hash(src, lab.student_files);
            build_shared(tree);
            fast_build(tree, lab, *r, src, dir);
            if(content_hash(src, lab.student_files) == before)
            {
                std::ofstream(stamp) << before << '\n';
                return binary;
            }
            if(attempt == 2)
                throw build_error("the files in " + src.string() + " kept changing while they were built; "
                                  "save them, then check again");
        }
    }
    if(!std::filesystem::exists(dir / "CMakeCache.txt"))
    {
        if(!quiet)
            std::cerr << "leaklab: configuring a build of " << src.string() << " in " << dir.string() << " ...\n";
        std::vector<std::string> cmd = {"cmake", "-S", (tree.root / "cmake" / "student").string(), "-B", dir.string(),
                                        "-G", "Ninja", "-DLEAKLAB_MAIN_BUILD=" + tree.dir.string(),
                                        "-DLEAKLAB_LAB_DIR=" + lab.dir.string(),
                                        "-DLEAKLAB_STUDENT_SOURCE=" + src.string(),
                                        "-DCMAKE_BUILD_TYPE=" + tree.build_type};
        if(!tree.toolchain_file.empty())
            cmd.push_back("-DCMAKE_TOOLCHAIN_FILE=" + tree.toolchain_file);
        std::filesystem::create_directories(dir);
        run_or_throw(cmd, dir / "configure.log", "configuring the build of " + src.string());
    }
    if(!quiet)
        std::cerr << "leaklab: building " << src.string() << " ...\n";
    // The binary must always be of the files as they are now. Two ways make a build
    // tool think a stale binary current: a file saved while the compiler runs ends up
    // older than its object, and a file put back with its old time (cp -p, a restored
    // backup) is older too. So the tree keeps the hash of what it last built; when the
    // files differ from it but are no newer than the binary, or change during the build,
    // the student's objects are removed and built again.
    const auto binary = dir / "bin" / ("lab" + lab.id + "-student");
    const auto stamp = dir / "leaklab-built.hash";
    const std::string objects = "/lab" + lab.id + "-student.dir/";
    auto forget_objects = [&] {
        std::error_code ec;
        std::vector<std::filesystem::path> gone;
        for(auto& e : std::filesystem::recursive_directory_iterator(dir, ec))
            if(auto p = e.path().string(); e.is_regular_file() && p.ends_with(".cpp.o") && p.find(objects) != p.npos)
                gone.push_back(e.path());
        for(auto& p : gone)
            std::filesystem::remove(p, ec);
    };
    {
        const auto now = content_hash(src, lab.student_files);
        std::ifstream in(stamp);
        std::size_t built = 0;
        if(in >> built && built != now && std::filesystem::exists(binary))
        {
            bool newer = false;
            for(auto& f : lab.student_files)
                newer = newer || std::filesystem::last_write_time(src / f) > std::filesystem::last_write_time(binary);
            if(!newer)
                forget_objects();
        }
    }
    for(int attempt = 0;; ++attempt)
    {
        const auto before = content_hash(src, lab.student_files);
        run_or_throw({"cmake", "--build", dir.string()}, dir / "build.log", "building " + src.string());
        if(content_hash(src, lab.student_files) == before)
        {
            std::ofstream(stamp) << before << '\n';
            break;
        }
        if(attempt == 2)
            throw build_error("the files in " + src.string() + " kept changing while they were built; "
                              "save them, then check again");
        if(!quiet)
            std::cerr << "leaklab: a file in " << src.string() << " changed during the build: building again ...\n";
        forget_objects();
    }
    return binary;
}

std::vector<std::string> server_command(const build_tree& tree, const std::filesystem::path& binary)
{
    auto cmd = tree.runner;
    cmd.push_back(binary.string());
    return cmd;
}

std::filesystem::path runs_dir(const build_tree& tree)
{
    return tree.dir / "leaklab-runs";
}

} // namespace leaklab::labs
