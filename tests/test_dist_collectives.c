/* The collectives on tensors and tensor lists, on a CPU group of 3 ranks run as threads (the store backend):
 * ltc_dist_all_reduce with each op and dtype against the values worked out here (the average bit for bit:
 * a sum in rank order, then the division), ltc_dist_broadcast from each root, ltc_dist_barrier, a tensor over
 * the store's chunk size, and over a tensor list (a Linear's parameters and a frozen tensor) the broadcast of
 * the parameters, the average of the gradients and the replica check. Bad input with a live group: a root or
 * an op out of range, an average of integers, empty and mixed lists, a parameter without a gradient; calls
 * that differ across ranks (a shape, a dtype, an op, a root, another collective) fail on every rank alike and
 * the group goes on. Network: 127.0.0.1 only. */
#define _POSIX_C_SOURCE 200809L
#include "mlp_helper.h"
#include "net_helper.h"

#include <limits.h>
#include <pthread.h>
#include <time.h>

enum { W = 3 };                  /* ranks */
enum { ROWS = 2, COLS = 3, N = ROWS * COLS };
static const ltc_device CPU = {LTC_DEVICE_CPU, 0};

/* Each rank's record: what its calls returned and read, checked by the main thread once all have ended. */
#define MAX_CALLS 64
typedef struct rank_job {
    int rank, port;
    void (*body)(struct rank_job *, ltc_dist *);
    ltc_status init;
    char init_error[512];
    int calls;
    struct {
        const char *what;
        ltc_status st;
        char error[600];
    } call[MAX_CALLS];
    double values[16][N];  /* values read back, by slot */
    float grads[2][16];    /* this rank's own gradients (weight then bias), before and after the average */
    float weights[16];
    int flags[8];
} rank_job;

/* Records one call of a rank: its status and message. */
static ltc_status note(rank_job *j, const char *what, ltc_status st) {
    if (j->calls < MAX_CALLS) {
        j->call[j->calls].what = what;
        j->call[j->calls].st = st;
        snprintf(j->call[j->calls].error, sizeof j->call[j->calls].error, "%s", st == LTC_OK ? "" : ltc_last_error());
        j->calls++;
    }
    return st;
}

/* The status and message rank r recorded for `what` (its first such call), or NULL. */
static const char *find_call(const rank_job *j, const char *what, ltc_status *st) {
    for (int i = 0; i < j->calls; i++)
        if (strcmp(j->call[i].what, what) == 0) {
            *st = j->call[i].st;
            return j->call[i].error;
        }
    return NULL;
}

/* Every rank recorded `what` with status want and, unless text is NULL, a message containing text. */
static void expect_calls(const rank_job *jobs, const char *what, ltc_status want, const char *text) {
    for (int r = 0; r < W; r++) {
        ltc_status st = LTC_ERR_INTERNAL;
        const char *m = find_call(&jobs[r], what, &st);
        char name[256], detail[900];
        snprintf(name, sizeof name, "rank %d: %s", r, what);
        snprintf(detail, sizeof detail, "%s: got %s \"%s\", wanted %s%s%s", m ? "recorded" : "not recorded",
                 ltc_status_string(st), m ? m : "", ltc_status_string(want), text ? " containing " : "", text ? text : "");
        th_report(m && st == want && (!text || strstr(m, text)), __FILE__, __LINE__, name, detail);
    }
}

static void *rank_main(void *arg) {
    rank_job *j = arg;
    ltc_dist_env e = local_env(j->rank, W, j->port);
    ltc_dist *d = NULL;
    j->init = ltc_dist_init(&d, &e, CPU, 20.0);
    if (j->init != LTC_OK) {
        snprintf(j->init_error, sizeof j->init_error, "%s", ltc_last_error());
        return NULL;
    }
    j->body(j, d);
    ltc_dist_free(d);
    return NULL;
}

