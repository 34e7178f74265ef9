// Transfers and timing (move_to_cuda): empty and pinned tensors, copies between devices, CUDA events.
// Only generic ATen and c10 headers here, so this file builds against any LibTorch; what needs the CUDA
// headers is in transfer_cuda.cpp (or its stand-in transfer_nocuda.cpp).
#include "internal.hpp"

#include <c10/core/Event.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <algorithm>

using ltc::fail;

struct ltc_event {
    c10::Device device;
    c10::Event event;
    bool recorded;
};

namespace {

// Pinned memory needs a usable GPU: without one LibTorch has no pinned allocator to offer.
ltc_status require_gpu_for_pinning(const char *func) {
    if (ltc::cuda_device_count() > 0)
        return LTC_OK;
    const std::string &why = ltc::cuda_init_warning();
    return fail(LTC_ERR_CUDA_UNAVAILABLE,
                "%s: pinned host memory needs a usable GPU, but LibTorch sees no CUDA device%s%s%s; use pageable "
                "memory, or run check_cuda for the cause and the fix",
                func, why.empty() ? "" : " (", why.c_str(), why.empty() ? "" : ")");
}

std::string describe(const at::Tensor &t) {
    const char *dtype = ltc_dtype_name((ltc_dtype)ltc::from_scalar_type(t.scalar_type()));
    return std::string(dtype ? dtype : c10::toString(t.scalar_type())) + " " + ltc::shape_text(t.sizes()) + " on " +
           ltc::device_text(ltc::from_c10_device(t.device()));
}

// A new pinned host tensor. LibTorch reports a failed cudaHostAlloc as a CUDA error ("CUDA error: out
// of memory"); to the caller it is running out of memory, which the process survives.
at::Tensor empty_pinned(const char *func, at::IntArrayRef sizes, const at::TensorOptions &opts, ltc_status *status) {
    try {
        return at::empty(sizes, opts.device(c10::kCPU).pinned_memory(true));
    } catch (const c10::Error &e) {
        std::string m = e.what_without_backtrace();
        bool oom = dynamic_cast<const c10::OutOfMemoryError *>(&e) != nullptr ||
                   m.find("out of memory") != std::string::npos || m.find("emory allocation") != std::string::npos;
        if (!oom)
            throw;
        m.erase(std::min(m.find('\n'), m.size()));
        size_t bytes = opts.dtype().itemsize();
        for (int64_t n : sizes)
            bytes *= (size_t)n;
        *status = fail(LTC_ERR_OUT_OF_MEMORY, "%s: out of pinned host memory: %zu bytes requested (%s)", func, bytes,
                       m.c_str());
        return at::Tensor();
    }
}

// Waits for the work queued so far on the current stream of a CUDA device.
void sync_stream(const c10::Device &device) {
    c10::impl::VirtualGuardImpl impl(c10::DeviceType::CUDA);
    impl.getStream(device).synchronize();
}

}  // namespace

extern "C" {

ltc_status ltc_tensor_empty(ltc_tensor **out, const int64_t *shape, int ndim, ltc_dtype dtype, ltc_device device,
                            int pinned) {
    LTC_CHECK_NOT_NULL(out);
    *out = nullptr;
    LTC_TRY {
        std::vector<int64_t> sizes;
        at::ScalarType st;
        c10::Device dev(c10::kCPU);
        LTC_RETURN_IF_ERROR(ltc::check_shape(shape, ndim, dtype, &sizes));
        LTC_RETURN_IF_ERROR(ltc::to_scalar_type(dtype, &st));
        if (pinned && ltc::enum_int(device.type) != LTC_DEVICE_CPU)
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "ltc_tensor_empty: pinned memory is host memory, but the device is %s: use cpu with pinned, "
                        "or pinned = 0",
                        ltc::device_text(device).c_str());
        LTC_RETURN_IF_ERROR(ltc::to_c10_device(device, &dev));
        if (pinned)
            LTC_RETURN_IF_ERROR(require_gpu_for_pinning("ltc_tensor_empty"));
        auto opts = at::TensorOptions().dtype(st).device(dev);
        if (!pinned) {
            *out = ltc::wrap(at::empty(sizes, opts));
            return LTC_OK;
        }
        ltc_status status = LTC_OK;
        at::Tensor t = empty_pinned(__func__, sizes, opts, &status);
        if (status == LTC_OK)
            *out = ltc::wrap(t);
        return status;
    }
    LTC_CATCH
}

