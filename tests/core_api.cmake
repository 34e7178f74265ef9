# The general core API: tensor operations and autograd (test_ops), modules, losses and an MLP that learns
# (test_module), optimizers against torch.optim (test_optim), checkpoints of any state and Python's side of
# them (test_checkpoint_state); on a GPU, the MLP and the optimizers on cuda:0 against the CPU, and data
# parallel over the GPUs (test_core_gpu). The Python beside LibTorch (LTC_TEST_TORCH_PYTHON, found by
# train_data_parallel.cmake) computes torch's own numbers at test time: tests/torch_reference.py.
ltc_add_test(test_ops SOURCES test_ops.c LABELS cpu)
target_link_libraries(test_ops PRIVATE Threads::Threads m)
ltc_add_test(test_module SOURCES test_module.c LABELS cpu)
ltc_add_test(test_optim SOURCES test_optim.c LABELS cpu)
ltc_add_test(test_checkpoint_state SOURCES test_checkpoint_state.c LABELS cpu)
ltc_add_test(test_core_gpu SOURCES test_core_gpu.c LABELS gpu)
foreach(t test_module test_optim test_checkpoint_state test_core_gpu)
  target_link_libraries(${t} PRIVATE m)
endforeach()
set_tests_properties(test_module test_optim test_checkpoint_state PROPERTIES TIMEOUT 120)
if(LTC_TEST_TORCH_PYTHON)
  foreach(t test_optim test_checkpoint_state test_core_gpu)
    target_compile_definitions(${t} PRIVATE TORCH_PYTHON="${LTC_TEST_TORCH_PYTHON}"
                               TORCH_REFERENCE="${CMAKE_CURRENT_SOURCE_DIR}/torch_reference.py")
  endforeach()
endif()
