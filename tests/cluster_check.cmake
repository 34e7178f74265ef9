# The cross-rank check (ltc_cluster_check, check_cuda under a launcher): CPU ranks on 127.0.0.1 started by
# check_cuda --nproc, by torchrun (when the Python beside LibTorch has it), and by hand with a fake driver
# on one rank; the API's all-reduce proof and sweep through the store. On any machine: the test makes
# itself a machine without an NVIDIA GPU or driver (the unloadable driver of the NO_DRIVER cases, the
# no_nvidia sysroot). test_cluster_check_gpu is the GPU half.
if(NOT TARGET check_cuda OR NOT TARGET ltc_fake_cuda)
  return()
endif()
ltc_add_test(test_cluster_check SOURCES test_cluster_check.c LABELS cpu)
# The fake driver's ranks see the prepared tree of a healthy GPU machine (/dev, /proc, /sys), as the
# check_cuda FAKE cases do; the others that of a machine without an NVIDIA GPU.
target_compile_definitions(test_cluster_check PRIVATE CHECK_CUDA_EXE="$<TARGET_FILE:check_cuda>"
  FAKE_CUDA_DIR="${LTC_FAKE_CUDA_DIR}" FAKE_SYSROOT="${LTC_SYSROOT}/healthy"
  NO_DRIVER_DIR="${LTC_NO_DRIVER_DIR}" NO_GPU_SYSROOT="${LTC_SYSROOT}/no_nvidia")
if(LTC_TEST_TORCH_PYTHON)
  target_compile_definitions(test_cluster_check PRIVATE TORCH_PYTHON="${LTC_TEST_TORCH_PYTHON}")
endif()
add_library(ltc_die_preload SHARED die_preload.c)
target_compile_definitions(test_cluster_check PRIVATE DIE_PRELOAD="$<TARGET_FILE:ltc_die_preload>")
add_dependencies(test_cluster_check check_cuda ltc_fake_cuda ltc_fake_nvml ltc_die_preload)
set_tests_properties(test_cluster_check PROPERTIES TIMEOUT 600 ENVIRONMENT_MODIFICATION
  "CUDA_VISIBLE_DEVICES=unset:;SLURM_JOB_ID=unset:;SLURM_JOB_GPUS=unset:;SLURM_STEP_GPUS=unset:;LTC_DIAGNOSE_SYSROOT=unset:")
# On a GPU machine: check_cuda --nproc 1, and 2 with two GPUs (else that case is counted skipped), through
# NCCL, the proof and the sweep. A whole GPU each: RUN_SERIAL.
ltc_add_test(test_cluster_check_gpu SOURCES test_cluster_check.c LABELS gpu)
target_compile_definitions(test_cluster_check_gpu PRIVATE CLUSTER_GPU=1 CHECK_CUDA_EXE="$<TARGET_FILE:check_cuda>"
  FAKE_CUDA_DIR="${LTC_FAKE_CUDA_DIR}")
add_dependencies(test_cluster_check_gpu check_cuda)
set_tests_properties(test_cluster_check_gpu PROPERTIES TIMEOUT 600 RUN_SERIAL TRUE)
