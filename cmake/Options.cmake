# leaklab_options: the flags every target in the tree shares (warnings, sanitizers,
# allocator). It is an INTERFACE target so a student build that imports labkit gets
# exactly the same flags as the labs built here.
add_library(leaklab_options INTERFACE)
add_library(leaklab::options ALIAS leaklab_options)

target_compile_options(leaklab_options INTERFACE -Wall -Wextra -Wno-unused-parameter)

if(LEAKLAB_SANITIZER STREQUAL "address")
  # ASan + LSan (on by default with ASan on Linux) + UBSan
  set(san_flags -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
elseif(LEAKLAB_SANITIZER STREQUAL "thread")
  set(san_flags -fsanitize=thread -fno-omit-frame-pointer)
elseif(NOT LEAKLAB_SANITIZER STREQUAL "")
  message(FATAL_ERROR "LEAKLAB_SANITIZER must be '', address or thread (got '${LEAKLAB_SANITIZER}')")
endif()
if(san_flags)
  target_compile_options(leaklab_options INTERFACE ${san_flags})
  target_link_options(leaklab_options INTERFACE ${san_flags})
endif()

if(LEAKLAB_ALLOCATOR STREQUAL "tcmalloc")
  find_library(TCMALLOC_LIBRARY NAMES tcmalloc REQUIRED)
  target_link_libraries(leaklab_options INTERFACE ${TCMALLOC_LIBRARY})
  target_compile_definitions(leaklab_options INTERFACE LEAKLAB_TCMALLOC=1)
elseif(NOT LEAKLAB_ALLOCATOR STREQUAL "")
  message(FATAL_ERROR "LEAKLAB_ALLOCATOR must be '' or tcmalloc (got '${LEAKLAB_ALLOCATOR}')")
endif()