/* Runs body on W ranks (threads) of one CPU group; jobs[r] is rank r's record. */
static void run_ranks(rank_job jobs[W], void (*body)(rank_job *, ltc_dist *)) {
    memset(jobs, 0, sizeof(rank_job) * W);
    const int port = local_port(0, NULL);
    pthread_t t[W];
    for (int r = 0; r < W; r++) {
        jobs[r].rank = r;
        jobs[r].port = port;
        jobs[r].body = body;
        pthread_create(&t[r], NULL, rank_main, &jobs[r]);
    }
    for (int r = 0; r < W; r++)
        pthread_join(t[r], NULL);
    for (int r = 0; r < W; r++) {
        if (jobs[r].init != LTC_OK)
            fprintf(stderr, "rank %d: %s\n", r, jobs[r].init_error);
        CHECK("every rank joins the group", jobs[r].init == LTC_OK);
    }
}

/* A tensor of `dtype` [ROWS, COLS] holding v (as that dtype). */
static ltc_tensor *make(ltc_dtype dtype, const double v[N]) {
    int64_t shape[2] = {ROWS, COLS};
    union {
        float f[N];
        double d[N];
        int32_t i[N];
        int64_t l[N];
    } buf;
    for (int i = 0; i < N; i++)
        switch (dtype) {
        case LTC_FLOAT32: buf.f[i] = (float)v[i]; break;
        case LTC_FLOAT64: buf.d[i] = v[i]; break;
        case LTC_INT32: buf.i[i] = (int32_t)v[i]; break;
        case LTC_INT64: buf.l[i] = (int64_t)v[i]; break;
        }
    ltc_tensor *t = NULL;
    if (ltc_tensor_from_data(&t, &buf, shape, 2, dtype, CPU) != LTC_OK)
        return NULL;
    return t;
}

/* The values of t (of `dtype`, N elements) as doubles into out; 0 on an error. */
static int read_back(double out[N], ltc_dtype dtype, const ltc_tensor *t) {
    union {
        float f[N];
        double d[N];
        int32_t i[N];
        int64_t l[N];
    } buf;
    if (!t || ltc_tensor_copy_to_host(&buf, ltc_dtype_size(dtype) * N, t) != LTC_OK)
        return 0;
    for (int i = 0; i < N; i++)
        out[i] = dtype == LTC_FLOAT32 ? buf.f[i] : dtype == LTC_FLOAT64 ? buf.d[i] : dtype == LTC_INT32 ? buf.i[i] : (double)buf.l[i];
    return 1;
}

/* Rank r's input: element i is (r+1)(i+1), negative for odd i, so that the min and the max come from
 * different ranks. */
static double input(int r, int i) { return (i % 2 ? -1.0 : 1.0) * (r + 1) * (i + 1); }

/* ---------------------------------------------------------------------------------------------- */
/* all-reduce                                                                                       */
/* ---------------------------------------------------------------------------------------------- */

static const ltc_dtype DTYPES[4] = {LTC_FLOAT32, LTC_FLOAT64, LTC_INT32, LTC_INT64};
static const ltc_reduce_op OPS[4] = {LTC_REDUCE_SUM, LTC_REDUCE_AVG, LTC_REDUCE_MIN, LTC_REDUCE_MAX};

static void all_reduce_body(rank_job *j, ltc_dist *d) {
    double v[N];
    for (int i = 0; i < N; i++)
        v[i] = input(j->rank, i);
    for (int k = 0; k < 4; k++)
        for (int o = 0; o < 4; o++) {
            if (OPS[o] == LTC_REDUCE_AVG && (DTYPES[k] == LTC_INT32 || DTYPES[k] == LTC_INT64))
                continue;
            ltc_tensor *t = make(DTYPES[k], v);
            note(j, "all-reduce", ltc_dist_all_reduce(d, t, OPS[o]));
            if (!read_back(j->values[k * 4 + o], DTYPES[k], t))
                j->flags[0] = 1;
            ltc_tensor_free(t);
        }
    /* bad input on a live group: refused before the group hears of it, the group goes on */
    ltc_tensor *t = make(LTC_INT64, v);
    note(j, "avg of int64", ltc_dist_all_reduce(d, t, LTC_REDUCE_AVG));
    note(j, "op 4", ltc_dist_all_reduce(d, t, (ltc_reduce_op)4));
    note(j, "op -1", ltc_dist_all_reduce(d, t, (ltc_reduce_op)-1));
    note(j, "op INT_MAX", ltc_dist_all_reduce(d, t, (ltc_reduce_op)INT_MAX));
    note(j, "NULL tensor", ltc_dist_all_reduce(d, NULL, LTC_REDUCE_SUM));
    note(j, "after the refusals", ltc_dist_all_reduce(d, t, LTC_REDUCE_MAX));
    j->flags[1] = read_back(j->values[15], LTC_INT64, t);
    ltc_tensor_free(t);
}

