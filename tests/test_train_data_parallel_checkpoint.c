/* Checkpoints through the API (ltc_checkpoint_save_linear / ltc_checkpoint_load_linear / ltc_checkpoint_lock_new): a
 * round trip restores the parameters and momentum buffers bit for bit, so that training goes on exactly
 * as without the stop; the write is atomic (no temporary left, a NaN model never overwrites a good file);
 * a truncated file, a changed byte, another format, other shapes, dtype, optimizer or settings are
 * refused naming the file and the mismatch, and change nothing; and Python's torch.load reads the file,
 * and a TorchScript file it writes is refused as not a checkpoint (with TORCH_PYTHON, a Python that has
 * torch; skipped otherwise).
 * The file system's refusals are LTC_ERR_IO naming the path, errno's text and what it means: a missing
 * folder, a folder given as the file, a file in the middle of the path, and, in a mount namespace of
 * their own (unshare; skipped where it cannot be made), a read-only file system and a full disk; and
 * no permission (as nobody when the test runs as root). The lock: one holder at a time, named to the
 * next; let go when its process dies; stale temporary files of dead processes removed, a live one's
 * kept. The cases that need another process run this program again: test_... --child MODE ARG. */
#define _DEFAULT_SOURCE /* mkdtemp, popen */
#include "proc_helper.h"

