/* The collectives over NCCL (exits 77 without a GPU). A group of one on cuda:0: ltc_dist_all_reduce with each
 * op (float32 and int64), ltc_dist_broadcast, ltc_dist_barrier, and over a Linear's parameters the broadcast,
 * the average of the gradients and the replica check; the bad input only a GPU group can show (a tensor on the
 * CPU, an average of integers, a root out of range); ltc_dist_init leaves NCCL_NVLS_ENABLE as it was; a
 * process that exits with its NCCL group open ends with the status it gave, its atexit handlers run.
 * With 2 or more GPUs, two processes, one per GPU (this program launches itself with ltc_launch_local), check
 * each op and the average of the gradients against the values worked out here; with fewer it is counted
 * skipped, saying why.
 *   test_dist_collectives_gpu rank            a rank of the two-process case
 *   test_dist_collectives_gpu exit MARKER     joins a group of one on cuda:0, all-reduces, exits 5 open */
#define _DEFAULT_SOURCE /* setenv, usleep */
#include "mlp_helper.h"
#include "proc_helper.h"

#include <math.h>

static const ltc_device CPU = {LTC_DEVICE_CPU, 0};
enum { N = 6 };

/* Rank r's input: element i is (r+1)(i+1), negative for odd i (the min and the max from different ranks). */
static double input(int r, int i) { return (i % 2 ? -1.0 : 1.0) * (r + 1) * (i + 1); }

/* A tensor of dtype (float32 or int64) on dev holding rank r's input; NULL on an error. */
static ltc_tensor *make(ltc_dtype dtype, int r, ltc_device dev) {
    float f[N];
    int64_t l[N], shape[1] = {N};
    for (int i = 0; i < N; i++) {
        f[i] = (float)input(r, i);
        l[i] = (int64_t)input(r, i);
    }
    ltc_tensor *t = NULL;
    if (ltc_tensor_from_data(&t, dtype == LTC_FLOAT32 ? (const void *)f : (const void *)l, shape, 1, dtype, dev) != LTC_OK)
        return NULL;
    return t;
}

/* t's values as doubles; 0 on an error. */
static int values(double out[N], const ltc_tensor *t) {
    float f[N];
    int64_t l[N];
    const int is_float = ltc_tensor_dtype(t) == LTC_FLOAT32;
    if (ltc_tensor_copy_to_host(is_float ? (void *)f : (void *)l, is_float ? sizeof f : sizeof l, t) != LTC_OK)
        return 0;
    for (int i = 0; i < N; i++)
        out[i] = is_float ? f[i] : (double)l[i];
    return 1;
}

/* The exact result of op over `world` ranks' inputs, element i. */
static double expected(ltc_reduce_op op, int world, int i) {
    double sum = 0, lo = input(0, i), hi = input(0, i);
    for (int r = 0; r < world; r++) {
        sum += input(r, i);
        lo = fmin(lo, input(r, i));
        hi = fmax(hi, input(r, i));
    }
    return op == LTC_REDUCE_SUM ? sum : op == LTC_REDUCE_AVG ? sum / world : op == LTC_REDUCE_MIN ? lo : hi;
}

/* Every op on float32 and int64 (no average of integers) against the exact results, on rank `rank` of
 * `world`; then a broadcast from the last rank and a barrier. */
static void check_ops(ltc_dist *d, ltc_device dev, int rank, int world) {
    static const ltc_reduce_op ops[4] = {LTC_REDUCE_SUM, LTC_REDUCE_AVG, LTC_REDUCE_MIN, LTC_REDUCE_MAX};
    static const char *names[4] = {"sum", "avg", "min", "max"};
    for (int k = 0; k < 2; k++) {
        const ltc_dtype dtype = k ? LTC_INT64 : LTC_FLOAT32;
        for (int o = 0; o < 4; o++) {
            if (k && ops[o] == LTC_REDUCE_AVG)
                continue;
            ltc_tensor *t = make(dtype, rank, dev);
            double got[N];
            ltc_status st = t ? ltc_dist_all_reduce(d, t, ops[o]) : LTC_ERR_INTERNAL;
            int ok = st == LTC_OK && values(got, t);
            for (int i = 0; ok && i < N; i++)
                ok = got[i] == expected(ops[o], world, i);
            char what[128];
            snprintf(what, sizeof what, "rank %d of %d: all-reduce %s of %s over NCCL is exact (%s)", rank, world, names[o],
                     ltc_dtype_name(dtype), ltc_status_string(st));
            CHECK(what, ok);
            ltc_tensor_free(t);
        }
    }
    ltc_tensor *b = make(LTC_INT64, rank, dev);
    double got[N];
    int ok = b && ltc_dist_broadcast(d, b, world - 1) == LTC_OK && values(got, b);
    for (int i = 0; ok && i < N; i++)
        ok = got[i] == input(world - 1, i);
    CHECK("broadcast from the last rank over NCCL: its tensor, exactly", ok);
    ltc_tensor_free(b);
    CHECK_OK(ltc_dist_barrier(d));
}

