# check_cuda: the diagnosis, by fault injection (a fake libcuda.so.1 first on LD_LIBRARY_PATH), for real
# on this machine, and on a GPU machine. Each case runs examples/check_cuda and checks exit code, cause,
# message, fix and facts, reading the JSON with CMake's own JSON parser (check_cuda_case.cmake).

ltc_add_test(test_diagnose SOURCES test_diagnose.c LABELS cpu)
target_link_libraries(test_diagnose PRIVATE Threads::Threads)
# The advice table on its own (standard C++, no LibTorch): driver floors, builds, pip commands, suspects.
add_executable(test_diagnose_advice test_diagnose_advice.cpp ${PROJECT_SOURCE_DIR}/shim/diagnose/diagnose_advice.cpp)
target_include_directories(test_diagnose_advice PRIVATE ${PROJECT_SOURCE_DIR}/shim/diagnose ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_options(test_diagnose_advice PRIVATE ${LTC_WARNINGS})
add_test(NAME test_diagnose_advice COMMAND test_diagnose_advice)
set_tests_properties(test_diagnose_advice PROPERTIES LABELS cpu)

if(NOT TARGET check_cuda)
  return()
endif()

add_library(ltc_fake_cuda SHARED fake_libcuda.c)
set_target_properties(ltc_fake_cuda PROPERTIES OUTPUT_NAME cuda SOVERSION 1
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/fakecuda)
set(LTC_FAKE_CUDA_DIR ${CMAKE_CURRENT_BINARY_DIR}/fakecuda)
# The fake NVML beside it (libnvidia-ml.so.1).
add_library(ltc_fake_nvml SHARED fake_nvml.c)
set_target_properties(ltc_fake_nvml PROPERTIES OUTPUT_NAME nvidia-ml SOVERSION 1
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/fakecuda)
add_dependencies(check_cuda ltc_fake_cuda ltc_fake_nvml)

# The toolkit's own stub, under the name the loader looks for.
find_file(LTC_CUDA_STUB libcuda.so
  PATHS ${CUDAToolkit_LIBRARY_DIR}/stubs ${CUDAToolkit_LIBRARY_ROOT}/lib64/stubs /usr/local/cuda/lib64/stubs
  NO_DEFAULT_PATH)

# ltc_sysroot(NAME [flags]): a prepared tree of /dev, /proc and /sys for LTC_DIAGNOSE_SYSROOT (test-only,
# docs/diagnosis.md). By default a healthy machine with one NVIDIA GPU: on the PCI bus, driver and UVM
# modules loaded, device nodes present. Each flag breaks one thing.
function(ltc_sysroot name)
  set(flags NO_NVIDIA_PCI AMD INTEL CONTAINER WSL WSL_LIBCUDA NO_NODES NO_UVM NO_MODULE NOUVEAU SECURE_BOOT LOCKED_NODE)
  cmake_parse_arguments(S "${flags}" "" "" ${ARGN})
  set(r ${CMAKE_CURRENT_BINARY_DIR}/sysroot/${name})
  file(REMOVE_RECURSE ${r})
  set(pci ${r}/sys/bus/pci/devices)
  macro(pci_device addr vendor device class driver)
    file(WRITE ${pci}/${addr}/vendor "${vendor}\n")
    file(WRITE ${pci}/${addr}/device "${device}\n")
    file(WRITE ${pci}/${addr}/class "${class}\n")
    if(NOT "${driver}" STREQUAL "")
      file(CREATE_LINK ../../../bus/pci/drivers/${driver} ${pci}/${addr}/driver SYMBOLIC)
    endif()
  endmacro()
  pci_device(0000:00:00.0 0x8086 0x1237 0x060000 "")  # a host bridge: not a GPU
  if(NOT S_NO_NVIDIA_PCI)
    set(drv nvidia)
    if(S_NOUVEAU)
      set(drv nouveau)
    elseif(S_NO_MODULE)
      set(drv "")
    endif()
    pci_device(0000:65:00.0 0x10de 0x2330 0x030200 "${drv}")
  endif()
  if(S_AMD)
    pci_device(0000:03:00.0 0x1002 0x744c 0x030000 amdgpu)
  endif()
  if(S_INTEL)
    pci_device(0000:00:02.0 0x8086 0x56a0 0x030000 i915)
  endif()
  if(S_WSL)
    file(WRITE ${r}/proc/version "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@1d4b0d6bde56) (gcc (GCC) 11.2.0) #1 SMP\n")
  else()
    file(WRITE ${r}/proc/version "Linux version 6.8.0-49-generic (buildd@lcy02-amd64-103) (gcc 13.2.0) #49-Ubuntu SMP\n")
  endif()
  file(WRITE ${r}/proc/1/cgroup "0::/init.scope\n")
  if(S_WSL_LIBCUDA)
    file(WRITE ${r}/usr/lib/wsl/lib/libcuda.so.1 "")
  endif()
  if(S_CONTAINER)
    file(WRITE ${r}/.dockerenv "")
  endif()
  if(NOT S_NO_NODES)
    set(nodes nvidiactl nvidia0)
    if(NOT S_NO_UVM)
      list(APPEND nodes nvidia-uvm)
    endif()
    foreach(n IN LISTS nodes)  # 0666, as the driver makes them
      file(WRITE ${r}/dev/${n} "")
      file(CHMOD ${r}/dev/${n} PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ GROUP_WRITE WORLD_READ WORLD_WRITE)
    endforeach()
  endif()
  if(S_LOCKED_NODE)  # 0660: only its owner and group may open it
    file(CHMOD ${r}/dev/nvidia0 PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ GROUP_WRITE)
  endif()
  if(NOT S_NO_MODULE)
    file(MAKE_DIRECTORY ${r}/sys/module/nvidia)
    file(WRITE ${r}/proc/driver/nvidia/version
      "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.65.06  Release Build  (dvs-builder@U16-I3-B03-4-3)\n")
    if(NOT S_NO_UVM)
      file(MAKE_DIRECTORY ${r}/sys/module/nvidia_uvm)
    endif()
  else()
    file(MAKE_DIRECTORY ${r}/sys/module)
  endif()
  if(S_NOUVEAU)
    file(MAKE_DIRECTORY ${r}/sys/module/nouveau)
  endif()
  if(S_SECURE_BOOT)  # the EFI variable: 4 bytes of attributes, then 1
    file(MAKE_DIRECTORY ${r}/sys/firmware/efi/efivars)
    execute_process(COMMAND printf "\\007\\000\\000\\000\\001"
      OUTPUT_FILE ${r}/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c)
  endif()
endfunction()

ltc_sysroot(healthy)
set(LTC_SYSROOT ${CMAKE_CURRENT_BINARY_DIR}/sysroot)
# A driver that cannot be loaded, on any machine: files named like the driver's libraries but holding no
# library, first on LD_LIBRARY_PATH, make dlopen fail ("file too short") before it reaches a real driver.
set(LTC_NO_DRIVER_DIR ${CMAKE_CURRENT_BINARY_DIR}/nodriver)
file(WRITE ${LTC_NO_DRIVER_DIR}/libcuda.so.1 "not a library: the NO_DRIVER test cases\n")
file(WRITE ${LTC_NO_DRIVER_DIR}/libnvidia-ml.so.1 "not a library: the NO_DRIVER test cases\n")

# ltc_cuda_case(NAME EXIT n [CAUSE c] [MESSAGE "a|b"] [FIX "a|b"] [FACTS "k=v|..."] [OUTPUT text]
#               [ARGS "..."] [ENV VAR=op:value...] [LABELS ...] [NEEDS gpu|no_gpu]
#               [FAKE | NO_DRIVER] [SYSROOT name] [AS_NOBODY] [FINDING code] [MAX_SEVERITY info])
# NEEDS: the real machine the case is for, decided when it runs (check_cuda_case.cmake); elsewhere it is
# reported Skipped.
# FAKE puts the fake libcuda and NVML first on LD_LIBRARY_PATH, with the healthy sysroot unless SYSROOT
# names another tree. NO_DRIVER puts unloadable ones there instead: no driver, also on a GPU machine. AS_NOBODY runs it as user nobody when the tests run as root (permissions hold then).
function(ltc_cuda_case name)
  cmake_parse_arguments(C "FAKE;NO_DRIVER;AS_NOBODY" "EXIT;CAUSE;MESSAGE;FIX;FACTS;OUTPUT;NEEDS;ARGS;SYSROOT;FINDING;MAX_SEVERITY" "ENV;LABELS" ${ARGN})
  if(NOT DEFINED C_ARGS)
    set(C_ARGS "--quick --json")
  endif()
  set(defs -DNAME=${name} -DEXE=$<TARGET_FILE:check_cuda> "-DARGS=${C_ARGS}" -DEXPECT_EXIT=${C_EXIT})
  foreach(k CAUSE MESSAGE FIX FACTS OUTPUT FINDING MAX_SEVERITY)
    if(DEFINED C_${k})
      list(APPEND defs "-DEXPECT_${k}=${C_${k}}")
    endif()
  endforeach()
  if(DEFINED C_NEEDS)
    list(APPEND defs -DNEEDS=${C_NEEDS} -DPROBE=$<TARGET_FILE:ltc-cuda-probe>)
  endif()
  if(C_AS_NOBODY)
    list(APPEND defs -DAS_NOBODY=1)
  endif()
  # no Slurm job, no suspect variables from the machine that runs the tests
  set(env "CUDA_VISIBLE_DEVICES=unset:" "SLURM_JOB_ID=unset:" "SLURM_JOB_GPUS=unset:" "SLURM_STEP_GPUS=unset:"
      "LTC_CHECK_CUDA_LIBRARY=unset:" "LTC_DIAGNOSE_SYSROOT=unset:")
  if(C_FAKE AND NOT DEFINED C_SYSROOT)
    set(C_SYSROOT healthy)
  endif()
  if(DEFINED C_SYSROOT)
    list(APPEND env "LTC_DIAGNOSE_SYSROOT=set:${LTC_SYSROOT}/${C_SYSROOT}")
  endif()
  list(APPEND env ${C_ENV})
  if(C_FAKE)
    list(APPEND env "LD_LIBRARY_PATH=path_list_prepend:${LTC_FAKE_CUDA_DIR}")
  elseif(C_NO_DRIVER)
    list(APPEND env "LD_LIBRARY_PATH=path_list_prepend:${LTC_NO_DRIVER_DIR}")
  endif()
  if(NOT C_LABELS)
    set(C_LABELS cpu)
  endif()
  add_test(NAME check_cuda_${name} COMMAND ${CMAKE_COMMAND} ${defs} -P ${CMAKE_CURRENT_SOURCE_DIR}/check_cuda_case.cmake)
  set_tests_properties(check_cuda_${name} PROPERTIES ENVIRONMENT_MODIFICATION "${env}" LABELS "${C_LABELS}"
    SKIP_REGULAR_EXPRESSION "SKIP: " TIMEOUT 180)
endfunction()

# --- for real: on a machine with no NVIDIA GPU and no driver (NEEDS no_gpu), and on one whose driver sees a
# GPU (NEEDS gpu); each is Skipped on the other machines
ltc_cuda_case(real_no_gpu EXIT 7 CAUSE LTC_CAUSE_NO_GPU NEEDS no_gpu
  MESSAGE "no NVIDIA GPU in this machine|PCI devices" FIX "run on a machine with an NVIDIA GPU"
  FACTS "driver.loaded=OFF|build.cuda_built=ON|build.libtorch_cuda_loaded=ON|machine.nvidia_gpu_on_pci=OFF")
ltc_cuda_case(real_gpu EXIT 0 CAUSE LTC_CAUSE_NONE ARGS "--json" NEEDS gpu LABELS gpu MAX_SEVERITY info
  FACTS "devices.0.proofs.matmul.ok=ON|devices.0.proofs.cudnn_conv.ok=ON|nccl_allreduce.ok=ON|devices.0.arch_in_build=ON|machine.nvidia_gpu_on_pci=ON")
ltc_cuda_case(real_gpu_quick EXIT 0 CAUSE LTC_CAUSE_NONE NEEDS gpu LABELS gpu MAX_SEVERITY info
  FACTS "nvml=")
ltc_cuda_case(real_gpu_hidden EXIT 7 CAUSE LTC_CAUSE_VISIBLE_DEVICES NEEDS gpu LABELS gpu
  ENV "CUDA_VISIBLE_DEVICES=set:-1" MESSAGE "CUDA_VISIBLE_DEVICES=\"-1\"|negative|without it the driver sees")
ltc_cuda_case(real_gpu_nccl_suspect EXIT 9 CAUSE LTC_CAUSE_NCCL ARGS "--json" NEEDS gpu LABELS gpu
  ENV "NCCL_SOCKET_IFNAME=set:ltc_no_such_if0" FIX "NCCL_SOCKET_IFNAME=ltc_no_such_if0" FINDING LTC_CAUSE_SUSPECT_VARIABLE)
ltc_cuda_case(real_text EXIT 7 ARGS "--quick" NEEDS no_gpu OUTPUT "GPU usable: NO: no NVIDIA GPU [LTC_CAUSE_NO_GPU]")
# ... and that choice, on the machines that a look at /dev/nvidiactl got wrong (fake drivers, prepared buses)
add_test(NAME check_cuda_needs COMMAND ${CMAKE_COMMAND} -DCASE=${CMAKE_CURRENT_SOURCE_DIR}/check_cuda_case.cmake
  -DPROBE=$<TARGET_FILE:ltc-cuda-probe> -DFAKE_DIR=${LTC_FAKE_CUDA_DIR} -DNO_DRIVER_DIR=${LTC_NO_DRIVER_DIR}
  -DSYSROOT=${LTC_SYSROOT} -P ${CMAKE_CURRENT_SOURCE_DIR}/check_cuda_needs.cmake)
set_tests_properties(check_cuda_needs PROPERTIES LABELS cpu TIMEOUT 120
  ENVIRONMENT_MODIFICATION "CUDA_VISIBLE_DEVICES=unset:;LTC_DIAGNOSE_SYSROOT=unset:")
ltc_cuda_case(bad_argument EXIT 2 ARGS "--bogus" OUTPUT "error: unknown option \"--bogus\" (try --help)")
ltc_cuda_case(help EXIT 0 ARGS "--help" OUTPUT "10 libltc or LibTorch cannot be loaded")
ltc_cuda_case(help_ranges EXIT 0 ARGS "--help" OUTPUT "--nproc N check N local ranks, 1 to 4096")
# more ranks than this process may run (one per CPU core): bad usage, naming the bound; a value out of range
ltc_cuda_case(nproc_past_cores EXIT 2 ARGS "--nproc 4096" OUTPUT "error: --nproc 4096 is not valid: 4096 CPU ranks asked for, but this process may use")
ltc_cuda_case(nproc_range EXIT 2 ARGS "--nproc 0" OUTPUT "error: --nproc 0 is not valid: use 1 to 4096, and at most one per CPU core (try --help)")
# --help into a full disk: the lost output is an error, exit 1 (docs/conventions.md)
add_test(NAME check_cuda_help_write_error COMMAND sh -c
  "[ -w /dev/full ] || { echo 'SKIP: no /dev/full'; exit 0; }; out=$(\"$0\" --help 2>&1 >/dev/full); rc=$?; [ $rc -eq 1 ] && case $out in *'cannot write the output: No space left on device'*) exit 0 ;; esac; echo \"exit $rc, wanted 1: $out\"; exit 1"
  $<TARGET_FILE:check_cuda>)
set_tests_properties(check_cuda_help_write_error PROPERTIES LABELS cpu SKIP_REGULAR_EXPRESSION "SKIP: ")

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
# a CUDA 12.2 driver under a CUDA 13.0 LibTorch: the three facts of a working combination
ltc_cuda_case(fake_driver_too_old FAKE EXIT 6 CAUSE LTC_CAUSE_DRIVER_TOO_OLD ENV "LTC_FAKE_DRIVER_VERSION=set:12020"
  MESSAGE "(580.65.06) supports CUDA up to 12.2 but LibTorch was built with CUDA 13.0"
  FIX "needs driver >= 580.65.06|pip install torch==2.11.0 --index-url https://download.pytorch.org/whl/cu126|minor-version compatibility|cu128 too"
  FACTS "driver.version=12020|driver.advice.supports_cuda=12.2|driver.advice.libtorch_needs_driver=580.65.06")
ltc_cuda_case(fake_driver_cuda11 FAKE EXIT 6 CAUSE LTC_CAUSE_DRIVER_TOO_OLD ENV "LTC_FAKE_DRIVER_VERSION=set:11040"
  FIX "pip install torch==2.7.0 --index-url https://download.pytorch.org/whl/cu118")

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

# --- outside the process: prepared /dev, /proc and /sys trees (LTC_DIAGNOSE_SYSROOT), env variables, NVML
ltc_sysroot(no_nvidia NO_NVIDIA_PCI NO_NODES NO_MODULE)
ltc_sysroot(amd NO_NVIDIA_PCI AMD NO_NODES NO_MODULE)
ltc_sysroot(intel NO_NVIDIA_PCI INTEL NO_NODES NO_MODULE)
ltc_sysroot(nvidia_no_driver NO_NODES NO_MODULE)
ltc_sysroot(container CONTAINER NO_NODES)
ltc_sysroot(wsl WSL NO_NVIDIA_PCI NO_NODES NO_MODULE)
ltc_sysroot(wsl_libcuda WSL WSL_LIBCUDA NO_NVIDIA_PCI NO_NODES NO_MODULE)
ltc_sysroot(no_uvm NO_UVM)
ltc_sysroot(no_module NO_MODULE)
ltc_sysroot(nouveau NO_MODULE NOUVEAU)
ltc_sysroot(secure_boot NO_MODULE SECURE_BOOT)
ltc_sysroot(locked_node LOCKED_NODE)
ltc_cuda_case(sys_no_nvidia_gpu NO_DRIVER EXIT 7 CAUSE LTC_CAUSE_NO_GPU SYSROOT no_nvidia
  MESSAGE "no NVIDIA GPU in this machine|none of its 1 PCI devices" FIX "run on a machine with an NVIDIA GPU")
ltc_cuda_case(sys_amd_gpu NO_DRIVER EXIT 7 CAUSE LTC_CAUSE_OTHER_GPU_VENDOR SYSROOT amd
  MESSAGE "no NVIDIA GPU in this machine|an AMD GPU (PCI 0000:03:00.0, 1002:744c)" FIX "ROCm build")
ltc_cuda_case(sys_intel_gpu NO_DRIVER EXIT 7 CAUSE LTC_CAUSE_OTHER_GPU_VENDOR SYSROOT intel MESSAGE "an Intel GPU" FIX "whl/xpu")
ltc_cuda_case(sys_nvidia_no_driver NO_DRIVER EXIT 5 CAUSE LTC_CAUSE_NO_DRIVER SYSROOT nvidia_no_driver
  MESSAGE "libcuda.so.1 cannot be loaded, though the PCI bus has an NVIDIA GPU (0000:65:00.0, device 0x2330, kernel driver: none)"
  FIX "install the NVIDIA driver (this LibTorch (CUDA 13.0) needs driver >= 580.65.06)")
ltc_cuda_case(sys_container NO_DRIVER EXIT 7 CAUSE LTC_CAUSE_CONTAINER_NO_GPU SYSROOT container
  MESSAGE "docker container was started without GPU access|no /dev/nvidia*" FIX "--gpus all")
ltc_cuda_case(sys_container_libcuda FAKE EXIT 7 CAUSE LTC_CAUSE_CONTAINER_NO_GPU SYSROOT container ENV "LTC_FAKE_CUINIT=set:100"
  MESSAGE "a libcuda is mounted, but no GPU" FIX "NVIDIA Container Toolkit")
ltc_cuda_case(sys_wsl_no_windows_driver NO_DRIVER EXIT 6 CAUSE LTC_CAUSE_WSL_DRIVER SYSROOT wsl
  MESSAGE "WSL2 without the Windows NVIDIA driver" FIX "install the NVIDIA driver on Windows" FACTS "machine.wsl=ON")
ltc_cuda_case(sys_wsl_not_searched NO_DRIVER EXIT 6 CAUSE LTC_CAUSE_WSL_DRIVER SYSROOT wsl_libcuda
  MESSAGE "is in /usr/lib/wsl/lib, but the loader does not search there" FIX "/usr/lib/wsl/lib to LD_LIBRARY_PATH")
ltc_cuda_case(sys_wsl_linux_driver FAKE EXIT 6 CAUSE LTC_CAUSE_WSL_DRIVER SYSROOT wsl ENV "LTC_FAKE_CUINIT=set:100"
  MESSAGE "WSL2 loaded a Linux libcuda" FIX "remove the Linux NVIDIA driver installed inside WSL")
ltc_cuda_case(sys_slurm_no_gpu FAKE EXIT 7 CAUSE LTC_CAUSE_BATCH_NO_GPU SYSROOT no_nvidia ENV "LTC_FAKE_CUINIT=set:100" "SLURM_JOB_ID=set:4242"
  MESSAGE "this Slurm job (SLURM_JOB_ID=4242) was given no GPU" FIX "--gres=gpu:1" FACTS "machine.slurm_job=4242")
ltc_cuda_case(sys_slurm_no_driver NO_DRIVER EXIT 7 CAUSE LTC_CAUSE_BATCH_NO_GPU SYSROOT no_nvidia ENV "SLURM_JOB_ID=set:77" MESSAGE "was given no GPU")
ltc_cuda_case(sys_slurm_with_gpus FAKE EXIT 7 CAUSE LTC_CAUSE_NO_GPU SYSROOT no_nvidia ENV "LTC_FAKE_CUINIT=set:100" "SLURM_JOB_ID=set:4242"
  "SLURM_JOB_GPUS=set:0" MESSAGE "no NVIDIA GPU in this machine")
ltc_cuda_case(sys_no_uvm FAKE EXIT 6 CAUSE LTC_CAUSE_UVM_MISSING SYSROOT no_uvm ENV "LTC_FAKE_CUINIT=set:999"
  MESSAGE "nvidia_uvm kernel module is not loaded|/dev/nvidia-uvm is missing" FIX "modprobe nvidia_uvm")
ltc_cuda_case(sys_no_module FAKE EXIT 5 CAUSE LTC_CAUSE_KERNEL_MODULE SYSROOT no_module ENV "LTC_FAKE_CUINIT=set:100"
  MESSAGE "NVIDIA kernel module is not loaded" FIX "sudo modprobe nvidia")
ltc_cuda_case(sys_nouveau FAKE EXIT 5 CAUSE LTC_CAUSE_KERNEL_MODULE SYSROOT nouveau ENV "LTC_FAKE_CUINIT=set:100"
  MESSAGE "nouveau" FIX "blacklist nouveau")
ltc_cuda_case(sys_secure_boot FAKE EXIT 5 CAUSE LTC_CAUSE_KERNEL_MODULE SYSROOT secure_boot ENV "LTC_FAKE_CUINIT=set:999"
  MESSAGE "Secure Boot is on" FIX "mokutil")
ltc_cuda_case(sys_locked_node FAKE EXIT 6 CAUSE LTC_CAUSE_DEVICE_NODES SYSROOT locked_node ENV "LTC_FAKE_CUINIT=set:999" AS_NOBODY
  MESSAGE "/dev/nvidia0 exists but this process cannot open it: Permission denied" FIX "add the user to the group that owns it")
# NVML's view (the fake libnvidia-ml.so.1)
ltc_cuda_case(nvml_busy_46 FAKE EXIT 11 CAUSE LTC_CAUSE_GPU_BUSY ENV "LTC_FAKE_CUINIT=set:46" "LTC_FAKE_NVML_MODE=set:3"
  "LTC_FAKE_NVML_PROCS=set:4242:1000" MESSAGE "exclusive-process compute mode and is taken by PID 4242" FIX "nvidia-smi -i 0 -c DEFAULT")
ltc_cuda_case(busy_46_no_nvml FAKE EXIT 11 CAUSE LTC_CAUSE_GPU_BUSY ENV "LTC_FAKE_CUINIT=set:46" "LTC_FAKE_NVML_INIT=set:9"
  MESSAGE "busy or unavailable (CUDA error 46)")
ltc_cuda_case(nvml_prohibited FAKE EXIT 11 CAUSE LTC_CAUSE_GPU_BUSY ENV "LTC_FAKE_NVML_MODE=set:2" MESSAGE "prohibited compute mode")
ltc_cuda_case(nvml_mig FAKE EXIT 7 CAUSE LTC_CAUSE_MIG ENV "LTC_FAKE_GPUS=set:1" "LTC_FAKE_CUINIT=set:100" "LTC_FAKE_NVML_MIG=set:1"
  MESSAGE "is in MIG mode" FIX "CUDA_VISIBLE_DEVICES=MIG-")
ltc_cuda_case(nvml_memory_2 FAKE EXIT 11 CAUSE LTC_CAUSE_GPU_MEMORY_TAKEN ENV "LTC_FAKE_CUINIT=set:2" "LTC_FAKE_NVML_FREE_MIB=set:100"
  "LTC_FAKE_NVML_PROCS=set:4242:70000,4243:11000" MESSAGE "GPU 0 has 100 MiB free of 81920 MiB, held by PID 4242 (70000 MiB), PID 4243 (11000 MiB)" FIX "end the processes")
ltc_cuda_case(nvml_lost FAKE EXIT 11 CAUSE LTC_CAUSE_GPU_LOST ENV "LTC_FAKE_CUINIT=set:999" "LTC_FAKE_NVML_LOST=set:0"
  MESSAGE "GPU 0 is lost: NVML says NVML_ERROR_GPU_IS_LOST" FIX "nvidia-smi -r -i 0")
ltc_cuda_case(ecc_214 FAKE EXIT 11 CAUSE LTC_CAUSE_GPU_LOST ENV "LTC_FAKE_CUINIT=set:214" MESSAGE "uncorrectable ECC error (CUDA error 214)")

# --- libltc or LibTorch cannot be loaded: check_cuda's front explains (exit 10)
file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/badlibs/c10)
add_library(ltc_wrong_c10 SHARED fake_libc10.c)  # another "libc10.so": none of LibTorch's symbols
set_target_properties(ltc_wrong_c10 PROPERTIES OUTPUT_NAME c10 NO_SONAME ON LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/badlibs/c10)
# a library that needs one that is nowhere (libltc_gone.so.1, built into a folder no search path names)
add_library(ltc_gone SHARED fake_libc10.c)
set_target_properties(ltc_gone PROPERTIES OUTPUT_NAME ltc_gone SOVERSION 1 LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/badlibs/gone)
add_library(ltc_needs_gone SHARED fake_libc10.c)
target_link_libraries(ltc_needs_gone PRIVATE ltc_gone)
target_compile_definitions(ltc_needs_gone PRIVATE LTC_NEEDS_GONE)
set_target_properties(ltc_needs_gone PROPERTIES SKIP_BUILD_RPATH ON LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/badlibs)
# ... and a copy of it for another architecture (e_machine set to aarch64), where LD_LIBRARY_PATH points
set(foreign ${CMAKE_CURRENT_BINARY_DIR}/badlibs/foreign/libltc_gone.so.1)
add_custom_command(TARGET ltc_needs_gone POST_BUILD
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/badlibs/foreign
  COMMAND ${CMAKE_COMMAND} -E copy $<TARGET_FILE:ltc_gone> ${foreign}
  COMMAND sh -c "printf '\\267\\000' | dd of=${foreign} bs=1 seek=18 conv=notrunc status=none" VERBATIM)
