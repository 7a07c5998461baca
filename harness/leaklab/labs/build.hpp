// Build trees: where a preset's servers are, how to run them (qemu for the Pi
// presets), and building a variant or a student's copy on demand.
#ifndef LEAKLAB_LABS_BUILD_HPP
#define LEAKLAB_LABS_BUILD_HPP

#include "leaklab/labs/manifest.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace leaklab::labs {

struct build_error : std::runtime_error
{
    using std::runtime_error::runtime_error;
};

struct build_tree
{
    std::filesystem::path root;          // the leaklab checkout
    std::filesystem::path dir;           // build/<preset>
    std::string preset;                  // "" when given as a directory
    std::vector<std::string> runner;     // e.g. qemu-aarch64 -L /usr/aarch64-linux-gnu
    std::string sanitizer;
    std::string allocator;               // "" (glibc's) or "tcmalloc" (the gperf preset)
    std::string build_type;
    std::string toolchain_file;
    bool prebuilt = false;               // a deployed kit (scripts/pi-deploy.sh): run what is there, build nothing
    std::filesystem::path source_dir;    // the checkout the tree was configured from (its commands name its files)
};

// The build tree this leaklab came from: the folder above its own executable when that holds
// a leaklab-build.json (a build tree, or a kit deployed to a board), else the tree it was
// built in. What a leaklab uses when neither --preset nor --build-dir says otherwise.
std::filesystem::path own_tree();

// The checkout this leaklab belongs to: $LEAKLAB_ROOT, else its own tree's source_dir.
std::filesystem::path own_root();

// The build tree for a preset or a directory (default: the tree leaklab itself was
// built in). A preset that was never configured is configured now.
build_tree open_build_tree(const std::filesystem::path& root, const std::string& preset,
                           const std::filesystem::path& build_dir, bool quiet, bool no_build = false);

// Builds labNN-<variant> (or the student's copy from `source`) and returns its path.
// Compiler output goes to a log whose tail is in the build_error on failure. With
// no_build, only checks that the binary exists.
// The folder under <tree>/student/ that holds the build of a student's copy of a lab.
std::string student_tree_name(const std::string& lab_id, const std::filesystem::path& source);

std::filesystem::path build_variant(const build_tree& tree, const manifest& lab, const std::string& variant,
                                    const std::optional<std::filesystem::path>& source, bool quiet,
                                    bool no_build = false);

// Brings several variants (labNN-<variant>) up to date in one build, so that they compile
// side by side on every core; build_variant then finds each one built. False when that build
// failed: build_variant, one at a time, then says which variant failed and why. Nothing in
// a deployed kit, or with no_build.
bool build_variants(const build_tree& tree, const std::vector<std::string>& targets, bool quiet, bool no_build = false);

// What every copy is built against (the precompiled header, labkit, Asio and Beast), brought
// up to date in the tree: once before build_copy, which does not (several may run at once).
void build_shared(const build_tree& tree);

// A student's copy built into dir with the tree's own commands for the lab's fixed server,
// src in the place of the solution's folder: the tree's precompiled header, Asio, Beast and
// labkit as they are. Objects go to dir/labNN-student.dir, the binary to dir/bin. Throws
// build_error with the compiler's output when it does not compile, or when the tree cannot
// build this way (not Ninja, no compile_commands.json). traces false: a copy no tool reads the
// stacks of (judged by growth alone) is built without debug information, a second faster.
std::filesystem::path build_copy(const build_tree& tree, const manifest& lab, const std::filesystem::path& src,
                                 const std::filesystem::path& dir, std::chrono::seconds timeout, bool traces = true);

// The command that runs a server binary in this tree (runner prefix + binary).
std::vector<std::string> server_command(const build_tree& tree, const std::filesystem::path& binary);

// Where leaklab keeps logs and charts for a run.
std::filesystem::path runs_dir(const build_tree& tree);

} // namespace leaklab::labs

#endif
