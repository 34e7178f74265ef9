/* Checkpoints as train_data_parallel uses them (ltc_checkpoint_* over a module's parameters, its SGD, the
 * step and named settings; ltc_checkpoint_lock_new): a truncated file, a changed byte, not a checkpoint,
 * other shapes or another optimizer setting are refused naming the file and the mismatch, and change
 * neither the model nor the file; a NaN model never overwrites a good file; a TorchScript file
 * (TORCH_PYTHON, a Python that has torch; skipped otherwise) is refused as not a checkpoint. The round
 * trip, resuming bit for bit and torch.load are tested in test_checkpoint_state.c.
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

/* A Linear(in, 3) with bias in a Sequential, as the example holds it, its parameters ("0.weight",
 * "0.bias") and its SGD (lr, momentum 0.9). */
typedef struct model {
    ltc_module *m;
    ltc_tensor_list *params;
    ltc_optimizer *opt;
} model;

static model *new_model_in(int64_t in, double lr, uint64_t seed) {
    model *md = calloc(1, sizeof *md);
    ltc_module *lin = NULL;
    ltc_sgd_options so = LTC_SGD_OPTIONS_INIT;
    so.lr = lr, so.momentum = 0.9;
    ltc_manual_seed(seed);
    CHECK("memory for the model", md != NULL);
    CHECK_OK(ltc_module_sequential_new(&md->m));
    CHECK_OK(ltc_module_linear_new(&lin, in, 3, 1));
    CHECK_OK(ltc_module_sequential_append(md->m, lin));
    ltc_module_free(lin);
    CHECK_OK(ltc_module_parameters(&md->params, md->m));
    CHECK_OK(ltc_optimizer_sgd_new(&md->opt, md->params, &so));
    return md;
}

static model *new_model(double lr, uint64_t seed) { return new_model_in(4, lr, seed); }

static void free_model(model *md) {
    if (!md)
        return;
    ltc_optimizer_free(md->opt);
    ltc_tensor_list_free(md->params);
    ltc_module_free(md->m);
    free(md);
}

/* SGD steps of the model on fixed batches. */
static void train(model *md, int steps, uint64_t seed) {
    int64_t xs[2] = {8, 4}, ys[2] = {8, 3};
    for (int s = 0; s < steps; s++) {
        ltc_tensor *x = NULL, *y = NULL, *p = NULL, *loss = NULL;
        CHECK_OK(ltc_tensor_randn(&x, xs, 2, LTC_FLOAT32, CPU, seed + (uint64_t)s));
        CHECK_OK(ltc_tensor_randn(&y, ys, 2, LTC_FLOAT32, CPU, seed + 1000u + (uint64_t)s));
        CHECK_OK(ltc_optimizer_zero_grad(md->opt));
        CHECK_OK(ltc_module_forward(&p, md->m, x));
        CHECK_OK(ltc_mse_loss(&loss, p, y));
        CHECK_OK(ltc_tensor_backward(loss));
        CHECK_OK(ltc_optimizer_step(md->opt));
        ltc_tensor_free(x);
        ltc_tensor_free(y);
        ltc_tensor_free(p);
        ltc_tensor_free(loss);
    }
}

/* As the example saves: the parameters, the optimizer, the step and one setting (key NULL: none). */
static ltc_status save(const char *path, const model *md, int64_t step, const char *key, const char *value) {
    ltc_checkpoint *c = NULL;
    ltc_status s = ltc_checkpoint_new(&c);
    if (s == LTC_OK)
        s = ltc_checkpoint_set_tensors(c, md->params);
    if (s == LTC_OK)
        s = ltc_checkpoint_set_optimizer(c, md->opt);
    if (s == LTC_OK)
        s = ltc_checkpoint_set_step(c, step);
    if (s == LTC_OK && key)
        s = ltc_checkpoint_set_setting(c, key, value);
    if (s == LTC_OK)
        s = ltc_checkpoint_save(c, path);
    ltc_checkpoint_free(c);
    return s;
}

