/* ltc_dist_env_from, the launcher's environment: the input is an environment, one "NAME=value" per line.
 * Whatever it holds, the call returns LTC_OK with a coherent job (0 <= rank < world_size, a local rank of
 * 0 or more, a non-empty address, a port in 1..65535, or 0 only for a job of one), or
 * LTC_ERR_INVALID_ARGUMENT with a message naming a launcher variable and *out untouched. The launcher
 * found is the first of torchrun, Slurm and Open MPI whose variables are set, and RANK/WORLD_SIZE read
 * back as their values. */
#include "fuzz_common.h"
#include "ltc.h"

#define MAX_VARS 64

static const char *lookup(char *const *env, int n, const char *name) {
    size_t len = strlen(name);
    for (int i = 0; i < n; i++)
        if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
            return env[i] + len + 1;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_cstring(data, size);
    char *env[MAX_VARS + 1];
    int n = fuzz_lines(text, env, MAX_VARS);

    ltc_dist_env e, before;
    memset(&e, 0x5a, sizeof e);
    before = e;
    ltc_status st = ltc_dist_env_from(&e, (const char *const *)env);
    FUZZ_ASSERT(st == LTC_OK || st == LTC_ERR_INVALID_ARGUMENT, "status %s: %s", ltc_status_string(st), ltc_last_error());
    if (st != LTC_OK) {
        FUZZ_ASSERT(memcmp(&e, &before, sizeof e) == 0, "out changed on failure");
        static const char *const vars[] = {"RANK", "WORLD_SIZE", "SLURM_", "OMPI_COMM_WORLD_", "MASTER_ADDR", "MASTER_PORT",
                                           "TORCHELASTIC_"};
        int named = 0;
        for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
            named |= strstr(ltc_last_error(), vars[i]) != NULL;
        FUZZ_ASSERT(named, "the message names no variable: %s", ltc_last_error());
    } else {
        FUZZ_ASSERT(e.launcher >= LTC_LAUNCHER_NONE && e.launcher <= LTC_LAUNCHER_LOCAL, "launcher %d", (int)e.launcher);
        FUZZ_ASSERT(e.world_size >= 1 && e.rank >= 0 && e.rank < e.world_size, "rank %d of %d", e.rank, e.world_size);
        FUZZ_ASSERT(e.local_rank >= 0, "local rank %d", e.local_rank);
        FUZZ_ASSERT(memchr(e.master_addr, '\0', sizeof e.master_addr) && e.master_addr[0], "master_addr not a string");
        FUZZ_ASSERT((e.master_port >= 1 && e.master_port <= 65535) || (e.master_port == 0 && e.world_size == 1),
                    "port %d with world size %d", e.master_port, e.world_size);
        FUZZ_ASSERT((e.external_store == 0 || e.external_store == 1) && e.restart >= 0, "external_store %d restart %d",
                    e.external_store, e.restart);
        const char *rank = lookup(env, n, "RANK"), *world = lookup(env, n, "WORLD_SIZE");
        if (rank || world) {
            FUZZ_ASSERT(e.launcher == LTC_LAUNCHER_TORCHRUN || e.launcher == LTC_LAUNCHER_LOCAL,
                        "RANK/WORLD_SIZE set but launcher %d", (int)e.launcher);
            FUZZ_ASSERT(rank && world && atol(rank) == e.rank && atol(world) == e.world_size,
                        "RANK=%s WORLD_SIZE=%s read as %d of %d", rank ? rank : "(unset)", world ? world : "(unset)", e.rank,
                        e.world_size);
        } else if (lookup(env, n, "SLURM_PROCID") || lookup(env, n, "SLURM_NTASKS")) {
            FUZZ_ASSERT(e.launcher == LTC_LAUNCHER_SLURM, "Slurm variables set but launcher %d", (int)e.launcher);
        } else if (lookup(env, n, "OMPI_COMM_WORLD_RANK") || lookup(env, n, "OMPI_COMM_WORLD_SIZE")) {
            FUZZ_ASSERT(e.launcher == LTC_LAUNCHER_MPI, "Open MPI variables set but launcher %d", (int)e.launcher);
        } else {
            FUZZ_ASSERT(e.launcher == LTC_LAUNCHER_NONE && e.world_size == 1, "no launcher, but %d of %d", e.rank,
                        e.world_size);
        }
    }
    free(text);
    return 0;
}
