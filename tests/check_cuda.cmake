# check_cuda: the diagnosis, by fault injection (a fake libcuda.so.1 first on LD_LIBRARY_PATH), for real
# on this machine, and on a GPU machine. Each case runs examples/check_cuda and checks exit code, cause,
# message, fix and facts, reading the JSON with CMake's own JSON parser (check_cuda_case.cmake).

ltc_add_test(test_diagnose SOURCES test_diagnose.c LABELS cpu)

if(NOT TARGET check_cuda)
  return()
endif()

add_library(ltc_fake_cuda SHARED fake_libcuda.c)
set_target_properties(ltc_fake_cuda PROPERTIES OUTPUT_NAME cuda SOVERSION 1
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/fakecuda)
set(LTC_FAKE_CUDA_DIR ${CMAKE_CURRENT_BINARY_DIR}/fakecuda)

# The toolkit's own stub, under the name the loader looks for.
find_file(LTC_CUDA_STUB libcuda.so
  PATHS ${CUDAToolkit_LIBRARY_DIR}/stubs ${CUDAToolkit_LIBRARY_ROOT}/lib64/stubs /usr/local/cuda/lib64/stubs
  NO_DEFAULT_PATH)

# ltc_cuda_case(NAME EXIT n [CAUSE c] [MESSAGE "a|b"] [FIX text] [FACTS "k=v|..."] [OUTPUT text]
#               [ARGS "..."] [ENV VAR=op:value...] [LABELS ...] [SKIP_UNLESS path] [SKIP_IF path] [FAKE])
function(ltc_cuda_case name)
  cmake_parse_arguments(C "FAKE" "EXIT;CAUSE;MESSAGE;FIX;FACTS;OUTPUT;SKIP_UNLESS;SKIP_IF;ARGS" "ENV;LABELS" ${ARGN})
  if(NOT DEFINED C_ARGS)
    set(C_ARGS "--quick --json")
  endif()
  set(defs -DEXE=$<TARGET_FILE:check_cuda> "-DARGS=${C_ARGS}" -DEXPECT_EXIT=${C_EXIT})
  foreach(k CAUSE MESSAGE FIX FACTS OUTPUT)
    if(DEFINED C_${k})
      list(APPEND defs "-DEXPECT_${k}=${C_${k}}")
    endif()
  endforeach()
  if(DEFINED C_SKIP_UNLESS)
    list(APPEND defs -DSKIP_UNLESS_EXISTS=${C_SKIP_UNLESS})
  endif()
  if(DEFINED C_SKIP_IF)
    list(APPEND defs -DSKIP_IF_EXISTS=${C_SKIP_IF})
  endif()
  set(env "CUDA_VISIBLE_DEVICES=unset:" ${C_ENV})
  if(C_FAKE)
    list(APPEND env "LD_LIBRARY_PATH=path_list_prepend:${LTC_FAKE_CUDA_DIR}")
  endif()
  if(NOT C_LABELS)
    set(C_LABELS cpu)
  endif()
  add_test(NAME check_cuda_${name} COMMAND ${CMAKE_COMMAND} ${defs} -P ${CMAKE_CURRENT_SOURCE_DIR}/check_cuda_case.cmake)
  set_tests_properties(check_cuda_${name} PROPERTIES ENVIRONMENT_MODIFICATION "${env}" LABELS "${C_LABELS}"
    SKIP_REGULAR_EXPRESSION "SKIPPED:" TIMEOUT 180)
endfunction()

# --- for real, on this machine (no driver) and on a GPU machine
ltc_cuda_case(real_no_driver EXIT 5 CAUSE LTC_CAUSE_NO_DRIVER SKIP_IF /dev/nvidiactl
  MESSAGE "libcuda.so.1 cannot be loaded" FIX "install the NVIDIA driver"
  FACTS "driver.loaded=OFF|build.cuda_built=ON|build.libtorch_cuda_loaded=ON")
ltc_cuda_case(real_gpu EXIT 0 CAUSE LTC_CAUSE_NONE ARGS "--json" SKIP_UNLESS /dev/nvidiactl LABELS gpu
  FACTS "devices.0.proofs.matmul.ok=ON|devices.0.proofs.cudnn_conv.ok=ON|nccl_allreduce.ok=ON|devices.0.arch_in_build=ON")
ltc_cuda_case(real_gpu_hidden EXIT 7 CAUSE LTC_CAUSE_VISIBLE_DEVICES SKIP_UNLESS /dev/nvidiactl LABELS gpu
  ENV "CUDA_VISIBLE_DEVICES=set:-1" MESSAGE "CUDA_VISIBLE_DEVICES=\"-1\"|negative|without it the driver sees")
