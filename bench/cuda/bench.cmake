# CUDA backend benchmarks (Google Benchmark, manual time from CUDA events); built only when the
# backend library exists.
if(TARGET latte_cuda_backend)
  add_executable(bench_cuda ${CMAKE_CURRENT_LIST_DIR}/bench_cuda.cpp)
  target_link_libraries(bench_cuda PRIVATE latte_cuda_backend latte_build_flags benchmark::benchmark)
endif()
