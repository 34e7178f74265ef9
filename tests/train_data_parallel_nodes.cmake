# LibTorch's own log level as the programs set it (TORCH_CPP_LOG_LEVEL has the last word).
if(TARGET train_data_parallel AND TARGET check_cuda)
  add_test(NAME test_log_level
    COMMAND ${CMAKE_COMMAND} -DTRAIN=$<TARGET_FILE:train_data_parallel> -DCHECK_CUDA=$<TARGET_FILE:check_cuda>
            -P ${CMAKE_CURRENT_SOURCE_DIR}/check_log_level.cmake)
  set_tests_properties(test_log_level PROPERTIES LABELS cpu)
endif()
