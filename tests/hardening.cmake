# Hardening: thread safety of the error state and of distinct handles.
ltc_add_test(test_threads SOURCES test_threads.c LABELS cpu)
find_package(Threads REQUIRED)
target_link_libraries(test_threads PRIVATE Threads::Threads)

# The bad-input table: a row per public function (NULLs, out-of-range numbers and enums, wrong dtypes,
# shapes and devices). Labelled gpu too: with a GPU its rows check the GPU-side refusals.
ltc_add_test(test_bad_input SOURCES test_bad_input.c LABELS cpu gpu)
target_link_libraries(test_bad_input PRIVATE m)
set_tests_properties(test_bad_input PROPERTIES TIMEOUT 120)
# ... and a row for every function the header declares, checked against the header itself.
add_test(NAME test_bad_input_rows
  COMMAND ${CMAKE_COMMAND} -DEXE=$<TARGET_FILE:test_bad_input> -DHEADER=${PROJECT_SOURCE_DIR}/shim/include/ltc.h
          -P ${CMAKE_CURRENT_SOURCE_DIR}/check_bad_input_rows.cmake)
set_tests_properties(test_bad_input_rows PROPERTIES LABELS cpu)

# Out of GPU memory: the status and message, then the process allocates and computes normally.
ltc_add_test(test_gpu_oom SOURCES test_gpu_oom.c LABELS gpu)
set_tests_properties(test_gpu_oom PROPERTIES TIMEOUT 120)
