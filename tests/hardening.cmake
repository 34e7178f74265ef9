# Hardening: thread safety of the error state and of distinct handles.
ltc_add_test(test_threads SOURCES test_threads.c LABELS cpu)
find_package(Threads REQUIRED)
target_link_libraries(test_threads PRIVATE Threads::Threads)
