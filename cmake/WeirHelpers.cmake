# Small helpers so every target gets the same flags. Model: Abseil's absl_cc_library.

set(WEIR_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wnon-virtual-dtor -Wimplicit-fallthrough)
# GCC 12 at -O3 reports -Wrestrict inside libstdc++ for ordinary std::string concatenation
# (GCC bug 105329, fixed in GCC 13): a false positive that would fail -Werror builds.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND WEIR_WARNINGS -Wno-restrict)
  # At -O1 with sanitizers it also reports -Wmaybe-uninitialized inside libstdc++'s std::regex
  # (the std::function of a compiled pattern's state): another false positive.
  if(NOT WEIR_SANITIZE STREQUAL "")
    list(APPEND WEIR_WARNINGS -Wno-maybe-uninitialized)
  endif()
endif()
if(WEIR_WERROR)
  list(APPEND WEIR_WARNINGS -Werror)
endif()

if(WEIR_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
  add_compile_definitions(WEIR_SANITIZER_BUILD=1)
elseif(WEIR_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  add_compile_definitions(WEIR_SANITIZER_BUILD=1)
elseif(NOT WEIR_SANITIZE STREQUAL "")
  message(FATAL_ERROR "WEIR_SANITIZE must be '', 'address' or 'thread', not '${WEIR_SANITIZE}'")
endif()

# Links the allocator WEIR_MALLOC names into an executable (a test or a program).
function(weir_link_malloc target)
  if(WEIR_MALLOC STREQUAL "mimalloc")
    target_link_libraries(${target} PRIVATE mimalloc)
    target_compile_definitions(${target} PRIVATE WEIR_MALLOC_MIMALLOC=1)
  endif()
endfunction()

# weir_library(NAME SRCS a.cc b.cc DEPS other_lib ...)
# One module of the engine, in src/<module>/. Code reaches a module's headers as
# "<module>/x.h" only if it links the module: the include root of each module holds just a
# link to its own directory. So an include against the layering (a lower module including a
# higher one) fails to compile instead of relying on habit.
function(weir_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  get_filename_component(module ${CMAKE_CURRENT_SOURCE_DIR} NAME)
  set(root ${PROJECT_BINARY_DIR}/module_include/${module})
  file(MAKE_DIRECTORY ${root})
  file(CREATE_LINK ${CMAKE_CURRENT_SOURCE_DIR} ${root}/${module} SYMBOLIC)
  add_library(${name} STATIC ${ARG_SRCS})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/include ${root})
  target_compile_options(${name} PRIVATE ${WEIR_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# weir_test(NAME SRCS a_test.cc DEPS lib ... [LABELS l1 l2] [TIMEOUT seconds]
#           [PROPERTIES name value ...])
# One gtest binary; every test case becomes its own ctest entry, with the given ctest
# properties besides its labels and timeout (say, FIXTURES_REQUIRED).
function(weir_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SRCS;DEPS;LABELS;PROPERTIES" ${ARGN})
  if(NOT WEIR_BUILD_TESTS)
    return()
  endif()
  add_executable(${name} ${ARG_SRCS})
  target_compile_options(${name} PRIVATE ${WEIR_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} weir_testing GTest::gtest GTest::gmock GTest::gtest_main)
  weir_link_malloc(${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  gtest_discover_tests(${name}
    TEST_PREFIX "${name}."
    WORKING_DIRECTORY ${PROJECT_BINARY_DIR}
    DISCOVERY_MODE PRE_TEST
    PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT} ${ARG_PROPERTIES})
endfunction()

# weir_program(NAME SRCS a.cc DEPS lib ...): an executable in the build's bin/ directory.
function(weir_program name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_compile_options(${name} PRIVATE ${WEIR_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  weir_link_malloc(${name})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
endfunction()
