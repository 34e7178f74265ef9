/* train_data_parallel off a single machine's happy path, on CPU ranks, run as a user would:
 *   divergence    a NaN loss ends the run naming the step whose check found it and the check before,
 *                 exit 4 (never PASS, never 0)
 *   identity      ranks on one GPU refused naming its UUID, different GPUs accepted whatever their
 *                 ordinals, a CPU rank among GPU ranks refused naming each rank's device
 *                 (LTC_TEST_GPU_IDENTITY sets what the CPU ranks report)
 *   bounds        --nproc on the CPU past the cores (exit 2); a waiting rank says whom it waits for
 *   checkpoints   resume ends bit-identical to an uninterrupted run; an existing file is not
 *                 overwritten without --resume; other settings (--seed, --batch, --lr, --momentum) and
 *                 corrupt files refused with exit 2, untouched; a folder as the path refused at once
 *   set-up        checked before training, exit 2 and no restart: a missing folder, a read-only file
 *                 system (in a mount namespace of its own, where one can be made), a path another run
 *                 holds (named); stale temporary files of dead saves removed at start
 *   preemption    SIGTERM to the launcher: the ranks finish the step, save, exit 143 within seconds;
 *                 SIGTERM to one rank: named, by the ranks and by the launcher, which restarts the
 *                 group (--max-restarts) to the uninterrupted run's weights; SIGINT saves too
 *   fast failure  a rank killed by a signal: the others end at once, naming it and the signal
 *   no orphans    the launcher killed with SIGKILL: no rank is left
 *   restarts      --max-restarts and torchrun --max-restarts (TORCH_PYTHON): a rank killed mid-run, the
 *                 group restarted, the run resumed from the checkpoint ends on the uninterrupted weights
 * TRAIN_DP_EXE is the program's path. */
#define _DEFAULT_SOURCE /* popen, kill, mkdtemp, usleep */
#include "net_helper.h"
#include "train_dp_run.h"

#include <dirent.h>
#include <sys/stat.h>

static char g_dir[256];

static void path_of(char *p, size_t n, const char *name) { snprintf(p, n, "%s/%s", g_dir, name); }

/* The children of pid, from /proc. */
static int children_of(pid_t parent, pid_t *kids, int max) {
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d)) && n < max) {
        pid_t p = (pid_t)atoi(e->d_name);
        if (p <= 0)
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)p);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t got = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[got] = '\0';
        char *close_paren = strrchr(buf, ')');
        int ppid = 0;
        char state = 0;
        if (close_paren && sscanf(close_paren + 2, "%c %d", &state, &ppid) == 2 && ppid == parent)
            kids[n++] = p;
    }
    if (d)
        closedir(d);
    return n;
}

/* The RANK of a process, from its environment; -1 if none. */
static int rank_of(pid_t pid) {
    char path[64], buf[1 << 15];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
        buf[n] = '\0';
        if (strncmp(buf + i, "RANK=", 5) == 0)
            return atoi(buf + i + 5);
    }
    return -1;
}

