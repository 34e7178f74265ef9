# The general data-parallel API and CUDA graphs: collectives on tensors and tensor lists on CPU ranks (threads)
# and over NCCL (a group of one on cuda:0; with 2 GPUs two processes), what a group and the launcher do to the
# host process (no exit hook, no setenv, signal handlers only when asked), and CUDA graphs of any step (with
# NCCL inside). Network: 127.0.0.1 only, free ports.
ltc_add_test(test_dist_collectives SOURCES test_dist_collectives.c LABELS cpu)
target_link_libraries(test_dist_collectives PRIVATE Threads::Threads)
ltc_add_test(test_dist_process SOURCES test_dist_process.c LABELS cpu)
target_link_libraries(test_dist_process PRIVATE Threads::Threads)
ltc_add_test(test_dist_collectives_gpu SOURCES test_dist_collectives_gpu.c LABELS gpu)
target_link_libraries(test_dist_collectives_gpu PRIVATE Threads::Threads m)
ltc_add_test(test_cuda_graph SOURCES test_cuda_graph.c LABELS gpu)
target_link_libraries(test_cuda_graph PRIVATE Threads::Threads m)
set_tests_properties(test_dist_collectives test_dist_process PROPERTIES TIMEOUT 120)
# a whole GPU: NCCL groups and graph captures of their own (with 2 GPUs, two more processes)
set_tests_properties(test_dist_collectives_gpu test_cuda_graph PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE)
