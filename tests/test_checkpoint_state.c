/* Checkpoints of any state: the MLP's parameters, its optimizer's state (SGD with momentum, Adam), a step
 * and settings saved and loaded back; a run resumed from a checkpoint into a fresh module and optimizer
 * ends bit for bit where the uninterrupted run ends; restore is all or nothing, naming the entry, the
 * optimizer's kind or setting that differs; a diverged model never overwrites a good file; the file
 * system's refusals are LTC_ERR_IO naming the path; a truncated file and a changed byte (the digest) are
 * refused. With the Python beside LibTorch (skipped without it):
 * torch.load(weights_only=True) reads an ltc checkpoint, its digest recomputed as documented, its "model"
 * into nn.Sequential.load_state_dict and its "optimizer" into torch.optim's load_state_dict, and the next
 * step there equals ltc's; ltc reads a state_dict that torch.save wrote (the same outputs as Python's
 * model), and an ltc checkpoint that Python wrote with the documented digest, without one, or with a
 * wrong one (refused). */
#define _GNU_SOURCE /* memmem */
#include "mlp_helper.h"
#include "torch_ref_helper.h"

#include <sys/stat.h>
#include <unistd.h>

static const ltc_device CPU = {LTC_DEVICE_CPU, 0};
static char g_dir[256];

static const char *path_of(const char *name) {
    static char buf[4][400];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 400, "%s/%s", g_dir, name);
    return p;
}

/* steps training steps on the batch of seed 7 (64 points). */
static void train(ltc_module *model, ltc_optimizer *opt, int steps) {
    ltc_tensor *x = NULL, *y = NULL;
    mh_data(&x, &y, 64, 7, CPU);
    for (int s = 0; s < steps; s++)
        mh_step(model, opt, x, y);
    TH_FREE_TENSORS(x, y);
}

/* model's parameters, opt's state, step and two settings, saved to path. */
static void save(const char *path, const ltc_module *model, const ltc_optimizer *opt, int64_t step) {
    ltc_checkpoint *c = NULL;
    ltc_tensor_list *params = mh_params_new(model);
    CHECK_OK(ltc_checkpoint_new(&c));
    CHECK_OK(ltc_checkpoint_set_tensors(c, params));
    if (opt)
        CHECK_OK(ltc_checkpoint_set_optimizer(c, opt));
    CHECK_OK(ltc_checkpoint_set_step(c, step));
    CHECK_OK(ltc_checkpoint_set_setting(c, "seed", "1"));
    CHECK_OK(ltc_checkpoint_set_setting(c, "batch", "64"));
    CHECK_OK(ltc_checkpoint_save(c, path));
    ltc_tensor_list_free(params);
    ltc_checkpoint_free(c);
}

static ltc_checkpoint *load(const char *path) {
    ltc_checkpoint *c = NULL;
    CHECK_OK(ltc_checkpoint_load(&c, path));
    return c;
}

#define NPARAM (4 * 16 + 16 + 16 * 3 + 3)

