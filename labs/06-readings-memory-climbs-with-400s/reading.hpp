// A reading as a device uploads it: one flat JSON object of strings and numbers,
//   {"device":"d-17","temp_c":21.5,"seq":3}
// decode_reading() accepts exactly that shape and throws bad_reading for anything else.
#ifndef GATEWAY_READING_HPP
#define GATEWAY_READING_HPP

#include <cctype>
#include <charconv>
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

struct reading
{
    std::string device;
    double temp_c = 0;
    std::string payload;  // the upload as received, for the archive
    std::chrono::system_clock::time_point received;
};

struct bad_reading : std::invalid_argument
{
    using std::invalid_argument::invalid_argument;
};

// Fill r.device and r.temp_c from the JSON text in `in`.
inline void decode_reading(std::string_view in, reading& r)
{
    std::size_t i = 0;
    auto fail_at = [&](const char* what) { throw bad_reading(std::string(what) + " at byte " + std::to_string(i)); };
    auto skip_space = [&] {
        while(i < in.size() && std::isspace(static_cast<unsigned char>(in[i])))
            ++i;
    };
    auto expect = [&](char c) {
        skip_space();
        if(i >= in.size() || in[i] != c)
            fail_at((std::string("expected '") + c + "'").c_str());
        ++i;
    };
    auto text = [&] {
        expect('"');
        auto end = in.find('"', i);
        if(end == std::string_view::npos)
            fail_at("unterminated string");
        auto s = in.substr(i, end - i);
        i = end + 1;
        return s;
    };

    bool has_device = false, has_temp = false;
    expect('{');
    do
    {
        auto key = text();
        expect(':');
        skip_space();
        if(i < in.size() && in[i] == '"')
        {
            auto value = text();
            if(key == "device")
                r.device = value, has_device = true;
            continue;
        }
        double value = 0;
        auto [end, ec] = std::from_chars(in.data() + i, in.data() + in.size(), value);
        if(ec != std::errc())
            fail_at("expected a string or a number");
        i = static_cast<std::size_t>(end - in.data());
        if(key == "temp_c")
            r.temp_c = value, has_temp = true;
    } while(skip_space(), i < in.size() && in[i] == ',' && ++i);
    expect('}');
    skip_space();
    if(i != in.size())
        fail_at("unexpected text after the object");
    if(!has_device || !has_temp)
        throw bad_reading("a reading needs a device and a temp_c");
}

#endif
