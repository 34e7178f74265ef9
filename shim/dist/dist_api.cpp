// The data-parallel C API: ltc_dist_init joins a group (store, rendezvous, watchdog, communicator), the
// collectives the training loop calls, and ltc_launch_local.
#include "dist_internal.hpp"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/socket.h>

using ltc::fail;
using namespace ltc::dist;
using std::chrono::milliseconds;

namespace {

// The module's parameters, checked to live on the group's device.
ltc_status group_params(std::vector<at::Tensor> *out, const ltc_dist *d, const ltc_linear *linear, const char *fn) {
    *out = linear->m->parameters();
    for (const auto &p : *out)
        if (p.device() != d->device)
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s: the module is on %s but the group is on %s: move it with ltc_linear_to first",
                        fn, p.device().str().c_str(), d->device.str().c_str());
    return LTC_OK;
}

at::Tensor flatten(const std::vector<at::Tensor> &params) {
    std::vector<at::Tensor> parts;
    for (const auto &p : params)
        parts.push_back(p.detach().reshape(-1));
    return at::cat(parts);
}

// One number all-reduced over the group (as a double on its device); *out is set only on success.
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

// Store, rendezvous, watchdog, communicator: the group d describes, joined by the deadline.
ltc_status connect_group(ltc_dist *d, Clock::time_point deadline, double timeout_s) {
    LTC_RETURN_IF_ERROR(open_store(d, deadline, timeout_s));
    if (d->env.rank == 0 && d->env.world_size > 1)
        LTC_RETURN_IF_ERROR(live_listen(d));
    LTC_RETURN_IF_ERROR(join(d, deadline, timeout_s));
    live_connect(d, deadline);
    start_watchdog(d);
    register_group(d);
    const ltc_dist_env &env = d->env;
    std::unique_ptr<Backend> b;
    if (d->device.is_cuda()) {
        milliseconds pg_timeout = d->timeout + std::max(d->timeout, milliseconds(30000));
        b = make_nccl_backend(c10::make_intrusive<c10d::PrefixStore>("nccl", d->store), env.rank, env.world_size, d->device,
                              pg_timeout);
    } else {
        // Its abort shuts the main connection down, so that a call blocked on it returns at once.
        b = make_store_backend(d->store, env.rank, env.world_size, d->timeout, d->beat, [fds = d->tcp_fds] {
            for (int fd : fds)
                shutdown(fd, SHUT_RDWR);
        });
    }
    std::lock_guard<std::mutex> lk(d->mu);
    d->backend = std::move(b);
    return LTC_OK;
}

}  // namespace

