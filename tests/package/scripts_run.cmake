# scripts/run's exit code and last line, which say what a user should conclude (README, "The two commands").
#   cmake -DSCRIPT=<scripts/run> -DWORK=<folder> -DMODE=fakes|no-gpu|gpu [-DBUILD_DIR=<build>] -P scripts_run.cmake
# fakes:  stand-in examples (shell scripts exiting as told) for every outcome: PASS (0), NO GPU (3),
#         FAILED (1) for each example, a missing example, bad usage (2).
# no-gpu: the real examples of BUILD_DIR with CUDA_VISIBLE_DEVICES=-1, on any machine: 3, "summary: NO GPU".
# gpu:    the real examples of BUILD_DIR as they are: 0, "summary: PASS"; skipped ("SKIP:") without a
#         usable GPU, or failed when LTC_REQUIRE_GPU=1.
cmake_minimum_required(VERSION 3.25)
include(${CMAKE_CURRENT_LIST_DIR}/../cmake_check_helpers.cmake)

# Runs scripts/run with the environment given (NAME=VALUE ...); wants exit code `code` and `last` in its
# last line, and each of `shown` (a list) in its whole output.
function(expect what code last)
  cmake_parse_arguments(E "" "" "ENV;SHOWN" ${ARGN})
  execute_process(COMMAND ${CMAKE_COMMAND} -E env ${E_ENV} bash ${SCRIPT} ${E_UNPARSED_ARGUMENTS}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(STRIP "${out}" stripped)
  string(REGEX REPLACE ".*\n" "" last_line "${stripped}")
  set(ok 1)
  if(NOT rc EQUAL code)
    set(ok 0)
  endif()
  string(FIND "${last_line}" "${last}" at)
  if(at EQUAL -1)
    set(ok 0)
  endif()
  foreach(s IN LISTS E_SHOWN)
    string(FIND "${out}${err}" "${s}" at)
    if(at EQUAL -1)
      set(ok 0)
    endif()
  endforeach()
  string(CONCAT why "${what}: exit ${rc}, wanted ${code}; last line \"${last_line}\", wanted \"${last}\""
         " and [${E_SHOWN}] in the output:\n${out}${err}")
  ltc_check("${why}" ok)
  set(passed ${passed} PARENT_SCOPE)
  set(failed ${failed} PARENT_SCOPE)
endfunction()

if(MODE STREQUAL "fakes")
  file(REMOVE_RECURSE ${WORK})
  file(MAKE_DIRECTORY ${WORK}/examples ${WORK}/empty/examples)
  # each stand-in prints its name and arguments, and exits with $FAKE_<NAME> (default 0)
  file(WRITE ${WORK}/examples/check_cuda
       "#!/bin/sh\nif [ \"\${FAKE_CHECK_CUDA:-0}\" = 0 ]; then echo 'GPU usable: YES: cuda:0'; else\n"
       "echo 'GPU usable: NO: no GPU is visible [LTC_CAUSE_NO_GPU]'; echo '  fix: put one in'; fi\n"
       "exit \${FAKE_CHECK_CUDA:-0}\n")
  foreach(name move_to_cuda train_data_parallel)
    string(TOUPPER ${name} upper)
    file(WRITE ${WORK}/examples/${name} "#!/bin/sh\necho \"ran ${name} [$*]\"\nexit \${FAKE_${upper}:-0}\n")
  endforeach()
  file(CHMOD ${WORK}/examples/check_cuda ${WORK}/examples/move_to_cuda ${WORK}/examples/train_data_parallel
       PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
  set(at LTC_BUILD_DIR=${WORK})

  expect("an argument is bad usage" 2 "" bogus SHOWN "scripts/run: unknown argument \"bogus\": it takes none")
  expect("everything passes on the GPU" 0
         "summary: PASS: ltc works and the GPU is usable: check_cuda, move_to_cuda and train_data_parallel passed on it"
         ENV ${at} SHOWN "ran move_to_cuda []" "ran train_data_parallel [--steps 200]")
  foreach(code 3 4 5 6 7 8)
    expect("check_cuda exits ${code}: no GPU, the examples on the CPU" 3
           "summary: NO GPU: ltc works (move_to_cuda and train_data_parallel passed on the CPU), but no GPU is usable here: no GPU is visible [LTC_CAUSE_NO_GPU]. check_cuda's output above says how to fix it."
           ENV ${at} FAKE_CHECK_CUDA=${code}
           SHOWN "  fix: put one in" "ran move_to_cuda [--device cpu]" "ran train_data_parallel [--device cpu --steps 200]")
  endforeach()
  expect("check_cuda fails" 1 "summary: FAILED: check_cuda exited 1 (1: the check itself failed" ENV ${at} FAKE_CHECK_CUDA=1)
  expect("a proof by work fails" 1 "summary: FAILED: check_cuda exited 9" ENV ${at} FAKE_CHECK_CUDA=9)
  expect("move_to_cuda fails on the GPU" 1 "summary: FAILED: move_to_cuda exited 4; its message above says why"
         ENV ${at} FAKE_MOVE_TO_CUDA=4)
  expect("train_data_parallel fails on the CPU" 1 "summary: FAILED: train_data_parallel exited 3"
         ENV ${at} FAKE_CHECK_CUDA=7 FAKE_TRAIN_DATA_PARALLEL=3)
  expect("an example not built" 1 "summary: FAILED: ${WORK}/empty/examples/check_cuda was not built"
         ENV LTC_BUILD_DIR=${WORK}/empty)
  # scripts/test refuses what it does not know, at once, before it sets up or builds anything (with a
  # preset that does not exist, a refusal that did not come fails at the configure step instead of
  # running the suite)
  get_filename_component(scripts ${SCRIPT} DIRECTORY)
  foreach(bad "--bogus" "-R" "-R x --bogus" "-j 2 bogus")
    separate_arguments(args UNIX_COMMAND "${bad}")
    execute_process(COMMAND bash ${scripts}/test --preset ltc-no-such-preset ${args} RESULT_VARIABLE rc
                    OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
    set(ok 0)
    if(rc EQUAL 2 AND err MATCHES "^scripts/test: " AND NOT err MATCHES "configure")
      set(ok 1)
    endif()
    ltc_check("scripts/test ${bad}: exit ${rc}, wanted 2 with scripts/test's own message: ${out}${err}" ok)
  endforeach()
elseif(MODE STREQUAL "no-gpu")
  expect("the real examples, every GPU hidden" 3
         "summary: NO GPU: ltc works (move_to_cuda and train_data_parallel passed on the CPU), but no GPU is usable here: "
         ENV LTC_BUILD_DIR=${BUILD_DIR} CUDA_VISIBLE_DEVICES=-1
         SHOWN "PASS: a 100x100 float32 tensor moved to cpu" "result: PASS")
elseif(MODE STREQUAL "gpu")
  execute_process(COMMAND ${BUILD_DIR}/examples/check_cuda --quick RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(NOT rc EQUAL 0)
    if("$ENV{LTC_REQUIRE_GPU}" STREQUAL "1")
      message(FATAL_ERROR "LTC_REQUIRE_GPU=1 but check_cuda --quick exits ${rc}: no usable GPU")
    endif()
    message("SKIP: no usable GPU (check_cuda --quick exits ${rc})")
    return()
  endif()
  expect("the real examples on the GPU" 0 "summary: PASS: ltc works and the GPU is usable"
         ENV LTC_BUILD_DIR=${BUILD_DIR} SHOWN "PASS: a 100x100 float32 tensor moved to cuda:0" "result: PASS")
else()
  message(FATAL_ERROR "MODE must be fakes, no-gpu or gpu")
endif()
ltc_finish("scripts/run or scripts/test does not say what it should")