add_dependencies(check_cuda ltc_wrong_c10 ltc_needs_gone)
ltc_cuda_case(load_wrong_libc10 EXIT 10 CAUSE LTC_CAUSE_LIBRARY_LOAD
  ENV "LD_LIBRARY_PATH=path_list_prepend:${CMAKE_CURRENT_BINARY_DIR}/badlibs/c10"
  MESSAGE "libtorch_cpu.so needs _ZTIN3c105ErrorE, which the libc10.so loaded does not define|took libc10.so from ${CMAKE_CURRENT_BINARY_DIR}/badlibs/c10|LD_LIBRARY_PATH"
  FIX "remove ${CMAKE_CURRENT_BINARY_DIR}/badlibs/c10 from LD_LIBRARY_PATH"
  FACTS "loader.kind=undefined_symbol|loader.at_fault=libc10.so|loader.picked=${CMAKE_CURRENT_BINARY_DIR}/badlibs/c10/libc10.so")
ltc_cuda_case(load_wrong_libc10_text EXIT 10 ARGS "--quick" ENV "LD_LIBRARY_PATH=path_list_prepend:${CMAKE_CURRENT_BINARY_DIR}/badlibs/c10"
  OUTPUT "GPU usable: NO: LibTorch or libltc cannot be loaded [LTC_CAUSE_LIBRARY_LOAD]")