ltc_cuda_case(real_text EXIT 5 ARGS "--quick" SKIP_IF /dev/nvidiactl OUTPUT "GPU usable: NO: no NVIDIA driver [LTC_CAUSE_NO_DRIVER]")
ltc_cuda_case(bad_argument EXIT 2 ARGS "--bogus" OUTPUT "unknown argument \"--bogus\"")
ltc_cuda_case(help EXIT 0 ARGS "--help" OUTPUT "5  no NVIDIA driver")

# --- each driver cause, by fault injection
ltc_cuda_case(fake_stub_34 FAKE EXIT 6 CAUSE LTC_CAUSE_STUB_DRIVER ENV "LTC_FAKE_CUINIT=set:34"
  MESSAGE "stub libcuda" FIX "from LD_LIBRARY_PATH" FACTS "driver.cuInit.code=34|driver.cuInit.name=CUDA_ERROR_STUB_LIBRARY")
ltc_cuda_case(fake_no_device_100 FAKE EXIT 7 CAUSE LTC_CAUSE_NO_GPU ENV "LTC_FAKE_CUINIT=set:100"
  MESSAGE "sees no GPU" FACTS "driver.cuInit.name=CUDA_ERROR_NO_DEVICE")
ltc_cuda_case(fake_no_gpus FAKE EXIT 7 CAUSE LTC_CAUSE_NO_GPU ENV "LTC_FAKE_GPUS=set:0" MESSAGE "sees no GPU")
ltc_cuda_case(fake_invalid_device_101 FAKE EXIT 6 CAUSE LTC_CAUSE_DRIVER_ERROR ENV "LTC_FAKE_CUINIT=set:101"
  MESSAGE "CUDA_ERROR_INVALID_DEVICE")
ltc_cuda_case(fake_ptx_222 FAKE EXIT 6 CAUSE LTC_CAUSE_PTX_TOO_NEW ENV "LTC_FAKE_CUINIT=set:222" FIX "upgrade the NVIDIA driver")
ltc_cuda_case(fake_not_ready_802 FAKE EXIT 6 CAUSE LTC_CAUSE_SYSTEM_NOT_READY ENV "LTC_FAKE_CUINIT=set:802" FIX "nvidia-fabricmanager")
ltc_cuda_case(fake_mismatch_803 FAKE EXIT 6 CAUSE LTC_CAUSE_DRIVER_MISMATCH ENV "LTC_FAKE_CUINIT=set:803" FIX "reload the nvidia kernel modules")
ltc_cuda_case(fake_compat_804 FAKE EXIT 6 CAUSE LTC_CAUSE_COMPAT_NOT_SUPPORTED ENV "LTC_FAKE_CUINIT=set:804" FIX "cuda-compat")
ltc_cuda_case(fake_unknown_999 FAKE EXIT 6 CAUSE LTC_CAUSE_DEVICE_NODES ENV "LTC_FAKE_CUINIT=set:999" FIX "nvidia-modprobe -c 0 -u")
ltc_cuda_case(fake_driver_too_old FAKE EXIT 6 CAUSE LTC_CAUSE_DRIVER_TOO_OLD ENV "LTC_FAKE_DRIVER_VERSION=set:12040"
  MESSAGE "supports CUDA up to 12.4 but LibTorch was built with CUDA 13.0" FIX "upgrade the driver (CUDA 13.x needs >= 580)"
  FACTS "driver.version=12040")

# --- CUDA_VISIBLE_DEVICES, parsed as PyTorch parses it, on a one-GPU (fake) machine
ltc_cuda_case(cvd_empty FAKE EXIT 7 CAUSE LTC_CAUSE_VISIBLE_DEVICES ENV "CUDA_VISIBLE_DEVICES=set:"
  MESSAGE "CUDA_VISIBLE_DEVICES=\"\"|an empty value hides every GPU|without it the driver sees 1 GPU"
  FIX "unset CUDA_VISIBLE_DEVICES" FACTS "visibility.count_without_it=1|visibility.CUDA_VISIBLE_DEVICES=")
ltc_cuda_case(cvd_minus_one FAKE EXIT 7 CAUSE LTC_CAUSE_VISIBLE_DEVICES ENV "CUDA_VISIBLE_DEVICES=set:-1"
  MESSAGE "CUDA_VISIBLE_DEVICES=\"-1\"|negative|without it the driver sees 1 GPU" FACTS "visibility.count_without_it=1")
