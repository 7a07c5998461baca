# Shared part of the Debian multiarch cross toolchains; expects ${triple}.
set(CMAKE_C_COMPILER ${triple}-gcc)
set(CMAKE_CXX_COMPILER ${triple}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${triple})

# Target libraries (libc, zlib) come from the cross sysroot and Debian multiarch.
set(CMAKE_FIND_ROOT_PATH /usr/${triple})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Boost and zlib headers are architecture-independent: search /usr/include last, after
# the cross sysroot, so the target's own libc headers always win.
set(CMAKE_CXX_FLAGS_INIT "-idirafter /usr/include")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-L/usr/lib/${triple}")

# Run target programs (tests, leaklab's servers) under qemu-user with the cross sysroot.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-${CMAKE_SYSTEM_PROCESSOR};-L;/usr/${triple})
if(CMAKE_SYSTEM_PROCESSOR STREQUAL "armv7l")
  set(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm;-L;/usr/${triple})
endif()
