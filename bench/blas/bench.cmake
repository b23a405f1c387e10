# OpenBLAS as the peer of bench_gemm (cblas_sgemm in the same binary), when it is installed.
# Only the benchmark links it; latte itself never does (LATTE_USE_BLAS routes Eigen to a BLAS).
find_library(LATTE_OPENBLAS_LIBRARY NAMES openblas)
find_path(LATTE_OPENBLAS_INCLUDE_DIR NAMES cblas.h PATH_SUFFIXES openblas-pthread openblas-openmp openblas)
if(TARGET bench_gemm AND LATTE_OPENBLAS_LIBRARY AND LATTE_OPENBLAS_INCLUDE_DIR)
  target_compile_definitions(bench_gemm PRIVATE LATTE_BENCH_OPENBLAS)
  target_include_directories(bench_gemm PRIVATE ${LATTE_OPENBLAS_INCLUDE_DIR})
  target_link_libraries(bench_gemm PRIVATE ${LATTE_OPENBLAS_LIBRARY})
  message(STATUS "latte: bench_gemm compares with OpenBLAS (${LATTE_OPENBLAS_LIBRARY})")
else()
  message(STATUS "latte: OpenBLAS not found; bench_gemm runs without its BLAS peer")
endif()
