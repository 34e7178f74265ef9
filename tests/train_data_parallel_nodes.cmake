# Off one machine: two nodes made of network namespaces (root only, else skipped), and LibTorch's own log
# level as the programs set it (TORCH_CPP_LOG_LEVEL has the last word).
if(TARGET train_data_parallel)
  # Its timings (a death named within 5 s, a silence at the timeout) are asserted: it runs alone.
  ltc_add_test(test_train_data_parallel_nodes SOURCES test_train_data_parallel_nodes.c LABELS cpu)
  target_compile_definitions(test_train_data_parallel_nodes PRIVATE TRAIN_DP_EXE="$<TARGET_FILE:train_data_parallel>")
  add_dependencies(test_train_data_parallel_nodes train_data_parallel)
  set_tests_properties(test_train_data_parallel_nodes PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE)
endif()
if(TARGET train_data_parallel AND TARGET check_cuda)
  add_test(NAME test_log_level
    COMMAND ${CMAKE_COMMAND} -DTRAIN=$<TARGET_FILE:train_data_parallel> -DCHECK_CUDA=$<TARGET_FILE:check_cuda>
            -P ${CMAKE_CURRENT_SOURCE_DIR}/check_log_level.cmake)
  set_tests_properties(test_log_level PROPERTIES LABELS cpu)
endif()
