# The count of the suite's CMake check scripts (cmake -P), which end as the C tests do, with
# "N passed, N failed[, N skipped]" (include it once, at the top: it starts the counts at 0):
#   ltc_check("what failed" COND...)  a check: passed when the if() condition COND holds, else failed with
#                                     "FAIL: what failed"
#   ltc_fail("what failed")           a failure alone (for the checks that count only what is wrong)
#   ltc_skip("what" "why")            a case that cannot run on this machine: counted skipped, with
#                                     "SKIP what: why" printed
#   ltc_finish("verdict" [SKIPPED n]) prints the count (n more skipped), then stops with FATAL_ERROR
#                                     verdict if any failed; if every case was skipped it prints
#                                     "SKIP: ..." last, which the test's SKIP_REGULAR_EXPRESSION "SKIP: "
#                                     turns into CTest's Skipped
#   ltc_run(COMMAND...)               runs a command (120 s at most); sets rc, out and err in the caller
# Called inside a function, they count in that function's scope: it passes passed, failed and skipped up
# itself.
cmake_policy(VERSION 3.25) # IN_LIST and the rest in the conditions, whatever the includer set
set(passed 0)
set(failed 0)
set(skipped 0)

function(ltc_check _ltc_what)
  if(${ARGN})
    math(EXPR passed "${passed}+1")
  else()
    math(EXPR failed "${failed}+1")
    message("FAIL: ${_ltc_what}")
  endif()
  set(passed ${passed} PARENT_SCOPE)
  set(failed ${failed} PARENT_SCOPE)
endfunction()

function(ltc_fail _ltc_what)
  math(EXPR failed "${failed}+1")
  message("FAIL: ${_ltc_what}")
  set(failed ${failed} PARENT_SCOPE)
endfunction()

function(ltc_skip _ltc_what _ltc_why)
  math(EXPR skipped "${skipped}+1")
  message("SKIP ${_ltc_what}: ${_ltc_why}")
  set(skipped ${skipped} PARENT_SCOPE)
endfunction()

function(ltc_finish _ltc_verdict)
  cmake_parse_arguments(_LTC "" "SKIPPED" "" ${ARGN})
  if(_LTC_SKIPPED)
    math(EXPR skipped "${skipped}+${_LTC_SKIPPED}")
  endif()
  if(skipped GREATER 0)
    message("${passed} passed, ${failed} failed, ${skipped} skipped")
  else()
    message("${passed} passed, ${failed} failed")
  endif()
  if(failed GREATER 0)
    message(FATAL_ERROR "${_ltc_verdict}")
  endif()
  if(skipped GREATER 0 AND passed EQUAL 0)
    message("SKIP: nothing could run here (the reasons are above)")
  endif()
endfunction()

function(ltc_run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _ltc_r OUTPUT_VARIABLE _ltc_o ERROR_VARIABLE _ltc_e TIMEOUT 120)
  set(rc "${_ltc_r}" PARENT_SCOPE)
  set(out "${_ltc_o}" PARENT_SCOPE)
  set(err "${_ltc_e}" PARENT_SCOPE)
endfunction()
