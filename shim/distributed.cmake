# The data-parallel part of libltc (included by shim/CMakeLists.txt): launcher variables, the local
# launcher, the TCPStore rendezvous and CPU collectives (always), ProcessGroupNCCL (when LibTorch has
# CUDA), nn.DataParallel, and the captured training step (CUDA graphs).
target_sources(ltc PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src/dist.cpp ${CMAKE_CURRENT_SOURCE_DIR}/src/parallel.cpp)

if(LTC_TORCH_HAS_CUDA)
  # ProcessGroupNCCL.hpp includes nccl.h, and its class layout follows that header's version: take the
  # nccl.h shipped beside this LibTorch (the pip wheel's nvidia/nccl) before any other.
  find_path(LTC_NCCL_INCLUDE_DIR nccl.h
    HINTS "${TORCH_INSTALL_PREFIX}/../nvidia/nccl/include"
          "${TORCH_INSTALL_PREFIX}/../../nvidia/nccl/include"
          "$ENV{NCCL_HOME}/include" "$ENV{NCCL_ROOT}/include"
    PATHS /usr/include /usr/local/cuda/include ${CUDAToolkit_INCLUDE_DIRS})
  if(NOT LTC_NCCL_INCLUDE_DIR)
    message(FATAL_ERROR "LibTorch has CUDA but nccl.h was not found (looked beside LibTorch in "
                        "${TORCH_INSTALL_PREFIX}/../nvidia/nccl/include, in NCCL_HOME, /usr/include and the CUDA "
                        "toolkit): install NCCL's headers (e.g. libnccl-dev) or set LTC_NCCL_INCLUDE_DIR")
  endif()
  message(STATUS "ltc: data parallel over NCCL, nccl.h from ${LTC_NCCL_INCLUDE_DIR}")
  target_sources(ltc PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src/dist_nccl.cpp ${CMAKE_CURRENT_SOURCE_DIR}/src/graph.cpp)
  target_include_directories(ltc SYSTEM PRIVATE ${LTC_NCCL_INCLUDE_DIR})
  target_compile_definitions(ltc PRIVATE USE_C10D_NCCL LTC_WITH_DISTRIBUTED)
else()
  message(STATUS "ltc: LibTorch has no CUDA: data parallel on the CPU only")
  target_sources(ltc PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src/dist_nonccl.cpp ${CMAKE_CURRENT_SOURCE_DIR}/src/graph_nocuda.cpp)
endif()

