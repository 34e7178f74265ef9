// The data-parallel C API of the group and the launcher: ltc_dist_init joins a group (store, rendezvous,
// watchdog, communicator), ltc_dist_free leaves it, ltc_launch_local starts local ranks. The collectives are in
// dist_collectives.cpp.
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

// Store, rendezvous, watchdog, communicator: the group d describes, joined by the deadline.
ltc_status connect_group(ltc_dist *d, Clock::time_point deadline, double timeout_s) {
    LTC_RETURN_IF_ERROR(open_store(d, deadline, timeout_s));
    if (d->env.rank == 0 && d->env.world_size > 1)
        LTC_RETURN_IF_ERROR(live_listen(d));
    LTC_RETURN_IF_ERROR(join(d, deadline, timeout_s));
    live_connect(d, deadline);
    start_watchdog(d);
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

extern "C" {

ltc_status ltc_launch_local(int *out_exit_code, int *out_failed_rank, int *out_restarts,
                            const ltc_launch_options *options) {
    LTC_CHECK_NOT_NULL(out_exit_code);
    LTC_CHECK_NOT_NULL(out_failed_rank);
    ltc_launch_options o = LTC_LAUNCH_OPTIONS_INIT;
    if (options) {
        if (options->version < 1 || options->version > LTC_LAUNCH_OPTIONS_VERSION)
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_launch_options.version %u is not known: use LTC_LAUNCH_OPTIONS_INIT",
                        options->version);
        o = *options;  // version 1: every field
    }
    if (!o.argv)
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "ltc_launch_options.argv is NULL: set it to the ranks' argv (argv[0] first, NULL-terminated)");
    if (!o.argv[0])
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "ltc_launch_options.argv is empty: pass the program's argv (argv[0] first, NULL-terminated)");
    if (o.nproc < 1)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_launch_options.nproc %d is not valid: use 1 or more", o.nproc);
    if (ltc::enum_int(o.device_type) != LTC_DEVICE_CPU && ltc::enum_int(o.device_type) != LTC_DEVICE_CUDA)
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "ltc_launch_options.device_type %d is not valid: use LTC_DEVICE_CPU or LTC_DEVICE_CUDA",
                    ltc::enum_int(o.device_type));
    if (o.port < 0 || o.port > 65535)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_launch_options.port %d is not valid: use 1 to 65535, or 0 for a free port",
                    o.port);
    if (!(o.timeout_s > 0) || !std::isfinite(o.timeout_s))
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_launch_options.timeout_s %g is not valid: use a finite number of seconds > 0",
                    o.timeout_s);
    if (o.max_restarts < 0 || o.max_restarts > 1000)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_launch_options.max_restarts %d is not valid: use 0 to 1000", o.max_restarts);
    if (o.forward_signals != 0 && o.forward_signals != 1)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_launch_options.forward_signals %d is not valid: use 0 or 1",
                    o.forward_signals);
    LTC_TRY {
        LaunchResult r;
        LTC_RETURN_IF_ERROR(launch_local(&r, o));
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
            st = fail(st, "rank %d: joining the group at %s:%d failed: %s%s", env->rank, env->master_addr, env->master_port,
                      m.c_str(), nvls_hint(m).c_str());
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

}  // extern "C"