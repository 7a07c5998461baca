# Boost.Asio and Boost.Beast are header-only; compiling them in every translation unit
# costs about a minute each. Here they are compiled once per build tree (separate
# compilation) into the netcore library, and their headers are precompiled once.
find_package(Threads REQUIRED)
if(CMAKE_CROSSCOMPILING)
  # Debian's Boost headers are architecture-independent but not multiarch-installable;
  # the toolchain file puts /usr/include after the cross sysroot, so use them directly.
  find_path(LEAKLAB_BOOST_INCLUDE boost/version.hpp PATHS /usr/include NO_CMAKE_FIND_ROOT_PATH REQUIRED)
  add_library(leaklab_boost_headers INTERFACE)
  add_library(Boost::headers ALIAS leaklab_boost_headers)
else()
  find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS headers)
endif()

# The same definitions must reach every translation unit that includes Asio, or the
# handler-tracking hooks and the separately compiled symbols disagree.
set(LEAKLAB_NET_DEFINITIONS
    BOOST_ASIO_SEPARATE_COMPILATION
    BOOST_BEAST_SEPARATE_COMPILATION
    BOOST_ASIO_NO_DEPRECATED
    "BOOST_ASIO_CUSTOM_HANDLER_TRACKING=\"labkit/handler_tracking.hpp\"")

# Precompiled headers: built once in this object library, reused by every lab and the harness.
function(leaklab_use_pch target)
  target_precompile_headers(${target} REUSE_FROM leaklab_pch)
endfunction()
