# train_data_parallel's benchmark (bench_train) and its Python peer (peer_train.py, run from the source tree).
if(TARGET ltc_bench_harness)
  add_executable(bench_train bench_train.c)
  target_link_libraries(bench_train PRIVATE ltc_bench_harness)
  target_compile_options(bench_train PRIVATE ${LTC_WARNINGS})
  target_compile_definitions(bench_train PRIVATE LTC_BENCH_PEER_TRAIN_PY="${CMAKE_CURRENT_SOURCE_DIR}/peer_train.py")
endif()