/* A Linear(4, 2) on dev with weights of rank r's own, its parameters as a list. */
static int model_new(mh_linear *m, ltc_device dev, int r) {
    float w[8], b[2];
    for (int i = 0; i < 8; i++)
        w[i] = (float)(0.125 * (r + 1) * (i - 3));
    b[0] = (float)(0.5 * r);
    b[1] = -1.0f;
    return mh_linear_new(m, 4, 2, 1, w, b, dev);
}

/* The gradient of rank r's shard (2 rows) into m; its values (weight, bias) into g[10]; 0 on an error. */
static int shard_gradient(mh_linear *m, ltc_device dev, int r, float g[10]) {
    float x[2][4], y[2][2];
    for (int n = 0; n < 2; n++) {
        for (int i = 0; i < 4; i++)
            x[n][i] = (float)(0.5 * (r + 1) * (n + 1) - 0.25 * i);
        y[n][0] = (float)(r - n);
        y[n][1] = 0.5f;
    }
    int64_t xs[2] = {2, 4}, ys[2] = {2, 2};
    ltc_tensor *xt = NULL, *yt = NULL, *p = NULL, *loss = NULL, *gw = NULL, *gb = NULL;
    int ok = ltc_tensor_from_data(&xt, x, xs, 2, LTC_FLOAT32, dev) == LTC_OK &&
             ltc_tensor_from_data(&yt, y, ys, 2, LTC_FLOAT32, dev) == LTC_OK && ltc_module_forward(&p, m->module, xt) == LTC_OK &&
             ltc_mse_loss(&loss, p, yt) == LTC_OK && ltc_tensor_backward(loss) == LTC_OK &&
             ltc_tensor_grad(&gw, m->w) == LTC_OK && ltc_tensor_grad(&gb, m->b) == LTC_OK &&
             ltc_tensor_copy_to_host(g, sizeof(float) * 8, gw) == LTC_OK &&
             ltc_tensor_copy_to_host(g + 8, sizeof(float) * 2, gb) == LTC_OK;
    TH_FREE_TENSORS(xt, yt, p, loss, gw, gb);
    return ok;
}

/* ---------------------------------------------------------------------------------------------- */
/* Two processes, one per GPU                                                                       */
/* ---------------------------------------------------------------------------------------------- */

#define MODE_VAR "LTC_TEST_DIST_GPU_RANK" /* set: this process is a rank of the two-process case */

