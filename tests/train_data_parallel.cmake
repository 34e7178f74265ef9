# train_data_parallel: the data-parallel API on any machine (launcher variables, rendezvous, timeouts,
# CPU collectives, gradient equivalence), its faults with real processes (lost ranks, Ctrl-C), the example
# program run as a user would, and the GPU paths (ddp on cuda:0, dp, CUDA graphs; skipped without a GPU).
# Network: 127.0.0.1 only. Each test bounds its own waits; CTest's TIMEOUT is the backstop.
ltc_add_test(test_train_data_parallel SOURCES test_train_data_parallel.c LABELS cpu)
target_link_libraries(test_train_data_parallel PRIVATE Threads::Threads m)
ltc_add_test(test_train_data_parallel_faults SOURCES test_train_data_parallel_faults.c LABELS cpu)
target_link_libraries(test_train_data_parallel_faults PRIVATE Threads::Threads)
ltc_add_test(test_train_data_parallel_gpu SOURCES test_train_data_parallel_gpu.c LABELS gpu)
target_link_libraries(test_train_data_parallel_gpu PRIVATE Threads::Threads m)
set_tests_properties(test_train_data_parallel test_train_data_parallel_faults test_train_data_parallel_gpu
  PROPERTIES TIMEOUT 120)

if(TARGET train_data_parallel)
  # One driver, built twice: usage, launcher variables, CPU training and faults anywhere; the GPU modes
  # with a GPU.
  ltc_add_test(test_train_data_parallel_cli SOURCES test_train_data_parallel_cli.c LABELS cpu)
  ltc_add_test(test_train_data_parallel_cli_gpu SOURCES test_train_data_parallel_cli.c LABELS gpu)
  foreach(t test_train_data_parallel_cli test_train_data_parallel_cli_gpu)
    target_compile_definitions(${t} PRIVATE TRAIN_DP_EXE="$<TARGET_FILE:train_data_parallel>")
    target_link_libraries(${t} PRIVATE m)
    add_dependencies(${t} train_data_parallel)
    set_tests_properties(${t} PROPERTIES TIMEOUT 180)
  endforeach()
  # torchrun, when the Python beside this LibTorch (a pip wheel's venv) has it: the launcher-hosted store.
  find_program(LTC_TEST_TORCH_PYTHON NAMES python3 python NO_DEFAULT_PATH
               PATHS "${TORCH_INSTALL_PREFIX}/../../../../bin" "${TORCH_INSTALL_PREFIX}/../../../bin")
  if(NOT LTC_TEST_TORCH_PYTHON)
    find_program(LTC_TEST_TORCH_PYTHON NAMES python3)
  endif()
  if(LTC_TEST_TORCH_PYTHON)
    target_compile_definitions(test_train_data_parallel_cli PRIVATE TORCH_PYTHON="${LTC_TEST_TORCH_PYTHON}")
  endif()
  target_compile_definitions(test_train_data_parallel_cli_gpu PRIVATE TRAIN_DP_GPU=1)
endif()