static void test_round_trip(void) {
    ltc_module *m = mh_mlp(1);
    ltc_optimizer *opt = mh_optimizer_new(MH_ADAM, m);
    train(m, opt, 5);
    save(path_of("a.pt"), m, opt, 5);
    ltc_checkpoint *c = load(path_of("a.pt"));
    int64_t step = -1;
    const char *seed = NULL, *v = NULL;
    CHECK_OK(ltc_checkpoint_step(&step, c));
    CHECK_OK(ltc_checkpoint_setting(&seed, c, "seed"));
    CHECK("step and settings come back", step == 5 && seed && strcmp(seed, "1") == 0);
    CHECK_FAILS(ltc_checkpoint_setting(&v, c, "lr"), LTC_ERR_INVALID_ARGUMENT,
                "the checkpoint has no setting \"lr\"; it holds batch, seed");
    ltc_tensor_list *t = NULL;
    CHECK_OK(ltc_checkpoint_tensors(&t, c));
    const char *n0 = NULL, *n3 = NULL;
    CHECK("the tensors under the module's names, in its order", ltc_tensor_list_count(t) == 4 &&
              ltc_tensor_list_get(NULL, &n0, t, 0) == LTC_OK && strcmp(n0, "0.weight") == 0 &&
              ltc_tensor_list_get(NULL, &n3, t, 3) == LTC_OK && strcmp(n3, "2.bias") == 0);
    double a[NPARAM], b[NPARAM];
    CHECK("their values, bit for bit", mh_param_values(m, a, NPARAM) == NPARAM && mh_values(t, b, NPARAM) == NPARAM &&
                                           memcmp(a, b, sizeof a) == 0);
    ltc_tensor *w = NULL;
    CHECK_OK(ltc_tensor_list_get(&w, NULL, t, 0));
    CHECK("loaded tensors are on the CPU", ltc_tensor_device(w).type == LTC_DEVICE_CPU);
    CHECK_OK(ltc_checkpoint_save(c, path_of("again.pt"))); /* a loaded checkpoint saves as it was */
    ltc_checkpoint *again = load(path_of("again.pt"));
    int64_t s2 = 0;
    CHECK_OK(ltc_checkpoint_step(&s2, again));
    CHECK("a loaded checkpoint saved again keeps its step", s2 == 5);
    ltc_tensor_free(w);
    ltc_tensor_list_free(t);
    ltc_checkpoint_free(c);
    ltc_checkpoint_free(again);
    ltc_optimizer_free(opt);
    ltc_module_free(m);
}

/* 10 steps in one go, against 4 steps, a save, and 6 steps in a fresh module and optimizer restored from
 * the file: the same parameters, bit for bit. */
static void test_resume_bit_for_bit(enum mh_optim kind) {
    ltc_module *a = mh_mlp(1), *b = mh_mlp(1), *c = mh_mlp(99);
    ltc_optimizer *oa = mh_optimizer_new(kind, a), *ob = mh_optimizer_new(kind, b), *oc = mh_optimizer_new(kind, c);
    train(a, oa, 10);
    train(b, ob, 4);
    save(path_of("resume.pt"), b, ob, 4);
    ltc_checkpoint *ck = load(path_of("resume.pt"));
    ltc_tensor_list *pc = mh_params_new(c);
    CHECK_OK(ltc_checkpoint_restore(ck, pc, oc));
    train(c, oc, 6);
    double pa[NPARAM], pcv[NPARAM];
    mh_param_values(a, pa, NPARAM);
    mh_param_values(c, pcv, NPARAM);
    CHECK(kind == MH_SGD ? "SGD with momentum: resumed from a checkpoint = uninterrupted, bit for bit"
                      : "Adam: resumed from a checkpoint = uninterrupted, bit for bit",
          memcmp(pa, pcv, sizeof pa) == 0);
    ltc_tensor_list *state = NULL;
    CHECK_OK(ltc_optimizer_state(&state, oc));
    CHECK("the restored optimizer holds its state", ltc_tensor_list_count(state) == (kind == MH_SGD ? 4 : 12));
    ltc_tensor_list_free(state);
    ltc_tensor_list_free(pc);
    ltc_checkpoint_free(ck);
    ltc_optimizer_free(oa);
    ltc_optimizer_free(ob);
    ltc_optimizer_free(oc);
    ltc_module_free(a);
    ltc_module_free(b);
    ltc_module_free(c);
}

static void test_resume_sgd(void) { test_resume_bit_for_bit(MH_SGD); }
static void test_resume_adam(void) { test_resume_bit_for_bit(MH_ADAM); }

