# Shared part of the Debian cross toolchains; expects ${triple} and ${loader}.
#
# One target runtime for building and for running under qemu-user: the cross
# compilers' sysroot /usr/${triple} (glibc, libstdc++ and the dynamic loader of one
# build), plus the target's zlib that scripts/setup.sh unpacks into the Pi root
# ($LEAKLAB_PI_ROOT, default /opt/leaklab/pi). Debian's multiarch directories
# (/lib/${triple}, /usr/lib/${triple}) are never used, installed or not: their glibc
# is another build, and a loader of one build with a libc of another crashes.
set(CMAKE_C_COMPILER ${triple}-gcc)
set(CMAKE_CXX_COMPILER ${triple}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${triple})

set(LEAKLAB_PI_ROOT "$ENV{LEAKLAB_PI_ROOT}")
if(NOT LEAKLAB_PI_ROOT)
  set(LEAKLAB_PI_ROOT /opt/leaklab/pi)
endif()
set(sysroot /usr/${triple})
set(target_root ${LEAKLAB_PI_ROOT}/${triple})
if(NOT EXISTS ${target_root}/.leaklab-root)
  message(FATAL_ERROR "The Pi target root ${target_root} is missing: run scripts/setup.sh "
                      "(it unpacks the target's zlib there), or set LEAKLAB_PI_ROOT.")
endif()

# Libraries and packages only from the target's roots; headers from them first.
set(CMAKE_FIND_ROOT_PATH ${sysroot} ${target_root})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Boost headers are architecture-independent: search /usr/include last, after the
# target roots, so the target's own libc headers always win.
set(CMAKE_CXX_FLAGS_INIT "-idirafter /usr/include")
# libz.so.1 is found at link time in the target root, not in the multiarch folders.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,${target_root}/lib/${triple}")

# Run target programs (tests, leaklab's servers) under qemu-user: the sysroot's own
# loader, with a library path of the target roots only, searched before anything else,
# and without the host's /etc/ld.so.cache. Left to itself, the loader searches
# /lib/${triple} first, and qemu -L falls back to the host's folder of that name when
# the sysroot has none: once Debian's libc6:arm64/armhf is installed there, the loader
# of one glibc build got the libc of another, and crashed (armhf) or hung (aarch64).
set(qemu qemu-${CMAKE_SYSTEM_PROCESSOR})
if(CMAKE_SYSTEM_PROCESSOR STREQUAL "armv7l")
  set(qemu qemu-arm)
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR
    ${qemu} -L ${sysroot}
    ${sysroot}/lib/${loader} --inhibit-cache
    --library-path ${sysroot}/lib:${target_root}/lib/${triple})