# the front reads the command line with check_cuda's own parser before the load: --help and bad usage
# are answered even when libltc cannot be loaded
ltc_cuda_case(load_fails_help EXIT 0 ARGS "--help" ENV "LD_LIBRARY_PATH=path_list_prepend:${CMAKE_CURRENT_BINARY_DIR}/badlibs/c10"
  OUTPUT "10 libltc or LibTorch cannot be loaded")
ltc_cuda_case(load_fails_bad_usage EXIT 2 ARGS "--timeout 0" ENV "LD_LIBRARY_PATH=path_list_prepend:${CMAKE_CURRENT_BINARY_DIR}/badlibs/c10"
  OUTPUT "error: --timeout 0 is not valid: use seconds, above 0 to 1e7 (try --help)")
ltc_cuda_case(load_missing EXIT 10 CAUSE LTC_CAUSE_LIBRARY_LOAD
  ENV "LTC_CHECK_CUDA_LIBRARY=set:${CMAKE_CURRENT_BINARY_DIR}/badlibs/libltc_needs_gone.so"
  MESSAGE "libltc_gone.so.1, needed by ${CMAKE_CURRENT_BINARY_DIR}/badlibs/libltc_needs_gone.so, is not found"
  FACTS "loader.kind=missing|loader.at_fault=libltc_gone.so.1")