#include <errno.h>
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
    CHECK_OK(ltc_checkpoint_save_linear(path, a, a_opt, 4, "seed=3 batch=8"));
    char tmp[420];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    CHECK("no temporary file left", access(tmp, F_OK) != 0);
    /* other initial weights: the load must replace them */
    ltc_sgd *b_opt = NULL;
    ltc_linear *b = new_model(&b_opt, 0.05, 99);
    int64_t step = -1;
    CHECK_OK(ltc_checkpoint_load_linear(&step, path, b, b_opt, "batch=8 seed=3"));
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
    CHECK_OK(ltc_checkpoint_load_linear(&step, path, c, NULL, "seed=3 batch=8"));
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
    CHECK_OK(ltc_checkpoint_save_linear(fresh, f, f_opt, 0, NULL));
    CHECK_OK(ltc_checkpoint_load_linear(&step, fresh, c, c_opt, ""));
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
    CHECK_FAILS(ltc_checkpoint_load_linear(&step, path, m, opt, settings), LTC_ERR_INVALID_ARGUMENT, text);
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
    CHECK_OK(ltc_checkpoint_save_linear(good, m, opt, 2, "seed=5 batch=8"));
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
    CHECK_FAILS(ltc_checkpoint_load_linear(&step, missing, other, other_opt, NULL), LTC_ERR_IO, "cannot open checkpoint");
    CHECK("... with errno's text", strstr(ltc_last_error(), "No such file or directory") != NULL);
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
    CHECK_FAILS(ltc_checkpoint_load_linear(&s2, good, wide, NULL, "seed=5 batch=8"), LTC_ERR_INVALID_ARGUMENT,
                "does not match this model: its weight is [3, 4], this model's is [3, 5]");
    ltc_linear *nobias = NULL;
    CHECK_OK(ltc_linear_new(&nobias, 4, 3, 0));
    CHECK_FAILS(ltc_checkpoint_load_linear(&s2, good, nobias, NULL, "seed=5 batch=8"), LTC_ERR_INVALID_ARGUMENT,
                "its bias is [3], this model's is absent");
    CHECK_FAILS(ltc_checkpoint_load_linear(&s2, good, other, opt, "seed=5 batch=8"), LTC_ERR_INVALID_ARGUMENT,
                "opt was made over another module");
    /* the good file is still good */
    CHECK_OK(ltc_checkpoint_load_linear(&s2, good, other, other_opt, "seed=5 batch=8"));

    /* a diverged model is never saved over a good checkpoint */
    float nan_w[12], b3[3] = {0, 0, 0};
    for (int i = 0; i < 12; i++)
        nan_w[i] = i == 5 ? NAN : 1.0f;
    CHECK_OK(ltc_linear_set_parameters(other, nan_w, b3));
    CHECK_FAILS(ltc_checkpoint_save_linear(good, other, other_opt, 3, "seed=5 batch=8"), LTC_ERR_INVALID_ARGUMENT,
                "the weight holds NaN or infinite values");
    unsigned char *again = malloc((size_t)n);
    CHECK("the good checkpoint is untouched", again && file_size(good) == n && read_bytes(good, again, n) &&
                                                  memcmp(again, bytes, (size_t)n) == 0);
    free(again);
    /* a place that cannot be written, named (more in test_io_errors) */
    CHECK_FAILS(ltc_checkpoint_save_linear("/nonexistent-dir/x.pt", m, opt, 1, NULL), LTC_ERR_IO,
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
    CHECK_OK(ltc_checkpoint_save_linear(path, m, opt, 3, "seed=8 batch=8"));
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

/* ---------------------------------------------------------------------------------------------- */
/* The file system's refusals: LTC_ERR_IO                                                           */
/* ---------------------------------------------------------------------------------------------- */

static const char *g_self; /* this program, run again for the cases that need another process */

/* save, load and lock on path must each fail with LTC_ERR_IO and every text of want ("|"-separated). */
static void expect_io(const char *what, const char *path, const char *want) {
    ltc_sgd *opt = NULL;
    ltc_linear *m = new_model(&opt, 0.1, 5);
    int64_t step = 0;
    ltc_checkpoint_lock *lock = NULL;
    char name[600], texts[400];
    for (int call = 0; call < 3; call++) {
        ltc_status s = call == 0   ? ltc_checkpoint_save_linear(path, m, opt, 1, NULL)
                       : call == 1 ? ltc_checkpoint_load_linear(&step, path, m, opt, NULL)
                                   : ltc_checkpoint_lock_new(&lock, path);
        int ok = s == LTC_ERR_IO && strstr(ltc_last_error(), path) != NULL;
        snprintf(texts, sizeof texts, "%s", want);
        for (char *t = strtok(texts, "|"); t; t = strtok(NULL, "|"))
            ok = ok && strstr(ltc_last_error(), t) != NULL;
        snprintf(name, sizeof name, "%s: %s is LTC_ERR_IO naming the path and \"%s\"", what,
                 call == 0 ? "save" : call == 1 ? "load" : "lock", want);
        ph_report(ok, name, ltc_status_string(s), ltc_last_error());
    }
    CHECK("no lock made", lock == NULL);
    free_model(m, opt);
}

static void test_io_errors(void) {
    char dir[400], file[400], inside[420];
    expect_io("a missing folder", "/nonexistent-dir/x.pt", "No such file or directory|its folder /nonexistent-dir does not exist");
    path_of(dir, sizeof dir, "a-folder");
    CHECK("made a folder", mkdir(dir, 0755) == 0);
    expect_io("a folder given as the file", dir, "Is a directory|is a folder: pass a file name");
    path_of(file, sizeof file, "plain");
    write_bytes(file, "x", 1);
    snprintf(inside, sizeof inside, "%s/x.pt", file);
    expect_io("a file in the middle of the path", inside, "Not a directory|is a file, not a folder");
    struct stat st;
    CHECK("nothing made beside them", stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && file_size(file) == 1);
}

/* The mount namespace of its own, where this machine allows one: "unshare -rm" (a user namespace, any
 * user), else "unshare -m" (root); NULL (one skip counted) where neither works. */
static const char *unshare_command(const char *what) {
    static const char *const ways[] = {"unshare -rm", "unshare -m"};
    char cmd[128], out[256];
    for (size_t i = 0; i < sizeof ways / sizeof *ways; i++) {
        snprintf(cmd, sizeof cmd, "%s sh -c 'mount -t tmpfs none /mnt' 2>&1", ways[i]);
        if (ph_run(cmd, out, sizeof out) == 0)
            return ways[i];
    }
    printf("%s: no mount namespace can be made here (unshare): skipped\n", what);
    th_skipped++;
    return NULL;
}

/* Runs this program as `--child mode dir` after `setup` (shell commands, with $D the folder) in its own
 * mount namespace; its output into child_out (which should start with a newline: setup echoes one, so
 * that every line is found after one), its exit code. */
static char child_out[1 << 14];
static int run_child_in_namespace(const char *unshare, const char *setup, const char *mode, const char *dir) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "D='%s'; export D; %s sh -c '%s && exec \"$0\" --child %s \"$D\"' '%s' 2>&1", dir, unshare,
             setup, mode, g_self);
    return ph_run(cmd, child_out, sizeof child_out);
}

