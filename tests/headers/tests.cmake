# Every public header compiles on its own: one generated translation unit per header under
# include/latte that includes that header and nothing else, all linked into one executable,
# headers_compile_alone, registered as a test of the same name. A header that leans on an include
# it does not make breaks the build; so does a non-inline definition in a header, at link time,
# once two of the generated units include it. CUDA sources (*.cuh, *.cu) are not C++ headers, and
# a header under backend/cuda/ that includes one or a CUDA toolkit header needs nvcc: both are
# left out. The units are compiled without optimisation: only parsing is under test.

set(latte_headers_root ${PROJECT_SOURCE_DIR}/include)
file(GLOB_RECURSE latte_public_headers CONFIGURE_DEPENDS RELATIVE ${latte_headers_root} ${latte_headers_root}/latte/*.hpp)
list(SORT latte_public_headers)

set(latte_header_units)
foreach(header IN LISTS latte_public_headers)
  if(header MATCHES "^latte/backend/cuda/")
    file(STRINGS ${latte_headers_root}/${header} cuda_includes
         REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]*\\.cuh|cuda[_a-zA-Z0-9]*\\.h|cublas[^>\"]*|cub/[^>\"]*|cute/[^>\"]*|cutlass/[^>\"]*)[>\"]")
    if(cuda_includes)
      continue()
    endif()
  endif()
  string(REGEX REPLACE "[^A-Za-z0-9]" "_" unit_name ${header})
  set(unit ${CMAKE_CURRENT_BINARY_DIR}/headers/${unit_name}.cpp)
  file(CONFIGURE OUTPUT ${unit} CONTENT "#include <${header}>\n" @ONLY)
  list(APPEND latte_header_units ${unit})
endforeach()

set(latte_headers_main ${CMAKE_CURRENT_BINARY_DIR}/headers/main.cpp)
file(CONFIGURE OUTPUT ${latte_headers_main} CONTENT "int main() { return 0; }\n" @ONLY)

add_executable(headers_compile_alone ${latte_headers_main} ${latte_header_units})
target_link_libraries(headers_compile_alone PRIVATE latte::latte latte_build_flags)
target_compile_options(headers_compile_alone PRIVATE -O0 -g0)
add_test(NAME headers_compile_alone COMMAND headers_compile_alone)
set_tests_properties(headers_compile_alone PROPERTIES LABELS headers)
