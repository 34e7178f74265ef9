// nn.DataParallel in one process: torch::nn::parallel::data_parallel over an ltc_module.
#include "internal.hpp"

#include <torch/nn/modules/activation.h>
#include <torch/nn/parallel/data_parallel.h>

#include <algorithm>

using ltc::fail;

namespace {

// devices and ndevices: a list and its length, or NULL and 0.
ltc_status check_count(const char *fn, const int *devices, int ndevices) {
    if (ndevices < 0 || (ndevices > 0 && devices == nullptr) || (ndevices == 0 && devices != nullptr))
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "%s: ndevices %d with devices %s is not valid: pass a list and its length, or NULL and 0 for every "
                    "visible GPU",
                    fn, ndevices, devices ? "given" : "NULL");
    return LTC_OK;
}

// The GPUs to run on: those listed (each once, in range), or every one of the n visible.
ltc_status device_list(const char *fn, const int *devices, int ndevices, int n, std::vector<c10::Device> *out) {
    std::vector<int> list;
    if (ndevices == 0)
        for (int i = 0; i < n; i++)
            list.push_back(i);
    else
        list.assign(devices, devices + ndevices);
    for (size_t i = 0; i < list.size(); i++) {
        if (list[i] < 0 || list[i] >= n)
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "%s: devices[%zu] = %d is out of range: %d CUDA device%s visible (valid: 0 to %d)", fn, i, list[i],
                        n, n == 1 ? " is" : "s are", n - 1);
        if (std::count(list.begin(), list.end(), list[i]) > 1)
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s: device %d is listed twice: list each GPU once", fn, list[i]);
        out->emplace_back(c10::kCUDA, (c10::DeviceIndex)list[i]);
    }
    return LTC_OK;
}

// torch::nn::parallel::data_parallel over the module, on devs (checked), gathered on devs[0]: the template
// needs the module's own type.
at::Tensor module_data_parallel(const ltc_module &mod, const at::Tensor &x, const std::vector<c10::Device> &devs) {
    namespace par = torch::nn::parallel;
    if (auto l = std::dynamic_pointer_cast<torch::nn::LinearImpl>(mod.m))
        return par::data_parallel(l, x, devs, devs[0], 0);
    if (auto r = std::dynamic_pointer_cast<torch::nn::ReLUImpl>(mod.m))
        return par::data_parallel(r, x, devs, devs[0], 0);
    return par::data_parallel(std::dynamic_pointer_cast<ltc::SequentialImpl>(mod.m), x, devs, devs[0], 0);
}

// Without a visible GPU: LTC_ERR_CUDA_UNAVAILABLE, saying why LibTorch sees none.
ltc_status no_gpu() {
    c10::Device dev(c10::kCPU);
    return ltc::to_c10_device(ltc_device{LTC_DEVICE_CUDA, 0}, &dev);
}

}  // namespace

extern "C" {

ltc_status ltc_module_data_parallel_forward(ltc_tensor **out, ltc_module *module, const ltc_tensor *x,
                                            const int *devices, int ndevices) {
    const char *fn = "ltc_module_data_parallel_forward";
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(module);
    LTC_CHECK_NOT_NULL(x);
    LTC_RETURN_IF_ERROR(check_count(fn, devices, ndevices));
    LTC_TRY {
        const std::vector<at::Tensor> params = module->m->parameters();
        const bool on_cpu = x->t.is_cpu() && std::all_of(params.begin(), params.end(), [](const at::Tensor &p) {
                                return p.is_cpu();
                            });
        int n = ltc::cuda_device_count();
        if (n == 0 && devices == nullptr && on_cpu)
            return ltc_module_forward(out, module, x);  // as nn.DataParallel does without GPUs
        if (n == 0)
            return no_gpu();
        std::vector<c10::Device> devs;
        LTC_RETURN_IF_ERROR(device_list(fn, devices, ndevices, n, &devs));
        const c10::Device where = params.empty() ? devs[0] : params[0].device();
        if (where != devs[0] || x->t.device() != devs[0])
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "%s: the module is on %s and the input on %s; both must be on the first device, %s", fn,
                        where.str().c_str(), x->t.device().str().c_str(), devs[0].str().c_str());
        std::vector<int64_t> sizes = x->t.sizes().vec();
        std::string bad = ltc::module_fit(*module->m, sizes, x->t.scalar_type(), x->t.device(), "");
        if (!bad.empty())
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s: %s", fn, bad.c_str());
        *out = ltc::wrap(module_data_parallel(*module, x->t, devs));
        return LTC_OK;
    }
    LTC_CATCH
}

}  // extern "C"
