# peer_train_cpp (bench/peer_train.cpp), bench_train's raw LibTorch C++ peer: an eager CPU sweep writes its
# result lines, and ddp mode names a missing or bad launcher variable and refuses the CPU. Seconds; no GPU.
# This file is also the checks' driver script:
#   cmake -DEXE=<peer_train_cpp> -DOUT=<scratch folder> -P peer_train.cmake
if(CMAKE_SCRIPT_MODE_FILE)
  include(${CMAKE_CURRENT_LIST_DIR}/cmake_check_helpers.cmake)
  file(REMOVE_RECURSE ${OUT})
  file(MAKE_DIRECTORY ${OUT})
  set(ENV{RANK} "")
  set(ENV{WORLD_SIZE} "")
  unset(ENV{RANK})
  unset(ENV{WORLD_SIZE})

  ltc_run(${EXE} --mode eager --device cpu --threads 1 --batches 8,16 --min-time 0.01 --out ${OUT}/eager.txt)
  ltc_check("an eager CPU sweep: exit 0 (${rc}: ${err})" rc EQUAL 0)
  if(EXISTS ${OUT}/eager.txt)
    file(READ ${OUT}/eager.txt res)
  endif()
  ltc_check("... one result line per batch: ${res}"
            res MATCHES "^result eager 8 1 [0-9]+ [0-9.e-]+ [^\n]*\nresult eager 16 1 [0-9]+ [0-9.e-]+ ")

  ltc_run(${EXE} --mode ddp --device cpu --batches 8 --out ${OUT}/ddp.txt)
  ltc_check("ddp on the CPU: exit 2 with the usage (${rc}: ${err})" rc EQUAL 2 AND err MATCHES "graph and ddp need cuda")
  ltc_run(${EXE} --mode ddp --batches 8 --out ${OUT}/ddp.txt)
  ltc_check("ddp without a launcher: exit 1 naming WORLD_SIZE and the launchers (${rc}: ${err})"
            rc EQUAL 1 AND err MATCHES "ddp mode: WORLD_SIZE is not set: start one process per rank with a launcher")
  ltc_run(${CMAKE_COMMAND} -E env WORLD_SIZE=2 RANK=x LOCAL_RANK=0 MASTER_PORT=29500 ${EXE} --mode ddp --batches 8 --out ${OUT}/ddp.txt)
  ltc_check("ddp with RANK=x: exit 1 naming it (${rc}: ${err})" rc EQUAL 1 AND err MATCHES "ddp mode: RANK is \"x\"")
  ltc_run(${CMAKE_COMMAND} -E env WORLD_SIZE=2 RANK=2 LOCAL_RANK=0 MASTER_PORT=29500 ${EXE} --mode ddp --batches 8 --out ${OUT}/ddp.txt)
  ltc_check("ddp with RANK=2 of 2: exit 1 naming it (${rc}: ${err})" rc EQUAL 1 AND err MATCHES "ddp mode: RANK is \"2\"")
  ltc_check("no result written by a refused ddp run" NOT EXISTS ${OUT}/ddp.txt)
  ltc_finish("peer_train_cpp checks failed")
  return()
endif()

if(TARGET peer_train_cpp)
  add_test(NAME test_peer_train_cpp
           COMMAND ${CMAKE_COMMAND} -DEXE=$<TARGET_FILE:peer_train_cpp> -DOUT=${CMAKE_CURRENT_BINARY_DIR}/peer_train_out
                   -P ${CMAKE_CURRENT_LIST_FILE})
  set_tests_properties(test_peer_train_cpp PROPERTIES LABELS cpu TIMEOUT 300)
endif()
