# check_cuda_needs: which machine the real check_cuda cases take for theirs (NEEDS in check_cuda_case.cmake),
# on the machines that a look at /dev/nvidiactl got wrong, made with the fake and the unloadable drivers
# and the prepared PCI buses (the sysroots of check_cuda.cmake):
#   a container with the device nodes but no GPU visible: a driver that loads and sees no GPU;
#   a machine with a GPU on the bus but no device nodes: no driver loads, or cuInit fails (999);
#   a GPU machine (the fake driver's one GPU), and a machine without a GPU or a driver.
#   cmake -DCASE=check_cuda_case.cmake -DPROBE=ltc-cuda-probe -DFAKE_DIR=dir -DNO_DRIVER_DIR=dir -DSYSROOT=dir
#         -P check_cuda_needs.cmake
cmake_minimum_required(VERSION 3.25)
include(${CMAKE_CURRENT_LIST_DIR}/cmake_check_helpers.cmake)

# decide(MACHINE NEEDS DRIVER_DIR SYSROOT_NAME WANT [VAR=value...]): with DRIVER_DIR first on LD_LIBRARY_PATH
# and the PCI bus of the sysroot SYSROOT_NAME, a NEEDS case applies (WANT APPLIES) or is skipped (WANT SKIP).
function(decide machine needs driver_dir pci want)
  ltc_run(${CMAKE_COMMAND} -E env --unset=LTC_REQUIRE_GPU --unset=LTC_FAKE_CUINIT --unset=LTC_FAKE_GPUS
    "LD_LIBRARY_PATH=${driver_dir}:$ENV{LD_LIBRARY_PATH}" ${ARGN}
    ${CMAKE_COMMAND} -DNAME=decision -DNEEDS=${needs} -DPROBE=${PROBE} -DPCI_DEVICES=${SYSROOT}/${pci}/sys/bus/pci/devices
    -DDECIDE_ONLY=1 -P ${CASE})
  set(said "${out}${err}")
  if(want STREQUAL "APPLIES")
    set(ok rc EQUAL 0 AND said MATCHES "APPLIES" AND NOT said MATCHES "SKIP")
  else()
    set(ok rc EQUAL 0 AND said MATCHES "SKIP: " AND NOT said MATCHES "APPLIES")
  endif()
  ltc_check("${machine}: a NEEDS ${needs} case, wanted ${want}; exit ${rc}, said: ${said}" ${ok})
  string(REGEX MATCH "SKIP the case: ([^\n]*)" reason "${said}")
  message("${machine}, NEEDS ${needs}: ${want} ${CMAKE_MATCH_1}")
  set(passed ${passed} PARENT_SCOPE)
  set(failed ${failed} PARENT_SCOPE)
endfunction()

set(container "a container with the device nodes but no GPU visible")
decide("${container}" gpu ${FAKE_DIR} no_nvidia SKIP LTC_FAKE_GPUS=0)
decide("${container}" no_gpu ${FAKE_DIR} no_nvidia SKIP LTC_FAKE_GPUS=0)
decide("${container}, on a host with an NVIDIA GPU on its PCI bus" no_gpu ${FAKE_DIR} healthy SKIP LTC_FAKE_GPUS=0)
set(no_nodes "a GPU on the PCI bus but no device nodes")
decide("${no_nodes} (no driver loads)" gpu ${NO_DRIVER_DIR} nvidia_no_driver SKIP)
decide("${no_nodes} (no driver loads)" no_gpu ${NO_DRIVER_DIR} nvidia_no_driver SKIP)
decide("${no_nodes} (cuInit fails)" gpu ${FAKE_DIR} nvidia_no_driver SKIP LTC_FAKE_CUINIT=999)
decide("${no_nodes} (cuInit fails)" no_gpu ${FAKE_DIR} nvidia_no_driver SKIP LTC_FAKE_CUINIT=999)
decide("a GPU machine" gpu ${FAKE_DIR} healthy APPLIES)
decide("a GPU machine" no_gpu ${FAKE_DIR} healthy SKIP)
decide("a machine without an NVIDIA GPU or a driver" gpu ${NO_DRIVER_DIR} no_nvidia SKIP)
decide("a machine without an NVIDIA GPU or a driver" no_gpu ${NO_DRIVER_DIR} no_nvidia APPLIES)
decide("a machine with an AMD GPU and no driver" no_gpu ${NO_DRIVER_DIR} amd SKIP)
ltc_finish("the real cases would pick the wrong machines")
