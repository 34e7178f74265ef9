# train_data_parallel: the data-parallel API on any machine (launcher variables, rendezvous, timeouts,
# CPU collectives, gradient equivalence), its faults with real processes (lost ranks, Ctrl-C), the example
# program run as a user would, and the GPU paths (ddp on cuda:0 and, with 2 GPUs, two processes on two GPUs,
# dp, CUDA graphs; skipped without a GPU).
# Network: 127.0.0.1 only. Each test bounds its own waits; CTest's TIMEOUT is the backstop.
ltc_add_test(test_train_data_parallel SOURCES test_train_data_parallel.c LABELS cpu)
target_link_libraries(test_train_data_parallel PRIVATE Threads::Threads m)
ltc_add_test(test_train_data_parallel_faults SOURCES test_train_data_parallel_faults.c LABELS cpu)
target_link_libraries(test_train_data_parallel_faults PRIVATE Threads::Threads)
ltc_add_test(test_train_data_parallel_gpu SOURCES test_train_data_parallel_gpu.c LABELS gpu)
target_link_libraries(test_train_data_parallel_gpu PRIVATE Threads::Threads m)
set_tests_properties(test_train_data_parallel test_train_data_parallel_faults PROPERTIES TIMEOUT 120)
# with 2 GPUs it starts two more processes, one per GPU (LibTorch and NCCL each)
set_tests_properties(test_train_data_parallel_gpu PROPERTIES TIMEOUT 300)

# The Python beside this LibTorch (a pip wheel's venv), when there is one: torch.load reads our
# checkpoints, and torchrun launches the example.
find_program(LTC_TEST_TORCH_PYTHON NAMES python3 python NO_DEFAULT_PATH
             PATHS "${TORCH_INSTALL_PREFIX}/../../../../bin" "${TORCH_INSTALL_PREFIX}/../../../bin")
if(NOT LTC_TEST_TORCH_PYTHON)
  find_program(LTC_TEST_TORCH_PYTHON NAMES python3)
endif()

# Checkpoints through the API: round trip, resume bit for bit, refusals, atomic writes, torch.load.
ltc_add_test(test_train_data_parallel_checkpoint SOURCES test_train_data_parallel_checkpoint.c LABELS cpu)
target_link_libraries(test_train_data_parallel_checkpoint PRIVATE m)
set_tests_properties(test_train_data_parallel_checkpoint PROPERTIES TIMEOUT 120)
if(LTC_TEST_TORCH_PYTHON)
  target_compile_definitions(test_train_data_parallel_checkpoint PRIVATE TORCH_PYTHON="${LTC_TEST_TORCH_PYTHON}")
endif()

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
  # Off the happy path: divergence, GPU identity, bounds, checkpoints, SIGTERM, killed ranks, orphans,
  # restarts (--max-restarts and torchrun's). CPU ranks only; about two minutes.
  ltc_add_test(test_train_data_parallel_resilience SOURCES test_train_data_parallel_resilience.c LABELS cpu)
  target_compile_definitions(test_train_data_parallel_resilience PRIVATE TRAIN_DP_EXE="$<TARGET_FILE:train_data_parallel>")
  add_dependencies(test_train_data_parallel_resilience train_data_parallel)
  set_tests_properties(test_train_data_parallel_resilience PROPERTIES TIMEOUT 600)
  # torchrun, when the Python beside this LibTorch has it: the launcher-hosted store, and its restarts.
  if(LTC_TEST_TORCH_PYTHON)
    target_compile_definitions(test_train_data_parallel_cli PRIVATE TORCH_PYTHON="${LTC_TEST_TORCH_PYTHON}")
    target_compile_definitions(test_train_data_parallel_resilience PRIVATE TORCH_PYTHON="${LTC_TEST_TORCH_PYTHON}")
  endif()
  target_compile_definitions(test_train_data_parallel_cli_gpu PRIVATE TRAIN_DP_GPU=1)
endif()
