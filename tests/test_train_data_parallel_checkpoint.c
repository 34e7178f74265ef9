/* Checkpoints through the API (ltc_checkpoint_save / ltc_checkpoint_load): a round trip restores the
 * parameters and momentum buffers bit for bit, so that training goes on exactly as without the stop;
 * the write is atomic (no temporary left, an unwritable place fails naming it, a NaN model never
 * overwrites a good file); a truncated file, a changed byte, another format, other shapes, dtype,
 * optimizer or settings are refused naming the file and the mismatch, and change nothing; and Python's
 * torch.load reads the file (with TORCH_PYTHON, a Python that has torch; skipped otherwise). */
#define _DEFAULT_SOURCE /* mkdtemp, popen */
#include "proc_helper.h"

#include <math.h>
#include <sys/stat.h>

static const ltc_device CPU = {LTC_DEVICE_CPU, 0};
static char g_dir[256];

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", g_dir, name); }

/* One SGD step of model on a fixed batch. */
static void train(ltc_linear *model, ltc_sgd *opt, int steps, uint64_t seed) {
    int64_t xs[2] = {8, 4}, ys[2] = {8, 3};
    for (int s = 0; s < steps; s++) {
        ltc_tensor *x = NULL, *y = NULL, *p = NULL, *loss = NULL;
        CHECK_OK(ltc_tensor_randn(&x, xs, 2, LTC_FLOAT32, CPU, seed + (uint64_t)s));
        CHECK_OK(ltc_tensor_randn(&y, ys, 2, LTC_FLOAT32, CPU, seed + 1000u + (uint64_t)s));
        CHECK_OK(ltc_sgd_zero_grad(opt));
        CHECK_OK(ltc_linear_forward(&p, model, x));
        CHECK_OK(ltc_mse_loss(&loss, p, y));
        CHECK_OK(ltc_tensor_backward(loss));
        CHECK_OK(ltc_sgd_step(opt));
        ltc_tensor_free(x);
        ltc_tensor_free(y);
        ltc_tensor_free(p);
        ltc_tensor_free(loss);
    }
}

/* A 4 -> 3 linear with bias, its weights drawn after ltc_manual_seed(seed), and its SGD (lr, momentum 0.9). */
static ltc_linear *new_model(ltc_sgd **opt, double lr, uint64_t seed) {
    ltc_manual_seed(seed);
    ltc_linear *m = NULL;
    CHECK_OK(ltc_linear_new(&m, 4, 3, 1));
    CHECK_OK(ltc_sgd_new(opt, m, lr, 0.9));
    return m;
}

static void free_model(ltc_linear *m, ltc_sgd *opt) {
    ltc_sgd_free(opt);
    ltc_linear_free(m);
}

/* The parameters as bytes: weight [3x4] then bias [3]. */
static void params_of(const ltc_linear *model, float out[15]) {
    ltc_tensor *w = NULL, *b = NULL;
    CHECK_OK(ltc_linear_parameters(&w, &b, model));
    CHECK_OK(ltc_tensor_copy_to_host(out, 12 * sizeof(float), w));
    CHECK_OK(ltc_tensor_copy_to_host(out + 12, 3 * sizeof(float), b));
    ltc_tensor_free(w);
    ltc_tensor_free(b);
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int read_bytes(const char *path, unsigned char *buf, long n) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return (long)got == n;
}

static void write_bytes(const char *path, const void *buf, long n) {
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(buf, 1, (size_t)n, f);
        fclose(f);
    }
}