static void test_all_reduce(void) {
    static rank_job jobs[W];
    run_ranks(jobs, all_reduce_body);
    for (int k = 0; k < 4; k++)
        for (int o = 0; o < 4; o++) {
            if (OPS[o] == LTC_REDUCE_AVG && (DTYPES[k] == LTC_INT32 || DTYPES[k] == LTC_INT64))
                continue;
            int ok = 1;
            for (int i = 0; i < N; i++) {
                double sum = 0, lo = input(0, i), hi = input(0, i);
                for (int r = 0; r < W; r++) {
                    sum += input(r, i);
                    lo = input(r, i) < lo ? input(r, i) : lo;
                    hi = input(r, i) > hi ? input(r, i) : hi;
                }
                const double want = OPS[o] == LTC_REDUCE_SUM ? sum : OPS[o] == LTC_REDUCE_AVG ? sum / W
                                    : OPS[o] == LTC_REDUCE_MIN ? lo : hi;
                for (int r = 0; r < W; r++)
                    ok &= jobs[r].values[k * 4 + o][i] == want;
            }
            char what[96];
            snprintf(what, sizeof what, "all-reduce %s of %s: every rank holds the exact result",
                     (const char *[]){"sum", "avg", "min", "max"}[o], ltc_dtype_name(DTYPES[k]));
            CHECK(what, ok);
        }
    for (int r = 0; r < W; r++)
        CHECK("every rank read its results back", !jobs[r].flags[0]);
    expect_calls(jobs, "all-reduce", LTC_OK, NULL);
    expect_calls(jobs, "avg of int64", LTC_ERR_INVALID_ARGUMENT,
                 "ltc_dist_all_reduce: LTC_REDUCE_AVG needs a floating-point tensor, and this one is int64");
    expect_calls(jobs, "op 4", LTC_ERR_INVALID_ARGUMENT,
                 "ltc_dist_all_reduce: op 4 is not valid: use LTC_REDUCE_SUM (0), LTC_REDUCE_AVG (1), LTC_REDUCE_MIN (2) or LTC_REDUCE_MAX (3)");
    expect_calls(jobs, "op -1", LTC_ERR_INVALID_ARGUMENT, "op -1 is not valid");
    expect_calls(jobs, "op INT_MAX", LTC_ERR_INVALID_ARGUMENT, "op 2147483647 is not valid");
    expect_calls(jobs, "NULL tensor", LTC_ERR_INVALID_ARGUMENT, "'tensor' is NULL");
    expect_calls(jobs, "after the refusals", LTC_OK, NULL);
    int ok = 1;
    for (int r = 0; r < W; r++)
        for (int i = 0; i < N; i++)
            ok &= jobs[r].flags[1] && jobs[r].values[15][i] == (i % 2 ? -(double)(i + 1) : 3.0 * (i + 1));
    CHECK("after the refusals the group still reduces (max)", ok);
}

/* ---------------------------------------------------------------------------------------------- */
/* broadcast and barrier                                                                            */
/* ---------------------------------------------------------------------------------------------- */

static int g_arrived;

