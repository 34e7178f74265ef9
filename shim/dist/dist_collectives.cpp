// The collectives of the C API (ltc/dist.h): an all-reduce and a broadcast of one tensor, a barrier, and
// over a tensor list (a module's parameters) their broadcast, the average of their gradients as one flat
// buffer, and the replica check; the mean and the agreement of one number. The Linear-only calls wrap the
// list ones. Every argument is checked before the group hears of the call, so that a bad one fails this
// call only; the collective itself runs through run_op (the group's failures, lost ranks named).
#include "dist_internal.hpp"

#include <cstdio>
#include <cstring>

using ltc::fail;
using namespace ltc::dist;

namespace {

// "float32"; LibTorch's name for a dtype ltc has none for.
std::string dtype_text(at::ScalarType t) {
    const int d = ltc::from_scalar_type(t);
    return d >= 0 ? ltc_dtype_name((ltc_dtype)d) : c10::toString(t);
}

ltc_status check_root(const ltc_dist *d, int root, const char *fn) {
    const int world = d->env.world_size;
    if (root < 0 || root >= world)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: root %d is not valid: use 0 to %d (the group has %d rank%s)", fn, root,
                    world - 1, world, world == 1 ? "" : "s");
    return LTC_OK;
}

// A tensor on the group's device; `what` names it.
ltc_status check_device(const ltc_dist *d, const at::Tensor &t, const char *fn, const std::string &what) {
    if (t.device() != d->device)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: %s is on %s but the group is on %s: move it there first", fn, what.c_str(),
                    t.device().str().c_str(), d->device.str().c_str());
    return LTC_OK;
}

ltc_status to_op(Op *out, ltc_reduce_op op, const char *fn) {
    switch (ltc::enum_int(op)) {
    case LTC_REDUCE_SUM: *out = Op::sum; return LTC_OK;
    case LTC_REDUCE_AVG: *out = Op::avg; return LTC_OK;
    case LTC_REDUCE_MIN: *out = Op::min; return LTC_OK;
    case LTC_REDUCE_MAX: *out = Op::max; return LTC_OK;
    }
    return fail(LTC_ERR_INVALID_ARGUMENT,
                "%s: op %d is not valid: use LTC_REDUCE_SUM (0), LTC_REDUCE_AVG (1), LTC_REDUCE_MIN (2) or LTC_REDUCE_MAX (3)",
                fn, ltc::enum_int(op));
}

// "parameter \"weight\""
std::string entry_text(const ltc_tensor_list &l, size_t i) { return "parameter \"" + l.names[i] + "\""; }

// A list for a collective: one entry at least, each on the group's device.
ltc_status check_list(const ltc_dist *d, const ltc_tensor_list &l, const char *fn) {
    if (l.tensors.empty())
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: params is empty: pass the parameters (a module's, or tensors of your own)", fn);
    for (size_t i = 0; i < l.tensors.size(); i++)
        LTC_RETURN_IF_ERROR(check_device(d, l.tensors[i], fn, entry_text(l, i)));
    return LTC_OK;
}

// The entries `which` of l, all of one dtype: they make one flat buffer.
ltc_status check_one_dtype(const ltc_tensor_list &l, const std::vector<size_t> &which, const char *fn) {
    for (size_t k = 1; k < which.size(); k++) {
        const at::Tensor &a = l.tensors[which[0]], &b = l.tensors[which[k]];
        if (b.scalar_type() != a.scalar_type())
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "%s: %s is %s but %s is %s: the entries make one flat buffer, so they must share one dtype", fn,
                        entry_text(l, which[k]).c_str(), dtype_text(b.scalar_type()).c_str(), entry_text(l, which[0]).c_str(),
                        dtype_text(a.scalar_type()).c_str());
    }
    return LTC_OK;
}

std::vector<size_t> all_of(const ltc_tensor_list &l) {
    std::vector<size_t> v(l.tensors.size());
    for (size_t i = 0; i < v.size(); i++)
        v[i] = i;
    return v;
}

// The tensors one after the other in one 1-D tensor, each as `dtype`.
at::Tensor flatten(const std::vector<at::Tensor> &tensors, at::ScalarType dtype) {
    std::vector<at::Tensor> parts;
    for (const auto &t : tensors)
        parts.push_back(t.detach().reshape(-1).to(dtype));
    return at::cat(parts);
}

// Runs f on t in place: on t itself when it is contiguous (NCCL needs that), else on a contiguous copy that is
// then written back.
void in_place(const at::Tensor &t, const std::function<void(at::Tensor &)> &f) {
    at::NoGradGuard no_grad;
    if (t.is_contiguous()) {
        at::Tensor same = t;
        f(same);
        return;
    }
    at::Tensor c = t.contiguous();
    f(c);
    t.copy_(c);
}

