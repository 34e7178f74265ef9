# cmake -DTRAIN=<train_data_parallel> -DCHECK_CUDA=<check_cuda> -P check_log_level.cmake
# The programs keep LibTorch's own log to errors (no c10d line on a clean run), TORCH_CPP_LOG_LEVEL brings
# it back, and a bad TORCH_CPP_LOG_LEVEL is bad usage (exit 2, naming it).
cmake_minimum_required(VERSION 3.25)
include(${CMAKE_CURRENT_LIST_DIR}/cmake_check_helpers.cmake)
set(run ${TRAIN} --device cpu --steps 300)

ltc_run(${CMAKE_COMMAND} -E env --unset=TORCH_CPP_LOG_LEVEL ${run})
ltc_check("a clean run exits 0 (exit ${rc}): ${err}" rc EQUAL 0)
ltc_check("a clean run prints no c10d line by default:\n${err}" NOT err MATCHES "\\[c10d\\]")

ltc_run(${CMAKE_COMMAND} -E env TORCH_CPP_LOG_LEVEL=info ${run})
ltc_check("TORCH_CPP_LOG_LEVEL=info: exit 0 (exit ${rc})" rc EQUAL 0)
ltc_check("TORCH_CPP_LOG_LEVEL=info shows c10d's INFO lines (the store's connections):\n${err}"
          err MATCHES "\\[I[0-9 :.]+[a-zA-Z_]+\\.cpp:[0-9]+\\] \\[c10d\\]")

foreach(prog IN ITEMS ${TRAIN} ${CHECK_CUDA})
  get_filename_component(name ${prog} NAME)
  ltc_run(${CMAKE_COMMAND} -E env TORCH_CPP_LOG_LEVEL=loud ${prog} --help)
  ltc_check("${name} with TORCH_CPP_LOG_LEVEL=loud exits 2 (exit ${rc})" rc EQUAL 2)
  ltc_check("${name} names the bad TORCH_CPP_LOG_LEVEL and the valid values:\n${err}"
            err MATCHES "TORCH_CPP_LOG_LEVEL=\"loud\" is not valid: use INFO, WARNING, ERROR or FATAL")
  ltc_run(${CMAKE_COMMAND} -E env TORCH_CPP_LOG_LEVEL=3 ${prog} --help)
  ltc_check("${name} takes TORCH_CPP_LOG_LEVEL=3 (exit ${rc})" rc EQUAL 0)
endforeach()
ltc_finish("the programs' LibTorch log level is wrong")
