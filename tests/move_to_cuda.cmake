# move_to_cuda: the transfer API on any machine and on GPUs, and the example program run as a user would.
ltc_add_test(test_move_to_cuda_api SOURCES test_move_to_cuda_api.c LABELS cpu)
ltc_add_test(test_move_to_cuda_gpu SOURCES test_move_to_cuda_gpu.c LABELS gpu)

if(TARGET move_to_cuda)
  # One driver, built twice: the command-line and error paths anywhere, the round trips on GPUs.
  ltc_add_test(test_move_to_cuda_cli SOURCES test_move_to_cuda_cli.c LABELS cpu)
  ltc_add_test(test_move_to_cuda_cli_gpu SOURCES test_move_to_cuda_cli.c LABELS gpu)
  foreach(t test_move_to_cuda_cli test_move_to_cuda_cli_gpu)
    target_compile_definitions(${t} PRIVATE MOVE_TO_CUDA_EXE="$<TARGET_FILE:move_to_cuda>")
    add_dependencies(${t} move_to_cuda)
  endforeach()
  target_compile_definitions(test_move_to_cuda_cli_gpu PRIVATE MTC_GPU=1)
endif()
