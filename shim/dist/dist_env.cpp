// Launcher variables: where this process sits in a job, as torchrun, Slurm, Open MPI or ltc_launch_local
// describe it (ltc_dist_env_from).
#include "dist_internal.hpp"

#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern char **environ;

using ltc::fail;

namespace {

// A whole decimal number in [lo, hi]; anything else names the variable and what is valid.
ltc_status parse_int(int *out, const char *name, const char *text, long lo, long hi, const char *valid) {
    bool digits = text[0] != '\0' && strspn(text, "0123456789") == strlen(text) && strlen(text) <= 9;
    long v = digits ? strtol(text, nullptr, 10) : -1;
    if (!digits || v < lo || v > hi)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s=\"%.32s\" is not valid: use %s", name, text, valid);
    *out = (int)v;
    return LTC_OK;
}

struct Names {
    ltc_launcher launcher;
    const char *rank, *size, *local_rank;
};

const Names kLaunchers[] = {
    {LTC_LAUNCHER_TORCHRUN, "RANK", "WORLD_SIZE", "LOCAL_RANK"},
    {LTC_LAUNCHER_SLURM, "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},
    {LTC_LAUNCHER_MPI, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
};

}  // namespace

namespace ltc::dist {

const char *env_lookup(const char *const *envp, const char *name) {
    if (!envp)
        return nullptr;
    size_t n = strlen(name);
    for (const char *const *e = envp; *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return nullptr;
}

ltc_status env_from(ltc_dist_env *out, const char *const *envp) {
    ltc_dist_env e{};
    e.launcher = LTC_LAUNCHER_NONE;
    e.world_size = 1;
    const Names *found = nullptr;
    for (const auto &l : kLaunchers)
        if (env_lookup(envp, l.rank) || env_lookup(envp, l.size)) {
            found = &l;
            break;
        }
    if (found) {
        const char *rank = env_lookup(envp, found->rank), *size = env_lookup(envp, found->size);
        if (!rank || !size)
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s is set but %s is not: a launcher sets both (%s)",
                        rank ? found->rank : found->size, rank ? found->size : found->rank,
                        ltc_launcher_name(found->launcher));
        e.launcher = found->launcher;
        const char *local_launch = env_lookup(envp, "LTC_LAUNCH_LOCAL");
        if (e.launcher == LTC_LAUNCHER_TORCHRUN && local_launch && strcmp(local_launch, "1") == 0)
            e.launcher = LTC_LAUNCHER_LOCAL;
        LTC_RETURN_IF_ERROR(parse_int(&e.world_size, found->size, size, 1, 1 << 24, "a whole number, 1 to 16777216 (2^24)"));
        char valid[64];
        snprintf(valid, sizeof valid, "0 to %d (%s=%d)", e.world_size - 1, found->size, e.world_size);
        LTC_RETURN_IF_ERROR(parse_int(&e.rank, found->rank, rank, 0, e.world_size - 1, valid));
        const char *local = env_lookup(envp, found->local_rank);
        e.local_rank = e.rank;
        if (local)
            LTC_RETURN_IF_ERROR(parse_int(&e.local_rank, found->local_rank, local, 0, 1 << 24, "a whole number, 0 to 16777216 (2^24)"));
    }

    // Where the store is. torchrun always says; Slurm and mpirun do not, so a single node is assumed.
    const char *addr = env_lookup(envp, "MASTER_ADDR"), *port = env_lookup(envp, "MASTER_PORT");
    bool single_node = true;
    if (e.launcher == LTC_LAUNCHER_SLURM) {
        const char *nodes = env_lookup(envp, "SLURM_NNODES");
        single_node = !nodes || strcmp(nodes, "1") == 0;
    } else if (e.launcher == LTC_LAUNCHER_MPI) {
        const char *local_size = env_lookup(envp, "OMPI_COMM_WORLD_LOCAL_SIZE");
        single_node = !local_size || strtol(local_size, nullptr, 10) == e.world_size;
    }
    if (!addr) {
        if ((e.launcher == LTC_LAUNCHER_TORCHRUN || e.launcher == LTC_LAUNCHER_LOCAL) && e.world_size > 1)
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "MASTER_ADDR is not set, but RANK and WORLD_SIZE are: set it to the host of rank 0");
        if (!single_node)
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "MASTER_ADDR is not set and the %s job spans several nodes: set MASTER_ADDR to the host of rank 0",
                        ltc_launcher_name(e.launcher));
        addr = "127.0.0.1";
    }
    if (addr[0] == '\0' || strlen(addr) >= LTC_DIST_ADDR_MAX)
        return fail(LTC_ERR_INVALID_ARGUMENT, "MASTER_ADDR=\"%.64s\" is not valid: use a host name or address of 1 to %d characters",
                    addr, LTC_DIST_ADDR_MAX - 1);
    snprintf(e.master_addr, sizeof e.master_addr, "%s", addr);
    if (port) {
        LTC_RETURN_IF_ERROR(parse_int(&e.master_port, "MASTER_PORT", port, 1, 65535, "a port number, 1 to 65535"));
    } else if ((e.launcher == LTC_LAUNCHER_TORCHRUN || e.launcher == LTC_LAUNCHER_LOCAL) && e.world_size > 1) {
        return fail(LTC_ERR_INVALID_ARGUMENT, "MASTER_PORT is not set, but RANK and WORLD_SIZE are: set it to a free port on %s",
                    e.master_addr);
    } else {
        e.master_port = e.world_size == 1 ? 0 : 29500;  // a job of one hosts its store on any free port
    }
    if (e.launcher == LTC_LAUNCHER_TORCHRUN || e.launcher == LTC_LAUNCHER_LOCAL) {
        const char *agent = env_lookup(envp, "TORCHELASTIC_USE_AGENT_STORE");
        e.external_store = agent && strcmp(agent, "True") == 0;
        const char *restart = env_lookup(envp, "TORCHELASTIC_RESTART_COUNT");
        if (restart)
            LTC_RETURN_IF_ERROR(parse_int(&e.restart, "TORCHELASTIC_RESTART_COUNT", restart, 0, INT_MAX, "a whole number, 0 or more"));
    }
    *out = e;
    return LTC_OK;
}

