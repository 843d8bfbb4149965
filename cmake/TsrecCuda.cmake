# CUDA kernels (native/src/cuda), compiled when TSREC_WITH_CUDA. cub comes with the toolkit
# (CCCL); cuBLAS is not assumed. The addon links cudart statically, so it loads on machines
# without a driver and reports zero devices there.
if(TSREC_WITH_CUDA)
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  add_library(tsrec_cuda STATIC ${TSREC_CUDA_SOURCES})
  set_target_properties(tsrec_cuda PROPERTIES CUDA_ARCHITECTURES "${TSREC_CUDA_ARCHS}" POSITION_INDEPENDENT_CODE ON
                                              CUDA_SEPARABLE_COMPILATION OFF)
  target_include_directories(tsrec_cuda PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_compile_options(tsrec_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -lineinfo>)
  target_compile_definitions(tsrec_cuda PUBLIC TSREC_WITH_CUDA=1)
  target_link_libraries(tsrec_cuda PUBLIC CUDA::cudart_static)
endif()
message(STATUS "tsrec: CUDA=${TSREC_WITH_CUDA} (option ${TSREC_CUDA}) MARCH=${TSREC_ARCH_FLAGS} MPI=${TSREC_MPI}")
