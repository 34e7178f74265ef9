# Installs the build tree into a scratch prefix, then builds tests/package/consumer.c against the installed
# package two ways (CMake's find_package, and cc with pkg-config when pkg-config exists) and checks that
# each reports the same LibTorch, the same CUDA support and the same diagnosis as the build tree does;
# builds examples/template with its CMakeLists.txt and its Makefile, and checks that it learned each time;
# and runs the README's install block as it is written.
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK=... -DTEMPLATE_DIR=... -DREADME=... -DCC=...
#         -DREFERENCE=<consumer built in the tree> -P run.cmake
cmake_minimum_required(VERSION 3.25)
set(prefix ${WORK}/prefix)
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${REFERENCE} RESULT_VARIABLE rc OUTPUT_VARIABLE WANT ERROR_VARIABLE err)
string(STRIP "${WANT}" WANT)
if(NOT rc EQUAL 0 OR WANT STREQUAL "")
  message(FATAL_ERROR "the build tree's consumer failed (${rc}): ${err}")
endif()
message("build tree: ${WANT}")
include(${CMAKE_CURRENT_LIST_DIR}/../cmake_check_helpers.cmake)
macro(step what) # the last command's exit code rc is 0
  ltc_check("${what} (${rc})\n${out}${err}" rc EQUAL 0)
endmacro()
# The template learned: what it printed (text) ends "trained on D: loss A -> B, accuracy C on N points it
# never saw", with C (on points it did not train on) at least 0.9 and B below a fifth of A.
macro(learned what text)
  set(_line "trained on (cpu|cuda:[0-9]+): loss ([0-9]+)[.]([0-9][0-9][0-9][0-9]) -> ([0-9]+)[.]([0-9][0-9][0-9][0-9]), accuracy ([0-9.]+) on")
  if(NOT "${text}" MATCHES "${_line}")
    ltc_fail("${what}: no line \"trained on D: loss A -> B, accuracy C on ...\" in what it printed:\n${text}")
  else()
    set(_acc ${CMAKE_MATCH_6})
    math(EXPR _a "${CMAKE_MATCH_2}${CMAKE_MATCH_3}")  # 0.6965 -> 6965: whole numbers (leading 0s are decimal)
    math(EXPR _b5 "${CMAKE_MATCH_4}${CMAKE_MATCH_5} * 5")
    ltc_check("${what}: accuracy ${_acc} on new points, below 0.9:\n${text}" NOT _acc LESS 0.9)
    ltc_check("${what}: the loss ended above a fifth of where it started:\n${text}" _b5 LESS _a)
  endif()
endmacro()
macro(compare what) # the last command's output out is what the build tree's consumer printed
  string(STRIP "${out}" got)
  ltc_check("${what} reports\n  ${got}\nbut the build tree reports\n  ${WANT}" got STREQUAL WANT)
endmacro()

execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
step("cmake --install")
foreach(f include/ltc.h lib/cmake/ltc/ltcConfig.cmake lib/cmake/ltc/ltcConfigVersion.cmake lib/pkgconfig/ltc.pc libexec/ltc/ltc-cuda-probe)
  ltc_check("${f} not installed" EXISTS ${prefix}/${f})
endforeach()

# 1. CMake: find_package(ltc)
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK}/cmake-build -DCMAKE_PREFIX_PATH=${prefix}
                        -DCMAKE_C_COMPILER=${CC} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