/* Alive and not a zombie. */
static int alive(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[got] = '\0';
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* The rank with RANK=r among the children of parent, or -1. */
static pid_t find_rank(pid_t parent, int r) {
    pid_t kids[64];
    int n = children_of(parent, kids, 64);
    for (int i = 0; i < n; i++)
        if (rank_of(kids[i]) == r)
            return kids[i];
    return -1;
}

/* A checkpoint of the default model (a Sequential holding Linear(100, 10)): its step and its parameters,
 * "0.weight" then "0.bias" (1010 floats); 0 (having said why) when it cannot be read. */
static int read_checkpoint(const char *path, int64_t *step, float values[1010]) {
    ltc_checkpoint *c = NULL;
    ltc_tensor_list *list = NULL;
    ltc_tensor *w = NULL, *b = NULL;
    int ok = ltc_checkpoint_load(&c, path) == LTC_OK && ltc_checkpoint_step(step, c) == LTC_OK &&
             ltc_checkpoint_tensors(&list, c) == LTC_OK && ltc_tensor_list_find(&w, list, "0.weight") == LTC_OK &&
             ltc_tensor_list_find(&b, list, "0.bias") == LTC_OK &&
             ltc_tensor_copy_to_host(values, 4000, w) == LTC_OK && ltc_tensor_copy_to_host(values + 1000, 40, b) == LTC_OK;
    if (!ok)
        fprintf(stderr, "  cannot read checkpoint %s: %s\n", path, ltc_last_error());
    ltc_tensor_free(w);
    ltc_tensor_free(b);
    ltc_tensor_list_free(list);
    ltc_checkpoint_free(c);
    return ok;
}

/* Both files hold the same step and bit-identical parameters. */
static int same_weights(const char *a, const char *b, int64_t *step_a) {
    int64_t sa = -1, sb = -2;
    float pa[1010], pb[1010];
    int ok = read_checkpoint(a, &sa, pa) && read_checkpoint(b, &sb, pb);
    if (step_a)
        *step_a = sa;
    return ok && sa == sb && memcmp(pa, pb, sizeof pa) == 0;
}

/* ---------------------------------------------------------------------------------------------- */

static void test_divergence(void) {
    dp_expect("", "--device cpu --lr 100 --steps 200", 4,
              "error: the training diverged: the loss is nan at step 100, found by the check there; at step 0, the check "
              "before, it was finite (checks: every --log-every 100 steps, and the last step); lr 100: a smaller --lr");
    CHECK("no PASS", strstr(out, "PASS") == NULL);
    dp_expect("", "--device cpu --lr 100 --steps 200 --nproc 2", 4, "the loss is nan at step 100, found by the check there");
    CHECK("no PASS with 2 ranks", strstr(out, "PASS") == NULL);
    /* the last step's check: said as such, with the check before it */
    dp_expect("", "--device cpu --lr 50 --steps 50", 4, "the loss is nan at step 49, found by the check there; at step 0, the check before");
}

static void test_identity(void) {
    const char *args = "--device cpu --nproc 2 --steps 200 --timeout 20";
    dp_expect("LTC_TEST_GPU_IDENTITY='cuda:0/GPU-aaaa cuda:0/GPU-aaaa'", args, 1,
              "ranks 0 and 1 both use the GPU GPU-aaaa (rank 0: cuda:0 on host ");
    dp_expect("LTC_TEST_GPU_IDENTITY='cuda:1/GPU-aaaa cuda:0/GPU-aaaa'", args, 1, "both use the GPU GPU-aaaa");
    /* Slurm --gpus-per-task, or one CUDA_VISIBLE_DEVICES per rank: each sees its GPU as cuda:0 */
    dp_expect("LTC_TEST_GPU_IDENTITY='cuda:0/GPU-aaaa cuda:0/GPU-bbbb'", args, 0, "result: PASS");
    dp_expect("LTC_TEST_GPU_IDENTITY='cpu cuda:0/GPU-bbbb'", args, 1,
              "the ranks disagree on the device type: rank 0 uses cpu on host ");
    CHECK("each rank's device named", strstr(out, "rank 1 uses cuda:0 (GPU-bbbb) on host ") != NULL);
    dp_expect("LTC_TEST_GPU_IDENTITY='cuda:0 cuda:0'", args, 1, "(their GPU's UUID is unknown)");
}

static void test_bounds(void) {
    dp_expect("", "--device cpu --nproc 64", 2, "error: --nproc 64 is not valid: 64 CPU ranks asked for, but this process may use ");
    CHECK("names the bound", strstr(out, "use at most ") != NULL);
    /* a rank waiting for another says so every few seconds */
    char vars[160], want[200];
    int port = local_port(0, NULL);
    snprintf(vars, sizeof vars, "RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=%d", port);
    snprintf(want, sizeof want, "ltc: rank 0 waits for rank 1 of 2 to join the rendezvous at 127.0.0.1:%d (", port);
    dp_expect(vars, "--device cpu --timeout 3", 1, want);
    CHECK("with the time left", strstr(out, " s left of the timeout of 3 s)") != NULL);
    port = local_port(0, NULL);
    snprintf(vars, sizeof vars, "RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=%d", port);
    snprintf(want, sizeof want, "ltc: rank 1 waits for the rendezvous store at 127.0.0.1:%d (", port);
    dp_expect(vars, "--device cpu --timeout 3", 1, want);
}

static const char *REF_ARGS = "--device cpu --nproc 2 --steps 600 --log-every 50";
static char g_ref[400]; /* the uninterrupted run's final checkpoint */

static void test_checkpoints(void) {
    char args[1024], p[400], bad[400];
    path_of(g_ref, sizeof g_ref, "ref.pt");
    snprintf(args, sizeof args, "%s --checkpoint %s", REF_ARGS, g_ref);
    dp_expect("", args, 0, "result: PASS");
    CHECK("the checkpoint exists", access(g_ref, F_OK) == 0);
    /* not overwritten without --resume */
    dp_expect("", args, 2, "exists: pass --resume to continue from it");
    /* stopped at 40, resumed to 600: bit-identical */
    path_of(p, sizeof p, "split.pt");
    snprintf(args, sizeof args, "--device cpu --nproc 2 --steps 40 --log-every 50 --checkpoint %s", p);
    dp_expect("", args, 3, "result: FAIL");
    snprintf(args, sizeof args, "%s --checkpoint %s --resume", REF_ARGS, p);
    dp_expect("", args, 0, "resumed from");
    CHECK("at step 40", strstr(out, "at step 40") != NULL);
    int64_t step = 0;
    CHECK("resumed run ends bit-identical to the uninterrupted one", same_weights(p, g_ref, &step) && step == 600);
    /* another world size: within tolerance */
    path_of(p, sizeof p, "split1.pt");
    snprintf(args, sizeof args, "--device cpu --nproc 2 --steps 40 --checkpoint %s", p);
    dp_expect("", args, 3, "result: FAIL");
    snprintf(args, sizeof args, "--device cpu --steps 600 --checkpoint %s --resume", p);
    dp_expect("", args, 0, "result: PASS");
    /* another run's settings, refused naming the file and the mismatch: usage (2), as the other conflicts */
    static const char *const conflicts[][2] = {{"--batch 128", "batch=256 in the file, batch=128 in this run"},
                                               {"--seed 2", "seed=1 in the file, seed=2 in this run"},
                                               {"--lr 0.05", "lr=0.1 in the file, lr=0.05 in this run"},
                                               {"--momentum 0.5", "momentum=0.9 in the file, momentum=0.5 in this run"}};
    for (size_t i = 0; i < sizeof conflicts / sizeof *conflicts; i++) {
        snprintf(args, sizeof args, "%s --checkpoint %s --resume %s", REF_ARGS, p, conflicts[i][0]);
        dp_expect("", args, 2, conflicts[i][1]);
        CHECK("names the file", strstr(out, p) != NULL);
    }
    /* corrupt: refused, and left as it was */
    path_of(bad, sizeof bad, "bad.pt");
    FILE *f = fopen(bad, "w");
    if (f) {
        fputs("not a checkpoint", f);
        fclose(f);
    }
    snprintf(args, sizeof args, "%s --checkpoint %s --resume", REF_ARGS, bad);
    dp_expect("", args, 2, "is truncated or corrupt");
    struct stat st;
    CHECK("the corrupt file is not overwritten", stat(bad, &st) == 0 && st.st_size == 16);
    dp_expect("", "--device cpu --resume", 2, "--resume needs --checkpoint PATH");
    /* a folder as the path: said at once, with or without --resume, before any step */
    for (int resume = 0; resume < 2; resume++) {
        snprintf(args, sizeof args, "--device cpu --nproc 2 --checkpoint %s%s", g_dir, resume ? " --resume" : "");
        dp_expect("", args, 2, "Is a directory");
        CHECK("... a folder: it says to name a file in it", strstr(out, "is a folder: pass a file name") != NULL);
        CHECK("... at once: no step taken", strstr(out, "step     0") == NULL);
    }
}

/* The example alone (no launcher), through a shell that reports how it ended ("exit status 143": 128+N
 * when signal N ended it); *pid: the example's own. */
static ph_job dp_start_alone(const char *args, pid_t *pid) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "exec " DP_CLEAR " sh -c '\"$0\" \"$@\"; echo \"exit status $?\"' '%s' %s", TRAIN_DP_EXE, args);
    ph_job j = ph_start(cmd, out, sizeof out);
    *pid = -1;
    for (double t0 = ph_now_s(); *pid < 0 && j.pid > 0 && ph_now_s() - t0 < 10; usleep(20000)) {
        pid_t kids[4];
        if (children_of(j.pid, kids, 4) == 1)
            *pid = kids[0];
    }
    return j;
}

