# ltc as a dependency: install into a scratch prefix, consume with find_package and with pkg-config, and
# run the README's install block as it is written. The build tree's own answer is what the installed
# package must repeat. Then scripts/run, as a new user meets ltc: its exit codes and last line. (Not in
# sanitizer builds: the consumers are built as a user would, without the sanitizer runtime an
# instrumented libltc needs.)
add_test(NAME test_api_doc COMMAND ${CMAKE_COMMAND} -DHEADER=${PROJECT_SOURCE_DIR}/shim/include/ltc.h
  -DDOC=${PROJECT_SOURCE_DIR}/docs/api.md -P ${CMAKE_CURRENT_SOURCE_DIR}/check_api_doc.cmake)
set_tests_properties(test_api_doc PROPERTIES LABELS cpu)
if(LTC_SANITIZE)
  return()
endif()
add_executable(package_reference package/consumer.c)
target_link_libraries(package_reference PRIVATE ltc::ltc)
add_test(NAME test_package
  COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${PROJECT_BINARY_DIR} -DSOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}/package
          -DWORK=${CMAKE_CURRENT_BINARY_DIR}/package-work -DTEMPLATE_DIR=${PROJECT_SOURCE_DIR}/examples/template
          -DREADME=${PROJECT_SOURCE_DIR}/README.md -DCC=${CMAKE_C_COMPILER}
          -DREFERENCE=$<TARGET_FILE:package_reference> -P ${CMAKE_CURRENT_SOURCE_DIR}/package/run.cmake)
set_tests_properties(test_package PROPERTIES LABELS cpu TIMEOUT 600 ENVIRONMENT_MODIFICATION "CUDA_VISIBLE_DEVICES=unset:")

# scripts/run: every outcome with stand-in examples, then the real ones with every GPU hidden, and on a GPU.
if(TARGET check_cuda AND TARGET move_to_cuda AND TARGET train_data_parallel)
  foreach(mode fakes no-gpu gpu)
    add_test(NAME test_scripts_run_${mode}
      COMMAND ${CMAKE_COMMAND} -DSCRIPT=${PROJECT_SOURCE_DIR}/scripts/run -DMODE=${mode} -DBUILD_DIR=${PROJECT_BINARY_DIR}
              -DWORK=${CMAKE_CURRENT_BINARY_DIR}/scripts-run-work -P ${CMAKE_CURRENT_SOURCE_DIR}/package/scripts_run.cmake)
    set_tests_properties(test_scripts_run_${mode} PROPERTIES LABELS cpu TIMEOUT 300 SKIP_REGULAR_EXPRESSION "SKIP: ")
  endforeach()
  set_tests_properties(test_scripts_run_gpu PROPERTIES LABELS gpu)
endif()
