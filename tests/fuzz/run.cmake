# The fuzz tests' driver (registered in tests/hardening.cmake).
#   cmake -DMODE=build -DSOURCE_DIR=tests/fuzz -DWORK=<dir> -DROOT=<repository> -DLTC_LIBRARY=<libltc.so> -P run.cmake
#     configures and builds tests/fuzz with clang; prints "SKIP: ..." (CTest: skipped) without a clang
#     that can link -fsanitize=fuzzer.
#   cmake -DMODE=run -DTARGET=fuzz_x -DSECONDS=n -DSOURCE_DIR=... -DWORK=... -P run.cmake
#     runs one target for n seconds over its seed corpus (tests/fuzz/corpus/<target>, read only; what it
#     learns goes to WORK/corpus/<target>) with its dictionary; a finding fails the test, naming the input
#     file and the command that replays it.
cmake_minimum_required(VERSION 3.25)

if(MODE STREQUAL "build")
  find_program(CLANG NAMES clang clang-20 clang-19 clang-18 clang-17 clang-16 clang-15 clang-14)
  find_program(CLANGXX NAMES clang++ clang++-20 clang++-19 clang++-18 clang++-17 clang++-16 clang++-15 clang++-14)
  if(NOT CLANG OR NOT CLANGXX)
    message("SKIP: no clang found: the libFuzzer targets need clang (Debian: apt-get install clang)")
    return()
  endif()
  execute_process(
    COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK} -DCMAKE_C_COMPILER=${CLANG} -DCMAKE_CXX_COMPILER=${CLANGXX}
            -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLTC_ROOT=${ROOT} -DLTC_LIBRARY=${LTC_LIBRARY}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "configuring ${SOURCE_DIR} with ${CLANG} failed:\n${out}")
  endif()
  if(out MATCHES "LTC_FUZZ_UNSUPPORTED")
    file(REMOVE_RECURSE ${WORK})  # so that the run tests skip too
    message("SKIP: ${CLANG} cannot link -fsanitize=fuzzer: install its runtime (Debian: libclang-rt-NN-dev, "
            "or clang's own package on older releases)")
    return()
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK} -j 2 RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "building the fuzz targets failed:\n${out}")
  endif()
  message("built the fuzz targets with ${CLANG} in ${WORK}")
  return()
endif()

if(NOT MODE STREQUAL "run")
  message(FATAL_ERROR "run.cmake: MODE must be build or run")
endif()
set(exe ${WORK}/${TARGET})
if(NOT EXISTS ${exe})
  message("SKIP: ${TARGET} was not built (no clang with libFuzzer: see the fuzz_build test)")
  return()
endif()
file(MAKE_DIRECTORY ${WORK}/corpus/${TARGET})
set(args ${WORK}/corpus/${TARGET} ${SOURCE_DIR}/corpus/${TARGET} -max_total_time=${SECONDS} -timeout=10
    -rss_limit_mb=4096 -max_len=1024 -print_final_stats=1 -artifact_prefix=${WORK}/${TARGET}-)
if(EXISTS ${SOURCE_DIR}/${TARGET}.dict)
  list(APPEND args -dict=${SOURCE_DIR}/${TARGET}.dict)
endif()
execute_process(COMMAND ${exe} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
string(REGEX MATCH "stat::number_of_executed_units: *[0-9]+" runs "${out}")
string(REGEX REPLACE ".*: *" "" runs "${runs}")
if(rc EQUAL 0)
  message("PASS: ${TARGET}: ${runs} inputs in ${SECONDS} s, no finding")
  return()
endif()
# Keep the report readable: libFuzzer's progress lines out, the finding in.
string(REGEX REPLACE "#[0-9]+\t[^\n]*\n" "" report "${out}")
string(REGEX MATCH "Test unit written to ([^\n]+)" unit "${out}")
set(unit "${CMAKE_MATCH_1}")
message("${report}")
message(FATAL_ERROR "FAIL: ${TARGET} found an input that breaks its contract (exit ${rc}): ${unit}\n"
                    "  replay it: ${exe} ${unit}")