/* Checked before training, exit 2 and no restart: a restart cannot fix these. */
static void test_setup(void) {
    char args[1024], p[400], t[420];
    double t0 = ph_now_s();
    dp_expect("", "--device cpu --nproc 2 --max-restarts 3 --checkpoint /nonexistent-dir/x.pt", 2,
              "its folder /nonexistent-dir does not exist");
    CHECK("missing folder: no step taken", strstr(out, "step     0") == NULL);
    CHECK("missing folder: no restart, and says why",
          strstr(out, "restarting") == NULL && strstr(out, "exited with status 2 (bad usage or set-up, which a restart repeats): no restart"));
    CHECK("missing folder: no C++ backtrace", strstr(out, "frame #") == NULL);
    printf("setup: refused in %.1f s\n", ph_now_s() - t0);
    /* a read-only file system, in a mount namespace of this test's own */
    static const char *const ways[] = {"unshare -rm", "unshare -m"};
    const char *unshare = NULL;
    for (size_t i = 0; i < 2 && !unshare; i++) {
        snprintf(args, sizeof args, "%s sh -c 'mount -t tmpfs none /mnt' 2>&1", ways[i]);
        if (ph_run(args, out, sizeof out) == 0)
            unshare = ways[i];
    }
    if (unshare) {
        path_of(p, sizeof p, "ro");
        mkdir(p, 0755);
        char cmd[4096];
        snprintf(cmd, sizeof cmd,
                 DP_CLEAR " %s sh -c 'mount -t tmpfs -o ro none \"$1\" && exec \"$0\" --device cpu --nproc 2 --max-restarts 3 "
                          "--checkpoint-every 5000 --steps 10000 --checkpoint \"$1\"/x.ckpt' '%s' '%s' 2>&1",
                 unshare, TRAIN_DP_EXE, p);
        int rc = ph_run(cmd, out, sizeof out);
        ph_check_run("a read-only file system: refused before training", rc, 2, out,
                     "Read-only file system (");
        CHECK("read-only: no step taken, no restart", strstr(out, "step     0") == NULL && strstr(out, "restarting") == NULL);
        CHECK("read-only: no C++ backtrace", strstr(out, "frame #") == NULL);
    } else {
        printf("read-only file system: no mount namespace can be made here (unshare): skipped\n");
        th_skipped++;
    }
    /* two runs on one path: the second refused, naming the first */
    path_of(p, sizeof p, "shared.pt");
    pid_t first = -1;
    snprintf(args, sizeof args, "--device cpu --steps 100000000 --log-every 50 --checkpoint-every 100000 --checkpoint %s", p);
    ph_job j = dp_start_alone(args, &first);
    ph_report(ph_wait_for(&j, "step     0", 60), "the first run trains", "\"step 0\" within 60 s", out);
    static char first_out[1 << 16];
    char want[600];
    snprintf(want, sizeof want, "checkpoint %s is in use by another run (pid %d on host ", p, (int)first);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, DP_CLEAR " '%s' --device cpu --seed 2 --steps 200 --checkpoint %s 2>&1", TRAIN_DP_EXE, p);
    int rc = ph_run(cmd, first_out, sizeof first_out);
    ph_check_run("a second run on the same checkpoint", rc, 2, first_out, want);
    /* the first one stops on SIGINT (Ctrl-C) with a checkpoint, as on SIGTERM */
    if (first > 0)
        kill(first, SIGINT);
    ph_finish(&j, 30, NULL);
    CHECK("SIGINT: exit status 130", strstr(out, "exit status 130") != NULL);
    CHECK("SIGINT: stopped after the step, with a checkpoint", strstr(out, "train_data_parallel: SIGINT: stopped after step"));
    int64_t step = -1;
    float values[1010];
    CHECK("the checkpoint can be read", read_checkpoint(p, &step, values));
    CHECK("SIGINT: the checkpoint holds the step it stopped at", step > 0);
    snprintf(t, sizeof t, "%s.lock", p);
    CHECK("the lock file goes with its run", access(t, F_OK) != 0);
    /* a temporary file of a save that died is removed at start */
    pid_t gone = fork();
    if (gone == 0)
        _exit(0);
    waitpid(gone, NULL, 0);
    path_of(p, sizeof p, "stale.pt");
    snprintf(t, sizeof t, "%s.tmp.%d", p, (int)gone);
    FILE *f = fopen(t, "w");
    if (f) {
        fputs("half a checkpoint", f);
        fclose(f);
    }
    snprintf(args, sizeof args, "--device cpu --steps 20 --checkpoint %s", p);
    dp_expect("", args, 3, "result: FAIL");
    CHECK("a dead save's temporary file is removed at start", access(t, F_OK) != 0);
}