// One number all-reduced over the group (as a double on its device); *out is set only on success. Blocks.
ltc_status allreduce_scalar(double *out, ltc_dist *d, double value, Op op, const char *what) {
    double result = value;
    ltc_status st = run_op(d, what, [&] {
        at::Tensor t = at::full({1}, value, at::TensorOptions().dtype(at::kDouble).device(d->device));
        d->backend->allreduce(t, op, what);
        result = t.item<double>();
    });
    if (st == LTC_OK)
        *out = result;
    return st;
}

ltc_status broadcast_parameters(ltc_dist *d, const ltc_tensor_list &l, int root, const char *fn) {
    LTC_RETURN_IF_ERROR(check_root(d, root, fn));
    LTC_RETURN_IF_ERROR(check_list(d, l, fn));
    LTC_RETURN_IF_ERROR(check_one_dtype(l, all_of(l), fn));
    return run_op(d, "broadcast of the parameters", [&] {
        at::NoGradGuard no_grad;
        at::Tensor flat = flatten(l.tensors, l.tensors[0].scalar_type());
        d->backend->broadcast(flat, root, "broadcast of the parameters");
        int64_t off = 0;
        for (const auto &p : l.tensors) {
            p.copy_(flat.narrow(0, off, p.numel()).view_as(p));
            off += p.numel();
        }
    });
}

ltc_status average_gradients_of(ltc_dist *d, const ltc_tensor_list &l, const char *fn) {
    LTC_RETURN_IF_ERROR(check_list(d, l, fn));
    std::vector<size_t> which;  // the entries that take a gradient
    for (size_t i = 0; i < l.tensors.size(); i++) {
        if (!l.tensors[i].requires_grad())
            continue;  // frozen, as DDP skips it
        if (!l.tensors[i].grad().defined())
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s: %s has no gradient yet: call ltc_tensor_backward on the loss first", fn,
                        entry_text(l, i).c_str());
        which.push_back(i);
    }
    if (which.empty())
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: no entry of params requires a gradient (%s does not): nothing to average", fn,
                    entry_text(l, 0).c_str());
    LTC_RETURN_IF_ERROR(check_one_dtype(l, which, fn));
    std::vector<at::Tensor> params;
    for (size_t i : which)
        params.push_back(l.tensors[i]);
    return run_op(d, "all-reduce of the gradients", [&] { average_gradients(d, params); });
}

ltc_status check_replicas(ltc_dist *d, const ltc_tensor_list &l, const char *fn) {
    LTC_RETURN_IF_ERROR(check_list(d, l, fn));
    const int world = d->env.world_size;
    std::vector<double> sums(2 * (size_t)world);
    ltc_status st = run_op(d, "replica check", [&] {
        at::NoGradGuard no_grad;
        at::Tensor flat = flatten(l.tensors, at::kDouble);
        // Two numbers: the plain sum, and a sum weighted by position (catches swapped values too).
        at::Tensor ramp = at::arange(1, flat.numel() + 1, flat.options()).div_((double)flat.numel());
        at::Tensor local = at::stack({flat.sum(), (flat * ramp).sum()});
        at::Tensor all = at::empty({2 * (int64_t)world}, local.options());
        d->backend->allgather(all, local, "replica check");
        at::Tensor host = all.cpu();
        memcpy(sums.data(), host.data_ptr<double>(), sums.size() * sizeof(double));
    });
    if (st != LTC_OK)
        return st;
    std::string bad;
    for (int r = 1; r < world; r++)
        if (memcmp(&sums[2 * r], &sums[0], 2 * sizeof(double)) != 0) {
            char buf[160];
            snprintf(buf, sizeof buf, "%srank %d (%.17g, %.17g)", bad.empty() ? "" : ", ", r, sums[2 * r], sums[2 * r + 1]);
            bad += buf;
        }
    if (!bad.empty())
        return fail(LTC_ERR_DISTRIBUTED,
                    "replicas diverged: the parameters of %s differ from rank 0's (%.17g, %.17g); every rank must start "
                    "from the same parameters and apply the same averaged gradients",
                    bad.c_str(), sums[0], sums[1]);
    return LTC_OK;
}

}  // namespace

