/* The data-parallel API on any machine: launcher variables (good and bad, for each launcher), the
 * rendezvous over TCPStore (a group of one, an unreachable store, a missing rank, a busy port, ranks that
 * disagree), the collectives of a 2-rank CPU group run as two threads (broadcast, the averaged gradient
 * equal to the full-batch gradient, the replica check and its divergence error, the mean), and every
 * argument error. Network: 127.0.0.1 only; every wait has a timeout of a second or two. */
#define _POSIX_C_SOURCE 200809L /* setenv, clock_gettime */
#include "testhelper.h"
#include "net_helper.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const ltc_device CPU = {LTC_DEVICE_CPU, 0};

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* A Linear module with its parameter list ("weight", "bias"), as the collectives take it. */
typedef struct tlin {
    ltc_module *m;
    ltc_tensor_list *p;
} tlin;

static ltc_status tlin_new(tlin **out, int64_t in, int64_t outf) {
    *out = calloc(1, sizeof **out);
    if (!*out)
        return LTC_ERR_OUT_OF_MEMORY;
    ltc_status s = ltc_module_linear_new(&(*out)->m, in, outf, 1);
    return s == LTC_OK ? ltc_module_parameters(&(*out)->p, (*out)->m) : s;
}

static void tlin_free(tlin *l) {
    if (!l)
        return;
    ltc_tensor_list_free(l->p);
    ltc_module_free(l->m);
    free(l);
}

/* Entry i (0 the weight, 1 the bias) or its gradient, copied to the host: bytes must be its size. */
static int tlin_read(const tlin *l, int i, int grad, void *dst, size_t bytes) {
    ltc_tensor *t = NULL, *g = NULL;
    int ok = ltc_tensor_list_get(&t, NULL, l->p, i) == LTC_OK && (!grad || ltc_tensor_grad(&g, t) == LTC_OK) &&
             ltc_tensor_copy_to_host(dst, bytes, grad ? g : t) == LTC_OK;
    ltc_tensor_free(t);
    ltc_tensor_free(g);
    return ok;
}

/* Writes the weight (and the bias unless b is NULL) in place, through ltc_tensor_data (CPU tensors). */
static ltc_status tlin_set(tlin *l, const float *w, const float *b) {
    for (int i = 0; i < (b ? 2 : 1); i++) {
        ltc_tensor *t = NULL;
        void *data = NULL;
        ltc_status s = ltc_tensor_list_get(&t, NULL, l->p, i);
        if (s == LTC_OK && (s = ltc_tensor_data(&data, t)) == LTC_OK)
            memcpy(data, i == 0 ? w : b, ltc_tensor_nbytes(t));
        ltc_tensor_free(t);
        if (s != LTC_OK)
            return s;
    }
    return LTC_OK;
}

/* SGD over the module's parameters. */
static ltc_status tlin_sgd(ltc_optimizer **out, const tlin *l, double lr, double momentum) {
    ltc_sgd_options o = LTC_SGD_OPTIONS_INIT;
    o.lr = lr, o.momentum = momentum;
    return ltc_optimizer_sgd_new(out, l->p, &o);
}

/* ---------------------------------------------------------------------------------------------- */
/* Launcher variables                                                                               */
/* ---------------------------------------------------------------------------------------------- */

static void check_env(const char *name, const char *const *envp, ltc_launcher launcher, int rank, int world, int local,
                      const char *addr, int port) {
    ltc_dist_env e;
    memset(&e, 0x5a, sizeof e);
    ltc_status s = ltc_dist_env_from(&e, envp);
    int ok = s == LTC_OK && e.launcher == launcher && e.rank == rank && e.world_size == world && e.local_rank == local &&
             strcmp(e.master_addr, addr) == 0 && e.master_port == port;
    char detail[512];
    snprintf(detail, sizeof detail, "got %s: launcher %d rank %d world %d local %d %s:%d", ltc_status_string(s),
             (int)e.launcher, e.rank, e.world_size, e.local_rank, s == LTC_OK ? e.master_addr : "-", e.master_port);
    th_report(ok, __FILE__, __LINE__, name, detail);
}

static void check_env_bad(const char *const *envp, const char *text) {
    ltc_dist_env e, before;
    memset(&e, 0x5a, sizeof e);
    before = e;
    CHECK_FAILS(ltc_dist_env_from(&e, envp), LTC_ERR_INVALID_ARGUMENT, text);
    CHECK(text, memcmp(&e, &before, sizeof e) == 0); /* out untouched on failure */
}

