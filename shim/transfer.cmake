# Transfers and timing (move_to_cuda): pinned memory, copies between devices, CUDA events, the PCIe link.
# transfer.cpp uses generic ATen/c10 headers only; what needs LibTorch's CUDA headers is split off.
target_sources(ltc PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/transfer.cpp)
if(LTC_TORCH_HAS_CUDA)
  target_sources(ltc PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/transfer_cuda.cpp)
else()
  target_sources(ltc PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/transfer_nocuda.cpp)
endif()
