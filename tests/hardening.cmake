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
# It fills the whole card: nothing else may run beside it (RUN_SERIAL), or that test runs out of memory.
set_tests_properties(test_gpu_oom PROPERTIES TIMEOUT 120 RUN_SERIAL ON)

# libFuzzer (tests/fuzz): the device and dtype parsers, the launcher's environment, the examples' argument
# parsers and the diagnosis's JSON writer, each for a few seconds (50 s in all). The targets need clang,
# so fuzz_build configures and builds tests/fuzz with clang against this build's libltc; without a clang
# that links -fsanitize=fuzzer every fuzz test is skipped. Not in sanitizer builds: the targets carry
# clang's own AddressSanitizer runtime, which cannot share a process with an instrumented libltc.
if(NOT LTC_SANITIZE)
  set(LTC_FUZZ_ARGS -DSOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}/fuzz -DWORK=${CMAKE_CURRENT_BINARY_DIR}/fuzz)
  add_test(NAME fuzz_build COMMAND ${CMAKE_COMMAND} -DMODE=build ${LTC_FUZZ_ARGS} -DROOT=${PROJECT_SOURCE_DIR}
           -DLTC_LIBRARY=$<TARGET_FILE:ltc> -P ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/run.cmake)
  set_tests_properties(fuzz_build PROPERTIES LABELS fuzz SKIP_REGULAR_EXPRESSION "SKIP: " FIXTURES_SETUP ltc_fuzz
                       TIMEOUT 900)
  foreach(case fuzz_device_parse:5 fuzz_dtype_parse:5 fuzz_dist_env:10 fuzz_json:15 fuzz_move_to_cuda_args:5
               fuzz_train_args:10)
    string(REPLACE ":" ";" case ${case})
    list(GET case 0 target)
    list(GET case 1 seconds)
    add_test(NAME ${target} COMMAND ${CMAKE_COMMAND} -DMODE=run -DTARGET=${target} -DSECONDS=${seconds} ${LTC_FUZZ_ARGS}
             -P ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/run.cmake)
    set_tests_properties(${target} PROPERTIES LABELS fuzz SKIP_REGULAR_EXPRESSION "SKIP: " FIXTURES_REQUIRED ltc_fuzz
                         TIMEOUT 120)
  endforeach()
endif()

# valgrind memcheck over the examples' CPU paths (tests/valgrind.cmake): no definite leak and no invalid
# access whose stack passes through libltc. LibTorch's start-up under valgrind takes a minute or more of
# CPU per program, so these have a label of their own, valgrind (not cpu); skipped without valgrind, and
# not in sanitizer builds. CUDA_VISIBLE_DEVICES is empty: the CPU paths even on a GPU machine.
if(NOT LTC_SANITIZE AND TARGET check_cuda AND TARGET move_to_cuda)
  add_executable(valgrind_template ${PROJECT_SOURCE_DIR}/examples/template/main.c)  # as a user builds it
  target_link_libraries(valgrind_template PRIVATE ltc::ltc)
  function(ltc_valgrind_test name exe expect args)
    add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} -DEXE=${exe} "-DARGS=${args}" "-DEXPECT_EXIT=${expect}"
             -DLOG=${CMAKE_CURRENT_BINARY_DIR}/${name}.log -P ${CMAKE_CURRENT_SOURCE_DIR}/valgrind.cmake)
    set_tests_properties(${name} PROPERTIES LABELS valgrind SKIP_REGULAR_EXPRESSION "SKIP: " TIMEOUT 1200
                         ENVIRONMENT "CUDA_VISIBLE_DEVICES=")
  endfunction()
  # check_cuda exits with its verdict's code (3..11 without a usable GPU); 1 and 2 are failures.
  ltc_valgrind_test(valgrind_check_cuda $<TARGET_FILE:check_cuda> "0|3|4|5|6|7|8|9|10|11" "--quick")
  ltc_valgrind_test(valgrind_move_to_cuda $<TARGET_FILE:move_to_cuda> 0 "--device cpu")
  ltc_valgrind_test(valgrind_template $<TARGET_FILE:valgrind_template> 0 "")
endif()