ltc_status ltc_tensor_pin_memory(ltc_tensor **out, const ltc_tensor *src) {
    LTC_CHECK_NOT_NULL(out);
    *out = nullptr;
    LTC_CHECK_NOT_NULL(src);
    LTC_TRY {
        if (!src->t.is_cpu())
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "ltc_tensor_pin_memory: the tensor is on %s; only host (cpu) tensors can be pinned",
                        ltc::device_text(ltc::from_c10_device(src->t.device())).c_str());
        LTC_RETURN_IF_ERROR(require_gpu_for_pinning("ltc_tensor_pin_memory"));
        // Always a new copy, even of a tensor already pinned (pin_memory() would return it as is).
        at::Tensor src_t = src->t.detach();
        ltc_status status = LTC_OK;
        at::Tensor pinned = empty_pinned(__func__, src_t.sizes(), src_t.options(), &status);
        if (status != LTC_OK)
            return status;
        pinned.copy_(src_t);
        *out = ltc::wrap(pinned);
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_tensor_is_pinned(int *out, const ltc_tensor *tensor) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(tensor);
    LTC_TRY {
        // Asking a LibTorch that sees no GPU would start CUDA's lazy initialisation for nothing.
        *out = tensor->t.is_cpu() && ltc::cuda_device_count() > 0 && tensor->t.is_pinned() ? 1 : 0;
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_tensor_copy(ltc_tensor *dst, const ltc_tensor *src, int non_blocking) {
    LTC_CHECK_NOT_NULL(dst);
    LTC_CHECK_NOT_NULL(src);
    LTC_TRY {
        const at::Tensor &d = dst->t;
        const at::Tensor &s = src->t;
        if (d.scalar_type() != s.scalar_type() || !d.sizes().equals(s.sizes()))
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "ltc_tensor_copy: dst is %s but src is %s: shape and dtype must be the same (no broadcasting "
                        "or conversion)",
                        describe(d).c_str(), describe(s).c_str());
        // detach(): write into dst's memory without autograd recording the copy (dst may be a parameter).
        at::Tensor target = d.detach();
        target.copy_(s.detach(), non_blocking != 0);
        // LibTorch's copy_ already waits for host <-> GPU copies unless told not to; a copy between two
        // places on GPUs is only queued, so keep the promise of a blocking copy here.
        if (!non_blocking && d.is_cuda() && s.is_cuda()) {
            sync_stream(d.device());
            if (s.device() != d.device())
                sync_stream(s.device());
        }
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_event_new(ltc_event **out, int device) {
    LTC_CHECK_NOT_NULL(out);
    *out = nullptr;
    LTC_TRY {
        c10::Device dev(c10::kCPU);
        LTC_RETURN_IF_ERROR(ltc::to_c10_device(ltc_device{LTC_DEVICE_CUDA, device}, &dev));
        if (!dev.has_index()) {
            c10::impl::VirtualGuardImpl impl(c10::DeviceType::CUDA);
            dev = impl.getDevice();
        }
        // BACKEND_DEFAULT: a CUDA event with timing enabled (PYTORCH_DEFAULT disables it).
        *out = new ltc_event{dev, c10::Event(c10::DeviceType::CUDA, c10::EventFlag::BACKEND_DEFAULT), false};
        return LTC_OK;
    }
    LTC_CATCH
}

void ltc_event_free(ltc_event *event) {
    try {
        delete event;
    } catch (...) {
    }
}

ltc_status ltc_event_record(ltc_event *event) {
    LTC_CHECK_NOT_NULL(event);
    LTC_TRY {
        c10::impl::VirtualGuardImpl impl(c10::DeviceType::CUDA);
        event->event.record(impl.getStream(event->device));
        event->recorded = true;
        return LTC_OK;
    }
    LTC_CATCH
}

static ltc_status check_recorded(const ltc_event *event, const char *func, const char *name) {
    if (!event->recorded)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: event '%s' was never recorded: call ltc_event_record first", func,
                    name);
    return LTC_OK;
}

ltc_status ltc_event_synchronize(const ltc_event *event) {
    LTC_CHECK_NOT_NULL(event);
    LTC_TRY {
        LTC_RETURN_IF_ERROR(check_recorded(event, __func__, "event"));
        event->event.synchronize();
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_event_query(int *out, const ltc_event *event) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(event);
    LTC_TRY {
        LTC_RETURN_IF_ERROR(check_recorded(event, __func__, "event"));
        *out = event->event.query() ? 1 : 0;
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_event_elapsed_ms(double *out, const ltc_event *start, const ltc_event *end) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(start);
    LTC_CHECK_NOT_NULL(end);
    LTC_TRY {
        LTC_RETURN_IF_ERROR(check_recorded(start, __func__, "start"));
        LTC_RETURN_IF_ERROR(check_recorded(end, __func__, "end"));
        if (start->device != end->device)
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "ltc_event_elapsed_ms: start is on %s but end is on %s: both must be on the same device",
                        start->device.str().c_str(), end->device.str().c_str());
        start->event.synchronize();
        end->event.synchronize();
        *out = start->event.elapsedTime(end->event);
        return LTC_OK;
    }
    LTC_CATCH
}

}  // extern "C"
