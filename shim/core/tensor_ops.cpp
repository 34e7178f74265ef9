// Tensor operations a training loop needs (each one LibTorch call), autograd's switches (requires_grad,
// the grad mode, detach), and the data of a host tensor without a copy.
#include "internal.hpp"

#include <c10/core/GradMode.h>

#include <cmath>

using ltc::fail;

namespace {

// Whether sizes a and b broadcast against each other, as PyTorch's rules say (aligned from the end, each
// pair equal or one of them 1).
bool broadcastable(at::IntArrayRef a, at::IntArrayRef b) {
    for (size_t i = 1; i <= std::min(a.size(), b.size()); i++) {
        int64_t x = a[a.size() - i], y = b[b.size() - i];
        if (x != y && x != 1 && y != 1)
            return false;
    }
    return true;
}

// Two inputs of one elementwise operation: one device, one dtype, shapes that broadcast.
ltc_status check_pair(const char *fn, const at::Tensor &a, const at::Tensor &b) {
    if (a.device() != b.device() || a.scalar_type() != b.scalar_type())
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: a is %s and b is %s: both must be on one device and of one dtype", fn,
                    ltc::tensor_text(a).c_str(), ltc::tensor_text(b).c_str());
    if (!broadcastable(a.sizes(), b.sizes()))
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "%s: shapes %s and %s do not broadcast: aligned from the last dimension, each pair of sizes must be "
                    "equal or one of them 1",
                    fn, ltc::shape_text(a.sizes()).c_str(), ltc::shape_text(b.sizes()).c_str());
    return LTC_OK;
}

template <class Op>
ltc_status binary(const char *fn, ltc_tensor **out, const ltc_tensor *a, const ltc_tensor *b, Op op) {
    LTC_RETURN_IF_ERROR(check_pair(fn, a->t, b->t));
    *out = ltc::wrap(op(a->t, b->t));
    return LTC_OK;
}

// A scalar for tensor t: finite, and a whole number in int64's range for an integer tensor.
ltc_status scalar_of(const char *fn, const at::Tensor &t, double s, at::Scalar *out) {
    if (!std::isfinite(s))
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: s = %g is not valid: pass a finite number", fn, s);
    if (at::isFloatingType(t.scalar_type())) {
        *out = s;
        return LTC_OK;
    }
    if (s != std::trunc(s) || std::fabs(s) >= 9.2e18)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: s = %.17g is not valid for a tensor of %s: pass a whole number", fn, s,
                    ltc::dtype_text(t.scalar_type()).c_str());
    *out = (int64_t)s;
    return LTC_OK;
}

// A floating dtype, for the operations that need one.
ltc_status need_floating(const char *fn, const at::Tensor &t, const char *what) {
    if (at::isFloatingType(t.scalar_type()))
        return LTC_OK;
    return fail(LTC_ERR_INVALID_ARGUMENT, "%s: %s is %s: use a floating dtype (float32 or float64)", fn, what,
                ltc::tensor_text(t).c_str());
}

// torch.matmul's shape rules: inner sizes equal, batch dimensions broadcasting.
ltc_status check_matmul(const at::Tensor &a, const at::Tensor &b) {
    const char *fn = "ltc_tensor_matmul";
    if (a.device() != b.device() || a.scalar_type() != b.scalar_type())
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: a is %s and b is %s: both must be on one device and of one dtype", fn,
                    ltc::tensor_text(a).c_str(), ltc::tensor_text(b).c_str());
    LTC_RETURN_IF_ERROR(need_floating(fn, a, "a"));
    std::string sa = ltc::shape_text(a.sizes()), sb = ltc::shape_text(b.sizes());
    if (a.dim() == 0 || b.dim() == 0)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: shapes %s and %s: both need 1 dimension or more", fn, sa.c_str(),
                    sb.c_str());
    int64_t ka = a.size(-1), kb = b.dim() == 1 ? b.size(0) : b.size(-2);
    if (ka != kb)
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "%s: shapes %s and %s do not fit: a's last size (%lld) must equal b's %s size (%lld)", fn, sa.c_str(),
                    sb.c_str(), (long long)ka, b.dim() == 1 ? "only" : "second to last", (long long)kb);
    at::IntArrayRef ba = a.dim() > 2 ? a.sizes().slice(0, a.dim() - 2) : at::IntArrayRef();
    at::IntArrayRef bb = b.dim() > 2 ? b.sizes().slice(0, b.dim() - 2) : at::IntArrayRef();
    if (!broadcastable(ba, bb))
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: the batch dimensions of shapes %s and %s do not broadcast", fn,
                    sa.c_str(), sb.c_str());
    return LTC_OK;
}