step("configure the consumer with find_package(ltc)")
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK}/cmake-build RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
step("build the consumer")
execute_process(COMMAND env -u LD_LIBRARY_PATH ${WORK}/cmake-build/consumer RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
step("run the CMake-built consumer without LD_LIBRARY_PATH")
compare("the find_package(ltc) consumer")

# The template a user copies (examples/template), built with its own CMakeLists.txt.
execute_process(COMMAND ${CMAKE_COMMAND} -S ${TEMPLATE_DIR} -B ${WORK}/template-build -DCMAKE_PREFIX_PATH=${prefix}
                        -DCMAKE_C_COMPILER=${CC} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
step("configure examples/template")
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK}/template-build RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
step("build examples/template")
execute_process(COMMAND env -u LD_LIBRARY_PATH ${WORK}/template-build/my_ltc_program RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
step("run examples/template")
learned("the CMake-built template" "${out}")

# A version that asks for another major must be refused.
file(WRITE ${WORK}/major/CMakeLists.txt "cmake_minimum_required(VERSION 3.25)\nproject(m LANGUAGES C)\nfind_package(ltc 1.0 REQUIRED)\n")
execute_process(COMMAND ${CMAKE_COMMAND} -S ${WORK}/major -B ${WORK}/major/build -DCMAKE_PREFIX_PATH=${prefix}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
ltc_check("find_package(ltc 1.0) was not refused (${rc})" NOT rc EQUAL 0 AND err MATCHES "version")

# 2. pkg-config and cc
find_program(PKG_CONFIG pkg-config)
if(PKG_CONFIG)
  set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig)
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs ltc RESULT_VARIABLE rc OUTPUT_VARIABLE flags ERROR_VARIABLE err)
  set(out "${flags}")
  step("pkg-config --cflags --libs ltc")
  separate_arguments(flags UNIX_COMMAND "${flags}")
  execute_process(COMMAND ${CC} ${SOURCE_DIR}/consumer.c ${flags} -o ${WORK}/consumer-pc RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  step("cc consumer.c $(pkg-config --cflags --libs ltc)")
  execute_process(COMMAND env -u LD_LIBRARY_PATH ${WORK}/consumer-pc RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  step("run the pkg-config consumer without LD_LIBRARY_PATH")
  compare("the pkg-config consumer")
  find_program(MAKE make)
  if(MAKE)
    # The template's Makefile, with PKG_CONFIG_PATH in the environment, then on make's command line (which
    # GNU make before 4.4 does not pass to $(shell)), then nowhere: a message naming the remedy.
    file(COPY ${TEMPLATE_DIR}/main.c ${TEMPLATE_DIR}/check.h ${TEMPLATE_DIR}/Makefile DESTINATION ${WORK}/template-make)
    execute_process(COMMAND ${MAKE} -C ${WORK}/template-make CC=${CC} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    step("PKG_CONFIG_PATH=... make examples/template")
    execute_process(COMMAND env -u LD_LIBRARY_PATH ${WORK}/template-make/my_ltc_program RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    step("run the make-built template")
    learned("the make-built template" "${out}")
    execute_process(COMMAND ${MAKE} -C ${WORK}/template-make clean RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    step("make clean, with or without pkg-config's answer")
    execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=PKG_CONFIG_PATH
                            ${MAKE} -C ${WORK}/template-make CC=${CC} PKG_CONFIG_PATH=${prefix}/lib/pkgconfig
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    step("make PKG_CONFIG_PATH=... examples/template")
    execute_process(COMMAND ${MAKE} -C ${WORK}/template-make clean OUTPUT_QUIET ERROR_QUIET)
    execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=PKG_CONFIG_PATH ${MAKE} -C ${WORK}/template-make CC=${CC}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    ltc_check("make without PKG_CONFIG_PATH did not name the remedy (${rc}):\n${out}${err}"
              NOT rc EQUAL 0 AND err MATCHES "pkg-config cannot find ltc: install it")

    # 3. The README's install block, run as it is written: with sh, from a copy of the clone (its
    #    build/cpu is this build folder, its examples/template a copy), HOME a scratch folder so that
    #    "$HOME/.local" is a fresh prefix, and nothing in PKG_CONFIG_PATH, LD_LIBRARY_PATH or CMAKE_PREFIX_PATH.
    file(READ ${README} readme)
    string(FIND "${readme}" "<!-- tests/package/run.cmake runs the next block" at)
    set(block "")
    if(NOT at EQUAL -1)
      string(SUBSTRING "${readme}" ${at} -1 rest)
      string(REGEX MATCH "```sh\n([^`]*)```" m "${rest}")
      set(block "${CMAKE_MATCH_1}")
    endif()
    if(NOT block MATCHES "cmake --install" OR NOT block MATCHES "make")
      ltc_fail("${README} lost its install block (a sh block after the comment naming tests/package/run.cmake)")
    else()
      set(clone ${WORK}/readme-clone)
      file(MAKE_DIRECTORY ${clone}/build ${clone}/examples ${WORK}/home)
      file(CREATE_LINK ${BUILD_DIR} ${clone}/build/cpu SYMBOLIC)
      file(COPY ${TEMPLATE_DIR} DESTINATION ${clone}/examples)
      file(WRITE ${WORK}/readme-block.sh "set -ex\n${block}")
      get_filename_component(cmake_bin ${CMAKE_COMMAND} DIRECTORY)
      execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=PKG_CONFIG_PATH --unset=LD_LIBRARY_PATH
                              --unset=CMAKE_PREFIX_PATH HOME=${WORK}/home CC=${CC} "PATH=${cmake_bin}:$ENV{PATH}"
                              sh ${WORK}/readme-block.sh
                      WORKING_DIRECTORY ${clone} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
      step("the README's install block, run as written:\n${block}")
      string(REGEX MATCHALL "trained on [^\n]*" runs "${out}")
      list(LENGTH runs nruns)
      ltc_check("the README's block ran the template ${nruns} times, not twice (CMake, then make):\n${out}" nruns EQUAL 2)
      foreach(run IN LISTS runs)
        learned("the template the README's block built" "${run}")
      endforeach()
    endif()
  endif()
  ltc_finish("package test failed")
else()
  ltc_skip("the pkg-config half" "pkg-config not found")
  ltc_finish("package test failed")
endif()