namespace ltc::dist {


void average_gradients(ltc_dist *d, const std::vector<at::Tensor> &params) {
    at::NoGradGuard no_grad;
    int64_t total = 0;
    for (const auto &p : params)
        total += p.numel();
    at::Tensor &flat = d->flat;
    if (!flat.defined() || flat.numel() != total || flat.device() != params[0].device() ||
        flat.scalar_type() != params[0].scalar_type())
        flat = at::empty({total}, params[0].options());
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

ltc_status ltc_launch_local(int *out_exit_code, int *out_failed_rank, int nproc, const char *const *argv,
                            ltc_device_type device_type, int port, double timeout_s) {
    return ltc_launch_local_restarts(out_exit_code, out_failed_rank, nullptr, nproc, argv, device_type, port, timeout_s, 0);
}

ltc_status ltc_launch_local_restarts(int *out_exit_code, int *out_failed_rank, int *out_restarts, int nproc,
                                     const char *const *argv, ltc_device_type device_type, int port, double timeout_s,
                                     int max_restarts) {
    LTC_CHECK_NOT_NULL(out_exit_code);
    LTC_CHECK_NOT_NULL(out_failed_rank);
    LTC_CHECK_NOT_NULL(argv);
    if (!argv[0])
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_launch_local: argv is empty: pass the program's argv (argv[0] first, NULL-terminated)");
    if (nproc < 1)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_launch_local: nproc %d is not valid: use 1 or more", nproc);
    if (ltc::enum_int(device_type) != LTC_DEVICE_CPU && ltc::enum_int(device_type) != LTC_DEVICE_CUDA)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_launch_local: device type %d is not valid: use LTC_DEVICE_CPU or LTC_DEVICE_CUDA",
                    ltc::enum_int(device_type));
    if (port < 0 || port > 65535)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_launch_local: port %d is not valid: use 1 to 65535, or 0 for a free port", port);
    if (!(timeout_s > 0) || !std::isfinite(timeout_s))
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_launch_local: timeout %g s is not valid: use a finite number > 0", timeout_s);
    if (max_restarts < 0 || max_restarts > 1000)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_launch_local: max_restarts %d is not valid: use 0 to 1000", max_restarts);
    LTC_TRY {
        LaunchResult r;
        LTC_RETURN_IF_ERROR(launch_local(&r, nproc, argv, device_type, port, timeout_s, max_restarts));
        *out_exit_code = r.exit_code;
        *out_failed_rank = r.failed_rank;
        if (out_restarts)
            *out_restarts = r.restarts;
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_dist_init(ltc_dist **out, const ltc_dist_env *env, ltc_device device, double timeout_s) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(env);
    LTC_RETURN_IF_ERROR(check_env(__func__, *env));
    LTC_RETURN_IF_ERROR(check_timeout(__func__, timeout_s));
    LTC_TRY {
        c10::Device dev(c10::kCPU);
        if (ltc::enum_int(device.type) == LTC_DEVICE_CUDA && device.index < 0)
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "ltc_dist_init: device cuda has no index: use cuda:N, one GPU per rank (usually cuda:<local rank>, here cuda:%d)",
                        env->local_rank);
        if (ltc::enum_int(device.type) == LTC_DEVICE_CUDA && !ltc::dist::have_nccl())
            return fail(LTC_ERR_UNSUPPORTED,
                        "ltc_dist_init: this libltc was built without NCCL (its LibTorch had no CUDA at build time): use device cpu");
        LTC_RETURN_IF_ERROR(ltc::to_c10_device(device, &dev));
        if (dev.is_cuda())
            setenv("NCCL_NVLS_ENABLE", "0", 0);  // see ltc.h: NCCL reads it only from the environment

        const auto start = Clock::now();
        const auto deadline = start + duration_of(timeout_s);
        auto *d = new ltc_dist();
        d->env = *env;
        d->device = dev;
        d->timeout = milliseconds((long long)std::ceil(timeout_s * 1000));
        d->beat = std::clamp(milliseconds((long long)(timeout_s * 100)), milliseconds(50), milliseconds(2000));
        d->hosts_store = env->rank == 0 && !env->external_store;
        d->peer_value.assign(env->world_size, "0");
        d->peer_changed.assign(env->world_size, start);
        d->peer_closed.assign(env->world_size, Clock::time_point{});
        d->peer_host.assign(env->world_size, "");
        d->live_fd.assign(env->rank == 0 ? env->world_size : 1, -1);

        ltc_status st = LTC_OK;
        try {
            st = connect_group(d, deadline, timeout_s);
        } catch (...) {
            st = ltc::handle_exception();
            std::string m = ltc_last_error();
            st = fail(st, "rank %d: joining the group at %s:%d failed: %s", env->rank, env->master_addr, env->master_port,
                      m.c_str());
        }
        if (st == LTC_OK && d->failed.load())
            st = report(d);
        if (st != LTC_OK) {
            std::string m = ltc_last_error();
            destroy(d, false);
            return fail(st, "%s", m.c_str());
        }
        *out = d;
        return LTC_OK;
    }
    LTC_CATCH
}

void ltc_dist_free(ltc_dist *dist) {
    if (!dist)
        return;
    try {
        destroy(dist, true);
    } catch (...) {
    }
}

int ltc_dist_rank(const ltc_dist *dist) {
    if (!dist) {
        fail(LTC_ERR_INVALID_ARGUMENT, "ltc_dist_rank: argument 'dist' is NULL");
        return -1;
    }
    return dist->env.rank;
}

int ltc_dist_world_size(const ltc_dist *dist) {
    if (!dist) {
        fail(LTC_ERR_INVALID_ARGUMENT, "ltc_dist_world_size: argument 'dist' is NULL");
        return -1;
    }
    return dist->env.world_size;
}

ltc_status ltc_dist_broadcast_parameters_linear(ltc_dist *dist, ltc_linear *linear, int root) {
    LTC_CHECK_NOT_NULL(dist);
    LTC_CHECK_NOT_NULL(linear);
    if (root < 0 || root >= dist->env.world_size)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_dist_broadcast_parameters_linear: root %d is not valid: use 0 to %d", root,
                    dist->env.world_size - 1);
    LTC_TRY {
        std::vector<at::Tensor> params;
        LTC_RETURN_IF_ERROR(group_params(&params, dist, linear, "ltc_dist_broadcast_parameters_linear"));
        return run_op(dist, "broadcast of the parameters", [&] {
            at::NoGradGuard no_grad;
            at::Tensor flat = flatten(params);
            dist->backend->broadcast(flat, root, "broadcast of the parameters");
            int64_t off = 0;
            for (auto &p : params) {
                p.copy_(flat.narrow(0, off, p.numel()).view_as(p));
                off += p.numel();
            }
        });
    }
    LTC_CATCH
}