// A dimension for a tensor of ndim dimensions (a tensor of none counts as one), from the end when negative.
ltc_status check_dim(const char *fn, int dim, int64_t ndim, int64_t *out) {
    int64_t n = std::max<int64_t>(ndim, 1);
    if (dim < -n || dim >= n)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: dim %d is out of range for a %lld-dimensional tensor (valid: %lld to %lld)",
                    fn, dim, (long long)ndim, (long long)-n, (long long)n - 1);
    *out = dim < 0 ? dim + n : dim;
    return LTC_OK;
}

// A new shape for numel elements: each size >= 1, or one -1 (inferred).
ltc_status check_reshape(const at::Tensor &a, const int64_t *shape, int ndim, std::vector<int64_t> *out) {
    const char *fn = "ltc_tensor_reshape";
    if (ndim < 0 || ndim > LTC_MAX_DIMS)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: ndim %d is not valid: use 0 to %d", fn, ndim, LTC_MAX_DIMS);
    if (ndim > 0 && !shape)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: argument 'shape' is NULL with ndim %d", fn, ndim);
    out->assign(shape, shape + ndim);
    int inferred = -1;
    int64_t known = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == -1 && inferred < 0) {
            inferred = i;
            continue;
        }
        if (shape[i] < 1)
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s: shape[%d] is %lld: each size must be 1 or more, or one of them -1",
                        fn, i, (long long)shape[i]);
        if (__builtin_mul_overflow(known, shape[i], &known))
            known = INT64_MAX;  // more elements than any tensor holds: said below
    }
    bool fits = inferred < 0 ? known == a.numel() : known <= a.numel() && a.numel() % known == 0;
    if (!fits)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: cannot reshape %s (%lld elements) to %s", fn,
                    ltc::shape_text(a.sizes()).c_str(), (long long)a.numel(), ltc::shape_text(*out).c_str());
    return LTC_OK;
}

}  // namespace

extern "C" {

ltc_status ltc_tensor_add(ltc_tensor **out, const ltc_tensor *a, const ltc_tensor *b) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(a);
    LTC_CHECK_NOT_NULL(b);
    LTC_TRY { return binary(__func__, out, a, b, [](const at::Tensor &x, const at::Tensor &y) { return x + y; }); }
    LTC_CATCH
}

ltc_status ltc_tensor_sub(ltc_tensor **out, const ltc_tensor *a, const ltc_tensor *b) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(a);
    LTC_CHECK_NOT_NULL(b);
    LTC_TRY { return binary(__func__, out, a, b, [](const at::Tensor &x, const at::Tensor &y) { return x - y; }); }
    LTC_CATCH
}

ltc_status ltc_tensor_mul(ltc_tensor **out, const ltc_tensor *a, const ltc_tensor *b) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(a);
    LTC_CHECK_NOT_NULL(b);
    LTC_TRY { return binary(__func__, out, a, b, [](const at::Tensor &x, const at::Tensor &y) { return x * y; }); }
    LTC_CATCH
}

