// Internal to libltc: the handle structs, error plumbing and argument checks shared by the sources.
#pragma once

#include "ltc.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct ltc_tensor {
    at::Tensor t;
};

// An ordered list of (name, tensor) entries, names unique (ltc_tensor_list_*).
struct ltc_tensor_list {
    std::vector<std::string> names;
    std::vector<at::Tensor> tensors;
};

// A torch::nn module (ltc_module_*): a torch::nn::LinearImpl, a torch::nn::ReLUImpl or an
// ltc::SequentialImpl (module.cpp), shared with the Sequentials that hold it.
struct ltc_module {
    std::shared_ptr<torch::nn::Module> m;
};

namespace ltc {

// A new list handle holding these entries (the caller makes sure the names are unique and valid).
ltc_tensor_list *new_list(std::vector<std::string> names, std::vector<at::Tensor> tensors);

// torch.optim.SGD's settings.
struct SgdSettings {
    double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
    bool nesterov = false;
};
// One SGD update of params from the gradients they hold (those without one are skipped); momentum has one
// buffer per parameter, undefined until its first step (kept empty without momentum). Used by every SGD:
// ltc_optimizer_step, also inside a CUDA-graph capture, which must record exactly the eager step.
void sgd_update(const std::vector<at::Tensor> &params, std::vector<at::Tensor> &momentum, const SgdSettings &s);
// "" when every gradient fits its parameter (device, dtype, shape), else why not, naming the parameter
// by names[i]; zero_grad: the call that drops the gradients, for the advice.
std::string grads_check(const std::vector<at::Tensor> &params, const std::vector<std::string> &names,
                        const char *zero_grad);
// Drops every gradient (set_to_none).
void drop_grads(const std::vector<at::Tensor> &params);

enum class OptimKind { sgd, adam, adamw };

// An optimizer over a list of tensors (ltc_optimizer_*): its settings, and the state torch.optim keeps
// per parameter, under torch.optim's names.
struct Optimizer {
    OptimKind kind = OptimKind::sgd;
    std::vector<std::string> names;  // the entries' names in the list it was made over
    std::vector<at::Tensor> params;
    ltc_sgd_options sgd{};    // kind sgd
    ltc_adam_options adam{};  // kinds adam and adamw
    // state[k][i] is the state named state_names[k] of parameter i ("momentum_buffer"; "step", "exp_avg",
    // "exp_avg_sq", "max_exp_avg_sq"), undefined until the parameter's first step.
    std::vector<std::string> state_names;
    std::vector<std::vector<at::Tensor>> state;
};
// nn.Sequential over the modules ltc makes: children registered as "0", "1", ... (so parameters are
// named "0.weight" as PyTorch names them) and run in that order. torch::nn::Sequential cannot hold
// another Sequential (its forward is a template), hence this one (module.cpp).
struct SequentialImpl : torch::nn::Module {
    SequentialImpl() : torch::nn::Module("Sequential") {}
    at::Tensor forward(at::Tensor x);
    // A deep copy on device, as nn.DataParallel's replicas need.
    std::shared_ptr<torch::nn::Module> clone(const std::optional<c10::Device> &device = std::nullopt) const override;
};

// Modules (module.cpp). "" when an input of these sizes, dtype and device fits module m, else why not, naming
// the module by where ("" at the top: its description; "module 2" inside a Sequential); sizes becomes the
// output's.
std::string module_fit(const torch::nn::Module &m, std::vector<int64_t> &sizes, at::ScalarType dtype, c10::Device device,
                       const std::string &where);
at::Tensor module_forward(torch::nn::Module &m, const at::Tensor &x);
// Module::to, with the gradients following the parameters.
void move_module(torch::nn::Module &m, c10::Device device);

// "SGD", "Adam", "AdamW": torch.optim's class names.
const char *optim_kind_name(OptimKind kind);
// The settings of PyTorch's optimizer.state_dict()["param_groups"][0] for this optimizer, in its order,
// without "params".
std::vector<std::pair<std::string, c10::IValue>> optim_group(const Optimizer &o);

}  // namespace ltc

// An optimizer handle; a checkpoint may share the optimizer (ltc_checkpoint_set_optimizer).
struct ltc_optimizer {
    std::shared_ptr<ltc::Optimizer> o;
};