ltc_cuda_case(cvd_bogus_uuid FAKE EXIT 7 CAUSE LTC_CAUSE_VISIBLE_DEVICES ENV "CUDA_VISIBLE_DEVICES=set:GPU-bogus"
  MESSAGE "GPU UUIDs GPU-bogus|GPU-00000000-0000-0000-0000-000000000000|without it the driver sees 1 GPU"
  FACTS "visibility.kind=uuids|visibility.parsed.0=GPU-bogus")
ltc_cuda_case(cvd_repeated FAKE EXIT 7 CAUSE LTC_CAUSE_VISIBLE_DEVICES ENV "CUDA_VISIBLE_DEVICES=set:0,0"
  MESSAGE "CUDA_VISIBLE_DEVICES=\"0,0\"|repeats ordinal 0|without it the driver sees 1 GPU")
ltc_cuda_case(cvd_out_of_range FAKE EXIT 7 CAUSE LTC_CAUSE_VISIBLE_DEVICES ENV "CUDA_VISIBLE_DEVICES=set:1"
  MESSAGE "CUDA_VISIBLE_DEVICES=\"1\"|selects ordinal 1, but the machine has 1 GPU (ordinals 0 to 0)"
  FACTS "visibility.parsed.0=1|driver.cuInit.code=101")
ltc_cuda_case(cvd_no_gpu_anyway FAKE EXIT 7 CAUSE LTC_CAUSE_NO_GPU ENV "CUDA_VISIBLE_DEVICES=set:0" "LTC_FAKE_GPUS=set:0"
  MESSAGE "without it too")

if(LTC_CUDA_STUB)
  set(stub_dir ${CMAKE_CURRENT_BINARY_DIR}/stubcuda)
  file(MAKE_DIRECTORY ${stub_dir})
  file(CREATE_LINK ${LTC_CUDA_STUB} ${stub_dir}/libcuda.so.1 SYMBOLIC)
  ltc_cuda_case(toolkit_stub EXIT 6 CAUSE LTC_CAUSE_STUB_DRIVER ENV "LD_LIBRARY_PATH=path_list_prepend:${stub_dir}"
    MESSAGE "stub libcuda" FIX "stubs" FACTS "driver.cuInit.code=34")
endif()

# --- LibTorch's CUDA half dropped by the linker: the classic failure, reproduced on purpose. This library
# is the shim's core linked by hand, as a Makefile would, with --as-needed: libtorch_cuda.so is dropped.
if(LTC_TORCH_HAS_CUDA)
  set(src ${PROJECT_SOURCE_DIR}/shim/src)
  add_library(ltc_asneeded SHARED ${src}/core.cpp ${src}/tensor.cpp ${src}/nn.cpp ${src}/cuda.cpp
    ${src}/diagnose.cpp ${src}/cudriver.c)
  target_include_directories(ltc_asneeded PUBLIC ${PROJECT_SOURCE_DIR}/shim/include)
  target_include_directories(ltc_asneeded SYSTEM PRIVATE ${TORCH_INCLUDE_DIRS})
  separate_arguments(torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  target_compile_options(ltc_asneeded PRIVATE ${torch_flags})
  target_compile_definitions(ltc_asneeded PRIVATE LTC_BUILDING)
  foreach(lib torch_cpu torch_cuda c10)
    find_library(LTC_LIB_${lib} ${lib} PATHS ${TORCH_INSTALL_PREFIX}/lib NO_DEFAULT_PATH REQUIRED)
  endforeach()
  target_link_options(ltc_asneeded PRIVATE "LINKER:--as-needed")
  target_link_libraries(ltc_asneeded PRIVATE ${LTC_LIB_torch_cpu} ${LTC_LIB_torch_cuda} ${LTC_LIB_c10} ${CMAKE_DL_LIBS})
  set_target_properties(ltc_asneeded PROPERTIES CXX_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/shim)  # beside ltc-cuda-probe
  add_dependencies(ltc_asneeded ltc-cuda-probe)
  add_executable(test_diagnose_unlinked test_diagnose_unlinked.c)
  target_link_libraries(test_diagnose_unlinked PRIVATE ltc_asneeded)
  target_compile_options(test_diagnose_unlinked PRIVATE ${LTC_WARNINGS})
  add_test(NAME test_diagnose_unlinked COMMAND test_diagnose_unlinked)
  set_tests_properties(test_diagnose_unlinked PROPERTIES LABELS cpu TIMEOUT 120)
endif()