/* In the child: one line per call, "<what> <status> <message>". */
static void say(const char *what, ltc_status s) {
    printf("%s %s %s\n", what, ltc_status_string(s), s == LTC_OK ? "" : ltc_last_error());
}

/* In the child: the calls a user would make in dir (read-only, full or forbidden). */
static int child_main(const char *mode, const char *dir) {
    char path[600], fill[600], fresh[600];
    snprintf(path, sizeof path, "%s/a.pt", dir);
    snprintf(fresh, sizeof fresh, "%s/b.pt", dir);
    ltc_sgd *opt = NULL;
    ltc_linear *m = new_model(&opt, 0.1, 5);
    ltc_checkpoint_lock *lock = NULL;
    if (!strcmp(mode, "full")) {
        say("first-save", ltc_checkpoint_save_linear(path, m, opt, 1, "n=1")); /* while there is room */
        snprintf(fill, sizeof fill, "%s/filler", dir);
        FILE *f = fopen(fill, "wb");
        static char block[4096];
        while (f && fwrite(block, 1, sizeof block, f) == sizeof block && fflush(f) == 0) {
        }
        if (f)
            fclose(f);
        train(m, opt, 1, 3);
        say("save", ltc_checkpoint_save_linear(path, m, opt, 2, "n=1"));
        int64_t step = 0;
        say("load-previous", ltc_checkpoint_load_linear(&step, path, m, NULL, "n=1"));
        printf("previous-step %lld\n", (long long)step);
        snprintf(fill, sizeof fill, "%s/a.pt.tmp.%d", dir, (int)getpid());
        printf("temporary-left %d\n", access(fill, F_OK) == 0);
    } else {
        say("save", ltc_checkpoint_save_linear(path, m, opt, 1, NULL));
    }
    say("lock", ltc_checkpoint_lock_new(&lock, fresh));
    ltc_checkpoint_lock_free(lock);
    free_model(m, opt);
    return 0;
}

/* One line of the child's output: its status and message contain want_status and every "|" text. */
static void expect_child(const char *what, const char *call, const char *want_status, const char *texts) {
    char key[64], line[2048] = "", name[400], buf[400];
    snprintf(key, sizeof key, "\n%s ", call);
    const char *at = strstr(child_out, key);
    if (at)
        snprintf(line, sizeof line, "%.*s", (int)strcspn(at + 1, "\n"), at + 1);
    int ok = at && strstr(line, want_status) != NULL;
    snprintf(buf, sizeof buf, "%s", texts);
    for (char *t = strtok(buf, "|"); t && ok; t = strtok(NULL, "|"))
        ok = strstr(line, t) != NULL;
    snprintf(name, sizeof name, "%s: %s is %s with \"%s\"", what, call, want_status, texts);
    ph_report(ok, name, line, child_out);
}

static void test_io_errors_mounted(void) {
    const char *unshare = unshare_command("read-only file system and full disk");
    if (!unshare)
        return;
    char dir[400];
    path_of(dir, sizeof dir, "mnt");
    mkdir(dir, 0755);
    run_child_in_namespace(unshare, "echo; mount -t tmpfs -o ro none \"$D\"", "ro", dir);
    expect_child("a read-only file system", "save", "LTC_ERR_IO", "Read-only file system|is on a read-only file system");
    expect_child("a read-only file system", "lock", "LTC_ERR_IO", "Read-only file system|b.pt.lock");
    run_child_in_namespace(unshare, "echo; mount -t tmpfs -o size=256k none \"$D\"", "full", dir);
    expect_child("a full disk", "first-save", "LTC_OK", "");
    expect_child("a full disk", "save", "LTC_ERR_IO", "No space left on device|is full|the previous checkpoint, if any, is intact");
    expect_child("a full disk", "load-previous", "LTC_OK", "");
    expect_child("a full disk", "previous-step", "1", "");
    expect_child("a full disk", "temporary-left", "0", "");
    expect_child("a full disk", "lock", "LTC_ERR_IO", "No space left on device|cannot write the lock file");
}

/* No permission: a folder this process may not write in; as root (which permissions do not stop), the
 * child runs as nobody. */