static void test_sigterm(void) {
    char args[1024], p[400];
    path_of(p, sizeof p, "term.pt");
    snprintf(args, sizeof args, "--device cpu --nproc 2 --steps 100000000 --log-every 50 --checkpoint-every 100000 --checkpoint %s", p);
    double took = 0;
    int rc = dp_signal_after(args, "step    50", SIGTERM, "sigterm", &took);
    CHECK("SIGTERM: exit 143", rc == 143);
    CHECK("within seconds", took < 5);
    CHECK("the ranks finished the step and saved",
          strstr(out, "SIGTERM reached every rank: stopped after step") && strstr(out, "stopped by SIGTERM (exit code 143)"));
    int64_t step = -1;
    float values[1010];
    CHECK("the checkpoint can be read", read_checkpoint(p, &step, values));
    CHECK("the checkpoint is the step it stopped at", step > 50);
    if (rc != 143)
        fprintf(stderr, "  output:\n%s\n", out);
}

/* SIGTERM to one rank only (kill, not scancel): the ranks stop together after the step with a
 * checkpoint, name the rank it reached, and so does the launcher, which restarts the group. */
static void test_sigterm_one_rank(void) {
    for (int r = 1; r >= 0; r--) {
        char args[1024], p[400], want[200], name[32];
        snprintf(name, sizeof name, "sigterm-rank%d.pt", r);
        path_of(p, sizeof p, name);
        snprintf(args, sizeof args, "%s --checkpoint %s --checkpoint-every 25 --max-restarts 1", REF_ARGS, p);
        ph_job j = dp_start(args);
        int sent = ph_wait_for(&j, "step   100", 120);
        pid_t pid = sent ? find_rank(j.pid, r) : -1;
        if (pid > 0)
            kill(pid, SIGTERM);
        CHECK("SIGTERM sent to one rank", pid > 0);
        int rc = ph_finish(&j, 120, NULL);
        snprintf(want, sizeof want, "train_data_parallel: SIGTERM reached rank %d: stopped after step", r);
        CHECK(want, strstr(out, want) != NULL);
        snprintf(want, sizeof want, "ltc_launch_local: rank %d was killed by signal 15 (SIGTERM); restarting all 2 ranks (restart 1 of 1)", r);
        CHECK(want, strstr(out, want) != NULL);
        CHECK("resumed, and passed", rc == 0 && strstr(out, "resumed from") && strstr(out, "result: PASS"));
        int64_t step = 0;
        if (r == 1)
            CHECK("final weights equal the uninterrupted run's", same_weights(p, g_ref, &step));
        if (rc != 0 || !strstr(out, "resumed from"))
            fprintf(stderr, "  output:\n%s\n", out);
    }
}