/* As the example resumes: load, then restore the parameters and (opt not NULL) the optimizer; *step. */
static ltc_status load(int64_t *step, const char *path, const model *md, ltc_optimizer *opt) {
    ltc_checkpoint *c = NULL;
    ltc_status s = ltc_checkpoint_load(&c, path);
    if (s == LTC_OK)
        s = ltc_checkpoint_restore(c, md->params, opt);
    if (s == LTC_OK)
        s = ltc_checkpoint_step(step, c);
    ltc_checkpoint_free(c);
    return s;
}

/* The parameters as bytes: the weight ([3, 4], or [3, 5]) then the bias [3]; the rest of the 18 zero. */
static void params_of(const model *md, float out[18]) {
    ltc_tensor *w = NULL, *b = NULL;
    memset(out, 0, 18 * sizeof(float));
    CHECK_OK(ltc_tensor_list_find(&w, md->params, "0.weight"));
    CHECK_OK(ltc_tensor_list_find(&b, md->params, "0.bias"));
    CHECK_OK(ltc_tensor_copy_to_host(out, ltc_tensor_nbytes(w), w));
    CHECK_OK(ltc_tensor_copy_to_host(out + ltc_tensor_numel(w), 3 * sizeof(float), b));
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

/* Every refusal changes neither the model nor the file; a file that cannot be read is named (one that
 * does not fit the model is refused by ltc_checkpoint_restore, naming the entry). */
static void expect_refused(const char *path, model *md, ltc_optimizer *opt, int unreadable, const char *text) {
    float before[18], after[18];
    params_of(md, before);
    long size = file_size(path);
    int64_t step = 77;
    CHECK_FAILS(load(&step, path, md, opt), LTC_ERR_INVALID_ARGUMENT, text);
    if (unreadable)
        CHECK("the message names the file", strstr(ltc_last_error(), path) != NULL);
    params_of(md, after);
    CHECK("nothing changed", step == 77 && memcmp(before, after, sizeof before) == 0 && file_size(path) == size);
}

static void test_refusals(void) {
    char good[400], bad[400];
    path_of(good, sizeof good, "good.pt");
    path_of(bad, sizeof bad, "bad.pt");
    model *m = new_model(0.1, 5);
    train(m, 2, 7);
    CHECK_OK(save(good, m, 2, "seed", "5"));
    long n = file_size(good);
    unsigned char *bytes = malloc((size_t)n);
    CHECK("read back", bytes && read_bytes(good, bytes, n));
    model *other = new_model(0.1, 6);

    /* truncated, at several lengths */
    long cuts[] = {0, 10, n / 2, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        write_bytes(bad, bytes, cuts[i]);
        expect_refused(bad, other, other->opt, 1, "is truncated or corrupt");
    }
    /* one changed byte in the weights' data: LibTorch reads it, the digest does not match */
    float wv[18];
    params_of(m, wv);
    long at = -1;
    for (long i = 0; i + 12 * (long)sizeof(float) <= n && at < 0; i++)
        if (memcmp(bytes + i, wv, 12 * sizeof(float)) == 0)
            at = i + 20; /* a byte inside the weight's data */
    CHECK("the weight's bytes are in the file", at >= 0);
    if (at >= 0) {
        bytes[at] ^= 0x01;
        write_bytes(bad, bytes, n);
        bytes[at] ^= 0x01;
        expect_refused(bad, other, other->opt, 1, "do not match the digest");
    }
    /* not a checkpoint at all */
    write_bytes(bad, "hello", 5);
    expect_refused(bad, other, other->opt, 1, "is truncated or corrupt");
    char missing[400];
    path_of(missing, sizeof missing, "missing.pt");
    int64_t step = 0;
    CHECK_FAILS(load(&step, missing, other, other->opt), LTC_ERR_IO, "cannot open checkpoint");
    CHECK("... with errno's text", strstr(ltc_last_error(), "No such file or directory") != NULL);
    /* another run's optimizer setting or model: refused by ltc_checkpoint_restore, all or nothing */
    model *slow = new_model(0.05, 6);
    expect_refused(good, slow, slow->opt, 0, "the checkpoint's optimizer has lr=0.1, this one lr=0.05");
    model *wide = new_model_in(5, 0.1, 6);
    expect_refused(good, wide, NULL, 0, "\"0.weight\"");
    /* the good file is still good */
    CHECK_OK(load(&step, good, other, other->opt));
    CHECK("its step", step == 2);

    /* a diverged model is never saved over a good checkpoint */
    ltc_tensor *w = NULL;
    float *data = NULL;
    CHECK_OK(ltc_tensor_list_find(&w, other->params, "0.weight"));
    CHECK_OK(ltc_tensor_data((void **)&data, w));
    data[5] = NAN;
    ltc_tensor_free(w);
    CHECK_FAILS(save(good, other, 3, "seed", "5"), LTC_ERR_INVALID_ARGUMENT, "NaN");
    unsigned char *again = malloc((size_t)n);
    CHECK("the good checkpoint is untouched", again && file_size(good) == n && read_bytes(good, again, n) &&
                                                  memcmp(again, bytes, (size_t)n) == 0);
    free(again);
    /* a place that cannot be written, named (more in test_io_errors) */
    CHECK_FAILS(save("/nonexistent-dir/x.pt", m, 1, NULL, NULL), LTC_ERR_IO, "/nonexistent-dir/x.pt");
    free_model(wide);
    free_model(slow);
    free_model(other);
    free_model(m);
    free(bytes);
    unlink(bad);
}

/* ---------------------------------------------------------------------------------------------- */
/* The file system's refusals: LTC_ERR_IO                                                           */
/* ---------------------------------------------------------------------------------------------- */

static const char *g_self; /* this program, run again for the cases that need another process */

/* save, load and lock on path must each fail with LTC_ERR_IO and every text of want ("|"-separated). */
static void expect_io(const char *what, const char *path, const char *want) {
    model *m = new_model(0.1, 5);
    int64_t step = 0;
    ltc_checkpoint_lock *lock = NULL;
    char name[600], texts[400];
    for (int call = 0; call < 3; call++) {
        ltc_status s = call == 0   ? save(path, m, 1, NULL, NULL)
                       : call == 1 ? load(&step, path, m, m->opt)
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
    free_model(m);
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
    model *m = new_model(0.1, 5);
    ltc_checkpoint_lock *lock = NULL;
    if (!strcmp(mode, "full")) {
        say("first-save", save(path, m, 1, "n", "1")); /* while there is room */
        snprintf(fill, sizeof fill, "%s/filler", dir);
        FILE *f = fopen(fill, "wb");
        static char block[4096];
        while (f && fwrite(block, 1, sizeof block, f) == sizeof block && fflush(f) == 0) {
        }
        if (f)
            fclose(f);
        train(m, 1, 3);
        say("save", save(path, m, 2, "n", "1"));
        int64_t step = 0;
        say("load-previous", load(&step, path, m, NULL));
        printf("previous-step %lld\n", (long long)step);
        snprintf(fill, sizeof fill, "%s/a.pt.tmp.%d", dir, (int)getpid());
        printf("temporary-left %d\n", access(fill, F_OK) == 0);
    } else {
        say("save", save(path, m, 1, NULL, NULL));
    }
    say("lock", ltc_checkpoint_lock_new(&lock, fresh));
    ltc_checkpoint_lock_free(lock);
    free_model(m);
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
    model *m = new_model(0.1, 5);
    expect_refused(path, m, m->opt, 1, "is a TorchScript module (torch.jit.save), not an ltc checkpoint");
    free_model(m);
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
    static void (*const tests[])(void) = {test_refusals, test_io_errors,
                                          test_io_errors_mounted, test_io_errors_permission, test_lock,
                                          test_stale_temporaries, test_torchscript, test_scratch_folder_on_signal};
    return ph_run_in_dir(g_dir, sizeof g_dir, "ltc_ckpt", tests, sizeof tests / sizeof *tests);
}
