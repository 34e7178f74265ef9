// Tensors: creation, queries, moves between devices, copies to the host, autograd entry points.
#include "internal.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <cstring>

using ltc::fail;

namespace {

enum class Fill { zeros, ones };

ltc_status create(ltc_tensor **out, const int64_t *shape, int ndim, ltc_dtype dtype, ltc_device device, Fill fill) {
    LTC_CHECK_NOT_NULL(out);
    *out = nullptr;
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
    LTC_CHECK_NOT_NULL(out);
    *out = nullptr;
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
    LTC_CHECK_NOT_NULL(out);
    *out = nullptr;
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
    try {
        delete tensor;
    } catch (...) {
    }
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
    LTC_CHECK_NOT_NULL(out);
    *out = nullptr;
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
    LTC_CHECK_NOT_NULL(out);
    *out = nullptr;
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

}  // extern "C"