static void test_fast_failure_and_orphans(void) {
    ph_job j = dp_start("--device cpu --nproc 2 --steps 100000000 --log-every 50");
    int started = ph_wait_for(&j, "step    50", 60);
    pid_t r1 = find_rank(j.pid, 1);
    CHECK("rank 1 found", started && r1 > 0);
    double t0 = ph_now_s();
    if (r1 > 0)
        kill(r1, SIGKILL);
    int rc = ph_finish(&j, 30, NULL);
    double took = ph_now_s() - t0;
    printf("killed rank: the launcher exited %d after %.2f s\n", rc, took);
    CHECK("the killed rank's code", rc == 137);
    CHECK("at once, not after the 300 s timeout", took < 6);
    CHECK("rank 0 names the rank and the signal", strstr(out, "rank 1 is lost: its process was killed by signal 9 (SIGKILL)") != NULL);
    if (rc != 137)
        fprintf(stderr, "  output:\n%s\n", out);

    /* the launcher killed outright: its ranks go with it */
    j = dp_start("--device cpu --nproc 2 --steps 100000000 --log-every 50");
    started = ph_wait_for(&j, "step     0", 60);
    pid_t kids[8];
    int n = children_of(j.pid, kids, 8);
    CHECK("two ranks running", started && n == 2);
    kill(j.pid, SIGKILL);
    ph_finish(&j, 10, NULL);
    int left = n;
    for (double t = ph_now_s(); left > 0 && ph_now_s() - t < 5; usleep(50000)) {
        left = 0;
        for (int i = 0; i < n; i++)
            left += alive(kids[i]);
    }
    CHECK("no rank outlives its launcher", left == 0);
    for (int i = 0; i < n; i++)
        if (alive(kids[i]))
            kill(kids[i], SIGKILL);
}

