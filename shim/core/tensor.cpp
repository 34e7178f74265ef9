// Tensors: creation, queries, moves between devices, copies to the host, host memory (pinned or pageable),
// copies between any two devices, and the autograd entry point.
#include "internal.hpp"

#include <c10/core/impl/VirtualGuardImpl.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cstring>

using ltc::fail;

namespace ltc {

std::string dtype_text(at::ScalarType type) {
    int dtype = from_scalar_type(type);
    return dtype >= 0 ? ltc_dtype_name((ltc_dtype)dtype) : c10::toString(type);
}

std::string tensor_text(const at::Tensor &t) {
    return dtype_text(t.scalar_type()) + " " + shape_text(t.sizes()) + " on " + device_text(from_c10_device(t.device()));
}

}  // namespace ltc

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

namespace {

enum class Fill { zeros, ones };

ltc_status create(ltc_tensor **out, const int64_t *shape, int ndim, ltc_dtype dtype, ltc_device device, Fill fill) {
    LTC_CHECK_OUT(out);
    LTC_TRY {
        std::vector<int64_t> sizes;
        at::ScalarType st;
        c10::Device dev(c10::kCPU);
        LTC_RETURN_IF_ERROR(ltc::check_shape(shape, ndim, dtype, &sizes));
        LTC_RETURN_IF_ERROR(ltc::to_scalar_type(dtype, &st));
        LTC_RETURN_IF_ERROR(ltc::to_c10_device(device, &dev));
        auto opts = at::TensorOptions().dtype(st).device(dev);
        *out = ltc::wrap(fill == Fill::zeros ? at::zeros(sizes, opts) : at::ones(sizes, opts));
        return LTC_OK;
    }
    LTC_CATCH
}

}  // namespace

