# cmake -DEXE=<program> [-DARGS="--a b"] [-DEXPECT_EXIT="0|3"] -DLOG=<file> [-DSUPPRESSIONS=<file>] -P valgrind.cmake
# Runs an example under valgrind's memcheck and fails on what is libltc's: a definite leak, or an invalid
# read, write or free, whose stack passes through libltc. LibTorch, the CUDA libraries and the loader have
# their own one-time allocations and oddities under valgrind (glibc's loader reading 8 bytes at a time
# past a short string, from libcublasLt's start-up); those are listed for information and never counted,
# so no suppression file is needed (SUPPRESSIONS is there for one, each entry with its reason). Prints
# "SKIP: ..." (CTest: skipped) where valgrind is not installed.
cmake_minimum_required(VERSION 3.25)
find_program(VALGRIND valgrind)
if(NOT VALGRIND)
  message("SKIP: valgrind is not installed (Debian: apt-get install valgrind)")
  return()
endif()
if(NOT DEFINED EXPECT_EXIT)
  set(EXPECT_EXIT 0)
endif()
string(STRIP "${ARGS}" args_text)
separate_arguments(ARGS UNIX_COMMAND "${ARGS}")
set(supp)
if(SUPPRESSIONS)
  set(supp --suppressions=${SUPPRESSIONS})
endif()
if(PARSE_ONLY)  # -DPARSE_ONLY=1: judge an existing log (how the parser below is checked by hand)
  set(rc 0)
  set(EXPECT_EXIT 0)
else()
  file(REMOVE ${LOG})
  # --undef-value-errors=no: definedness tracking costs half the time and is not what this test is for.
  execute_process(
    COMMAND ${VALGRIND} --tool=memcheck --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite
            --undef-value-errors=no --num-callers=50 --log-file=${LOG} ${supp} ${EXE} ${ARGS}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
endif()
get_filename_component(name ${EXE} NAME)
string(STRIP "${name} ${args_text}" name)
if(NOT rc MATCHES "^(${EXPECT_EXIT})$")
  message(FATAL_ERROR "FAIL: ${name} under valgrind exited ${rc}, wanted ${EXPECT_EXIT}:\n${out}")
endif()
if(NOT EXISTS ${LOG})
  message(FATAL_ERROR "FAIL: valgrind wrote no log to ${LOG}:\n${out}")
endif()

# The log is "==PID== " lines; a blank one ends each record (an error with its stacks, a loss record).
# (Brackets and semicolons would upset CMake's lists: they are made harmless first.)
file(READ ${LOG} log)
string(REPLACE "[" "(" log "${log}")
string(REPLACE "]" ")" log "${log}")
string(REPLACE ";" "," log "${log}")
string(REPLACE "\n" ";" lines "${log}")
set(ours 0)
set(theirs 0)
set(record "")
set(start "^([0-9,]+ (\\([0-9,]+ direct, [0-9,]+ indirect\\) )?bytes in [0-9,]+ blocks are definitely lost|Invalid (read|write|free)|Mismatched free|Source and destination overlap)")
list(APPEND lines "==0== ")  # ends the last record
foreach(line IN LISTS lines)
  string(REGEX REPLACE "^==[0-9]+== ?" "" text "${line}")
  if(NOT text STREQUAL "" AND NOT (text MATCHES "${start}" AND NOT record STREQUAL ""))
    string(APPEND record "${text}\n")
    continue()
  endif()
  if(record MATCHES "${start}")
    if(record MATCHES "libltc\\.so")
      math(EXPR ours "${ours}+1")
      message("libltc's:\n${record}")
    else()
      math(EXPR theirs "${theirs}+1")
      string(REGEX MATCH "^[^\n]*" first "${record}")
      message("not libltc's (LibTorch, CUDA or the loader): ${first}")
    endif()
  endif()
  set(record "")
  if(NOT text STREQUAL "")  # a record that began without a blank line before it
    set(record "${text}\n")
  endif()
endforeach()
string(REGEX MATCH "definitely lost: [0-9,]+ bytes in [0-9,]+ blocks" lost "${lines}")
string(REGEX MATCH "ERROR SUMMARY: [^;]*" summary "${lines}")
if(ours GREATER 0)
  message(FATAL_ERROR "FAIL: ${name}: ${ours} finding(s) in libltc under valgrind (log: ${LOG})")
endif()
message("PASS: ${name}: nothing of libltc's under valgrind (${lost}; ${theirs} finding(s) of other "
        "libraries; ${summary}; log: ${LOG})")
