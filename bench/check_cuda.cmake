# check_cuda's benchmark: the cold check against the Python peer.
add_executable(bench_cold_start bench_cold_start.c)
target_compile_options(bench_cold_start PRIVATE ${LTC_WARNINGS})
