# move_to_cuda's benchmark, its raw LibTorch C++ peer, and what the shared harness records of the source.
find_package(Git QUIET)
set(LTC_BENCH_GIT_COMMIT unknown)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} -C ${PROJECT_SOURCE_DIR} rev-parse --short=12 HEAD
                  OUTPUT_VARIABLE LTC_BENCH_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
if(TARGET ltc_bench_harness)
  target_compile_definitions(ltc_bench_harness PRIVATE
    LTC_BENCH_SOURCE_DIR="${PROJECT_SOURCE_DIR}" LTC_BENCH_GIT_COMMIT="${LTC_BENCH_GIT_COMMIT}")

  # The same move written directly against LibTorch, the peer that the shim must stay within 5% of.
  add_executable(peer_move_cpp peer_move.cpp)
  target_link_libraries(peer_move_cpp PRIVATE ${TORCH_LIBRARIES})
  target_link_options(peer_move_cpp PRIVATE "LINKER:--no-as-needed")  # keep libtorch_cuda.so, as libltc does

  add_executable(bench_transfer bench_transfer.c)
  target_link_libraries(bench_transfer PRIVATE ltc_bench_harness)
  target_compile_options(bench_transfer PRIVATE ${LTC_WARNINGS})
  target_compile_definitions(bench_transfer PRIVATE
    LTC_BENCH_PEER_MOVE_PY="${CMAKE_CURRENT_SOURCE_DIR}/peer_move.py"
    LTC_BENCH_PEER_MOVE_CPP="$<TARGET_FILE:peer_move_cpp>")
  add_dependencies(bench_transfer peer_move_cpp)
endif()