namespace ltc {

// The int value of an enum that came from C. A caller may pass any int, and loading an out-of-range
// value as the enum type is undefined in C++ (UBSan's -fsanitize=enum), so read its bytes instead.
template <class E>
inline int enum_int(const E &e) {
    static_assert(sizeof(E) == sizeof(int), "C enums are int-sized");
    int v;
    std::memcpy(&v, &e, sizeof v);
    return v;
}

// Deletes a handle for its _free function, which returns nothing: a destructor that throws is swallowed.
template <class T>
inline void delete_quietly(T *handle) noexcept {
    try {
        delete handle;
    } catch (...) {
    }
}

// Sets this thread's last error and returns status. printf-style.
ltc_status fail(ltc_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// printf into a std::string (at most 2047 characters).
std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

// An exception's message; a c10::Error's without its C++ backtrace.
std::string what_of(const std::exception &e);

// Maps the exception being handled to a status and a message; call only inside a catch block.
ltc_status handle_exception() noexcept;

// A new handle owning a reference to t.
ltc_tensor *wrap(at::Tensor t);

// Checks a device value and that it exists in this process; on success *out is the c10 device.
ltc_status to_c10_device(ltc_device device, c10::Device *out);
// A CUDA device value's index (-1: the current device) into *out; a CPU device, or another type ->
// LTC_ERR_INVALID_ARGUMENT naming fn and what ("device", "peer"). The index itself is checked by the caller.
ltc_status cuda_index(int *out, const char *fn, const char *what, ltc_device device);
ltc_device from_c10_device(const c10::Device &device);
std::string device_text(ltc_device device);

// Checks a dtype value; on success *out is the ATen scalar type.
ltc_status to_scalar_type(ltc_dtype dtype, at::ScalarType *out);
// -1 when ATen's type has no ltc_dtype.
int from_scalar_type(at::ScalarType type);

// Checks shape/ndim as the creation functions document; fills *out.
ltc_status check_shape(const int64_t *shape, int ndim, ltc_dtype dtype, std::vector<int64_t> *out);

// "[2, 3]"
std::string shape_text(at::IntArrayRef sizes);
// "float32" (ltc's name; c10's for a type ltc_dtype lacks): a dtype in a message.
std::string dtype_text(at::ScalarType type);
// "float32 [2, 3] on cpu": a tensor in a message.
std::string tensor_text(const at::Tensor &t);

// LibTorch's CUDA device count, with its one-time initialisation warning captured (not printed).
int cuda_device_count() noexcept;
// The warning LibTorch gave while initialising CUDA ("" if none): why it sees no GPU.
const std::string &cuda_init_warning() noexcept;

}  // namespace ltc

// Test seams. libltc asks ltc_test_seam(NAME) for a value a test injects (LTC_DIAGNOSE_SYSROOT,
// LTC_TEST_GPU_IDENTITY: docs/testing.md). Only the test suite's own library, tests/test_seams.c,
// preloaded into the tests' processes, defines it; anywhere else the weak reference stays NULL, and the
// shipped library has no test-only behaviour switched by the environment.
extern "C" const char *ltc_test_seam(const char *name) __attribute__((weak, visibility("default")));
namespace ltc {
inline const char *test_seam(const char *name) noexcept {
    return ltc_test_seam ? ltc_test_seam(name) : nullptr;
}
}  // namespace ltc

// Every entry point's body: LTC_TRY { ... } LTC_CATCH
#define LTC_TRY try
#define LTC_CATCH                          \
    catch (...) {                          \
        return ::ltc::handle_exception();  \
    }

#define LTC_CHECK_NOT_NULL(ptr)                                                                  \
    do {                                                                                         \
        if ((ptr) == nullptr)                                                                    \
            return ::ltc::fail(LTC_ERR_INVALID_ARGUMENT, "%s: argument '%s' is NULL", __func__, #ptr); \
    } while (0)

// An out parameter for a new handle: not NULL, and NULL from here on until the call succeeds.
#define LTC_CHECK_OUT(ptr)        \
    do {                          \
        LTC_CHECK_NOT_NULL(ptr);  \
        *(ptr) = nullptr;         \
    } while (0)

#define LTC_RETURN_IF_ERROR(expr)       \
    do {                                \
        ltc_status ltc_s_ = (expr);     \
        if (ltc_s_ != LTC_OK)           \
            return ltc_s_;              \
    } while (0)