static void test_io_errors_permission(void) {
    char dir[400], cmd[1200];
    path_of(dir, sizeof dir, "locked");
    mkdir(dir, 0555);
    chmod(g_dir, 0755); /* nobody may pass through the scratch folder to reach it */
    if (getuid() == 0) {
        if (system("setpriv --version >/dev/null 2>&1") != 0) {
            printf("no permission: running as root without setpriv: skipped\n");
            th_skipped++;
            return;
        }
        snprintf(cmd, sizeof cmd, "echo; setpriv --reuid=65534 --regid=65534 --clear-groups '%s' --child eacces '%s' 2>&1",
                 g_self, dir);
    } else {
        snprintf(cmd, sizeof cmd, "echo; '%s' --child eacces '%s' 2>&1", g_self, dir);
    }
    ph_run(cmd, child_out, sizeof child_out);
    expect_child("no permission", "save", "LTC_ERR_IO", "Permission denied|lacks the permission: check those of");
    expect_child("no permission", "lock", "LTC_ERR_IO", "Permission denied|b.pt.lock");
}

/* ---------------------------------------------------------------------------------------------- */
/* The lock and stale temporaries                                                                   */
/* ---------------------------------------------------------------------------------------------- */

static void test_lock(void) {
    char path[400], lockfile[420], want[400];
    path_of(path, sizeof path, "locked.pt");
    snprintf(lockfile, sizeof lockfile, "%s.lock", path);
    ltc_checkpoint_lock *a = NULL, *b = NULL;
    CHECK_OK(ltc_checkpoint_lock_new(&a, path));
    CHECK("the lock file is there", access(lockfile, F_OK) == 0);
    /* a second claim, even from this process, names the holder */
    snprintf(want, sizeof want, "checkpoint %.300s is in use by another run (pid %d on host ", path, (int)getpid());
    CHECK_FAILS(ltc_checkpoint_lock_new(&b, path), LTC_ERR_INVALID_ARGUMENT, want);
    CHECK("... and says what to do", strstr(ltc_last_error(), "wait for it to end, or pass another path") != NULL);
    CHECK("no second lock", b == NULL);
    ltc_checkpoint_lock_free(a);
    CHECK("freed: the lock file is gone", access(lockfile, F_OK) != 0);
    /* a lock file left by a killed run is taken over */
    write_bytes(lockfile, "pid 1 on host gone since then\n", 30);
    CHECK_OK(ltc_checkpoint_lock_new(&a, path));
    ltc_checkpoint_lock_free(a);
    /* another process holds it: refused naming that process; killed, it lets go */
    char cmd[800];
    snprintf(cmd, sizeof cmd, "exec '%s' --child hold '%s'", g_self, path);
    ph_job j = ph_start(cmd, child_out, sizeof child_out);
    ph_report(ph_wait_for(&j, "held", 30), "another process takes the lock", "\"held\" within 30 s", child_out);
    snprintf(want, sizeof want, "is in use by another run (pid %d on host ", (int)j.pid);
    CHECK_FAILS(ltc_checkpoint_lock_new(&a, path), LTC_ERR_INVALID_ARGUMENT, want);
    if (j.pid > 0)
        kill(j.pid, SIGKILL);
    ph_finish(&j, 10, NULL);
    CHECK_OK(ltc_checkpoint_lock_new(&a, path));
    ltc_checkpoint_lock_free(a);
}

static void test_stale_temporaries(void) {
    char path[400], dead[420], live[420], other[420], odd[420];
    path_of(path, sizeof path, "stale.pt");
    /* a pid that ran and is gone: a child, reaped */
    pid_t gone = fork();
    if (gone == 0)
        _exit(0);
    waitpid(gone, NULL, 0);
    snprintf(dead, sizeof dead, "%s.tmp.%d", path, (int)gone);
    snprintf(live, sizeof live, "%s.tmp.%d", path, (int)getppid()); /* ctest, or the shell: running */
    path_of(other, sizeof other, "other.pt.tmp.1234567");
    snprintf(odd, sizeof odd, "%s.tmp.12ab", path);
    write_bytes(dead, "half a checkpoint", 17);
    write_bytes(live, "being written", 13);
    write_bytes(other, "another file's", 14);
    write_bytes(odd, "not a pid", 9);
    ltc_checkpoint_lock *lock = NULL;
    CHECK_OK(ltc_checkpoint_lock_new(&lock, path));
    CHECK("a dead process's temporary file is removed", access(dead, F_OK) != 0);
    CHECK("a running process's is kept", access(live, F_OK) == 0);
    CHECK("another checkpoint's is kept", access(other, F_OK) == 0);
    CHECK("a name that is not path.tmp.<pid> is kept", access(odd, F_OK) == 0);
    ltc_checkpoint_lock_free(lock);
    unlink(live);
    unlink(other);
    unlink(odd);
}