extern "C" {

ltc_status ltc_tensor_zeros(ltc_tensor **out, const int64_t *shape, int ndim, ltc_dtype dtype, ltc_device device) {
    return create(out, shape, ndim, dtype, device, Fill::zeros);
}

ltc_status ltc_tensor_ones(ltc_tensor **out, const int64_t *shape, int ndim, ltc_dtype dtype, ltc_device device) {
    return create(out, shape, ndim, dtype, device, Fill::ones);
}

ltc_status ltc_tensor_randn(ltc_tensor **out, const int64_t *shape, int ndim, ltc_dtype dtype, ltc_device device,
                            uint64_t seed) {
    LTC_CHECK_OUT(out);
    LTC_TRY {
        std::vector<int64_t> sizes;
        at::ScalarType st;
        c10::Device dev(c10::kCPU);
        LTC_RETURN_IF_ERROR(ltc::check_shape(shape, ndim, dtype, &sizes));
        LTC_RETURN_IF_ERROR(ltc::to_scalar_type(dtype, &st));
        if (!at::isFloatingType(st))
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_tensor_randn: dtype %s is not valid: use float32 or float64",
                        ltc_dtype_name(dtype));
        LTC_RETURN_IF_ERROR(ltc::to_c10_device(device, &dev));
        at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
        at::Tensor t = at::randn(sizes, gen, at::TensorOptions().dtype(st));
        *out = ltc::wrap(dev.is_cpu() ? t : t.to(dev));
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_tensor_from_data(ltc_tensor **out, const void *data, const int64_t *shape, int ndim, ltc_dtype dtype,
                                ltc_device device) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(data);
    LTC_TRY {
        std::vector<int64_t> sizes;
        at::ScalarType st;
        c10::Device dev(c10::kCPU);
        LTC_RETURN_IF_ERROR(ltc::check_shape(shape, ndim, dtype, &sizes));
        LTC_RETURN_IF_ERROR(ltc::to_scalar_type(dtype, &st));
        LTC_RETURN_IF_ERROR(ltc::to_c10_device(device, &dev));
        at::Tensor view = at::from_blob(const_cast<void *>(data), sizes, at::TensorOptions().dtype(st));
        *out = ltc::wrap(dev.is_cpu() ? view.clone() : view.to(dev));
        return LTC_OK;
    }
    LTC_CATCH
}

void ltc_tensor_free(ltc_tensor *tensor) {
    ltc::delete_quietly(tensor);
}

int ltc_tensor_ndim(const ltc_tensor *tensor) {
    if (!tensor) {
        fail(LTC_ERR_INVALID_ARGUMENT, "ltc_tensor_ndim: argument 'tensor' is NULL");
        return -1;
    }
    return (int)tensor->t.dim();
}

int64_t ltc_tensor_size(const ltc_tensor *tensor, int dim) {
    if (!tensor) {
        fail(LTC_ERR_INVALID_ARGUMENT, "ltc_tensor_size: argument 'tensor' is NULL");
        return -1;
    }
    int nd = (int)tensor->t.dim();
    int d = dim < 0 ? dim + nd : dim;
    if (d < 0 || d >= nd) {
        fail(LTC_ERR_INVALID_ARGUMENT, "ltc_tensor_size: dim %d is out of range for a %d-dimensional tensor (valid: %d to %d)",
             dim, nd, -nd, nd - 1);
        return -1;
    }
    return tensor->t.size(d);
}

int64_t ltc_tensor_numel(const ltc_tensor *tensor) {
    if (!tensor) {
        fail(LTC_ERR_INVALID_ARGUMENT, "ltc_tensor_numel: argument 'tensor' is NULL");
        return -1;
    }
    return tensor->t.numel();
}

size_t ltc_tensor_nbytes(const ltc_tensor *tensor) {
    if (!tensor) {
        fail(LTC_ERR_INVALID_ARGUMENT, "ltc_tensor_nbytes: argument 'tensor' is NULL");
        return 0;
    }
    return tensor->t.nbytes();
}

ltc_dtype ltc_tensor_dtype(const ltc_tensor *tensor) {
    if (!tensor) {
        fail(LTC_ERR_INVALID_ARGUMENT, "ltc_tensor_dtype: argument 'tensor' is NULL");
        return (ltc_dtype)-1;
    }
    return (ltc_dtype)ltc::from_scalar_type(tensor->t.scalar_type());
}

ltc_device ltc_tensor_device(const ltc_tensor *tensor) {
    if (!tensor) {
        fail(LTC_ERR_INVALID_ARGUMENT, "ltc_tensor_device: argument 'tensor' is NULL");
        return ltc_device{LTC_DEVICE_CPU, -1};
    }
    return ltc::from_c10_device(tensor->t.device());
}

ltc_status ltc_tensor_to(ltc_tensor **out, const ltc_tensor *src, ltc_device device, int non_blocking) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(src);
    LTC_TRY {
        c10::Device dev(c10::kCPU);
        LTC_RETURN_IF_ERROR(ltc::to_c10_device(device, &dev));
        *out = ltc::wrap(src->t.detach().to(dev, non_blocking != 0, /*copy=*/true));
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_tensor_copy_to_host(void *dst, size_t size, const ltc_tensor *tensor) {
    LTC_CHECK_NOT_NULL(dst);
    LTC_CHECK_NOT_NULL(tensor);
    LTC_TRY {
        const at::Tensor &t = tensor->t;
        if (size != t.nbytes())
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "ltc_tensor_copy_to_host: buffer size %zu does not match the tensor's %zu bytes (%s %s)", size,
                        t.nbytes(), ltc_dtype_name((ltc_dtype)ltc::from_scalar_type(t.scalar_type())),
                        ltc::shape_text(t.sizes()).c_str());
        at::Tensor src = t.detach();
        if (src.is_cpu()) {
            at::Tensor c = src.contiguous();
            memcpy(dst, c.data_ptr(), size);
        } else {
            at::Tensor host = at::from_blob(dst, src.sizes(), at::TensorOptions().dtype(src.scalar_type()));
            host.copy_(src);  // blocking: the data is in dst when this returns
        }
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_tensor_item(double *out, const ltc_tensor *tensor) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(tensor);
    LTC_TRY {
        if (tensor->t.numel() != 1)
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_tensor_item: the tensor has %lld elements (shape %s); it needs exactly 1",
                        (long long)tensor->t.numel(), ltc::shape_text(tensor->t.sizes()).c_str());
        *out = tensor->t.item<double>();
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_tensor_grad(ltc_tensor **out, const ltc_tensor *tensor) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(tensor);
    LTC_TRY {
        if (!tensor->t.requires_grad())
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_tensor_grad: the tensor does not require a gradient (only module parameters do)");
        at::Tensor g = tensor->t.grad();
        if (!g.defined())
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "ltc_tensor_grad: the tensor has no gradient yet: call ltc_tensor_backward on a loss computed from it first");
        *out = ltc::wrap(g);
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_tensor_backward(ltc_tensor *loss) {
    LTC_CHECK_NOT_NULL(loss);
    LTC_TRY {
        if (loss->t.numel() != 1)
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "ltc_tensor_backward: the tensor has %lld elements (shape %s); backward needs a one-element loss",
                        (long long)loss->t.numel(), ltc::shape_text(loss->t.sizes()).c_str());
        if (!loss->t.requires_grad())
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "ltc_tensor_backward: the tensor has no autograd graph: compute it from a module's output");
        loss->t.backward();
        return LTC_OK;
    }
    LTC_CATCH
}


ltc_status ltc_tensor_empty(ltc_tensor **out, const int64_t *shape, int ndim, ltc_dtype dtype, ltc_device device,
                            int pinned) {
    LTC_CHECK_OUT(out);
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
    LTC_CHECK_OUT(out);
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
                        ltc::tensor_text(d).c_str(), ltc::tensor_text(s).c_str());
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

}  // extern "C"