/* Each refusal names what differs, and changes nothing: neither the parameters nor the optimizer. */
static void test_restore_refusals(void) {
    ltc_module *m = mh_mlp(1), *other = mh_mlp(2), *wide = NULL, *lin = NULL;
    ltc_optimizer *opt = mh_optimizer_new(MH_ADAM, m), *sgd = mh_optimizer_new(MH_SGD, other);
    train(m, opt, 2);
    save(path_of("r.pt"), m, opt, 2);
    save(path_of("noopt.pt"), m, NULL, 2);
    ltc_checkpoint *c = load(path_of("r.pt")), *noopt = load(path_of("noopt.pt"));
    ltc_tensor_list *po = mh_params_new(other), *state = NULL;
    double before[NPARAM], after[NPARAM];
    mh_param_values(other, before, NPARAM);
    CHECK_FAILS(ltc_checkpoint_restore(c, po, sgd), LTC_ERR_INVALID_ARGUMENT,
                "the checkpoint's optimizer is Adam, this one is SGD");
    ltc_adam_options ao = LTC_ADAM_OPTIONS_INIT;
    ao.lr = 0.02;
    ltc_optimizer *adam2 = NULL;
    CHECK_OK(ltc_optimizer_adam_new(&adam2, po, &ao));
    CHECK_FAILS(ltc_checkpoint_restore(c, po, adam2), LTC_ERR_INVALID_ARGUMENT,
                "the checkpoint's optimizer has lr=0.01, this one lr=0.02");
    CHECK_FAILS(ltc_checkpoint_restore(noopt, po, adam2), LTC_ERR_INVALID_ARGUMENT,
                "the checkpoint holds no optimizer state: pass NULL for optimizer");
    mh_param_values(other, after, NPARAM);
    CHECK("a refused restore changes no parameter", memcmp(before, after, sizeof before) == 0);
    CHECK_OK(ltc_optimizer_state(&state, sgd));
    CHECK("nor the optimizer's state", ltc_tensor_list_count(state) == 0);
    ltc_tensor_list_free(state);
    /* other shapes: Linear(4, 8) first */
    CHECK_OK(ltc_module_sequential_new(&wide));
    CHECK_OK(ltc_module_linear_new(&lin, 4, 8, 1));
    CHECK_OK(ltc_module_sequential_append(wide, lin));
    ltc_tensor_list *pw = mh_params_new(wide), *pl = mh_params_new(lin);
    CHECK_FAILS(ltc_checkpoint_restore(c, pw, NULL), LTC_ERR_INVALID_ARGUMENT,
                "entry \"0.weight\" is float32 [16, 4] in the checkpoint but float32 [8, 4] in params");
    CHECK_FAILS(ltc_checkpoint_restore(c, pl, NULL), LTC_ERR_INVALID_ARGUMENT,
                "the checkpoint has no entry \"weight\" (a name missing)");
    ltc_tensor *extra = NULL;
    CHECK_OK(ltc_tensor_list_get(&extra, NULL, pw, 0));
    ltc_tensor_list *three = mh_params_new(m);
    ltc_checkpoint *c3 = NULL;
    CHECK_OK(ltc_checkpoint_new(&c3));
    CHECK_OK(ltc_tensor_list_append(three, "extra", extra));
    CHECK_OK(ltc_checkpoint_set_tensors(c3, three));
    ltc_tensor_list *pm = mh_params_new(m);
    CHECK_FAILS(ltc_checkpoint_restore(c3, pm, NULL), LTC_ERR_INVALID_ARGUMENT,
                "the checkpoint's entry \"extra\" is not in params (a name extra)");
    CHECK_OK(ltc_checkpoint_restore(c, po, NULL)); /* the tensors alone */
    mh_param_values(other, after, NPARAM);
    mh_param_values(m, before, NPARAM);
    CHECK("with optimizer NULL, the tensors alone are restored", memcmp(before, after, sizeof before) == 0);
    ltc_tensor_free(extra);
    ltc_tensor_list_free(po);
    ltc_tensor_list_free(pw);
    ltc_tensor_list_free(pl);
    ltc_tensor_list_free(three);
    ltc_tensor_list_free(pm);
    ltc_checkpoint_free(c);
    ltc_checkpoint_free(c3);
    ltc_checkpoint_free(noopt);
    ltc_optimizer_free(opt);
    ltc_optimizer_free(sgd);
    ltc_optimizer_free(adam2);
    ltc_module_free(m);
    ltc_module_free(other);
    ltc_module_free(wide);
    ltc_module_free(lin);
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The file's bytes into buf (cap), their count (-1 on failure). */
static long read_file(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    long n = (long)fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static int write_file(const char *path, const char *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(buf, 1, n, f) == n;
    return (f && fclose(f) == 0) && ok;
}

/* Where the data of the zip record whose name ends with `suffix` starts (records are stored, not
 * compressed): after its local header, "PK\3\4", 30 bytes, the name and the extra field. -1 if none. */
static long data_offset(const char *zip, long n, const char *suffix) {
    const unsigned char *u = (const unsigned char *)zip;
    for (long i = 0; i + 30 < n; i++) {
        if (memcmp(zip + i, "PK\3\4", 4) != 0)
            continue;
        long name = u[i + 26] | u[i + 27] << 8, extra = u[i + 28] | u[i + 29] << 8, len = (long)strlen(suffix);
        if (i + 30 + name + extra < n && name >= len && memcmp(zip + i + 30 + name - len, suffix, (size_t)len) == 0)
            return i + 30 + name + extra;
    }
    return -1;
}

static void test_file_refusals(void) {
    ltc_module *m = mh_mlp(1);
    ltc_optimizer *opt = mh_optimizer_new(MH_SGD, m);
    train(m, opt, 1);
    char good[400]; /* kept: path_of's buffers are reused */
    snprintf(good, sizeof good, "%s", path_of("good.pt"));
    save(good, m, opt, 1);
    static char bytes[1 << 16], now[1 << 16];
    long n = read_file(good, bytes, sizeof bytes);
    CHECK("a checkpoint of the MLP is written", n > 1000 && n < (long)sizeof bytes);
    /* a diverged model: NaN in a tensor */
    ltc_tensor *nan = NULL;
    float nanv[2] = {1, NAN};
    CHECK_OK(ltc_tensor_from_data(&nan, nanv, (int64_t[]){2}, 1, LTC_FLOAT32, CPU));
    ltc_tensor_list *bad = NULL;
    CHECK_OK(ltc_tensor_list_new(&bad));
    CHECK_OK(ltc_tensor_list_append(bad, "w", nan));
    ltc_checkpoint *c = NULL;
    CHECK_OK(ltc_checkpoint_new(&c));
    CHECK_OK(ltc_checkpoint_set_tensors(c, bad));
    CHECK_FAILS(ltc_checkpoint_save(c, good), LTC_ERR_INVALID_ARGUMENT,
                "entry \"w\" holds NaN or infinite values (the training diverged)");
    CHECK("the good file is left as it was", read_file(good, now, sizeof now) == n && memcmp(bytes, now, (size_t)n) == 0);
    CHECK_FAILS(ltc_checkpoint_save(c, "/nonexistent-dir/x.pt"), LTC_ERR_INVALID_ARGUMENT, "holds NaN");
    ltc_checkpoint_free(c);
    c = NULL;
    CHECK_OK(ltc_checkpoint_new(&c));
    CHECK_FAILS(ltc_checkpoint_save(c, "/nonexistent-dir/x.pt"), LTC_ERR_IO,
                "cannot create /nonexistent-dir/x.pt.tmp.");
    CHECK_FAILS(ltc_checkpoint_save(c, "/nonexistent-dir/x.pt"), LTC_ERR_IO, "its folder /nonexistent-dir does not exist");
    CHECK_FAILS(ltc_checkpoint_save(c, g_dir), LTC_ERR_IO, "is a folder: pass a file name");
    ltc_checkpoint *l = NULL;
    CHECK_FAILS(ltc_checkpoint_load(&l, path_of("missing.pt")), LTC_ERR_IO, "cannot open checkpoint");
    CHECK_FAILS(ltc_checkpoint_load(&l, g_dir), LTC_ERR_IO, "Is a directory");
    /* truncated; a changed byte */
    const char *cut = path_of("cut.pt"), *flip = path_of("flip.pt");
    CHECK("write a truncated copy", write_file(cut, bytes, (size_t)n / 2));
    CHECK_FAILS(ltc_checkpoint_load(&l, cut), LTC_ERR_INVALID_ARGUMENT, "is truncated or corrupt");
    long at = data_offset(bytes, n, "/data/0");
    memcpy(now, bytes, (size_t)n);
    if (at > 0)
        now[at] ^= 0x01; /* one bit of the first tensor's first element */
    CHECK("write a copy with one bit of a tensor flipped", at > 0 && write_file(flip, now, (size_t)n));
    CHECK_FAILS(ltc_checkpoint_load(&l, flip), LTC_ERR_INVALID_ARGUMENT, "flip.pt is");
    printf("one bit flipped in a tensor: %s\n", ltc_last_error());
    CHECK("a refused load leaves *out NULL", l == NULL);
    /* the same flip, and a changed byte in the name "digest" too: not taken for a file written without one */
    char *key = memmem(now, (size_t)n, "digest", 6);
    if (key)
        key[5] = 'X';
    CHECK("write a copy whose entry \"digest\" is renamed \"digesX\"", key && write_file(flip, now, (size_t)n));
    CHECK_FAILS(ltc_checkpoint_load(&l, flip), LTC_ERR_INVALID_ARGUMENT,
                "flip.pt is corrupt: it has an entry \"digesX\", and an ltc checkpoint holds only format, step, model, "
                "optimizer, settings and digest");
    CHECK("a refused load leaves *out NULL", l == NULL);
    CHECK_FAILS(ltc_checkpoint_set_setting(c, "", "x"), LTC_ERR_INVALID_ARGUMENT, "the key is empty");
    CHECK_FAILS(ltc_checkpoint_set_setting(c, "k", "a\nb"), LTC_ERR_INVALID_ARGUMENT,
                "the value \"a\nb\" holds a control character (byte 1)");
    CHECK_FAILS(ltc_checkpoint_set_step(c, -1), LTC_ERR_INVALID_ARGUMENT, "step -1 is not valid: use 0 or more");
    char tmp[64];
    snprintf(tmp, sizeof tmp, "good.pt.tmp.%ld", (long)getpid());
    CHECK("no temporary file is left", file_size(path_of(tmp)) < 0 && file_size(good) == n);
    ltc_checkpoint_free(c);
    ltc_tensor_list_free(bad);
    ltc_tensor_free(nan);
    ltc_optimizer_free(opt);
    ltc_module_free(m);
}

/* Python's side: torch.load(weights_only=True) of ours, and ours of Python's. */
static void test_python_reads_ltc(void) {
    for (int kind = MH_SGD; kind <= MH_ADAM; kind++) {
        const char *what = kind == MH_SGD ? "torch.load of an ltc checkpoint (SGD)" : "torch.load of an ltc checkpoint (Adam)";
        if (!tr_available(what))
            return;
        ltc_module *m = mh_mlp(1);
        ltc_optimizer *opt = mh_optimizer_new((enum mh_optim)kind, m);
        train(m, opt, 3);
        const char *path = path_of("py.pt");
        save(path, m, opt, 3);
        static char out[1 << 16], args[600];
        snprintf(args, sizeof args, "read-ltc '%s' %s", path, kind == MH_SGD ? "sgd" : "adam");
        int rc = tr_run(args, out, sizeof out);
        ph_check_run(what, rc, 0, out, "step 3\n");
        ph_report(strstr(out, "setting seed=1\n") && strstr(out, "setting batch=64\n"), "the settings, as a dict of str",
                  "seed=1 and batch=64", out);
        ph_report(strstr(out, "digest ok\n") != NULL, "Python recomputes the digest as ltc_checkpoint_save documents it",
                  "digest ok", out);
        ltc_tensor *x = NULL, *y = NULL;
        mh_data(&x, &y, 8, 22, CPU);
        mh_step(m, opt, x, y);
        ltc_tensor_list *p = mh_params_new(m);
        for (int64_t i = 0; i < ltc_tensor_list_count(p); i++) {
            const char *name = NULL;
            ltc_tensor *t = NULL;
            double got[64];
            CHECK_OK(ltc_tensor_list_get(&t, &name, p, i));
            tr_close(name, out, got, (int)mh_tensor_values(t, got, 64), 1e-6);
            ltc_tensor_free(t);
        }
        printf("%s: load_state_dict of model and optimizer, then one more step equal to ltc's\n", what);
        ltc_tensor_list_free(p);
        TH_FREE_TENSORS(x, y);
        ltc_optimizer_free(opt);
        ltc_module_free(m);
    }
}

static void test_ltc_reads_state_dict(void) {
    const char *what = "ltc reads a state_dict that torch.save wrote";
    if (!tr_available(what))
        return;
    static char out[1 << 16], args[600];
    const char *path = path_of("sd.pt");
    snprintf(args, sizeof args, "write-state-dict '%s'", path);
    ph_check_run(what, tr_run(args, out, sizeof out), 0, out, "out ");
    ltc_checkpoint *c = NULL;
    CHECK_OK(ltc_checkpoint_load(&c, path));
    ltc_module *m = mh_mlp(99);
    ltc_tensor_list *p = mh_params_new(m);
    int64_t step = -1;
    CHECK_OK(ltc_checkpoint_restore(c, p, NULL));
    CHECK_OK(ltc_checkpoint_step(&step, c));
    CHECK("a plain state_dict has step 0", step == 0);
    ltc_tensor *x = NULL, *yv = NULL;
    double got[6];
    CHECK_OK(ltc_tensor_randn(&x, (int64_t[]){2, 4}, 2, LTC_FLOAT32, CPU, 31));
    CHECK_OK(ltc_module_forward(&yv, m, x));
    tr_close("out", out, got, (int)mh_tensor_values(yv, got, 6), 1e-6);
    printf("%s: restored into an ltc MLP, its outputs are Python's\n", what);
    TH_FREE_TENSORS(x, yv);
    ltc_tensor_list_free(p);
    ltc_checkpoint_free(c);
    ltc_module_free(m);
}

static void test_ltc_reads_python_ltc(void) {
    static const char *const hows[] = {"none", "digest", "bad"};
    for (int h = 0; h < 3; h++) {
        char what[120];
        snprintf(what, sizeof what, "ltc reads an ltc checkpoint that Python wrote (digest: %s)", hows[h]);
        if (!tr_available(what))
            return;
        static char out[1 << 16], args[600];
        const char *path = path_of("pyltc.pt");
        snprintf(args, sizeof args, "write-ltc '%s' %s", path, hows[h]);
        ph_check_run(what, tr_run(args, out, sizeof out), 0, out, "0.weight ");
        ltc_checkpoint *c = NULL;
        if (h == 2) {
            CHECK_FAILS(ltc_checkpoint_load(&c, path), LTC_ERR_INVALID_ARGUMENT,
                        "its contents do not match the digest written with them");
            continue;
        }
        CHECK_OK(ltc_checkpoint_load(&c, path));
        ltc_module *m = mh_mlp(99);
        ltc_optimizer *opt = mh_optimizer_new(MH_ADAM, m);
        ltc_tensor_list *p = mh_params_new(m);
        int64_t step = -1;
        const char *note = NULL;
        CHECK_OK(ltc_checkpoint_restore(c, p, opt));
        CHECK_OK(ltc_checkpoint_step(&step, c));
        CHECK_OK(ltc_checkpoint_setting(&note, c, "note"));
        CHECK("its step and settings", step == 7 && note && strcmp(note, "written by Python") == 0);
        ltc_tensor *x = NULL, *y = NULL;
        mh_data(&x, &y, 8, 22, CPU);
        mh_step(m, opt, x, y);
        for (int64_t i = 0; i < ltc_tensor_list_count(p); i++) {
            const char *name = NULL;
            ltc_tensor *t = NULL;
            double got[64];
            CHECK_OK(ltc_tensor_list_get(&t, &name, p, i));
            tr_close(name, out, got, (int)mh_tensor_values(t, got, 64), 1e-6);
            ltc_tensor_free(t);
        }
        printf("%s: restored into an ltc MLP and Adam, the next step is Python's\n", what);
        TH_FREE_TENSORS(x, y);
        ltc_tensor_list_free(p);
        ltc_checkpoint_free(c);
        ltc_optimizer_free(opt);
        ltc_module_free(m);
    }
}

int main(void) {
    static void (*const tests[])(void) = {test_round_trip,      test_resume_sgd,       test_resume_adam,
                                          test_restore_refusals, test_file_refusals,    test_python_reads_ltc,
                                          test_ltc_reads_state_dict, test_ltc_reads_python_ltc};
    return ph_run_in_dir(g_dir, sizeof g_dir, "ltc_ckpt_state", tests, sizeof tests / sizeof *tests);
}