/* A TorchScript module is not a checkpoint, whatever it holds (TORCH_PYTHON writes one). */
static void test_torchscript(void) {
    if (!ph_torch_python_has("TorchScript", "torch"))
        return;
#ifdef TORCH_PYTHON
    char path[400], cmd[1200];
    path_of(path, sizeof path, "script.pt");
    snprintf(cmd, sizeof cmd,
             "'%s' -c 'import torch, sys\n"
             "torch.jit.save(torch.jit.trace(torch.nn.Linear(4, 3), torch.randn(1, 4)), sys.argv[1])' '%s' 2>&1",
             TORCH_PYTHON, path);
    char out[4096];
    int rc = ph_run(cmd, out, sizeof out);
    ph_report(rc == 0 && file_size(path) > 0, "torch.jit.save writes a TorchScript module", "exit 0", out);
    ltc_sgd *opt = NULL;
    ltc_linear *m = new_model(&opt, 0.1, 5);
    expect_refused(path, m, opt, "seed=5", "is a TorchScript module (torch.jit.save), not an ltc checkpoint");
    free_model(m, opt);
#endif
}

/* The tests' scratch folder (tests/proc_helper.h): in the working directory, not /tmp, and removed when
 * a signal ends the test. The child makes one, says where, and waits to be ended. */
static void child_scratch_wait(void) {
    printf("scratch %s\n", g_dir);
    fflush(stdout);
    pause();
}

static void test_scratch_folder_on_signal(void) {
    char cwd[512], cmd[800], where[600] = "";
    CHECK("the scratch folder is in the working directory",
          getcwd(cwd, sizeof cwd) && (access(cwd, W_OK) != 0 || strncmp(g_dir, cwd, strlen(cwd)) == 0));
    snprintf(cmd, sizeof cmd, "exec '%s' --child scratch -", g_self);
    ph_job j = ph_start(cmd, child_out, sizeof child_out);
    int up = ph_wait_for(&j, "\n", 30);
    const char *at = strstr(child_out, "scratch ");
    if (up && at)
        snprintf(where, sizeof where, "%.*s", (int)strcspn(at + 8, "\n"), at + 8);
    CHECK("a test made its scratch folder", where[0] && access(where, F_OK) == 0);
    if (j.pid > 0)
        kill(j.pid, SIGTERM);
    int rc = ph_finish(&j, 30, NULL);
    CHECK("SIGTERM ended it (as a signal)", rc == -1);
    CHECK("... and its scratch folder went with it", where[0] && access(where, F_OK) != 0);
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--child") && !strcmp(argv[2], "scratch")) {
        static void (*const wait_only[])(void) = {child_scratch_wait};
        return ph_run_in_dir(g_dir, sizeof g_dir, "ltc_ckpt_scratch", wait_only, 1);
    }
    if (argc == 4 && !strcmp(argv[1], "--child")) {
        if (strcmp(argv[2], "hold"))
            return child_main(argv[2], argv[3]);
        ltc_checkpoint_lock *lock = NULL;
        if (ltc_checkpoint_lock_new(&lock, argv[3]) != LTC_OK)
            return 1;
        printf("held\n");
        fflush(stdout);
        pause(); /* until killed */
        return 0;
    }
    g_self = argv[0];
    static void (*const tests[])(void) = {test_round_trip_and_resume, test_refusals, test_torch_load, test_io_errors,
                                          test_io_errors_mounted, test_io_errors_permission, test_lock,
                                          test_stale_temporaries, test_torchscript, test_scratch_folder_on_signal};
    return ph_run_in_dir(g_dir, sizeof g_dir, "ltc_ckpt", tests, sizeof tests / sizeof *tests);
}
