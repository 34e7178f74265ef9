// nn.DataParallel in one process: torch::nn::parallel::data_parallel over a Linear module.
#include "internal.hpp"

#include <torch/nn/parallel/data_parallel.h>

#include <algorithm>

using ltc::fail;

extern "C" {

ltc_status ltc_data_parallel_forward(ltc_tensor **out, ltc_linear *linear, const ltc_tensor *x, const int *devices,
                                     int ndevices) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(linear);
    LTC_CHECK_NOT_NULL(x);
    if (ndevices < 0 || (ndevices > 0 && devices == nullptr) || (ndevices == 0 && devices != nullptr))
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "ltc_data_parallel_forward: ndevices %d with devices %s is not valid: pass a list and its length, or "
                    "NULL and 0 for every visible GPU",
                    ndevices, devices ? "given" : "NULL");
    LTC_TRY {
        int n = ltc::cuda_device_count();
        if (n == 0 && devices == nullptr && linear->m->weight.is_cpu() && x->t.is_cpu()) {
            return ltc_linear_forward(out, linear, x);  // as nn.DataParallel does without GPUs
        }
        if (n == 0) {
            c10::Device dev(c10::kCPU);
            return ltc::to_c10_device(ltc_device{LTC_DEVICE_CUDA, 0}, &dev);  // says why LibTorch sees no GPU
        }
        std::vector<int> list;
        if (ndevices == 0)
            for (int i = 0; i < n; i++)
                list.push_back(i);
        else
            list.assign(devices, devices + ndevices);
        std::vector<c10::Device> devs;
        for (size_t i = 0; i < list.size(); i++) {
            if (list[i] < 0 || list[i] >= n)
                return fail(LTC_ERR_INVALID_ARGUMENT,
                            "ltc_data_parallel_forward: devices[%zu] = %d is out of range: %d CUDA device%s visible (valid: 0 to %d)",
                            i, list[i], n, n == 1 ? " is" : "s are", n - 1);
            if (std::count(list.begin(), list.end(), list[i]) > 1)
                return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_data_parallel_forward: device %d is listed twice: list each GPU once",
                            list[i]);
            devs.emplace_back(c10::kCUDA, (c10::DeviceIndex)list[i]);
        }
        const at::Tensor &w = linear->m->weight;
        const at::Tensor &in = x->t;
        int64_t want = w.size(1);
        if ((in.dim() != 1 && in.dim() != 2) || in.size(-1) != want)
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "ltc_data_parallel_forward: input shape %s does not fit Linear(%lld, %lld): use [batch, %lld]",
                        ltc::shape_text(in.sizes()).c_str(), (long long)want, (long long)w.size(0), (long long)want);
        if (in.scalar_type() != w.scalar_type())
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_data_parallel_forward: input dtype %s does not match the module's %s",
                        c10::toString(in.scalar_type()), c10::toString(w.scalar_type()));
        if (w.device() != devs[0] || in.device() != devs[0])
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "ltc_data_parallel_forward: the module is on %s and the input on %s; both must be on the first device, %s",
                        w.device().str().c_str(), in.device().str().c_str(), devs[0].str().c_str());
        *out = ltc::wrap(torch::nn::parallel::data_parallel(linear->m, in, devs, devs[0], 0));
        return LTC_OK;
    }
    LTC_CATCH
}

}  // extern "C"
