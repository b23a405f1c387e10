# The CUDA backend: a static library of the kernels and of latte::cuda::backend's member
# definitions (include/latte/backend/cuda/*.cu), so that model code instantiated in ordinary
# C++ translation units runs on the GPU by linking it. Included by the top-level CMakeLists.txt
# under LATTE_CUDA, after enable_language(CUDA) and find_package(CUDAToolkit).

set(latte_cuda_dir ${PROJECT_SOURCE_DIR}/include/latte/backend/cuda)
add_library(latte_cuda_backend STATIC
  ${latte_cuda_dir}/backend.cu
  ${latte_cuda_dir}/flash_attention.cu
  ${latte_cuda_dir}/mla_decode.cu
  ${latte_cuda_dir}/moe.cu)
add_library(latte::cuda ALIAS latte_cuda_backend)
target_include_directories(latte_cuda_backend PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                                     $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
# The kernels use Hopper instructions (TMA, mbarrier transaction counts): sm_90a, whatever default
# architecture enable_language(CUDA) chose (nvcc 13 defaults to sm_75).
set(LATTE_CUDA_BACKEND_ARCHITECTURES 90a CACHE STRING "CUDA architectures of latte_cuda_backend (needs sm_90a)")
set_target_properties(latte_cuda_backend PROPERTIES POSITION_INDEPENDENT_CODE ON CUDA_SEPARABLE_COMPILATION OFF
                                                    CUDA_ARCHITECTURES "${LATTE_CUDA_BACKEND_ARCHITECTURES}")
# C++20 is passed by hand: CMake 3.25 knows no CUDA20 dialect flags for nvcc 13 (so no
# CUDA_STANDARD / PUBLIC compile features; C++ consumers get cxx_std_20 through INTERFACE). Kernels use
# constexpr helpers of core/ in device code; -lineinfo keeps profiles readable.
target_compile_options(latte_cuda_backend PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20 --expt-relaxed-constexpr -lineinfo>
  $<$<AND:$<COMPILE_LANGUAGE:CUDA>,$<BOOL:${LATTE_CUDA_PTXAS_VERBOSE}>>:-Xptxas=-v>)
target_compile_features(latte_cuda_backend INTERFACE cxx_std_20)  # for its C++ consumers only
target_link_libraries(latte_cuda_backend PUBLIC CUDA::cudart CUDA::cublas)

if(LATTE_INSTALL)
  install(TARGETS latte_cuda_backend EXPORT latteCudaTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT latteCudaTargets NAMESPACE latte:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/latte)
endif()
