# Exported models (ltc/model.h). tests/model_fixtures.py makes the packages once per test run, into
# model-packages/ of this build folder: hand-made ones for each refusal (a Python and a C++ compiler), and
# the MLP of examples/export_model.py exported for real with Python's outputs beside it (a Python with
# torch: the one beside LibTorch; about a minute of compiling on the CPU, so one export serves every case).
# The export uses /usr/bin/g++ where it exists: a compiler that links libstdc++ statically makes packages
# that ltc refuses (docs/model.md), so CXX set to such a wrapper must not decide the test.
set(LTC_MODEL_DIR ${CMAKE_CURRENT_BINARY_DIR}/model-packages)
find_program(LTC_MODEL_TEST_CXX NAMES g++ c++ PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT LTC_MODEL_TEST_CXX)
  set(LTC_MODEL_TEST_CXX ${CMAKE_CXX_COMPILER})
endif()
set(fixtures ${CMAKE_CURRENT_SOURCE_DIR}/model_fixtures.py)
if(LTC_TEST_TORCH_PYTHON)
  add_test(NAME model_fixtures_fakes
    COMMAND ${LTC_TEST_TORCH_PYTHON} ${fixtures} fakes ${LTC_MODEL_DIR} --cxx ${LTC_MODEL_TEST_CXX})
  set_tests_properties(model_fixtures_fakes PROPERTIES LABELS "cpu;gpu" FIXTURES_SETUP ltc_model_fakes TIMEOUT 300)
  foreach(device cpu cuda)
    add_test(NAME model_fixtures_${device}
      COMMAND ${LTC_TEST_TORCH_PYTHON} ${fixtures} export ${LTC_MODEL_DIR} --device ${device} --cxx ${LTC_MODEL_TEST_CXX})
    # Compiling takes every core: one export at a time.
    set_tests_properties(model_fixtures_${device} PROPERTIES FIXTURES_SETUP ltc_model_${device} TIMEOUT 900
                         RESOURCE_LOCK ltc_model_export)
  endforeach()
  set_tests_properties(model_fixtures_cpu PROPERTIES LABELS cpu)
  set_tests_properties(model_fixtures_cuda PROPERTIES LABELS gpu)
endif()

ltc_add_test(test_model_package SOURCES test_model_package.c LABELS cpu gpu)
target_link_libraries(test_model_package PRIVATE ${CMAKE_DL_LIBS})
set_tests_properties(test_model_package PROPERTIES FIXTURES_REQUIRED ltc_model_fakes TIMEOUT 120)
ltc_add_test(test_model SOURCES test_model.c LABELS cpu)
ltc_add_test(test_model_gpu SOURCES test_model.c LABELS gpu)
target_compile_definitions(test_model_gpu PRIVATE MODEL_DEVICE="cuda")
set_tests_properties(test_model PROPERTIES FIXTURES_REQUIRED ltc_model_cpu TIMEOUT 300)
set_tests_properties(test_model_gpu PROPERTIES FIXTURES_REQUIRED ltc_model_cuda TIMEOUT 300)
foreach(t test_model_package test_model test_model_gpu)
  target_compile_definitions(${t} PRIVATE MODEL_DIR="${LTC_MODEL_DIR}" MODEL_PYTHON="${LTC_TEST_TORCH_PYTHON}"
                                          RUN_EXPORTED_MODEL="$<TARGET_FILE:run_exported_model>")
  add_dependencies(${t} ltc-model-probe run_exported_model)
endforeach()
target_link_libraries(test_model PRIVATE Threads::Threads)
target_link_libraries(test_model_gpu PRIVATE Threads::Threads)
