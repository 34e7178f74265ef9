# train_data_parallel's benchmark (bench_train), its Python peer (peer_train.py, run from the source tree)
# and its raw LibTorch C++ peer (peer_train_cpp), the one the shim must stay within 5% of.
if(TARGET ltc_bench_harness)
  add_executable(peer_train_cpp peer_train.cpp)
  target_link_libraries(peer_train_cpp PRIVATE ${TORCH_LIBRARIES})
  target_link_options(peer_train_cpp PRIVATE "LINKER:--no-as-needed")  # keep libtorch_cuda.so, as libltc does
  target_compile_definitions(peer_train_cpp PRIVATE LTC_PEER_HAS_CUDA=$<BOOL:${LTC_TORCH_HAS_CUDA}>)

  add_executable(bench_train bench_train.c)
  target_link_libraries(bench_train PRIVATE ltc_bench_harness)
  target_compile_options(bench_train PRIVATE ${LTC_WARNINGS})
  target_compile_definitions(bench_train PRIVATE LTC_BENCH_PEER_TRAIN_PY="${CMAKE_CURRENT_SOURCE_DIR}/peer_train.py"
                                                 LTC_BENCH_PEER_TRAIN_CPP="$<TARGET_FILE:peer_train_cpp>")
  add_dependencies(bench_train peer_train_cpp)
endif()
