# CUDA backend tests (tests/cuda/cuda_*.cpp, outside the test_*.cpp glob): built only when the
# backend library exists. Without a GPU they print a skip message and pass.
if(TARGET latte_cuda_backend)
  file(GLOB latte_cuda_test_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/cuda_*.cpp)
  foreach(source IN LISTS latte_cuda_test_sources)
    get_filename_component(stem ${source} NAME_WE)
    add_executable(${stem} ${source})
    target_link_libraries(${stem} PRIVATE latte_catch_main latte_cuda_backend)
    target_compile_definitions(${stem} PRIVATE LATTE_TEST_DATA_DIR="${LATTE_TEST_DATA_DIR}"
                                               LATTE_TEST_BINARY_DIR="${CMAKE_CURRENT_BINARY_DIR}" LATTE_HAS_CUDA=1)
    add_test(NAME ${stem} COMMAND ${stem})
    set_tests_properties(${stem} PROPERTIES LABELS cuda TIMEOUT 600)
  endforeach()
  if(TARGET cuda_model AND TARGET latte-generate)
    add_dependencies(cuda_model latte-generate)
    target_compile_definitions(cuda_model PRIVATE LATTE_GENERATE="$<TARGET_FILE:latte-generate>")
  endif()
endif()