namespace ltc::dist {

void average_gradients(ltc_dist *d, const std::vector<at::Tensor> &params) {
    at::NoGradGuard no_grad;
    int64_t total = 0;
    std::vector<const void *> ids;
    for (const auto &p : params) {
        total += p.numel();
        ids.push_back(p.unsafeGetTensorImpl());
    }
    // One buffer per set of parameters: another list gets a buffer of its own, never one whose slots
    // the first list's gradients alias.
    at::Tensor &flat = d->flat;
    if (!flat.defined() || d->flat_params != ids || flat.numel() != total || flat.device() != params[0].device() ||
        flat.scalar_type() != params[0].scalar_type()) {
        flat = at::empty({total}, params[0].options());
        d->flat_params = ids;
    }
    // Into the flat buffer: one cat kernel when every gradient is new (after zero_grad), a copy per
    // gradient that is not already its slot otherwise (the slots alias the previous step's).
    std::vector<at::Tensor> parts;
    bool any_aliased = false;
    int64_t off = 0;
    for (const auto &p : params) {
        const at::Tensor &g = p.grad();
        any_aliased |= g.data_ptr() == flat.narrow(0, off, p.numel()).data_ptr();
        parts.push_back(g.reshape(-1));
        off += p.numel();
    }
    if (!any_aliased) {
        at::cat_out(flat, parts);
    } else {
        off = 0;
        for (size_t i = 0; i < params.size(); i++) {
            at::Tensor slot = flat.narrow(0, off, params[i].numel());
            if (parts[i].data_ptr() != slot.data_ptr())
                slot.copy_(parts[i]);
            off += params[i].numel();
        }
    }
    d->backend->allreduce(flat, Op::avg, "all-reduce of the gradients");
    off = 0;
    for (const auto &p : params) {
        // The gradients now live in the flat buffer (DDP's gradient_as_bucket_view): no copy back. They
        // alias its storage without being autograd views, which zero_grad could not drop.
        at::Tensor g = at::empty({0}, flat.options());
        g.set_(flat.storage(), flat.storage_offset() + off, p.sizes(), p.strides());
        const_cast<at::Tensor &>(p).mutable_grad() = g;
        off += p.numel();
    }
}

}  // namespace ltc::dist

extern "C" {

ltc_status ltc_dist_all_reduce(ltc_dist *dist, ltc_tensor *tensor, ltc_reduce_op op) {
    LTC_CHECK_NOT_NULL(dist);
    LTC_CHECK_NOT_NULL(tensor);
    Op o = Op::sum;
    LTC_RETURN_IF_ERROR(to_op(&o, op, __func__));
    LTC_TRY {
        const at::Tensor &t = tensor->t;
        LTC_RETURN_IF_ERROR(check_device(dist, t, __func__, "the tensor"));
        if (o == Op::avg && !at::isFloatingType(t.scalar_type()))
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "%s: LTC_REDUCE_AVG needs a floating-point tensor, and this one is %s (an average of whole numbers "
                        "would be cut to a whole number): use LTC_REDUCE_SUM and divide",
                        __func__, dtype_text(t.scalar_type()).c_str());
        return run_op(dist, "all-reduce", [&] { in_place(t, [&](at::Tensor &c) { dist->backend->allreduce(c, o, "all-reduce"); }); });
    }
    LTC_CATCH
}

ltc_status ltc_dist_broadcast(ltc_dist *dist, ltc_tensor *tensor, int root) {
    LTC_CHECK_NOT_NULL(dist);
    LTC_CHECK_NOT_NULL(tensor);
    LTC_RETURN_IF_ERROR(check_root(dist, root, __func__));
    LTC_TRY {
        const at::Tensor &t = tensor->t;
        LTC_RETURN_IF_ERROR(check_device(dist, t, __func__, "the tensor"));
        return run_op(dist, "broadcast", [&] { in_place(t, [&](at::Tensor &c) { dist->backend->broadcast(c, root, "broadcast"); }); });
    }
    LTC_CATCH
}

ltc_status ltc_dist_barrier(ltc_dist *dist) {
    LTC_CHECK_NOT_NULL(dist);
    LTC_TRY {
        double ignored = 0;
        return allreduce_scalar(&ignored, dist, 0, Op::sum, "barrier");
    }
    LTC_CATCH
}

ltc_status ltc_dist_broadcast_parameters(ltc_dist *dist, const ltc_tensor_list *params, int root) {
    LTC_CHECK_NOT_NULL(dist);
    LTC_CHECK_NOT_NULL(params);
    LTC_TRY {
        return broadcast_parameters(dist, *params, root, __func__);
    }
    LTC_CATCH
}

ltc_status ltc_dist_average_gradients(ltc_dist *dist, const ltc_tensor_list *params) {
    LTC_CHECK_NOT_NULL(dist);
    LTC_CHECK_NOT_NULL(params);
    LTC_TRY {
        return average_gradients_of(dist, *params, __func__);
    }
    LTC_CATCH
}

ltc_status ltc_dist_check_replicas(ltc_dist *dist, const ltc_tensor_list *params) {
    LTC_CHECK_NOT_NULL(dist);
    LTC_CHECK_NOT_NULL(params);
    LTC_TRY {
        return check_replicas(dist, *params, __func__);
    }
    LTC_CATCH
}

}  // extern "C"