static void test_round_trip_and_resume(void) {
    char path[400];
    path_of(path, sizeof path, "a.pt");
    /* the uninterrupted run: 10 steps */
    ltc_sgd *ref_opt = NULL;
    ltc_linear *ref = new_model(&ref_opt, 0.05, 3);
    train(ref, ref_opt, 10, 100);
    /* the interrupted one: 4 steps, checkpoint, a fresh process's objects, load, 6 more */
    ltc_sgd *a_opt = NULL;
    ltc_linear *a = new_model(&a_opt, 0.05, 3);
    train(a, a_opt, 4, 100);
    CHECK_OK(ltc_checkpoint_save(path, a, a_opt, 4, "seed=3 batch=8"));
    char tmp[420];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    CHECK("no temporary file left", access(tmp, F_OK) != 0);
    /* other initial weights: the load must replace them */
    ltc_sgd *b_opt = NULL;
    ltc_linear *b = new_model(&b_opt, 0.05, 99);
    int64_t step = -1;
    CHECK_OK(ltc_checkpoint_load(&step, path, b, b_opt, "batch=8 seed=3"));
    CHECK("the step comes back", step == 4);
    float pa[15], pb[15], pr[15];
    params_of(a, pa);
    params_of(b, pb);
    CHECK("parameters restored bit for bit", memcmp(pa, pb, sizeof pa) == 0);
    train(b, b_opt, 6, 104);
    params_of(b, pb);
    params_of(ref, pr);
    CHECK("resumed training ends bit-identical to the uninterrupted run (momentum restored)", memcmp(pb, pr, sizeof pb) == 0);
    /* without the momentum buffers it would not: the check above can fail */
    ltc_sgd *c_opt = NULL;
    ltc_linear *c = new_model(&c_opt, 0.05, 4); /* its weights replaced by the load */
    CHECK_OK(ltc_checkpoint_load(&step, path, c, NULL, "seed=3 batch=8"));
    train(c, c_opt, 6, 104);
    float pc[15];
    params_of(c, pc);
    CHECK("(a load without the optimizer restarts the momentum: different weights)", memcmp(pc, pr, sizeof pc) != 0);
    /* a checkpoint taken before the first step has no momentum buffers; loading it into a trained opt
     * drops them again, so the next step is a first step */
    char fresh[400];
    path_of(fresh, sizeof fresh, "fresh.pt");
    ltc_sgd *f_opt = NULL;
    ltc_linear *f = new_model(&f_opt, 0.05, 3);
    CHECK_OK(ltc_checkpoint_save(fresh, f, f_opt, 0, NULL));
    CHECK_OK(ltc_checkpoint_load(&step, fresh, c, c_opt, ""));
    train(c, c_opt, 10, 100);
    params_of(c, pc);
    CHECK("a step-0 checkpoint resumes as a fresh run", step == 0 && memcmp(pc, pr, sizeof pc) == 0);
    free_model(f, f_opt);
    free_model(c, c_opt);
    free_model(b, b_opt);
    free_model(a, a_opt);
    free_model(ref, ref_opt);
}

/* Every refusal names the file and changes neither the module nor the file. */
static void expect_refused(const char *path, ltc_linear *m, ltc_sgd *opt, const char *settings, const char *text) {
    float before[15], after[15];
    params_of(m, before);
    long size = file_size(path);
    int64_t step = 77;
    CHECK_FAILS(ltc_checkpoint_load(&step, path, m, opt, settings), LTC_ERR_INVALID_ARGUMENT, text);
    CHECK("the message names the file", strstr(ltc_last_error(), path) != NULL);
    params_of(m, after);
    CHECK("nothing changed", step == 77 && memcmp(before, after, sizeof before) == 0 && file_size(path) == size);
}

