# leaklab_add_lab([LIBRARIES lib...])
#
# Called from labs/NN-slug/CMakeLists.txt. Reads lab.json beside it for the lab id and
# the files a student edits, and adds two servers:
#   labNN-leaky   the files from labs/NN-slug
#   labNN-fixed   the student files from solutions/NN-slug, the rest from labs/NN-slug
# In a student build (see cmake/student/) it adds labNN-student instead, with the
# student files taken from LEAKLAB_STUDENT_SOURCE.
function(leaklab_add_lab)
  cmake_parse_arguments(arg "" "" "LIBRARIES" ${ARGN})
  set(lab_dir ${CMAKE_CURRENT_SOURCE_DIR})
  get_filename_component(lab_name ${lab_dir} NAME)
  get_filename_component(root ${lab_dir}/../.. ABSOLUTE)

  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${lab_dir}/lab.json)
  file(READ ${lab_dir}/lab.json manifest)
  string(JSON lab_id GET "${manifest}" id)
  string(JSON n_files LENGTH "${manifest}" student_files)
  set(student_files "")
  math(EXPR last "${n_files} - 1")
  foreach(i RANGE ${last})
    string(JSON f GET "${manifest}" student_files ${i})
    list(APPEND student_files ${f})
  endforeach()

  # Every .cpp of the lab is compiled; headers are found through the include path.
  file(GLOB lab_sources RELATIVE ${lab_dir} CONFIGURE_DEPENDS ${lab_dir}/*.cpp)
  file(GLOB lab_files RELATIVE ${lab_dir} CONFIGURE_DEPENDS ${lab_dir}/*.cpp ${lab_dir}/*.hpp ${lab_dir}/*.h)

  if(DEFINED LEAKLAB_STUDENT_SOURCE)
    set(variants student)
    set(dir_student ${LEAKLAB_STUDENT_SOURCE})
  else()
    set(variants leaky fixed)
    set(dir_leaky ${lab_dir})
    set(dir_fixed ${root}/solutions/${lab_name})
    # A student handout has the leaky servers only.
    if(NOT EXISTS ${dir_fixed})
      set(variants leaky)
    endif()
  endif()

  foreach(variant IN LISTS variants)
    set(target lab${lab_id}-${variant})
    set(vdir ${dir_${variant}})
    foreach(f IN LISTS student_files)
      if(NOT EXISTS ${vdir}/${f})
        message(FATAL_ERROR "${target}: ${vdir}/${f} is missing (lab.json lists it in student_files)")
      endif()
    endforeach()
    # The files a student does not edit: from the lab folder for the leaky variant; for
    # the others, copies in a folder of their own, because #include "x.hpp" searches
    # the including file's folder first and would find the lab's (leaky) student files.
    set(shared_dir ${lab_dir})
    if(NOT vdir STREQUAL lab_dir)
      set(shared_dir ${CMAKE_CURRENT_BINARY_DIR}/${variant}-shared)
      foreach(f IN LISTS lab_files)
        if(NOT f IN_LIST student_files)
          configure_file(${lab_dir}/${f} ${shared_dir}/${f} COPYONLY)
        endif()
      endforeach()
    endif()
    set(sources "")
    foreach(src IN LISTS lab_sources)
      if(src IN_LIST student_files)
        list(APPEND sources ${vdir}/${src})
      else()
        list(APPEND sources ${shared_dir}/${src})
      endif()
    endforeach()
    add_executable(${target} ${sources})
    # The variant's own files first, then the files it shares with the lab.
    target_include_directories(${target} PRIVATE ${vdir} ${shared_dir})
    target_link_libraries(${target} PRIVATE labkit ${arg_LIBRARIES})
    leaklab_use_pch(${target})
    set_property(GLOBAL APPEND PROPERTY LEAKLAB_LAB_TARGETS ${target})
  endforeach()

  # The wrong fixes the kit must reject: tests/wrong-fixes/NN-slug/NAME.patch applied to the
  # solution's student files gives labNN-wf-NAME, built beside the leaky and fixed servers.
  if(NOT DEFINED LEAKLAB_STUDENT_SOURCE AND LEAKLAB_WRONG_FIXES)
    file(GLOB patches CONFIGURE_DEPENDS ${root}/tests/wrong-fixes/${lab_name}/*.patch)
    list(SORT patches)
    foreach(patch IN LISTS patches)
      get_filename_component(fix ${patch} NAME_WE)
      set(target lab${lab_id}-wf-${fix})
      set(wf_dir ${CMAKE_CURRENT_BINARY_DIR}/wf-${fix})
      set(outputs "")
      set(originals "")
      foreach(f IN LISTS student_files)
        list(APPEND outputs ${wf_dir}/${f})
        list(APPEND originals ${dir_fixed}/${f})
      endforeach()
      # Strict: no fuzz, so a patch that no longer fits the solution fails the build, loudly.
      add_custom_command(OUTPUT ${outputs}
        COMMAND ${CMAKE_COMMAND} -E rm -rf ${wf_dir}
        COMMAND ${CMAKE_COMMAND} -E make_directory ${wf_dir}
        COMMAND ${CMAKE_COMMAND} -E copy ${originals} ${wf_dir}
        COMMAND ${LEAKLAB_PATCH} --batch --quiet --fuzz=0 --no-backup-if-mismatch -p1 -d ${wf_dir} -i ${patch}
        DEPENDS ${patch} ${originals}
        COMMENT "Applying the wrong fix ${fix} to lab ${lab_id}'s solution"
        VERBATIM)
      set(sources "")
      foreach(src IN LISTS lab_sources)
        if(src IN_LIST student_files)
          list(APPEND sources ${wf_dir}/${src})
        else()
          list(APPEND sources ${CMAKE_CURRENT_BINARY_DIR}/fixed-shared/${src})
        endif()
      endforeach()
      add_executable(${target} ${sources} ${outputs})
      target_include_directories(${target} PRIVATE ${wf_dir} ${CMAKE_CURRENT_BINARY_DIR}/fixed-shared)
      target_link_libraries(${target} PRIVATE labkit ${arg_LIBRARIES})
      # In the debug tree a wrong fix is judged by growth alone: line tables are all its
      # traces need, and -g1 cuts its compile by about 30 % (the tools' trees keep -g).
      target_compile_options(${target} PRIVATE $<$<CONFIG:Debug>:-g1>)
      leaklab_use_pch(${target})
      set_property(GLOBAL APPEND PROPERTY LEAKLAB_LAB_TARGETS ${target})
      set_property(GLOBAL APPEND PROPERTY LEAKLAB_WRONG_FIX_TARGETS ${target})
    endforeach()
  endif()
endfunction()

# Write build/<preset>/leaklab-build.json: how leaklab runs the servers of this tree.
function(leaklab_write_build_info)
  set(emulator "")
  foreach(part IN LISTS CMAKE_CROSSCOMPILING_EMULATOR)
    string(APPEND emulator "\"${part}\",")
  endforeach()
  string(REGEX REPLACE ",$" "" emulator "${emulator}")
  file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/leaklab-build.json CONTENT [[
{
  "source_dir": "@PROJECT_SOURCE_DIR@",
  "binary_dir": "@PROJECT_BINARY_DIR@",
  "bin_dir": "@PROJECT_BINARY_DIR@/bin",
  "system_processor": "@CMAKE_SYSTEM_PROCESSOR@",
  "crosscompiling": "@CMAKE_CROSSCOMPILING@",
  "runner": [@emulator@],
  "sanitizer": "@LEAKLAB_SANITIZER@",
  "allocator": "@LEAKLAB_ALLOCATOR@",
  "build_type": "@CMAKE_BUILD_TYPE@",
  "toolchain_file": "@CMAKE_TOOLCHAIN_FILE@"
}
]] @ONLY)
endfunction()

# Export netcore and labkit, and write leaklab-student.cmake, which a student build
# (cmake/student) includes to find them with the same dependencies.
function(leaklab_export_for_students)
  set(exported leaklab_options netcore labkit)
  if(CMAKE_CROSSCOMPILING)
    list(APPEND exported leaklab_boost_headers)
  endif()
  export(TARGETS ${exported} NAMESPACE leaklab_imported_ FILE ${PROJECT_BINARY_DIR}/leaklab-targets.cmake)
  file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/leaklab-student.cmake CONTENT [[
# Written by the leaklab build in @PROJECT_BINARY_DIR@; included by cmake/student.
find_package(Threads REQUIRED)
if(NOT "@CMAKE_CROSSCOMPILING@")
  find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS headers)
endif()
include(@PROJECT_BINARY_DIR@/leaklab-targets.cmake)
add_library(labkit ALIAS leaklab_imported_labkit)
]] @ONLY)
endfunction()