ltc_status ltc_tensor_add_scalar(ltc_tensor **out, const ltc_tensor *a, double s) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(a);
    LTC_TRY {
        at::Scalar v;
        LTC_RETURN_IF_ERROR(scalar_of(__func__, a->t, s, &v));
        *out = ltc::wrap(at::add(a->t, v));
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_tensor_mul_scalar(ltc_tensor **out, const ltc_tensor *a, double s) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(a);
    LTC_TRY {
        at::Scalar v;
        LTC_RETURN_IF_ERROR(scalar_of(__func__, a->t, s, &v));
        *out = ltc::wrap(at::mul(a->t, v));
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_tensor_matmul(ltc_tensor **out, const ltc_tensor *a, const ltc_tensor *b) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(a);
    LTC_CHECK_NOT_NULL(b);
    LTC_TRY {
        LTC_RETURN_IF_ERROR(check_matmul(a->t, b->t));
        *out = ltc::wrap(at::matmul(a->t, b->t));
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_tensor_relu(ltc_tensor **out, const ltc_tensor *a) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(a);
    LTC_TRY {
        *out = ltc::wrap(at::relu(a->t));
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_tensor_sum(ltc_tensor **out, const ltc_tensor *a) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(a);
    LTC_TRY {
        *out = ltc::wrap(at::sum(a->t));
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_tensor_mean(ltc_tensor **out, const ltc_tensor *a) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(a);
    LTC_TRY {
        LTC_RETURN_IF_ERROR(need_floating(__func__, a->t, "the tensor"));
        *out = ltc::wrap(at::mean(a->t));
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_tensor_argmax(ltc_tensor **out, const ltc_tensor *a, int dim) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(a);
    LTC_TRY {
        int64_t d = 0;
        LTC_RETURN_IF_ERROR(check_dim(__func__, dim, a->t.dim(), &d));
        *out = ltc::wrap(at::argmax(a->t.detach(), d));
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_tensor_reshape(ltc_tensor **out, const ltc_tensor *a, const int64_t *shape, int ndim) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(a);
    LTC_TRY {
        std::vector<int64_t> sizes;
        LTC_RETURN_IF_ERROR(check_reshape(a->t, shape, ndim, &sizes));
        *out = ltc::wrap(at::reshape(a->t, sizes));
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_tensor_detach(ltc_tensor **out, const ltc_tensor *a) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(a);
    LTC_TRY {
        *out = ltc::wrap(a->t.detach());
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_tensor_set_requires_grad(ltc_tensor *tensor, int requires_grad) {
    const char *fn = "ltc_tensor_set_requires_grad";
    LTC_CHECK_NOT_NULL(tensor);
    if (requires_grad != 0 && requires_grad != 1)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: requires_grad %d is not valid: use 0 or 1", fn, requires_grad);
    LTC_TRY {
        const at::Tensor &t = tensor->t;
        if (!t.is_leaf())
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "%s: the tensor is not a leaf (a recorded operation made it), so autograd decides: take a leaf "
                        "copy with ltc_tensor_detach",
                        fn);
        if (requires_grad && !at::isFloatingType(t.scalar_type()))
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s: the tensor is %s: only floating tensors can require a gradient", fn,
                        ltc::tensor_text(t).c_str());
        t.set_requires_grad(requires_grad == 1);
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_tensor_requires_grad(int *out, const ltc_tensor *tensor) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(tensor);
    *out = tensor->t.requires_grad() ? 1 : 0;
    return LTC_OK;
}

ltc_status ltc_grad_mode_set(int *out_previous, int enabled) {
    if (enabled != 0 && enabled != 1)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_grad_mode_set: enabled %d is not valid: use 0 or 1", enabled);
    if (out_previous)
        *out_previous = c10::GradMode::is_enabled() ? 1 : 0;
    c10::GradMode::set_enabled(enabled == 1);
    return LTC_OK;
}

int ltc_grad_mode_enabled(void) {
    return c10::GradMode::is_enabled() ? 1 : 0;
}

ltc_status ltc_tensor_data(void **out, const ltc_tensor *tensor) {
    const char *fn = "ltc_tensor_data";
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(tensor);
    LTC_TRY {
        const at::Tensor &t = tensor->t;
        if (!t.is_cpu())
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "%s: the tensor is on %s, not in host memory: copy it out with ltc_tensor_copy_to_host, or move "
                        "it with ltc_tensor_to",
                        fn, t.device().str().c_str());
        if (!t.is_contiguous())
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "%s: the tensor (%s) is not contiguous (a view such as a transposed one): copy it out with "
                        "ltc_tensor_copy_to_host",
                        fn, ltc::tensor_text(t).c_str());
        *out = t.data_ptr();
        return LTC_OK;
    }
    LTC_CATCH
}

}  // extern "C"
