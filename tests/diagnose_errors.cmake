# How the diagnosis reads LibTorch's errors (shim/diagnose/diagnose_errors.cpp): on its own with LibTorch 2.11's
# exact texts (test_diagnose_errors), through check_cuda with the PYTORCH_* settings LibTorch rejects
# (check_cuda_setting_*), and on a GPU, where the proofs by work meet them (test_diagnose_gpu_faults).

# The reader on its own (standard C++, no LibTorch), as test_diagnose_advice does with the advice table.
add_executable(test_diagnose_errors test_diagnose_errors.cpp ${PROJECT_SOURCE_DIR}/shim/diagnose/diagnose_errors.cpp)
target_include_directories(test_diagnose_errors PRIVATE ${PROJECT_SOURCE_DIR}/shim/diagnose ${PROJECT_SOURCE_DIR}/shim/include)
target_compile_options(test_diagnose_errors PRIVATE ${LTC_WARNINGS})
add_test(NAME test_diagnose_errors COMMAND test_diagnose_errors)
set_tests_properties(test_diagnose_errors PROPERTIES LABELS cpu)

if(TARGET ltc_asneeded)  # the shim's core linked by hand (check_cuda.cmake) needs it too
  target_sources(ltc_asneeded PRIVATE ${PROJECT_SOURCE_DIR}/shim/diagnose/diagnose_errors.cpp)
endif()

if(NOT TARGET check_cuda)
  return()
endif()

# --- check_cuda with a setting LibTorch rejects, on any machine. A fake driver with one healthy GPU: the
# settings are read up front, through LibTorch's own parser, before any proof by work.
ltc_cuda_case(setting_bad_key FAKE EXIT 13 CAUSE LTC_CAUSE_TORCH_SETTING ENV "PYTORCH_CUDA_ALLOC_CONF=set:bogus_key:1"
  MESSAGE "LibTorch rejects PYTORCH_CUDA_ALLOC_CONF=\"bogus_key:1\", and every CUDA allocation fails: Unrecognized key 'bogus_key' in Accelerator allocator config."
  FIX "unset PYTORCH_CUDA_ALLOC_CONF, or correct it: 'bogus_key' is not a key this LibTorch knows|it knows backend, expandable_segments, garbage_collection_threshold,|roundup_power2_divisions (https://docs.pytorch.org/"
  FACTS "torch_settings.PYTORCH_CUDA_ALLOC_CONF=bogus_key:1|torch_settings.PYTORCH_ALLOC_CONF=")
ltc_cuda_case(setting_bad_key_text FAKE EXIT 13 ARGS "--quick" ENV "PYTORCH_CUDA_ALLOC_CONF=set:bogus_key:1"
  OUTPUT "GPU usable: NO: a PyTorch setting that LibTorch rejects [LTC_CAUSE_TORCH_SETTING]")
ltc_cuda_case(setting_bad_value FAKE EXIT 13 CAUSE LTC_CAUSE_TORCH_SETTING ENV "PYTORCH_ALLOC_CONF=set:expandable_segments:maybe"
  MESSAGE "PYTORCH_ALLOC_CONF=\"expandable_segments:maybe\"|but got 'maybe'" FIX "unset PYTORCH_ALLOC_CONF")
ltc_cuda_case(setting_good FAKE EXIT 6 CAUSE LTC_CAUSE_LIBTORCH_NO_DEVICE ENV "PYTORCH_CUDA_ALLOC_CONF=set:expandable_segments:True,max_split_size_mb:128"
  FACTS "torch_settings.PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True,max_split_size_mb:128")
# a cause found before (no GPU): the setting is named beside it, as a warning
ltc_cuda_case(setting_no_gpu NO_DRIVER EXIT 7 CAUSE LTC_CAUSE_NO_GPU SYSROOT no_nvidia ENV "PYTORCH_CUDA_ALLOC_CONF=set:bogus_key:1"
  FINDING LTC_CAUSE_TORCH_SETTING)
ltc_cuda_case(setting_flag_ignored NO_DRIVER EXIT 7 CAUSE LTC_CAUSE_NO_GPU SYSROOT no_nvidia ENV "PYTORCH_NO_CUDA_MEMORY_CACHING=set:yes"
  FINDING LTC_CAUSE_TORCH_SETTING FACTS "torch_settings.PYTORCH_NO_CUDA_MEMORY_CACHING=yes")
# a key without a value: LibTorch's CUDA half aborts while it loads; check_cuda's front names the setting
ltc_cuda_case(setting_aborts_load EXIT 13 CAUSE LTC_CAUSE_TORCH_SETTING ENV "PYTORCH_CUDA_ALLOC_CONF=set:expandable_segments"
  MESSAGE "LibTorch rejects PYTORCH_CUDA_ALLOC_CONF=\"expandable_segments\": its CUDA half aborts every program while it loads|Index out of bounds in ConfigTokenizer"
  FIX "unset PYTORCH_CUDA_ALLOC_CONF, or correct it|every key needs ':' and a value" FACTS "loader.kind=aborted")
ltc_cuda_case(setting_aborts_load_text EXIT 13 ARGS "--quick" ENV "PYTORCH_ALLOC_CONF=set:max_split_size_mb:"
  OUTPUT "GPU usable: NO: a PyTorch setting that LibTorch rejects [LTC_CAUSE_TORCH_SETTING]\n  LibTorch rejects PYTORCH_ALLOC_CONF=")
ltc_cuda_case(help_exit_13 EXIT 0 ARGS "--help" OUTPUT "13 LibTorch rejects a PYTORCH_* setting")

# --- on a GPU: the proofs by work meet the settings LibTorch rejects, and memory another process holds
ltc_add_test(test_diagnose_gpu_faults SOURCES test_diagnose_gpu_faults.c LABELS gpu)
target_compile_definitions(test_diagnose_gpu_faults PRIVATE LTC_TEST_CHECK_CUDA="$<TARGET_FILE:check_cuda>")
add_dependencies(test_diagnose_gpu_faults check_cuda)
# it fills the GPU's memory: nothing else may run beside it
set_tests_properties(test_diagnose_gpu_faults PROPERTIES TIMEOUT 600 RUN_SERIAL ON)