static int two_gpu_rank(void) {
    ltc_dist_env env;
    ltc_dist *d = NULL;
    CHECK_OK(ltc_dist_env_from(&env, NULL));
    const ltc_device dev = {LTC_DEVICE_CUDA, env.local_rank};
    CHECK_OK(ltc_dist_init(&d, &env, dev, 60));
    if (!d)
        return th_finish();
    const int r = env.rank, world = env.world_size;
    check_ops(d, dev, r, world);
    /* the gradients' average: every rank's own gradient is all-gathered here by all-reducing a one-hot copy */
    mh_linear m;
    float own[10], avg[10];
    CHECK("a Linear on this rank's GPU, its parameters as a list", model_new(&m, dev, r));
    CHECK_OK(ltc_dist_broadcast_parameters(d, m.params, 0));
    CHECK("this rank's shard gradient", shard_gradient(&m, dev, r, own));
    CHECK_OK(ltc_dist_average_gradients(d, m.params));
    ltc_tensor *gw = NULL, *gb = NULL, *all = NULL;
    CHECK_OK(ltc_tensor_grad(&gw, m.w));
    CHECK_OK(ltc_tensor_grad(&gb, m.b));
    CHECK_OK(ltc_tensor_copy_to_host(avg, sizeof(float) * 8, gw));
    CHECK_OK(ltc_tensor_copy_to_host(avg + 8, sizeof(float) * 2, gb));
    float each[2][10];
    memset(each, 0, sizeof each);
    memcpy(each[r], own, sizeof own);
    int64_t shape[2] = {2, 10};
    CHECK_OK(ltc_tensor_from_data(&all, each, shape, 2, LTC_FLOAT32, dev));
    CHECK_OK(ltc_dist_all_reduce(d, all, LTC_REDUCE_SUM));
    CHECK_OK(ltc_tensor_copy_to_host(each, sizeof each, all));
    double diff = 0; /* relative to the gradient's size */
    for (int i = 0; i < 10; i++) {
        const float mean = (each[0][i] + each[1][i]) / 2;
        diff = fmax(diff, fabs(avg[i] - mean) / (1 + fabs(mean)));
    }
    printf("rank %d: averaged gradient vs the mean of both ranks' own: max relative difference %.2e\n", r, diff);
    CHECK("ltc_dist_average_gradients over NCCL: the mean of the ranks' gradients", diff <= 1e-6);
    CHECK("(the ranks' own gradients differ)", memcmp(each[0], each[1], sizeof each[0]) != 0);
    CHECK_OK(ltc_dist_check_replicas(d, m.params));
    TH_FREE_TENSORS(gw, gb, all);
    mh_linear_free(&m);
    ltc_dist_free(d);
    printf("rank %d: ", r);
    return th_finish();
}

static void test_two_processes(void) {
    if (!th_need_gpus("collectives over NCCL, two processes on cuda:0 and cuda:1", 2))
        return;
    setenv(MODE_VAR, "1", 1);
    const char *argv[] = {"test_dist_collectives_gpu", NULL};
    ltc_launch_options o = LTC_LAUNCH_OPTIONS_INIT;
    o.nproc = 2;
    o.argv = argv;
    o.timeout_s = 60;
    int code = -1, failed = -2;
    CHECK_OK(ltc_launch_local(&code, &failed, NULL, &o));
    unsetenv(MODE_VAR);
    char what[128];
    snprintf(what, sizeof what, "two processes over NCCL: both ranks pass their checks (exit %d, rank %d failed)", code, failed);
    CHECK(what, code == 0 && failed == -1);
}

/* ---------------------------------------------------------------------------------------------- */
/* A process that exits with its NCCL group open                                                    */
/* ---------------------------------------------------------------------------------------------- */

static int exit_open(const char *marker) {
    ph_atexit_marker(marker); /* before the group: an exit hook of the group's would run first and skip it */
    ltc_dist_env env;
    const char *none[] = {NULL};
    ltc_dist *d = NULL;
    ltc_tensor *t = make(LTC_FLOAT32, 0, (ltc_device){LTC_DEVICE_CUDA, 0});
    if (ltc_dist_env_from(&env, none) != LTC_OK || ltc_dist_init(&d, &env, (ltc_device){LTC_DEVICE_CUDA, 0}, 30) != LTC_OK ||
        !t || ltc_dist_all_reduce(d, t, LTC_REDUCE_SUM) != LTC_OK || ltc_dist_barrier(d) != LTC_OK) {
        fprintf(stderr, "exit: %s\n", ltc_last_error());
        return 1;
    }
    exit(5); /* NCCL's, c10d's and the group's threads still run while exit() runs the static destructors */
}

static void test_exit_open(void) {
    char dir[64], marker[600], cmd[1400], out[8192];
    if (!ph_make_dir(dir, sizeof dir, "ltc_dist_gpu_exit")) {
        CHECK("a scratch folder", 0);
        return;
    }
    snprintf(marker, sizeof marker, "%s/marker", dir);
    snprintf(cmd, sizeof cmd, "exec /proc/%d/exe exit '%s' 2>&1", (int)getpid(), marker);
    const double t0 = ph_now_s();
    const int rc = ph_run(cmd, out, sizeof out);
    const double took = ph_now_s() - t0;
    char detail[256];
    snprintf(detail, sizeof detail, "exit code %d after %.1f s", rc, took);
    ph_report(rc == 5 && took < 60, "a process that exits with its NCCL group open ends with its status (5), no crash, no hang",
              detail, out);
    CHECK("... and its atexit handler ran (no hidden exit hook)", ph_marker_there(marker));
    ph_remove_dir(dir);
}

