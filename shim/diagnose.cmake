# The diagnosis (ltc_diagnose) and its child-process probe, ltc-cuda-probe, built beside libltc, where
# ltc_diagnose looks for it (installed: <libdir>/../libexec/ltc/ltc-cuda-probe).
set(LTC_DIAGNOSE_SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/src/diagnose.cpp ${CMAKE_CURRENT_SOURCE_DIR}/src/cudriver.c)
target_sources(ltc PRIVATE ${LTC_DIAGNOSE_SOURCES})
target_link_libraries(ltc PRIVATE ${CMAKE_DL_LIBS})

add_executable(ltc-cuda-probe src/cuda_probe.c src/cudriver.c)
target_compile_options(ltc-cuda-probe PRIVATE ${LTC_WARNINGS})
target_link_libraries(ltc-cuda-probe PRIVATE ${CMAKE_DL_LIBS})
set_target_properties(ltc-cuda-probe PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
add_dependencies(ltc ltc-cuda-probe)
