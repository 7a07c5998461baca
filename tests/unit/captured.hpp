// Test data captured from this kit's runs (tests/fixtures/...), gzipped or plain.
#ifndef LEAKLAB_TESTS_CAPTURED_HPP
#define LEAKLAB_TESTS_CAPTURED_HPP

#include <catch2/catch.hpp>

#include <zlib.h>

#include <string>

// The whole of tests/fixtures/<dir>/<name>; gzread reads plain files as they are.
inline std::string captured_file(const std::string& dir, const std::string& name)
{
    const std::string path = std::string(LEAKLAB_TEST_ROOT) + "/tests/fixtures/" + dir + "/" + name;
    gzFile in = gzopen(path.c_str(), "rb");
    REQUIRE(in != nullptr);
    std::string text;
    char buf[1 << 16];
    for(int n; (n = gzread(in, buf, sizeof buf)) > 0;)
        text.append(buf, std::size_t(n));
    gzclose(in);
    return text;
}

#endif