/* Kills rank 1 of a running job (children of `parent`) once it has logged step 100. */
static int kill_rank1_midway(ph_job *j, pid_t parent) {
    if (!ph_wait_for(j, "step   100", 120))
        return 0;
    pid_t r1 = find_rank(parent, 1);
    if (r1 <= 0)
        return 0;
    kill(r1, SIGKILL);
    return 1;
}

static void test_restarts(void) {
    char args[1024], p[400];
    path_of(p, sizeof p, "restart.pt");
    snprintf(args, sizeof args, "%s --checkpoint %s --checkpoint-every 25 --max-restarts 2", REF_ARGS, p);
    ph_job j = dp_start(args);
    int killed = kill_rank1_midway(&j, j.pid);
    CHECK("rank 1 killed mid-run", killed);
    int rc = ph_finish(&j, 120, NULL);
    CHECK("--max-restarts: the run ends with PASS", rc == 0 && strstr(out, "result: PASS"));
    CHECK("the group was restarted",
          strstr(out, "rank 1 was killed by signal 9 (SIGKILL); restarting all 2 ranks (restart 1 of 2)") != NULL);
    CHECK("and resumed from the checkpoint", strstr(out, "resumed from") != NULL);
    int64_t step = 0;
    CHECK("--max-restarts: final weights equal the uninterrupted run's", killed && same_weights(p, g_ref, &step));
    if (rc != 0)
        fprintf(stderr, "  output:\n%s\n", out);
}

static void test_torchrun_restarts(void) {
    if (!ph_torch_python_has("torchrun", "torch.distributed.run"))
        return;
#ifdef TORCH_PYTHON
    char cmd[4096], p[400];
    path_of(p, sizeof p, "torchrun.pt");
    snprintf(cmd, sizeof cmd,
             "exec " DP_CLEAR " '%s' -m torch.distributed.run --standalone --nproc-per-node 2 --max-restarts 1 --monitor-interval 0.2 "
             "--no-python '%s' --device cpu --steps 600 --log-every 50 --checkpoint %s --checkpoint-every 25 --timeout 5",
             TORCH_PYTHON, TRAIN_DP_EXE, p);
    ph_job j = ph_start(cmd, out, sizeof out);
    int killed = kill_rank1_midway(&j, j.pid);
    CHECK("torchrun: rank 1 killed mid-run", killed);
    int rc = ph_finish(&j, 150, NULL);
    CHECK("torchrun --max-restarts: the run ends with PASS", rc == 0 && strstr(out, "result: PASS"));
    CHECK("torchrun: resumed from the checkpoint", strstr(out, "resumed from") != NULL);
    int64_t step = 0;
    CHECK("torchrun --max-restarts: final weights equal the uninterrupted run's", killed && same_weights(p, g_ref, &step));
    if (rc != 0 || !killed)
        fprintf(stderr, "  output:\n%s\n", out);
#endif
}

int main(void) {
    static void (*const tests[])(void) = {test_divergence, test_identity, test_bounds, test_checkpoints,
                                          test_setup, test_sigterm, test_sigterm_one_rank,
                                          test_fast_failure_and_orphans, test_restarts, test_torchrun_restarts};
    return ph_run_in_dir(g_dir, sizeof g_dir, "ltc_dp_resilience", tests, sizeof tests / sizeof *tests);
}