static void test_env(void) {
    const char *none[] = {"HOME=/root", "PATH=/bin", NULL};
    check_env("no launcher", none, LTC_LAUNCHER_NONE, 0, 1, 0, "127.0.0.1", 0);
    const char *tr[] = {"RANK=1", "WORLD_SIZE=4", "LOCAL_RANK=1", "MASTER_ADDR=node0", "MASTER_PORT=29501", NULL};
    check_env("torchrun", tr, LTC_LAUNCHER_TORCHRUN, 1, 4, 1, "node0", 29501);
    const char *tr_nolocal[] = {"RANK=3", "WORLD_SIZE=4", "MASTER_ADDR=10.0.0.1", "MASTER_PORT=1", NULL};
    check_env("torchrun, LOCAL_RANK defaults to RANK", tr_nolocal, LTC_LAUNCHER_TORCHRUN, 3, 4, 3, "10.0.0.1", 1);
    const char *tr_one[] = {"RANK=0", "WORLD_SIZE=1", NULL};
    check_env("torchrun, world size 1 needs no address", tr_one, LTC_LAUNCHER_TORCHRUN, 0, 1, 0, "127.0.0.1", 0);
    const char *local[] = {"RANK=1", "WORLD_SIZE=2", "LOCAL_RANK=1", "MASTER_ADDR=127.0.0.1", "MASTER_PORT=4000",
                           "LTC_LAUNCH_LOCAL=1", NULL};
    check_env("ltc_launch_local", local, LTC_LAUNCHER_LOCAL, 1, 2, 1, "127.0.0.1", 4000);
    const char *slurm[] = {"SLURM_PROCID=3", "SLURM_NTASKS=4", "SLURM_LOCALID=1", "SLURM_NNODES=1", NULL};
    check_env("slurm, one node", slurm, LTC_LAUNCHER_SLURM, 3, 4, 1, "127.0.0.1", 29500);
    const char *slurm2[] = {"SLURM_PROCID=5", "SLURM_NTASKS=8", "SLURM_LOCALID=1", "SLURM_NNODES=2",
                            "MASTER_ADDR=gpu-node-01", "MASTER_PORT=23456", NULL};
    check_env("slurm, two nodes", slurm2, LTC_LAUNCHER_SLURM, 5, 8, 1, "gpu-node-01", 23456);
    const char *mpi[] = {"OMPI_COMM_WORLD_RANK=1", "OMPI_COMM_WORLD_SIZE=2", "OMPI_COMM_WORLD_LOCAL_RANK=1",
                         "OMPI_COMM_WORLD_LOCAL_SIZE=2", NULL};
    check_env("mpirun", mpi, LTC_LAUNCHER_MPI, 1, 2, 1, "127.0.0.1", 29500);
    const char *both[] = {"SLURM_PROCID=0", "SLURM_NTASKS=1", "RANK=1", "WORLD_SIZE=2", "MASTER_ADDR=h",
                          "MASTER_PORT=9", NULL};
    check_env("torchrun inside srun: torchrun wins", both, LTC_LAUNCHER_TORCHRUN, 1, 2, 1, "h", 9);

    ltc_dist_env e;
    const char *agent[] = {"RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=h", "MASTER_PORT=9",
                           "TORCHELASTIC_USE_AGENT_STORE=True", "TORCHELASTIC_RESTART_COUNT=2", NULL};
    CHECK_OK(ltc_dist_env_from(&e, agent));
    CHECK("torchrun's agent hosts the store", e.external_store == 1 && e.restart == 2);
    CHECK_OK(ltc_dist_env_from(&e, tr));
    CHECK("no agent store", e.external_store == 0 && e.restart == 0);

    /* bad values, each named */
    const char *b1[] = {"RANK=0", "WORLD_SIZE=0", NULL};
    check_env_bad(b1, "WORLD_SIZE=\"0\" is not valid: use a whole number, 1 to 16777216 (2^24)");
    const char *b2[] = {"RANK=4", "WORLD_SIZE=4", "MASTER_ADDR=h", "MASTER_PORT=9", NULL};
    check_env_bad(b2, "RANK=\"4\" is not valid: use 0 to 3 (WORLD_SIZE=4)");
    const char *b3[] = {"RANK=-1", "WORLD_SIZE=2", NULL};
    check_env_bad(b3, "RANK=\"-1\" is not valid");
    const char *b4[] = {"RANK=one", "WORLD_SIZE=2", NULL};
    check_env_bad(b4, "RANK=\"one\" is not valid");
    const char *b5[] = {"RANK=0", "WORLD_SIZE=2x", NULL};
    check_env_bad(b5, "WORLD_SIZE=\"2x\" is not valid");
    const char *b6[] = {"RANK=0", "WORLD_SIZE=", NULL};
    check_env_bad(b6, "WORLD_SIZE=\"\" is not valid");
    const char *b7[] = {"RANK=0", NULL};
    check_env_bad(b7, "RANK is set but WORLD_SIZE is not");
    const char *b8[] = {"WORLD_SIZE=2", NULL};
    check_env_bad(b8, "WORLD_SIZE is set but RANK is not");
    const char *b9[] = {"RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=h", "MASTER_PORT=abc", NULL};
    check_env_bad(b9, "MASTER_PORT=\"abc\" is not valid: use a port number, 1 to 65535");
    const char *b10[] = {"RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=h", "MASTER_PORT=70000", NULL};
    check_env_bad(b10, "MASTER_PORT=\"70000\" is not valid");
    const char *b11[] = {"RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=h", "MASTER_PORT=0", NULL};
    check_env_bad(b11, "MASTER_PORT=\"0\" is not valid");
    const char *b12[] = {"RANK=0", "WORLD_SIZE=2", "MASTER_PORT=9", NULL};
    check_env_bad(b12, "MASTER_ADDR is not set, but RANK and WORLD_SIZE are");
    const char *b13[] = {"RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=h", NULL};
    check_env_bad(b13, "MASTER_PORT is not set, but RANK and WORLD_SIZE are");
    const char *b14[] = {"RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=", "MASTER_PORT=9", NULL};
    check_env_bad(b14, "MASTER_ADDR=\"\" is not valid");
    const char *b15[] = {"RANK=0", "WORLD_SIZE=2", "LOCAL_RANK=x", "MASTER_ADDR=h", "MASTER_PORT=9", NULL};
    check_env_bad(b15, "LOCAL_RANK=\"x\" is not valid");
    const char *b16[] = {"SLURM_PROCID=0", "SLURM_NTASKS=0", NULL};
    check_env_bad(b16, "SLURM_NTASKS=\"0\" is not valid");
    const char *b17[] = {"SLURM_PROCID=2", "SLURM_NTASKS=4", "SLURM_NNODES=2", NULL};
    check_env_bad(b17, "MASTER_ADDR is not set and the slurm job spans several nodes");
    const char *b18[] = {"OMPI_COMM_WORLD_RANK=5", "OMPI_COMM_WORLD_SIZE=2", NULL};
    check_env_bad(b18, "OMPI_COMM_WORLD_RANK=\"5\" is not valid: use 0 to 1 (OMPI_COMM_WORLD_SIZE=2)");
    const char *b19[] = {"OMPI_COMM_WORLD_RANK=0", "OMPI_COMM_WORLD_SIZE=4", "OMPI_COMM_WORLD_LOCAL_SIZE=2", NULL};
    check_env_bad(b19, "MASTER_ADDR is not set and the mpirun job spans several nodes");
    const char *b20[] = {"SLURM_NTASKS=2", NULL};
    check_env_bad(b20, "SLURM_NTASKS is set but SLURM_PROCID is not");
    const char *b21[] = {"RANK=0", "WORLD_SIZE=1", "TORCHELASTIC_RESTART_COUNT=x", NULL};
    check_env_bad(b21, "TORCHELASTIC_RESTART_COUNT=\"x\" is not valid");
    char longaddr[400] = "MASTER_ADDR=";
    memset(longaddr + 12, 'a', 300);
    longaddr[312] = '\0';
    const char *b22[] = {"RANK=0", "WORLD_SIZE=2", longaddr, "MASTER_PORT=9", NULL};
    check_env_bad(b22, "use a host name or address of 1 to 255 characters");
    CHECK_FAILS(ltc_dist_env_from(NULL, none), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");

    /* NULL: this process's environment */
    unsetenv("RANK");
    unsetenv("WORLD_SIZE");
    unsetenv("SLURM_PROCID");
    unsetenv("SLURM_NTASKS");
    unsetenv("OMPI_COMM_WORLD_RANK");
    unsetenv("OMPI_COMM_WORLD_SIZE");
    CHECK_OK(ltc_dist_env_from(&e, NULL));
    CHECK("environment without a launcher", e.launcher == LTC_LAUNCHER_NONE && e.world_size == 1);
    setenv("RANK", "0", 1);
    setenv("WORLD_SIZE", "1", 1);
    CHECK_OK(ltc_dist_env_from(&e, NULL));
    CHECK("environment with RANK/WORLD_SIZE", e.launcher == LTC_LAUNCHER_TORCHRUN && e.world_size == 1);
    unsetenv("RANK");
    unsetenv("WORLD_SIZE");

    CHECK("names", !strcmp(ltc_launcher_name(LTC_LAUNCHER_NONE), "none") &&
                       !strcmp(ltc_launcher_name(LTC_LAUNCHER_TORCHRUN), "torchrun") &&
                       !strcmp(ltc_launcher_name(LTC_LAUNCHER_SLURM), "slurm") &&
                       !strcmp(ltc_launcher_name(LTC_LAUNCHER_MPI), "mpirun") &&
                       !strcmp(ltc_launcher_name(LTC_LAUNCHER_LOCAL), "ltc_launch_local") &&
                       !strcmp(ltc_launcher_name((ltc_launcher)99), "unknown"));
}

/* ---------------------------------------------------------------------------------------------- */
/* Rendezvous                                                                                       */
/* ---------------------------------------------------------------------------------------------- */

static void test_group_of_one(void) {
    ltc_dist_env e;
    const char *none[] = {NULL};
    CHECK_OK(ltc_dist_env_from(&e, none));
    ltc_dist *d = NULL;
    CHECK_OK(ltc_dist_init(&d, &e, CPU, 5.0));
    CHECK("rank 0 of 1", ltc_dist_rank(d) == 0 && ltc_dist_world_size(d) == 1);
    tlin *lin = NULL;
    ltc_tensor *x = NULL, *y = NULL, *p = NULL, *loss = NULL;
    int64_t xs[2] = {4, 3}, ys[2] = {4, 2};
    CHECK_OK(tlin_new(&lin, 3, 2));
    CHECK_OK(ltc_dist_broadcast_parameters(d, lin->p, 0));
    CHECK_FAILS(ltc_dist_average_gradients(d, lin->p), LTC_ERR_INVALID_ARGUMENT,
                "parameter \"weight\" has no gradient yet: call ltc_tensor_backward on the loss first");
    CHECK_OK(ltc_tensor_randn(&x, xs, 2, LTC_FLOAT32, CPU, 1));
    CHECK_OK(ltc_tensor_randn(&y, ys, 2, LTC_FLOAT32, CPU, 2));
    CHECK_OK(ltc_module_forward(&p, lin->m, x));
    CHECK_OK(ltc_mse_loss(&loss, p, y));
    CHECK_OK(ltc_tensor_backward(loss));
    float before[6], after[6];
    CHECK("read the gradient", tlin_read(lin, 0, 1, before, sizeof before));
    CHECK_OK(ltc_dist_average_gradients(d, lin->p));
    CHECK("read the gradient", tlin_read(lin, 0, 1, after, sizeof after));
    CHECK("one rank: the average is the gradient itself", memcmp(before, after, sizeof before) == 0);
    /* the gradients now share the flat buffer; zero_grad and a second step still work */
    ltc_optimizer *opt = NULL;
    CHECK_OK(tlin_sgd(&opt, lin, 0.1, 0.9));
    CHECK_OK(ltc_optimizer_step(opt));
    CHECK_OK(ltc_optimizer_zero_grad(opt));
    CHECK_FAILS(ltc_dist_average_gradients(d, lin->p), LTC_ERR_INVALID_ARGUMENT, "no gradient yet");
    ltc_tensor_free(p);
    ltc_tensor_free(loss);
    p = loss = NULL;
    CHECK_OK(ltc_module_forward(&p, lin->m, x));
    CHECK_OK(ltc_mse_loss(&loss, p, y));
    CHECK_OK(ltc_tensor_backward(loss));
    CHECK_OK(ltc_dist_average_gradients(d, lin->p));
    CHECK_OK(ltc_optimizer_step(opt));
    CHECK_OK(ltc_dist_check_replicas(d, lin->p));
    double m = 0;
    CHECK_OK(th_dist_mean(&m, d, CPU, 2.5));
    CHECK("mean of one", m == 2.5);

    CHECK_FAILS(ltc_dist_broadcast_parameters(d, lin->p, 1), LTC_ERR_INVALID_ARGUMENT, "root 1 is not valid: use 0 to 0");
    CHECK_FAILS(ltc_dist_broadcast_parameters(d, lin->p, -1), LTC_ERR_INVALID_ARGUMENT, "root -1 is not valid");
    CHECK_FAILS(ltc_dist_broadcast_parameters(NULL, lin->p, 0), LTC_ERR_INVALID_ARGUMENT, "'dist' is NULL");
    CHECK_FAILS(ltc_dist_broadcast_parameters(d, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'params' is NULL");
    CHECK_FAILS(ltc_dist_average_gradients(NULL, lin->p), LTC_ERR_INVALID_ARGUMENT, "'dist' is NULL");
    CHECK_FAILS(ltc_dist_check_replicas(d, NULL), LTC_ERR_INVALID_ARGUMENT, "'params' is NULL");
    CHECK_FAILS(th_dist_mean(&m, NULL, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "'dist' is NULL");
    CHECK_FAILS(ltc_dist_all_reduce(d, NULL, LTC_REDUCE_SUM), LTC_ERR_INVALID_ARGUMENT, "'tensor' is NULL");
    CHECK("rank of NULL", ltc_dist_rank(NULL) == -1 && strstr(ltc_last_error(), "'dist' is NULL"));
    CHECK("world size of NULL", ltc_dist_world_size(NULL) == -1);
    ltc_optimizer_free(opt);
    ltc_tensor_free(x);
    ltc_tensor_free(y);
    ltc_tensor_free(p);
    ltc_tensor_free(loss);
    tlin_free(lin);
    ltc_dist_free(d);
    ltc_dist_free(NULL);
}

static void test_init_arguments(void) {
    ltc_dist *d = (ltc_dist *)1;
    ltc_dist_env e = local_env(0, 2, 29500);
    CHECK_FAILS(ltc_dist_init(NULL, &e, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    CHECK_FAILS(ltc_dist_init(&d, NULL, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "'env' is NULL");
    CHECK("out NULL on failure", d == NULL);
    e = local_env(2, 2, 29500);
    CHECK_FAILS(ltc_dist_init(&d, &e, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "rank 2 is not valid with a world size of 2: use 0 to 1");
    e = local_env(0, 0, 29500);
    CHECK_FAILS(ltc_dist_init(&d, &e, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "world size 0 is not valid");
    e = local_env(0, 2, 0);
    CHECK_FAILS(ltc_dist_init(&d, &e, CPU, 1), LTC_ERR_INVALID_ARGUMENT,
                "master port 0 is not valid: use 1 to 65535 (0, any free port, only for a world size of 1)");
    e = local_env(0, 2, 70000);
    CHECK_FAILS(ltc_dist_init(&d, &e, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "master port 70000 is not valid");
    e = local_env(0, 1, 0);
    e.launcher = (ltc_launcher)42;
    CHECK_FAILS(ltc_dist_init(&d, &e, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "launcher 42 is not valid");
    e = local_env(0, 1, 0);
    e.local_rank = -1;
    CHECK_FAILS(ltc_dist_init(&d, &e, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "local rank -1 is not valid");
    e = local_env(0, 1, 0);
    e.master_addr[0] = '\0';
    CHECK_FAILS(ltc_dist_init(&d, &e, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "master_addr is empty");
    e = local_env(0, 1, 0);
    CHECK_FAILS(ltc_dist_init(&d, &e, CPU, 0), LTC_ERR_INVALID_ARGUMENT, "timeout 0 s is not valid");
    CHECK_FAILS(ltc_dist_init(&d, &e, CPU, -2), LTC_ERR_INVALID_ARGUMENT, "timeout -2 s is not valid");
    CHECK_FAILS(ltc_dist_init(&d, &e, CPU, NAN), LTC_ERR_INVALID_ARGUMENT, "timeout nan s is not valid");
    CHECK_FAILS(ltc_dist_init(&d, &e, CPU, INFINITY), LTC_ERR_INVALID_ARGUMENT, "timeout inf s is not valid");
    CHECK_FAILS(ltc_dist_init(&d, &e, CPU, 2e7), LTC_ERR_INVALID_ARGUMENT,
                "timeout 2e+07 s is not valid: use a number of seconds > 0 and at most 1e7");
    CHECK_FAILS(ltc_dist_init(&d, &e, (ltc_device){LTC_DEVICE_CUDA, -1}, 1), LTC_ERR_INVALID_ARGUMENT,
                "device cuda has no index: use cuda:N");
    CHECK_FAILS(ltc_dist_init(&d, &e, (ltc_device){LTC_DEVICE_CPU, 3}, 1), LTC_ERR_INVALID_ARGUMENT,
                "device cpu with index 3");
    int n = 0;
    ltc_cuda_device_count(&n);
    ltc_build_info info;
    ltc_build_info_get(&info);
    if (!info.distributed)
        CHECK_FAILS(ltc_dist_init(&d, &e, (ltc_device){LTC_DEVICE_CUDA, 0}, 1), LTC_ERR_UNSUPPORTED, "built without NCCL");
    else if (n == 0)
        CHECK_FAILS(ltc_dist_init(&d, &e, (ltc_device){LTC_DEVICE_CUDA, 0}, 1), LTC_ERR_CUDA_UNAVAILABLE,
                    "cuda:0 requested, but LibTorch sees no CUDA device");
    else
        CHECK_FAILS(ltc_dist_init(&d, &e, (ltc_device){LTC_DEVICE_CUDA, n}, 1), LTC_ERR_INVALID_ARGUMENT, "is out of range");
}

static void test_unreachable_store(void) {
    int port = local_port(0, NULL);
    CHECK("a free port", port > 0);
    ltc_dist_env e = local_env(1, 2, port);
    ltc_dist *d = NULL;
    double t0 = now_s();
    char want[128];
    snprintf(want, sizeof want, "rank 1 of 2 cannot reach the rendezvous store at 127.0.0.1:%d (MASTER_ADDR:MASTER_PORT) "
                                "within the timeout of 1.0 s", port);
    CHECK_FAILS(ltc_dist_init(&d, &e, CPU, 1.0), LTC_ERR_TIMEOUT, want);
    double took = now_s() - t0;
    printf("unreachable store: failed after %.2f s (timeout 1 s)\n", took);
    CHECK("fails on time", took >= 0.9 && took < 2.5);
    CHECK("says why", strstr(ltc_last_error(), "Connection refused") != NULL);

    e = local_env(1, 2, 29500);
    strcpy(e.master_addr, "no-such-host.invalid");
    /* With DNS the name fails at once; on an offline node the lookup itself may run out the timeout.
     * Either way the error names the address. */
    ltc_status s = ltc_dist_init(&d, &e, CPU, 1.0);
    CHECK("an unresolvable MASTER_ADDR fails, naming it",
          (s == LTC_ERR_DISTRIBUTED && strstr(ltc_last_error(), "rank 1 cannot resolve MASTER_ADDR \"no-such-host.invalid\"")) ||
              (s == LTC_ERR_TIMEOUT && strstr(ltc_last_error(), "no-such-host.invalid:29500")));
}

static void test_missing_rank(void) {
    int port = local_port(0, NULL);
    ltc_dist_env e = local_env(0, 3, port);
    ltc_dist *d = NULL;
    double t0 = now_s();
    char want[160];
    snprintf(want, sizeof want, "rendezvous at 127.0.0.1:%d timed out after 1.0 s: ranks 1, 2 of 3 did not join (1 joined)", port);
    CHECK_FAILS(ltc_dist_init(&d, &e, CPU, 1.0), LTC_ERR_TIMEOUT, want);
    CHECK("on time", now_s() - t0 < 2.5);
}

static void test_busy_port(void) {
    int fd = -1;
    int port = local_port(1, &fd);
    CHECK("a busy port", port > 0);
    ltc_dist_env e = local_env(0, 2, port);
    ltc_dist *d = NULL;
    char want[160];
    snprintf(want, sizeof want, "rank 0 cannot host the rendezvous store on port %d (MASTER_PORT): the port is already in use", port);
    CHECK_FAILS(ltc_dist_init(&d, &e, CPU, 1.0), LTC_ERR_DISTRIBUTED, want);
    int code = -1, rank = -2;
    const char *argv[] = {"true", NULL};
    snprintf(want, sizeof want, "port %d is already in use on this host", port);
    ltc_launch_options lo = LTC_LAUNCH_OPTIONS_INIT;
    lo.nproc = 2, lo.argv = argv, lo.device_type = LTC_DEVICE_CPU, lo.port = port, lo.timeout_s = 1;
    CHECK_FAILS(ltc_launch_local(&code, &rank, NULL, &lo), LTC_ERR_DISTRIBUTED, want);
    CHECK("nothing started", code == -1 && rank == -2);
    close(fd);
}

/* ---------------------------------------------------------------------------------------------- */
/* A 2-rank CPU group as two threads                                                                */
/* ---------------------------------------------------------------------------------------------- */

enum { N = 8, IN = 5, OUT = 2 };
static float X[N][IN], Y[N][OUT];
static const float W0[OUT][IN] = {{0.1f, -0.2f, 0.3f, 0.0f, 0.5f}, {-0.4f, 0.2f, 0.1f, 0.3f, -0.1f}};
static const float B0[OUT] = {0.05f, -0.02f};

typedef struct job {
    int rank, world, port;
    ltc_status init;
    char error[512];
    /* results */
    float grad_w[OUT][IN], grad_b[OUT], bcast_w[OUT][IN], bcast_w_root1[OUT][IN];
    ltc_status replicas_same, replicas_diverged;
    char diverged_msg[512];
    double mean;
    int ok;
} job;

static int grads(tlin *lin, float gw[OUT][IN], float gb[OUT]) {
    return tlin_read(lin, 0, 1, gw, sizeof(float) * OUT * IN) && tlin_read(lin, 1, 1, gb, sizeof(float) * OUT);
}

static int weights(tlin *lin, float w_out[OUT][IN]) { return tlin_read(lin, 0, 0, w_out, sizeof(float) * OUT * IN); }

/* The gradient of the mean loss over count rows of x (count x in) and y (count x out), into lin's. */
static int rows_backward(tlin *lin, const float *xv, const float *yv, int64_t count, int64_t in, int64_t out) {
    int64_t xs[2] = {count, in}, ys[2] = {count, out};
    ltc_tensor *x = NULL, *y = NULL, *p = NULL, *loss = NULL;
    int ok = ltc_tensor_from_data(&x, xv, xs, 2, LTC_FLOAT32, CPU) == LTC_OK &&
             ltc_tensor_from_data(&y, yv, ys, 2, LTC_FLOAT32, CPU) == LTC_OK &&
             ltc_module_forward(&p, lin->m, x) == LTC_OK && ltc_mse_loss(&loss, p, y) == LTC_OK &&
             ltc_tensor_backward(loss) == LTC_OK;
    TH_FREE_TENSORS(x, y, p, loss);
    return ok;
}

/* Rank r's part of the gradient of the mean loss over rows [first, first+count). */
static int shard_backward(tlin *lin, int first, int count) {
    return rows_backward(lin, X[first], Y[first], count, IN, OUT);
}

static void *rank_thread(void *arg) {
    job *j = arg;
    ltc_dist_env e = local_env(j->rank, j->world, j->port);
    ltc_dist *d = NULL;
    j->init = ltc_dist_init(&d, &e, CPU, 5.0);
    if (j->init != LTC_OK) {
        snprintf(j->error, sizeof j->error, "%s", ltc_last_error());
        return NULL;
    }
    tlin *lin = NULL;
    const int per = N / j->world;
    float other[OUT][IN];
    for (int o = 0; o < OUT; o++)
        for (int i = 0; i < IN; i++)
            other[o][i] = (float)(j->rank * 10 + o * IN + i);
    j->ok = tlin_new(&lin, IN, OUT) == LTC_OK &&
            /* broadcast: rank 1 starts elsewhere and ends with rank 0's weights; then the other way */
            tlin_set(lin, &other[0][0], NULL) == LTC_OK &&
            ltc_dist_broadcast_parameters(d, lin->p, 1) == LTC_OK && weights(lin, j->bcast_w_root1) &&
            tlin_set(lin, j->rank == 0 ? &W0[0][0] : &other[0][0], B0) == LTC_OK &&
            ltc_dist_broadcast_parameters(d, lin->p, 0) == LTC_OK && weights(lin, j->bcast_w) &&
            /* the averaged shard gradient */
            shard_backward(lin, j->rank * per, per) && ltc_dist_average_gradients(d, lin->p) == LTC_OK &&
            grads(lin, j->grad_w, j->grad_b) &&
            th_dist_mean(&j->mean, d, CPU, 1.0 + 2.0 * j->rank) == LTC_OK;
    j->replicas_same = ltc_dist_check_replicas(d, lin->p);
    if (j->rank == 1) { /* one changed weight on rank 1 */
        float w[OUT][IN];
        memcpy(w, W0, sizeof w);
        w[1][3] += 1e-6f;
        tlin_set(lin, &w[0][0], NULL);
    }
    j->replicas_diverged = ltc_dist_check_replicas(d, lin->p);
    snprintf(j->diverged_msg, sizeof j->diverged_msg, "%s", ltc_last_error());
    /* the group still works after a divergence report */
    double m = 0;
    j->ok = j->ok && th_dist_mean(&m, d, CPU, 4.0) == LTC_OK && m == 4.0;
    tlin_free(lin);
    ltc_dist_free(d);
    return NULL;
}

static void test_two_ranks(void) {
    for (int n = 0; n < N; n++) {
        for (int i = 0; i < IN; i++)
            X[n][i] = (float)sin(1.0 + n * 7 + i * 3);
        for (int o = 0; o < OUT; o++)
            Y[n][o] = (float)cos(0.5 + n * 5 + o);
    }
    /* the full-batch gradient, in one process */
    tlin *full = NULL;
    float gw_full[OUT][IN], gb_full[OUT], gw_half[OUT][IN], gb_half[OUT];
    CHECK_OK(tlin_new(&full, IN, OUT));
    CHECK_OK(tlin_set(full, &W0[0][0], B0));
    CHECK("full batch backward", shard_backward(full, 0, N) && grads(full, gw_full, gb_full));
    tlin_free(full);
    CHECK_OK(tlin_new(&full, IN, OUT));
    CHECK_OK(tlin_set(full, &W0[0][0], B0));
    CHECK("half batch backward", shard_backward(full, 0, N / 2) && grads(full, gw_half, gb_half));
    tlin_free(full);

    job jobs[2];
    memset(jobs, 0, sizeof jobs);
    int port = local_port(0, NULL);
    pthread_t t[2];
    for (int r = 0; r < 2; r++) {
        jobs[r].rank = r;
        jobs[r].world = 2;
        jobs[r].port = port;
        pthread_create(&t[r], NULL, rank_thread, &jobs[r]);
    }
    for (int r = 0; r < 2; r++)
        pthread_join(t[r], NULL);
    for (int r = 0; r < 2; r++) {
        if (jobs[r].init != LTC_OK)
            fprintf(stderr, "rank %d: %s\n", r, jobs[r].error);
        CHECK("both ranks join", jobs[r].init == LTC_OK);
        CHECK("every step of the rank worked", jobs[r].ok);
    }
    float other1[OUT][IN];
    for (int o = 0; o < OUT; o++)
        for (int i = 0; i < IN; i++)
            other1[o][i] = (float)(10 + o * IN + i);
    CHECK("broadcast from rank 1 reaches rank 0", memcmp(jobs[0].bcast_w_root1, other1, sizeof other1) == 0 &&
                                                      memcmp(jobs[1].bcast_w_root1, other1, sizeof other1) == 0);
    CHECK("broadcast from rank 0 reaches rank 1", memcmp(jobs[1].bcast_w, W0, sizeof W0) == 0 &&
                                                      memcmp(jobs[0].bcast_w, W0, sizeof W0) == 0);
    double diff = 0, half_diff = 0;
    for (int o = 0; o < OUT; o++) {
        diff = fmax(diff, fabs(jobs[0].grad_b[o] - gb_full[o]));
        half_diff = fmax(half_diff, fabs(gb_half[o] - gb_full[o]));
        for (int i = 0; i < IN; i++) {
            diff = fmax(diff, fabs(jobs[0].grad_w[o][i] - gw_full[o][i]));
            half_diff = fmax(half_diff, fabs(gw_half[o][i] - gw_full[o][i]));
        }
    }
    printf("averaged shard gradient vs full-batch gradient: max difference %.2e (one shard alone: %.2e)\n", diff, half_diff);
    CHECK("the averaged gradient equals the full-batch gradient", diff < 1e-6);
    CHECK("(one shard alone does not)", half_diff > 1e-2);
    CHECK("both ranks hold the same averaged gradient", memcmp(jobs[0].grad_w, jobs[1].grad_w, sizeof jobs[0].grad_w) == 0 &&
                                                            memcmp(jobs[0].grad_b, jobs[1].grad_b, sizeof jobs[0].grad_b) == 0);
    CHECK("mean of 1 and 3", jobs[0].mean == 2.0 && jobs[1].mean == 2.0);
    CHECK("replicas identical after the broadcast", jobs[0].replicas_same == LTC_OK && jobs[1].replicas_same == LTC_OK);
    for (int r = 0; r < 2; r++) {
        int ok = jobs[r].replicas_diverged == LTC_ERR_DISTRIBUTED &&
                 strstr(jobs[r].diverged_msg, "replicas diverged: the parameters of rank 1 (") != NULL &&
                 strstr(jobs[r].diverged_msg, "differ from rank 0's") != NULL;
        th_report(ok, __FILE__, __LINE__, "a divergence is an error on every rank, naming the rank", jobs[r].diverged_msg);
    }
}

/* Two ranks that disagree on the world size. */
static void *disagree_thread(void *arg) {
    job *j = arg;
    ltc_dist_env e = local_env(j->rank, j->world, j->port);
    ltc_dist *d = NULL;
    j->init = ltc_dist_init(&d, &e, CPU, 1.5);
    snprintf(j->error, sizeof j->error, "%s", ltc_last_error());
    ltc_dist_free(d);
    return NULL;
}

static void test_disagreeing_world_size(void) {
    job jobs[2];
    memset(jobs, 0, sizeof jobs);
    int port = local_port(0, NULL);
    pthread_t t[2];
    for (int r = 0; r < 2; r++) {
        jobs[r].rank = r;
        jobs[r].world = r == 0 ? 2 : 3;
        jobs[r].port = port;
        pthread_create(&t[r], NULL, disagree_thread, &jobs[r]);
    }
    for (int r = 0; r < 2; r++)
        pthread_join(t[r], NULL);
    th_report(jobs[0].init == LTC_ERR_DISTRIBUTED &&
                  strstr(jobs[0].error, "rank 1 joined with a world size of 3 but rank 0 has 2") != NULL,
              __FILE__, __LINE__, "world sizes that differ are refused", jobs[0].error);
    CHECK("the other rank fails too", jobs[1].init != LTC_OK);
}

/* ---------------------------------------------------------------------------------------------- */
/* nn.DataParallel and CUDA graphs, where no GPU is needed to reach the error                       */
/* ---------------------------------------------------------------------------------------------- */

static void test_dp_arguments(void) {
    int n = 0;
    ltc_cuda_device_count(&n);
    tlin *lin = NULL;
    ltc_tensor *x = NULL, *y = NULL, *out = NULL, *ref = NULL;
    int64_t xs[2] = {6, 3}, ys[2] = {6, 2};
    CHECK_OK(tlin_new(&lin, 3, 2));
    CHECK_OK(ltc_tensor_randn(&x, xs, 2, LTC_FLOAT32, CPU, 3));
    CHECK_OK(ltc_tensor_randn(&y, ys, 2, LTC_FLOAT32, CPU, 4));
    int dev0 = 0, twice[2] = {0, 0};
    CHECK_FAILS(ltc_module_data_parallel_forward(&out, lin->m, x, NULL, -1), LTC_ERR_INVALID_ARGUMENT, "ndevices -1 with devices NULL is not valid");
    CHECK_FAILS(ltc_module_data_parallel_forward(&out, lin->m, x, NULL, 1), LTC_ERR_INVALID_ARGUMENT, "ndevices 1 with devices NULL");
    CHECK_FAILS(ltc_module_data_parallel_forward(&out, lin->m, x, &dev0, 0), LTC_ERR_INVALID_ARGUMENT, "ndevices 0 with devices given");
    CHECK_FAILS(ltc_module_data_parallel_forward(&out, NULL, x, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'module' is NULL");
    CHECK_FAILS(ltc_module_data_parallel_forward(&out, lin->m, NULL, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'x' is NULL");
    if (n == 0) {
        /* no GPU: as nn.DataParallel, the module runs where it is */
        float a[12], b[12];
        CHECK_OK(ltc_module_data_parallel_forward(&out, lin->m, x, NULL, 0));
        CHECK_OK(ltc_module_forward(&ref, lin->m, x));
        CHECK_OK(ltc_tensor_copy_to_host(a, sizeof a, out));
        CHECK_OK(ltc_tensor_copy_to_host(b, sizeof b, ref));
        CHECK("dp without GPUs is the plain forward", memcmp(a, b, sizeof a) == 0);
        CHECK_FAILS(ltc_module_data_parallel_forward(&out, lin->m, x, &dev0, 1), LTC_ERR_CUDA_UNAVAILABLE,
                    "cuda:0 requested, but LibTorch sees no CUDA device");
    } else {
        CHECK_FAILS(ltc_module_data_parallel_forward(&out, lin->m, x, twice, 2), LTC_ERR_INVALID_ARGUMENT, "device 0 is listed twice");
        CHECK_FAILS(ltc_module_data_parallel_forward(&out, lin->m, x, &n, 1), LTC_ERR_INVALID_ARGUMENT, "is out of range");
        CHECK_FAILS(ltc_module_data_parallel_forward(&out, lin->m, x, &dev0, 1), LTC_ERR_INVALID_ARGUMENT,
                    "the module is on cpu and the input on cpu; both must be on the first device, cuda:0");
    }
    (void)twice;

    ltc_tensor_free(x);
    ltc_tensor_free(y);
    ltc_tensor_free(out);
    ltc_tensor_free(ref);
    tlin_free(lin);
}

/* Tensors over the store's 8 MiB per value (its libuv server drops a larger request): CPU ranks send
 * them in chunks. A Linear(2200, 1000) is 8.8 MB of weights: broadcast from rank 1, then the averaged
 * gradient of two shards against the full batch's. Each rank starts from weights of its own, set by
 * hand: not from ltc_manual_seed, whose generator is the process's, shared by both rank threads (a seed
 * on one thread between the other's seed and its ltc_module_linear_new gave rank 1 the wrong start). */
enum { BIG_IN = 2200, BIG_OUT = 1000, BIG_N = 4 };
static float big_x[BIG_N][BIG_IN], big_y[BIG_N][BIG_OUT];

typedef struct big_job {
    int rank, port, ok;
    ltc_status init;
    char error[512];
    const float *w0, *b0; /* this rank's start */
    float *w, *gw;        /* the weights after the broadcast, the averaged weight gradient */
} big_job;

/* Rank r's start: small weights and biases, different on each rank. */
static void big_start(int r, float *w, float *b) {
    for (size_t i = 0; i < (size_t)BIG_OUT * BIG_IN; i++)
        w[i] = (float)(0.02 * sin(1.3 + r * 0.77 + (double)i * 0.011));
    for (int o = 0; o < BIG_OUT; o++)
        b[o] = (float)(0.02 * cos(0.4 + r * 1.9 + o * 0.13));
}

static int big_weights(tlin *lin, float *w_out, int grad) {
    return tlin_read(lin, 0, grad, w_out, sizeof(float) * BIG_OUT * BIG_IN);
}

static int big_backward(tlin *lin, int first, int count) {
    return rows_backward(lin, big_x[first], big_y[first], count, BIG_IN, BIG_OUT);
}

static void *big_rank(void *arg) {
    big_job *j = arg;
    ltc_dist_env e = local_env(j->rank, 2, j->port);
    ltc_dist *d = NULL;
    if ((j->init = ltc_dist_init(&d, &e, CPU, 30.0)) != LTC_OK) {
        snprintf(j->error, sizeof j->error, "%s", ltc_last_error());
        return NULL;
    }
    tlin *lin = NULL;
    j->ok = tlin_new(&lin, BIG_IN, BIG_OUT) == LTC_OK && tlin_set(lin, j->w0, j->b0) == LTC_OK &&
            ltc_dist_broadcast_parameters(d, lin->p, 1) == LTC_OK &&
            big_weights(lin, j->w, 0) && big_backward(lin, j->rank * (BIG_N / 2), BIG_N / 2) &&
            ltc_dist_average_gradients(d, lin->p) == LTC_OK && big_weights(lin, j->gw, 1) &&
            ltc_dist_check_replicas(d, lin->p) == LTC_OK;
    if (!j->ok)
        snprintf(j->error, sizeof j->error, "%s", ltc_last_error());
    tlin_free(lin);
    ltc_dist_free(d);
    return NULL;
}

static void test_large_tensors(void) {
    for (int n = 0; n < BIG_N; n++) {
        for (int i = 0; i < BIG_IN; i++)
            big_x[n][i] = (float)sin(0.3 + n * 11 + i * 0.7);
        for (int o = 0; o < BIG_OUT; o++)
            big_y[n][o] = (float)cos(0.1 + n * 3 + o * 0.2);
    }
    const size_t count = (size_t)BIG_OUT * BIG_IN;
    float *w0 = malloc(sizeof(float) * count), *w1 = malloc(sizeof(float) * count), *gw_full = malloc(sizeof(float) * count);
    static float b0[BIG_OUT], b1[BIG_OUT];
    big_job jobs[2];
    memset(jobs, 0, sizeof jobs);
    for (int r = 0; r < 2; r++) {
        jobs[r].w = malloc(sizeof(float) * count);
        jobs[r].gw = malloc(sizeof(float) * count);
    }
    int have = w0 && w1 && gw_full && jobs[0].w && jobs[0].gw && jobs[1].w && jobs[1].gw;
    CHECK("memory for the large tensors", have);
    if (!have)
        goto done;
    big_start(0, w0, b0);
    big_start(1, w1, b1);
    jobs[0].w0 = w0, jobs[0].b0 = b0;
    jobs[1].w0 = w1, jobs[1].b0 = b1;
    CHECK("the ranks start apart", memcmp(w0, w1, sizeof(float) * count) != 0);
    /* the full batch's gradient from rank 1's start, in one process */
    tlin *full = NULL;
    CHECK_OK(tlin_new(&full, BIG_IN, BIG_OUT));
    CHECK_OK(tlin_set(full, w1, b1));
    CHECK("full batch backward", big_backward(full, 0, BIG_N) && big_weights(full, gw_full, 1));
    tlin_free(full);

    int port = local_port(0, NULL);
    pthread_t t[2];
    for (int r = 0; r < 2; r++) {
        jobs[r].rank = r;
        jobs[r].port = port;
        pthread_create(&t[r], NULL, big_rank, &jobs[r]);
    }
    for (int r = 0; r < 2; r++)
        pthread_join(t[r], NULL);
    for (int r = 0; r < 2; r++) {
        if (jobs[r].init != LTC_OK || !jobs[r].ok)
            fprintf(stderr, "rank %d: %s\n", r, jobs[r].error);
        CHECK("8.8 MB tensors: every step of the rank worked (broadcast, average, replica check)",
              jobs[r].init == LTC_OK && jobs[r].ok);
    }
    CHECK("8.8 MB broadcast from rank 1: both ranks hold rank 1's weights, bit for bit",
          memcmp(jobs[0].w, w1, sizeof(float) * count) == 0 && memcmp(jobs[1].w, w1, sizeof(float) * count) == 0);
    double diff = 0;
    for (size_t i = 0; i < count; i++)
        diff = fmax(diff, fabs(jobs[0].gw[i] - gw_full[i]) + fabs(jobs[1].gw[i] - gw_full[i]));
    printf("8.8 MB all-reduce: averaged shard gradient vs full batch: max difference %.2e\n", diff);
    CHECK("8.8 MB all-reduce: the averaged gradient equals the full batch's on both ranks", diff < 1e-6);
done:
    free(w0);
    free(w1);
    free(gw_full);
    for (int r = 0; r < 2; r++) {
        free(jobs[r].w);
        free(jobs[r].gw);
    }
}

int main(void) {
    test_env();
    test_group_of_one();
    test_init_arguments();
    test_unreachable_store();
    test_missing_rank();
    test_busy_port();
    test_two_ranks();
    test_large_tensors();
    test_disagreeing_world_size();
    test_dp_arguments();
    return th_finish();
}