int main(int argc, char **argv) {
    if (getenv(MODE_VAR))
        return two_gpu_rank();
    if (argc == 3 && strcmp(argv[1], "exit") == 0)
        return exit_open(argv[2]);
    th_require_gpu();
    ltc_log_level_init(LTC_LOG_ERROR);
    test_two_processes(); /* before this process joins a group of its own */
    test_exit_open();

    /* a group of one on cuda:0 */
    const ltc_device gpu0 = {LTC_DEVICE_CUDA, 0};
    const char *nvls = getenv("NCCL_NVLS_ENABLE");
    char nvls_before[64];
    snprintf(nvls_before, sizeof nvls_before, "%s", nvls ? nvls : "(unset)");
    ltc_dist_env env;
    const char *none[] = {NULL};
    CHECK_OK(ltc_dist_env_from(&env, none));
    ltc_dist *d = NULL;
    CHECK_OK(ltc_dist_init(&d, &env, gpu0, 60));
    if (!d)
        return th_finish();
    nvls = getenv("NCCL_NVLS_ENABLE");
    CHECK("ltc_dist_init on a GPU leaves NCCL_NVLS_ENABLE as it was", strcmp(nvls_before, nvls ? nvls : "(unset)") == 0);
    check_ops(d, gpu0, 0, 1);

    /* bad input only a GPU group shows */
    ltc_tensor *cpu = make(LTC_FLOAT32, 0, CPU), *l = make(LTC_INT64, 0, gpu0);
    CHECK_FAILS(ltc_dist_all_reduce(d, cpu, LTC_REDUCE_SUM), LTC_ERR_INVALID_ARGUMENT,
                "ltc_dist_all_reduce: the tensor is on cpu but the group is on cuda:0: move it there first");
    CHECK_FAILS(ltc_dist_broadcast(d, cpu, 0), LTC_ERR_INVALID_ARGUMENT, "ltc_dist_broadcast: the tensor is on cpu but the group is on cuda:0");
    CHECK_FAILS(ltc_dist_all_reduce(d, l, LTC_REDUCE_AVG), LTC_ERR_INVALID_ARGUMENT, "LTC_REDUCE_AVG needs a floating-point tensor, and this one is int64");
    CHECK_FAILS(ltc_dist_broadcast(d, l, 1), LTC_ERR_INVALID_ARGUMENT, "root 1 is not valid: use 0 to 0 (the group has 1 rank)");
    CHECK_FAILS(ltc_dist_all_reduce(d, l, (ltc_reduce_op)9), LTC_ERR_INVALID_ARGUMENT, "op 9 is not valid");

    /* a Linear's parameters: broadcast, averaged gradients (one rank: the gradient itself, bit for bit) */
    mh_linear m = {0}, on_cpu = {0};
    float own[10], avg[10];
    CHECK("a Linear on cuda:0, and one on the CPU", model_new(&m, gpu0, 0) && model_new(&on_cpu, CPU, 0));
    CHECK_OK(ltc_dist_broadcast_parameters(d, m.params, 0));
    CHECK_FAILS(ltc_dist_broadcast_parameters(d, on_cpu.params, 0), LTC_ERR_INVALID_ARGUMENT,
                "parameter \"weight\" is on cpu but the group is on cuda:0: move it there first");
    CHECK("its gradient", shard_gradient(&m, gpu0, 0, own));
    CHECK_OK(ltc_dist_average_gradients(d, m.params));
    ltc_tensor *gw = NULL, *gb = NULL;
    CHECK_OK(ltc_tensor_grad(&gw, m.w));
    CHECK_OK(ltc_tensor_grad(&gb, m.b));
    CHECK_OK(ltc_tensor_copy_to_host(avg, sizeof(float) * 8, gw));
    CHECK_OK(ltc_tensor_copy_to_host(avg + 8, sizeof(float) * 2, gb));
    CHECK("one rank: the average is the gradient itself, bit for bit", memcmp(own, avg, sizeof own) == 0);
    CHECK_OK(ltc_dist_check_replicas(d, m.params));
    TH_FREE_TENSORS(gw, gb, cpu, l);
    mh_linear_free(&m);
    mh_linear_free(&on_cpu);
    ltc_dist_free(d);
    return th_finish();
}