ltc_cuda_case(load_wrong_arch EXIT 10 CAUSE LTC_CAUSE_LIBRARY_LOAD
  ENV "LTC_CHECK_CUDA_LIBRARY=set:${CMAKE_CURRENT_BINARY_DIR}/badlibs/libltc_needs_gone.so"
      "LD_LIBRARY_PATH=path_list_prepend:${CMAKE_CURRENT_BINARY_DIR}/badlibs/foreign"
  MESSAGE "exists only for another architecture|${foreign} (64-bit, aarch64)|this program is x86_64" FIX "install the x86_64 build"
  FACTS "loader.kind=wrong_architecture")

# --- the catalogue: a row in docs/diagnosis.md for every cause of ltc.h
add_test(NAME test_diagnosis_doc COMMAND ${CMAKE_COMMAND} -DHEADER=${PROJECT_SOURCE_DIR}/shim/include/ltc/diagnose.h
  -DDOC=${PROJECT_SOURCE_DIR}/docs/diagnosis.md -DTESTS=${CMAKE_CURRENT_SOURCE_DIR}/check_cuda.cmake
  -P ${CMAKE_CURRENT_SOURCE_DIR}/check_diagnosis_doc.cmake)
set_tests_properties(test_diagnosis_doc PROPERTIES LABELS cpu)

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
  set(core ${PROJECT_SOURCE_DIR}/shim/core)
  set(src ${PROJECT_SOURCE_DIR}/shim/diagnose)
  add_library(ltc_asneeded SHARED ${core}/core.cpp ${core}/tensor.cpp ${core}/loss.cpp ${core}/cuda.cpp
    ${core}/optim.cpp ${core}/module.cpp ${core}/tensor_list.cpp
    ${src}/diagnose.cpp ${src}/diagnose_build.cpp ${src}/diagnose_loader.cpp ${src}/diagnose_driver.cpp
    ${src}/diagnose_environment.cpp ${src}/diagnose_proofs.cpp ${src}/diagnose_libraries.cpp ${src}/diagnose_advice.cpp
    ${src}/diagnose_report.cpp ${src}/diagnose_json.cpp ${src}/cudriver.c ${PROJECT_SOURCE_DIR}/shim/common/json.c)
  target_include_directories(ltc_asneeded PRIVATE ${core} ${src} ${PROJECT_SOURCE_DIR}/shim/common)
  # Its "built against" is made up (compiled in, as shim/CMakeLists.txt does for libltc): the diagnosis must
  # name the LibTorch loaded against it (LTC_CAUSE_LIBTORCH_MISMATCH, checked by test_diagnose_unlinked).
  set_property(SOURCE ${src}/diagnose_loader.cpp TARGET_DIRECTORY ltc_asneeded APPEND PROPERTY COMPILE_DEFINITIONS
    LTC_BUILT_TORCH_DIR="/opt/ltc-test/other-libtorch/lib" LTC_BUILT_TORCH_VERSION="2.0.0" LTC_BUILT_WITH_CUDA=1)
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
  target_compile_definitions(test_diagnose_unlinked PRIVATE LTC_TEST_TORCH_VERSION="${Torch_VERSION}")
  target_compile_options(test_diagnose_unlinked PRIVATE ${LTC_WARNINGS})
  add_test(NAME test_diagnose_unlinked COMMAND test_diagnose_unlinked)
  set_tests_properties(test_diagnose_unlinked PROPERTIES LABELS cpu TIMEOUT 120 SKIP_RETURN_CODE 77)
endif()