ltc_status check_env(const char *fn, const ltc_dist_env &env) {
    int launcher = ltc::enum_int(env.launcher);  // any int may arrive from C
    if (launcher < LTC_LAUNCHER_NONE || launcher > LTC_LAUNCHER_LOCAL)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: launcher %d is not valid: fill the env with ltc_dist_env_from", fn,
                    launcher);
    if (env.world_size < 1)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: world size %d is not valid: use 1 or more", fn, env.world_size);
    if (env.rank < 0 || env.rank >= env.world_size)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: rank %d is not valid with a world size of %d: use 0 to %d", fn, env.rank,
                    env.world_size, env.world_size - 1);
    if (env.local_rank < 0)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: local rank %d is not valid: use 0 or more", fn, env.local_rank);
    if (memchr(env.master_addr, '\0', LTC_DIST_ADDR_MAX) == nullptr || env.master_addr[0] == '\0')
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: master_addr is empty or not NUL-terminated: use a host name or address", fn);
    bool hosts = env.rank == 0 && !env.external_store;
    if (env.master_port < 0 || env.master_port > 65535 || (env.master_port == 0 && !(hosts && env.world_size == 1)))
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "%s: master port %d is not valid: use 1 to 65535 (0, any free port, only for a world size of 1)", fn,
                    env.master_port);
    return LTC_OK;
}

ltc_status check_timeout(const char *fn, double timeout_s) {
    if (!(timeout_s > 0) || !std::isfinite(timeout_s) || timeout_s > 1e7)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: timeout %g s is not valid: use a number of seconds > 0 and at most 1e7", fn,
                    timeout_s);
    return LTC_OK;
}

}  // namespace ltc::dist

extern "C" {

const char *ltc_launcher_name(ltc_launcher launcher) {
    switch (ltc::enum_int(launcher)) {
    case LTC_LAUNCHER_NONE: return "none";
    case LTC_LAUNCHER_TORCHRUN: return "torchrun";
    case LTC_LAUNCHER_SLURM: return "slurm";
    case LTC_LAUNCHER_MPI: return "mpirun";
    case LTC_LAUNCHER_LOCAL: return "ltc_launch_local";
    }
    return "unknown";
}

ltc_status ltc_dist_env_from(ltc_dist_env *out, const char *const *envp) {
    LTC_CHECK_NOT_NULL(out);
    LTC_TRY {
        return ltc::dist::env_from(out, envp ? envp : environ);
    }
    LTC_CATCH
}
}  // extern "C"
