# move_to_cuda: the transfer API on any machine, its GPU paths, the example program and the benchmark.
ltc_add_test(test_move_to_cuda_api SOURCES test_move_to_cuda_api.c LABELS cpu)
