# Compiler flags shared by every bedlam target. They live on one INTERFACE target that is
# linked PRIVATE, so code that consumes bedlam never inherits them.
add_library(bedlam_options INTERFACE)
add_library(bedlam::options ALIAS bedlam_options)
target_compile_features(bedlam_options INTERFACE cxx_std_20)
target_compile_options(bedlam_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast
  -Wnon-virtual-dtor -Woverloaded-virtual -Wimplicit-fallthrough
  $<$<CXX_COMPILER_ID:GNU>:-Wduplicated-cond -Wduplicated-branches -Wlogical-op>
  $<$<BOOL:${BEDLAM_WERROR}>:-Werror>)
if(BEDLAM_SLOW_CHECKS)
  target_compile_definitions(bedlam_options INTERFACE BEDLAM_SLOW_CHECKS=1)
endif()

# bedlam_add_test(NAME name SOURCES a.cpp ... LIBS lib ... [LABELS l ...])
# Builds one GoogleTest binary and registers each of its cases with CTest.
function(bedlam_add_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main bedlam::options)
  gtest_discover_tests(${T_NAME} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${T_LABELS}")
endfunction()
