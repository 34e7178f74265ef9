# move_to_cuda: the transfer API on any machine and on GPUs, the example program run as a user would,
# the benchmark harness, and a short benchmark run whose JSON and CSV are checked.
#
# This file is also the benchmark check's driver script:
#   cmake -DBENCH=<bench_transfer> -DOUT=<folder> -P move_to_cuda.cmake
if(CMAKE_SCRIPT_MODE_FILE)
  file(MAKE_DIRECTORY ${OUT})
  execute_process(COMMAND ${BENCH} --max-bytes 65536 --size-step 2 --min-time 0.01 --rounds 1 --no-python
                          --csv ${OUT}/t.csv --json ${OUT}/t.json --md ${OUT}/t.md
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  include(${CMAKE_CURRENT_LIST_DIR}/cmake_check_helpers.cmake)
  ltc_check("bench_transfer exits 0 (got ${rc})" rc EQUAL 0)
  file(READ ${OUT}/t.json json)
  string(JSON name ERROR_VARIABLE jerr GET "${json}" benchmark)
  ltc_check("the JSON parses and names the benchmark (${jerr})" name STREQUAL transfer)
  string(JSON nrows ERROR_VARIABLE jerr LENGTH "${json}" tables sweep rows)
  ltc_check("the sweep has rows, 4 B to 64 KiB per copy (${nrows})" nrows GREATER_EQUAL 15)
  string(JSON bytes ERROR_VARIABLE jerr GET "${json}" tables sweep rows 0 bytes)
  ltc_check("the first row is 4 bytes (${bytes})" bytes EQUAL 4)
  string(JSON ngoals ERROR_VARIABLE jerr LENGTH "${json}" goals)
  ltc_check("the two goals of bench/goals (${ngoals})" ngoals EQUAL 2)
  string(JSON versions ERROR_VARIABLE jerr GET "${json}" context versions)
  ltc_check("the context names LibTorch (${versions})" versions MATCHES "LibTorch [0-9]")
  file(STRINGS ${OUT}/t.csv csv)
  list(GET csv 0 header)
  ltc_check("the CSV header" header STREQUAL "copy,memory,size,bytes,median_us,min_us,max_us,iqr_pct,runs,bandwidth_GBps,of_link_pct")
  ltc_check("the fit CSV beside it" EXISTS ${OUT}/t-fit.csv)
  file(READ ${OUT}/t.md md)
  ltc_check("the Markdown table" md MATCHES "\\| copy \\| memory \\|")
  ltc_check("the table printed" out MATCHES "# sweep: ")
  ltc_finish("bench_transfer check failed")
  return()
endif()

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

if(TARGET ltc_bench_harness)
  ltc_add_test(test_move_to_cuda_harness SOURCES test_move_to_cuda_harness.c LABELS cpu)
  target_link_libraries(test_move_to_cuda_harness PRIVATE ltc_bench_harness)
endif()
if(TARGET bench_transfer)
  add_test(NAME test_move_to_cuda_bench
    COMMAND ${CMAKE_COMMAND} -DBENCH=$<TARGET_FILE:bench_transfer> -DOUT=${CMAKE_CURRENT_BINARY_DIR}/bench_transfer_check
            -P ${CMAKE_CURRENT_LIST_FILE})
  set_tests_properties(test_move_to_cuda_bench PROPERTIES LABELS cpu TIMEOUT 300)
endif()
