# bench_allreduce (bench/bench_allreduce.c) on CPU ranks through the store: the sweep's table in every
# format, the goal not measured without a peer, and its usage errors. Seconds; no GPU, free ports only.
# This file is also the checks' driver script:
#   cmake -DEXE=<bench_allreduce> -DOUT=<scratch folder> -P bench_allreduce.cmake
if(CMAKE_SCRIPT_MODE_FILE)
  include(${CMAKE_CURRENT_LIST_DIR}/cmake_check_helpers.cmake)
  file(REMOVE_RECURSE ${OUT})
  file(MAKE_DIRECTORY ${OUT})

  ltc_run(${EXE} --device cpu --nproc 2 --rounds 2 --max-bytes 4096 --md ${OUT}/a.md --json ${OUT}/a.json --csv ${OUT}/a.csv)
  ltc_check("2 CPU ranks, 2 rounds: exit 0 (got ${rc}: ${err})" rc EQUAL 0)
  ltc_check("both rounds ran: ${err}" err MATCHES "round 1 of 2" AND err MATCHES "round 2 of 2")
  file(READ ${OUT}/a.csv csv)
  string(REGEX MATCHALL "\n[0-9]+,[0-9.e+-]+,[0-9.e+-]+,[0-9.e+-]+," rows "${csv}")
  list(LENGTH rows n)
  ltc_check("one CSV row per size, 8 B to 4 KiB (${n}): ${csv}" n EQUAL 10)
  ltc_check("the first size is 8 B with a time: ${csv}" csv MATCHES "\n8,[0-9]*[1-9][0-9]*\\.[0-9]")
  ltc_check("the last size is 4096 B: ${csv}" csv MATCHES "\n4096,")
  file(READ ${OUT}/a.json json)
  string(JSON goal_key GET "${json}" goals 0 key)
  string(JSON goal_result GET "${json}" goals 0 result)
  ltc_check("the goal, not measured without a peer (${goal_key}: ${goal_result})"
            goal_key STREQUAL "busbw_256MiB_over_python" AND goal_result MATCHES "NOT MEASURED|not measured")
  file(READ ${OUT}/a.md md)
  ltc_check("the Markdown says why there is no peer: ${md}" md MATCHES "--device cpu: ours on CPU ranks through the store. no peer")

  # over the store's 8 MiB per value: the sizes above 4 MiB go in chunks
  ltc_run(${EXE} --device cpu --nproc 2 --rounds 1 --max-bytes 16777216 --csv ${OUT}/big.csv)
  ltc_check("2 CPU ranks up to 16 MiB: exit 0 (got ${rc}: ${err})" rc EQUAL 0)
  if(EXISTS ${OUT}/big.csv)
    file(READ ${OUT}/big.csv big)
  endif()
  ltc_check("... the 16 MiB size measured: ${big}" big MATCHES "\n16777216,[0-9]")

  # --device cuda where LibTorch sees no GPU: named, with what to do (on a GPU machine it measures)
  ltc_run(${EXE} --device cuda --nproc 1 --rounds 1 --max-bytes 8 --no-python)
  if(NOT rc EQUAL 0)
    ltc_check("--device cuda without a GPU: exit 1 saying so and naming --device cpu (${rc}: ${err})"
              rc EQUAL 1 AND err MATCHES "--device cuda: LibTorch sees no GPU .check_cuda says why.. --device cpu runs it on CPU ranks")
  endif()

  ltc_run(${EXE} --device cpu --rounds 0)
  ltc_check("--rounds 0: exit 2 naming it and the range (${rc}: ${err})" rc EQUAL 2 AND err MATCHES "--rounds 0 is not valid: use a whole number from 1 to 16")
  ltc_run(${EXE} --device cpu --max-bytes 4)
  ltc_check("--max-bytes 4: exit 2 naming it (${rc}: ${err})" rc EQUAL 2 AND err MATCHES "--max-bytes 4 is not valid: use a whole number from 8 to 1073741824")
  ltc_run(${EXE} --device cpu --nproc 0)
  ltc_check("--nproc 0: exit 2 naming it (${rc}: ${err})" rc EQUAL 2 AND err MATCHES "--nproc 0 is not valid")
  ltc_run(${EXE} --device tpu)
  ltc_check("--device tpu: exit 2 naming it and what is valid (${rc}: ${err})" rc EQUAL 2 AND err MATCHES "--device tpu is not valid: use cuda or cpu")
  ltc_run(${EXE} --help)
  ltc_check("--help: exit 0 with the options (${rc})" rc EQUAL 0 AND out MATCHES "--max-bytes B" AND out MATCHES "exit codes")
  ltc_finish("bench_allreduce checks failed")
  return()
endif()

if(TARGET bench_allreduce)
  add_test(NAME test_bench_allreduce
           COMMAND ${CMAKE_COMMAND} -DEXE=$<TARGET_FILE:bench_allreduce> -DOUT=${CMAKE_CURRENT_BINARY_DIR}/bench_allreduce_out
                   -P ${CMAKE_CURRENT_LIST_FILE})
  set_tests_properties(test_bench_allreduce PROPERTIES LABELS cpu TIMEOUT 300)
endif()
