# The diagnosis (ltc_diagnose) and its child-process probe, ltc-cuda-probe, built beside libltc, where
# ltc_diagnose looks for it (installed: <libdir>/../libexec/ltc/ltc-cuda-probe).
set(LTC_DIAGNOSE_SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/src/diagnose.cpp ${CMAKE_CURRENT_SOURCE_DIR}/src/cudriver.c)
target_sources(ltc PRIVATE ${LTC_DIAGNOSE_SOURCES})
target_link_libraries(ltc PRIVATE ${CMAKE_DL_LIBS})
# Where the installed library finds the probe, relative to itself (libdir may be lib, lib64 or lib/<triple>).
file(RELATIVE_PATH LTC_PROBE_RELDIR ${CMAKE_INSTALL_FULL_LIBDIR} ${CMAKE_INSTALL_FULL_LIBEXECDIR}/ltc)
set_property(SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/src/diagnose.cpp APPEND PROPERTY COMPILE_DEFINITIONS
  LTC_PROBE_RELDIR="${LTC_PROBE_RELDIR}")

add_executable(ltc-cuda-probe src/cuda_probe.c src/cudriver.c)
target_compile_options(ltc-cuda-probe PRIVATE ${LTC_WARNINGS})
target_link_libraries(ltc-cuda-probe PRIVATE ${CMAKE_DL_LIBS})
set_target_properties(ltc-cuda-probe PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
add_dependencies(ltc ltc-cuda-probe)
install(TARGETS ltc-cuda-probe RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/ltc)