static void test_refusals(void) {
    char good[400], bad[400];
    path_of(good, sizeof good, "good.pt");
    path_of(bad, sizeof bad, "bad.pt");
    ltc_sgd *opt = NULL;
    ltc_linear *m = new_model(&opt, 0.1, 5);
    train(m, opt, 2, 7);
    CHECK_OK(ltc_checkpoint_save(good, m, opt, 2, "seed=5 batch=8"));
    long n = file_size(good);
    unsigned char *bytes = malloc((size_t)n);
    CHECK("read back", bytes && read_bytes(good, bytes, n));

    ltc_sgd *other_opt = NULL;
    ltc_linear *other = new_model(&other_opt, 0.1, 6);

    /* truncated, at several lengths */
    long cuts[] = {0, 10, n / 2, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        write_bytes(bad, bytes, cuts[i]);
        expect_refused(bad, other, other_opt, "seed=5 batch=8", "is truncated or corrupt");
    }
    /* one changed byte in the weights' data: LibTorch reads it, the digest does not match */
    float wv[12];
    ltc_tensor *w = NULL;
    CHECK_OK(ltc_linear_parameters(&w, NULL, m));
    CHECK_OK(ltc_tensor_copy_to_host(wv, sizeof wv, w));
    ltc_tensor_free(w);
    long at = -1;
    for (long i = 0; i + (long)sizeof wv <= n && at < 0; i++)
        if (memcmp(bytes + i, wv, sizeof wv) == 0)
            at = i + 20; /* a byte inside the weight's data */
    CHECK("the weight's bytes are in the file", at >= 0);
    if (at >= 0) {
        bytes[at] ^= 0x01;
        write_bytes(bad, bytes, n);
        bytes[at] ^= 0x01;
        expect_refused(bad, other, other_opt, "seed=5 batch=8", "do not match the digest");
    }
    /* not a checkpoint at all */
    write_bytes(bad, "hello", 5);
    expect_refused(bad, other, other_opt, "seed=5 batch=8", "is truncated or corrupt");
    char missing[400];
    path_of(missing, sizeof missing, "missing.pt");
    int64_t step = 0;
    CHECK_FAILS(ltc_checkpoint_load(&step, missing, other, other_opt, NULL), LTC_ERR_INVALID_ARGUMENT, "cannot open checkpoint");
    /* another run's settings, optimizer or model */
    expect_refused(good, other, other_opt, "seed=5 batch=16", "batch=8 in the file, batch=16 in this run");
    expect_refused(good, other, other_opt, "seed=5", "batch=8 in the file, absent in this run");
    expect_refused(good, other, other_opt, "seed=5 batch=8 world=2", "world=(absent) in the file, world=2 in this run");
    ltc_sgd *slow = NULL;
    CHECK_OK(ltc_sgd_new(&slow, other, 0.05, 0.9));
    expect_refused(good, other, slow, "seed=5 batch=8", "lr=0.1 in the file, lr=0.05 in this run");
    ltc_sgd_free(slow);
    ltc_linear *wide = NULL;
    CHECK_OK(ltc_linear_new(&wide, 5, 3, 1));
    int64_t s2 = 0;
    CHECK_FAILS(ltc_checkpoint_load(&s2, good, wide, NULL, "seed=5 batch=8"), LTC_ERR_INVALID_ARGUMENT,
                "does not match this model: its weight is [3, 4], this model's is [3, 5]");
    ltc_linear *nobias = NULL;
    CHECK_OK(ltc_linear_new(&nobias, 4, 3, 0));
    CHECK_FAILS(ltc_checkpoint_load(&s2, good, nobias, NULL, "seed=5 batch=8"), LTC_ERR_INVALID_ARGUMENT,
                "its bias is [3], this model's is absent");
    CHECK_FAILS(ltc_checkpoint_load(&s2, good, other, opt, "seed=5 batch=8"), LTC_ERR_INVALID_ARGUMENT,
                "opt was made over another module");
    /* the good file is still good */
    CHECK_OK(ltc_checkpoint_load(&s2, good, other, other_opt, "seed=5 batch=8"));

    /* a diverged model is never saved over a good checkpoint */
    float nan_w[12], b3[3] = {0, 0, 0};
    for (int i = 0; i < 12; i++)
        nan_w[i] = i == 5 ? NAN : 1.0f;
    CHECK_OK(ltc_linear_set_parameters(other, nan_w, b3));
    CHECK_FAILS(ltc_checkpoint_save(good, other, other_opt, 3, "seed=5 batch=8"), LTC_ERR_INVALID_ARGUMENT,
                "the weight holds NaN or infinite values");
    unsigned char *again = malloc((size_t)n);
    CHECK("the good checkpoint is untouched", again && file_size(good) == n && read_bytes(good, again, n) &&
                                                  memcmp(again, bytes, (size_t)n) == 0);
    free(again);
    /* a place that cannot be written, named */
    CHECK_FAILS(ltc_checkpoint_save("/nonexistent-dir/x.pt", m, opt, 1, NULL), LTC_ERR_INVALID_ARGUMENT,
                "cannot create /nonexistent-dir/x.pt.tmp.");
    ltc_linear_free(nobias);
    ltc_linear_free(wide);
    free_model(other, other_opt);
    free_model(m, opt);
    free(bytes);
    unlink(bad);
}

/* Python's torch.load reads it, with the default weights_only=True. */
static void test_torch_load(void) {
    if (!ph_torch_python_has("torch.load", "torch"))
        return;
#ifdef TORCH_PYTHON
    char path[400];
    path_of(path, sizeof path, "py.pt");
    ltc_sgd *opt = NULL;
    ltc_linear *m = new_model(&opt, 0.1, 8);
    train(m, opt, 3, 9);
    CHECK_OK(ltc_checkpoint_save(path, m, opt, 3, "seed=8 batch=8"));
    float p[15];
    params_of(m, p);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "'%s' -c 'import torch, sys\n"
             "d = torch.load(sys.argv[1])\n"
             "assert d[\"step\"] == 3 and d[\"lr\"] == 0.1 and d[\"momentum\"] == 0.9, d\n"
             "assert d[\"settings\"] == \"batch=8 seed=8\" and d[\"dtype\"] == \"float32\", d\n"
             "assert d[\"weight\"].shape == (3, 4) and d[\"bias\"].shape == (3,)\n"
             "assert d[\"momentum_buffer.weight\"].shape == (3, 4)\n"
             "print(\"%%.9g\" %% d[\"weight\"][1, 2].item())' '%s' 2>&1",
             TORCH_PYTHON, path);
    char out[4096];
    int rc = ph_run(cmd, out, sizeof out);
    char want[64];
    snprintf(want, sizeof want, "%.9g", p[1 * 4 + 2]);
    ph_report(rc == 0 && strstr(out, want) != NULL, "torch.load reads the checkpoint (weights_only=True)",
              "exit 0 and weight[1, 2]", out);
    free_model(m, opt);
    unlink(path);
#endif
}

int main(void) {
    static void (*const tests[])(void) = {test_round_trip_and_resume, test_refusals, test_torch_load};
    return ph_run_in_dir(g_dir, sizeof g_dir, "ltc_ckpt", tests, sizeof tests / sizeof *tests);
}