static void broadcast_body(rank_job *j, ltc_dist *d) {
    for (int root = 0; root < W; root++) {
        double v[N];
        for (int i = 0; i < N; i++)
            v[i] = 100.0 * j->rank + i;
        ltc_tensor *f = make(LTC_FLOAT32, v), *l = make(LTC_INT64, v);
        note(j, "broadcast", ltc_dist_broadcast(d, f, root));
        note(j, "broadcast", ltc_dist_broadcast(d, l, root));
        if (!read_back(j->values[2 * root], LTC_FLOAT32, f) || !read_back(j->values[2 * root + 1], LTC_INT64, l))
            j->flags[0] = 1;
        if (root == 0) {
            note(j, "root -1", ltc_dist_broadcast(d, f, -1));
            note(j, "root 3", ltc_dist_broadcast(d, f, W));
            note(j, "root INT_MIN", ltc_dist_broadcast(d, f, INT_MIN));
        }
        ltc_tensor_free(f);
        ltc_tensor_free(l);
    }
    /* the barrier: a rank leaves it only once every rank has come */
    struct timespec pause = {0, 150000000L * j->rank};
    nanosleep(&pause, NULL);
    __atomic_add_fetch(&g_arrived, 1, __ATOMIC_SEQ_CST);
    note(j, "barrier", ltc_dist_barrier(d));
    j->flags[1] = __atomic_load_n(&g_arrived, __ATOMIC_SEQ_CST);
}