ltc_status ltc_dist_average_gradients_linear(ltc_dist *dist, ltc_linear *linear) {
    LTC_CHECK_NOT_NULL(dist);
    LTC_CHECK_NOT_NULL(linear);
    LTC_TRY {
        std::vector<at::Tensor> params;
        LTC_RETURN_IF_ERROR(group_params(&params, dist, linear, "ltc_dist_average_gradients_linear"));
        for (auto &p : params)
            if (!p.grad().defined())
                return fail(LTC_ERR_INVALID_ARGUMENT,
                            "ltc_dist_average_gradients_linear: a parameter has no gradient yet: call ltc_tensor_backward on the loss first");
        return run_op(dist, "all-reduce of the gradients", [&] { average_gradients(dist, params); });
    }
    LTC_CATCH
}

ltc_status ltc_dist_check_replicas_linear(ltc_dist *dist, const ltc_linear *linear) {
    LTC_CHECK_NOT_NULL(dist);
    LTC_CHECK_NOT_NULL(linear);
    LTC_TRY {
        std::vector<at::Tensor> params;
        LTC_RETURN_IF_ERROR(group_params(&params, dist, linear, "ltc_dist_check_replicas_linear"));
        const int world = dist->env.world_size;
        std::vector<double> sums(2 * (size_t)world);
        ltc_status st = run_op(dist, "replica check", [&] {
            at::NoGradGuard no_grad;
            at::Tensor flat = flatten(params).to(at::kDouble);
            // Two numbers: the plain sum, and a sum weighted by position (catches swapped values too).
            at::Tensor ramp = at::arange(1, flat.numel() + 1, flat.options()).div_((double)flat.numel());
            at::Tensor local = at::stack({flat.sum(), (flat * ramp).sum()});
            at::Tensor all = at::empty({2 * (int64_t)world}, local.options());
            dist->backend->allgather(all, local, "replica check");
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
    LTC_CATCH
}

ltc_status ltc_dist_any(int *out, ltc_dist *dist, int flag) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(dist);
    LTC_TRY {
        double result = 0;
        LTC_RETURN_IF_ERROR(allreduce_scalar(&result, dist, flag != 0, Op::max, "agreement"));
        *out = result != 0;
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_dist_mean(double *out, ltc_dist *dist, double value) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(dist);
    LTC_TRY {
        return allreduce_scalar(out, dist, value, Op::avg, "mean");
    }
    LTC_CATCH
}

}  // extern "C"