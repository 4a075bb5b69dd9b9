# colony_add_module(NAME SOURCES <src>... [DEPENDS <targets>...] [PRIVATE_DEPENDS <targets>...])
#
# Makes every module the same way: target colony_NAME, alias colony::NAME, public headers in
# NAME/include/colony/NAME/, private ones beside the sources in NAME/src/. C++20 and warnings come
# from colony_build_options. Each public header is compiled on its own (colony_NAME_headers), so a
# header that forgets an include fails the build.
include_guard(GLOBAL)

function(colony_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS;PRIVATE_DEPENDS" ${ARGN})
  set(target colony_${name})
  set(dir ${CMAKE_CURRENT_SOURCE_DIR})
  if(ARG_SOURCES)
    add_library(${target} STATIC ${ARG_SOURCES})
    target_include_directories(${target} PUBLIC ${dir}/include PRIVATE ${dir}/src)
    target_link_libraries(${target} PUBLIC ${ARG_DEPENDS} colony_build_options
                                    PRIVATE ${ARG_PRIVATE_DEPENDS})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${dir}/include)
    target_link_libraries(${target} INTERFACE ${ARG_DEPENDS} colony_build_options)
  endif()
  add_library(colony::${name} ALIAS ${target})

  # Self-containment check: one translation unit per public header, built with the module.
  file(GLOB_RECURSE headers CONFIGURE_DEPENDS ${dir}/include/colony/${name}/*.hpp)
  set(checks "")
  foreach(header ${headers})
    file(RELATIVE_PATH rel ${dir}/include ${header})
    string(MAKE_C_IDENTIFIER ${rel} stem)
    set(check ${CMAKE_CURRENT_BINARY_DIR}/header_checks/${stem}.cpp)
    if(NOT EXISTS ${check})
      file(WRITE ${check} "#include \"${rel}\"\n")
    endif()
    list(APPEND checks ${check})
  endforeach()
  if(checks)
    add_library(${target}_headers OBJECT ${checks})
    target_link_libraries(${target}_headers PRIVATE ${target})
  endif()
endfunction()

# colony_add_test(MODULE SOURCES <src>... DEPENDS <targets>... [LABELS <labels>...])
# One GoogleTest binary per module: tests/MODULE -> colony_MODULE_tests.
function(colony_add_test module)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS;LABELS" ${ARGN})
  set(target colony_${module}_tests)
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE ${ARG_DEPENDS} GTest::gtest_main colony_build_options)
  set(labels ${ARG_LABELS})
  if(NOT labels)
    set(labels unit)
  endif()
  gtest_discover_tests(${target} PROPERTIES LABELS "${labels}" DISCOVERY_TIMEOUT 60)
endfunction()