static void test_broadcast_and_barrier(void) {
    static rank_job jobs[W];
    g_arrived = 0;
    run_ranks(jobs, broadcast_body);
    for (int root = 0; root < W; root++) {
        int ok = 1;
        for (int r = 0; r < W; r++)
            for (int i = 0; i < N; i++)
                ok &= !jobs[r].flags[0] && jobs[r].values[2 * root][i] == 100.0 * root + i &&
                      jobs[r].values[2 * root + 1][i] == 100.0 * root + i;
        char what[96];
        snprintf(what, sizeof what, "broadcast from rank %d (float32 and int64): every rank holds its tensor", root);
        CHECK(what, ok);
    }
    expect_calls(jobs, "broadcast", LTC_OK, NULL);
    expect_calls(jobs, "root -1", LTC_ERR_INVALID_ARGUMENT, "ltc_dist_broadcast: root -1 is not valid: use 0 to 2 (the group has 3 ranks)");
    expect_calls(jobs, "root 3", LTC_ERR_INVALID_ARGUMENT, "root 3 is not valid: use 0 to 2");
    expect_calls(jobs, "root INT_MIN", LTC_ERR_INVALID_ARGUMENT, "root -2147483648 is not valid");
    expect_calls(jobs, "barrier", LTC_OK, NULL);
    for (int r = 0; r < W; r++) {
        char what[96];
        snprintf(what, sizeof what, "rank %d leaves the barrier after all %d ranks came (saw %d)", r, W, jobs[r].flags[1]);
        CHECK(what, jobs[r].flags[1] == W);
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* calls that differ across ranks                                                                   */
/* ---------------------------------------------------------------------------------------------- */

static void mismatch_body(rank_job *j, ltc_dist *d) {
    const int odd = j->rank == 1; /* rank 1 makes the other call */
    double v[N];
    for (int i = 0; i < N; i++)
        v[i] = 1;
    int64_t wide[2] = {COLS, ROWS}, flat[1] = {N};
    ltc_tensor *t = make(LTC_FLOAT32, v), *other = NULL, *as_double = make(LTC_FLOAT64, v);
    ltc_tensor_ones(&other, odd ? wide : flat, odd ? 2 : 1, LTC_FLOAT32, CPU);
    note(j, "shape", ltc_dist_all_reduce(d, odd ? other : t, LTC_REDUCE_SUM));
    note(j, "dtype", ltc_dist_all_reduce(d, odd ? as_double : t, LTC_REDUCE_SUM));
    note(j, "op", ltc_dist_all_reduce(d, t, odd ? LTC_REDUCE_MAX : LTC_REDUCE_SUM));
    note(j, "root", ltc_dist_broadcast(d, t, odd ? 2 : 0));
    note(j, "collective", odd ? ltc_dist_broadcast(d, t, 0) : ltc_dist_all_reduce(d, t, LTC_REDUCE_SUM));
    /* the group goes on */
    note(j, "then the same call", ltc_dist_all_reduce(d, t, LTC_REDUCE_SUM));
    j->flags[0] = read_back(j->values[0], LTC_FLOAT32, t);
    TH_FREE_TENSORS(t, other, as_double);
}

static void test_calls_that_differ(void) {
    static rank_job jobs[W];
    run_ranks(jobs, mismatch_body);
    expect_calls(jobs, "shape", LTC_ERR_INVALID_ARGUMENT, "all-reduce #0: the ranks' calls differ: ");
    /* each rank names the first rank whose call differs from its own, and its own */
    ltc_status st;
    const char *m0 = find_call(&jobs[0], "shape", &st), *m1 = find_call(&jobs[1], "shape", &st);
    CHECK("rank 0 names rank 1's call and its own",
          m0 && strstr(m0, "rank 1 made all-reduce (sum) of float32 [3, 2], this rank (0) all-reduce (sum) of float32 [2, 3]; "
                           "every rank must make the same calls in the same order, on tensors of the same dtype and shape"));
    CHECK("rank 1 names rank 0's call and its own",
          m1 && strstr(m1, "rank 0 made all-reduce (sum) of float32 [2, 3], this rank (1) all-reduce (sum) of float32 [3, 2]"));
    expect_calls(jobs, "dtype", LTC_ERR_INVALID_ARGUMENT, "all-reduce (sum) of float");
    const char *md = find_call(&jobs[0], "dtype", &st);
    CHECK("a dtype that differs is named", md && strstr(md, "rank 1 made all-reduce (sum) of float64 [2, 3]"));
    expect_calls(jobs, "op", LTC_ERR_INVALID_ARGUMENT, "the ranks' calls differ");
    const char *mo = find_call(&jobs[2], "op", &st);
    CHECK("an op that differs is named", mo && strstr(mo, "rank 1 made all-reduce (max) of float32 [2, 3], this rank (2) all-reduce (sum)"));
    expect_calls(jobs, "root", LTC_ERR_INVALID_ARGUMENT, "the ranks' calls differ");
    const char *mr = find_call(&jobs[0], "root", &st);
    CHECK("a root that differs is named", mr && strstr(mr, "rank 1 made broadcast from rank 2 of float32 [2, 3], this rank (0) broadcast from rank 0"));
    expect_calls(jobs, "collective", LTC_ERR_INVALID_ARGUMENT, "the ranks' calls differ");
    const char *mc = find_call(&jobs[0], "collective", &st);
    CHECK("another collective is named", mc && strstr(mc, "rank 1 made broadcast from rank 0 of float32 [2, 3], this rank (0) all-reduce (sum)"));
    expect_calls(jobs, "then the same call", LTC_OK, NULL);
    int ok = 1;
    for (int r = 0; r < W; r++)
        for (int i = 0; i < N; i++)
            ok &= jobs[r].flags[0] && jobs[r].values[0][i] == W;
    CHECK("after calls that differed, the group reduces again (sum of ones is 3)", ok);
}

/* ---------------------------------------------------------------------------------------------- */
/* a tensor larger than the store's chunk (4 MiB): sent in pieces                                   */
/* ---------------------------------------------------------------------------------------------- */

enum { BIG = 3 << 20 }; /* float32 elements: 12 MiB */

static void big_body(rank_job *j, ltc_dist *d) {
    float *v = malloc(sizeof(float) * BIG);
    if (!v) {
        j->flags[0] = -1;
        return;
    }
    for (int i = 0; i < BIG; i++)
        v[i] = (float)((j->rank + 1) * (i % 1000));
    int64_t shape[1] = {BIG};
    ltc_tensor *t = NULL;
    note(j, "make", ltc_tensor_from_data(&t, v, shape, 1, LTC_FLOAT32, CPU));
    note(j, "big all-reduce", ltc_dist_all_reduce(d, t, LTC_REDUCE_AVG));
    if (t && ltc_tensor_copy_to_host(v, sizeof(float) * BIG, t) == LTC_OK) {
        int ok = 1;
        for (int i = 0; i < BIG && ok; i++)
            ok = v[i] == (float)(2 * (i % 1000)); /* (1 + 2 + 3) x / 3 */
        j->flags[0] = ok;
    }
    ltc_tensor_free(t);
    free(v);
}

static void test_large_tensor(void) {
    static rank_job jobs[W];
    run_ranks(jobs, big_body);
    expect_calls(jobs, "big all-reduce", LTC_OK, NULL);
    for (int r = 0; r < W; r++)
        CHECK("12 MiB all-reduce (avg) in chunks: every element exact on every rank", jobs[r].flags[0] == 1);
}

/* ---------------------------------------------------------------------------------------------- */
/* tensor lists: a Linear's parameters and a frozen tensor                                          */
/* ---------------------------------------------------------------------------------------------- */

enum { IN = 4, OUT = 2 }; /* Linear(4, 2): weight 8 floats, bias 2 */

/* Rank r's shard: 3 rows of x and y, different on each rank. */
static void shard(int r, float x[3][IN], float y[3][OUT]) {
    for (int n = 0; n < 3; n++) {
        for (int i = 0; i < IN; i++)
            x[n][i] = (float)((r + 1) * 0.25 * (n + 1) - 0.5 * i);
        for (int o = 0; o < OUT; o++)
            y[n][o] = (float)(0.5 * r - 0.25 * n + o);
    }
}

/* The weight (8) and bias (2), or their gradients, into out[10]; 0 on an error. */
static int params_of(const ltc_tensor *w, const ltc_tensor *b, int grad, float out[10]) {
    ltc_tensor *gw = NULL, *gb = NULL;
    int ok = (!grad || (ltc_tensor_grad(&gw, w) == LTC_OK && ltc_tensor_grad(&gb, b) == LTC_OK)) &&
             ltc_tensor_copy_to_host(out, sizeof(float) * IN * OUT, grad ? gw : w) == LTC_OK &&
             ltc_tensor_copy_to_host(out + IN * OUT, sizeof(float) * OUT, grad ? gb : b) == LTC_OK;
    TH_FREE_TENSORS(gw, gb);
    return ok;
}

static void list_body(rank_job *j, ltc_dist *d) {
    const int r = j->rank;
    mh_linear lin, other;
    ltc_tensor *w = NULL, *b = NULL, *ow = NULL, *frozen = NULL, *steps = NULL, *x = NULL, *y = NULL, *p = NULL, *loss = NULL;
    ltc_tensor_list *params = NULL, *empty = NULL, *mixed = NULL, *no_grad = NULL, *frozen_only = NULL;
    float start[IN * OUT], bias[OUT];
    for (int i = 0; i < IN * OUT; i++)
        start[i] = (float)(0.1 * (r + 1) * (i - 3));
    for (int o = 0; o < OUT; o++)
        bias[o] = (float)(0.2 * r - o);
    double fv[N];
    for (int i = 0; i < N; i++)
        fv[i] = 7 + r;
    int64_t one[1] = {1};
    int made = mh_linear_new(&lin, IN, OUT, 1, start, bias, CPU);
    made = mh_linear_new(&other, IN, OUT, 1, NULL, NULL, CPU) && made;
    w = lin.w, b = lin.b, ow = other.w; /* borrowed: lin and other free them */
    if (!made || !(frozen = make(LTC_FLOAT32, fv)) || ltc_tensor_zeros(&steps, one, 1, LTC_INT64, CPU) != LTC_OK ||
        ltc_tensor_list_new(&params) != LTC_OK ||
        ltc_tensor_list_append(params, "weight", w) != LTC_OK || ltc_tensor_list_append(params, "bias", b) != LTC_OK ||
        ltc_tensor_list_append(params, "frozen", frozen) != LTC_OK || ltc_tensor_list_new(&empty) != LTC_OK ||
        ltc_tensor_list_new(&mixed) != LTC_OK || ltc_tensor_list_append(mixed, "weight", w) != LTC_OK ||
        ltc_tensor_list_append(mixed, "steps", steps) != LTC_OK || ltc_tensor_list_new(&no_grad) != LTC_OK ||
        ltc_tensor_list_append(no_grad, "weight", w) != LTC_OK || ltc_tensor_list_append(no_grad, "other.weight", ow) != LTC_OK ||
        ltc_tensor_list_new(&frozen_only) != LTC_OK || ltc_tensor_list_append(frozen_only, "frozen", frozen) != LTC_OK) {
        j->flags[0] = -1;
        goto done;
    }
    /* bad input, refused on this rank before the group hears of it */
    note(j, "empty list", ltc_dist_broadcast_parameters(d, empty, 0));
    note(j, "empty list (average)", ltc_dist_average_gradients(d, empty));
    note(j, "empty list (check)", ltc_dist_check_replicas(d, empty));
    note(j, "NULL list", ltc_dist_average_gradients(d, NULL));
    note(j, "mixed dtypes", ltc_dist_broadcast_parameters(d, mixed, 0));
    note(j, "root out of range", ltc_dist_broadcast_parameters(d, params, W));
    note(j, "no gradient yet", ltc_dist_average_gradients(d, params));

    /* the broadcast of the parameters from rank 1: the frozen tensor goes too (a list is any tensors) */
    note(j, "broadcast parameters", ltc_dist_broadcast_parameters(d, params, 1));
    j->flags[1] = params_of(w, b, 0, j->weights) && read_back(j->values[0], LTC_FLOAT32, frozen);
    note(j, "replicas after the broadcast", ltc_dist_check_replicas(d, params));

    /* this rank's gradient of its shard, then the average */
    float xs[3][IN], ys[3][OUT];
    shard(r, xs, ys);
    int64_t xshape[2] = {3, IN}, yshape[2] = {3, OUT};
    if (ltc_tensor_from_data(&x, xs, xshape, 2, LTC_FLOAT32, CPU) != LTC_OK ||
        ltc_tensor_from_data(&y, ys, yshape, 2, LTC_FLOAT32, CPU) != LTC_OK || ltc_module_forward(&p, lin.module, x) != LTC_OK ||
        ltc_mse_loss(&loss, p, y) != LTC_OK || ltc_tensor_backward(loss) != LTC_OK || !params_of(w, b, 1, j->grads[0])) {
        j->flags[0] = -2;
        goto done;
    }
    note(j, "a parameter without a gradient", ltc_dist_average_gradients(d, no_grad));
    note(j, "only frozen entries", ltc_dist_average_gradients(d, frozen_only));
    note(j, "average gradients", ltc_dist_average_gradients(d, params));
    j->flags[2] = params_of(w, b, 1, j->grads[1]);
    {
        ltc_tensor *g = NULL;
        ltc_status st = ltc_tensor_grad(&g, frozen);
        j->flags[3] = st != LTC_OK; /* the frozen entry got no gradient */
        ltc_tensor_free(g);
    }
    /* the replica check: equal, then rank 2 changes one weight */
    note(j, "replicas equal", ltc_dist_check_replicas(d, params));
    if (r == 2) {
        float changed[IN * OUT];
        memcpy(changed, j->weights, sizeof changed);
        changed[5] += 1e-6f;
        mh_set_floats(w, changed, IN * OUT);
    }
    note(j, "replicas diverged", ltc_dist_check_replicas(d, params));
    note(j, "the group goes on", ltc_dist_barrier(d));
done:
    TH_FREE_TENSORS(frozen, steps, x, y, p, loss);
    ltc_tensor_list_free(params);
    ltc_tensor_list_free(empty);
    ltc_tensor_list_free(mixed);
    ltc_tensor_list_free(no_grad);
    ltc_tensor_list_free(frozen_only);
    mh_linear_free(&lin);
    mh_linear_free(&other);
}

static void test_lists(void) {
    static rank_job jobs[W];
    run_ranks(jobs, list_body);
    for (int r = 0; r < W; r++)
        CHECK("every rank made its tensors and gradients", jobs[r].flags[0] == 0);
    expect_calls(jobs, "empty list", LTC_ERR_INVALID_ARGUMENT,
                 "ltc_dist_broadcast_parameters: params is empty: pass the parameters");
    expect_calls(jobs, "empty list (average)", LTC_ERR_INVALID_ARGUMENT, "ltc_dist_average_gradients: params is empty");
    expect_calls(jobs, "empty list (check)", LTC_ERR_INVALID_ARGUMENT, "ltc_dist_check_replicas: params is empty");
    expect_calls(jobs, "NULL list", LTC_ERR_INVALID_ARGUMENT, "'params' is NULL");
    expect_calls(jobs, "mixed dtypes", LTC_ERR_INVALID_ARGUMENT,
                 "parameter \"steps\" is int64 but parameter \"weight\" is float32: the entries make one flat buffer, so they "
                 "must share one dtype");
    expect_calls(jobs, "root out of range", LTC_ERR_INVALID_ARGUMENT, "ltc_dist_broadcast_parameters: root 3 is not valid: use 0 to 2");
    expect_calls(jobs, "no gradient yet", LTC_ERR_INVALID_ARGUMENT,
                 "ltc_dist_average_gradients: parameter \"weight\" has no gradient yet: call ltc_tensor_backward on the loss first");
    expect_calls(jobs, "broadcast parameters", LTC_OK, NULL);
    expect_calls(jobs, "replicas after the broadcast", LTC_OK, NULL);
    expect_calls(jobs, "a parameter without a gradient", LTC_ERR_INVALID_ARGUMENT, "parameter \"other.weight\" has no gradient yet");
    expect_calls(jobs, "only frozen entries", LTC_ERR_INVALID_ARGUMENT,
                 "no entry of params requires a gradient (parameter \"frozen\" does not): nothing to average");
    expect_calls(jobs, "average gradients", LTC_OK, NULL);
    expect_calls(jobs, "replicas equal", LTC_OK, NULL);
    expect_calls(jobs, "replicas diverged", LTC_ERR_DISTRIBUTED, "replicas diverged: the parameters of rank 2 (");
    expect_calls(jobs, "the group goes on", LTC_OK, NULL);

    /* rank 1's start reached every rank, bit for bit; the frozen tensor too */
    float start1[IN * OUT + OUT];
    for (int i = 0; i < IN * OUT; i++)
        start1[i] = (float)(0.1 * 2 * (i - 3));
    for (int o = 0; o < OUT; o++)
        start1[IN * OUT + o] = (float)(0.2 * 1 - o);
    int bcast = 1, frozen = 1;
    for (int r = 0; r < W; r++) {
        bcast &= jobs[r].flags[1] && memcmp(jobs[r].weights, start1, sizeof start1) == 0;
        for (int i = 0; i < N; i++)
            frozen &= jobs[r].values[0][i] == 8; /* rank 1's 7 + 1 */
    }
    CHECK("ltc_dist_broadcast_parameters from rank 1: every rank holds rank 1's weight and bias, bit for bit", bcast);
    CHECK("... and rank 1's frozen tensor", frozen);
    /* the average: each rank's own gradient summed in rank order, then divided, as the store does */
    int avg = 1, differ = 0;
    for (int i = 0; i < IN * OUT + OUT; i++) {
        float acc = jobs[0].grads[0][i];
        for (int r = 1; r < W; r++)
            acc += jobs[r].grads[0][i];
        acc /= (float)W;
        for (int r = 0; r < W; r++) {
            avg &= jobs[r].flags[2] && jobs[r].grads[1][i] == acc;
            differ |= jobs[r].grads[0][i] != acc;
        }
    }
    CHECK("ltc_dist_average_gradients: every rank holds the average of the ranks' gradients, bit for bit", avg);
    CHECK("(the ranks' own gradients differ from it)", differ);
    for (int r = 0; r < W; r++)
        CHECK("a frozen entry is skipped: it has no gradient", jobs[r].flags[3]);
}

int main(void) {
    test_all_reduce();
    test_broadcast_and_barrier();
    test_calls_that_differ();
    test_large_tensor();
    test_lists();
    return th_finish();
}
