# ltc as a dependency: install into a scratch prefix, consume with find_package and with pkg-config.
# The build tree's own answer is what the installed package must repeat. (Not in sanitizer builds: the
# consumers are built as a user would, without the sanitizer runtime an instrumented libltc needs.)
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
          -DWORK=${CMAKE_CURRENT_BINARY_DIR}/package-work -DTEMPLATE_DIR=${PROJECT_SOURCE_DIR}/examples/template -DCC=${CMAKE_C_COMPILER}
          -DREFERENCE=$<TARGET_FILE:package_reference> -P ${CMAKE_CURRENT_SOURCE_DIR}/package/run.cmake)
set_tests_properties(test_package PROPERTIES LABELS cpu TIMEOUT 600 ENVIRONMENT_MODIFICATION "CUDA_VISIBLE_DEVICES=unset:")
